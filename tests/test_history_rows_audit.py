"""Self-consistency: what an order stores, turned into audit rows, passes the audit.

For every shipped machine (Taobao orders with sub-orders and refunds: ``taobao_order`` and
``taobao_refund``; ICBU: ``icbu_trade``; KA: ``ka_pool_order``), hypothesis drives an
order object through triggers and snapshot applies (duplicates, stale and out-of-order
callbacks, unknown statuses, sub-orders running ahead of their order, new sub-orders), then
audits :func:`orderfsm.history_rows` of its history, written as a CSV with a header and
no ``--column`` flags, with both engines: no step may be illegal, no row unusable, and the
engines agree. With ``force=True`` the forced steps are reported as forced, one each.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orderfsm
from orderfsm import HistoryRow, IcbuOrder, KaTrade, OrderFsmError, TaobaoOrder, history_rows
from orderfsm.check.audit import AuditResult, audit_files
from orderfsm.model.records import IcbuSnapshot, SubOrderSnapshot, TaobaoSnapshot
from orderfsm.orders.rows import history_header

Order = TaobaoOrder | IcbuOrder | KaTrade
Op = Callable[[Any], object]

TAOBAO = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
ICBU = orderfsm.load("icbu_trade")
KA = orderfsm.load("ka_pool_order")

UNKNOWN_TEXT = st.sampled_from(["SOMETHING_NEW", "zzz", "Unenumerated:Other"])
TIMES = st.none() | st.integers(1000, 1006)  # few values: duplicates, stale, out of order


def _codes(machine: orderfsm.CompiledMachine) -> list[object]:
    return [s.code for s in machine.states]


# ---------------------------------------------------------------- operations per order type


def _trigger(event: str, *args: object) -> Op:
    def run(order: Any) -> object:
        try:
            return order.trigger(event, *args)
        except OrderFsmError:
            return None  # a refused event changes nothing

    run.__name__ = f"trigger({event!r}, {', '.join(map(repr, args))})"
    return run


def _apply(snapshot: object, force: bool) -> Op:
    def run(order: Any) -> object:
        return order.apply(snapshot, force=force)

    run.__name__ = f"apply({snapshot!r}, force={force})"
    return run


SUB_IDS = st.sampled_from(["a", "b", "c"])


@st.composite
def taobao_snapshots(draw: st.DrawFn) -> TaobaoSnapshot:
    status = draw(st.sampled_from(_codes(TAOBAO)) | st.integers(13, 99) | UNKNOWN_TEXT)
    code, text = (status, None) if isinstance(status, int) else (None, status)
    subs = []
    for sid in draw(st.lists(SUB_IDS, max_size=3, unique=True)):
        sub_status = draw(
            st.none() | st.sampled_from([s.name for s in TAOBAO.states]) | UNKNOWN_TEXT
        )
        refund = draw(st.none() | st.sampled_from(_codes(REFUND)) | st.integers(50, 60))
        subs.append(SubOrderSnapshot(sid, sub_status, refund, None, None, f"$.{sid}"))
    kind = "status_callback" if code is None else "purchase_page"
    return TaobaoSnapshot(kind, "1", code, text, draw(TIMES), tuple(subs), "$")


def taobao_ops(force: bool) -> st.SearchStrategy[Op]:
    events = [*TAOBAO.event_names]
    return st.one_of(
        st.builds(_trigger, st.sampled_from(events)),
        st.builds(_trigger, st.sampled_from(REFUND.event_names), SUB_IDS),
        st.builds(_apply, taobao_snapshots(), st.just(force) if force else st.just(False)),
    )


@st.composite
def icbu_snapshots(draw: st.DrawFn) -> IcbuSnapshot:
    status = draw(st.sampled_from([str(c) for c in _codes(ICBU)]) | UNKNOWN_TEXT)
    pay_step = draw(st.sampled_from([None, "ADVANCE", "BALANCE", "FULL"]))
    return IcbuSnapshot("1", status, pay_step, None, (), "$", "icbu_order", draw(TIMES))


def icbu_ops(force: bool) -> st.SearchStrategy[Op]:
    return st.one_of(
        st.builds(_trigger, st.sampled_from(ICBU.event_names)),
        st.builds(_apply, icbu_snapshots(), st.just(force)),
    )


def ka_ops(force: bool) -> st.SearchStrategy[Op]:
    del force  # KA trades take events only
    leaves = st.sampled_from([("o1", "s1"), ("o1", "s2"), ("o/2", "s\\3")])
    return st.one_of(
        st.builds(lambda e, leaf: _trigger(e, *leaf), st.sampled_from(KA.event_names), leaves),
        st.builds(_trigger, st.sampled_from(KA.event_names), st.just("o1")),
        st.builds(_trigger, st.sampled_from(KA.event_names)),
    )


def _taobao(status: object) -> TaobaoOrder:
    return TaobaoOrder(status=status, sub_orders=["a", "b"])


KINDS: dict[str, tuple[st.SearchStrategy[Order], Callable[[bool], st.SearchStrategy[Op]]]] = {
    "taobao": (st.builds(_taobao, st.sampled_from(_codes(TAOBAO))), taobao_ops),
    "icbu": (st.builds(IcbuOrder, st.sampled_from(_codes(ICBU))), icbu_ops),
    "ka": (st.just(None).map(lambda _: KaTrade({"o1": ["s1", "s2"], "o/2": ["s\\3"]})), ka_ops),
}


# ---------------------------------------------------------------- writing and auditing


def write_rows(path: Path, rows: list[HistoryRow]) -> Path:
    """The rows as a database's ``COPY ... CSV HEADER`` writes them (empty text as-is),
    with the time column when some row has a time (snapshots carry ``modify_time``)."""
    header, timed = history_header(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(r.cells(timed) for r in rows)
    return path


def both_engines(path: Path, order: Order) -> tuple[AuditResult, AuditResult]:
    """Audit with no renames and, when there are rows, no machine named (the file's
    ``machine`` column says); a header alone names none."""
    machine = None if path.read_text("utf-8").count("\n") > 1 else order.machine
    return (
        audit_files([path], machine, engine="stream"),
        audit_files([path], machine, engine="duckdb"),
    )


def findings(result: AuditResult) -> list[tuple[object, ...]]:
    return sorted(
        (f.kind, f.line, f.order_id, f.sub_order_id or "", f.machine, f.source, f.target)
        for f in (*result.illegal, *result.warnings, *result.forced, *result.problems)
    )


def run(kind: str, force: bool, data: st.DataObject) -> tuple[Order, list[HistoryRow]]:
    orders, ops = KINDS[kind]
    order = data.draw(orders, label="order")
    for op in data.draw(st.lists(ops(force), max_size=12), label="ops"):
        op(order)
    return order, history_rows(order, "X1")


# ---------------------------------------------------------------- the properties


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stored_history_passes_the_audit_in_both_engines(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    order, rows = run(kind, False, data)
    stream, duck = both_engines(write_rows(tmp_path / "rows.csv", rows), order)
    assert findings(stream) == findings(duck)
    assert stream.illegal == [] and stream.problems == [] and stream.forced == []
    assert (stream.steps, stream.rows) == (duck.steps, duck.rows)


@pytest.mark.parametrize("kind", ["icbu", "taobao"])
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_forced_steps_are_marked_and_reported_as_forced(
    tmp_path: Path, kind: str, data: st.DataObject
) -> None:
    order, rows = run(kind, True, data)
    forced_rows = sorted(r.seq + 1 for r in rows if r.via == "forced")  # header is line 1
    assert sum(c.via == "forced" for c in order.history) == len(forced_rows)  # type: ignore[union-attr]
    stream, duck = both_engines(write_rows(tmp_path / "rows.csv", rows), order)
    assert findings(stream) == findings(duck)
    assert sorted(f.line for f in stream.forced) == forced_rows
    assert stream.illegal == [] and stream.problems == []


def test_a_refund_taken_with_a_quarantine_is_judged_under_the_status_before_it(
    tmp_path: Path,
) -> None:
    """One snapshot parks the order (unknown status) and moves a shipped sub-order's
    refund: the refund was accepted under the status held before the quarantine, and the
    row must name it (found by the random hypothesis profile)."""
    order = TaobaoOrder(
        status="WAIT_SELLER_SEND_GOODS",
        sub_orders=["a"],
        sub_order_statuses={"a": "WAIT_BUYER_CONFIRM_GOODS"},
    )
    sub = SubOrderSnapshot("a", None, 10, None, None, "$.a")
    order.apply(TaobaoSnapshot("purchase_page", "1", 13, None, None, (sub,), "$"))
    assert order.refund_status("a").code == 10 and order.status.code == 9
    rows = history_rows(order, "o1")
    refund_rows = [r for r in rows if r.refund_status == "10"]
    assert [r.status for r in refund_rows] == ["10"]
    for result in both_engines(write_rows(tmp_path / "h.csv", rows), order):
        assert result.illegal == []  # the quarantine itself is a warning
        assert [f.kind for f in result.warnings] == ["quarantine"]
