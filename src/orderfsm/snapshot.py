"""Orders as plain JSON-able dicts with a version counter, and optimistic concurrency.

``order.to_dict()`` gives a dict of strings, ints, lists and dicts only (stable key
order, so ``json.dumps`` of it is deterministic); ``TaobaoOrder.from_dict`` reads it
back, validating every field (:class:`~orderfsm.errors.PayloadError` with the path of
a bad one). ``version`` counts the order's changes.

Optimistic concurrency: read the dict and its version, apply, then save only if the
stored version is still the one read. :func:`compare_and_set` wraps the storage's atomic
conditional write (for SQL: ``UPDATE ... WHERE version = ?``) and raises
:class:`~orderfsm.errors.ConcurrentModification` when another writer got there first;
:func:`update_with_retry` re-reads and re-applies until the save succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from orderfsm.compile import CompiledMachine, Step
from orderfsm.errors import ConcurrentModification, InvalidOrderState, OrderFsmError, PayloadError
from orderfsm.history import Change
from orderfsm.ingest.apply import Via, synthetic_step
from orderfsm.table import State

if TYPE_CHECKING:
    from orderfsm.icbu_order import IcbuOrder
    from orderfsm.ka_trade import KaTrade
    from orderfsm.orders import TaobaoOrder

FORMAT = "orderfsm.taobao_order/1"
ICBU_FORMAT = "orderfsm.icbu_trade/1"
KA_FORMAT = "orderfsm.ka_trade/1"
_SYNTHETIC: frozenset[str] = frozenset({"forced", "quarantine", "release"})
_VIA: frozenset[str] = frozenset(
    {"trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"}
)
_T = TypeVar("_T")
_K = TypeVar("_K", bound="KaTrade")


class Versioned(Protocol):
    """An order that serialises with a version counter (``TaobaoOrder``, ...)."""

    @property
    def version(self) -> int: ...

    def to_dict(self) -> dict[str, Any]: ...


_O = TypeVar("_O", bound=Versioned)


# ----------------------------------------------------------------------------- to dict


def order_to_dict(order: TaobaoOrder) -> dict[str, Any]:
    """The order as a plain dict (see the module docstring). Sub-order ids must be str or int."""
    return {
        "format": FORMAT,
        "version": order.version,
        "observed_at": order.observed_at,
        "status": order.status.code,
        "sub_orders": [
            {
                "id": _plain_id(sid),
                "status": order.sub_order_status(sid).code,
                "refund_status": refund.code,
            }
            for sid, refund in order.sub_orders.items()
        ],
        "history": [_change_to_dict(c) for c in order.history],
    }


def _plain_id(sid: Hashable) -> str | int:
    if isinstance(sid, str | int) and not isinstance(sid, bool):
        return sid
    raise OrderFsmError(f"sub-order id {sid!r} is not a str or int: it cannot be serialised")


def _change_to_dict(change: Change) -> dict[str, Any]:
    step = change.step
    return {
        "sub_order": None if change.sub_order is None else _plain_id(change.sub_order),
        "part": _part(change),
        "src": step.source.code,
        "dst": step.target.code,
        "event": step.event,
        "via": change.via,
    }


def _part(change: Change) -> str:
    if change.sub_order is None:
        return "order"
    return "sub_order_status" if change.sub_order_status else "refund"


# ----------------------------------------------------------------------------- from dict


class _Field:
    """A value read from the dict, with its path for error messages."""

    def __init__(self, value: object, path: str) -> None:
        self.value = value
        self.path = path

    def get(self, key: str) -> _Field:
        if not isinstance(self.value, Mapping):
            raise PayloadError(self.path, "expected an object")
        if key not in self.value:
            raise PayloadError(f"{self.path}.{key}", "required field is missing")
        return _Field(self.value[key], f"{self.path}.{key}")

    def integer(self, *, nullable: bool = False) -> int | None:
        if self.value is None and nullable:
            return None
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return self.value
        raise PayloadError(self.path, f"expected an integer, got {self.value!r}")

    def items(self) -> list[_Field]:
        if not isinstance(self.value, list):
            raise PayloadError(self.path, "expected an array")
        return [_Field(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def sub_id(self, *, nullable: bool = False) -> Hashable | None:
        if self.value is None and nullable:
            return None
        if isinstance(self.value, str | int) and not isinstance(self.value, bool):
            return self.value
        raise PayloadError(self.path, f"expected a sub-order id (str or int), got {self.value!r}")

    def status(self, machine: CompiledMachine) -> State:
        if not isinstance(self.value, int | str):
            raise PayloadError(self.path, f"expected a status code, got {self.value!r}")
        try:
            return machine.status(self.value)
        except OrderFsmError as e:
            raise PayloadError(self.path, str(e)) from None


def _header(root: _Field, expected_format: str) -> int:
    """Check the ``format`` tag and return the (non-negative) ``version``."""
    if root.get("format").value != expected_format:
        raise PayloadError("$.format", f"expected {expected_format!r}")
    version = root.get("version").integer()
    assert version is not None
    if version < 0:
        raise PayloadError("$.version", "must not be negative")
    return version


def order_from_dict(data: Mapping[str, Any], order: TaobaoOrder) -> None:
    """Fill the fresh ``order`` from ``data`` (as produced by :func:`order_to_dict`)."""
    root = _Field(data, "$")
    version = _header(root, FORMAT)
    main, refund = order.machine, order.refund_machine
    sub_statuses: dict[Hashable, State] = {}
    refunds: dict[Hashable, State] = {}
    for entry in root.get("sub_orders").items():
        sid = entry.get("id").sub_id()
        if sid in refunds:
            raise PayloadError(entry.get("id").path, f"duplicate sub-order id {sid!r}")
        sub_statuses[sid] = entry.get("status").status(main)
        refunds[sid] = entry.get("refund_status").status(refund)
    history = [_change_from(c, main, refund, refunds.keys()) for c in root.get("history").items()]
    order._restore(
        status=root.get("status").status(main),
        sub_statuses=sub_statuses,
        refunds=refunds,
        history=history,
        version=version,
        observed_at=root.get("observed_at").integer(nullable=True),
    )


def _change_from(
    entry: _Field, main: CompiledMachine, refund: CompiledMachine, subs: Collection[Hashable]
) -> Change:
    part = entry.get("part").value
    if part not in ("order", "sub_order_status", "refund"):
        raise PayloadError(entry.get("part").path, f"unknown part {part!r}")
    sid = entry.get("sub_order").sub_id(nullable=True)
    if (sid is None) != (part == "order") or (sid is not None and sid not in subs):
        raise PayloadError(entry.get("sub_order").path, f"does not fit part {part!r}")
    raw_via = entry.get("via").value
    if not isinstance(raw_via, str) or raw_via not in _VIA:
        raise PayloadError(entry.get("via").path, f"unknown via {raw_via!r}")
    via = cast(Via, raw_via)
    machine = refund if part == "refund" else main
    src, dst = entry.get("src").status(machine), entry.get("dst").status(machine)
    event = entry.get("event")
    if via in _SYNTHETIC:
        step = synthetic_step(src, dst, via, f"restored {via} step")
    else:
        step = _table_step(machine, src, dst, event)
    return Change(sid, step, part == "sub_order_status", via)


def _table_step(machine: CompiledMachine, src: State, dst: State, event: _Field) -> Step:
    for t in machine.transitions_from(src):
        if t.dst == dst.name and t.event == event.value:
            return Step(src, dst, t.event, t.actor, t)
    raise PayloadError(event.path, f"{machine.name} has no edge {src} -> {dst} on {event.value!r}")


def icbu_to_dict(order: IcbuOrder) -> dict[str, Any]:
    """An :class:`~orderfsm.IcbuOrder` as a plain dict: status, variables, remembered
    pre-freeze status, history and version."""
    return {
        "format": ICBU_FORMAT,
        "version": order.version,
        "status": order.status.code,
        "variables": dict(sorted(order.variables.items())),
        "frozen_from": None if order.frozen_from is None else order.frozen_from.code,
        "history": [_change_to_dict(c) for c in order.history],
    }


def icbu_from_dict(data: Mapping[str, Any], order: IcbuOrder) -> None:
    """Fill the fresh ``order`` from ``data`` (as produced by :func:`icbu_to_dict`)."""
    root = _Field(data, "$")
    version = _header(root, ICBU_FORMAT)
    machine = order.machine
    status = root.get("status").status(machine)
    raw_vars = root.get("variables")
    if not isinstance(raw_vars.value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw_vars.value.items()
    ):
        raise PayloadError(raw_vars.path, "expected an object of string values")
    try:
        variables = machine.variables(raw_vars.value)
    except OrderFsmError as e:
        raise PayloadError(raw_vars.path, str(e)) from None
    frozen = root.get("frozen_from")
    remembered = None
    if frozen.value is not None:
        try:
            remembered = machine.check_remembered(status, frozen.status(machine))
        except InvalidOrderState as e:
            raise PayloadError(frozen.path, str(e)) from None
    history = [_change_from(c, machine, machine, ()) for c in root.get("history").items()]
    order._restore(
        status=status, variables=variables, remembered=remembered, history=history, version=version
    )


def ka_to_dict(trade: KaTrade) -> dict[str, Any]:
    """A :class:`~orderfsm.KaTrade` as a plain dict: every sub-order's status (and the
    status it will return to from a refund), the history and the version."""
    remembered = trade.remembered
    return {
        "format": KA_FORMAT,
        "machine": trade.machine.name,
        "version": trade.version,
        "orders": [
            {
                "id": _plain_id(oid),
                "sub_orders": [
                    {
                        "id": _plain_id(sid),
                        "status": status.code,
                        "remembered": None if (r := remembered.get((oid, sid))) is None else r.code,
                    }
                    for sid, status in view.sub_orders.items()
                ],
            }
            for oid, view in trade.orders.items()
        ],
        "history": [
            {
                "order": _plain_id(oid),
                "sub_order": _plain_id(sid),
                "src": step.source.code,
                "dst": step.target.code,
                "event": step.event,
            }
            for (oid, sid), step in trade.history
        ],
    }


def ka_from_dict(data: Mapping[str, Any], cls: type[_K], machine: CompiledMachine) -> _K:
    """Rebuild a trade of class ``cls`` on ``machine`` from :func:`ka_to_dict`'s output."""
    root = _Field(data, "$")
    version = _header(root, KA_FORMAT)
    if root.get("machine").value != machine.name:
        raise PayloadError("$.machine", f"expected {machine.name!r}")
    orders: dict[Hashable, dict[Hashable, State]] = {}
    remembered: dict[tuple[Hashable, Hashable], State] = {}
    for entry in root.get("orders").items():
        oid = entry.get("id").sub_id()
        if oid in orders:
            raise PayloadError(entry.get("id").path, f"duplicate order id {oid!r}")
        subs: dict[Hashable, State] = {}
        for sub in entry.get("sub_orders").items():
            sid = sub.get("id").sub_id()
            if sid in subs:
                raise PayloadError(sub.get("id").path, f"duplicate sub-order id {sid!r}")
            subs[sid] = sub.get("status").status(machine)
            if sub.get("remembered").value is not None:
                remembered[(oid, sid)] = sub.get("remembered").status(machine)
        orders[oid] = subs
    history = []
    for entry in root.get("history").items():
        leaf = (entry.get("order").sub_id(), entry.get("sub_order").sub_id())
        if leaf[0] not in orders or leaf[1] not in orders[leaf[0]]:
            raise PayloadError(entry.path, f"names no sub-order of this trade: {leaf!r}")
        src, dst = entry.get("src").status(machine), entry.get("dst").status(machine)
        history.append((leaf, _table_step(machine, src, dst, entry.get("event"))))
    try:
        trade = cls(orders, machine=machine, remembered=remembered)
    except OrderFsmError as e:
        raise PayloadError("$.orders", str(e)) from None
    trade._restore(history=history, version=version)
    return trade


# ----------------------------------------------------------------------------- CAS


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
    propagates.
    """
    if attempts < 1:
        raise OrderFsmError(f"attempts must be at least 1, not {attempts}")
    for attempt in range(attempts):
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
        return outcome
    raise AssertionError("unreachable: the last attempt returns or raises")
