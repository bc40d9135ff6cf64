"""Time in a KA trade (issue 19.1, 19.3): each history item says when it happened, the
stored format carries the times only where one is known, and the trade answers the
deadline questions at each of its three levels from the stored history alone."""

from __future__ import annotations

import contextlib
import copy
import json
import operator
import pickle
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm import KaChange, KaTrade
from orderfsm.model.deadlines import DAY, due_now
from test_conformance import table_data

SHIPPED = orderfsm.load("ka_pool_order")
MONDAY_NOON = int(datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp())
PROVENANCE = {"kind": "inferred", "basis": "a test's deadline: the shipped table states none"}


def with_deadlines() -> orderfsm.CompiledMachine:
    """The KA table with a calendar-day deadline on WAIT_SELLER_SEND and a business-day
    one on WAIT_BUYER_RECEIVE (the shipped table states none: the documents give none)."""
    data = table_data("ka_pool_order")
    data["deadlines"] = [
        {"status": "waitsellersend", "within": [1, 3], "unit": "calendar_days"}
        | {"provenance": PROVENANCE},
        {"status": "waitbuyerreceive", "within": [2, 5], "unit": "business_days"}
        | {"provenance": PROVENANCE},
    ]
    return orderfsm.load(data)


TIMED = with_deadlines()


def trade(machine: orderfsm.CompiledMachine | None = None) -> KaTrade:
    return KaTrade({"o1": ["a", "b"], "o2": ["c"]}, machine=machine)


def test_each_step_records_the_time_the_caller_passes() -> None:
    t = trade()
    t.trigger("auto_deduct", at=MONDAY_NOON)
    t.trigger("ship", "o1", "a", at=MONDAY_NOON + DAY)
    t.trigger("ship", "o2")
    assert [c.at for c in t.history] == [MONDAY_NOON] * 3 + [MONDAY_NOON + DAY, None]
    assert t.to_dict()["history"]["at"] == [MONDAY_NOON] * 3 + [MONDAY_NOON + DAY, None]


def test_a_time_that_goes_back_is_refused_and_changes_nothing() -> None:
    t = trade()
    t.trigger("auto_deduct", at=MONDAY_NOON)
    before = t.to_dict()
    with pytest.raises(orderfsm.OrderFsmError, match="earlier than"):
        t.trigger("ship", "o1", "a", at=MONDAY_NOON - 1)
    with pytest.raises(orderfsm.OrderFsmError, match="integer time"):
        t.trigger("ship", "o1", "a", at="noon")  # type: ignore[arg-type]
    assert t.to_dict() == before


def test_a_history_without_times_is_written_byte_for_byte_as_before() -> None:
    t = trade()
    t.trigger("auto_deduct")
    t.trigger("ship", "o1", "a")
    history = t.to_dict()["history"]
    assert list(history) == ["order", "sub_order", "src", "dst", "event"]
    assert json.dumps(t.to_dict()) == json.dumps(KaTrade.from_dict(t.to_dict()).to_dict())


def test_history_items_keep_the_pair_shape_and_add_the_time() -> None:
    """Old code unpacking ``(leaf, step)`` or comparing with plain pairs still works."""
    t = trade()
    t.trigger("auto_deduct", "o2", at=5)
    (change,) = t.history
    leaf, step = change
    assert change == (("o2", "c"), step) == change[:2] and (("o2", "c"), step) == change
    assert hash(change) == hash((leaf, step)) and len(change) == 2
    assert change.at == 5 and change != KaChange(leaf, step, 6)
    assert change == KaChange(leaf, step, 5) and not operator.ne(change, KaChange(leaf, step, 5))
    for clone in (copy.copy(change), copy.deepcopy(change), pickle.loads(pickle.dumps(change))):
        assert clone == change and clone.at == 5 and type(clone) is KaChange
    with pytest.raises(AttributeError, match="immutable"):
        change.at = 6  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del change.at
    assert repr(change) == repr((leaf, step))


def test_the_shipped_table_states_no_deadline_and_the_questions_say_so() -> None:
    t = trade()
    t.trigger("auto_deduct", at=MONDAY_NOON)
    assert SHIPPED.table.deadlines == ()
    assert t.entered_at() == MONDAY_NOON
    assert t.deadline() is None and t.deadline("o1") is None and t.deadline("o1", "a") is None
    assert not t.overdue(MONDAY_NOON + 1000 * DAY)


