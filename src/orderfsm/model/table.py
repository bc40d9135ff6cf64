"""The table model: frozen value objects for a validated table.

A table is plain data. It never names importable code: guards are names looked up in
:mod:`orderfsm.model.guards`. Reading and validating a table file into these objects is
:mod:`orderfsm.model.reader`; the format is described in ``docs/table-format.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from orderfsm.errors import StatusComparisonError

ACTORS = ("buyer", "seller", "finance", "platform")
Code = int | str
ProvenanceKind = Literal["documented", "inferred"]


@dataclass(frozen=True, slots=True)
class Citation:
    """One document's statement: file name, section heading, and what it says there."""

    doc: str
    section: str
    says: str = ""

    def __str__(self) -> str:
        return f"{self.doc} \u00a7 {self.section}"


# The facts of a transition, and of a state, whose provenance is given one by one: a
# documented edge may still have an inferred event name, actor or guard (no source names
# them), and a documented status may be final or quarantine only by inference.
TRANSITION_FACTS = ("edge", "event", "actor", "guards")
STATE_FACTS = ("status", "final", "quarantine")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a state or transition comes from: documented (with citations) or inferred.

    ``kind`` is the provenance of the entry itself (the status, or the edge). ``inferred``
    names the entry's other facts that no source states, each with its basis (for a
    transition: ``event``, ``actor``, ``guards``; for a state: ``final``, ``quarantine``);
    every fact of an inferred entry is inferred.
    """

    kind: ProvenanceKind
    sources: tuple[Citation, ...] = ()
    basis: str = ""
    inferred: tuple[tuple[str, str], ...] = ()

    @property
    def documented(self) -> bool:
        return self.kind == "documented"

    def of(self, fact: str) -> tuple[ProvenanceKind, str]:
        """The provenance of one fact of the entry: ``("documented", "")`` or
        ``("inferred", basis)``; the entry's own fact is ``edge``/``status``."""
        if not self.documented:
            return "inferred", self.basis
        return next((("inferred", b) for f, b in self.inferred if f == fact), ("documented", ""))


TEXT_ORIGINS = ("documented", "translated", "composed", "inferred")


@dataclass(frozen=True, slots=True)
class State:
    """One status as the platform sends it, with its documented texts.

    A status compares like an ``IntEnum``/``StrEnum`` member with its platform code:
    ``state == 10`` (an int-coded machine) or ``state == "unpay"`` (a str-coded one) is
    true exactly when ``code`` is that value, and ``hash(state) == hash(state.code)``, so
    a status and its code find each other in sets and dict keys. Two statuses are equal
    when every field is. Any other spelling of the *same* status (its enum ``name``, an
    alias, the ``raw`` string) cannot compare equal (it hashes differently), so it raises
    :class:`~orderfsm.StatusComparisonError` instead of answering a silent ``False``;
    ask :meth:`matches` for any spelling. Every other value (another status's spelling,
    ``True``, ``10.0``, ``None``) is simply unequal. Statuses are not ordered.
    """

    code: Code
    name: str
    raw: str | None
    phase: str
    description: str
    customer_text: str
    provenance: Provenance
    final: bool = False
    quarantine: bool = False
    aliases: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    description_zh: str | None = None
    notes: str = ""
    customer_text_variable: str | None = None
    customer_texts: tuple[tuple[str, str], ...] = ()
    customer_texts_zh: tuple[tuple[str, str], ...] = ()
    # Where the English customer texts come from (see TEXT_ORIGINS): ``customer_text``'s,
    # and that of the texts chosen by ``customer_text_variable``.
    customer_text_origin: str = "documented"
    customer_texts_origin: str = "documented"

    def text_origin_for(self, variables: Mapping[str, str]) -> str:
        """Where the text :meth:`text_for` returns comes from: ``documented`` (quoted from a
        source), ``translated`` (a source's words in English), ``composed`` (the library
        joined documented words into a text no source gives) or ``inferred`` (invented)."""
        if self._chosen(self.customer_texts, variables) is not None:
            return self.customer_texts_origin
        return self.customer_text_origin

    def text_for(self, variables: Mapping[str, str]) -> str:
        """The customer-facing text, chosen by the order's variables where the table says so.

        With ``customer_text_by = { VAR = { VALUE = TEXT, ... } }`` the text for the
        order's value of ``VAR``; otherwise ``customer_text``.
        """
        return self._chosen(self.customer_texts, variables) or self.customer_text

    def text_zh_for(self, variables: Mapping[str, str]) -> str | None:
        """The Chinese text (``customer_text_zh_by``, else ``description_zh``), if documented."""
        return self._chosen(self.customer_texts_zh, variables) or self.description_zh

    def _chosen(
        self, texts: tuple[tuple[str, str], ...], variables: Mapping[str, str]
    ) -> str | None:
        value = variables.get(self.customer_text_variable or "")
        return next((text for candidate, text in texts if candidate == value), None)

    @property
    def spellings(self) -> tuple[Code, ...]:
        """Every value that names this status: code, enum name, aliases, raw string."""
        raw = (self.raw,) if self.raw else ()
        return tuple(dict.fromkeys((self.code, self.name, *self.aliases, *raw)))

    def matches(self, value: object) -> bool:
        """Whether ``value`` is any spelling of this status (or is this status)."""
        if isinstance(value, State):
            return self == value
        return _is_code(value) and value in self.spellings

    def __eq__(self, other: object) -> bool:
        if isinstance(other, State):
            if self is other:
                return True
            # different statuses differ in code or name: settle those without every field
            if self.code != other.code or self.name != other.name:
                return False
            return _fields(self) == _fields(other)
        if not _is_code(other):
            return NotImplemented
        if other == self.code:
            return True
        if other in self.spellings:
            raise StatusComparisonError(str(self), self.code, other)
        return False

    def __hash__(self) -> int:
        return hash(self.code)

    def __str__(self) -> str:
        return self.name if self.code == self.name else f"{self.name}({self.code})"

    def __repr__(self) -> str:
        return f"<State {self}>"


