"""The SQL ``orderfsm audit --emit-sql`` prints runs unchanged on Spark and agrees with the engines.

One local Spark session serves every case; each machine gets one generated dataset of
many orders (hypothesis draws it) and one query, to keep the run short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderfsm.check.audit import audit_files
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.sql import AuditSql
from orderfsm.model.compile import SHIPPED_TABLES
from orderfsm.testing import Export, ExportRow, exports

pytestmark = pytest.mark.spark

SCHEMA = (
    "file string, line bigint, pos bigint, order_id string, sub_order_id string, seq bigint, "
    "status string, refund_status string, via string"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("orderfsm-audit-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _combined(batches: list[Export]) -> Export:
    """Several drawn exports as one, order ids made distinct and still ascending."""
    rows = tuple(
        ExportRow(f"b{i:02d}{r.order_id}", r.seq, r.status, r.sub_order_id, r.refund_status)
        for i, export in enumerate(batches)
        for r in export.rows
    )
    first = batches[0]
    return Export(first.machine, rows, first.refunds, sum(b.mutations for b in batches))


def _spark_rows(export: Export, file: str) -> list[tuple[object, ...]]:
    return [
        (
            file,
            line,
            line,
            r.order_id,
            (r.sub_order_id or None) if export.refunds else None,
            r.seq,
            str(r.status),
            (str(r.refund_status) or None) if export.refunds else None,
            None,
        )
        for line, r in enumerate(export.rows, start=2)
    ]


# taobao_refund is audited under taobao_order: the same parts, so the same query.
@pytest.mark.parametrize("machine", [m for m in SHIPPED_TABLES if m != "taobao_refund"])
def test_emitted_sql_on_spark_reports_what_the_engines_report(
    spark: Any, tmp_path: Path, machine: str
) -> None:
    @settings(max_examples=1, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(exports(machine, max_orders=6), min_size=12, max_size=12))
    def check(batches: list[Export]) -> None:
        export = _combined(batches)
        path = tmp_path / "export.csv"
        path.write_text(export.csv(), "utf-8")
        expected = audit_files([path], export.machine, engine="stream")
        duck = audit_files([path], export.machine, engine="duckdb")
        spark.createDataFrame(_spark_rows(export, str(path)), SCHEMA).createOrReplaceTempView(
            "history"
        )
        query = AuditSql(Parts.of(export.machine)).findings_query()
        found = sorted(
            (row.kind, row.line, row.order_id, row.sub_order_id, row.machine, row.src, row.dst)
            for row in spark.sql(query).collect()
            if row.kind != "input"
        )
        parts = Parts.of(export.machine).machines

        def names(result: Any) -> list[tuple[object, ...]]:
            return sorted(
                (
                    f.kind,
                    f.line,
                    f.order_id,
                    f.sub_order_id,
                    f.machine,
                    parts[f.machine].status(f.source).name,
                    parts[f.machine].status(f.target).name,
                )
                for f in (*result.illegal, *result.warnings)
            )

        assert found == names(expected) == names(duck)

    check()


ROLE_ROWS = (
    "order_id,seq,machine,sub_order_id,status,refund_status,via\n"
    "T,1,taobao_order,,10,,initial\n"
    "T,2,taobao_order,a,10,,initial\n"
    "T,3,taobao_order,a,11,,snapshot\n"
    "T,4,taobao_order,,0,,forced\n"
    "T,5,taobao_order,,9,,quarantine\n"
    "T,6,taobao_order,,12,,release\n"
    "T,7,taobao_order,a,12,,snapshot\n"
    "T,8,taobao_order,b,11,0,initial\n"
    "T,9,taobao_order,b,11,10,trigger\n"
    "T,10,taobao_order,c,0,0,initial\n"
    "T,11,taobao_order,c,0,10,trigger\n"
    "T,12,taobao_order,,zzz,,teleport\n"
    "T,13,taobao_order,c,zzz,20,snapshot\n"
    "U,1,taobao_order,,4,,initial\n"
    "U,2,taobao_order,,9,,quarantine\n"
)


def test_emitted_sql_on_spark_judges_rows_with_via_like_the_engines(
    spark: Any, tmp_path: Path
) -> None:
    """Sub-order rows, refunds under their parent, forced, quarantine and release steps and
    bad input, in the SQL as Spark runs it and in both engines."""
    path = tmp_path / "rows.csv"
    path.write_text(ROLE_ROWS, "utf-8")
    stream = audit_files([path], engine="stream")
    duck = audit_files([path], engine="duckdb")
    rows = [
        (str(path), n, n, oid, sub or None, int(seq), status, refund or None, via or None)
        for n, (oid, seq, _, sub, status, refund, via) in enumerate(
            (line.split(",") for line in ROLE_ROWS.splitlines()[1:]), start=2
        )
    ]
    spark.createDataFrame(rows, SCHEMA).createOrReplaceTempView("history")
    query = AuditSql(Parts.of(stream.machine)).findings_query()
    found = sorted(
        (row.kind, row.line, row.order_id, row.sub_order_id, row.machine, row.src, row.dst)
        for row in spark.sql(query).collect()
    )
    parts = Parts.of(stream.machine).machines

    def names(result: Any) -> list[tuple[object, ...]]:
        return sorted(
            (
                "input" if f.kind == "input" else f.kind,
                f.line,
                f.order_id,
                f.sub_order_id,
                f.machine or None,
                None if f.source is None else parts[f.machine].status(f.source).name,
                None if f.target is None else parts[f.machine].status(f.target).name,
            )
            for f in (*result.illegal, *result.warnings, *result.forced, *result.problems)
        )

    kinds = {f[0] for f in found}
    assert kinds == {"illegal", "quarantine", "forced", "input"}

    def judged(found: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [f if f[0] != "input" else f[:3] for f in found]

    assert judged(found) == judged(names(stream)) == judged(names(duck))
