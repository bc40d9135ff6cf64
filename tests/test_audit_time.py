"""Time in the audit: dwell statistics and overdue stays, in every engine alike.

The property: hypothesis drives order objects of every shipped machine (Taobao orders
with sub-orders and their refunds, ICBU, KA) through triggers and snapshot applies with
times, exports their :func:`orderfsm.history_rows` (with the ``at`` column), and audits
them. The stream engine, the DuckDB engine and the emitted time query run on DuckDB
must report the same dwell statistics and overdue stays as a replay of the orders'
histories computes them from the ``Change`` objects (``oracle``), and no row may be a
problem: what the library stores passes its own audit, times included.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import orderfsm
from orderfsm import KaTrade, OrderFsmError, TaobaoOrder, history_rows
from orderfsm.check.audit import AuditResult, audit_files
from orderfsm.check.audit.dwell import DwellStats, TimeReport, duration, rounded
from orderfsm.check.audit.dwell_sql import read_time_rows, time_query
from orderfsm.check.audit.parts import Parts
from orderfsm.check.audit.sql import AuditSql
from orderfsm.cli import main
from orderfsm.model.deadlines import DAY, counted_deadline_of, due
from orderfsm.orders.rows import HISTORY_COLUMNS, HistoryRow, history_header
from test_history_rows_audit import KINDS, Order, icbu_snapshots, taobao_snapshots

duckdb = pytest.importorskip("duckdb")

T0 = 1_764_504_000  # Sunday 2025-11-30, 12:00 UTC
Op = Callable[[Any, int | None], object]


# ---------------------------------------------------------------- orders with times


def _timed_trigger(event: str, *args: object) -> Op:
    def run(order: Any, at: int | None) -> object:
        try:
            return order.trigger(event, *args, at=at)
        except OrderFsmError:
            return None

    run.__name__ = f"trigger({event!r}, {', '.join(map(repr, args))})"
    return run


def _timed_apply(snapshot: object) -> Op:
    def run(order: Any, at: int | None) -> object:
        return order.apply(snapshot, at=at)

    run.__name__ = f"apply({snapshot!r})"
    return run


TAOBAO = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
ICBU = orderfsm.load("icbu_trade")
KA = orderfsm.load("ka_pool_order")
SUB_IDS = st.sampled_from(["a", "b", "c"])

OPS: dict[str, st.SearchStrategy[Op]] = {
    "taobao": st.one_of(
        st.builds(_timed_trigger, st.sampled_from(TAOBAO.event_names)),
        st.builds(_timed_trigger, st.sampled_from(REFUND.event_names), SUB_IDS),
        st.builds(_timed_apply, taobao_snapshots()),
    ),
    "icbu": st.one_of(
        st.builds(_timed_trigger, st.sampled_from(ICBU.event_names)),
        st.builds(_timed_apply, icbu_snapshots()),
    ),
    "ka": st.builds(
        lambda e, leaf: _timed_trigger(e, *leaf),
        st.sampled_from(KA.event_names),
        st.sampled_from([("o1", "s1"), ("o1", "s2"), ("o/2", "s\\3")]),
    ),
}

STARTS = {  # mostly where the Taobao table states deadlines (1, 10, 11) or just before
    "taobao": st.builds(
        lambda s: TaobaoOrder(status=s, sub_orders=["a", "b"]),
        st.sampled_from([0, 1, 10, 11]) | st.sampled_from([s.code for s in TAOBAO.states]),
    )
}

GAPS = st.none() | st.sampled_from([0, 1, 3600, DAY // 2]) | st.integers(0, 20 * DAY)
"""Time between two operations (``None``: the caller passes no time)."""


def drive(kind: str, data: st.DataObject) -> list[Order]:
    """One to three orders of ``kind`` driven with times from a common clock."""
    orders = []
    clock = T0 + data.draw(st.integers(0, 7 * DAY), label="start")
    for _ in range(data.draw(st.integers(1, 3), label="orders")):
        order = data.draw(STARTS.get(kind, KINDS[kind][0]), label="order")
        for op in data.draw(st.lists(OPS[kind], max_size=10), label="ops"):
            gap = data.draw(GAPS, label="gap")
            clock += gap or 0
            op(order, None if gap is None else clock)
        orders.append(order)
    return orders


def write(path: Path, orders: list[Order]) -> Path:
    rows: list[HistoryRow] = []
    for i, order in enumerate(orders):
        rows += history_rows(order, f"X{i}")
    header, timed = history_header(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow((*header, *(() if timed else ("at",))))  # the audit reads times always
        out.writerows((*r.cells(timed), *(() if timed else ("",))) for r in rows)
    return path


# ---------------------------------------------------------------- the replay


Stay = tuple[str, str | None, str, object, int, int, int | None, int]
"""(order id, sub-order id, machine, status code, entered, deadline, left, overrun)."""


def oracle(orders: list[Order], as_of: int | None) -> tuple[list[DwellStats], list[Stay]]:
    """Dwell statistics and overdue stays from the orders' ``Change`` objects: per part,
    a stay starts when the part moves to another status, at the change's time."""
    dwells: dict[tuple[str, str], list[int]] = {}
    overdue: list[Stay] = []
    waiting: list[tuple[str, str | None, Any, str, int]] = []
    times = [c.at for o in orders for c in o.history]
    known = [t for t in times if t is not None]
    instant = as_of if as_of is not None else (max(known) if known else None)

    def judge(stay: tuple[str, str | None, Any, str, int], end: int, left: int | None) -> None:
        oid, sub, machine, status, entered = stay
        rule = counted_deadline_of(machine, machine.status(status))
        if rule is not None and end > due(rule, entered):
            late = due(rule, entered)
            code = machine.status(status).code
            overdue.append((oid, sub, machine.name, code, entered, late, left, end - late))

    for i, order in enumerate(orders):
        oid = f"X{i}"
        parts: dict[object, list[Any]] = {}  # part -> [machine, status name, entered, sub]
        for change in _changes(order):
            part, machine, sub, step, at = change
            held = parts.setdefault(part, [machine, step.source.name, None, sub])
            if step.target.name == held[1]:
                continue
            if held[2] is not None and at is not None:
                dwells.setdefault((machine.name, held[1]), []).append(at - held[2])
                judge((oid, sub, machine, held[1], held[2]), at, at)
            held[1], held[2] = step.target.name, at
        waiting += [(oid, sub, m, s, e) for m, s, e, sub in parts.values() if e is not None]
    for stay in waiting:
        if instant is not None:
            judge(stay, instant, None)
    stats = []
    for (machine, status), values in sorted(dwells.items()):
        ranked = sorted(rounded(v) for v in values)
        n = len(ranked)
        stats.append(
            DwellStats(
                machine,
                status,
                n,
                ranked[math.ceil(n * 0.5) - 1],
                ranked[math.ceil(n * 0.95) - 1],
                max(values),
            )
        )
    return stats, sorted(overdue, key=repr)


