"""Order and sub-order identities: what may be an id, and reading ``{id: status}`` arguments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard, cast

from orderfsm.errors import InvalidOrderState
from orderfsm.model import bounded
from orderfsm.model.bounded import plain_scalars, shown, value_problem

SubOrderId = str | int
"""A sub-order's id as platforms send it: a string or an int (never a bool).

One order never holds two ids with the same text (``7`` and ``"7"``): a stored or
observed id could not tell them apart."""

OrderId = SubOrderId
"""A KA order's id within its trade: the same kinds of value as a sub-order id."""


def is_id(value: object) -> TypeGuard[SubOrderId]:
    """Whether ``value`` can be an order or sub-order id: text or a 64-bit ``int`` (not a
    ``bool``), as every reader takes it (:func:`orderfsm.model.bounded.is_id`)."""
    return bounded.is_id(value)


_ONE_KIND: tuple[set[type], ...] = (set(), {str}, {int})


def plain_distinct(ids: Sequence[object]) -> bool:
    """Whether ``ids`` are all plain ``str`` or all plain ``int`` ids, distinct (so their
    texts are distinct), decided in C-level passes: such ids need no check one by one."""
    return set(map(type, ids)) in _ONE_KIND and len(set(ids)) == len(ids) and plain_scalars(ids)


def plain_id_list(value: object) -> Sequence[SubOrderId] | None:
    """``value`` itself if it is a list or tuple of plain distinct ids (:func:`plain_distinct`:
    what :func:`id_items` accepts as ids with no status, decided without a look at each),
    else ``None`` (then :func:`id_items` reads it, and names any problem)."""
    kind = type(value)
    if (kind is list or kind is tuple) and plain_distinct(value):  # type: ignore[arg-type]
        return value  # type: ignore[return-value]
    return None


def id_items(value: object, what: str) -> list[tuple[SubOrderId, Any]]:
    """``(id, status)`` pairs from a mapping ``{id: status}`` or an iterable of ids (status
    ``None``). Anything else, a string, an id that is not a ``str``/``int``, or two ids
    with the same text raises :class:`InvalidOrderState`."""
    kind = type(value)
    if kind is dict:  # the usual arguments first: no abstract-class checks
        pairs = list(cast(dict[Any, Any], value).items())
    elif kind is list or kind is tuple:
        pairs = [(i, None) for i in cast(Iterable[Any], value)]
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, Iterable) and not isinstance(value, str | bytes):
        pairs = [(i, None) for i in value]
    else:
        raise InvalidOrderState(
            f"{what} must be a mapping {{id: status}} or an iterable of ids, got {value!r}"
        )
    keys = [key for key, _ in pairs]
    if plain_distinct(keys):
        return pairs
    seen: dict[str, SubOrderId] = {}
    for key in keys:
        if not is_id(key):
            reason = value_problem(key) or "not a str or an int"
            raise InvalidOrderState(f"{what}: id {shown(key)} is {reason}")
        if str(key) in seen:
            other = seen[str(key)]
            same = type(other) is type(key)
            raise InvalidOrderState(
                f"{what}: id {key!r} is given twice"
                if same
                else f"{what}: ids {other!r} and {key!r} cannot be told apart"
            )
        seen[str(key)] = key
    return pairs
