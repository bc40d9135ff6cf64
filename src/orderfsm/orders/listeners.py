"""Listeners: callables that observe every committed change of an order.

A change is one step recorded in an order's history: a ``trigger``, or a step an
``apply`` recorded (``snapshot``, ``reconstructed``, ``forced``, ``quarantine``,
``release``). After the order has recorded it and released its lock, each listener is
called once per change as ``listener(notice)`` with a :class:`Notice` (the order, the
change, the outcome of the call that made it). Listeners are registered globally or
for one order class (:func:`listen`); a coroutine function is a listener too (its
coroutine is scheduled on the running event loop, or run to completion where there is
none).

A listener runs after the change is complete, so a listener that raises cannot undo,
corrupt or half-apply it: the error is logged on the ``orderfsm.listeners`` logger
(with its traceback) and the other listeners still run; the call that made the change
returns normally.

**Relative to a store.** Inside :func:`held_notices` notices are held back instead of delivered
and handed to the caller, who delivers them (:func:`deliver_notices`) once the store has
committed the order, or drops them when it has not. :func:`orderfsm.update_with_retry`
does exactly this for every attempt: listeners see only the changes of the attempt that
was saved, after its write succeeded. For at-least-once delivery across crashes, write
the held notices into an outbox table in the same transaction as the order and deliver
from the outbox (``docs/webhooks.md``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

_log = logging.getLogger("orderfsm.listeners")

Listener = Callable[["Notice"], object]
"""A listener: called with one :class:`Notice`; a coroutine function is awaited."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One committed change: ``order`` (the order object, as it is after the call that
    made the change), ``change`` (the history item recorded: a
    :class:`~orderfsm.Change`, or for a KA trade a :class:`~orderfsm.KaChange`, the pair
    ``((order, sub_order), step)`` with its time) and
    ``outcome`` (what that call returned: a ``Step``, a KA trade's tuple of steps, or
    the ``ApplyResult``)."""

    order: Any
    change: Any
    outcome: Any

    @property
    def via(self) -> str:
        """How the change came about: ``trigger``, ``snapshot``, ``reconstructed``,
        ``forced``, ``quarantine`` or ``release``."""
        return str(getattr(self.change, "via", "trigger"))


_registry_lock = threading.Lock()
_by_class: dict[type, tuple[Listener, ...]] = {}  # global listeners are under ``object``
_held: ContextVar[list[Notice] | None] = ContextVar("orderfsm_held_notices", default=None)
_tasks: set[asyncio.Task[Any]] = set()  # running async listeners, kept until done


def listen(listener: Listener, order_class: type | None = None) -> Callable[[], None]:
    """Call ``listener`` with a :class:`Notice` for every committed change of any order
    (or only of ``order_class`` and its subclasses); returns a callable that stops it."""
    key = object if order_class is None else order_class
    with _registry_lock:
        _by_class[key] = (*_by_class.get(key, ()), listener)

    def stop() -> None:
        with _registry_lock:
            listeners = list(_by_class.get(key, ()))
            if listener in listeners:
                listeners.remove(listener)
            if listeners:
                _by_class[key] = tuple(listeners)
            else:
                _by_class.pop(key, None)

    return stop


def listening() -> bool:
    """Whether a change made now would be reported to anyone: a listener is registered,
    or notices are held back (:func:`held_notices`). Where not, an order builds no
    notice, nor the history item a notice carries."""
    return _held.get() is not None or bool(_by_class)


def notify(order: object, changes: Iterable[object], outcome: object) -> None:
    """Report ``changes`` of ``order`` (called by the order classes after committing,
    never under the order's lock): held back inside :func:`held_notices`, else delivered."""
    held = _held.get()
    if held is None and not _by_class:
        return
    notices = [Notice(order, change, outcome) for change in changes]
    if held is not None:
        held.extend(notices)
    else:
        deliver_notices(notices)


@contextmanager
def held_notices() -> Iterator[list[Notice]]:
    """Hold back the notices of every change made in this block (in this thread or task):
    the list yielded collects them, undelivered; :func:`deliver_notices` them after the store
    commits, or drop them."""
    token = _held.set([])
    try:
        notices = _held.get()
        assert notices is not None
        yield notices
    finally:
        _held.reset(token)


def deliver_notices(notices: Iterable[Notice]) -> None:
    """Call every listener registered for each notice's order: those of its own class
    first, then of its base classes, the global ones last, each in registration order.
    A listener that raises is logged and the others still run."""
    for notice in notices:
        for listener in _listeners_of(type(notice.order)):
            try:
                returned = listener(notice)
                if inspect.isawaitable(returned):
                    _run(returned)
            except Exception:
                _log.exception("listener %r failed on %r", listener, notice.change)


def _listeners_of(order_class: type) -> tuple[Listener, ...]:
    by_class = _by_class
    return tuple(listener for cls in order_class.__mro__ for listener in by_class.get(cls, ()))


def _run(awaitable: Any) -> None:
    """Schedule an async listener's awaitable on the running loop, or run it now."""
    coroutine: Coroutine[Any, Any, Any] = (
        awaitable if inspect.iscoroutine(awaitable) else _awaited(awaitable)
    )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    task = loop.create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_finished)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.error("async listener failed", exc_info=task.exception())
