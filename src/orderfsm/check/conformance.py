"""The conformance checker: claims against tables, and claims against each other.

Every claim is expanded into atomic *facts*: one statement about one subject (an edge,
whether an event is accepted in a status, a state's field, ...) with the value the
document gives it. Facts about the same transition, or else the same subject, form a
group. A group is a **discrepancy** when any of its facts disagrees with what the
compiled table does, or when its facts disagree with each other (one says the
transition can happen, another that it cannot). Nothing here lists known
discrepancies: they fall out of the claims. A discrepancy is resolved only by a
decision recorded in the table that names its transition or one of its claims, and
whose ``follows`` claims still agree with the table. Facts come from
:mod:`orderfsm.check.facts`, the table's side from :mod:`orderfsm.check.observe`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orderfsm.check.claims import Claim
from orderfsm.check.facts import Fact, Pair, Subject, facts_of
from orderfsm.check.observe import Observer
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.table import Decision


@dataclass(frozen=True, slots=True)
class ClaimSide:
    """One source's side of a discrepancy, and whether the table agrees with it."""

    claim: str
    source: str
    section: str
    says: str
    statement: str
    table_agrees: bool


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A disagreement, with every source on it and the table's recorded decision (if any)."""

    machine: str
    transition: Pair | None
    subject: str
    claims: tuple[ClaimSide, ...]
    table: str
    decision: Decision | None
    # For each claim the decision follows that does not speak here: does the table agree
    # with every fact of it?
    followed_elsewhere: tuple[tuple[str, bool], ...] = ()

    @property
    def broken_decision(self) -> str | None:
        """Why the matched decision does not resolve this discrepancy, if it doesn't.

        A decision's ``follows`` lists the claims the table sides with; it resolves a
        discrepancy only while every one of them present here agrees with the table, so
        editing the table against its own decision is caught; and it must quote (in
        ``sides``, by document and section) every source here the table goes against.
        Where every source that
        speaks here is against the table (a description that says 11 awaits a
        confirmation, while other statements make 11 final), the followed claims speak
        elsewhere, and then the table must agree with each of them in full. A decision
        that follows no claim cannot be checked, so it resolves nothing.
        """
        if self.decision is None:
            return None
        if not self.decision.follows:
            return "it names no claim it follows (`follows`), so the checker cannot hold the table to it"
        followed = [c for c in self.claims if c.claim in self.decision.follows]
        if followed:
            against = sorted({c.claim for c in followed if not c.table_agrees})
        elif self.followed_elsewhere:
            against = sorted(cid for cid, ok in self.followed_elsewhere if not ok)
        else:
            return f"none of the claims it follows ({', '.join(self.decision.follows)}) exists"
        if against:
            return f"it follows {', '.join(against)}, which the table no longer agrees with"
        quoted = {(c.doc, c.section) for c in self.decision.sides}
        unquoted = sorted(
            {f"{c.source} \u00a7 {c.section}" for c in self.claims if not c.table_agrees}
            - {f"{doc} \u00a7 {section}" for doc, section in quoted}
        )
        if unquoted:
            return f"it does not quote the source it goes against: {'; '.join(unquoted)}"
        return None

    @property
    def resolved(self) -> bool:
        return self.decision is not None and self.broken_decision is None

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "transition": list(self.transition) if self.transition else None,
            "subject": self.subject,
            "claims": [
                {
                    "id": c.claim,
                    "source": c.source,
                    "section": c.section,
                    "says": c.says,
                    "statement": c.statement,
                    "table_agrees": c.table_agrees,
                }
                for c in self.claims
            ],
            "table": self.table,
            "decision": None
            if self.decision is None
            else {
                "id": self.decision.id,
                "decision": self.decision.decision,
                "reasoning": self.decision.reasoning,
            },
            "followed_elsewhere": [
                {"id": cid, "table_agrees": ok} for cid, ok in self.followed_elsewhere
            ],
            "resolved": self.resolved,
            "broken_decision": self.broken_decision,
        }


# ----------------------------------------------------------------------------- checking


