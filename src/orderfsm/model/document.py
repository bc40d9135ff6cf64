"""Read a machine exported by ``orderfsm export --format json`` back into a table.

The document is versioned (``format`` and ``version``) and carries the table's own
sections (``machine``, ``variables``, ``states``, ``events``, ``transitions``,
``decisions``), which go through exactly the validation a TOML table does, plus two
derived ones that are checked rather than trusted: ``guards`` (each named guard's
predicate, which must be the one this library runs under that name) and ``edges`` (the
compiled edges, history transitions expanded, which must follow from the transitions).
The schema is ``data/schema/orderfsm-machine.schema.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from orderfsm.errors import TableError
from orderfsm.model.bounded import check_tree, load_json, read_file, utf8
from orderfsm.model.guards import HISTORY_GUARD, REGISTRY, parse_guard
from orderfsm.model.reader import TABLE_SECTIONS, complaint, parse_checked
from orderfsm.model.table import Table, Transition

FORMAT = "orderfsm-machine"
# Version 2: a provenance may name the facts of a documented entry that are inferred
# (``inferred``); a version 1 document could not say so, so its "documented" overclaims.
VERSION = 2
SCHEMA_ID = "https://orderfsm.invalid/schema/orderfsm-machine-2.schema.json"
_DOCUMENT_KEYS = {"$schema", "format", "version", "guards", "edges", *TABLE_SECTIONS}


def edge_data(edge: Transition) -> dict[str, object]:
    """One compiled edge as the document lists it; ``history`` marks an expanded history edge."""
    return {
        "src": edge.src,
        "dst": edge.dst,
        "event": edge.event,
        "actor": edge.actor,
        "guards": list(edge.guards),
        "history": HISTORY_GUARD in edge.guards,
        "set": dict(edge.sets),
    }


def read_document(data: Mapping[str, object], file: str = "<export>") -> Table:
    """Validate an exported document and return its table.

    Raises :class:`TableError` for another format or version, an unknown section, a
    guard the document defines differently from this library, or any table problem.
    """
    check_tree(data, complaint(file), root="")
    if data.get("format") != FORMAT:
        raise TableError(file, "format", f"expected {FORMAT!r}, got {data.get('format')!r}")
    version = data.get("version")
    if version != VERSION or isinstance(version, bool):
        raise TableError(
            file, "version", f"unsupported version {version!r}; this library reads {VERSION}"
        )
    unknown = sorted(set(data) - _DOCUMENT_KEYS)
    if unknown:
        raise TableError(file, unknown[0], f"unknown section; allowed: {sorted(_DOCUMENT_KEYS)}")
    table = parse_checked({k: data[k] for k in TABLE_SECTIONS if k in data}, file)
    _check_guards(data.get("guards"), table, file)
    return table


def guard_names(table: Table) -> list[str]:
    """Every guard the table's events and compiled edges name, sorted."""
    used = {g for e in table.events for g in e.guards}
    used |= {g for t in table.transitions for g in t.guards}
    if any(t.history for t in table.transitions):
        used.add(HISTORY_GUARD)
    return sorted(used)


def _check_guards(guards: object, table: Table, file: str) -> None:
    if not isinstance(guards, Mapping):
        raise TableError(file, "guards", "expected a mapping of guard names to definitions")
    missing = [name for name in guard_names(table) if name not in guards]
    if missing:
        raise TableError(file, f"guards.{missing[0]}", "the table names this guard; define it")
    for name, body in guards.items():
        entry = f"guards.{name}"
        if name not in REGISTRY:
            raise TableError(
                file, entry, f"no guard of this name in this library: {sorted(REGISTRY)}"
            )
        if not isinstance(body, Mapping):
            raise TableError(file, entry, "expected a guard definition")
        given = parse_guard(name, {k: v for k, v in body.items() if k != "reads"}, file, entry)
        ours = REGISTRY[name]
        if given != ours or body.get("reads") != list(ours.reads):
            raise TableError(
                file,
                entry,
                "differs from this library's guard of that name (rule, source, error, "
                "predicate, reads or doc); the document was exported from other rules",
            )


def check_edges(data: Mapping[str, object], edges: Sequence[Transition], file: str) -> None:
    """Refuse a document whose ``edges`` are not the ones its transitions compile to."""
    if data.get("edges") != [edge_data(e) for e in edges]:
        raise TableError(
            file, "edges", "do not follow from the transitions (re-export the document)"
        )


def read_json(path: Path) -> Mapping[str, object]:
    """Decode an exported document file (read and decoded by
    :mod:`orderfsm.model.bounded`); errors name the file."""
    file = str(path)
    complain = complaint(file)

    def at_file(where: str, problem: str) -> TableError:  # the text as a whole: <file>
        return TableError(file, where.lstrip(".") or "<file>", problem)

    data = load_json(utf8(read_file(path, complain), complain), at_file, "")
    if not isinstance(data, dict):
        raise TableError(file, "<file>", "expected a JSON object")
    return data