def _is_code(value: object) -> bool:
    """Whether ``value`` has a type a status can be spelled with (``bool`` is not an int here)."""
    return isinstance(value, int | str) and not isinstance(value, bool)


def _fields(state: State) -> tuple[object, ...]:
    return tuple(getattr(state, f.name) for f in _STATE_FIELDS)


_STATE_FIELDS = fields(State)


@dataclass(frozen=True, slots=True)
class Event:
    """A trigger name, with guards checked in every status before any transition is sought."""

    name: str
    description: str
    guards: tuple[str, ...] = ()


def slot_setters(cls: type, *names: str) -> tuple[Callable[[object, Any], None], ...]:
    """The setters of the fields ``names`` of the frozen slotted dataclass ``cls``, which
    must be all its fields in order: to build the many instances a large table needs
    without ``__init__``'s ``object.__setattr__`` per field (half the time)."""
    if names != tuple(f.name for f in fields(cls)):
        raise TypeError(f"{cls.__name__} has the fields {[f.name for f in fields(cls)]}")
    return tuple(getattr(cls, name).__set__ for name in names)


@dataclass(frozen=True, slots=True)
class Transition:
    """One edge. ``dst`` is ``None`` for a history transition (back to the remembered status)."""

    src: str
    dst: str | None
    event: str
    actor: str
    provenance: Provenance
    guards: tuple[str, ...] = ()
    notes: str = ""
    sets: tuple[tuple[str, str], ...] = ()

    @property
    def history(self) -> bool:
        return self.dst is None

    def apply(self, variables: Mapping[str, str]) -> dict[str, str]:
        """The order's variables after this edge: ``variables`` updated by the edge's ``set``."""
        return {**variables, **dict(self.sets)}


_TRANSITION_SETTERS = slot_setters(
    Transition, "src", "dst", "event", "actor", "provenance", "guards", "notes", "sets"
)


def plain_transition(  # noqa: PLR0917 - the fields of a Transition, in order
    src: str,
    dst: str,
    event: str,
    actor: str,
    provenance: Provenance,
    guards: tuple[str, ...],
    notes: str,
) -> Transition:
    """``Transition(src, dst, event, actor, provenance, guards, notes)`` (no ``set``),
    built as :func:`slot_setters` says: for the edges of a large table."""
    edge: Transition = object.__new__(Transition)
    s_src, s_dst, s_event, s_actor, s_provenance, s_guards, s_notes, s_sets = _TRANSITION_SETTERS
    s_src(edge, src)
    s_dst(edge, dst)
    s_event(edge, event)
    s_actor(edge, actor)
    s_provenance(edge, provenance)
    s_guards(edge, guards)
    s_notes(edge, notes)
    s_sets(edge, ())
    return edge


@dataclass(frozen=True, slots=True)
class Decision:
    """A recorded resolution of a disagreement between documents (or with the table)."""

    id: str
    topic: str
    sides: tuple[Citation, ...]
    decision: str
    reasoning: str
    transitions: tuple[tuple[Code, Code], ...] = ()
    claims: tuple[str, ...] = ()
    follows: tuple[str, ...] = ()


DEADLINE_UNITS = ("calendar_days", "business_days")
"""How a deadline counts days: every day, or Monday to Friday less the holidays given."""
DEADLINE_TERMS = ("shipment_date",)
"""The order terms a deadline may come from (``from``): ICBU's contractual
``shipment_date`` (see docs/time.md)."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """How long an order may wait in ``status`` (a state name) before it is late: usually
    ``least`` to ``most`` days counted in ``unit`` (:data:`DEADLINE_UNITS`); it is late
    once ``most`` have passed. A deadline ``term`` (:data:`DEADLINE_TERMS`; ``from`` in
    the table) comes from the order's own terms instead, their days counted in ``unit``:
    ``least`` and ``most`` are then ``None``. ``provenance`` cites the rule or labels it
    an inference."""

    status: str
    least: int | None
    most: int | None
    unit: str
    provenance: Provenance
    notes: str = ""
    term: str | None = None


@dataclass(frozen=True, slots=True)
class Variable:
    """Extended state an order carries beside its status (ICBU ``pay_step``, ...)."""

    name: str
    values: tuple[str, ...]
    default: str
    description: str = ""
    initial: tuple[str, ...] = ()

    @property
    def initial_values(self) -> tuple[str, ...]:
        """The values a new order may start with (``initial``, or every value)."""
        return self.initial or self.values


@dataclass(frozen=True, slots=True)
class Table:
    """A whole validated table. ``file`` is where it came from, for error messages."""

    name: str
    title: str
    file: str
    initial: str
    code_type: Literal["int", "str"]
    states: tuple[State, ...]
    events: tuple[Event, ...]
    transitions: tuple[Transition, ...]
    decisions: tuple[Decision, ...] = ()
    variables: tuple[Variable, ...] = ()
    parent: str | None = None
    description: str = ""
    source: str = ""
    reconstruction: bool = False
    deadlines: tuple[Deadline, ...] = ()
    state_by_name: Mapping[str, State] = field(default_factory=dict, compare=False, repr=False)

    def state(self, name: str) -> State:
        return self.state_by_name[name]
