"""The one exception hierarchy that leaves orderfsm's public API.

Every error a caller can see derives from :class:`OrderFsmError`, so a service can
catch the library's failures with one ``except`` and nothing else escapes.
A rejection (:class:`TransitionRejected` and below) always leaves every status of the
order it was raised for unchanged. Every error pickles with all its fields, so one
raised in a worker process reaches the caller as itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class OrderFsmError(Exception):
    """Base class of every error orderfsm raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default rebuilds with cls(*args), but args hold the formatted message,
        # not the keyword fields the constructors take: restore both without __init__.
        return (_rebuilt, (type(self), self.args, self.__dict__.copy()))


def _rebuilt(cls: type[OrderFsmError], args: tuple[Any, ...], fields: dict[str, Any]) -> Any:
    """An unpickled error: the same message arguments and fields, ``__init__`` not rerun."""
    error = cls.__new__(cls, *args)
    error.__dict__.update(fields)
    return error


def shown(value: object) -> str:
    """``repr(value)`` for a message, short: a long value is cut, and an integer too long
    for ``repr`` (over 4,300 digits) is named by its size instead of raising."""
    try:
        text = repr(value)
    except ValueError:
        size = value.bit_length() if isinstance(value, int) else 0
        return f"<an integer of {size} bits>" if size else f"<a {type(value).__name__}>"
    return text if len(text) <= 60 else f"{text[:57]}..."


class TableError(OrderFsmError):
    """A table file or mapping is malformed.

    ``file`` names the file (or ``<mapping>``), ``entry`` the offending entry
    (``states[3]``, ``transitions[7].dst``...), ``problem`` what is wrong.
    """

    def __init__(self, file: str, entry: str, problem: str) -> None:
        self.file = file
        self.entry = entry
        self.problem = problem
        super().__init__(f"{file}: {entry}: {problem}")


class UnknownMachine(OrderFsmError):
    """``load()`` was given a name that is neither a shipped machine nor a table path."""


class UnknownStatus(OrderFsmError, ValueError):
    """A status value is not a code, enum name, alias or raw string of the machine."""

    def __init__(self, machine: str, value: object, valid: Iterable[str]) -> None:
        self.machine = machine
        self.value = value
        self.valid = tuple(valid)
        super().__init__(
            f"{machine}: unknown status {shown(value)}; valid values are: {', '.join(self.valid)}"
        )


class StatusComparisonError(OrderFsmError, TypeError):
    """A status was compared with one of its own spellings that is not its code.

    A :class:`~orderfsm.State` equals its platform ``code`` only (hashing follows the
    code), so ``state == "WAIT_SELLER_SEND_GOODS"`` for the state coded ``10`` cannot be
    true; rather than a silent ``False`` this error says to compare with the code or to
    call ``state.matches(value)``.
    """

    def __init__(self, status: str, code: int | str, value: int | str) -> None:
        self.status = status
        self.code = code
        self.value = value
        super().__init__(
            f"{value!r} is another spelling of status {status}, which compares equal to its "
            f"code {code!r} only: compare with {code!r}, or use state.matches({value!r})"
        )


class InvalidOrderState(OrderFsmError, ValueError):
    """An order's extended state does not fit its machine: an undeclared variable or value,
    a remembered (history) status the order could not have come from, or an order level
    with no children."""


class UnknownEvent(OrderFsmError):
    """An event name the machine (or the addressed part of the order) does not declare."""


class UnknownActor(OrderFsmError, ValueError):
    """An actor name that is none of the tables' actors (buyer, seller, finance, platform)."""


class UnknownSubOrder(OrderFsmError, KeyError):
    """An event or query named a sub-order the order does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TransitionRejected(OrderFsmError):
    """An event was refused; nothing changed.

    ``rule`` names the rule that refused it, ``source`` the document section the rule
    comes from, ``status`` the current status and ``allowed`` the events possible from it.
    ``actors`` are who does the refused event here (as the tables label their edges:
    buyer, seller, finance, platform) and ``alternatives`` the allowed events those
    actors may do instead.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        source: str,
        status: str,
        allowed: Iterable[str] = (),
        actors: Iterable[str] = (),
        alternatives: Iterable[str] = (),
    ) -> None:
        self.rule = rule
        self.source = source
        self.status = status
        self.allowed = tuple(allowed)
        self.actors = tuple(actors)
        self.alternatives = tuple(alternatives)
        allowed_text = ", ".join(self.allowed) if self.allowed else "nothing (no event applies)"
        super().__init__(
            f"{message} [rule: {rule}; source: {source}; status: {status}; "
            f"allowed from here: {allowed_text}]"
        )


class IllegalTransition(TransitionRejected):
    """No transition of the table leaves the current status on this event."""


class PaymentLocked(TransitionRejected):
    """A buyer cancellation was refused because payment has been approved or made."""


class RefundNotAllowed(TransitionRejected):
    """A refund was requested where the rules do not allow one."""


class PayloadError(OrderFsmError, ValueError):
    """A platform payload (response or callback body) could not be read.

    ``path`` names the offending field as a JSON-path-like string (``$.data.data[0].status``;
    ``$`` is the whole body), ``problem`` says what is wrong with it. When the body is the
    platform's own error answer (an ICBU ``error_response``, a purchase-page envelope
    whose ``code`` is not a success), ``platform_code`` and ``platform_message`` are the
    code and message it sent (as text; ``None`` otherwise, or where it sent none), and
    ``platform_sub_code`` and ``platform_sub_message`` the finer ``sub_code`` and
    ``sub_msg`` an ICBU error answer carries (``isv.invalid-parameter``: what a service
    branches on to tell a caller's mistake from the platform's outage).
    """

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        platform_code: str | None = None,
        platform_message: str | None = None,
        platform_sub_code: str | None = None,
        platform_sub_message: str | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        self.platform_code = platform_code
        self.platform_message = platform_message
        self.platform_sub_code = platform_sub_code
        self.platform_sub_message = platform_sub_message
        super().__init__(f"{path}: {problem}")


class ConcurrentModification(OrderFsmError):
    """A compare-and-set save found a newer version than the one the writer started from.

    ``expected`` is the version the writer read, ``found`` the version stored now when the
    storage reported it (``None`` when it only said that nothing was replaced); re-read,
    re-apply and save again.
    """

    def __init__(self, key: str, expected: int, found: int | None) -> None:
        self.key = key
        self.expected = expected
        self.found = found
        stored = "another version" if found is None else f"version {found}"
        super().__init__(
            f"{key}: expected to replace version {expected} but found {stored}; "
            "another writer saved first: re-read, re-apply and retry"
        )


class StoreError(OrderFsmError):
    """The order store could not do what was asked (:mod:`orderfsm.store`).

    A database error (the driver's message, the original chained as ``__cause__``), a
    schema that lacks a table or column the store needs, or a stored row it cannot read.
    """


class OrderNotStored(StoreError, KeyError):
    """No order is stored under ``key`` (and the caller gave no way to start one)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no order is stored under {key!r}")

    def __str__(self) -> str:
        # KeyError quotes its message; this one is a sentence.
        return str(self.args[0])
