"""The generated reference part of each ``docs/machines/NAME.md`` page.

A machine page mixes prose (written by people) with reference tables (guards, statuses,
events and transitions, recorded decisions) that must never drift from the table file.
The tables live between two marker lines and are rewritten by ``orderfsm docs``;
``orderfsm docs --check`` fails when a committed page differs. Output is deterministic:
table order, no dates.
"""

from __future__ import annotations

from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.guards import REGISTRY
from orderfsm.model.table import Provenance, Transition

BEGIN = "<!-- BEGIN GENERATED REFERENCE: `orderfsm docs` rewrites this block from the table -->"
END = "<!-- END GENERATED REFERENCE -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _provenance(p: Provenance) -> str:
    """The entry's own provenance, then the facts of it that are inferred nonetheless."""
    if p.documented:
        sections = sorted({f"{c.doc} \u00a7 {c.section}" for c in p.sources})
        facts = ", ".join(f for f, _ in p.inferred)
        also = f"; **inferred: {facts}** (see below)" if facts else ""
        return "documented: " + "; ".join(sections) + also
    return "inferred (every fact)"


def _inferred_facts(machine: CompiledMachine) -> list[str]:
    """Every inferred fact of a documented status or transition, with its basis."""
    lines = []
    for s in machine.states:
        lines += [f"- status `{s.name}`, {f}: {_cell(b)}" for f, b in s.provenance.inferred]
    for t in machine.table.transitions:
        where = f"`{t.src}` -> `{t.dst or 'history'}` on `{t.event}`"
        lines += [f"- {where}, {f}: {_cell(b)}" for f, b in t.provenance.inferred]
    for d in machine.table.deadlines:
        lines += [f"- deadline `{d.status}`, {f}: {_cell(b)}" for f, b in d.provenance.inferred]
    return lines


def _summary(machine: CompiledMachine) -> list[str]:
    """How much of the table is documented, fact by fact (true of the table by construction)."""
    table = machine.table
    states = [s for s in table.states if s.provenance.documented]
    edges = [t for t in table.transitions if t.provenance.documented]
    counts = {
        fact: sum(1 for t in edges if t.provenance.of(fact)[0] == "documented")
        for fact in ("event", "actor")
    }
    guarded = [t for t in edges if t.guards or machine.event(t.event).guards]
    guards = sum(1 for t in guarded if t.provenance.of("guards")[0] == "documented")
    return [
        f"Statuses documented: {len(states)} of {len(table.states)}. "
        f"Transitions whose edge is documented: {len(edges)} of {len(table.transitions)}; "
        f"of those, event name documented: {counts['event']}, actor documented: "
        f"{counts['actor']}, guards documented: {guards} of {len(guarded)} guarded. "
        "Every other fact is inferred: an inferred entry in full, and for a documented one "
        "the facts listed below with the reasoning each rests on.",
    ]


def _guards(machine: CompiledMachine) -> list[str]:
    uses: dict[str, list[str]] = {}
    for event in machine.table.events:
        for g in event.guards:
            uses.setdefault(g, []).append(f"event `{event.name}` (every status)")
    for t in machine.table.transitions:
        for g in t.guards:
            uses.setdefault(g, []).append(f"`{t.src}` -> `{t.dst or 'history'}` on `{t.event}`")
    if not uses:
        return ["No guards: the transitions alone decide."]
    lines = ["| guard | where | error | rule | source |", "| --- | --- | --- | --- | --- |"]
    for name in sorted(uses):
        rule = REGISTRY[name]
        lines.append(
            f"| `{name}` | {'; '.join(uses[name])} | `{rule.error.__name__}` | {_cell(rule.rule)} "
            f"| {_cell(rule.source)} |"
        )
    return lines