def _changes(order: Order) -> list[tuple[object, Any, str | None, Any, int | None]]:
    """(part, machine, sub-order id, step, time) of each change, oldest first."""
    if isinstance(order, KaTrade):
        return [(change[0], KA, None, change[1], change.at) for change in order.history]
    out: list[tuple[object, Any, str | None, Any, int | None]] = []
    for c in order.history:
        if c.sub_order is None:
            out.append((None, order.machine, None, c.step, c.at))
        elif c.sub_order_status:
            out.append((("s", c.sub_order), order.machine, str(c.sub_order), c.step, c.at))
        else:
            assert isinstance(order, TaobaoOrder)
            out.append((("r", c.sub_order), order.refund_machine, str(c.sub_order), c.step, c.at))
    return out


def reported(result: AuditResult) -> tuple[list[DwellStats], list[Stay]]:
    time = result.time
    assert time is not None
    overdue = [
        (o.order_id, o.sub_order_id, o.machine, o.status, o.entered, o.deadline, o.left, o.overrun)
        for o in time.overdue
    ]
    return time.stats(), sorted(overdue, key=repr)


def emitted_on_duckdb(path: Path, machine: Any, as_of: int | None) -> AuditResult:
    """The emitted time query, run on DuckDB over ``history`` built from the CSV."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE history AS SELECT 'f' AS file, CAST(NULL AS BIGINT) AS line, "
        "ROW_NUMBER() OVER () AS pos, order_id, NULLIF(sub_order_id, '') AS sub_order_id, "
        "CAST(seq AS BIGINT) AS seq, status, NULLIF(refund_status, '') AS refund_status, "
        'NULLIF(via, \'\') AS via, "at" AS at_raw, TRY_CAST("at" AS BIGINT) AS at_time '
        "FROM read_csv(?, header = true, all_varchar = true)",
        [str(path)],
    )
    parts = Parts.of(machine)
    result = AuditResult(parts.main.machine, "emitted", parts.machines)
    result.time = TimeReport(parts.machines, as_of)
    rows = con.execute(time_query(AuditSql(parts), as_of)).fetchall()
    read_time_rows(rows, result, lambda pos, _: ("f", pos + 1))
    return result


# ---------------------------------------------------------------- the properties


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_dwell_and_overdue_agree_across_engines_and_with_the_orders(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    orders = drive(kind, data)
    as_of = data.draw(st.none() | st.integers(T0, T0 + 200 * DAY), label="as_of")
    path = write(tmp_path / "rows.csv", orders)
    machine = orders[0].machine
    expected = oracle(orders, as_of)
    event(f"dwell statistics: {bool(expected[0])}, overdue stays: {bool(expected[1])}")
    stream = audit_files([path], machine, engine="stream", as_of=as_of)
    duck = audit_files([path], machine, engine="duckdb", as_of=as_of)
    for result in (stream, duck):
        assert result.problems == [] and result.illegal == []
        assert reported(result) == expected
        assert result.time is not None and result.time.overdue_count == len(expected[1])
    assert [o.to_json() for o in stream.time.overdue] == [  # type: ignore[union-attr]
        o.to_json()
        for o in duck.time.overdue  # type: ignore[union-attr]
    ]
    assert stream.to_json()["summary"]["time"] == duck.to_json()["summary"]["time"]
    assert reported(emitted_on_duckdb(path, machine, as_of)) == expected


# ---------------------------------------------------------------- examples

D = DAY
TIMED = (  # order A: paid (1) at T0, finance approved 3 days later: late (2 business days)
    "order_id,seq,machine,sub_order_id,status,refund_status,via,at\n"
    f"A,1,taobao_order,,0,,initial,\n"
    f"A,2,taobao_order,,1,,trigger,{T0}\n"
    f"A,3,taobao_order,,2,,trigger,{T0 + 3 * D}\n"
    # order B: waits in 10 (shipment, 3 calendar days) since T0 + 1 day, never ships
    f"B,1,taobao_order,,1,,initial,\n"
    f"B,2,taobao_order,,10,,trigger,{T0 + D}\n"
    # order C: ships 2 days after entering 10, then waits in 11 (15 days)
    f"C,1,taobao_order,,1,,initial,\n"
    f"C,2,taobao_order,,10,,trigger,{T0}\n"
    f"C,3,taobao_order,,11,,trigger,{T0 + 2 * D}\n"
)


def _timed(tmp_path: Path, text: str = TIMED, name: str = "timed.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("engine", ["stream", "duckdb"])
def test_as_of_judges_the_orders_still_waiting(tmp_path: Path, engine: Any) -> None:
    path = _timed(tmp_path)
    by_default = audit_files([path], engine=engine)  # as of the latest time: T0 + 3 days
    assert by_default.time is not None and by_default.time.as_of == T0 + 3 * D
    # A overran (finance: Sunday + 2 business days = Tuesday; approved Wednesday);
    # B waits since Monday: late after Thursday noon, so not yet at T0 + 3 days
    assert [(o.order_id, o.left) for o in by_default.time.overdue] == [("A", T0 + 3 * D)]
    later = audit_files([path], engine=engine, as_of=T0 + 4 * D + 1)
    assert later.time is not None
    assert [(o.order_id, o.left, o.overrun) for o in later.time.overdue] == [
        ("A", T0 + 3 * D, D),
        ("B", None, 1),
    ]
    assert later.exit_code == 0  # overdue is operations, not a broken rule


def test_the_overdue_json_shape_and_the_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _timed(tmp_path)
    assert main(["audit", str(path), "--json", "--as-of", "2025-12-04T12:00:01Z"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["time"]["as_of"] == T0 + 4 * D + 1
    assert report["summary"]["time"]["overdue"] == 2
    first = report["overdue"][0]
    assert first == {
        "file": str(path),
        "line": 3,
        "order_id": "A",
        "machine": "taobao_order",
        "status": 1,
        "entered_at": T0,
        "deadline": T0 + 2 * D,
        "left_at": T0 + 3 * D,
        "overrun": D,
        "rule": {
            "within": [1, 2],
            "unit": "business_days",
            "provenance": "documented",
            "sources": [
                {
                    "doc": "000_29cd69a61e8d9e8a.txt",
                    "section": "Flow 1: Normal Fulfillment (Success)",
                    "says": "Time Requirements: Finance confirmation: Usually 1-2 business days",
                }
            ],
            "basis": "",
        },
    }
    assert report["overdue"][1]["left_at"] is None
    dwell = {(d["machine"], d["status"]): d for d in report["summary"]["time"]["dwell"]}
    assert dwell[("taobao_order", 1)] | {} == {
        "machine": "taobao_order",
        "status": 1,
        "count": 1,
        "median": rounded(3 * D),
        "p95": rounded(3 * D),
        "max": 3 * D,
    }
    assert main(["audit", str(path), "--as-of", str(T0 + 5 * D), "--fail-on-overdue"]) == 3
    out = capsys.readouterr().out
    assert "overdue taobao_order: 10 entered at" in out and "2 overdue (not a failure)" in out
    assert main(["audit", str(path), "--as-of", str(T0), "--fail-on-overdue"]) == 3  # A left late
    capsys.readouterr()
    illegal = _timed(tmp_path, TIMED + f"C,4,taobao_order,,0,,trigger,{T0 + 5 * D}\n", "bad.csv")
    assert audit_files([illegal]).counts["illegal"] == 1
    assert main(["audit", str(illegal), "--fail-on-overdue"]) == 1  # broken rules come first
    capsys.readouterr()
    assert main(["audit", str(path), "--emit-time-sql", "--as-of", "5"]) == 0
    parts = Parts.of(orderfsm.load("taobao_order"))
    assert capsys.readouterr().out == time_query(AuditSql(parts), 5) + "\n"


@pytest.mark.parametrize("engine", ["stream", "duckdb"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_bad_time_is_a_problem_on_its_row_and_the_row_is_still_judged(
    tmp_path: Path, engine: Any, suffix: str
) -> None:
    """A cell that is no time, and a time earlier than one before it in its order, are
    problems naming file, line and column; the row's status is still judged (its time is
    not used)."""
    rows = [
        ("A", 1, 0, ""),
        ("A", 2, 1, str(T0)),
        ("A", 3, 2, "12:00"),  # not a time
        ("A", 4, 3, str(T0 - 5)),  # goes back
        ("A", 5, 3, str(T0 + 10)),
        ("B", 1, 0, "123456789012"),  # 12 digits: beyond the usable range
    ]
    path = tmp_path / f"bad{suffix}"
    if suffix == ".csv":
        path.write_text(
            "order_id,seq,status,at\n" + "".join(f"{o},{s},{st},{at}\n" for o, s, st, at in rows),
            "utf-8",
        )
        lines = [4, 5, 7]
    else:
        path.write_text(
            "".join(
                json.dumps({"order_id": o, "seq": s, "status": st, "at": at}) + "\n"
                for o, s, st, at in rows
            ),
            "utf-8",
        )
        lines = [3, 4, 6]
    result = audit_files([path], "taobao_order", engine=engine)
    found = [(p.file, p.line, p.order_id, p.column) for p in result.problems]
    assert found == [(str(path), line, oid, "at") for line, oid in zip(lines, "AAB", strict=True)]
    details = [p.detail for p in result.problems]
    assert details[0] == (
        "at '12:00' is not a time (seconds since the epoch, UTC: an integer of 1 to 11 digits)"
    )
    assert details[1] == f"at {T0 - 5} is earlier than {T0}, a time before it in order 'A'"
    assert result.exit_code == 1
    assert result.steps == 3  # 0 -> 1 -> 2 -> 3: every row judged
    time = result.time
    assert time is not None
    # the stay in 1 ended at an unknown time (row 3's cell is bad): no dwell; the stay
    # in 3 entered at an unknown time (row 4 went back): row 5 is the same stay
    assert time.stats() == [] and time.as_of == T0 + 10


def test_no_time_column_no_time_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the column the report is the one before times (no ``time``, no
    ``overdue``), and rows without times are written without the column."""
    order = TaobaoOrder(0)
    order.trigger("upload_payment_proof")
    rows = history_rows(order, "P")
    assert history_header(rows) == (HISTORY_COLUMNS, False)
    assert [r.cells(False) for r in rows] == [
        ("P", 1, "taobao_order", "", "0", "", "initial"),
        ("P", 2, "taobao_order", "", "1", "", "trigger"),
    ]
    path = tmp_path / "plain.csv"
    path.write_text(
        ",".join(HISTORY_COLUMNS)
        + "\n"
        + "".join(",".join(map(str, r.cells(False))) + "\n" for r in rows),
        "utf-8",
    )
    for engine in ("stream", "duckdb"):
        assert main(["audit", str(path), "--json", "--engine", engine]) == 0
        report = json.loads(capsys.readouterr().out)
        assert "time" not in report["summary"] and "overdue" not in report
    with pytest.raises(OrderFsmError, match="median times need a time column"):
        from orderfsm.render.overlay import write_overlay  # noqa: PLC0415

        write_overlay(audit_files([path]), tmp_path / "o.dot", "median-time")


