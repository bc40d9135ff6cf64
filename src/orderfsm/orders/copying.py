"""Orders as values: copy, deep-copy and pickle without sharing anything mutable.

An order holds immutable values (statuses, steps, history entries, ids, compiled
machines) in plain dicts and lists, plus the lock that serialises its changes. A copy
gets fresh containers and a fresh lock, so nothing done to it reaches the original;
because every held value is immutable, a deep copy is the same as a copy. A pickle
leaves the lock out (a lock cannot cross processes) and the compiled machines pickle
by reference (see :meth:`orderfsm.CompiledMachine.__reduce__`).

The order classes keep their fields in ``__slots__`` (a subclass may add a ``__dict__``):
the state copied and pickled is every slot set, then the ``__dict__`` if there is one.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any, Self


class LockedOrder:
    """Copy and pickle support for an order whose changes are serialised by ``_lock``."""

    __slots__ = ("_lock",)
    _lock: AbstractContextManager[Any]

    @staticmethod
    def _new_lock() -> AbstractContextManager[Any]:
        return threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the lock, read under it, in containers of its own."""
        with self._lock:
            state = {
                name: _fresh(getattr(self, name))
                for name in _slots(type(self))
                if hasattr(self, name)
            }
            state.update((k, _fresh(v)) for k, v in getattr(self, "__dict__", {}).items())
            return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._lock = self._new_lock()

    def __copy__(self) -> Self:
        clone = type(self).__new__(type(self))
        clone.__setstate__(self.__getstate__())
        return clone

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        clone = memo[id(self)] = self.__copy__()
        return clone


def _slots(cls: type) -> tuple[str, ...]:
    """The slots of ``cls`` and its bases but the lock, base classes' first."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        names.extend((slots,) if isinstance(slots, str) else slots)
    return tuple(
        name for name in dict.fromkeys(names) if name not in ("_lock", "__dict__", "__weakref__")
    )


def _fresh(value: Any) -> Any:
    """``value`` with every dict and list in it rebuilt; other values are immutable."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value
