"""What a diagram shows about a machine, derived once from its table for every renderer.

The table model says what the rules are; this module says how each piece is presented:
which kind an edge is (documented, inferred, or kept by a recorded decision), the label
and colour it carries, how states group into phases, where history pseudo-states sit,
and which parent statuses a child (sub-order) machine hangs off. DOT, Mermaid and the
Markdown matrix all read these facts, so the three outputs never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from orderfsm.model.compile import CompiledMachine
from orderfsm.model.guards import REGISTRY, GuardContext
from orderfsm.model.table import ACTORS, Code, Decision, State, Table, Transition

# One colour per actor; chosen to stay distinguishable for common colour-vision deficiencies.
ACTOR_COLOURS = {
    "buyer": "#1f77b4",
    "seller": "#2ca02c",
    "finance": "#9467bd",
    "platform": "#7f7f7f",
}
DECISION_COLOUR = "#d62728"


class EdgeKind(Enum):
    """How a transition is known, which decides how its line is drawn."""

    DOCUMENTED = "documented"
    INFERRED = "inferred"


@dataclass(frozen=True, slots=True)
class Edge:
    """One table transition as drawn. ``index`` is its position in ``[[transitions]]``.

    ``dst`` is ``None`` for a history transition, drawn into the history pseudo-state
    of ``src``. ``decision`` is the footnote mark (``D1``...) of the recorded decision
    that keeps this edge, if any.
    """

    index: int
    src: str
    dst: str | None
    event: str
    actor: str
    guards: tuple[str, ...]
    kind: EdgeKind
    decision: str | None

    @property
    def guard_text(self) -> str:
        return f"[{', '.join(self.guards)}]" if self.guards else ""

    @property
    def colour(self) -> str:
        return DECISION_COLOUR if self.decision else ACTOR_COLOURS[self.actor]

    def label(self, separator: str) -> str:
        """``actor: event``, then the guards and the decision mark, joined by ``separator``."""
        parts = [f"{self.actor}: {self.event}"]
        if self.guard_text:
            parts.append(self.guard_text)
        if self.decision:
            parts.append(f"({self.decision})")
        return separator.join(parts)


@dataclass(frozen=True, slots=True)
class DecisionNote:
    """A recorded decision that keeps at least one drawn edge, with its footnote mark."""

    mark: str
    decision: Decision


@dataclass(frozen=True, slots=True)
class Phase:
    """A group of states sharing a ``phase`` value, in table order."""

    name: str
    states: tuple[State, ...]


@dataclass(frozen=True, slots=True)
class HistoryState:
    """A history pseudo-state: ``owner`` is the state a ``history = true`` transition leaves,
    ``remembers`` the statuses it can return to (those that enter ``owner``)."""

    owner: str
    remembers: tuple[str, ...]

    @property
    def node(self) -> str:
        return f"{self.owner}__H"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A parent status in which the child machine's ``event`` may fire (its guard passes)."""

    parent_state: str
    child_state: str
    event: str
    guard: str


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the renderers need about one machine."""

    machine: CompiledMachine
    edges: tuple[Edge, ...]
    decisions: tuple[DecisionNote, ...]
    phases: tuple[Phase, ...]
    quarantine: tuple[State, ...]
    histories: tuple[HistoryState, ...]

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def table(self) -> Table:
        return self.machine.table

    @property
    def finals(self) -> tuple[State, ...]:
        return tuple(s for s in self.table.states if s.final)

    @property
    def actors(self) -> tuple[str, ...]:
        """The actors of this machine's edges, in the library's actor order."""
        used = {e.actor for e in self.edges}
        return tuple(a for a in ACTORS if a in used)


def facts(machine: CompiledMachine) -> Facts:
    """Derive the drawing facts of ``machine`` from its table."""
    table = machine.table
    notes = _decision_notes(table)
    mark_of = {pair: note.mark for note in reversed(notes) for pair in note.decision.transitions}
    edges = tuple(
        Edge(
            index=i,
            src=t.src,
            dst=t.dst,
            event=t.event,
            actor=t.actor,
            # the event's own guards apply to every one of its edges (payment_lock on cancel)
            guards=(*machine.event(t.event).guards, *t.guards),
            kind=EdgeKind.DOCUMENTED if t.provenance.documented else EdgeKind.INFERRED,
            decision=None if t.dst is None else mark_of.get(_codes(table, t)),
        )
        for i, t in enumerate(table.transitions)
    )
    return Facts(
        machine=machine,
        edges=edges,
        decisions=notes,
        phases=_phases(table),
        quarantine=tuple(s for s in table.states if s.quarantine),
        histories=_histories(table),
    )


def _codes(table: Table, t: Transition) -> tuple[Code, Code]:
    assert t.dst is not None
    return table.state(t.src).code, table.state(t.dst).code


def _decision_notes(table: Table) -> tuple[DecisionNote, ...]:
    """The decisions naming a transition the table has, marked ``D1``, ``D2``... in table order.

    A decision about a pair the table does *not* have (an edge the documents draw but the
    table refuses) keeps nothing on the picture, so it gets no mark. Only decisions that
    settle a disagreement with the documents (they name the claims they follow) count: a
    choice recorded where the documents are silent departs from nothing.
    """
    present = {_codes(table, t) for t in table.transitions if t.dst is not None}
    kept = [
        d for d in table.decisions if d.follows and any(tuple(p) in present for p in d.transitions)
    ]
    return tuple(DecisionNote(f"D{i}", d) for i, d in enumerate(kept, start=1))


def _phases(table: Table) -> tuple[Phase, ...]:
    """Non-quarantine states grouped by phase; phases in order of first appearance."""
    order: list[str] = []
    for s in table.states:
        if not s.quarantine and s.phase not in order:
            order.append(s.phase)
    return tuple(
        Phase(p, tuple(s for s in table.states if s.phase == p and not s.quarantine)) for p in order
    )


def _histories(table: Table) -> tuple[HistoryState, ...]:
    names = [s.name for s in table.states]
    owners = sorted({t.src for t in table.transitions if t.history}, key=names.index)
    return tuple(
        HistoryState(
            owner,
            tuple(
                sorted(
                    {t.src for t in table.transitions if t.dst == owner and t.src != owner},
                    key=names.index,
                )
            ),
        )
        for owner in owners
    )


def children(machine: str, all_facts: Sequence[Facts]) -> tuple[Facts, ...]:
    """The machines whose table names ``machine`` as ``machine.parent``, in shipped order."""
    return tuple(f for f in all_facts if f.table.parent == machine)


def attachments(parent: Facts, child: Facts) -> tuple[Attachment, ...]:
    """Where ``child`` hangs off ``parent``: every parent status in which a child transition
    guarded by a parent-reading guard (``main_order_allows_refund``...) would pass it.

    The guards themselves are evaluated, so the picture follows the rule that runs
    (for Taobao: the main statuses tagged ``refund_allowed``).
    """
    out: list[Attachment] = []
    for t in child.table.transitions:
        for g in t.guards:
            guard = REGISTRY[g]
            if "parent" not in guard.reads:
                continue
            src = child.table.state(t.src)
            target = None if t.dst is None else child.table.state(t.dst)
            for p in parent.table.states:
                ctx = GuardContext(
                    machine=child.name, event=t.event, status=src, target=target, parent=p
                )
                if guard.check(ctx):
                    out.append(Attachment(p.name, t.src, t.event, g))
    return tuple(dict.fromkeys(out))


def state_caption(state: State) -> str:
    """``code NAME``: the code the platform sends and the enum name (once when they agree)."""
    return state.name if str(state.code) == state.name else f"{state.code} {state.name}"
