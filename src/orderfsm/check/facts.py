"""Claims expanded into atomic facts: one statement about one subject each.

A fact's ``subject`` is a tuple naming what to compute (see :mod:`orderfsm.check.observe`),
``expected`` the value the document gives it. Facts about a transition carry its
``(src, dst)`` pair and a polarity (does the fact say it can happen?), so the checker
can set sources against each other on the same transition. One function per claim kind;
the kinds are documented in ``docs/claims-format.md``.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orderfsm.check.claims import Claim, payload_text
from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.table import ACTORS, Code

Subject = tuple[Any, ...]
Pair = tuple[Code, Code]
CHECK = "\u2713"


@dataclass(frozen=True, slots=True)
class Fact:
    """One atomic statement a claim makes: ``subject`` has value ``expected``.

    ``transition`` is the ``(src, dst)`` pair the fact is about, if any; ``polarity``
    says whether the fact asserts that transition can happen (True) or cannot (False).
    """

    claim: Claim
    machine: str
    subject: Subject
    expected: object
    statement: str
    transition: Pair | None = None
    polarity: bool | None = None


class _Facts:
    """Collects the facts of one claim about one machine (``m`` is None if it is absent)."""

    def __init__(
        self, claim: Claim, m: CompiledMachine | None, machines: Mapping[str, CompiledMachine]
    ) -> None:
        self.claim, self.m, self.machines = claim, m, machines
        self.name = claim.machine or f"payload:{claim.get('parser', '')}"
        self.out: list[Fact] = []

    def add(
        self,
        subject: Subject,
        expected: object,
        statement: str,
        *,
        transition: Pair | None = None,
        polarity: bool | None = None,
        machine: str | None = None,
    ) -> None:
        self.out.append(
            Fact(
                self.claim, machine or self.name, subject, expected, statement, transition, polarity
            )
        )

    def codes(self, listed: list[Any], exact: bool) -> list[Any]:
        """The statuses a list claim speaks about: all of the machine's if exact, else the listed."""
        return [s.code for s in self.m.states] if (self.m and exact) else listed

    def event_pair(self, event: str, code: Any) -> Pair | None:
        """The transition an 'event in status' fact is about: the table's own edge, else
        the edge the event usually takes elsewhere."""
        if self.m is None:
            return None
        try:
            src = self.m.status(code)
        except OrderFsmError:
            return None
        own = [t.dst for t in self.m.transitions_from(src) if t.event == event and t.dst]
        usual = Counter(t.dst for t in self.m.edges if t.event == event and t.dst).most_common(1)
        dst = own[0] if own else (usual[0][0] if usual else None)
        return None if dst is None else (src.code, self.m.table.state(dst).code)

    def fixed(self) -> tuple[tuple[str, str], ...]:
        """The variable values a claim pins (``variables = { pay_step = "FULL" }``), sorted."""
        return tuple(sorted(self.claim.get("variables", {}).items()))

    def when(self) -> str:
        pinned = self.fixed()
        return f" (with {', '.join(f'{k}={v}' for k, v in pinned)})" if pinned else ""

    def edge(self, a: Code, b: Code, exists: bool, statement: str, parent: Any = None) -> None:
        """A fact that the transition ``a -> b`` exists (or, with ``exists`` False, does not)."""
        self.add(("edge", a, b, parent), exists, statement, transition=(a, b), polarity=exists)

    def enabled(self, event: str, code: Any, ok: bool, statement: str) -> None:
        self.add(
            ("enabled", event, code, None, self.fixed()),
            ok,
            statement + self.when(),
            transition=self.event_pair(event, code),
            polarity=ok,
        )


def _matrix(f: _Facts, c: Claim) -> None:
    columns = list(c["columns"])
    for row in c["rows"]:
        marks = str(row["marks"])
        if len(marks) != len(columns):
            raise OrderFsmError(
                f"{c.file}: {c.id}: row {row['from']} has {len(marks)} marks for {len(columns)} columns"
            )
        for col, mark in zip(columns, marks, strict=True):
            f.edge(row["from"], col, mark == CHECK, f"cell {row['from']} -> {col}: {mark}")


def _edges(f: _Facts, c: Claim) -> None:
    for a, b in c["edges"]:
        f.edge(a, b, True, f"{a} -> {b} drawn")


