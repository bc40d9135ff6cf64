"""Stored orders: JSON-able dicts with a version counter, compare-and-set, retry."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.orders.concurrency import compare_and_set, update_with_retry
from support import TAOBAO_SNAPSHOTS

MAIN = orderfsm.load("taobao_order")
REFUND = orderfsm.load("taobao_refund")
SNAPSHOTS = TAOBAO_SNAPSHOTS


def busy_order() -> orderfsm.TaobaoOrder:
    order = orderfsm.TaobaoOrder(sub_orders={"s": 0})
    for event in ("creation_complete", "upload_payment_proof", "finance_approve"):
        order.trigger(event)
    order.apply(SNAPSHOTS[0])  # 000: payment_complete, sub-orders 1001/1002
    order.trigger("agree_refund", sub_order="1002")  # 1002 has shipped (its own status 11)
    order.apply(SNAPSHOTS[-1])  # 003: unknown status -> quarantine (10 is not final)
    return order


def test_round_trip_through_json_keeps_everything() -> None:
    order = busy_order()
    data = order.to_dict()
    text = json.dumps(data, sort_keys=False)
    again = orderfsm.TaobaoOrder.from_dict(json.loads(text))
    assert again.to_dict() == data
    assert again.version == order.version == 6
    assert again.status == order.status
    assert again.sub_orders == order.sub_orders
    assert again.sub_order_statuses == order.sub_order_statuses
    assert [(c.sub_order, c.step.source, c.step.target, c.via) for c in again.history] == [
        (c.sub_order, c.step.source, c.step.target, c.via) for c in order.history
    ]
    assert json.dumps(again.to_dict()) == text  # deterministic


def test_version_counts_changes_not_no_ops() -> None:
    order = orderfsm.TaobaoOrder()
    assert order.version == 0
    order.trigger("creation_complete")
    assert order.version == 1
    result = order.apply(SNAPSHOTS[0])
    assert result.version == order.version == 2
    assert order.apply(SNAPSHOTS[0]).version == 2  # duplicate
    with pytest.raises(orderfsm.TransitionRejected):
        order.trigger("cancel")
    assert order.version == 2


@given(
    steps=st.lists(
        st.one_of(
            st.sampled_from(MAIN.event_names).map(lambda e: ("main", e)),
            st.sampled_from(REFUND.event_names).map(lambda e: ("refund", e)),
            st.integers(0, len(SNAPSHOTS) - 1).map(lambda i: ("apply", i)),
        ),
        max_size=12,
    )
)
def test_any_history_round_trips(steps: list[tuple[str, Any]]) -> None:
    order = orderfsm.TaobaoOrder(sub_orders={"s": 0})
    for kind, value in steps:
        if kind == "apply":
            order.apply(SNAPSHOTS[value], force=True)
            continue
        with contextlib.suppress(orderfsm.TransitionRejected):
            order.trigger(value, sub_order="s" if kind == "refund" else None)
    data = order.to_dict()
    assert orderfsm.TaobaoOrder.from_dict(json.loads(json.dumps(data))).to_dict() == data


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda d: d.update(format="other/1"), "$.format"),
        (lambda d: d.update(version="3"), "$.version"),
        (lambda d: d.update(version=-1), "$.version"),
        (lambda d: d.update(status=7), "$.status"),
        (lambda d: d.pop("history"), "$.history"),
        (lambda d: d["sub_orders"][0].update(refund_status=55), "$.sub_orders[0].refund_status"),
        (lambda d: d["sub_orders"][0].update(id=1.5), "$.sub_orders[0].id"),
        (lambda d: d["sub_orders"].append(dict(d["sub_orders"][0])), "$.sub_orders[4].id"),
        (lambda d: d["history"]["event"].__setitem__(0, "ship"), "$.history.event[0]"),
        (lambda d: d["history"]["via"].__setitem__(0, "magic"), "$.history.via[0]"),
        (lambda d: d["history"]["part"].__setitem__(0, "other"), "$.history.part[0]"),
        (lambda d: d["history"]["sub_order"].__setitem__(0, "s"), "$.history.sub_order[0]"),
        (lambda d: d["history"]["src"].pop(), "$.history.src"),
        (lambda d: d["history"].pop("dst"), "$.history.dst"),
        (lambda d: d.update(history=[]), "$.history"),
    ],
)
def test_invalid_dicts_name_the_field(edit: Any, path: str) -> None:
    data = copy.deepcopy(busy_order().to_dict())
    edit(data)
    with pytest.raises(orderfsm.PayloadError) as e:
        orderfsm.TaobaoOrder.from_dict(data)
    assert e.value.path == path


def test_unserialisable_sub_order_ids_are_refused() -> None:
    # ids are str or int from the start, so every order's to_dict() can write them
    with pytest.raises(orderfsm.InvalidOrderState, match="is not a str or an int"):
        orderfsm.TaobaoOrder(sub_orders={("tuple", "id"): 0})  # type: ignore[dict-item]


# ----------------------------------------------------------------------------- CAS


class MemoryStore:
    """A dict-backed store whose write is a compare-and-set on the version."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = json.loads(json.dumps(data))
        self.writes = 0

    def read(self) -> Mapping[str, Any]:
        return json.loads(json.dumps(self.data))  # type: ignore[no-any-return]

    def write(self, expected: int, new: Mapping[str, Any]) -> bool:
        if self.data["version"] != expected:
            return False
        self.data = json.loads(json.dumps(new))
        self.writes += 1
        return True


