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
    weight: str = "statement"


@dataclass(frozen=True, slots=True)
class Followed:
    """A claim a decision follows, and whether the table still sides with it.

    ``here`` says whether the claim speaks in this discrepancy. ``against`` lists the
    subjects where the table goes against the claim with no other decision to answer for
    it (so the decision does not hold); ``departures`` the other decisions that knowingly
    depart from it elsewhere (each quoting it), which leave it holding everywhere else.
    """

    claim: str
    here: bool
    against: tuple[str, ...] = ()
    departures: tuple[str, ...] = ()
    template: bool = False

    @property
    def holds(self) -> bool:
        return not self.against


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """A disagreement, with every source on it and the table's recorded decision (if any)."""

    machine: str
    transition: Pair | None
    subject: str
    claims: tuple[ClaimSide, ...]
    table: str
    decision: Decision | None
    # Every claim the decision follows (that exists), and whether the table sides with it.
    followed: tuple[Followed, ...] = ()

    @property
    def followed_elsewhere(self) -> tuple[tuple[str, bool], ...]:
        """The followed claims that do not speak here, each with whether it holds."""
        return tuple((f.claim, f.holds) for f in self.followed if not f.here)

    @property
    def all_against(self) -> bool:
        """Whether every source that speaks here is against the table."""
        return all(not c.table_agrees for c in self.claims)

    @property
    def broken_decision(self) -> str | None:
        """Why the matched decision does not resolve this discrepancy, if it doesn't.

        A decision holds only while the table sides with every claim it ``follows``:
        the table must agree with each of them here and everywhere else, except where
        another recorded decision departs from it (that decision answers for the
        departure). So editing the table against its own decision is caught, wherever
        the followed claim speaks. It must also quote (in ``sides``, by document and
        section) every source here the table goes against. A decision that follows no
        claim cannot be checked, so it resolves nothing.
        """
        if self.decision is None:
            return None
        if not self.decision.follows:
            return "it names no claim it follows (`follows`), so the checker cannot hold the table to it"
        if not self.followed:
            return f"none of the claims it follows ({', '.join(self.decision.follows)}) exists"
        templates = [f.claim for f in self.followed if f.template]
        if templates:
            return (
                f"it follows {', '.join(templates)}, an example filled with placeholders: "
                "a template cannot decide a rule"
            )
        against = [f for f in self.followed if not f.holds]
        if against:
            where = "; ".join(f"{f.claim} (at {', '.join(f.against)})" for f in against)
            return f"it follows {where}, which the table no longer agrees with"
        quoted = {(c.doc, c.section) for c in self.decision.sides}
        unquoted = sorted(
            {
                f"{c.source} \u00a7 {c.section}"
                for c in self.claims
                if not c.table_agrees and c.weight != "template"
            }
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
                    "weight": c.weight,
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
            "followed": [
                {
                    "id": f.claim,
                    "speaks_here": f.here,
                    "holds": f.holds,
                    "against": list(f.against),
                    "departed_from_by": list(f.departures),
                }
                for f in self.followed
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
    # A template's facts are shown beside the others but are no evidence on their own.
    found = {
        key: facts
        for key, facts in groups.items()
        if not all(verdict_of[id(f)] for f in _evidence(facts))
        or _sources_disagree(key[1], _evidence(facts))
    }
    decision_of = {
        key: _decision_for(machines.get(key[0]), _pair(key[1]), {f.claim.id for f in facts})
        for key, facts in found.items()
    }
    # For each claim: the discrepancies where the table goes against one of its facts.
    against: dict[str, list[tuple[str, Subject]]] = {}
    for key, facts in found.items():
        for f in facts:
            against.setdefault(f.claim.id, [])
            if not verdict_of[id(f)] and key not in against[f.claim.id]:
                against[f.claim.id].append(key)
    weight = {f.claim.id: f.claim.weight for facts in groups.values() for f in facts}
    out: list[Discrepancy] = []
    for key, facts in found.items():
        machine = key[0]
        decision = decision_of[key]
        sides = tuple(
            ClaimSide(
                f.claim.id,
                f.claim.doc,
                f.claim.section,
                f.claim.says,
                f.statement,
                verdict_of[id(f)],
                f.claim.weight,
            )
            for f in facts
        )
        here = {f.claim.id for f in facts}
        followed = tuple(
            _followed(
                cid,
                here=cid in here,
                decision=decision,
                against=against.get(cid, []),
                decision_of=decision_of,
                template=weight[cid] == "template",
            )
            for cid in (decision.follows if decision else ())
            if cid in weight
        )
        out.append(
            Discrepancy(
                machine=machine,
                transition=_pair(key[1]),
                subject=_subject_text(key[1]),
                claims=sides,
                table=_describe_table(observer, machine, key[1], facts),
                decision=decision,
                followed=followed,
            )
        )
    return out


def _evidence(facts: Sequence[Fact]) -> list[Fact]:
    """The facts that count as evidence: every one but a template's."""
    return [f for f in facts if f.claim.weight != "template"]


def _pair(key: Subject) -> Pair | None:
    return (key[1], key[2]) if key[0] == "transition" else None


def _followed(
    cid: str,
    *,
    here: bool,
    decision: Decision | None,
    against: Sequence[tuple[str, Subject]],
    decision_of: Mapping[tuple[str, Subject], Decision | None],
    template: bool,
) -> Followed:
    """Whether the table sides with claim ``cid``, which ``decision`` follows: every place
    the table goes against it must be answered for by another decision that does not
    follow it (a departure); anywhere else, the decision that follows it is broken."""
    broken: list[str] = []
    departures: list[str] = []
    for key in against:
        other = decision_of[key]
        if other is None or decision is None or other.id == decision.id or cid in other.follows:
            broken.append(_subject_text(key[1]))
        elif other.id not in departures:
            departures.append(other.id)
    return Followed(cid, here, tuple(broken), tuple(departures), template)


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
