"""Stateful orders: a convenience over the pure core in :mod:`orderfsm.model.compile`.

An order holds only its statuses; every decision is delegated to the shared compiled
machines (:func:`orderfsm.load` compiles each once per process), so creating an order
never builds a machine. A rejected event raises before anything is assigned, so it
leaves every status of the order and its sub-orders unchanged.

Observed platform snapshots are applied with :meth:`TaobaoOrder.apply` (the decision
lives in :mod:`orderfsm.model.decide`); serialisation with a version counter lives in
:mod:`orderfsm.orders.stored`. Both are layered on top: this class only commits their steps.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Self

from orderfsm.errors import RefundNotAllowed, UnknownEvent, UnknownSubOrder, shown
from orderfsm.model.bounded import is_integer
from orderfsm.model.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.model.decide import (
    ApplyResult,
    HeldTaobao,
    Part,
    first_sight_taobao,
    plan_taobao,
)
from orderfsm.model.explain import Explanation
from orderfsm.model.records import TaobaoSnapshot
from orderfsm.model.table import State
from orderfsm.orders.core import ORDER_PART, ChangeOrder, Held, Versions, part_key, text_of
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId, id_items, is_id, plain_distinct, plain_id_list
from orderfsm.orders.listeners import listening, notify
from orderfsm.orders.machines import refund_machine_for, require
from orderfsm.orders.stored import (
    Columns,
    Field,
    changes_shown,
    pair_codes,
    unambiguous_ids,
)

FORMAT = "orderfsm.taobao_order/2"
FORMAT_1 = "orderfsm.taobao_order/1"  # history as an array of entry objects: still read

__all__ = ["SUB_ORDER_RULE_SOURCE", "Change", "SubOrderId", "TaobaoOrder"]

SUB_ORDER_RULE_SOURCE = (
    "000_29cd69a61e8d9e8a.txt \u00a7 4. Sub-Order Dimension "
    "('Refunds are processed at the sub-order dimension')"
)


class TaobaoOrder(ChangeOrder):
    """A Taobao purchase order: a main status plus one refund status per sub-order.

    ``status`` defaults to ``ORDER_BULIDING(12)``; every sub-order's refund status to
    ``NOT_APPLY_FOR_REFUND(0)``. Statuses accept the int code, enum name or raw string.
    Main-order events (``cancel``, ``ship``, ...) take no ``sub_order``; refund events
    (``apply_refund``, ``cancel_refund``, ...) require one. A sub-order also carries its
    own order status (``subOrderStatus`` on the purchase page), starting at the
    order's status until given in ``sub_order_statuses`` or observed by :meth:`apply`. Sub-order ids
    are ``str`` or ``int`` (:data:`~orderfsm.orders.ids.SubOrderId`).

    ``machine`` defaults to the shipped ``taobao_order``; pass ``orderfsm.load(path)`` to
    run on an edited table. ``refund_machine`` defaults to the shipped ``taobao_refund``
    rules compiled under ``machine``; an edited one must have ``machine`` as its parent
    (``refund.under(machine)``). Either not fitting raises :class:`~orderfsm.TableError`.
    Copies (``copy.copy``, ``copy.deepcopy``) share nothing with the original, and an
    order pickles (its machines by reference or by table).
    """

    __slots__ = ("_observed_at", "_sub_status", "_subs")

    def __init__(
        self,
        status: StatusLike | None = None,
        sub_orders: Mapping[SubOrderId, StatusLike | None] | Iterable[SubOrderId] = (),
        *,
        sub_order_statuses: Mapping[SubOrderId, StatusLike] | None = None,
        machine: CompiledMachine | None = None,
        refund_machine: CompiledMachine | None = None,
    ) -> None:
        main = self._run_on(machine, refund_machine)
        refund = self._sub_machine
        self._status = main.initial if status is None else main.status(status)
        ids = plain_id_list(sub_orders)  # the usual argument: sub-order ids, all at the start
        self._subs: dict[SubOrderId, State] = (
            {
                sid: refund.initial if value is None else refund.status(value)
                for sid, value in id_items(sub_orders, "sub_orders")
            }
            if ids is None
            else dict.fromkeys(ids, refund.initial)
        )
        self._sub_status: dict[SubOrderId, State] = dict.fromkeys(self._subs, self._status)
        if sub_order_statuses:
            for sid, value in sub_order_statuses.items():
                self._known(sid)
                self._sub_status[sid] = main.status(value)
        self._observed_at: int | None = None
        self._begin()

    def _run_on(
        self, machine: CompiledMachine | None, refund_machine: CompiledMachine | None
    ) -> CompiledMachine:
        """Set the machines the order runs on (checked as the constructor says); returns
        the main one."""
        if machine is None and refund_machine is None:
            main, refund = _SHIPPED or _shipped()
        else:
            main = load("taobao_order") if machine is None else require(machine, "TaobaoOrder")
            refund = refund_machine_for(main, refund_machine, "TaobaoOrder", "taobao_refund")
        self._machine, self._sub_machine = main, refund
        return main

    # ---------------------------------------------------------------- reading
    @property
    def refund_machine(self) -> CompiledMachine:
        return self._sub_machine

    @property
    def sub_orders(self) -> Mapping[SubOrderId, State]:
        """A copy of every sub-order's refund status."""
        return dict(self._subs)

    @property
    def sub_order_statuses(self) -> Mapping[SubOrderId, State]:
        """A copy of every sub-order's own order status."""
        return dict(self._sub_status)

    @property
    def customer_text(self) -> str:
        """What a person is shown for the order's status (``State.text_for``)."""
        return self._status.text_for({})

    @property
    def observed_at(self) -> int | None:
        """The newest ``modify_time`` applied from a snapshot, if any."""
        return self._observed_at

    def refund_status(self, sub_order: SubOrderId) -> State:
        return self._subs[self._known(sub_order)]

    def sub_order_status(self, sub_order: SubOrderId) -> State:
        """The sub-order's own order status (``subOrderStatus``)."""
        return self._sub_status[self._known(sub_order)]

    def _known(self, sub_order: SubOrderId) -> SubOrderId:
        if not is_id(sub_order) or sub_order not in self._subs:
            known = ", ".join(repr(s) for s in self._subs) or "none"
            raise UnknownSubOrder(
                f"unknown sub-order {shown(sub_order)}; this order holds: {known}"
            )
        return sub_order

    # ---------------------------------------------------------------- acting
    def trigger(
        self, event: str, sub_order: SubOrderId | None = None, *, at: int | None = None
    ) -> Step:
        """Apply ``event`` to the order (or to ``sub_order``'s refund) and return the step.

        Raises :class:`UnknownEvent`, :class:`UnknownSubOrder`, or a
        :class:`TransitionRejected` subclass (``PaymentLocked``, ``RefundNotAllowed``,
        ``IllegalTransition``...); on any error nothing changes. ``at`` is when it
        happened (an integer, recorded as ``Change.at``; see ``docs/time.md``).
        """
        with self._lock:
            time = None if at is None else self._time_of(at, told=True)
            step = self._decide(event, sub_order)
            if sub_order is None:
                self._status = step.target
                part = "order"
            else:
                self._subs[sub_order] = step.target
                part = "refund"
            self._append(sub_order, part, step, time)
            if self._pending:
                self._settle({(part, text_of(sub_order)): (step,)})
        if listening():
            notify(self, (Change(sub_order, step, at=time),), step)
        return step

    def apply(
        self, snapshot: TaobaoSnapshot, force: bool = False, *, at: int | None = None
    ) -> ApplyResult:
        """Apply one observed snapshot (from :func:`orderfsm.ingest.parse`); never raises
        for what the snapshot says: the :class:`~orderfsm.ingest.ApplyResult` tells.

        Sub-orders the snapshot names that the order does not hold yet are added (see
        ``_commit``); a refused part changes nothing.
        ``force=True`` moves a part even where no path exists, recording the forced step.
        """
        return self._apply(
            lambda: plan_taobao(self._held(), snapshot, *self._machines, force=force),
            snapshot.modified_at,
            at,
        )

    @property
    def _machines(self) -> tuple[CompiledMachine, CompiledMachine]:
        return self._machine, self._sub_machine

    def _held(self) -> HeldTaobao:
        """What the order holds, as the planner sees it: a snapshot names sub-orders by
        text, so held ids are text too (:meth:`_commit` maps them back; ids are unique by
        text, see :mod:`orderfsm.orders.ids`)."""
        return HeldTaobao(
            self._status,
            {str(sid): s for sid, s in self._sub_status.items()},
            {str(sid): s for sid, s in self._subs.items()},
            self._observed_at,
            self._parked(),
        )

    def _applied(self, result: ApplyResult) -> ApplyResult:
        return replace(result, version=self._version, observed_at=self._observed_at)

    def _parked(self) -> dict[tuple[Part, Hashable], State]:
        """For each part in quarantine, the status it held before its quarantine step (a
        part constructed in quarantine has none). Quarantine steps are never in the
        quick-checked stored columns, so the decoded history holds the one that counts."""
        waiting: dict[Hashable, tuple[Part, Hashable]] = {}
        if self._status.quarantine:
            waiting[ORDER_PART] = ("order", None)
        for sid, status in self._sub_status.items():
            if status.quarantine:
                waiting[("sub_order_status", sid)] = ("sub_order_status", str(sid))
        parked: dict[tuple[Part, Hashable], State] = {}
        for change in reversed(self._decoded() if waiting else ()):
            if not waiting:
                break
            key = part_key(change)
            if key in waiting:
                part = waiting.pop(key)
                if change.via == "quarantine":
                    parked[part] = change.step.source
        return parked

    def _commit(self, result: ApplyResult, at: int | None) -> ApplyResult:
        """Record every step of ``result`` and say whether anything changed (caller holds
        the lock).

        A sub-order the order does not hold yet is added (its order status starting at
        the order's, its refund at the refund machine's initial status) only when one of
        its parts records a step, or is taken while the snapshot as a whole is. The clock
        (``observed_at``) moves only when the snapshot as a whole is taken: its order part
        is (the clock dates the order's status), and either no part is refused or some
        part records a step. So a snapshot that records nothing and refuses a part
        (``stale``, ``illegal``, ...) changes nothing. Anything that changes bumps the
        version once.
        """
        held_id = {str(sid): sid for sid in self._subs}
        held_status = self._status
        order_taken = not result.part("order").refused and (
            result.taken == "all" or any(p.steps for p in result.parts)
        )
        added = False
        for part in result.parts:
            sid = part.sub_order
            assert sid is None or is_id(sid), sid  # parts name the ids snapshots carry
            if sid is not None:
                sid = held_id.get(str(sid), sid)
            if sid is not None and sid not in self._subs:
                if part.refused or not (part.steps or order_taken):
                    continue
                self._subs[sid] = self._sub_machine.initial
                self._sub_status[sid] = held_status
                added = True
            status_part = part.part == "sub_order_status"
            self._record(
                [Change(sid, step, status_part, part.via, at) for step in part.steps], changed=False
            )
            if not part.steps:
                continue
            if sid is None:  # the order part
                self._status = part.after
            elif part.part == "sub_order_status":
                self._sub_status[sid] = part.after
            else:
                self._subs[sid] = part.after
        clock = self._observed_at
        if order_taken and result.observed_at is not None:
            self._observed_at = max(result.observed_at, clock or result.observed_at)
        changed = result.changed or added or self._observed_at != clock
        self._record((), changed=changed)
        return replace(result, changed=changed)

    # ---------------------------------------------------------------- persistence
    FORMAT = FORMAT
    FORMAT_1 = FORMAT_1

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        machine: CompiledMachine | None = None,
        refund_machine: CompiledMachine | None = None,
    ) -> Self:
        """Rebuild an order from :meth:`to_dict`'s output (on the machines given, as in the
        constructor); :class:`PayloadError` if invalid."""
        order = cls.__new__(cls)
        order._run_on(machine, refund_machine)
        order._begin()
        order._load(data)
        return order

    @classmethod
    def from_snapshot(
        cls,
        snapshot: TaobaoSnapshot,
        machine: CompiledMachine | None = None,
        refund_machine: CompiledMachine | None = None,
    ) -> Self:
        """Start holding an order first seen in ``snapshot`` (a purchase-page or callback
        snapshot from :func:`orderfsm.ingest.parse`): constructed in the statuses it
        states (the order's, each sub-order's own and refund status; see
        :func:`orderfsm.model.decide.first_sight_taobao` for unknown values), then the
        snapshot applied as its first observation (its ``modify_time`` sets the clock),
        so later snapshots are judged against it. On the machines given, as in the
        constructor."""
        order = cls(machine=machine, refund_machine=refund_machine)
        with order._lock:
            order._restore(first_sight_taobao(snapshot, *order._machines))
        order.apply(snapshot)
        return order

    def _fields(self, out: dict[str, Any]) -> dict[str, Any]:
        sub_status = self._sub_status
        out["version"] = self._version
        out["observed_at"] = self._observed_at
        out["status"] = self._status.code
        out["sub_orders"] = [
            {"id": sid, "status": sub_status[sid].code, "refund_status": refund.code}
            for sid, refund in self._subs.items()
        ]
        return out

    def _read(self, root: Field) -> Held:
        main, refund = self._machines
        entries = root.get("sub_orders").items()
        ids = [(entry.get("id").sub_id(), entry.get("id")) for entry in entries]
        unambiguous_ids(ids, "sub-order")
        status = root.get("status").status(main)
        statuses: dict[Hashable, State] = {ORDER_PART: status}
        sub_statuses: dict[Hashable, State] = {}
        refunds: dict[Hashable, State] = {}
        for (sid, _), entry in zip(ids, entries, strict=True):
            own = sub_statuses[sid] = entry.get("status").status(main)
            statuses[("sub_order_status", sid)] = own
            refunds[sid] = entry.get("refund_status").status(refund)
        statuses.update({("refund", sid): s for sid, s in refunds.items()})
        observed_at = root.get("observed_at").integer(nullable=True)
        state = HeldTaobao(status, sub_statuses, refunds, observed_at)
        return Held(statuses, {}, state)

    def _read_fields(self, data: dict[str, Any]) -> Held | None:
        """:meth:`_read` of fields written as ``to_dict`` writes them: status codes of
        their own type, sub-orders as objects with plain distinct ids (see the base)."""
        pair = pair_codes(self._machine, self._sub_machine)
        main, refund = pair.main, pair.refund
        entries, value = data.get("sub_orders"), data.get("status")
        observed_at = data.get("observed_at", False)
        if type(entries) is not list or not (observed_at is None or is_integer(observed_at)):
            return None
        try:  # an unhashable value, or a missing key: the checked read
            status = main[value]
            own: dict[Hashable, State] = {}
            refunds: dict[Hashable, State] = {}
            kinds = {status.code.__class__ is value.__class__}
            for entry in entries:
                if type(entry) is not dict:
                    return None
                sid, code, refund_code = entry["id"], entry["status"], entry["refund_status"]
                held, back = main[code], refund[refund_code]
                own[sid], refunds[sid] = held, back
                kinds.add(held.code.__class__ is code.__class__)
                kinds.add(back.code.__class__ is refund_code.__class__)
        except (KeyError, TypeError):
            return None
        if kinds != {True} or len(own) != len(entries) or not plain_distinct(list(own)):
            return None
        statuses: dict[Hashable, State] = {ORDER_PART: status}
        statuses.update({("sub_order_status", sid): s for sid, s in own.items()})
        statuses.update({("refund", sid): s for sid, s in refunds.items()})
        return Held(statuses, {}, HeldTaobao(status, own, refunds, observed_at))

    def _versions(self, held: Held, columns: Columns) -> Versions:
        """Beyond its steps, an order changes silently by gaining sub-orders (at most one
        change each) and, without limit, by newer duplicates moving its clock; a clock
        set without any snapshot step took an apply of its own."""
        state: HeldTaobao = held.state
        vias = columns[-1]
        least = changes_shown(vias)
        if state.observed_at is None:
            return Versions(least, len(vias) + len(state.refunds), bool(state.refunds))
        clock_alone = vias.count("trigger") == len(vias)
        return Versions(least + clock_alone, None, silent=True)

    def _sub_ids(self, held: Held) -> Collection[Hashable]:
        state: HeldTaobao = held.state
        return state.refunds.keys()

    def _restore(self, state: Any) -> None:
        self._status = state.status
        self._sub_status = dict(state.sub_statuses)
        self._subs = dict(state.refunds)
        self._observed_at = state.observed_at

    def can(self, event: str, sub_order: SubOrderId | None = None) -> bool:
        """Whether :meth:`trigger` would accept the event now (unknown names still raise)."""
        with self._lock:
            if sub_order is None and event in self._sub_machine.event_names:
                return False
            machine, status, parent = self._route(event, sub_order)
            return machine.allows(status, event, parent=parent, sub_order=self._own(sub_order))

    def enabled_events(
        self, sub_order: SubOrderId | None = None, *, actor: str | None = None
    ) -> tuple[str, ...]:
        """The events :meth:`trigger` would accept now, for the order or one sub-order;
        with ``actor`` (``buyer``, ``seller``, ``finance``, ``platform``) only that actor's."""
        with self._lock:
            if sub_order is None:
                return self._machine.enabled(self._status, actor=actor)
            return self._sub_machine.enabled(
                self._subs[self._known(sub_order)],
                parent=self._status,
                sub_order=self._own(sub_order),
                actor=actor,
            )

    def explain(self, event: str, sub_order: SubOrderId | None = None) -> Explanation:
        """Whether :meth:`trigger` would accept the event now, and why, without raising
        for a refusal (unknown names still raise): a refused answer carries the fields of
        the rejection :meth:`trigger` would raise (see :class:`~orderfsm.Explanation`)."""
        with self._lock:
            if sub_order is None and event in self._sub_machine.event_names:
                return Explanation.refused(self._machine.name, event, self._no_main_refund(event))
            machine, status, parent = self._route(event, sub_order)
            return machine.explain(status, event, parent=parent, sub_order=self._own(sub_order))

    def _no_main_refund(self, event: str) -> RefundNotAllowed:
        """The refusal of refund ``event`` addressed to the main order."""
        actors = self._sub_machine.actors(self._sub_machine.initial, event)
        allowed = self._machine.enabled(self._status)
        return RefundNotAllowed(
            f"taobao_order: {event!r} needs a sub-order: there is no main-order refund",
            rule="refunds live only on sub-orders",
            source=SUB_ORDER_RULE_SOURCE,
            status=str(self._status),
            allowed=allowed,
            actors=actors,
            alternatives=[
                e for e in allowed if set(self._machine.actors(self._status, e)) & set(actors)
            ],
        )

    def _decide(self, event: str, sub_order: SubOrderId | None) -> Step:
        if sub_order is None and event.__class__ is str:  # decided once per status and event
            memo = _decisions(self._machine)
            key = (self._status.name, event)
            step = memo.get(key)
            if step is None:
                step = self._route_and_decide(event, None)
                if not self._machine.verify:  # a verifying machine checks every call
                    memo[key] = step
            return step
        return self._route_and_decide(event, sub_order)

    def _route_and_decide(self, event: str, sub_order: SubOrderId | None) -> Step:
        """:meth:`_decide` by the pure core (caller holds the lock)."""
        if sub_order is None and event in self._sub_machine.event_names:
            raise self._no_main_refund(event)
        machine, status, parent = self._route(event, sub_order)
        return machine.transition(status, event, parent=parent, sub_order=self._own(sub_order))

    def _own(self, sub_order: SubOrderId | None) -> State | None:
        """The sub-order's own order status, which a refund's guards read (``sub_order``)."""
        return None if sub_order is None else self._sub_status[self._known(sub_order)]

    def _route(
        self, event: str, sub_order: SubOrderId | None
    ) -> tuple[CompiledMachine, State, State | None]:
        if sub_order is None:
            if event not in self._machine.event_names:
                raise UnknownEvent(
                    f"unknown event {event!r}; main-order events are: "
                    f"{', '.join(self._machine.event_names)}; sub-order (refund) events are: "
                    f"{', '.join(self._sub_machine.event_names)}"
                )
            return self._machine, self._status, None
        refund = self._subs[self._known(sub_order)]
        if event not in self._sub_machine.event_names:
            where = (
                "a main-order event: call it without sub_order"
                if event in self._machine.event_names
                else "unknown"
            )
            raise UnknownEvent(
                f"{event!r} is {where}; sub-order (refund) events are: "
                f"{', '.join(self._sub_machine.event_names)}"
            )
        return self._sub_machine, refund, self._status

    def __repr__(self) -> str:
        subs = ", ".join(f"{k!r}: {v}" for k, v in self._subs.items())
        return f"TaobaoOrder(status={self._status}, sub_orders={{{subs}}})"


_SHIPPED: tuple[CompiledMachine, CompiledMachine] | None = None


def _shipped() -> tuple[CompiledMachine, CompiledMachine]:
    """The shipped ``taobao_order`` and its ``taobao_refund`` machines, as the constructor
    resolves them without ``machine=``/``refund_machine=`` (shipped machines are compiled
    once per process, so this pair never changes once found)."""
    global _SHIPPED  # noqa: PLW0603 - a cache of two immutable values
    main = load("taobao_order")
    _SHIPPED = main, refund_machine_for(main, None, "TaobaoOrder", "taobao_refund")
    return _SHIPPED


def _decisions(machine: CompiledMachine) -> dict[tuple[str, str], Step]:
    """The main-order steps ``machine`` took, by (status name, event): for the order
    itself (no parent, no variables, no remembered status) the pure core's answer depends
    on nothing else, and machines are immutable, so each is decided once and kept with the
    machine. Refusals are not kept: they raise anew each time."""
    return machine.derived("taobao_main_steps", dict)