def test_compare_and_set_refuses_to_overwrite_a_newer_version() -> None:
    store = MemoryStore(orderfsm.TaobaoOrder().to_dict())
    mine = orderfsm.TaobaoOrder.from_dict(store.read())
    theirs = orderfsm.TaobaoOrder.from_dict(store.read())
    theirs.trigger("creation_complete")
    compare_and_set("k", 0, theirs.to_dict(), store.write)
    mine.trigger("cancel")
    with pytest.raises(orderfsm.ConcurrentModification) as e:
        compare_and_set("k", 0, mine.to_dict(), store.write)
    assert (e.value.key, e.value.expected) == ("k", 0)
    assert store.data["status"] == 0  # theirs survived


def test_update_with_retry_reapplies_on_top_of_the_winner() -> None:
    store = MemoryStore(orderfsm.TaobaoOrder(status=0).to_dict())
    interfered = False

    def read_then_someone_else_saves() -> Mapping[str, Any]:
        nonlocal interfered
        data = store.read()
        if not interfered:  # another writer saves right after our first read
            interfered = True
            other = orderfsm.TaobaoOrder.from_dict(store.read())
            other.trigger("upload_payment_proof")
            store.write(0, other.to_dict())
        return data

    def change(order: orderfsm.TaobaoOrder) -> str:
        return order.trigger("finance_approve" if order.status.code == 1 else "cancel").event

    event = update_with_retry(
        "k", read_then_someone_else_saves, store.write, change, orderfsm.TaobaoOrder.from_dict
    )
    assert event == "finance_approve"
    final = orderfsm.TaobaoOrder.from_dict(store.read())
    assert [c.step.event for c in final.history] == ["upload_payment_proof", "finance_approve"]
    assert final.version == 2


def test_update_with_retry_skips_the_write_for_a_no_op_and_gives_up_eventually() -> None:
    store = MemoryStore(orderfsm.TaobaoOrder().to_dict())
    outcome = update_with_retry(
        "k",
        store.read,
        store.write,
        lambda o: o.apply(SNAPSHOTS[0]).outcome == "duplicate" or "changed",
        orderfsm.TaobaoOrder.from_dict,
    )
    assert outcome == "changed" and store.writes == 1
    outcome = update_with_retry(
        "k",
        store.read,
        store.write,
        lambda o: o.apply(SNAPSHOTS[0]).outcome,
        orderfsm.TaobaoOrder.from_dict,
    )
    assert outcome == "duplicate" and store.writes == 1
    with pytest.raises(orderfsm.ConcurrentModification):
        update_with_retry(
            "k",
            store.read,
            lambda expected, new: False,
            lambda o: o.trigger("ship"),
            orderfsm.TaobaoOrder.from_dict,
            attempts=3,
        )