def test_history_rows_carry_the_changes_times() -> None:
    order = TaobaoOrder(status="WAIT_SELLER_SEND_GOODS", sub_orders=["s1"])
    order.trigger("ship", at=T0)
    order.trigger("apply_refund", "s1", at=T0 + 60)
    rows = history_rows(order, "P")
    assert [(r.status, r.refund_status, r.via, r.at) for r in rows] == [
        ("10", "", "initial", None),
        ("11", "", "trigger", T0),
        ("11", "0", "initial", None),
        ("11", "10", "trigger", T0 + 60),
    ]
    header, timed = history_header(rows)
    assert header == (*HISTORY_COLUMNS, "at") and timed
    assert rows[0].cells(True)[-1] == "" and rows[1].cells(True)[-1] == T0


def test_the_diagram_labels_edges_with_median_times(tmp_path: Path) -> None:
    path = _timed(tmp_path)
    out = tmp_path / "perf.mmd"
    drawn = []
    for _ in range(2):
        args = ["audit", str(path), "--diagram", str(out), "--diagram-label", "median-time"]
        assert main(args) == 0
        drawn.append(out.read_bytes())
    assert drawn[0] == drawn[1]  # deterministic
    text = out.read_text("utf-8")
    three, two = duration(rounded(3 * D)), duration(rounded(2 * D))  # 2d 23h (rounded), 2d
    assert f'-->|"finance_approve median {three}"| taobao_order_ORDER_FINANCE_PASS_STATUS' in text
    assert f'-->|"ship median {two}"| taobao_order_WAIT_BUYER_CONFIRM_GOODS' in text
    assert "median -" in text  # edges no timed stay took


