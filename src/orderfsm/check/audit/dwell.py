"""Time in the audit: how long orders waited in each status, and which overran a deadline.

An export with a time column (role ``at``: integer seconds since the Unix epoch, UTC;
empty when not known) is read, in every engine, as follows (``docs/audit.md``, "Time"):

- A row's time is read when its order id, ordering value and ``via`` are usable. A cell
  that is not an integer of 1 to 11 digits, or is earlier than a time read before it in
  the same order (rows in ``seq`` order), is a problem on that row (column ``at``); the
  row is still judged, its time is not used.
- Per part of an order (as the findings judge them), consecutive rows with one status are
  one **stay**, entered at the time of its first row. A stay ends at the first row of the
  next stay. Its **dwell** is the end's time minus the entry's, counted when both are
  known; a stay the export ends in is still waiting and has no dwell.
- A stay in a status the table gives a deadline (:mod:`orderfsm.model.deadlines`) is
  **overdue** when it ended (or, still waiting, is at ``as_of``: default the latest time
  read) strictly after the deadline that falls from its entry, both known.

Statistics per ``(machine, status)`` and per ``(machine, status, next status)``: count,
median and 95th percentile by nearest rank (the smallest dwell with at least half,
respectively 95 %, of the dwells at or below it), and maximum. So that memory stays
bounded at any export size, and the SQL engines compute the very same numbers, dwells
are counted in a histogram of values rounded down to :data:`SIGNIFICANT_BITS`
significant bits (exact below 1,024 seconds, then less than 1/512 below the true value);
count and maximum are exact, median and 95th percentile are those rounded values.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orderfsm.model.compile import CompiledMachine
from orderfsm.model.deadlines import DAY, counted_deadline_of, due
from orderfsm.model.table import Code, Deadline

TIME = re.compile(r"[0-9]{1,11}\Z")
"""A usable time cell: seconds since the epoch, 0 to 99,999,999,999 (year 5138), so that
every deadline from it is a date Python and SQL both represent."""

TIME_PATTERN = "[0-9]{1,11}"
""":data:`TIME` as the SQL engines spell it."""

SIGNIFICANT_BITS = 10
"""Dwells are counted rounded down to this many significant bits (see the module)."""

LONGEST_DWELL_BITS = 37
"""Bit length of the longest dwell a usable time allows (``10 ** 11 < 2 ** 37``)."""


def rounded(seconds: int) -> int:
    """``seconds`` rounded down to :data:`SIGNIFICANT_BITS` significant bits."""
    extra = seconds.bit_length() - SIGNIFICANT_BITS
    return seconds if extra <= 0 else seconds >> extra << extra


def rounded_sql(expr: str) -> str:
    """:func:`rounded` as a portable SQL expression over the non-negative ``expr``."""
    whens = " ".join(
        f"WHEN {expr} < {1 << bits} THEN {expr} - {expr} % {1 << (bits - SIGNIFICANT_BITS)}"
        for bits in range(SIGNIFICANT_BITS + 1, LONGEST_DWELL_BITS + 1)
    )
    return f"CASE WHEN {expr} < {1 << SIGNIFICANT_BITS} THEN {expr} {whens} END"


def nearest_rank(histogram: Mapping[int, int], percent: int) -> int:
    """The smallest value with at least ``percent`` % of the counts at or below it."""
    total = sum(histogram.values())
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen * 100 >= percent * total:
            return value
    raise ValueError("an empty histogram has no percentile")


def time_problem(column: str, raw: str, latest: int | None, order_id: str) -> str | None:
    """What is wrong with the time cell ``raw`` of a row of ``order_id`` read after
    ``latest`` (``None``: usable)."""
    if not TIME.match(raw):
        return (
            f"{column} {_short(raw)} is not a time (seconds since the epoch, UTC: an integer "
            "of 1 to 11 digits)"
        )
    if latest is not None and int(raw) < latest:
        return (
            f"{column} {raw} is earlier than {latest}, a time before it in order {_short(order_id)}"
        )
    return None


def _short(value: str, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(value)} characters)"


def lower_bound(rule: Deadline) -> int:
    """Seconds from entry the deadline falls at the earliest: exactly, in calendar days; a
    lower bound in business days (each at least a calendar day). Only for a deadline with
    a count of its own (:func:`~orderfsm.model.deadlines.counted_deadline_of`)."""
    assert rule.most is not None
    return rule.most * DAY


@dataclass(frozen=True, slots=True)
class DwellStats:
    """How long orders waited in ``status`` (a name) of ``machine`` before leaving it."""

    machine: str
    status: str
    count: int
    median: int
    p95: int
    maximum: int


@dataclass(frozen=True, slots=True)
class Overdue:
    """A stay that overran its deadline: entered at ``entered`` (row ``file:line``), late
    after ``deadline``, left at ``left`` (``None``: still waiting at ``as_of``), by
    ``overrun`` seconds. ``status`` is the platform's code."""

    file: str
    line: int
    order_id: str
    sub_order_id: str | None
    machine: str
    status: Code
    entered: int
    deadline: int
    left: int | None
    overrun: int
    rule: Deadline

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "line": self.line, "order_id": self.order_id}
        if self.sub_order_id is not None:
            out["sub_order_id"] = self.sub_order_id
        p = self.rule.provenance
        out |= {
            "machine": self.machine,
            "status": self.status,
            "entered_at": self.entered,
            "deadline": self.deadline,
            "left_at": self.left,
            "overrun": self.overrun,
            "rule": {
                "within": [self.rule.least, self.rule.most],
                "unit": self.rule.unit,
                "provenance": p.kind,
                "sources": [
                    {"doc": c.doc, "section": c.section, "says": c.says} for c in p.sources
                ],
                "basis": p.basis,
            },
        }
        return out

    def text(self) -> str:
        where = f"{self.file}:{self.line}: order {self.order_id}"
        if self.sub_order_id is not None:
            where += f" sub-order {self.sub_order_id}"
        still = "still waiting" if self.left is None else f"left at {self.left}"
        return (
            f"{where}: overdue {self.machine}: {self.status} entered at {self.entered}, late "
            f"after {self.deadline} ({self.rule.most} {self.rule.unit.replace('_', ' ')}), "
            f"{still}: overran by {self.overrun} s"
        )


