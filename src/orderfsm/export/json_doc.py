"""``orderfsm export --format json``: one versioned, self-describing document per machine.

The document carries the table's own sections in the table format's shape (so
:func:`orderfsm.load` reads it back through the same validation), the guards the
machine uses as predicates, and the compiled edges with history transitions expanded.
Its JSON Schema is ``data/schema/orderfsm-machine.schema.json``. Output is
deterministic: table order where order means something (states, events, transitions,
variables), sorted names where it does not (tags, guards), fixed indentation, one
trailing newline.
"""

from __future__ import annotations

import json
from typing import Any

from orderfsm.model.bounded import shipped_text
from orderfsm.model.compile import CompiledMachine
from orderfsm.model.document import FORMAT, SCHEMA_ID, VERSION, edge_data, guard_names
from orderfsm.model.guards import REGISTRY
from orderfsm.model.table import Citation, Decision, Provenance, State, Table, Transition

SCHEMA_FILE = "orderfsm-machine.schema.json"


def schema() -> dict[str, Any]:
    """The published JSON Schema of the document (package data)."""
    loaded: dict[str, Any] = json.loads(shipped_text(f"schema/{SCHEMA_FILE}"))
    return loaded


def document(machine: CompiledMachine) -> dict[str, Any]:
    """The export document of ``machine``."""
    t = machine.table
    return {
        "$schema": SCHEMA_ID,
        "format": FORMAT,
        "version": VERSION,
        "machine": _machine(t),
        "variables": {
            v.name: {
                "values": list(v.values),
                "default": v.default,
                "initial": list(v.initial),
                "description": v.description,
            }
            for v in t.variables
        },
        "states": [_state(s) for s in t.states],
        "events": {
            e.name: {"description": e.description, "guards": list(e.guards)} for e in t.events
        },
        "transitions": [_transition(tr) for tr in t.transitions],
        "decisions": [_decision(d) for d in t.decisions],
        "guards": {name: REGISTRY[name].data() for name in guard_names(t)},
        "edges": [edge_data(e) for e in machine.edges],
    } | _deadlines(t)


def dumps(data: object) -> str:
    """The byte-stable text of an export: two-space indentation, UTF-8, trailing newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _machine(t: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": t.name,
        "title": t.title,
        "initial": t.initial,
        "code_type": t.code_type,
    }
    if t.parent is not None:
        out["parent"] = t.parent
    out |= {"description": t.description, "source": t.source, "reconstruction": t.reconstruction}
    return out


def _citation(c: Citation) -> dict[str, str]:
    return {"doc": c.doc, "section": c.section, "says": c.says}


def _provenance(p: Provenance) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": p.kind, "sources": [_citation(c) for c in p.sources]}
    if p.basis:
        out["basis"] = p.basis
    if p.inferred:
        out["inferred"] = dict(p.inferred)
    return out


def _state(s: State) -> dict[str, Any]:
    out: dict[str, Any] = {"code": s.code, "name": s.name, "aliases": list(s.aliases)}
    if s.raw is not None:
        out["raw"] = s.raw
    out |= {"phase": s.phase, "description": s.description}
    if s.description_zh is not None:
        out["description_zh"] = s.description_zh
    out["customer_text"] = s.customer_text
    out["customer_text_origin"] = s.customer_text_origin
    if s.customer_text_variable is not None:
        var = s.customer_text_variable
        out["customer_text_by"] = {var: dict(s.customer_texts)}
        out["customer_text_by_origin"] = s.customer_texts_origin
        if s.customer_texts_zh:
            out["customer_text_zh_by"] = {var: dict(s.customer_texts_zh)}
    out |= {
        "final": s.final,
        "quarantine": s.quarantine,
        "tags": sorted(s.tags),
        "provenance": _provenance(s.provenance),
        "notes": s.notes,
    }
    return out


def _transition(t: Transition) -> dict[str, Any]:
    out: dict[str, Any] = {"src": t.src}
    if t.history:
        out["history"] = True
    else:
        out["dst"] = t.dst
    out |= {"event": t.event, "actor": t.actor, "guards": list(t.guards)}
    if t.sets:
        out["set"] = dict(t.sets)
    out |= {"provenance": _provenance(t.provenance), "notes": t.notes}
    return out


def _deadlines(t: Table) -> dict[str, Any]:
    """The ``deadlines`` section, only for a table that states some (so the documents of
    tables without deadlines stay as they were)."""
    if not t.deadlines:
        return {}
    return {
        "deadlines": [
            {
                "status": t.state(d.status).code,
                **({"within": [d.least, d.most]} if d.term is None else {"from": d.term}),
                "unit": d.unit,
                "provenance": _provenance(d.provenance),
                "notes": d.notes,
            }
            for d in t.deadlines
        ]
    }


def _decision(d: Decision) -> dict[str, Any]:
    return {
        "id": d.id,
        "topic": d.topic,
        "sides": [_citation(c) for c in d.sides],
        "decision": d.decision,
        "reasoning": d.reasoning,
        "transitions": [list(pair) for pair in d.transitions],
        "claims": list(d.claims),
        "follows": list(d.follows),
    }
