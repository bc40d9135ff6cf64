"""Deadlines as data and clock-free questions about them (issue 19.2, 19.3): a table
states per status how long an order may wait there; machines and orders answer when an
order becomes late and whether it is, from the stored history's times."""

from __future__ import annotations

import contextlib
import copy
import pickle
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.model.deadlines import DAY, deadline_of, due, due_now
from orderfsm.render.reference import reference
from test_conformance import table_data

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
FINANCE = deadline_of(MAIN, MAIN.status(1))
MONDAY_NOON = int(datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp())


def test_the_taobao_table_carries_the_three_documented_deadlines() -> None:
    rules = {MAIN.table.state(d.status).code: d for d in MAIN.table.deadlines}
    assert {c: (d.least, d.most, d.unit) for c, d in rules.items()} == {
        1: (1, 2, "business_days"),
        10: (1, 3, "calendar_days"),
        11: (10, 15, "calendar_days"),
    }
    for rule in rules.values():
        (source,) = rule.provenance.sources
        assert source.doc == "000_29cd69a61e8d9e8a.txt" and "Time Requirements" in source.says
    for name in ("taobao_refund", "ka_pool_order"):
        assert orderfsm.load(name).table.deadlines == ()


@pytest.mark.parametrize(
    ("table", "entry", "problem"),
    [
        ("taobao_order", {"within": [3, 2]}, "must not exceed"),
        ("taobao_order", {"within": [1]}, "two non-negative integers"),
        ("taobao_order", {"within": [-1, 2]}, "two non-negative integers"),
        ("taobao_order", {"unit": "weeks"}, "must be one of"),
        ("taobao_order", {"status": 99}, "not a declared state"),
        ("taobao_order", {"provenance": {"kind": "documented", "sources": []}}, "one source"),
        ("icbu_trade", {"from": "delivery_date"}, "must be one of shipment_date"),
        ("icbu_trade", {"within": [1, 2]}, "states no within"),
    ],
)
def test_a_bad_deadline_is_a_table_error_naming_the_entry(
    table: str, entry: dict[str, Any], problem: str
) -> None:
    data = table_data(table)
    data["deadlines"][0] |= entry
    with pytest.raises(orderfsm.TableError) as e:
        orderfsm.load(data)
    assert e.value.entry.startswith("deadlines[0]") and problem in e.value.problem


def test_a_second_deadline_for_a_status_is_a_table_error() -> None:
    data = table_data("taobao_order")
    data["deadlines"].append(copy.deepcopy(data["deadlines"][0]))
    with pytest.raises(orderfsm.TableError, match="a second deadline"):
        orderfsm.load(data)


def test_business_days_skip_weekends_and_the_holidays_given() -> None:
    assert FINANCE is not None
    friday_noon = MONDAY_NOON + 4 * DAY
    assert due(FINANCE, MONDAY_NOON) == MONDAY_NOON + 2 * DAY  # Wednesday noon
    assert due(FINANCE, friday_noon) == friday_noon + 4 * DAY  # Tuesday noon
    tuesday = date(2026, 12, 1)
    assert due(FINANCE, MONDAY_NOON, lambda d: d == tuesday) == MONDAY_NOON + 3 * DAY


@given(
    entered=st.integers(0, 4_000_000_000),
    holiday_days=st.sets(st.integers(0, 6)),
)
def test_business_day_deadlines_fall_on_the_most_th_business_day(
    entered: int, holiday_days: set[int]
) -> None:
    """Between the entry day and the due day lie exactly ``most`` business days (the due
    day one of them), at the entry's time of day."""
    assert FINANCE is not None
    start = datetime.fromtimestamp(entered, UTC)

    def holidays(day: date) -> bool:
        return (day - start.date()).days in holiday_days

    late = datetime.fromtimestamp(due(FINANCE, entered, holidays), UTC)
    assert late.time() == start.time()
    days = [start.date() + timedelta(n) for n in range(1, (late.date() - start.date()).days + 1)]
    business = [d for d in days if d.weekday() < 5 and not holidays(d)]
    assert len(business) == FINANCE.most and business[-1] == late.date()


def test_an_order_is_overdue_only_after_its_deadline_and_only_when_its_entry_is_known() -> None:
    order = orderfsm.TaobaoOrder(0)
    assert order.deadline() is None and not order.overdue(MONDAY_NOON)
    order.trigger("upload_payment_proof", at=MONDAY_NOON)
    now = order.deadline()
    assert now is not None and (now.entered, now.at) == (MONDAY_NOON, MONDAY_NOON + 2 * DAY)
    assert not order.overdue(MONDAY_NOON + 2 * DAY) and order.overdue(MONDAY_NOON + 2 * DAY + 1)
    untimed = orderfsm.TaobaoOrder(0)
    untimed.trigger("upload_payment_proof")
    due_untimed = untimed.deadline()
    assert due_untimed is not None and due_untimed.at is None
    assert not untimed.overdue(MONDAY_NOON + 100 * DAY)
    with pytest.raises(orderfsm.OrderFsmError, match="now:"):
        order.overdue("tomorrow")  # type: ignore[arg-type]


def test_a_refund_step_does_not_move_when_the_order_entered_its_status() -> None:
    order = orderfsm.TaobaoOrder(10, {"s1": None})
    order.trigger("ship", at=MONDAY_NOON)
    order.trigger("apply_refund", sub_order="s1", at=MONDAY_NOON + DAY)
    assert order.entered_at() == MONDAY_NOON
    assert due_now(MAIN, order.status, order.entered_at()) == order.deadline()


def taobao_walk(steps: list[tuple[str, Any, int]]) -> orderfsm.TaobaoOrder:
    order = orderfsm.TaobaoOrder(0, {"s1": None})
    clock = MONDAY_NOON
    for event, sub, gap in steps:
        clock += gap
        with contextlib.suppress(orderfsm.OrderFsmError):
            order.trigger(event, sub_order=sub, at=clock)
    return order


walks = st.builds(
    taobao_walk,
    st.lists(
        st.tuples(st.sampled_from(MAIN.event_names), st.none(), st.integers(0, 9 * DAY))
        | st.tuples(st.sampled_from(REFUND.event_names), st.just("s1"), st.integers(0, 9 * DAY)),
        max_size=8,
    ),
)


@given(order=walks, later=st.integers(0, 30 * DAY))
def test_a_deadline_computed_from_a_restored_order_equals_the_original(
    order: orderfsm.TaobaoOrder, later: int
) -> None:
    restored = orderfsm.TaobaoOrder.from_dict(order.to_dict())
    unpickled = pickle.loads(pickle.dumps(order))
    now = MONDAY_NOON + later
    for copy_ in (restored, unpickled):
        assert copy_.deadline() == order.deadline()
        assert copy_.entered_at() == order.entered_at()
        assert copy_.overdue(now) == order.overdue(now)


def test_the_machine_page_lists_the_deadlines_of_a_table_that_states_some() -> None:
    page = reference(MAIN)
    assert "## Deadlines" in page
    assert "| 1 `ORDER_PAY_STATUS` | 1-2 business days | 2 business days | documented: " in page
    assert "## Deadlines" not in reference(orderfsm.load("taobao_refund"))
    icbu = reference(orderfsm.load("icbu_trade"))
    assert "| undeliver `undeliver` | the order's `shipment_date` (calendar days) |" in icbu
    assert "- deadline `undeliver`, start: a payment is made when the order enters paid" in icbu