def _drawing(f: _Facts, c: Claim) -> None:
    """A drawing says what it draws and, by leaving it out, what it does not.

    Within ``scope`` (default: every status of the machine that is not quarantine) an
    arrow not drawn is a fact that the transition does not exist, and a status not drawn
    is a fact that the status does not exist; the checker sets both against the table and
    against every other source."""
    drawn_edges = {(a, b) for a, b in c["edges"]}
    drawn = list(c["statuses"])
    for a, b in c["edges"]:
        if a not in drawn or b not in drawn:
            raise OrderFsmError(f"{c.file}: {c.id}: edge {a} -> {b} joins a status not drawn")
        f.edge(a, b, True, f"{a} -> {b} drawn")
    default = [s.code for s in f.m.states if not s.quarantine] if f.m else drawn
    scope = list(c.get("scope", default))
    for code in scope:
        if code not in drawn:
            f.add(("exists", code), False, f"{code} is not drawn at all")
    for a, b in itertools.permutations(scope, 2):
        if (a, b) not in drawn_edges:
            f.edge(a, b, False, f"no arrow {a} -> {b}")


def _path(f: _Facts, c: Claim) -> None:
    parent = c.get("parent")
    where = f" (main order {parent})" if parent is not None else ""
    statuses = list(c["statuses"])
    for a, b in itertools.pairwise(statuses):
        f.edge(a, b, True, f"step {a} -> {b}{where}", parent)
    if c.get("starts", False):
        f.add(("initial", statuses[0]), True, f"the path starts the lifecycle at {statuses[0]}")
    if c.get("ends", False):
        f.add(("final", statuses[-1]), True, f"the path ends the lifecycle at {statuses[-1]}")


def _final(f: _Facts, c: Claim) -> None:
    for code in c["statuses"]:
        f.add(("final", code), True, f"{code} ends the lifecycle")


def _event_enabled(f: _Facts, c: Claim) -> None:
    listed = list(c["statuses"])
    for code in f.codes(listed, c.get("exact", True)):
        ok = code in listed
        f.enabled(
            c["event"], code, ok, f"{c['event']} in {code}: {'accepted' if ok else 'not accepted'}"
        )


def _event_enabled_unless_tag(f: _Facts, c: Claim) -> None:
    tag, error = c["tag"], c.get("error")
    for s in f.m.states if f.m else ():
        if error and tag in s.tags:
            f.add(
                ("refused", c["event"], s.code, ()),
                error,
                f"{c['event']} in {s.code} ({tag}) is refused by this rule ({error})",
                transition=f.event_pair(c["event"], s.code),
                polarity=False,
            )
        ok = not s.final and not s.quarantine and tag not in s.tags
        f.enabled(
            c["event"],
            s.code,
            ok,
            f"{c['event']} in {s.code} "
            f"({'' if tag in s.tags else 'not '}{tag}): {'accepted' if ok else 'not accepted'}",
        )


def _event_refused(f: _Facts, c: Claim) -> None:
    error = c.get("error", "TransitionRejected")
    for code in c["statuses"]:
        f.add(
            ("refused", c["event"], code, f.fixed()),
            error,
            f"{c['event']} in {code} is refused ({error}){f.when()}",
            transition=f.event_pair(c["event"], code),
            polarity=False,
        )


def _no_event_after(f: _Facts, c: Claim) -> None:
    after = c["after"]
    codes = [after]
    if f.m is not None:
        start = f.m.status(after)
        seen, frontier = {start.name}, [start.name]
        while frontier:
            for t in f.m.transitions_from(frontier.pop()):
                if t.dst and t.dst not in seen:
                    seen.add(t.dst)
                    frontier.append(t.dst)
        codes = [s.code for s in f.m.states if s.name in seen]
    for code in codes:
        f.enabled(
            c["event"], code, False, f"{c['event']} in {code} (at or after {after}): not accepted"
        )


def _parent_codes(f: _Facts, c: Claim, listed: list[Any]) -> list[Any]:
    """The parent-enum statuses a claim speaks about: all of them if exact, else the listed."""
    parent = f.m.parent if f.m else None
    return [s.code for s in parent.states] if (parent and c.get("exact", True)) else listed


def _parent_enables(f: _Facts, c: Claim) -> None:
    listed = list(c["parents"])
    for p in _parent_codes(f, c, listed):
        ok = p in listed
        f.add(
            ("parent_enables", c["event"], c["status"], p),
            ok,
            f"{c['event']} in {c['status']} while the main order is {p}: "
            f"{'allowed' if ok else 'not allowed'}",
        )


def _sub_order_enables(f: _Facts, c: Claim) -> None:
    """Whether a sub-order event is accepted depends on the sub-order's own status
    (``subOrderStatus``, in the parent's enum) as well as on the main order's."""
    listed = list(c["sub_orders"])
    for s in _parent_codes(f, c, listed):
        ok = s in listed
        f.add(
            ("sub_order_enables", c["event"], c["status"], c["parent"], s),
            ok,
            f"{c['event']} in {c['status']} while the main order is {c['parent']} and the "
            f"sub-order itself is {s}: {'allowed' if ok else 'not allowed'}",
        )