def _key(fact: Fact) -> tuple[str, Subject]:
    if fact.transition is not None:
        return fact.machine, ("transition", *fact.transition)
    return fact.machine, fact.subject


def _describe_table(observer: Observer, machine: str, key: Subject, facts: Sequence[Fact]) -> str:
    m = observer.machines.get(machine)
    if m is None:
        return f"there is no machine {machine!r}"
    if key[0] == "transition":
        src, dst = observer.state(m, key[1]), observer.state(m, key[2])
        if src is None or dst is None:
            return f"{key[1]} -> {key[2]}: not a pair of statuses of {machine}"
        edges = [t for t in m.transitions_from(src) if t.dst == dst.name]
        if not edges:
            return f"no transition {src} -> {dst}"
        return "; ".join(
            f"{src} -> {dst} on {t.event} ({t.actor}"
            + (f", guards {', '.join(t.guards)}" if t.guards else "")
            + ")"
            for t in edges
        )
    return f"{key[0]} {', '.join(map(str, key[1:]))}: {observer.observe(facts[0])!r}"


def _decision_for(
    m: CompiledMachine | None, pair: Pair | None, claim_ids: set[str]
) -> Decision | None:
    """The decision naming this transition, or (for a discrepancy that is not about a
    transition) one of its claims: a claim that speaks about many transitions, such as a
    drawing, must not let one decision cover every edge it touches."""
    if m is None:
        return None
    for d in m.table.decisions:
        if pair is None and claim_ids & set(d.claims):
            return d
        if pair is not None:
            for a, b in d.transitions:
                if (m.status(a).code, m.status(b).code) == pair:
                    return d
    return None


def discrepancies(
    claims: Iterable[Claim], machines: Mapping[str, CompiledMachine]
) -> list[Discrepancy]:
    """Every disagreement between the claims and the machines, or among the claims."""
    observer = Observer(machines)
    groups: dict[tuple[str, Subject], list[Fact]] = {}
    claim_holds: dict[str, bool] = {}
    for claim in claims:
        if (
            claim.machine is not None
            and claim.machine not in machines
            and claim.kind != "informative"
        ):
            continue
        for fact in facts_of(claim, machines):
            groups.setdefault(_key(fact), []).append(fact)
    verdict_of = {
        id(f): observer.observe(f) == f.expected for facts in groups.values() for f in facts
    }
    for facts in groups.values():
        for f in facts:
            claim_holds[f.claim.id] = claim_holds.get(f.claim.id, True) and verdict_of[id(f)]
    out: list[Discrepancy] = []
    for (machine, key), facts in groups.items():
        verdicts = [verdict_of[id(f)] for f in facts]
        if all(verdicts) and not _sources_disagree(key, facts):
            continue
        pair = (key[1], key[2]) if key[0] == "transition" else None
        m = machines.get(machine)
        sides = tuple(
            ClaimSide(f.claim.id, f.claim.doc, f.claim.section, f.claim.says, f.statement, ok)
            for f, ok in zip(facts, verdicts, strict=True)
        )
        decision = _decision_for(m, pair, {f.claim.id for f in facts})
        here = {f.claim.id for f in facts}
        elsewhere = tuple(
            (cid, claim_holds[cid])
            for cid in (decision.follows if decision else ())
            if cid not in here and cid in claim_holds
        )
        out.append(
            Discrepancy(
                machine=machine,
                transition=pair,
                subject=_subject_text(key),
                claims=sides,
                table=_describe_table(observer, machine, key, facts),
                decision=decision,
                followed_elsewhere=elsewhere,
            )
        )
    return out


def _sources_disagree(key: Subject, facts: Sequence[Fact]) -> bool:
    """Whether the sources contradict each other, whatever the table does: on a transition,
    one says it can happen and another that it cannot; on any other subject, they give it
    different values."""
    if key[0] == "transition":
        return len({f.polarity for f in facts if f.polarity is not None}) > 1
    return len({repr(f.expected) for f in facts}) > 1


def _subject_text(key: Subject) -> str:
    if key[0] == "transition":
        return f"transition {key[1]} -> {key[2]}"
    return " ".join(str(k) for k in key if k is not None and k != ())