Stay = tuple[tuple[int, int, str], str, str | None, str, str, int, int | None, str, int]
"""A candidate overrun held until the report is final: ``((file index, line or
position, machine), order_id, sub_order_id, machine, status name, entered, left, file,
line)``; the first item orders the list as the SQL engines order it."""


@dataclass(slots=True)
class TimeReport:
    """The time part of an audit: dwell histograms, overdue stays (the first ``keep`` by
    where they were entered, counted exactly), and the instant still-waiting stays are
    judged at (``given``, else the latest time read)."""

    machines: Mapping[str, CompiledMachine]
    given: int | None = None
    keep: int = 1000
    column: str = "at"
    latest: int | None = None
    histograms: dict[tuple[str, str, str], Counter[int]] = field(default_factory=dict)
    maxima: dict[tuple[str, str, str], int] = field(default_factory=dict)
    overdue_count: int = 0
    overdue: list[Overdue] = field(default_factory=list)
    _held: list[tuple[tuple[int, int, int], Stay]] = field(default_factory=list)
    _pending: list[Stay] = field(default_factory=list)
    _final: bool = False
    _rules: dict[tuple[str, str], Deadline | None] = field(default_factory=dict)

    @property
    def as_of(self) -> int | None:
        return self.given if self.given is not None else self.latest

    def saw(self, at: int) -> None:
        """A usable time was read."""
        if self.latest is None or at > self.latest:
            self.latest = at

    def dwelt(self, machine: str, src: str, dst: str, seconds: int, n: int = 1) -> None:
        """``n`` stays in ``src`` left for ``dst`` after ``seconds`` (rounded first)."""
        key = (machine, src, dst)
        histogram = self.histograms.get(key)
        if histogram is None:
            histogram = self.histograms[key] = Counter()
        histogram[rounded(seconds)] += n
        if seconds > self.maxima.get(key, -1):
            self.maxima[key] = seconds

    def deadline(self, machine: str, status: str) -> Deadline | None:
        """The deadline of ``status`` (a name) of ``machine``, looked up once."""
        key = (machine, status)
        try:
            return self._rules[key]
        except KeyError:
            m = self.machines[machine]
            rule = self._rules[key] = counted_deadline_of(m, m.table.state(status))
            return rule

    def stay(self, stay: Stay) -> None:
        """A stay that may have overrun: judged now when it ended or ``as_of`` is given,
        else when the report is final (unless already past the latest time read)."""
        rule = self.deadline(stay[3], stay[4])
        if rule is None:
            return
        end = stay[6] if stay[6] is not None else self.given
        if end is None:
            late = due(rule, stay[5])
            if self.latest is not None and self.latest > late:
                self._overdue(stay)  # the latest time only grows
            else:
                self._pending.append(stay)
        elif end > due(rule, stay[5]):
            self._overdue(stay)

    def _overdue(self, stay: Stay) -> None:
        self.overdue_count += 1
        file, line, machine = stay[0]
        rank = sorted(self.machines).index(machine)
        entry = ((-file, -line, -rank), stay)  # a max-heap of the earliest held
        if len(self._held) < self.keep:
            heapq.heappush(self._held, entry)
        elif entry > self._held[0]:
            heapq.heapreplace(self._held, entry)

    def finish(self) -> TimeReport:
        """Judge the stays still pending at ``as_of``; list the overdue ones in order."""
        if self._final:
            return self
        self._final = True
        as_of = self.as_of
        for stay in self._pending:
            rule = self.deadline(stay[3], stay[4])
            assert rule is not None
            if as_of is not None and as_of > due(rule, stay[5]):
                self._overdue(stay)
        self._pending.clear()
        found = []
        for _, stay in sorted(self._held, reverse=True):
            _, oid, sub, machine, status, entered, left, file, line = stay
            rule = self.deadline(machine, status)
            assert rule is not None
            late = due(rule, entered)
            end = left if left is not None else as_of
            assert end is not None
            code = self.machines[machine].table.state(status).code
            found.append(
                Overdue(file, line, oid, sub, machine, code, entered, late, left, end - late, rule)
            )
        self.overdue = found
        return self

    def stats(self) -> list[DwellStats]:
        """Per ``(machine, status)``, sorted, over every next status."""
        merged: dict[tuple[str, str], Counter[int]] = {}
        maxima: dict[tuple[str, str], int] = {}
        for (machine, src, _), histogram in self.histograms.items():
            merged.setdefault((machine, src), Counter()).update(histogram)
            top = self.maxima[(machine, src, _)]
            maxima[(machine, src)] = max(top, maxima.get((machine, src), top))
        return [
            DwellStats(
                m,
                s,
                sum(h.values()),
                nearest_rank(h, 50),
                nearest_rank(h, 95),
                maxima[(m, s)],
            )
            for (m, s), h in sorted(merged.items())
        ]

    def median(self, machine: str, src: str, dst: str) -> int | None:
        """The median dwell of stays in ``src`` that left for ``dst`` (``None``: none)."""
        histogram = self.histograms.get((machine, src, dst))
        return None if not histogram else nearest_rank(histogram, 50)

    def summary(self) -> dict[str, Any]:
        def code(machine: str, name: str) -> Code:
            return self.machines[machine].table.state(name).code

        return {
            "column": self.column,
            "as_of": self.as_of,
            "overdue": self.overdue_count,
            "dwell": [
                {
                    "machine": s.machine,
                    "status": code(s.machine, s.status),
                    "count": s.count,
                    "median": s.median,
                    "p95": s.p95,
                    "max": s.maximum,
                }
                for s in self.stats()
            ],
        }

    def text_lines(self) -> Iterable[str]:
        yield (
            f"  time ({self.column}): as of {self.as_of}, {self.overdue_count} overdue "
            "(not a failure)"
        )
        for s in self.stats():
            status = self.machines[s.machine].table.state(s.status).code
            yield (
                f"  {s.count:>8}  waited in {status} ({s.machine}): median {duration(s.median)}, "
                f"p95 {duration(s.p95)}, max {duration(s.maximum)}"
            )
        if self.overdue_count > len(self.overdue):
            yield (
                f"  showing the first {len(self.overdue)} of {self.overdue_count} overdue "
                "findings (--max-findings)"
            )


