"""Which columns of an export the audit reads, and how rows are handed to the engines."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from orderfsm.errors import OrderFsmError
from orderfsm.orders.rows import VIAS

SEQ_FALLBACKS = ("seq", "timestamp", "modify_time", "updated_at", "time")
"""Ordering columns tried, in order, when ``seq`` is not renamed and the file has no ``seq``."""

INTEGER_SEQ = re.compile(r"-?[0-9]{1,18}\Z")
"""An ordering value that makes the column numeric when the first row's is one (both
engines; 64-bit like the SQL engine's ``BIGINT``)."""

MAX_FIELD = 1024
"""Longest order id, sub-order id, ordering value or status the audit accepts (characters)."""

Record = tuple[int, str, str, str, str | None, str | None, str | None, str | None]
"""One row as the engines see it: ``(line, order_id, seq, status, sub_order_id,
refund_status, via, at)``; the last four are ``None`` when the file has no such column,
and a missing value in a present column is ``""``."""

KNOWN_VIAS = frozenset(VIAS)
"""The values of a ``via`` column (how the order took the row's status; see
:mod:`orderfsm.orders.rows`). A row with a ``via`` observes one part of the order."""


@dataclass(frozen=True, slots=True)
class Columns:
    """The names of the columns (CSV) or keys (JSON Lines, Parquet) the audit reads.

    ``order_id``, ``status`` and the ordering column ``seq`` are required; ``sub_order_id``,
    ``refund_status`` and ``via`` are read when present (Taobao sub-orders and their
    refunds, or KA sub-orders keyed by order and sub-order; how each step was taken);
    ``machine`` may name the machine the file follows; ``at`` is the row's time (seconds
    since the epoch, UTC), read when present (dwell times and overdue orders).
    """

    order_id: str = "order_id"
    seq: str = "seq"
    status: str = "status"
    sub_order_id: str = "sub_order_id"
    refund_status: str = "refund_status"
    machine: str = "machine"
    via: str = "via"
    at: str = "at"

    @classmethod
    def parse(cls, pairs: Mapping[str, str]) -> Columns:
        """Columns renamed by ``{"seq": "ts", ...}``; an unknown key is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(pairs) - known)
        if unknown:
            raise OrderFsmError(
                f"unknown column role {unknown[0]!r}; roles are: {', '.join(sorted(known))}"
            )
        return replace(cls(), **pairs)

    def resolve_seq(self, present: set[str] | list[str]) -> Columns:
        """Pick the ordering column: ``seq`` as named, else the first fallback present."""
        if self.seq in present or self.seq != "seq":
            return self
        found = next((name for name in SEQ_FALLBACKS if name in present), None)
        return self if found is None else replace(self, seq=found)

    @property
    def required(self) -> tuple[str, str, str]:
        return (self.order_id, self.seq, self.status)
