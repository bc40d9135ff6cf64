"""Why an event would or would not be accepted, asked without raising.

:class:`Explanation` is the answer of :meth:`orderfsm.CompiledMachine.explain` and of the
order classes' ``explain``: the same structured answer a rejection carries (``rule``,
``source``, ``status``, ``allowed``), plus whether the event is accepted and, from the
actors the tables label each edge with (buyer, seller, finance, platform), who does the
event here and which of the allowed events those actors may do instead. A refused
explanation is built from the very :class:`~orderfsm.TransitionRejected` the order's or
machine's ``trigger``/``transition`` would raise, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orderfsm.errors import TransitionRejected
from orderfsm.model.table import ACTORS, State

ACCEPTED_RULE = "the transition table"
"""The ``rule`` of an accepted explanation: an edge of the table takes the event."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether ``event`` is accepted in ``status`` (of ``machine``), and why.

    ``accepted`` is the answer (the explanation is truthy exactly then). Refused:
    ``rule``, ``source``, ``status`` and ``allowed`` are the fields of the rejection
    ``trigger`` raises, whose class name is ``refusal`` (``"PaymentLocked"``...).
    Accepted: ``rule`` is ``"the transition table"``, ``source`` the taken edge's first
    citation and ``target`` where it goes; ``allowed`` the other events accepted here.
    ``actors`` are who does ``event`` here (as the table labels its edges) and
    ``alternatives`` the allowed events those actors do: what a refused buyer may do
    instead.
    """

    machine: str
    event: str
    status: str
    accepted: bool
    rule: str
    source: str
    allowed: tuple[str, ...]
    actors: tuple[str, ...] = ()
    alternatives: tuple[str, ...] = ()
    refusal: str | None = None
    target: State | None = None

    def __bool__(self) -> bool:
        return self.accepted

    def __repr__(self) -> str:
        verdict = f"accepted -> {self.target}" if self.accepted else f"refused ({self.refusal})"
        return f"<Explanation {self.machine}: {self.event!r} in {self.status}: {verdict}>"

    @classmethod
    def refused(cls, machine: str, event: str, error: TransitionRejected) -> Explanation:
        """The explanation of a refusal, field for field from the rejection raised."""
        return cls(
            machine,
            event,
            error.status,
            False,
            error.rule,
            error.source,
            error.allowed,
            error.actors,
            error.alternatives,
            type(error).__name__,
        )


def actors_of(actors: Iterable[str]) -> tuple[str, ...]:
    """``actors`` once each, in the tables' order (buyer, seller, finance, platform)."""
    seen = set(actors)  # the reader admits no other actor
    return tuple(a for a in ACTORS if a in seen)
