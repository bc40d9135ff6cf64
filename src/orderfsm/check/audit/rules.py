"""How the audit judges one observed status change: the machine's own rules, as a relation.

An export records statuses, not events. A change ``src -> dst`` of one order is **legal**
when some event takes the order there through the pure core
(:meth:`CompiledMachine.transition`) in the context the export shows: the status a history
state (ICBU ``frozen``) was entered from, and for a sub-order machine (Taobao refunds) the
main order's status on the row. Context the export does not show is existential: the
table's variables (ICBU ``pay_step``) may take any value, an unknown parent status any
parent status, and the remembered status of an order first seen inside a history state
any status that state can be entered from.

A change that is not legal is **skipped** (a warning) when a path of two or more table
edges explains it, found as the snapshot ingestion finds one
(:func:`orderfsm.model.paths.shortest_path`: never through a history state, and out of
one only back to the remembered status); otherwise it is **illegal**, naming the rule it
breaks: the guard that refuses the only edge, "final statuses accept nothing", or the
transition table's empty cell.

A quarantine state (Taobao ``OTHER_STATUS(9)``: a status the platform does not enumerate)
has no table edges: an order is parked there by an unknown status and released by a
known one (:mod:`orderfsm.model.decide`). A change **into** it is a ``quarantine``
warning, except out of a final status (illegal: final statuses accept nothing). A change
**out of** it (the release) is judged as a direct change from the status the order held
before it was parked (``StepKey.remembered``): back there is no change, a final status
releases nowhere, and an order first seen parked may have been parked from anywhere.

Both engines use the same relation: the stream engine looks verdicts up (cached), the SQL
engine joins the full enumeration (:meth:`StepRules.verdicts`) as a ``VALUES`` table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from orderfsm.errors import TransitionRejected
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.paths import shortest_path
from orderfsm.model.table import State

Kind = Literal["illegal", "skipped", "quarantine", "forced"]

FINAL_RULE = "final statuses accept nothing"
TABLE_RULE = "the transition table"
QUARANTINE_RULE = "quarantine"
FORCED_RULE = "forced by the caller"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a change is not one legal step: ``kind``, the ``rule`` and a one-line ``detail``.

    For a skipped change ``path`` lists the statuses passed, ends included.
    """

    kind: Kind
    rule: str
    detail: str
    path: tuple[str, ...] = ()


def forced(verdict: Verdict | None) -> Verdict:
    """A change the order recorded as forced (``via="forced"``): its own kind of finding,
    saying what the rules would have said of it."""
    if verdict is None:
        return Verdict("forced", FORCED_RULE, "recorded as forced (the rules allow it)")
    return Verdict("forced", FORCED_RULE, f"recorded as forced: {verdict.kind}: {verdict.detail}")


@dataclass(frozen=True, slots=True)
class StepKey:
    """One change in its observed context; ``""`` means not applicable or unknown.

    ``remembered`` is the status a history state was entered from, or, for a change out
    of a quarantine state, the status the order was parked from."""

    src: str
    dst: str
    remembered: str = ""
    parent: str = ""


