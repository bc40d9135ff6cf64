"""Listeners observe every committed change, per class or globally, sync and async; a
raising listener never corrupts an order; with a store, only saved changes are seen."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import orderfsm
from test_ingest_apply import callback

Seen = list[orderfsm.Notice]


@pytest.fixture
def seen() -> Iterator[Seen]:
    notices: Seen = []
    stop = orderfsm.listen(notices.append)
    yield notices
    stop()


def test_every_kind_of_change_is_observed_once_with_order_change_and_outcome(
    seen: Seen,
) -> None:
    order = orderfsm.TaobaoOrder(status=0, sub_orders=["s1"])
    step = order.trigger("upload_payment_proof")
    assert [(n.order, n.change, n.outcome, n.via) for n in seen] == [
        (order, order.history[0], step, "trigger")
    ]
    applied = [
        order.apply(callback("NEW", 1)),  # quarantine
        order.apply(callback("WAIT_SELLER_SEND_GOODS", 2)),  # release
        order.apply(callback("WAIT_SELLER_SEND_GOODS", 2)),  # duplicate: nothing
        order.apply(callback("ORDER_BULIDING", 3), force=True),  # forced
        order.apply(callback("TAOBAO_ORDER_WAIT_BUYER_PAY", 4)),  # snapshot
        order.apply(callback("WAIT_BUYER_CONFIRM_GOODS", 5)),  # reconstructed
    ]
    assert [n.change for n in seen] == list(order.history)
    assert {n.via for n in seen} == {
        "trigger",
        "reconstructed",
        "quarantine",
        "release",
        "forced",
        "snapshot",
    }
    by_result = [n.outcome for n in seen[1:]]
    assert all(any(r is result for result in applied) for r in by_result)
    assert all(n.order is order for n in seen)


def test_per_class_listeners_see_only_their_class() -> None:
    taobao: Seen = []
    ka: Seen = []
    stops = [orderfsm.listen(taobao.append, orderfsm.TaobaoOrder)]
    stops.append(orderfsm.listen(ka.append, orderfsm.KaTrade))
    try:
        orderfsm.TaobaoOrder(status=10).trigger("ship")
        orderfsm.IcbuOrder().trigger("draft_order")
        trade = orderfsm.KaTrade({"o1": ["a", "b"]})
        steps = trade.trigger("auto_deduct")
    finally:
        for stop in stops:
            stop()
    assert [n.change.step.event for n in taobao] == ["ship"]
    assert [n.change for n in ka] == list(trade.history) and len(ka) == 2
    assert all(n.outcome == steps for n in ka)
    orderfsm.TaobaoOrder(status=10).trigger("ship")  # stopped: no longer called
    assert len(taobao) == 1


def test_a_raising_listener_changes_nothing_and_the_others_still_run(
    seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(notice: orderfsm.Notice) -> None:
        raise RuntimeError("listener down")

    after: Seen = []
    stops = [orderfsm.listen(boom), orderfsm.listen(after.append)]
    order = orderfsm.TaobaoOrder(status=0, sub_orders=["s1"])
    try:
        with caplog.at_level(logging.ERROR, logger="orderfsm.listeners"):
            step = order.trigger("upload_payment_proof")
            result = order.apply(callback("WAIT_SELLER_SEND_GOODS", 9))
    finally:
        for stop in stops:
            stop()
    assert step.target == 1 and result.outcome == "advanced"
    assert order.status == 10 and len(seen) == len(after) == len(order.history) == 3
    assert order.version == 2
    again = orderfsm.TaobaoOrder.from_dict(order.to_dict())
    assert again.to_dict() == order.to_dict()  # consistent, producible
    assert [r.levelname for r in caplog.records] == ["ERROR"] * 3
    assert "listener down" in caplog.text


def test_an_async_listener_runs_on_the_running_loop_or_to_completion() -> None:
    got: list[str] = []

    async def remember(notice: orderfsm.Notice) -> None:
        await asyncio.sleep(0)
        got.append(notice.change.step.event)

    stop = orderfsm.listen(remember)
    try:
        orderfsm.TaobaoOrder(status=10).trigger("ship")  # no loop: run to completion
        assert got == ["ship"]

        async def service() -> None:
            orderfsm.IcbuOrder().trigger("draft_order")
            assert got == ["ship"]  # scheduled, not yet run
            await asyncio.sleep(0.01)

        asyncio.run(service())
    finally:
        stop()
    assert got == ["ship", "draft_order"]


def test_a_raising_async_listener_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom(notice: orderfsm.Notice) -> None:
        raise RuntimeError("async listener down")

    async def service() -> orderfsm.TaobaoOrder:
        order = orderfsm.TaobaoOrder(status=10)
        order.trigger("ship")
        await asyncio.sleep(0.01)
        return order

    stop = orderfsm.listen(boom)
    try:
        with caplog.at_level(logging.ERROR, logger="orderfsm.listeners"):
            order = asyncio.run(service())
    finally:
        stop()
    assert order.status == 11 and "async listener down" in caplog.text


def store() -> tuple[dict[str, Any], Callable[[], Any], Callable[[int, Any], bool]]:
    row: dict[str, Any] = {"version": 0, "body": json.dumps(orderfsm.TaobaoOrder().to_dict())}

    def read() -> Any:
        return json.loads(row["body"])

    def write(expected: int, new: Any) -> bool:
        if row["version"] != expected:
            return False
        row.update(version=new["version"], body=json.dumps(new))
        return True

    return row, read, write


def test_update_with_retry_delivers_only_the_saved_attempts_changes_after_the_write(
    seen: Seen,
) -> None:
    row, read, write = store()
    raced = []

    def other_writer() -> None:
        other = orderfsm.TaobaoOrder.from_dict(read())
        other.trigger("creation_complete")
        write(other.version - 1, other.to_dict())

    def racing_write(expected: int, new: Any) -> bool:
        if not raced:  # another writer (another thread) saves first, once
            raced.append(True)
            other = threading.Thread(target=other_writer)
            other.start()
            other.join()
            assert [n.change.step.event for n in seen] == ["creation_complete"]
            seen.clear()
        assert seen == []  # nothing delivered before this attempt's write
        return write(expected, new)

    step = orderfsm.update_with_retry(
        "k",
        read=read,
        write=racing_write,
        change=lambda order: order.trigger("cancel"),
        restore=orderfsm.TaobaoOrder.from_dict,
    )
    # the first attempt cancelled in 12 and lost; the saved one cancelled in 0
    assert [(n.change.step.source.code, n.outcome) for n in seen] == [(0, step)]
    assert row["version"] == 2


def test_held_notices_are_delivered_only_when_asked(seen: Seen) -> None:
    order = orderfsm.TaobaoOrder(status=10)
    with orderfsm.held_notices() as notices:
        order.trigger("ship")
    assert seen == [] and [n.via for n in notices] == ["trigger"]
    orderfsm.deliver_notices(notices)
    assert seen == notices


def test_a_listener_reads_and_changes_the_order_it_observes_outside_its_lock() -> None:
    shown: list[dict[str, Any]] = []

    def follow(notice: orderfsm.Notice) -> None:
        shown.append(notice.order.to_dict())  # the order's lock is free: no deadlock
        if notice.change.step.event == "creation_complete":
            notice.order.trigger("cancel")  # a listener may act on the order in turn

    stop = orderfsm.listen(follow, orderfsm.TaobaoOrder)
    try:
        order = orderfsm.TaobaoOrder()
        order.trigger("creation_complete")
    finally:
        stop()
    assert [d["status"] for d in shown] == [0, 4] and order.status == 4
    assert [c.step.event for c in order.history] == ["creation_complete", "cancel"]
