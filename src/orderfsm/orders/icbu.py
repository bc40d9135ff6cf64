"""The Alibaba.com (ICBU) order: ``trade_status`` plus its extended state.

An :class:`IcbuOrder` holds its status, its ``pay_step`` and, while it is ``frozen``,
the status it had before it froze. Every decision is delegated to the shared compiled
``icbu_trade`` machine (compiled once per process by :func:`orderfsm.load`), so
creating an order builds nothing. A rejected event raises before anything is assigned:
status, ``pay_step`` and the remembered status stay as they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from orderfsm.errors import OrderFsmError, PayloadError
from orderfsm.model.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.model.deadlines import Due, Holidays, due_now, no_holidays, shipment_due
from orderfsm.model.decide import ApplyResult, plan_icbu, stated_variables
from orderfsm.model.explain import Explanation
from orderfsm.model.records import IcbuSnapshot, ShipmentDate, shipment_date_problem
from orderfsm.model.table import Deadline, State
from orderfsm.orders.core import ORDER_PART, ChangeOrder, Held, no_sub_orders
from orderfsm.orders.history import Change
from orderfsm.orders.ids import SubOrderId
from orderfsm.orders.listeners import notify
from orderfsm.orders.machines import require
from orderfsm.orders.producible import End
from orderfsm.orders.stored import Field

FORMAT = "orderfsm.icbu_trade/2"
FORMAT_1 = "orderfsm.icbu_trade/1"  # history as an array of entry objects: still read

MACHINE = "icbu_trade"
INTERCEPT_TAG = "must_intercept"
PAID = "paid"
"""The status a payment enters when it succeeds (002_72f8e4474636d231.txt, trade_status:
"paid:买家支付完成(Buyer payment success)"): a contractual shipment date counts from it."""
BALANCE = ("pay_step", "BALANCE")
"""The variable a step sets when the advance is paid and the balance falls due ("尾款BALANCE");
payments before it are the advance's, after it the balance's."""


def must_intercept(status: StatusLike) -> bool:
    """Whether an ERP must intercept (hold any shipment of) an order in ``status``.

    True for ``frozen`` (the buyer started a refund or dispute) and ``charge_back``
    (credit-card charge-back): the statuses the ``icbu_trade`` table tags
    ``must_intercept``, after 002_72f8e4474636d231.txt, trade_status FAQ 3 ("需要拦截的情况
    主要有 买家发起退款 和信用卡拒付,分别对应 frozen 和 charge_back"). ``status`` is any
    spelling of an ICBU status; anything else raises :class:`~orderfsm.UnknownStatus`.
    """
    return INTERCEPT_TAG in load(MACHINE).status(status).tags


class IcbuOrder(ChangeOrder):
    """An Alibaba.com order: ``status`` (trade_status), ``pay_step``, and frozen history.

    ``status`` defaults to the machine's initial status (``intention_processing``) and
    ``pay_step`` to the table's default (``FULL``). An order constructed in a history
    state (``frozen``) needs ``frozen_from``, the status it had before freezing, to be
    able to return there; without it only the closing events apply.

    ``machine`` defaults to the shipped ``icbu_trade``; an edited one
    (``orderfsm.load(path)``) must be an order-level machine declaring the ``pay_step``
    variable and tagging a status ``must_intercept``, else :class:`~orderfsm.TableError`.
    Copies share nothing with the original, and an order pickles.

    ``shipment_date`` is the contract's shipment date (:class:`ShipmentDate`), from which
    the deadline of ``undeliver`` comes (:meth:`deadline`; see ``docs/time.md``).

    An ICBU order has no sub-orders: ``trigger``, ``can`` and ``enabled_events`` take
    ``sub_order=`` as the other order classes do, and raise
    :class:`~orderfsm.UnknownSubOrder` when one is given; every change in its
    ``history`` has ``sub_order`` ``None``.
    """

    FORMAT = FORMAT
    FORMAT_1 = FORMAT_1
    _shipment_date: ShipmentDate | None = None  # an order pickled before terms existed

    def __init__(
        self,
        status: StatusLike | None = None,
        pay_step: str | None = None,
        frozen_from: StatusLike | None = None,
        *,
        machine: CompiledMachine | None = None,
        shipment_date: ShipmentDate | None = None,
    ) -> None:
        self._machine: CompiledMachine = (
            load(MACHINE)
            if machine is None
            else require(machine, "IcbuOrder", variables=("pay_step",), tags=(INTERCEPT_TAG,))
        )
        m = self._machine
        self._status = m.initial if status is None else m.status(status)
        self._variables = m.variables({} if pay_step is None else {"pay_step": pay_step})
        self._remembered = (
            None if frozen_from is None else m.check_remembered(self._status, frozen_from)
        )
        self._sub_machine = m  # no sub-orders: history entries all move the order
        if shipment_date is not None and not isinstance(shipment_date, ShipmentDate):
            raise OrderFsmError(f"shipment_date: expected a ShipmentDate, got {shipment_date!r}")
        self._shipment_date = shipment_date
        self._begin()

    # ---------------------------------------------------------------- reading
    @property
    def pay_step(self) -> str:
        return self._variables["pay_step"]

    @property
    def variables(self) -> Mapping[str, str]:
        """A copy of the order's extended state (``pay_step``)."""
        return dict(self._variables)

    @property
    def shipment_date(self) -> ShipmentDate | None:
        """The contract's shipment date (``None``: not given)."""
        return self._shipment_date

    @property
    def frozen_from(self) -> State | None:
        """The status remembered while the order is in a history state (``frozen``)."""
        return self._remembered

    @property
    def customer_text(self) -> str:
        """What a person is shown; in ``unpay`` it names the payment due (by ``pay_step``)."""
        return self._status.text_for(self._variables)

    @property
    def must_intercept(self) -> bool:
        """Whether an ERP must hold this order's shipment now (see :func:`must_intercept`)."""
        return INTERCEPT_TAG in self._status.tags

    # ---------------------------------------------------------------- time
    def deadline(self, holidays: Holidays = no_holidays) -> Due | None:
        """The deadline that applies to the order's status now (``None`` where the table
        states none). ``undeliver``'s comes from the order's ``shipment_date``: its
        ``duration`` days after the advance payment (``relative``) or the balance payment
        (``relative_balance``), each the time the order entered ``paid`` on that
        payment, or its date (``absolute``); not known (``Due.at`` ``None``) without a
        shipment date or the payment's time. From the stored history: no clock is read."""
        with self._lock:
            status, entered = self._status, self._entered()
            terms = self._shipment_date
            advance, balance = self._payments() if terms is not None else (None, None)

        def shipment(rule: Deadline) -> int | None:
            return shipment_due(terms, advance, balance, rule.unit, holidays)

        return due_now(self._machine, status, entered, holidays, terms=shipment)

    def _payments(self) -> tuple[int | None, int | None]:
        """When the advance and the balance were paid: the time of the first change into
        :data:`PAID` before and after the step that made the balance due (:data:`BALANCE`);
        with no such step, every payment is the advance's, unless the order holds
        ``pay_step`` BALANCE (its advance was paid before its history began). Caller holds
        the lock."""
        history = self._decoded()
        made_due = [i for i, c in enumerate(history) if BALANCE in c.step.transition.sets]
        if made_due:
            last = made_due[-1]
            return _first_paid(history[:last]), _first_paid(history[last + 1 :])
        if self._variables.get(BALANCE[0]) == BALANCE[1]:
            return None, None
        return _first_paid(history), None

    # ---------------------------------------------------------------- acting
    def trigger(
        self, event: str, sub_order: SubOrderId | None = None, *, at: int | None = None
    ) -> Step:
        """Apply ``event`` and return the step; on any error nothing changes.

        Raises :class:`~orderfsm.UnknownEvent`, :class:`~orderfsm.UnknownSubOrder` (for
        any ``sub_order``: an ICBU order has none) or a
        :class:`~orderfsm.TransitionRejected` subclass naming the rule (``ship`` in
        ``frozen`` or ``charge_back`` is refused by the ERP interception rule). ``at`` is
        when it happened (an integer, recorded as ``Change.at``; see ``docs/time.md``).
        """
        with self._lock:
            time = self._time_of(at, told=True)
            step = self._decide(event, sub_order)
            self._take(step)
            change = Change(None, step, at=time)
            self._record([change])
            self._triggered(change)
        notify(self, (change,), step)
        return step

    def _decide(self, event: str, sub_order: SubOrderId | None) -> Step:
        no_sub_orders("an ICBU order", sub_order)
        return self._machine.transition(
            self._status, event, variables=self._variables, history=self._remembered
        )

    def _take(self, step: Step) -> None:
        """Move to ``step``'s target, with the variables and remembered status it leaves."""
        self._remembered = self._machine.remembered_after(step, self._remembered)
        self._variables = step.transition.apply(self._variables)
        self._status = step.target

    def apply(
        self, snapshot: IcbuSnapshot, force: bool = False, *, at: int | None = None
    ) -> ApplyResult:
        """Apply an observed ``alibaba.seller.order.get`` snapshot (decided by
        :func:`orderfsm.model.decide.plan_icbu`); never raises for what it says."""
        return self._apply(
            lambda: plan_icbu(
                self._status,
                snapshot,
                self._machine,
                remembered=self._remembered,
                force=force,
                variables=self._variables,
            ),
            snapshot.modified_at,
            at,
        )

    def _commit(self, result: ApplyResult, at: int | None) -> ApplyResult:
        part = result.part("order")
        for step in part.steps:
            self._take(step)
        self._record(
            [Change(None, step, via=part.via, at=at) for step in part.steps], changed=result.changed
        )
        return result

    # ---------------------------------------------------------------- persistence
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], machine: CompiledMachine | None = None) -> Self:
        """Rebuild an order from :meth:`to_dict`'s output (on ``machine``, default the
        shipped table); :class:`PayloadError` if invalid."""
        order = cls(machine=machine)
        order._load(data)
        return order

    @classmethod
    def from_snapshot(cls, snapshot: IcbuSnapshot, machine: CompiledMachine | None = None) -> Self:
        """Start holding an order first seen in ``snapshot`` (``parse(body, "icbu_order")``,
        XML or JSON): constructed in its ``trade_status`` with its ``pay_step`` (the
        table's default where it states none or one the table does not list), then the
        snapshot applied as its first observation. A ``trade_status`` the machine does
        not know raises :class:`~orderfsm.UnknownStatus`: ``icbu_trade`` has no
        quarantine status to hold it in."""
        m = load(MACHINE) if machine is None else machine
        stated, _ = stated_variables(m, snapshot)  # an unlisted pay_step: apply warns
        order = cls(
            m.status(snapshot.trade_status),
            (stated or {}).get("pay_step"),
            machine=m,
            shipment_date=snapshot.shipment_date,
        )
        order.apply(snapshot)
        return order

    def _fields(self, out: dict[str, Any]) -> dict[str, Any]:
        remembered = self._remembered
        out.update(
            {
                "version": self._version,
                "status": self._status.code,
                "variables": dict(sorted(self._variables.items())),
                "frozen_from": None if remembered is None else remembered.code,
            }
        )
        terms = self._shipment_date
        if terms is not None:  # written only when given: other dicts stay as they were
            out["shipment_date"] = {
                "type": terms.type,
                "duration": terms.duration,
                "timestamp": terms.timestamp,
            }
        return out

    def _read(self, root: Field) -> Held:
        machine = self._machine
        raw_vars = root.get("variables")
        if not isinstance(raw_vars.value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw_vars.value.items()
        ):
            raise PayloadError(raw_vars.path, "expected an object of string values")
        try:
            variables = machine.variables(raw_vars.value)
        except OrderFsmError as e:
            raise PayloadError(raw_vars.path, str(e)) from None
        status = root.get("status").status(machine)
        kept = root.get("frozen_from")
        remembered = None if kept.value is None else kept.status(machine)
        end = End(status, variables, remembered, raw_vars.path, kept.path)
        stored = _Stored(status, variables, remembered, _stored_shipment_date(root))
        return Held({ORDER_PART: status}, {ORDER_PART: end}, stored)

    def _restore(self, state: Any) -> None:
        self._status = state.status
        self._variables = dict(state.variables)
        self._remembered = state.remembered
        self._shipment_date = state.shipment_date

    def can(self, event: str, sub_order: SubOrderId | None = None) -> bool:
        """Whether :meth:`trigger` would accept ``event`` now (an unknown name, or any
        ``sub_order``, still raises)."""
        no_sub_orders("an ICBU order", sub_order)
        with self._lock:
            return self._machine.allows(
                self._status, event, variables=self._variables, history=self._remembered
            )

    def enabled_events(
        self, sub_order: SubOrderId | None = None, *, actor: str | None = None
    ) -> tuple[str, ...]:
        """The events :meth:`trigger` would accept now (any ``sub_order`` raises); with
        ``actor`` (``buyer``, ``seller``, ``platform``...) only that actor's."""
        no_sub_orders("an ICBU order", sub_order)
        with self._lock:
            return self._machine.enabled(
                self._status, variables=self._variables, history=self._remembered, actor=actor
            )

    def explain(self, event: str, sub_order: SubOrderId | None = None) -> Explanation:
        """Whether :meth:`trigger` would accept ``event`` now, and why, without raising for
        a refusal (see :class:`~orderfsm.Explanation`; an unknown name or any
        ``sub_order`` still raises)."""
        no_sub_orders("an ICBU order", sub_order)
        with self._lock:
            return self._machine.explain(
                self._status, event, variables=self._variables, history=self._remembered
            )

    def __repr__(self) -> str:
        frozen = f", frozen_from={self._remembered}" if self._remembered else ""
        return f"IcbuOrder(status={self._status}, pay_step={self.pay_step}{frozen})"