def _statuses(machine: CompiledMachine) -> list[str]:
    lines = [
        "| code | name | raw | phase | description | 中文 | customer text | final | tags | provenance |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in machine.states:
        text = _marked(s.customer_text, s.customer_text_origin)
        if s.customer_text_variable:
            variants = "; ".join(
                f"{v}: {_marked(t, s.customer_texts_origin)}" for v, t in s.customer_texts
            )
            text = f"by {s.customer_text_variable}: {variants}; without it: {text}"
        final = "yes" if s.final else ("quarantine" if s.quarantine else "")
        if final and s.provenance.of("final" if s.final else "quarantine")[0] == "inferred":
            final += " *(inferred)*"
        lines.append(
            f"| `{s.code}` | `{s.name}` | {_cell(s.raw or '')} | {s.phase} | {_cell(s.description)} "
            f"| {_cell(s.description_zh or '')} | {_cell(text)} | {final} "
            f"| {', '.join(sorted(s.tags))} | {_provenance(s.provenance)} |"
        )
    return lines


def _marked(text: str, origin: str) -> str:
    """A customer text exactly as ``State.text_for`` returns it, quoted, with its origin
    when no source gives it in these words."""
    return f'"{text}"' if origin == "documented" else f'"{text}" *({origin})*'


def _transition_row(machine: CompiledMachine, t: Transition) -> str:
    dst = f"`{t.dst}`" if t.dst else "*(history: back to the remembered status)*"
    sets = ", ".join(f"{k} = {v}" for k, v in t.sets)
    event_guards = ", ".join(machine.event(t.event).guards)
    return (
        f"| `{t.event}` | {event_guards} | `{t.src}` | {dst} | {t.actor} | {', '.join(t.guards)} "
        f"| {sets} | {_provenance(t.provenance)} |"
    )


def _transitions(machine: CompiledMachine) -> list[str]:
    lines = [
        "| event | event guards | from | to | actor | edge guards | sets | provenance |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = [e.name for e in machine.table.events]
    for t in sorted(machine.table.transitions, key=lambda t: order.index(t.event)):
        lines.append(_transition_row(machine, t))
    return lines


def _deadlines(machine: CompiledMachine) -> list[str]:
    """The section of a table that states deadlines (none at all for one that does not,
    so its page is as before)."""
    table = machine.table
    if not table.deadlines:
        return []
    lines = [
        "## Deadlines",
        "",
        "How long an order may wait in a status before it is late (`[[deadlines]]`; see",
        "[time.md](../time.md)).",
        "",
        "| status | usually | late after | source |",
        "| --- | --- | --- | --- |",
    ]
    for d in table.deadlines:
        unit = d.unit.replace("_", " ")
        status = table.state(d.status)
        usually, late = (
            (f"{d.least}-{d.most} {unit}", f"{d.most} {unit}")
            if d.term is None
            else (f"the order's `{d.term}` ({unit})", f"its `{d.term}`")
        )
        lines.append(
            f"| {status.code} `{status.name}` | {usually} | {late} "
            f"| {_cell(_provenance(d.provenance))} |"
        )
    return [*lines, ""]


def _decisions(machine: CompiledMachine) -> list[str]:
    if not machine.table.decisions:
        return ["None recorded."]
    lines = ["Each is a `[[decisions]]` entry in the table file, with both sides quoted."]
    for d in machine.table.decisions:
        follows = f" Follows: {', '.join(f'`{c}`' for c in d.follows)}." if d.follows else ""
        lines.append(f"- **{d.id}**: {_cell(d.topic)} *{_cell(d.decision)}*{follows}")
    return lines


def reference(machine: CompiledMachine) -> str:
    """The generated block for ``machine``, markers included."""
    parts = [
        BEGIN,
        "",
        "## Guards",
        "",
        *_guards(machine),
        "",
        "## Statuses",
        "",
        "Customer texts are quoted exactly as `State.text_for` (and `order.customer_text`)",
        "returns them. A text no source gives in these words is marked: *(translated)* (a",
        "source's words in English), *(composed)* (joined by the library from documented",
        "words), *(inferred)* (invented; `State.customer_text_origin` says the same).",
        "",
        *_statuses(machine),
        "",
        *_deadlines(machine),
        "## Events and transitions",
        "",
        *_transitions(machine),
        "",
        "## Documented and inferred, fact by fact",
        "",
        *_summary(machine),
        "",
        *(_inferred_facts(machine) or ["No documented entry has an inferred fact."]),
        "",
        "## Recorded decisions",
        "",
        *_decisions(machine),
        "",
        END,
    ]
    return "\n".join(parts)


def refresh(page: str, machine: CompiledMachine, where: str) -> str:
    """``page`` with its generated block replaced by the current one (``where`` names it in errors)."""
    if page.count(BEGIN) != 1 or page.count(END) != 1 or page.index(BEGIN) > page.index(END):
        raise OrderFsmError(f"{where}: needs exactly one generated block ({BEGIN!r} ... {END!r})")
    head, rest = page.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + reference(machine) + tail
