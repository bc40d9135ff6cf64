"""Deadlines as data, asked about without a clock: when an order that entered a status at
a given instant becomes late there, and whether it is late at another instant.

A table states a :class:`~orderfsm.model.table.Deadline` per status (``[[deadlines]]``,
see ``docs/time.md``). Instants are integers, seconds since the Unix epoch (UTC), the
unit of the history's ``at``. A deadline of ``most`` calendar days falls ``most * 86400``
seconds after entry; one of ``most`` business days falls at the same time of day on the
``most``-th business day after the day of entry, a business day being Monday to Friday
and not a holiday (``holidays``: a callable saying whether a date is one; none by
default). Nothing here reads the wall clock: the caller says what "now" is.

A deadline may instead come from the order's own terms (``Deadline.term``): ICBU's
contractual ``shipment_date`` (:func:`shipment_due`), its days counted from the payment
it names, or its absolute date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from orderfsm.errors import OrderFsmError
from orderfsm.model.bounded import is_integer
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.records import ShipmentDate, in_seconds
from orderfsm.model.table import Deadline, State

Holidays = Callable[[date], bool]
"""Whether a date is a holiday (not a business day), e.g. ``lambda d: d in cn_holidays``."""

DAY = 86400
_LONGEST = 3660
"""More business days than this is a table error, not a wait: it bounds the day walk."""


def no_holidays(day: date) -> bool:
    """The default calendar: weekends only."""
    return False


def deadline_of(machine: CompiledMachine, status: State) -> Deadline | None:
    """The deadline ``machine``'s table states for ``status`` (``None``: none stated)."""
    return next((d for d in machine.table.deadlines if d.status == status.name), None)


def counted_deadline_of(machine: CompiledMachine, status: State) -> Deadline | None:
    """The deadline ``machine``'s table states for ``status`` with a count of its own
    (``None``: none stated, or one that comes from the order's terms, such as ICBU's
    ``shipment_date``, which a status history alone cannot tell: the audit judges only
    these)."""
    rule = deadline_of(machine, status)
    return None if rule is None or rule.most is None else rule


def due(deadline: Deadline, entered: int, holidays: Holidays = no_holidays) -> int:
    """The instant an order that entered the deadline's status at ``entered`` becomes late
    there (see the module docstring); a deadline from the order's terms has no fixed
    count (:class:`OrderFsmError`: ask :func:`due_now` with the order's terms)."""
    if deadline.most is None:
        raise OrderFsmError(f"{deadline.status}: the deadline comes from {deadline.term}")
    return days_after(entered, deadline.most, deadline.unit, holidays, deadline.status)


def days_after(
    start: int, days: int, unit: str, holidays: Holidays = no_holidays, what: str = "deadline"
) -> int:
    """The instant ``days`` days (counted in ``unit``) after ``start``."""
    if not is_integer(start):
        raise OrderFsmError(f"entered: expected an integer time, got {start!r}")
    if unit == "calendar_days":
        return start + days * DAY
    if days > _LONGEST:
        raise OrderFsmError(f"{what}: {days} business days is too long")
    try:
        moment = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        raise OrderFsmError(
            f"{what}: {start} is no instant a calendar can count days from"
        ) from None
    day, left = moment.date(), days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and not holidays(day):
            left -= 1
    late = datetime.combine(day, moment.timetz())
    return int(late.timestamp())


@dataclass(frozen=True, slots=True)
class Due:
    """The deadline that applies to an order now: the ``rule`` of the ``status`` it
    holds, when it ``entered`` it (``None``: not known) and when it becomes late there
    (``at``; ``None`` when the entry time is not known)."""

    status: State
    rule: Deadline
    entered: int | None
    at: int | None

    def overdue(self, now: int) -> bool:
        """Whether the order, still in the status at ``now``, is late (never when its
        entry time is not known)."""
        if not is_integer(now):
            raise OrderFsmError(f"now: expected an integer time, got {now!r}")
        return self.at is not None and now > self.at


Terms = Callable[[Deadline], int | None]
"""An order's own terms, asked for the instant a deadline from them (``Deadline.term``)
falls (``None``: not known)."""


def due_now(
    machine: CompiledMachine,
    status: State,
    entered: int | None,
    holidays: Holidays = no_holidays,
    *,
    terms: Terms | None = None,
) -> Due | None:
    """The :class:`Due` of an order in ``status`` since ``entered`` (``None``: the table
    states no deadline for the status); a deadline from the order's terms falls where
    ``terms`` says (not known without them)."""
    rule = deadline_of(machine, status)
    if rule is None:
        return None
    if rule.term is not None:
        return Due(status, rule, entered, None if terms is None else terms(rule))
    return Due(status, rule, entered, None if entered is None else due(rule, entered, holidays))


def shipment_due(
    shipment_date: ShipmentDate | None,
    advance: int | None,
    balance: int | None,
    unit: str,
    holidays: Holidays = no_holidays,
) -> int | None:
    """The instant an ICBU order's contractual ``shipment_date`` falls: ``duration`` days
    (in ``unit``) after the advance payment (``relative``) or the balance payment
    (``relative_balance``), when that payment's time is known; the date itself
    (``absolute``, its timestamp read as a platform's time: :func:`in_seconds`).
    ``None``: no shipment date, or the payment it counts from not known."""
    if shipment_date is None:
        return None
    if shipment_date.type == "absolute":
        return in_seconds(shipment_date.timestamp)
    start = advance if shipment_date.type == "relative" else balance
    assert shipment_date.duration is not None  # ShipmentDate checks it
    if start is None:
        return None
    return days_after(start, shipment_date.duration, unit, holidays, "shipment_date")