def test_parquet_time_ordered_logs_and_values_report_alike(tmp_path: Path) -> None:
    """Times read from Parquet (an integer column) and from a log ordered by ``seq``
    alone give the CSV's report; what the report holds copies, pickles and compares."""
    import copy  # noqa: PLC0415
    import pickle  # noqa: PLC0415

    path = _timed(tmp_path)
    expected = audit_files([path], as_of=T0 + 9 * D)
    parquet = tmp_path / "timed.parquet"
    duckdb.connect().execute(
        "COPY (SELECT order_id, CAST(seq AS BIGINT) AS seq, machine, status, via, "
        'TRY_CAST("at" AS BIGINT) AS "at" FROM read_csv(?, header = true, all_varchar = true)) '
        f"TO '{parquet}' (FORMAT parquet)",
        [str(path)],
    )
    lines = path.read_text("utf-8").splitlines()
    by_seq = tmp_path / "by_seq.csv"
    body = sorted(lines[1:], key=lambda line: (int(line.split(",")[1]), line))
    by_seq.write_text("\n".join([lines[0], *body]) + "\n", "utf-8")
    ordered = audit_files([by_seq], as_of=T0 + 9 * D, ordering="seq")
    assert expected.time is not None and expected.time.overdue_count == 2
    for engine in ("stream", "duckdb"):
        found = audit_files([parquet], "taobao_order", engine=engine, as_of=T0 + 9 * D)
        assert reported(found) == reported(expected)
    assert reported(ordered) == reported(expected)
    for value in (*expected.time.overdue, *expected.time.stats()):
        assert pickle.loads(pickle.dumps(value)) == value == copy.deepcopy(value)


