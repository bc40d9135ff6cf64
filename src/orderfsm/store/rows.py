"""The rows an order's history becomes in the ``order_history`` table.

One row per change of any part of the order, numbered ``seq`` 1, 2, ... per order, with
the columns ``orderfsm audit`` reads by default (``order_id``, ``seq``, ``status``,
``sub_order_id``, ``refund_status``, ``machine``) and ``via``, how the change came about.

Each row shows the order as the change left it, so that the audit judges every change
in the context it happened in: ``status`` is the main order's status (for a Taobao
refund, the parent status its guard reads), ``sub_order_id`` the sub-order that moved
(``""`` for the order itself; a KA leaf is ``order/sub_order``), ``refund_status`` the
refund status a refund change reached (``""`` when the row is not about a refund).

:func:`_history_rows` is this room's private stand-in for the library's public
``orderfsm.history_rows`` (same fields), to be replaced by it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from orderfsm.model.compile import Step
from orderfsm.orders.history import Change
from orderfsm.orders.icbu import IcbuOrder
from orderfsm.orders.ka import KaTrade
from orderfsm.orders.taobao import TaobaoOrder

StoredOrder = TaobaoOrder | IcbuOrder | KaTrade
"""An order the store keeps: any of the library's order classes."""


class _HistoryRow(NamedTuple):
    """One change of one part of an order, as the ``order_history`` table stores it."""

    order_id: str
    seq: int
    machine: str
    sub_order_id: str
    status: str
    refund_status: str
    via: str


def _history_rows(order: StoredOrder, order_id: str) -> list[_HistoryRow]:
    """Every change in ``order.history`` as a row, oldest first (``seq`` from 1)."""
    machine = order.machine.name
    if isinstance(order, KaTrade):
        return [
            _HistoryRow(order_id, i, machine, f"{leaf[0]}/{leaf[1]}", _code(step), "", "trigger")
            for i, (leaf, step) in enumerate(order.history, 1)
        ]
    history = order.history
    main = _initial_main_status(history, order)
    rows = []
    for i, change in enumerate(history, 1):
        if change.sub_order is None:
            main = _code(change.step)
            rows.append(_HistoryRow(order_id, i, machine, "", main, "", change.via))
            continue
        refund = "" if change.sub_order_status else _code(change.step)
        rows.append(
            _HistoryRow(order_id, i, machine, str(change.sub_order), main, refund, change.via)
        )
    return rows


def _initial_main_status(history: tuple[Change, ...], order: TaobaoOrder | IcbuOrder) -> str:
    """The main status before the first change: where the first main step started, or
    (no main step at all) the status held now."""
    for change in history:
        if change.sub_order is None:
            return str(change.step.source.code)
    return str(order.status.code)


def _code(step: Step) -> str:
    return str(step.target.code)


def row_dict(row: _HistoryRow) -> dict[str, Any]:
    """A row as a JSON-able dict (the outbox payload carries the rows of its change)."""
    return row._asdict()