def duration(seconds: int) -> str:
    """``seconds`` in two units at most: ``45s``, ``12m 5s``, ``3h 20m``, ``2d 4h``."""
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


_Open = list[Any]
"""A stay being read: ``[status name, entered or None, file index, line, file, sub-order id]``."""


class Timeline:
    """The stream engine's stays, per order: fed each usable row's time (:meth:`read`)
    and each observation of a part (:meth:`see`), closed per order (:meth:`close`)."""

    def __init__(self, report: TimeReport) -> None:
        self.report = report
        self._orders: dict[str, tuple[list[int | None], dict[tuple[str, Any], _Open]]] = {}
        self.file_index = -1

    def read(self, order_id: str, raw: str | None) -> tuple[int | None, str | None]:
        """The usable time of a row of ``order_id`` whose cell is ``raw``, and the problem
        with the cell (``None``: none)."""
        if not raw:
            return None, None
        latest, _ = self._order(order_id)
        problem = time_problem(self.report.column, raw, latest[0], order_id)
        if problem is not None:
            return None, problem
        at = int(raw)
        latest[0] = at
        self.report.saw(at)
        return at, None

    def _order(self, order_id: str) -> tuple[list[int | None], dict[tuple[str, Any], _Open]]:
        found = self._orders.get(order_id)
        if found is None:
            found = self._orders[order_id] = ([None], {})
        return found

    def see(  # noqa: PLR0917 - one observation, positional like the engine's
        self,
        order_id: str,
        machine: str,
        key: Any,
        status: str,
        at: int | None,
        line: int,
        file: str,
        sub: str | None,
    ) -> None:
        """Part ``key`` of ``order_id`` observed in ``status`` on row ``file:line``."""
        stays = self._order(order_id)[1]
        part = (machine, key)
        open_stay = stays.get(part)
        if open_stay is not None:
            if open_stay[0] == status:
                return
            self._ended(order_id, machine, open_stay, status, at)
        stays[part] = [status, at, self.file_index, line, file, sub or None]

    def _ended(
        self, order_id: str, machine: str, stay: _Open, to: str | None, left: int | None
    ) -> None:
        status, entered, index, line, file, sub = stay
        if entered is None or (to is not None and left is None):
            return
        if to is not None:
            assert left is not None
            self.report.dwelt(machine, status, to, left - entered)
        self.report.stay(
            ((index, line, machine), order_id, sub, machine, status, entered, left, file, line)
        )

    def close(self, order_id: str) -> None:
        """The order's rows are over: its stays are still waiting."""
        found = self._orders.pop(order_id, None)
        if found is None:
            return
        for (machine, _), stay in found[1].items():
            self._ended(order_id, machine, stay, None, None)

    def finish(self) -> None:
        for order_id in list(self._orders):
            self.close(order_id)
        self.report.finish()
