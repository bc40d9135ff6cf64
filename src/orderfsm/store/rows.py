"""The rows an order's history becomes in the ``order_history`` table.

They are the library's audit rows (:func:`orderfsm.history_rows`), one per status a part
of the order held, numbered ``seq`` 1, 2, ... per order, with the columns ``orderfsm
audit`` reads by default, so an export of the table audits with no ``--column`` flags.
The rows of a history are a prefix of the rows of any longer history of the same order,
so a save appends the rows past those already stored.
"""

from __future__ import annotations

from typing import Any

from orderfsm.orders.icbu import IcbuOrder
from orderfsm.orders.ka import KaTrade
from orderfsm.orders.rows import HISTORY_COLUMNS, HistoryRow
from orderfsm.orders.taobao import TaobaoOrder

StoredOrder = TaobaoOrder | IcbuOrder | KaTrade
"""An order the store keeps: any of the library's order classes."""


def row_values(row: HistoryRow) -> tuple[Any, ...]:
    """A row's values in column order (:data:`~orderfsm.orders.rows.HISTORY_COLUMNS`; the
    table has no column for the row's time yet)."""
    return row.cells(timed=False)


def row_dict(row: HistoryRow) -> dict[str, Any]:
    """A row as a JSON-able dict (the outbox payload carries the rows of its change)."""
    return dict(zip(HISTORY_COLUMNS, row.cells(timed=False), strict=True))
