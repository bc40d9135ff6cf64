"""IcbuOrder serialises to a plain JSON-able dict with a version counter, and back."""

import json
from typing import Any

import pytest
from hypothesis import given

import orderfsm
from orderfsm.ingest import IcbuSnapshot
from orderfsm.orders.concurrency import update_with_retry
from orderfsm.testing import History, histories

ICBU = orderfsm.load("icbu_trade")


def replayed(history: History) -> orderfsm.IcbuOrder:
    order = orderfsm.IcbuOrder(pay_step=history.start.variables["pay_step"])
    for step in history.steps:
        order.trigger(step.event)
    return order


@given(histories(ICBU, max_steps=14))
def test_round_trip_through_json_keeps_everything(history: History) -> None:
    order = replayed(history)
    data = json.loads(json.dumps(order.to_dict()))
    again = orderfsm.IcbuOrder.from_dict(data)
    assert again.to_dict() == order.to_dict()
    assert (again.status, again.pay_step, again.frozen_from, again.version) == (
        order.status,
        order.pay_step,
        order.frozen_from,
        len(history.steps),
    )
    assert [c.step.target for c in again.history] == [s.target for s in history.steps]
    assert again.enabled_events() == order.enabled_events()


def test_rejected_event_does_not_bump_the_version() -> None:
    order = orderfsm.IcbuOrder(status="undeliver")
    with pytest.raises(orderfsm.TransitionRejected):
        order.trigger("confirm_receipt")
    assert order.version == 0


BAD: dict[str, tuple[Any, str]] = {
    "format": ({"format": "orderfsm.taobao_order/1"}, "$.format"),
    "version": ({"version": -1}, "$.version"),
    "status": ({"status": "teleported"}, "$.status"),
    "pay_step": ({"variables": {"pay_step": "HALF"}}, "$.variables"),
    "frozen_from": ({"status": "frozen", "frozen_from": "trade_success"}, "$.frozen_from"),
    "frozen_from outside history": (
        {"status": "wait_confirm_modify", "frozen_from": "unpay"},
        "$.frozen_from",
    ),
    "history": (
        {
            "history": {
                "sub_order": [None],
                "part": ["order"],
                "src": ["unpay"],
                "dst": ["undeliver"],
                "event": ["pay"],
                "via": ["trigger"],
            }
        },
        "$.history.event[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_dicts_name_the_field(case: str) -> None:
    edit, path = BAD[case]
    data = {**orderfsm.IcbuOrder(status="unpay").to_dict(), **edit}
    with pytest.raises(orderfsm.PayloadError) as info:
        orderfsm.IcbuOrder.from_dict(data)
    assert info.value.path == path


def test_compare_and_set_retry_works_for_icbu_orders() -> None:
    store = {"row": (0, orderfsm.IcbuOrder(status="unpay").to_dict())}
    sneaked = [False]

    def read() -> dict[str, Any]:
        return store["row"][1]

    def write(expected: int, new: Any) -> bool:
        if not sneaked[0]:  # another writer saves first, once
            sneaked[0] = True
            other = orderfsm.IcbuOrder.from_dict(store["row"][1])
            other.trigger("pay")
            store["row"] = (other.version, other.to_dict())
            return False
        if store["row"][0] != expected:
            return False
        store["row"] = (new["version"], dict(new))
        return True

    def change(order: orderfsm.IcbuOrder) -> str:
        order.trigger("payment_verified" if order.status.name == "paying" else "pay")
        return order.status.name

    assert update_with_retry("icbu-1", read, write, change, orderfsm.IcbuOrder.from_dict) == "paid"
    assert store["row"][0] == 2 and store["row"][1]["status"] == "paid"


def snap(status: str, pay_step: str) -> IcbuSnapshot:
    return IcbuSnapshot("t1", status, pay_step, None, (), "$", "icbu_order", None)


def test_only_an_advancing_snapshot_changes_pay_step_or_version() -> None:
    order = orderfsm.IcbuOrder(status="unpay", pay_step="BALANCE")
    assert order.apply(snap("undeliver", "BALANCE")).outcome == "advanced"
    assert (order.pay_step, order.version) == ("BALANCE", 1)
    for status, pay_step, outcome in [
        ("unpay", "ADVANCE", "stale"),
        ("undeliver", "FULL", "inconsistent"),  # no step sets pay_step back to FULL
        ("nonsense", "ADVANCE", "unknown_status"),
    ]:
        result = order.apply(snap(status, pay_step))
        assert result.outcome == outcome
        assert (order.status.name, order.pay_step, order.version) == ("undeliver", "BALANCE", 1)
        assert any("pay_step" in w for w in result.warnings)
    assert order.apply(snap("undeliver", "BALANCE")).warnings == ()
