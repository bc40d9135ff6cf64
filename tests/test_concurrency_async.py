"""The async forms of compare-and-set and update-with-retry, and the retry plan both
forms (and the order store) run."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.orders.concurrency import Backoff, Read, Sleep, Write, retry_plan


class AsyncMemoryStore:
    """One stored dict behind coroutines, like a database driver's."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = json.loads(json.dumps(data))
        self.writes = 0

    async def read(self) -> Mapping[str, Any]:
        await asyncio.sleep(0)
        return json.loads(json.dumps(self.data))

    async def write(self, expected: int, new: Mapping[str, Any]) -> bool:
        await asyncio.sleep(0)
        if self.data["version"] != expected:
            return False
        self.data = json.loads(json.dumps(new))
        self.writes += 1
        return True


def test_compare_and_set_async_refuses_to_overwrite_a_newer_version() -> None:
    store = AsyncMemoryStore(orderfsm.TaobaoOrder().to_dict())
    theirs = orderfsm.TaobaoOrder.from_dict(store.data)
    theirs.trigger("creation_complete")
    mine = orderfsm.TaobaoOrder.from_dict(store.data)
    mine.trigger("cancel")

    async def race() -> None:
        await orderfsm.compare_and_set_async("k", 0, theirs.to_dict(), store.write)
        await orderfsm.compare_and_set_async("k", 0, mine.to_dict(), store.write)

    with pytest.raises(orderfsm.ConcurrentModification) as e:
        asyncio.run(race())
    assert (e.value.key, e.value.expected) == ("k", 0)
    assert store.data["status"] == 0  # theirs survived


def test_twenty_tasks_update_one_order_none_is_lost_and_the_loop_never_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subs = [f"s{i}" for i in range(20)]
    store = AsyncMemoryStore(orderfsm.TaobaoOrder(status=11, sub_orders=subs).to_dict())

    def no_blocking_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) would block the event loop")

    monkeypatch.setattr(time, "sleep", no_blocking_sleep)

    async def refund(sub: str) -> str:
        return await orderfsm.update_with_retry_async(
            "k",
            store.read,
            store.write,
            lambda o: o.trigger("apply_refund", sub_order=sub).event,
            orderfsm.TaobaoOrder.from_dict,
            attempts=100,
        )

    async def ticker(stop: asyncio.Event) -> int:
        ticks = 0
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.0005)
        return ticks

    async def main() -> tuple[list[str], int]:
        stop = asyncio.Event()
        ticks = asyncio.create_task(ticker(stop))
        done = await asyncio.wait_for(asyncio.gather(*(refund(s) for s in subs)), 60)
        stop.set()
        return done, await ticks

    events, ticks = asyncio.run(main())
    assert events == ["apply_refund"] * 20
    final = orderfsm.TaobaoOrder.from_dict(store.data)
    assert all(final.refund_status(s).code == 10 for s in subs)
    assert final.version == 20 and store.writes == 20
    assert ticks > 0  # the loop kept running other tasks while the updates retried


def test_update_with_retry_async_gives_up_after_its_attempts() -> None:
    store = AsyncMemoryStore(orderfsm.TaobaoOrder().to_dict())

    async def never(expected: int, new: Mapping[str, Any]) -> bool:
        return False

    with pytest.raises(orderfsm.ConcurrentModification):
        asyncio.run(
            orderfsm.update_with_retry_async(
                "k",
                store.read,
                never,
                lambda o: o.trigger("creation_complete"),
                orderfsm.TaobaoOrder.from_dict,
                attempts=3,
                backoff=Backoff(base=0.0001, cap=0.001),
            )
        )


@given(
    conflicts=st.integers(min_value=0, max_value=12),
    attempts=st.integers(min_value=1, max_value=10),
    seed=st.integers(min_value=0, max_value=2**32),
    lock_after=st.none() | st.integers(min_value=0, max_value=6),
)
def test_the_retry_plan_reads_once_per_attempt_and_sleeps_only_between_them(
    conflicts: int, attempts: int, seed: int, lock_after: int | None
) -> None:
    """Whatever the number of lost races: one read per attempt, a growing bounded sleep
    before each retry, reads locked from attempt ``lock_after`` on, the change's result
    once a write lands, the error once the attempts are spent."""
    backoff = Backoff(base=0.01, cap=0.05)
    random.seed(seed)
    plan = retry_plan(
        "k",
        lambda order: order.trigger("creation_complete").event,
        orderfsm.TaobaoOrder.from_dict,
        attempts=attempts,
        backoff=backoff,
        lock_after=lock_after,
    )
    steps: list[type] = []
    locks: list[bool] = []
    reply: Any = None
    lost = 0
    try:
        while True:
            step = plan.send(reply)
            steps.append(type(step))
            if isinstance(step, Read):
                locks.append(step.lock)
                reply = orderfsm.TaobaoOrder().to_dict()
            elif isinstance(step, Write):
                assert step.expected == 0 and step.order.version == 1
                reply = lost >= conflicts
                lost += not reply
            else:
                assert isinstance(step, Sleep)
                assert 0 <= step.seconds <= backoff.cap
                reply = None
        result = None
    except StopIteration as done:
        result = done.value
    except orderfsm.ConcurrentModification:
        result = "gave up"
    tries = min(conflicts + 1, attempts)
    assert (steps == [Sleep, Read, Write] * tries and steps[0] is Sleep) or steps[:2] == [
        Read,
        Write,
    ]
    assert steps.count(Read) == tries and steps.count(Sleep) == tries - 1
    assert result == ("creation_complete" if conflicts < attempts else "gave up")


def test_backoff_grows_to_its_cap_and_refuses_nonsense() -> None:
    rng = random.Random(1)
    b = Backoff(base=0.001, cap=0.008)
    assert max(b.delay(1, rng) for _ in range(200)) <= 0.001
    assert max(b.delay(10, rng) for _ in range(200)) <= 0.008
    assert max(b.delay(10, rng) for _ in range(200)) > 0.004
    with pytest.raises(orderfsm.OrderFsmError):
        Backoff(base=1.0, cap=0.5)