@dataclass(frozen=True, slots=True)
class _Stored:
    """What a stored ICBU dict holds beside its history."""

    status: State
    variables: Mapping[str, str]
    remembered: State | None
    shipment_date: ShipmentDate | None


_SHIPMENT_KEYS = ("type", "duration", "timestamp")


def _stored_shipment_date(root: Field) -> ShipmentDate | None:
    """The stored ``shipment_date`` (optional: written only when the order has one), each
    field checked as :class:`ShipmentDate` checks it and named when wrong."""
    if not isinstance(root.value, Mapping) or "shipment_date" not in root.value:
        return None
    field = root.get("shipment_date")
    if not isinstance(field.value, Mapping) or set(field.value) != set(_SHIPMENT_KEYS):
        raise PayloadError(field.path, f"expected an object of {', '.join(_SHIPMENT_KEYS)}")
    kind, duration, timestamp = (field.value[key] for key in _SHIPMENT_KEYS)
    problem = shipment_date_problem(kind, duration, timestamp)
    if problem is not None:
        name = "timestamp" if problem[0] == "date" else problem[0]
        raise PayloadError(f"{field.path}.{name}", problem[1])
    return ShipmentDate(kind, duration, timestamp)


def _first_paid(changes: Sequence[Change]) -> int | None:
    """The time of the first change into :data:`PAID` (``None``: none, or not known)."""
    return next((c.at for c in changes if c.step.target.name == PAID), None)