def _exits_by(f: _Facts, c: Claim) -> None:
    actors = tuple(sorted(c["actors"]))
    f.add(
        ("exits_by", c["status"], tuple(c.get("except_events", ()))),
        actors,
        f"leaving {c['status']} is done by {', '.join(actors)}",
    )


def _exits_to(f: _Facts, c: Claim) -> None:
    targets = tuple(sorted(str(t) for t in c["targets"]))
    f.add(("exits_to", c["status"]), targets, f"{c['status']} ends in {' or '.join(targets)}")


def _dominated_by(f: _Facts, c: Claim) -> None:
    via = tuple(c["via"])
    f.add(
        ("dominated", c["target"], via),
        True,
        f"every path to {c['target']} passes {' or '.join(map(str, via))}",
    )


def _tagged(f: _Facts, c: Claim) -> None:
    listed = list(c["statuses"])
    for code in f.codes(listed, c.get("exact", True)):
        f.add(
            ("tag", c["tag"], code),
            code in listed,
            f"{code} {'is' if code in listed else 'is not'} {c['tag']}",
        )


def _variable(f: _Facts, c: Claim) -> None:
    f.add(("variable", c["name"]), tuple(c["values"]), f"{c['name']} is one of {c['values']}")


def _variable_text(f: _Facts, c: Claim) -> None:
    values = tuple(c["values"])
    f.add(
        ("variable_text", c["status"], c["variable"], values),
        True,
        f"the text for {c['status']} depends on {c['variable']} ({', '.join(values)})",
    )


def _enum(f: _Facts, c: Claim) -> None:
    members = list(c["members"])
    for member in members:
        code = member["code"]
        f.add(("exists", code), True, f"{code} is a status")
        for key in ("name", "raw", "description", "description_zh"):
            if key in member:
                f.add(("field", code, key), member[key], f"{code} has {key} {member[key]!r}")
        if "phase" in member:
            # Phase labels are compared case-insensitively: the table writes them in lower case.
            phase = str(member["phase"]).lower()
            f.add(("field", code, "phase"), phase, f"{code} is in the phase {member['phase']!r}")
    if c.get("complete", False) and f.m is not None:
        listed = {member["code"] for member in members}
        for s in f.m.states:
            if s.code not in listed:
                f.add(("exists", s.code), False, f"the enum has no {s.code}")
        f.add(("size",), len(members), f"{len(members)} statuses")


def _mapping(f: _Facts, c: Claim) -> None:
    for e in c["entries"]:
        f.add(
            ("field", e["code"], "customer_text"),
            e["text"],
            f"{e['code']} is shown as {e['text']!r}",
        )
        if "desc" in e:
            f.add(
                ("resolves", e["desc"]),
                e["code"],
                f"orderStatusDesc {e['desc']!r} means {e['code']}",
            )


def _text_invites(f: _Facts, c: Claim) -> None:
    """A text that asks someone to act, or says the order waits for an action, claims that
    the action is possible in that status."""
    # No polarity: the fact is about one event, and another event refused on the same
    # edge (request_balance in to_be_audited) does not contradict it.
    for e in c["entries"]:
        f.add(
            ("enabled", e["event"], e["code"], None, ()),
            True,
            f"{e['code']}'s text {e['text']!r} waits for {e['event']}: accepted there",
            transition=f.event_pair(e["event"], e["code"]),
        )


def _variable_in(f: _Facts, c: Claim) -> None:
    """What a status means for a variable: the values it can hold there (exactly, or at least)."""
    listed = [str(v) for v in c["values"]]
    declared = [str(v) for v in _declared(f, c["variable"])]
    exact = c.get("exact", True)
    for value in sorted(set(listed) | (set(declared) if exact else set())):
        ok = value in listed
        f.add(
            ("variable_in", c["status"], c["variable"], value),
            ok,
            f"in {c['status']}, {c['variable']} {'can' if ok else 'cannot'} be {value}",
            polarity=ok,
        )


def _declared(f: _Facts, name: str) -> tuple[str, ...]:
    found = [v.values for v in f.m.table.variables if v.name == name] if f.m else []
    return tuple(found[0]) if found else ()


def _size(f: _Facts, c: Claim) -> None:
    f.add(("size",), c["size"], f"{c['size']} statuses")


