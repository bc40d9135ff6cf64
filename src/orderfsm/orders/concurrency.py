"""Optimistic concurrency for stored orders: compare-and-set, and retry on conflict.

Read the dict and its version, apply, then save only if the stored version is still the
one read. :func:`compare_and_set` wraps the storage's atomic conditional write (for SQL:
``UPDATE ... WHERE version = ?``) and raises
:class:`~orderfsm.errors.ConcurrentModification` when another writer got there first;
:func:`update_with_retry` re-reads and re-applies until the save succeeds.

Each has an async form (:func:`compare_and_set_async`, :func:`update_with_retry_async`)
that awaits the storage's coroutines and sleeps with ``asyncio.sleep``, so it never
blocks the event loop. Both forms run one retry plan (:func:`retry_plan`), a generator
that says what to do next (read, write, sleep) and is told what happened: the sync and
async drivers only do the input and output, so they cannot drift apart. The order
store (:mod:`orderfsm.store`) runs the same plan.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from orderfsm.errors import ConcurrentModification, OrderFsmError
from orderfsm.orders.listeners import deliver_notices, held_notices

_T = TypeVar("_T")
_S = TypeVar("_S")


class Versioned(Protocol):
    """An order that serialises with a version counter (``TaobaoOrder``, ...)."""

    @property
    def version(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


_O = TypeVar("_O", bound=Versioned)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Jittered exponential backoff between attempts ("full jitter").

    Before retry ``n`` (1-based) the writer sleeps a uniformly random time in
    ``[0, min(cap, base * 2 ** (n - 1))]`` seconds: contending writers spread out instead
    of colliding again in lockstep, and no wait exceeds ``cap``.
    """

    base: float = 0.002
    cap: float = 0.1

    def __post_init__(self) -> None:
        if not (0 <= self.base <= self.cap):
            raise OrderFsmError(f"backoff needs 0 <= base <= cap, not {self.base}, {self.cap}")

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """The time to sleep before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** min(retry - 1, 30))
        return (rng or random).uniform(0, ceiling)


DEFAULT_BACKOFF = Backoff()
"""The backoff the async forms and the order store use unless told otherwise."""


@dataclass(frozen=True, slots=True)
class Read:
    """Plan step: read the stored order (the reply is what ``read`` returned).

    ``lock``: this attempt has lost enough races that it should read with the row
    locked until its write (a storage that can, such as the order store, does so; the
    write then cannot lose).
    """

    lock: bool = False


@dataclass(frozen=True, slots=True)
class Write(Generic[_O]):
    """Plan step: save ``order`` if the stored version is still ``expected``.

    The reply is whether the conditional write replaced (or created) the row.
    """

    expected: int
    order: _O


@dataclass(frozen=True, slots=True)
class Sleep:
    """Plan step: wait ``seconds`` before the next attempt (the reply is ignored)."""

    seconds: float


PlanStep = Read | Write[Any] | Sleep
RetryPlan = Generator[PlanStep, Any, _T]


def retry_plan(
    key: str,
    change: Callable[[_O], _T],
    restore: Callable[[_S], _O],
    *,
    attempts: int,
    backoff: Backoff | None,
    lock_after: int | None = None,
) -> RetryPlan[_T]:
    """Read, restore, change, conditionally write; on a conflict, back off and start over.

    Yields :class:`Read` (send back what was read, handed to ``restore``),
    :class:`Write` (send back whether it saved) and :class:`Sleep`; from attempt number
    ``lock_after`` (0-based) on, reads ask for the row lock. Returns ``change``'s
    result from the attempt that saved, or that changed nothing (the version did not
    move: nothing is written). After ``attempts`` conflicts raises
    :class:`ConcurrentModification`. The listeners (:mod:`orderfsm.orders.listeners`) see
    the changes of the attempt that saved, after its write succeeded; a lost attempt's
    changes never reach them.
    """
    if attempts < 1:
        raise OrderFsmError(f"attempts must be at least 1, not {attempts}")
    for attempt in range(attempts):
        if attempt and backoff is not None:
            yield Sleep(backoff.delay(attempt))
        lock = lock_after is not None and attempt >= lock_after
        order = restore((yield Read(lock)))
        expected = order.version
        with held_notices() as notices:  # this attempt's changes: delivered once saved
            outcome = change(order)
        if order.version == expected or (yield Write(expected, order)):
            deliver_notices(notices)
            return outcome
    raise ConcurrentModification(key, expected, None)


def run_plan(
    plan: RetryPlan[_T],
    read: Callable[[Read], Any],
    write: Callable[[int, Any], bool],
) -> _T:
    """Drive a retry plan synchronously: ``read(step)`` reads the stored order,
    ``write(expected, order)`` saves it."""
    reply: Any = None
    try:
        while True:
            step = plan.send(reply)
            if isinstance(step, Read):
                reply = read(step)
            elif isinstance(step, Write):
                reply = write(step.expected, step.order)
            else:
                time.sleep(step.seconds)
                reply = None
    except StopIteration as done:
        result: _T = done.value
        return result


async def run_plan_async(
    plan: RetryPlan[_T],
    read: Callable[[Read], Awaitable[Any]],
    write: Callable[[int, Any], Awaitable[bool]],
) -> _T:
    """Drive a retry plan on the event loop: reads, writes and sleeps are awaited."""
    reply: Any = None
    try:
        while True:
            step = plan.send(reply)
            if isinstance(step, Read):
                reply = await read(step)
            elif isinstance(step, Write):
                reply = await write(step.expected, step.order)
            else:
                await asyncio.sleep(step.seconds)
                reply = None
    except StopIteration as done:
        result: _T = done.value
        return result


def compare_and_set(
    key: str,
    expected: int,
    new: Mapping[str, Any],
    write: Callable[[int, Mapping[str, Any]], bool],
) -> None:
    """Save ``new`` only if the stored version is still ``expected``.

    ``write(expected, new)`` must perform the storage's atomic conditional write and
    return whether it replaced a row; when it did not, :class:`ConcurrentModification`
    is raised and nothing was saved.
    """
    if not write(expected, new):
        raise ConcurrentModification(key, expected, None)


async def compare_and_set_async(
    key: str,
    expected: int,
    new: Mapping[str, Any],
    write: Callable[[int, Mapping[str, Any]], Awaitable[bool]],
) -> None:
    """:func:`compare_and_set` with an awaitable conditional write."""
    if not await write(expected, new):
        raise ConcurrentModification(key, expected, None)


def update_with_retry(
    key: str,
    read: Callable[[], Mapping[str, Any]],
    write: Callable[[int, Mapping[str, Any]], bool],
    change: Callable[[_O], _T],
    restore: Callable[[Mapping[str, Any]], _O],
    *,
    attempts: int = 20,
    backoff: Backoff | None = None,
) -> _T:
    """Read the order (``restore(read())``, e.g. ``restore=TaobaoOrder.from_dict``),
    ``change`` it, save with :func:`compare_and_set`; on a conflict, start again from a
    fresh read (after a jittered sleep when ``backoff`` is given, e.g. ``Backoff()``).
    Returns ``change``'s result from the attempt that saved.

    Nothing is written when ``change`` leaves the version unchanged (a duplicate or stale
    snapshot). After ``attempts`` conflicts :class:`ConcurrentModification` propagates.
    """
    plan = retry_plan(key, change, restore, attempts=attempts, backoff=backoff)
    return run_plan(
        plan, lambda _step: read(), lambda expected, order: write(expected, order.to_dict())
    )


async def update_with_retry_async(
    key: str,
    read: Callable[[], Awaitable[Mapping[str, Any]]],
    write: Callable[[int, Mapping[str, Any]], Awaitable[bool]],
    change: Callable[[_O], _T],
    restore: Callable[[Mapping[str, Any]], _O],
    *,
    attempts: int = 20,
    backoff: Backoff | None = DEFAULT_BACKOFF,
) -> _T:
    """:func:`update_with_retry` with awaitable ``read`` and ``write``: between attempts it
    awaits ``asyncio.sleep`` (jittered backoff by default), never blocking the loop.

    ``change`` and ``restore`` are plain functions: applying to an order is CPU work that
    does not wait on anything.
    """
    plan = retry_plan(key, change, restore, attempts=attempts, backoff=backoff)
    return await run_plan_async(
        plan, lambda _step: read(), lambda expected, order: write(expected, order.to_dict())
    )
