"""1688 KA pool orders at their three levels: a trade holds orders, an order holds sub-orders.

Every level shows a ``PoolOrderStatusEnum`` status (000_29cd69a61e8d9e8a.txt, "Comparison
with KA Orders": "Dimension ... Trade + Order + Sub-order"). Events act on sub-orders;
the status of an order and of the trade is *derived* from their children by
:func:`derive_status`. Decisions are delegated to the shared compiled ``ka_pool_order``
machine (or a replacement table's machine passed as ``machine=``); a rejected event
raises before anything is assigned, so nothing changes at any level.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Self

from orderfsm.errors import (
    InvalidOrderState,
    PayloadError,
    TransitionRejected,
    UnknownSubOrder,
    shown,
)
from orderfsm.model.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.model.deadlines import Due, Holidays, due_now, no_holidays
from orderfsm.model.explain import Explanation
from orderfsm.model.table import State
from orderfsm.orders.core import Held, OrderCore, Versions
from orderfsm.orders.ids import OrderId, SubOrderId, id_items, is_id
from orderfsm.orders.listeners import notify
from orderfsm.orders.machines import require
from orderfsm.orders.producible import End, Entry
from orderfsm.orders.stored import (
    KA_HISTORY_KEYS,
    Columns,
    Field,
    Row,
    decode_step,
    entry_time,
    quick_ka_history,
    table_step,
    unambiguous_ids,
)

FORMAT = "orderfsm.ka_trade/2"
FORMAT_1 = "orderfsm.ka_trade/1"  # history as an array of entry objects: still read

MACHINE = "ka_pool_order"
REFUND_TAG = "refund"
DROPPED_TAG = "dropped"

Leaf = tuple[OrderId, SubOrderId]


class KaChange(tuple[Leaf, Step]):
    """One accepted sub-order step of a KA trade's history: the pair
    ``((order, sub_order), step)`` it has always been (it unpacks, indexes, hashes and
    compares equal to the plain pair), and ``at``: when it happened (``None``: not known;
    see ``docs/time.md``). Two changes are equal when their pairs and their times are;
    the time stays out of ``repr``, as :class:`~orderfsm.Change`'s does."""

    at: int | None = None  # set on an instance only when known: most steps carry none

    def __new__(cls, leaf: Leaf, step: Step, at: int | None = None) -> Self:
        change = tuple.__new__(cls, (leaf, step))
        if at is not None:
            object.__setattr__(change, "at", at)
        return change

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a KaChange is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a KaChange is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KaChange) and self.at != other.at:
            return False
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__  # equal changes are equal pairs: the pair's hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (KaChange, (self[0], self[1], self.at))


_untimed = tuple.__new__
"""A :class:`KaChange` with no time, made without the Python-level ``__new__`` (half the
cost: a trade records and decodes one per sub-order step)."""


def derive_status(machine: CompiledMachine, children: Iterable[StatusLike]) -> State:
    """The status a parent (order or trade) shows, given its children's statuses.

    The parent shows the child status that ranks first in this precedence:

    1. a status tagged ``refund`` (a refund in progress anywhere needs attention), in
       table order;
    2. a status with neither ``refund`` nor ``dropped`` - the live lifecycle - the least
       advanced first (table order is lifecycle order): the parent is only as far along
       as its slowest live child, and ``success`` only when every live child succeeded;
    3. a status tagged ``dropped`` (``terminated``, then ``cancel``), in table order: a
       child that ended without a sale counts only when every child did.

    So the result is always one of the children's statuses; it does not depend on their
    order; identical children give their own status; and because it is a minimum over one
    total order, deriving a trade from its orders' derived statuses equals deriving it
    from all its sub-orders at once. Raises :class:`InvalidOrderState` with no children.
    """
    states = [machine.status(c) for c in children]
    if not states:
        raise InvalidOrderState(f"{machine.name}: a parent status needs at least one child")
    index = {s.name: i for i, s in enumerate(machine.states)}

    def rank(state: State) -> tuple[int, int]:
        group = 0 if REFUND_TAG in state.tags else 2 if DROPPED_TAG in state.tags else 1
        return group, index[state.name]

    return min(states, key=rank)


@dataclass(frozen=True, slots=True)
class KaOrderView:
    """A snapshot of one order: its derived status and its sub-orders' statuses."""

    id: OrderId
    status: State
    sub_orders: Mapping[SubOrderId, State]


