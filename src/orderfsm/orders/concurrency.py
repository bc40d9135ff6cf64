"""Optimistic concurrency for stored orders: compare-and-set, and retry on conflict.

Read the dict and its version, apply, then save only if the stored version is still the
one read. :func:`compare_and_set` wraps the storage's atomic conditional write (for SQL:
``UPDATE ... WHERE version = ?``) and raises
:class:`~orderfsm.errors.ConcurrentModification` when another writer got there first;
:func:`update_with_retry` re-reads and re-applies until the save succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from orderfsm.errors import ConcurrentModification, OrderFsmError
from orderfsm.orders.listeners import deliver_notices, held_notices

_T = TypeVar("_T")


class Versioned(Protocol):
    """An order that serialises with a version counter (``TaobaoOrder``, ...)."""

    @property
    def version(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


_O = TypeVar("_O", bound=Versioned)


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


def update_with_retry(
    key: str,
    read: Callable[[], Mapping[str, Any]],
    write: Callable[[int, Mapping[str, Any]], bool],
    change: Callable[[_O], _T],
    restore: Callable[[Mapping[str, Any]], _O],
    *,
    attempts: int = 20,
) -> _T:
    """Read the order (``restore(read())``, e.g. ``restore=TaobaoOrder.from_dict``),
    ``change`` it, save with :func:`compare_and_set`; on a conflict, start again from a
    fresh read. Returns ``change``'s result from the attempt that saved.

    Nothing is written when ``change`` leaves the version unchanged (a duplicate or stale
    snapshot). After ``attempts`` conflicts the last :class:`ConcurrentModification`
    propagates. The listeners (:mod:`orderfsm.orders.listeners`) see the changes of the
    attempt that saved, after its write succeeded; a lost attempt's changes never reach
    them.
    """
    if attempts < 1:
        raise OrderFsmError(f"attempts must be at least 1, not {attempts}")
    for attempt in range(attempts):
        with held_notices() as notices:  # this attempt's changes: delivered only once saved
            stored = read()
            order = restore(stored)
            expected = order.version
            outcome = change(order)
            if order.version == expected:
                return outcome
            try:
                compare_and_set(key, expected, order.to_dict(), write)
            except ConcurrentModification:
                if attempt == attempts - 1:
                    raise
                continue
        deliver_notices(notices)
        return outcome
    raise AssertionError("unreachable: the last attempt returns or raises")