@settings(max_examples=20)
@given(
    st.lists(
        st.integers(0, 10**11)
        | st.sampled_from([0, 1, 1023, 1024, 1025, 2047, 2048, 2**36, 10**11 - 1]),
        min_size=1,
        max_size=200,
    )
)
def test_rounding_and_percentiles_are_one_definition_in_python_and_sql(values: list[int]) -> None:
    """The SQL engines' rounding is Python's, value for value; nearest rank picks the
    smallest value with the share of counts at or below it."""
    from collections import Counter  # noqa: PLC0415

    from orderfsm.check.audit.dwell import nearest_rank, rounded_sql  # noqa: PLC0415

    con = duckdb.connect()
    rows = ", ".join(f"({v})" for v in values)
    found = con.execute(
        f"SELECT {rounded_sql('v')} FROM (VALUES {rows}) AS t(v) ORDER BY v"
    ).fetchall()
    assert [r[0] for r in found] == [rounded(v) for v in sorted(values)]
    assert all(0 <= v - rounded(v) <= v / 512 for v in values)
    ranked = sorted(values)
    histogram = Counter(values)
    for percent in (50, 95, 100):
        assert (
            nearest_rank(histogram, percent) == ranked[math.ceil(len(ranked) * percent / 100) - 1]
        )
