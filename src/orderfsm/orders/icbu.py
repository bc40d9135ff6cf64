"""The Alibaba.com (ICBU) order: ``trade_status`` plus its extended state.

An :class:`IcbuOrder` holds its status, its ``pay_step`` and, while it is ``frozen``,
the status it had before it froze. Every decision is delegated to the shared compiled
``icbu_trade`` machine (compiled once per process by :func:`orderfsm.load`), so
creating an order builds nothing. A rejected event raises before anything is assigned:
status, ``pay_step`` and the remembered status stay as they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Self

from orderfsm.errors import InvalidOrderState, OrderFsmError, PayloadError
from orderfsm.model.compile import CompiledMachine, StatusLike, Step, load
from orderfsm.model.decide import ApplyResult, log_warnings, plan_icbu
from orderfsm.model.records import IcbuSnapshot
from orderfsm.model.table import State
from orderfsm.orders.copying import LockedOrder
from orderfsm.orders.history import Change
from orderfsm.orders.machines import require
from orderfsm.orders.producible import End, Entry, replay
from orderfsm.orders.stored import (
    HISTORY_KEYS,
    Columns,
    Field,
    change_from,
    change_row,
    changes_shown,
    check_version,
    columns_out,
    decode_change,
    header,
    history_columns,
    history_entries,
    quick_history,
)

ORDER_PART = ("order", None)
FORMAT = "orderfsm.icbu_trade/2"
FORMAT_1 = "orderfsm.icbu_trade/1"  # history as an array of entry objects: still read

MACHINE = "icbu_trade"
INTERCEPT_TAG = "must_intercept"


def must_intercept(status: StatusLike) -> bool:
    """Whether an ERP must intercept (hold any shipment of) an order in ``status``.

    True for ``frozen`` (the buyer started a refund or dispute) and ``charge_back``
    (credit-card charge-back): the statuses the ``icbu_trade`` table tags
    ``must_intercept``, after 002_72f8e4474636d231.txt, trade_status FAQ 3 ("需要拦截的情况
    主要有 买家发起退款 和信用卡拒付,分别对应 frozen 和 charge_back"). ``status`` is any
    spelling of an ICBU status; anything else raises :class:`~orderfsm.UnknownStatus`.
    """
    return INTERCEPT_TAG in load(MACHINE).status(status).tags


class IcbuOrder(LockedOrder):
    """An Alibaba.com order: ``status`` (trade_status), ``pay_step``, and frozen history.

    ``status`` defaults to the machine's initial status (``intention_processing``) and
    ``pay_step`` to the table's default (``FULL``). An order constructed in a history
    state (``frozen``) needs ``frozen_from``, the status it had before freezing, to be
    able to return there; without it only the closing events apply.

    ``machine`` defaults to the shipped ``icbu_trade``; an edited one
    (``orderfsm.load(path)``) must be an order-level machine declaring the ``pay_step``
    variable and tagging a status ``must_intercept``, else :class:`~orderfsm.TableError`.
    Copies share nothing with the original, and an order pickles.
    """

    def __init__(
        self,
        status: StatusLike | None = None,
        pay_step: str | None = None,
        frozen_from: StatusLike | None = None,
        *,
        machine: CompiledMachine | None = None,
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
        self._history: list[Change] = []
        self._stored: Columns = ()  # a checked history not yet decoded; before _history
        self._version = 0
        self._lock = self._new_lock()

    # ---------------------------------------------------------------- reading
    @property
    def machine(self) -> CompiledMachine:
        return self._machine

    @property
    def status(self) -> State:
        return self._status

    @property
    def pay_step(self) -> str:
        return self._variables["pay_step"]

    @property
    def variables(self) -> Mapping[str, str]:
        """A copy of the order's extended state (``pay_step``)."""
        return dict(self._variables)

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

    @property
    def history(self) -> tuple[Change, ...]:
        """The accepted events, oldest first (``sub_order`` is always ``None`` here; a
        restored history is decoded on first read)."""
        with self._lock:
            if self._stored:
                m = self._machine
                rows = zip(*self._stored, strict=True)
                self._history[:0] = [decode_change(r, m, m) for r in rows]
                self._stored = ()
            return tuple(self._history)

    @property
    def version(self) -> int:
        """How many accepted changes the order has had (for compare-and-set saving)."""
        return self._version

    # ---------------------------------------------------------------- acting
    def trigger(self, event: str) -> Step:
        """Apply ``event`` and return the step; on any error nothing changes.

        Raises :class:`~orderfsm.UnknownEvent` or a :class:`~orderfsm.TransitionRejected`
        subclass naming the rule (``ship`` in ``frozen`` or ``charge_back`` is refused by
        the ERP interception rule).
        """
        with self._lock:
            step = self._machine.transition(
                self._status, event, variables=self._variables, history=self._remembered
            )
            variables = step.transition.apply(self._variables)
            self._remembered = self._machine.remembered_after(step, self._remembered)
            self._status = step.target
            self._variables = variables
            self._history.append(Change(None, step))
            self._version += 1
            return step

    def apply(self, snapshot: IcbuSnapshot, force: bool = False) -> ApplyResult:
        """Apply an observed ``alibaba.seller.order.get`` snapshot (decided by
        :func:`orderfsm.model.decide.plan_icbu`); never raises for what it says."""
        with self._lock:
            result = plan_icbu(
                self._status,
                snapshot,
                self._machine,
                remembered=self._remembered,
                force=force,
                variables=self._variables,
            )
            part = result.part("order")
            for step in part.steps:
                self._remembered = self._machine.remembered_after(step, self._remembered)
                self._variables = step.transition.apply(self._variables)
                self._status = step.target
                self._history.append(Change(None, step, via=part.via))
            if result.changed:
                self._version += 1
            result = replace(result, version=self._version)
        log_warnings(result)
        return result

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict with the version counter (see :mod:`orderfsm.orders.stored`)."""
        with self._lock:
            return _to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], machine: CompiledMachine | None = None) -> Self:
        """Rebuild an order from :meth:`to_dict`'s output (on ``machine``, default the
        shipped table); :class:`PayloadError` if invalid."""
        order = cls(machine=machine)
        _from_dict(data, order)
        return order

    def _restore(
        self,
        *,
        status: State,
        variables: Mapping[str, str],
        remembered: State | None,
        history: list[Change],
        stored: Columns,
        version: int,
    ) -> None:
        """Replace the whole held state at once (used by :func:`_from_dict`): ``stored``
        is a checked history still to decode, ``history`` a decoded one."""
        with self._lock:
            self._status = status
            self._variables = self._machine.variables(variables)
            self._remembered = remembered
            self._history = list(history)
            self._stored = tuple(map(tuple, stored))
            self._version = version

    def can(self, event: str) -> bool:
        """Whether :meth:`trigger` would accept ``event`` now (an unknown name still raises)."""
        with self._lock:
            return self._machine.allows(
                self._status, event, variables=self._variables, history=self._remembered
            )

    def enabled_events(self) -> tuple[str, ...]:
        """The events :meth:`trigger` would accept now."""
        with self._lock:
            return self._machine.enabled(
                self._status, variables=self._variables, history=self._remembered
            )

    def __repr__(self) -> str:
        frozen = f", frozen_from={self._remembered}" if self._remembered else ""
        return f"IcbuOrder(status={self._status}, pay_step={self.pay_step}{frozen})"


# ---------------------------------------------------------------- stored format


def _to_dict(order: IcbuOrder) -> dict[str, Any]:
    """An :class:`~orderfsm.IcbuOrder` as a plain dict: status, variables, remembered
    pre-freeze status, history and version."""
    return {
        "format": FORMAT,
        "version": order._version,
        "status": order._status.code,
        "variables": dict(sorted(order._variables.items())),
        "frozen_from": None if order._remembered is None else order._remembered.code,
        "history": columns_out(
            HISTORY_KEYS, order._stored, [change_row(c) for c in order._history]
        ),
    }


def _from_dict(data: Mapping[str, Any], order: IcbuOrder) -> None:
    """Fill the fresh ``order`` from ``data`` (as produced by :meth:`IcbuOrder.to_dict`)."""
    root = Field(data, "$")
    version = header(root, FORMAT, FORMAT_1)
    columnar = root.get("format").value == FORMAT
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
    stored = history_columns(root.get("history").value, HISTORY_KEYS, columnar=columnar)
    least = None
    if stored is not None:
        least = quick_history(stored, machine, machine, {("order", None): status.code})
    history: list[Change] = []
    remembered_field = root.get("frozen_from")
    remembered = None if remembered_field.value is None else remembered_field.status(machine)
    if stored is None or least is None:  # entry by entry: other spellings, or an error
        fields = history_entries(root, HISTORY_KEYS, columnar=columnar)
        history = [change_from(c, machine, machine, ()) for c in fields]
        replay(
            [
                Entry(ORDER_PART, machine, c.step, c.via, f.path, f.get("src").path)
                for c, f in zip(history, fields, strict=True)
            ],
            {ORDER_PART: End(status, variables, remembered, raw_vars.path, remembered_field.path)},
        )
        stored, least = (), changes_shown([c.via for c in history])
    if not history and remembered is not None:  # as constructed, or after plain steps only
        try:
            machine.check_remembered(status, remembered)
        except InvalidOrderState as e:
            raise PayloadError(remembered_field.path, str(e)) from None
    check_version(
        version,
        least=least,
        most=len(history) + len(stored[2] if stored else ()),
        silent_changes=False,
    )
    order._restore(
        status=status,
        variables=variables,
        remembered=remembered,
        history=history,
        stored=stored,
        version=version,
    )