def _sub_machine(f: _Facts, c: Claim) -> None:
    if not c["parent"]:
        f.add(("parent_of",), None, "not a sub-order machine: it has no parent")
        return
    f.add(("parent_of",), c["parent"], f"a sub-order machine inside {c['parent']}")
    parent = f.machines.get(c["parent"])
    for event in f.m.event_names if (f.m and parent) else ():
        f.add(
            ("event_present", event),
            False,
            f"the main order has no {event!r} event",
            machine=c["parent"],
        )


def _present(f: _Facts, c: Claim) -> None:
    what = "actor" if c.kind == "actor_present" else "event"
    f.add((c.kind, c[what]), c["present"], f"{what} {c[what]} present: {c['present']}")


def _actors_of(f: _Facts, c: Claim) -> None:
    """Who makes an event: each listed actor makes it on some edge (and, if exact, no
    other actor makes it anywhere)."""
    listed = [str(a) for a in c["actors"]]
    others = [a for a in ACTORS if a not in listed] if c.get("exact", True) else []
    for actor in [*listed, *others]:
        ok = actor in listed
        f.add(
            ("event_actor", c["event"], actor),
            ok,
            f"{c['event']} is {'' if ok else 'not '}made by the {actor}",
        )


def _description_field(f: _Facts, c: Claim) -> None:
    f.add(("description_field",), c["value"], f"the status description is the {c['value']}")


def _payload(f: _Facts, c: Claim) -> None:
    body = json.loads(payload_text(c["body"]))
    orders = [body] if c["format"] == "order" else body["data"]["data"]
    for i, order in enumerate(orders):
        status, desc = order["status"], order.get("orderStatusDesc")
        f.add(("exists", status), True, f"order[{i}] status {status} is a status")
        if desc is not None:
            f.add(
                ("resolves", desc),
                status,
                f"order[{i}]: status {status} with orderStatusDesc {desc!r}",
            )
        for j, sub in enumerate(order.get("subOrderVOS") or []):
            where = f"order[{i}].subOrderVOS[{j}]"
            f.add(
                ("known", sub["subOrderStatus"]),
                True,
                f"{where}.subOrderStatus {sub['subOrderStatus']!r} is a status",
            )
            f.add(
                ("exists", sub["refundStatus"]),
                True,
                f"{where}.refundStatus {sub['refundStatus']} is a refund status",
                machine="taobao_refund",
            )


def _payload_shape(f: _Facts, c: Claim) -> None:
    records = c.get("records", 1)
    f.add(
        ("parses", c["parser"], c["body"]),
        records,
        f"the {c['parser']} parser reads {c['body']} into {records} record(s)",
    )


def _deadline(f: _Facts, c: Claim) -> None:
    least, most = c["within"]
    f.add(
        ("deadline", c["status"]),
        (least, most, c["unit"]),
        f"{c['status']} is late after {least}-{most} {c['unit'].replace('_', ' ')}",
    )


def _deadline_from(f: _Facts, c: Claim) -> None:
    f.add(
        ("deadline", c["status"]),
        (c["from"], c["unit"]),
        f"{c['status']} is late once the order's {c['from']} has passed "
        f"({c['unit'].replace('_', ' ')})",
    )


def _informative(f: _Facts, c: Claim) -> None:
    """Nothing to compute: the report lists the claim with its reason."""


_KINDS: Mapping[str, Callable[[_Facts, Claim], None]] = {
    "matrix": _matrix,
    "edges": _edges,
    "drawing": _drawing,
    "path": _path,
    "final": _final,
    "event_enabled": _event_enabled,
    "event_enabled_unless_tag": _event_enabled_unless_tag,
    "event_refused": _event_refused,
    "no_event_after": _no_event_after,
    "parent_enables": _parent_enables,
    "sub_order_enables": _sub_order_enables,
    "exits_by": _exits_by,
    "exits_to": _exits_to,
    "dominated_by": _dominated_by,
    "tagged": _tagged,
    "variable": _variable,
    "variable_text": _variable_text,
    "enum": _enum,
    "mapping": _mapping,
    "text_invites": _text_invites,
    "variable_in": _variable_in,
    "size": _size,
    "sub_machine": _sub_machine,
    "actor_present": _present,
    "actors_of": _actors_of,
    "event_present": _present,
    "description_field": _description_field,
    "payload": _payload,
    "payload_shape": _payload_shape,
    "deadline": _deadline,
    "deadline_from": _deadline_from,
    "informative": _informative,
}


def facts_of(claim: Claim, machines: Mapping[str, CompiledMachine]) -> list[Fact]:
    """Expand one claim into its atomic facts (see docs/claims-format.md for each kind)."""
    collector = _Facts(claim, machines.get(claim.machine or ""), machines)
    _KINDS[claim.kind](collector, claim)
    return collector.out
