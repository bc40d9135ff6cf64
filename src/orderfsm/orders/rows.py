"""An order's history as audit rows: one row per status a part of the order held.

:func:`history_rows` turns the history an order object stored (``order.history``) into
rows ``orderfsm audit`` reads with no ``--column`` flags (see ``docs/audit.md``, "History
rows"): write them as CSV with a header, JSON Lines or Parquet, or insert them into a
table and export it with ``COPY ... CSV HEADER``. Each row observes **one part** of the
order:

- the order's own status: ``sub_order_id`` is ``""``, ``refund_status`` is ``""``;
- a sub-order's own status (Taobao ``subOrderStatus``, judged by the order's machine):
  ``sub_order_id`` names it, ``refund_status`` is ``""``;
- a sub-order's refund (Taobao): ``refund_status`` is the refund status and ``status``
  the main order's status the refund step is judged under (its parent context);
- a KA sub-order (the only level KA events move; the order's and the trade's statuses
  are derived from them, not steps of the machine): ``sub_order_id`` is
  ``"<order>/<sub-order>"`` (see :func:`ka_leaf_id`).

A part's first row is its status before its first change (``via="initial"``), then one
row per change, ``via`` saying how the order took it, ``at`` when (the change's time,
``None`` when not known; an ``initial`` row's is never known). Rows only depend on the history,
so the rows of a history are a prefix of the rows of any later history of the same
order: a store appends the rows past the last ``seq`` it holds.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import astuple, dataclass, fields
from typing import TYPE_CHECKING, Literal

from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import CompiledMachine, Step
from orderfsm.model.table import State

if TYPE_CHECKING:
    from orderfsm.orders.history import Change
    from orderfsm.orders.icbu import IcbuOrder
    from orderfsm.orders.ka import KaTrade
    from orderfsm.orders.taobao import TaobaoOrder

RowVia = Literal[
    "initial", "trigger", "snapshot", "reconstructed", "forced", "quarantine", "release"
]
VIAS: tuple[str, ...] = (
    "initial",
    "trigger",
    "snapshot",
    "reconstructed",
    "forced",
    "quarantine",
    "release",
)
"""Every ``via`` a row carries (the audit refuses any other value)."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One status one part of an order held, in history order (see the module docstring).

    Field order is the column order :func:`history_header` names: :data:`HISTORY_COLUMNS`,
    then ``at`` (:data:`TIME_COLUMN`) when some row of the file has a time.
    """

    order_id: str
    seq: int
    machine: str
    sub_order_id: str
    status: str
    refund_status: str
    via: str
    at: int | None = None

    def cells(self, timed: bool) -> tuple[str | int, ...]:
        """The row's values in :func:`history_header` order: with ``timed``, the time
        last (``""`` when not known)."""
        values = astuple(self)
        if not timed:
            return values[:-1]
        return (*values[:-1], "" if self.at is None else self.at)


TIME_COLUMN = "at"
"""The column of a row's time: integer seconds since the Unix epoch (UTC), empty when not
known (``orderfsm audit`` reads it: dwell times and overdue orders)."""

HISTORY_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(HistoryRow) if f.name != TIME_COLUMN
)
"""The header of a file of :class:`HistoryRow` rows none of which has a time, in field order."""


def history_header(rows: Sequence[HistoryRow]) -> tuple[tuple[str, ...], bool]:
    """The header of a file of ``rows``, and whether it has the time column: only when
    some row's time is known, so that a history without times is written byte for byte
    as before rows carried them. Write each row as ``row.cells(timed)``."""
    timed = any(r.at is not None for r in rows)
    return (*HISTORY_COLUMNS, TIME_COLUMN) if timed else HISTORY_COLUMNS, timed


def ka_leaf_id(order: object, sub_order: object) -> str:
    """``"<order>/<sub-order>"``, with ``\\`` and ``/`` inside either id escaped by ``\\``,
    so that distinct (order, sub-order) pairs never share a key."""

    def escape(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace("/", "\\/")

    return f"{escape(order)}/{escape(sub_order)}"


def history_rows(order: TaobaoOrder | IcbuOrder | KaTrade, order_id: str) -> list[HistoryRow]:
    """The audit rows of ``order``'s stored history, keyed by ``order_id``.

    Raises :class:`~orderfsm.OrderFsmError` for an object that is not an order of the
    library or an ``order_id`` that is empty or not text.
    """
    from orderfsm.orders.icbu import IcbuOrder  # noqa: PLC0415 - orders import this module
    from orderfsm.orders.ka import KaTrade  # noqa: PLC0415
    from orderfsm.orders.taobao import TaobaoOrder  # noqa: PLC0415

    if not isinstance(order_id, str) or not order_id:
        raise OrderFsmError(f"history_rows: order_id must be non-empty text, got {order_id!r}")
    if not isinstance(order, KaTrade | TaobaoOrder | IcbuOrder):
        raise OrderFsmError(
            f"history_rows: expected a TaobaoOrder, IcbuOrder or KaTrade, "
            f"got {type(order).__name__}"
        )
    rows = _Rows(order_id, order.machine.name)
    if isinstance(order, KaTrade):
        for ka in order.history:
            (oid, sid), step = ka
            rows.change(("ka", oid, sid), ka_leaf_id(oid, sid), step, "trigger", ka.at)
    elif isinstance(order, TaobaoOrder):
        _taobao(order, rows)
    else:
        for change in order.history:
            rows.change(None, "", change.step, change.via, change.at)
    return rows.out


class _Rows:
    """The rows being written: each part's first row is its status before it changed."""

    def __init__(self, order_id: str, machine: str) -> None:
        self.order_id = order_id
        self.machine = machine
        self.out: list[HistoryRow] = []
        self._seen: set[Hashable] = set()

    def row(
        self, sub: str, status: State, refund: State | None, via: str, at: int | None = None
    ) -> None:
        self.out.append(
            HistoryRow(
                self.order_id,
                len(self.out) + 1,
                self.machine,
                sub,
                str(status.code),
                "" if refund is None else str(refund.code),
                via,
                at,
            )
        )

    def change(
        self,
        part: Hashable,
        sub: str,
        step: Step,
        via: str,
        at: int | None,
        *,
        parent: State | None = None,
        parent_now: State | None = None,
    ) -> None:
        """A change of one part at ``at``; ``parent`` given means the part is a refund
        judged under it (``parent_now``: the main status of the moment, shown on its
        initial row, whose time is not known: the part held it since before)."""
        if part not in self._seen:
            self._seen.add(part)
            if parent is None:
                self.row(sub, step.source, None, "initial")
            else:
                self.row(sub, parent_now or parent, step.source, "initial")
        if parent is None:
            self.row(sub, step.target, None, via, at)
        else:
            self.row(sub, parent, step.target, via, at)