class StepRules:
    """The verdicts of one machine, computed from its pure core and cached."""

    def __init__(self, machine: CompiledMachine) -> None:
        self.machine = machine
        self.history_states = machine.history_states
        self.quarantine = frozenset(s.name for s in machine.states if s.quarantine)
        self.remembering = self.history_states | self.quarantine
        """Statuses whose changes out are judged with ``StepKey.remembered``."""
        self._cache: dict[StepKey, Verdict | None] = {}

    def memory(self, prev: str, name: str, remembered: str) -> str:
        """What an order remembers after the change ``prev -> name`` (``remembered``:
        before it; ``""`` is nothing).

        Entering a quarantine state remembers where it was parked from; entering a history
        state from a plain status remembers that status, and moving within history states
        keeps it; a history state entered by a release remembers nothing known.
        """
        if name in self.quarantine:
            return remembered if prev in self.quarantine else prev
        if name in self.history_states:
            if prev in self.history_states:
                return remembered
            return "" if prev in self.quarantine else prev
        return ""

    def judge(self, key: StepKey) -> Verdict | None:
        """``None`` when the change is one legal step, else why not."""
        try:
            return self._cache[key]
        except KeyError:
            verdict = self._cache[key] = self._judge(key)
            return verdict

    def _contexts(
        self, key: StepKey
    ) -> Iterator[tuple[State | None, dict[str, str], State | None, State | None]]:
        """Every context the change may have happened in. What an export does not carry
        is existential: variables, the status a history state was entered from when not
        observed, and a refund's sub-order's own status (a refund row carries the main
        status; its sub-order's own status is another part)."""
        m = self.machine
        if key.src in self.history_states:
            remembered: tuple[State | None, ...] = (
                (m.status(key.remembered),) if key.remembered else m.history_sources(key.src)
            )
        else:
            remembered = (None,)
        for parent, variables in m.contexts(parent=key.parent or None):
            for history in remembered:
                for own in m.sub_order_statuses:
                    yield parent, variables, history, own

    def _judge(self, key: StepKey) -> Verdict | None:
        if key.dst in self.quarantine and key.src not in self.quarantine:
            return self._parked(key)
        if key.src in self.quarantine and key.dst not in self.quarantine:
            return self._released(key)
        return self._judge_step(key)

    def _parked(self, key: StepKey) -> Verdict | None:
        src, dst = self.machine.status(key.src), self.machine.status(key.dst)
        if src.final:
            return Verdict(
                "illegal", FINAL_RULE, f"{src} is final: {FINAL_RULE} (not even quarantine)"
            )
        return Verdict(
            "quarantine",
            QUARANTINE_RULE,
            f"parked in {dst} from {src}: the platform sent a status the machine does not know",
        )

    def _released(self, key: StepKey) -> Verdict | None:
        if not key.remembered or key.remembered == key.dst:
            return None  # parked from anywhere, or back where it was parked from
        m = self.machine
        parked = m.status(key.remembered)
        verdict = self._judge_step(StepKey(key.remembered, key.dst, "", key.parent))
        if verdict is None:
            return None
        released = f"released from {m.status(key.src)}, judged from {parked}: "
        return Verdict(verdict.kind, verdict.rule, released + verdict.detail, verdict.path)

    def _judge_step(self, key: StepKey) -> Verdict | None:
        m = self.machine
        src, dst = m.status(key.src), m.status(key.dst)
        refusal: TransitionRejected | None = None
        direct = m.has_edge(src, dst)
        for event in m.events(src):
            if not any(t.dst == dst.name for t in m.transitions_from(src) if t.event == event):
                continue
            for parent, variables, history, own in self._contexts(key):
                try:
                    step = m.transition(
                        src,
                        event,
                        parent=parent,
                        variables=variables,
                        history=history,
                        sub_order=own,
                    )
                except TransitionRejected as exc:
                    refusal = refusal or exc
                    continue
                if step.target == dst:
                    return None
        if src.final:
            return Verdict("illegal", FINAL_RULE, f"{src} is final: {FINAL_RULE}")
        if direct and refusal is not None:
            return Verdict("illegal", refusal.rule, str(refusal))
        remembered = m.status(key.remembered) if key.remembered else None
        path = shortest_path(m, src, dst, remembered)
        if path is not None and len(path) > 1:
            names = (src.name, *(t.dst or "" for t in path))
            shown = " -> ".join(str(m.status(n)) for n in names)
            return Verdict("skipped", "skipped steps", f"skips steps: {shown}", names)
        where = f" (remembered {remembered})" if remembered else ""
        return Verdict(
            "illegal",
            TABLE_RULE,
            f"no transition or path from {src} to {dst}{where} in {m.name}",
        )

    def keys(self) -> Iterator[StepKey]:
        """Every change the SQL engine may meet: all pairs, remembered and parent values."""
        m = self.machine
        parents = ("", *(s.name for s in m.parent.states)) if m.parent else ("",)
        for src in m.states:
            remembered: tuple[str, ...] = ("",)
            if src.name in self.remembering:
                remembered = ("", *(s.name for s in m.states if s.name not in self.quarantine))
            for dst in m.states:
                if dst == src:
                    continue
                for r in remembered:
                    for p in parents:
                        yield StepKey(src.name, dst.name, r, p)

    def verdicts(self) -> Iterator[tuple[StepKey, Verdict]]:
        """Every change that is not one legal step, with its verdict (see :meth:`keys`)."""
        for key in self.keys():
            verdict = self.judge(key)
            if verdict is not None:
                yield key, verdict