def test_each_level_entered_its_status_when_its_shown_status_last_changed() -> None:
    t = trade(TIMED)
    assert t.entered_at() is None and t.deadline() is None  # WAIT_BUYER_PAY: no rule
    t.trigger("auto_deduct", at=MONDAY_NOON)
    t.trigger("ship", "o1", "a", at=MONDAY_NOON + DAY)
    # o1 still shows WAIT_SELLER_SEND (its slowest sub-order): entered at the payment.
    assert t.entered_at("o1") == MONDAY_NOON and t.entered_at("o1", "a") == MONDAY_NOON + DAY
    due = t.deadline("o1")
    assert due is not None and due.at == MONDAY_NOON + 3 * DAY
    assert due == due_now(TIMED, t.order_status("o1"), MONDAY_NOON)
    assert not t.overdue(MONDAY_NOON + 3 * DAY, "o1") and t.overdue(MONDAY_NOON + 3 * DAY + 1, "o1")
    shipped = t.deadline("o1", "a")  # WAIT_BUYER_RECEIVE: 5 business days from Tuesday
    assert shipped is not None and shipped.at == MONDAY_NOON + DAY + 7 * DAY
    t.trigger("ship", "o1", "b", at=MONDAY_NOON + 2 * DAY)
    assert t.entered_at("o1") == MONDAY_NOON + 2 * DAY  # now o1 shows WAIT_BUYER_RECEIVE
    assert t.entered_at() == MONDAY_NOON  # o2 still waits: the trade shows WAIT_SELLER_SEND
    with pytest.raises(orderfsm.UnknownSubOrder):
        t.deadline("o9")


def walk(steps: list[tuple[str, Any, int]]) -> KaTrade:
    t = trade(TIMED)
    clock = MONDAY_NOON
    for event, (order, sub), gap in steps:
        clock += gap
        with contextlib.suppress(orderfsm.TransitionRejected):
            t.trigger(event, order, sub, at=clock if gap % 3 else None)
    return t


ADDRESSES = [(None, None), ("o1", None), ("o2", None), ("o1", "a"), ("o1", "b"), ("o2", "c")]
walks = st.builds(
    walk,
    st.lists(
        st.tuples(
            st.sampled_from(TIMED.event_names),
            st.sampled_from(ADDRESSES),
            st.integers(0, 4 * DAY),
        ),
        max_size=10,
    ),
)


@given(t=walks, later=st.integers(0, 30 * DAY))
def test_a_deadline_computed_from_a_restored_trade_equals_the_original(
    t: KaTrade, later: int
) -> None:
    restored = KaTrade.from_dict(t.to_dict(), machine=TIMED)
    unpickled = pickle.loads(pickle.dumps(t))
    now = MONDAY_NOON + later
    assert restored.history == t.history == unpickled.history
    for clone in (restored, unpickled):
        for order, sub in ADDRESSES:
            assert clone.entered_at(order, sub) == t.entered_at(order, sub)
            assert clone.deadline(order, sub) == t.deadline(order, sub)
            assert clone.overdue(now, order, sub) == t.overdue(now, order, sub)


def timed_dict() -> dict[str, Any]:
    t = trade()
    t.trigger("auto_deduct", at=10)
    t.trigger("ship", "o1", "a", at=20)
    return t.to_dict()


@pytest.mark.parametrize(
    ("edit", "path", "problem"),
    [
        (lambda h: h["at"].__setitem__(3, "noon"), "$.history.at[3]", "integer"),
        (lambda h: h["at"].__setitem__(3, 5), "$.history.at[3]", "earlier than"),
        (lambda h: h.__setitem__("at", [None] * 4), "$.history.at", "knows none"),
        (lambda h: h["at"].pop(), "$.history", ""),
        (lambda h: h["at"].__setitem__(0, True), "$.history.at[0]", "integer"),
    ],
)
def test_a_bad_stored_time_is_named(edit: Any, path: str, problem: str) -> None:
    data = timed_dict()
    edit(data["history"])
    with pytest.raises(orderfsm.PayloadError) as e:
        KaTrade.from_dict(data)
    assert e.value.path.startswith(path) and problem in str(e.value)


def test_a_format_1_history_with_times_is_read() -> None:
    data = timed_dict()
    columns = data["history"]
    data["format"] = "orderfsm.ka_trade/1"
    data["history"] = [
        dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)
    ]
    restored = KaTrade.from_dict(data)
    assert [c.at for c in restored.history] == [10, 10, 10, 20]
    assert restored.to_dict()["history"] == columns