def _taobao(order: TaobaoOrder, rows: _Rows) -> None:
    """Taobao: the main status, each sub-order's own status, each sub-order's refund."""
    history = order.history
    main = _main_statuses(history, order.status)
    refund_machine = order.refund_machine
    for i, change in enumerate(history):
        sid = change.sub_order
        if sid is None:
            rows.change(None, "", change.step, change.via, change.at)
        elif change.sub_order_status:
            rows.change(("status", sid), str(sid), change.step, change.via, change.at)
        else:
            parent = _refund_parent(refund_machine, history, main, i)
            rows.change(
                ("refund", sid),
                str(sid),
                change.step,
                change.via,
                change.at,
                parent=parent,
                parent_now=main[i],
            )


def _main_statuses(history: Sequence[Change], now: State) -> list[State]:
    """The main order's status when each change of ``history`` was taken (before it)."""
    out: list[State] = [now] * len(history)
    status = now
    for i in range(len(history) - 1, -1, -1):
        change = history[i]
        if change.sub_order is None:
            status = change.step.source
        out[i] = status
    return out


def _refund_parent(
    refund: CompiledMachine, history: Sequence[Change], main: list[State], i: int
) -> State:
    """The main status the refund step ``history[i]`` is judged under.

    A triggered refund step happened under the main status of that moment. A snapshot
    moves the main order first and its refunds after, and accepts a refund step that
    one of the main statuses it passed through allows (``orderfsm.model.paths``,
    ``Said.parents``): the row names the latest main status since the last trigger that
    allows the step, else the current one (which the audit then refuses). The row does
    not carry the sub-order's own status, so it is tried as the audit judges it: any.
    """
    change = history[i]
    current = main[i]
    if change.via not in ("snapshot", "reconstructed"):
        return current
    step = change.step
    candidates = [current]
    j = i - 1
    while j >= 0 and history[j].via != "trigger":
        candidates.append(main[j])
        j -= 1
    for parent in candidates:
        for own in refund.sub_order_statuses:
            try:
                taken = refund.transition(step.source, step.event, parent=parent, sub_order=own)
            except OrderFsmError:
                continue
            if taken.target == step.target:
                return parent
    return current
