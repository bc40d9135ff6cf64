"""Time in the history (issue 19.1): every change records when it happened, the
snapshot's ``modify_time`` where it carries one, else the time the caller passed; the
stored dict carries an ``at`` column only where some time is known, and ``from_dict``
checks the times (integers, never going back) through the one definition."""

from __future__ import annotations

import contextlib
import copy
import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.ingest import TaobaoSnapshot, parse
from support import format_1

ICBU = orderfsm.load("icbu_trade")
MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")


def callback(status: str, modify_time: int | None) -> TaobaoSnapshot:
    message: dict[str, Any] = {"purchase_id": 200058578338, "status": status}
    if modify_time is not None:
        message["modify_time"] = modify_time
    (snap,) = parse(json.dumps({"messageBody": [message]}), "status_callback")
    assert isinstance(snap, TaobaoSnapshot)
    return snap


def test_a_trigger_records_the_time_the_caller_passes_and_none_by_default() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order", at=100)
    order.trigger("approve")
    assert [c.at for c in order.history] == [100, None]
    assert order.to_dict()["history"]["at"] == [100, None]


def test_a_history_without_times_is_written_without_a_time_column() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order")
    assert "at" not in order.to_dict()["history"]


def test_a_snapshot_records_its_modify_time_before_the_callers_time() -> None:
    order = orderfsm.TaobaoOrder()
    order.apply(callback("WAIT_SELLER_SEND_GOODS", 2000), at=1)
    assert {c.at for c in order.history} == {2000}
    order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", None), at=2500)
    assert order.history[-1].at == 2500


def test_a_caller_time_that_goes_back_is_refused_and_changes_nothing() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order", at=100)
    before = order.to_dict()
    for bad in (99, "100", 1.5, True):
        with pytest.raises(orderfsm.OrderFsmError, match="at:"):
            order.trigger("approve", at=bad)
    assert order.to_dict() == before


def test_a_snapshot_time_before_one_recorded_is_not_recorded() -> None:
    order = orderfsm.TaobaoOrder()
    order.trigger("creation_complete", at=5000)
    order.apply(callback("WAIT_SELLER_SEND_GOODS", 3000))
    assert len(order.history) > 1 and {c.at for c in order.history[1:]} == {None}
    assert orderfsm.TaobaoOrder.from_dict(order.to_dict()).to_dict() == order.to_dict()


def test_stored_times_that_go_back_are_refused_naming_the_cell() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order", at=100)
    order.trigger("approve", at=200)
    data = order.to_dict()
    data["history"]["at"] = [200, 100]
    with pytest.raises(orderfsm.PayloadError) as e:
        orderfsm.IcbuOrder.from_dict(data)
    assert e.value.path == "$.history.at[1]" and "earlier" in e.value.problem
    with pytest.raises(orderfsm.PayloadError) as e:
        orderfsm.IcbuOrder.from_dict(format_1(data))
    assert e.value.path == "$.history[1].at"


def test_a_stored_time_that_is_not_an_integer_is_refused() -> None:
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order", at=100)
    data = order.to_dict()
    for bad in ("100", 1.5, True, [1]):
        data["history"]["at"] = [bad]
        with pytest.raises(orderfsm.PayloadError) as e:
            orderfsm.IcbuOrder.from_dict(data)
        assert e.value.path == "$.history.at[0]"


def taobao_walk(steps: list[tuple[str, Any, int | None]]) -> orderfsm.TaobaoOrder:
    order = orderfsm.TaobaoOrder(None, {"s1": None})
    for event, sub, at in steps:
        with contextlib.suppress(orderfsm.TransitionRejected, orderfsm.OrderFsmError):
            order.trigger(event, sub_order=sub, at=at)
    return order


def icbu_walk(steps: list[tuple[str, int | None]]) -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(pay_step="ADVANCE")
    for event, at in steps:
        with contextlib.suppress(orderfsm.OrderFsmError):
            order.trigger(event, at=at)
    return order


times = st.none() | st.integers(0, 50)
walks = st.builds(
    taobao_walk,
    st.lists(
        st.tuples(st.sampled_from(MAIN.event_names), st.none(), times)
        | st.tuples(st.sampled_from(REFUND.event_names), st.just("s1"), times),
        max_size=10,
    ),
) | st.builds(icbu_walk, st.lists(st.tuples(st.sampled_from(ICBU.event_names), times), max_size=12))


@given(order=walks)
def test_times_survive_the_stored_format_and_pickling(order: Any) -> None:
    """Every history with times round-trips through to_dict/from_dict (both formats)
    and pickling, times included, and the times recorded never go back."""
    data = order.to_dict()
    for stored in (data, format_1(data)):
        restored = type(order).from_dict(copy.deepcopy(stored))
        assert restored.history == order.history and restored.to_dict() == data
    assert pickle.loads(pickle.dumps(order)).history == order.history
    known = [c.at for c in order.history if c.at is not None]
    assert known == sorted(known)


@given(order=walks, data=st.data())
def test_a_stored_time_moved_before_an_earlier_one_is_refused(order: Any, data: Any) -> None:
    known = [i for i, c in enumerate(order.history) if c.at is not None]
    stored = order.to_dict()
    if len(known) < 2 or order.history[known[0]].at == order.history[known[-1]].at:
        return
    later = data.draw(st.sampled_from([i for i in known[1:]]))
    earliest = min(order.history[i].at for i in known)
    if all(order.history[i].at == earliest for i in known if i < later):
        return  # nothing before it to go back past
    stored["history"]["at"][later] = earliest - 1
    with pytest.raises(orderfsm.PayloadError) as e:
        type(order).from_dict(stored)
    assert e.value.path.startswith("$.history.at[")


def test_a_time_column_that_knows_no_time_is_refused() -> None:
    """``to_dict`` writes times only where one is known, so a dict with an all-null (or
    empty) time column is not one the library could have written."""
    order = orderfsm.IcbuOrder()
    order.trigger("draft_order", at=100)
    data = order.to_dict()
    data["history"]["at"] = [None]
    for stored, path in ((data, "$.history.at"), (format_1(data), "$.history")):
        with pytest.raises(orderfsm.PayloadError) as e:
            orderfsm.IcbuOrder.from_dict(stored)
        assert e.value.path == path and "knows none" in e.value.problem
    empty = orderfsm.IcbuOrder().to_dict()
    empty["history"]["at"] = []
    with pytest.raises(orderfsm.PayloadError, match="knows none"):
        orderfsm.IcbuOrder.from_dict(empty)