class KaTrade(OrderCore[KaChange]):
    """A 1688 KA trade: orders, each holding sub-orders, each with a pool-order status.

    ``orders`` maps each order id to its sub-orders: either a mapping ``{sub_id: status}``
    (``None`` for the initial status) or an iterable of sub-order ids (all initial).
    Every order needs at least one sub-order, and the trade at least one order
    (:class:`InvalidOrderState` otherwise). ``machine`` defaults to the shipped
    ``ka_pool_order``; pass ``orderfsm.load(path)`` to run on a replacement table (an
    order-level machine: one with a parent raises :class:`~orderfsm.TableError`). Order
    and sub-order ids are ``str`` or ``int``. Copies share nothing with the original, and
    a trade pickles.
    ``remembered`` maps ``(order, sub_order)`` to the status a sub-order had before it
    entered a history (refund) status, so that a refused or withdrawn refund can return
    there; without it only the events that end the refund apply.

    An event addresses the whole trade, one order, or one sub-order. Addressing several
    sub-orders applies it to each of them that is not yet final, all or nothing: if any
    refuses, the error is raised and no sub-order changes.
    """

    def __init__(
        self,
        orders: Mapping[OrderId, Mapping[SubOrderId, StatusLike | None] | Iterable[SubOrderId]],
        machine: CompiledMachine | None = None,
        remembered: Mapping[Leaf, StatusLike] | None = None,
    ) -> None:
        self._machine = load(MACHINE) if machine is None else require(machine, "KaTrade")
        self._subs: dict[OrderId, dict[SubOrderId, State]] = _every_order_filled(
            {
                order_id: {
                    sid: self._machine.initial if value is None else self._machine.status(value)
                    for sid, value in id_items(subs, f"order {order_id!r}")
                }
                for order_id, subs in id_items(orders, "orders")
            }
        )
        self._remembered = {
            leaf: self._check_remembered(leaf, value) for leaf, value in (remembered or {}).items()
        }
        self._begin()

    @staticmethod
    def _new_lock() -> AbstractContextManager[Any]:
        # Re-entrant: readers take it too, so a reader never sees a whole-trade event
        # half-applied, and readers call one another.
        return threading.RLock()

    def _check_remembered(self, leaf: object, value: StatusLike) -> State:
        """Validate a sub-order's remembered status (see ``CompiledMachine.check_remembered``)."""
        try:
            return self._machine.check_remembered(self._state(self._leaf(leaf)), value)
        except InvalidOrderState as exc:
            raise InvalidOrderState(f"sub-order {shown(leaf)}: {exc}") from None

    def _leaf(self, leaf: object) -> Leaf:
        if not isinstance(leaf, tuple) or len(leaf) != 2:
            raise InvalidOrderState(f"expected an (order, sub_order) pair, got {shown(leaf)}")
        return (leaf[0], self._known_sub(leaf[0], leaf[1]))

    # ---------------------------------------------------------------- reading
    @property
    def status(self) -> State:
        """The trade's status, derived from every sub-order (see :func:`derive_status`)."""
        with self._lock:
            return derive_status(
                self._machine, [s for subs in self._subs.values() for s in subs.values()]
            )

    @property
    def customer_text(self) -> str:
        """What a person is shown for the trade's status (``State.text_for``)."""
        return self.status.text_for({})

    @property
    def orders(self) -> Mapping[OrderId, KaOrderView]:
        """A snapshot of every order, in the order given."""
        with self._lock:
            return {oid: self.order(oid) for oid in self._subs}

    def order(self, order_id: OrderId) -> KaOrderView:
        with self._lock:
            subs = dict(self._order(order_id))
        return KaOrderView(order_id, derive_status(self._machine, subs.values()), subs)

    def order_status(self, order_id: OrderId) -> State:
        return self.order(order_id).status

    def sub_order_status(self, order_id: OrderId, sub_order: SubOrderId) -> State:
        with self._lock:
            return self._order(order_id)[self._known_sub(order_id, sub_order)]

    @property
    def history(self) -> tuple[KaChange, ...]:
        """The accepted sub-order steps, oldest first, each the pair ``((order,
        sub_order), step)`` with its time ``at`` (:class:`KaChange`; a restored history is
        decoded on first read)."""
        return self._items()

    # ---------------------------------------------------------------- time
    def entered_at(
        self, order: OrderId | None = None, sub_order: SubOrderId | None = None
    ) -> int | None:
        """When the addressed level (the trade, one order or one sub-order, addressed as
        :meth:`trigger` addresses it) entered the status it shows: the time of the latest
        change after which it showed that status and before which it showed another
        (``None``: not known, or no change moved it there)."""
        with self._lock:
            return self._entered(self._leaves(order, sub_order))[1]

    def deadline(
        self,
        order: OrderId | None = None,
        sub_order: SubOrderId | None = None,
        *,
        holidays: Holidays = no_holidays,
    ) -> Due | None:
        """The deadline that applies to the addressed level's status now (``None`` where
        the table states none: the shipped ``ka_pool_order`` states none), from the stored
        history's times: no clock is read, so it is the same after ``to_dict``/
        ``from_dict`` or pickling."""
        with self._lock:
            status, entered = self._entered(self._leaves(order, sub_order))
        return due_now(self._machine, status, entered, holidays)

    def overdue(
        self,
        now: int,
        order: OrderId | None = None,
        sub_order: SubOrderId | None = None,
        *,
        holidays: Holidays = no_holidays,
    ) -> bool:
        """Whether the addressed level is late in its status at ``now`` (an integer time):
        never where the table states no deadline or the entry time is not known."""
        due = self.deadline(order, sub_order, holidays=holidays)
        return False if due is None else due.overdue(now)

    def _entered(self, leaves: Sequence[Leaf]) -> tuple[State, int | None]:
        """The status ``leaves`` show together (:func:`derive_status`) and when they came
        to show it: walking the history back, undoing each of their steps, the first
        change whose undoing shows another status is the one that entered it (caller
        holds the lock)."""
        machine, statuses = self._machine, {leaf: self._state(leaf) for leaf in leaves}
        shown = derive_status(machine, statuses.values())
        for change in reversed(self._decoded()):
            leaf, step = change
            if leaf in statuses:
                statuses[leaf] = step.source
                if derive_status(machine, statuses.values()) != shown:
                    return shown, change.at
        return shown, None

    @property
    def remembered(self) -> Mapping[Leaf, State]:
        """A copy of the statuses sub-orders in a history (refund) status will return to."""
        with self._lock:
            return dict(self._remembered)

    # ---------------------------------------------------------------- persistence
    FORMAT = FORMAT
    FORMAT_1 = FORMAT_1
    HISTORY_KEYS = KA_HISTORY_KEYS

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], machine: CompiledMachine | None = None) -> Self:
        """Rebuild a trade from :meth:`to_dict`'s output (on ``machine``, default the shipped
        table); :class:`~orderfsm.PayloadError` names the first invalid field."""
        trade = cls.__new__(cls)
        trade._machine = load(MACHINE) if machine is None else require(machine, "KaTrade")
        trade._begin()
        trade._load(data)
        return trade

    def _decode(self, row: Row) -> KaChange:
        oid, sid, src, dst, event = row
        return _untimed(KaChange, ((oid, sid), decode_step(self._machine, src, dst, event)))

    def _rows(self, items: Sequence[KaChange]) -> list[Row]:
        return [(o, s, step.source.code, step.target.code, step.event) for (o, s), step in items]

    def _fields(self, out: dict[str, Any]) -> dict[str, Any]:
        remembered = self._remembered
        out.update(
            {
                "machine": self._machine.name,
                "version": self._version,
                "orders": [
                    {
                        "id": oid,
                        "sub_orders": [
                            {
                                "id": sid,
                                "status": status.code,
                                "remembered": None
                                if (r := remembered.get((oid, sid))) is None
                                else r.code,
                            }
                            for sid, status in subs.items()
                        ],
                    }
                    for oid, subs in self._subs.items()
                ],
            }
        )
        return out

    def _read(self, root: Field) -> Held:
        machine = self._machine
        if root.get("machine").value != machine.name:
            raise PayloadError("$.machine", f"expected {machine.name!r}")
        orders: dict[OrderId, dict[SubOrderId, State]] = {}
        ends: dict[Hashable, End] = {}
        entries = root.get("orders").items()
        order_ids = [(entry.get("id").sub_id(), entry.get("id")) for entry in entries]
        unambiguous_ids(order_ids, "order")
        for (oid, _), entry in zip(order_ids, entries, strict=True):
            sub_entries = entry.get("sub_orders").items()
            sub_ids = [(sub.get("id").sub_id(), sub.get("id")) for sub in sub_entries]
            unambiguous_ids(sub_ids, "sub-order")
            orders[oid] = {}
            for (sid, _), sub in zip(sub_ids, sub_entries, strict=True):
                status = orders[oid][sid] = sub.get("status").status(machine)
                kept = sub.get("remembered")
                remembered = None if kept.value is None else kept.status(machine)
                ends[(oid, sid)] = End(status, remembered=remembered, remembered_path=kept.path)
        try:
            _every_order_filled(orders)
        except InvalidOrderState as e:
            raise PayloadError("$.orders", str(e)) from None
        held = {leaf: end.remembered for leaf, end in ends.items() if end.remembered}
        statuses = {leaf: end.status for leaf, end in ends.items()}
        return Held(statuses, ends, (orders, held))

    def _quick(self, columns: Columns, held: Held, *, plain: bool) -> bool:
        if not columns[0]:
            return True
        codes = {leaf: status.code for leaf, status in held.statuses.items()}
        return quick_ka_history(columns, self._machine, codes, plain=plain)

    def _entry(self, field: Field, held: Held) -> KaChange:
        leaf = (field.get("order").sub_id(), field.get("sub_order").sub_id())
        if leaf not in held.statuses:
            raise PayloadError(field.path, f"names no sub-order of this trade: {leaf!r}")
        machine = self._machine
        src, dst = field.get("src").status(machine), field.get("dst").status(machine)
        return KaChange(leaf, table_step(machine, src, dst, field.get("event")), entry_time(field))

    def _replayed(self, items: Sequence[KaChange]) -> list[Entry]:
        machine = self._machine
        return [
            Entry(change[0], machine, change[1], "trigger", i, time=change.at)
            for i, change in enumerate(items)
        ]

    def _versions(self, held: Held, columns: Columns) -> Versions:
        """One event moves every sub-order it addresses: one change, one or more entries."""
        steps = len(columns[0])
        return Versions(min(steps, 1), steps, silent=False)

    def _restore(self, state: Any) -> None:
        orders, remembered = state
        self._subs = {oid: dict(subs) for oid, subs in orders.items()}
        self._remembered = dict(remembered)

    def _order(self, order_id: OrderId) -> dict[SubOrderId, State]:
        if not is_id(order_id) or order_id not in self._subs:
            known = ", ".join(repr(o) for o in self._subs)
            raise UnknownSubOrder(f"unknown KA order {shown(order_id)}; this trade holds: {known}")
        return self._subs[order_id]

    def _known_sub(self, order_id: OrderId, sub_order: SubOrderId) -> SubOrderId:
        subs = self._order(order_id)
        if not is_id(sub_order) or sub_order not in subs:
            known = ", ".join(repr(s) for s in subs)
            raise UnknownSubOrder(
                f"unknown sub-order {shown(sub_order)} of KA order {shown(order_id)}; it holds: {known}"
            )
        return sub_order

    # ---------------------------------------------------------------- acting
    def trigger(
        self,
        event: str,
        order: OrderId | None = None,
        sub_order: SubOrderId | None = None,
        *,
        at: int | None = None,
    ) -> tuple[Step, ...]:
        """Apply ``event`` to the addressed sub-orders and return their steps.

        With neither ``order`` nor ``sub_order`` the whole trade is addressed; with
        ``order`` one order; with both one sub-order. Raises :class:`UnknownSubOrder`,
        :class:`~orderfsm.UnknownEvent` or a :class:`~orderfsm.TransitionRejected`
        subclass naming the rule (``cancel`` after shipment names the KA cancellation
        rule); on any error nothing changes at any level. ``at`` is when it happened (an
        integer, recorded as each step's :attr:`KaChange.at`; earlier than a time already
        recorded raises :class:`~orderfsm.OrderFsmError`; see ``docs/time.md``).
        """
        with self._lock:
            time = self._time_of(at, told=True)
            steps = self._decide(event, order, sub_order)
            changes = (
                [_untimed(KaChange, pair) for pair in steps]
                if time is None
                else [KaChange(leaf, step, time) for leaf, step in steps]
            )
            for leaf, step in steps:
                self._remember(leaf, step)
                self._subs[leaf[0]][leaf[1]] = step.target
            self._record(changes)
        outcome = tuple(step for _, step in steps)
        notify(self, changes, outcome)
        return outcome

    def can(
        self, event: str, order: OrderId | None = None, sub_order: SubOrderId | None = None
    ) -> bool:
        """Whether :meth:`trigger` would accept the event now (unknown names still raise)."""
        with self._lock:
            try:
                self._decide(event, order, sub_order)
            except TransitionRejected:
                return False
            return True

    def enabled_events(
        self,
        order: OrderId | None = None,
        sub_order: SubOrderId | None = None,
        *,
        actor: str | None = None,
    ) -> tuple[str, ...]:
        """The events :meth:`trigger` would accept now for the addressed level (one
        consistent answer: the trade cannot change while it is computed); with ``actor``
        (``buyer``, ``seller``, ``platform``) only those whose every step is that actor's."""
        with self._lock:
            return tuple(
                e
                for e in self._machine.event_names
                if self.can(e, order, sub_order)
                and (actor is None or self._by(actor, e, order, sub_order))
            )

    def _by(
        self, actor: str, event: str, order: OrderId | None, sub_order: SubOrderId | None
    ) -> bool:
        """Whether every step of an accepted ``event`` is ``actor``'s."""
        return all(step.actor == actor for _, step in self._decide(event, order, sub_order))

    def explain(
        self, event: str, order: OrderId | None = None, sub_order: SubOrderId | None = None
    ) -> Explanation:
        """Whether :meth:`trigger` would accept the event now, and why, without raising
        for a refusal (unknown names still raise): refused, the fields of the rejection
        :meth:`trigger` would raise; accepted, the explanation of the first addressed
        sub-order that moves (see :class:`~orderfsm.Explanation`)."""
        with self._lock:
            try:
                leaf, _ = self._decide(event, order, sub_order)[0]
            except TransitionRejected as error:
                return Explanation.refused(self._machine.name, event, error)
            return self._machine.explain(
                self._state(leaf), event, history=self._remembered.get(leaf)
            )

    def _leaves(self, order: OrderId | None, sub_order: SubOrderId | None) -> list[Leaf]:
        if order is None:
            if sub_order is not None:
                raise UnknownSubOrder(
                    f"sub-order {shown(sub_order)} given without its order; pass order= too"
                )
            return [(o, s) for o, subs in self._subs.items() for s in subs]
        if sub_order is None:
            return [(order, s) for s in self._order(order)]
        return [(order, self._known_sub(order, sub_order))]

    def _decide(
        self, event: str, order: OrderId | None, sub_order: SubOrderId | None
    ) -> list[tuple[Leaf, Step]]:
        """Every step the event would make, or the first leaf's rejection; stores nothing."""
        leaves = self._leaves(order, sub_order)
        self._machine.event(event)
        live = [leaf for leaf in leaves if not self._state(leaf).final] or leaves[:1]
        return [
            (
                leaf,
                self._machine.transition(
                    self._state(leaf), event, history=self._remembered.get(leaf)
                ),
            )
            for leaf in live
        ]

    def _state(self, leaf: Leaf) -> State:
        return self._subs[leaf[0]][leaf[1]]

    def _remember(self, leaf: Leaf, step: Step) -> None:
        remembered = self._machine.remembered_after(step, self._remembered.get(leaf))
        if remembered is None:
            self._remembered.pop(leaf, None)
        else:
            self._remembered[leaf] = remembered

    def __repr__(self) -> str:
        orders = ", ".join(
            f"{oid!r}: {{{', '.join(f'{s!r}: {st}' for s, st in subs.items())}}}"
            for oid, subs in self._subs.items()
        )
        return f"KaTrade(status={self.status}, orders={{{orders}}})"


def _every_order_filled(
    orders: dict[OrderId, dict[SubOrderId, State]],
) -> dict[OrderId, dict[SubOrderId, State]]:
    """``orders``, if the trade has an order and every order a sub-order."""
    for order_id, subs in orders.items():
        if not subs:
            raise InvalidOrderState(f"KA order {order_id!r} has no sub-orders")
    if not orders:
        raise InvalidOrderState("a KA trade needs at least one order")
    return orders
