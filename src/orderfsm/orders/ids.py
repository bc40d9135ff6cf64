"""Order and sub-order identities: what may be an id, and reading ``{id: status}`` arguments."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from orderfsm.errors import InvalidOrderState

SubOrderId = Hashable


def id_items(value: object, what: str) -> list[tuple[Hashable, Any]]:
    """``(id, status)`` pairs from a mapping ``{id: status}`` or an iterable of ids (status
    ``None``); anything else, a string or an unhashable id raises InvalidOrderState."""
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        pairs = [(i, None) for i in value]
    else:
        raise InvalidOrderState(
            f"{what} must be a mapping {{id: status}} or an iterable of ids, got {value!r}"
        )
    for key, _ in pairs:
        if not hashable(key):
            raise InvalidOrderState(f"{what}: id {key!r} is not hashable")
    return pairs


def hashable(value: object) -> bool:
    """Whether ``value`` can be an id (a dict key); ``(1, [2])`` cannot, though a tuple."""
    try:
        hash(value)
    except TypeError:
        return False
    return True
