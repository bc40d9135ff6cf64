"""On Spark: the SQL ``--emit-sql`` prints runs unchanged, and ``--engine spark`` reports
what the other engines report.

One local Spark session serves every case (the engine finds it active); each machine gets
few generated datasets of many orders (hypothesis draws them), to keep the run short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderfsm.check.audit import AuditInputError, audit_files
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.result import AuditResult
from orderfsm.check.audit.sql import AuditSql
from orderfsm.cli import main
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


def report(result: AuditResult) -> dict[str, Any]:
    """Everything an audit reports but the engine's name."""
    out = result.to_json()
    out["summary"].pop("engine")
    return out


@pytest.mark.parametrize("machine", [m for m in SHIPPED_TABLES if m != "taobao_refund"])
def test_the_spark_engine_reports_what_the_other_engines_report(
    spark: Any, tmp_path: Path, machine: str
) -> None:
    """Findings (lines included), counts, changes taken and statuses ended in: equal to
    the stream and DuckDB engines', sorted input or not, with the file read in many small
    partitions (so line numbers cross partition boundaries)."""

    @settings(max_examples=2, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(exports(machine, max_orders=6), min_size=6, max_size=6), st.randoms())
    def check(batches: list[Export], rng: Any) -> None:
        export = _combined(batches)
        path = tmp_path / "export.csv"
        path.write_text(export.csv(), "utf-8")
        stream = audit_files([path], export.machine, engine="stream")
        on_spark = audit_files([path], export.machine, engine="spark")
        assert report(on_spark) == report(stream)
        header, *body = export.csv().splitlines(keepends=True)
        rng.shuffle(body)
        shuffled = tmp_path / "shuffled.csv"
        shuffled.write_text(header + "".join(body), "utf-8")
        duck = audit_files([shuffled], export.machine, engine="duckdb")
        assert report(audit_files([shuffled], export.machine, engine="spark")) == report(duck)

    spark.conf.set("spark.sql.files.maxPartitionBytes", "256")
    try:
        check()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")


def test_the_spark_engine_reads_parquet_and_json_lines_like_the_others(
    spark: Any, tmp_path: Path
) -> None:
    """Sub-order rows, refunds, forced, quarantine and release steps, unknown values, a
    non-integer ordering value and a field over the limit, from CSV, Parquet and JSON
    Lines, several files read as one history: the same report as DuckDB's."""
    long_row = f"V,1,taobao_order,,{'1' * 1100},,\nV,x,taobao_order,,10,,\n"
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(ROLE_ROWS + long_row, "utf-8")
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    table = f"read_csv('{csv_path}', all_varchar = true)"
    con.execute(f"COPY (SELECT * FROM {table}) TO '{tmp_path / 'rows.parquet'}'")
    names = ROLE_ROWS.splitlines()[0].split(",")
    with (tmp_path / "rows.jsonl").open("w", encoding="utf-8") as handle:
        for values in con.execute(f"SELECT * FROM {table}").fetchall():
            handle.write(json.dumps(dict(zip(names, values, strict=True))) + "\n")
    for files in (["rows.csv"], ["rows.parquet"], ["rows.jsonl"], ["rows.csv", "rows.jsonl"]):
        paths = [tmp_path / f for f in files]
        duck = audit_files(paths, engine="duckdb")
        assert duck.counts["input"] >= 3 and duck.counts["forced"] == 1
        assert report(audit_files(paths, engine="spark")) == report(duck), files


def test_the_cli_runs_on_spark_with_the_same_exit_codes(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(ROLE_ROWS, "utf-8")
    assert main(["audit", str(path), "--engine", "duckdb", "--json"]) == 1
    duck = json.loads(capsys.readouterr().out)
    assert main(["audit", str(path), "--engine", "spark", "--json"]) == 1
    on_spark = json.loads(capsys.readouterr().out)
    duck["summary"].pop("engine")
    assert on_spark["summary"].pop("engine") == "spark"
    assert on_spark == duck
    clean = tmp_path / "clean.csv"
    clean.write_text("order_id,seq,status\nA,1,unpay\nA,2,paying\n", "utf-8")
    assert main(["audit", str(clean), "--machine", "icbu_trade", "--engine", "spark"]) == 0
    capsys.readouterr()
    missing = str(tmp_path / "missing.csv")
    assert main(["audit", missing, "--machine", "taobao_order", "--engine", "spark"]) == 2
    with pytest.raises(AuditInputError, match=r"missing\.csv"):
        audit_files([missing], "taobao_order", engine="spark")


def test_the_spark_engine_reports_dwell_and_overdue_like_the_others(
    spark: Any, tmp_path: Path
) -> None:
    """Orders with times (the property of ``test_audit_time.py``, a few drawn exports):
    Spark's time query reports the stream engine's dwell statistics and overdue stays, as
    a file of times (CSV) and as JSON Lines; a malformed time is the same problem."""
    from test_audit_time import drive, oracle, reported, write  # noqa: PLC0415

    @settings(max_examples=3, suppress_health_check=list(HealthCheck), database=None)
    @given(st.data(), st.sampled_from([None, 1_765_000_000]))
    def check(data: st.DataObject, as_of: int | None) -> None:
        orders = drive("taobao", data)
        path = write(tmp_path / "timed.csv", orders)
        stream = audit_files([path], orders[0].machine, engine="stream", as_of=as_of)
        on_spark = audit_files([path], orders[0].machine, engine="spark", as_of=as_of)
        assert reported(on_spark) == reported(stream) == oracle(orders, as_of)
        assert on_spark.to_json()["overdue"] == stream.to_json()["overdue"]
        assert on_spark.to_json()["summary"]["time"] == stream.to_json()["summary"]["time"]

    check()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"order_id": "A", "seq": 1, "status": 0, "at": 100}\n'
        '{"order_id": "A", "seq": 2, "status": 1, "at": "1e3"}\n'
        '{"order_id": "A", "seq": 3, "status": 10, "at": 50}\n',
        "utf-8",
    )
    found = [
        [(p.line, p.column, p.detail) for p in r.problems]
        for r in (audit_files([bad], "taobao_order", engine=e) for e in ("stream", "spark"))
    ]
    assert found[0] == found[1] and len(found[0]) == 2
