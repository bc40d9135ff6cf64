"""Claims: the source documents' checkable statements, transcribed as data.

Claim files live in ``orderfsm/data/claims/`` (one per source document), separate from the
tables, so a typo in one is caught by the other. Each claim carries its source (file name
+ section heading), what the document says, and its exact meaning; the kind-specific
fields say what to compute. Kinds and their fields are documented in
``docs/claims-format.md``; :mod:`orderfsm.check.conformance` checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from orderfsm.errors import TableError
from orderfsm.model.bounded import load_toml, shipped_text
from orderfsm.model.reader import FieldReader, complaint

_COMMON = {"id", "kind", "machine", "section", "says", "meaning", "weight"}

# How much a claim weighs as evidence. A ``statement`` is the document's own word; an
# ``example`` is one real response the platform produced (it shows what can happen, not
# what must); a ``template`` is an example filled with placeholders ("string", 123456789,
# the same amount in every field): it shows a field's shape, and no fact about statuses
# or values can rest on it, so its facts never make a discrepancy on their own and no
# decision may follow it.
WEIGHTS = ("statement", "example", "template")

# kind -> (required fields, optional fields)
KINDS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        "matrix": (frozenset({"columns", "rows"}), frozenset()),
        "edges": (frozenset({"edges"}), frozenset()),
        "drawing": (frozenset({"statuses", "edges"}), frozenset({"scope"})),
        "path": (frozenset({"statuses"}), frozenset({"parent", "starts", "ends"})),
        "final": (frozenset({"statuses"}), frozenset()),
        "event_enabled": (frozenset({"event", "statuses"}), frozenset({"exact", "variables"})),
        "event_refused": (frozenset({"event", "statuses"}), frozenset({"error", "variables"})),
        "event_enabled_unless_tag": (frozenset({"event", "tag"}), frozenset({"error"})),
        "parent_enables": (frozenset({"event", "status", "parents"}), frozenset({"exact"})),
        "sub_order_enables": (
            frozenset({"event", "status", "parent", "sub_orders"}),
            frozenset({"exact"}),
        ),
        "no_event_after": (frozenset({"event", "after"}), frozenset()),
        "exits_by": (frozenset({"status", "actors"}), frozenset({"except_events"})),
        "exits_to": (frozenset({"status", "targets"}), frozenset()),
        "dominated_by": (frozenset({"target", "via"}), frozenset()),
        "tagged": (frozenset({"tag", "statuses"}), frozenset({"exact"})),
        "variable": (frozenset({"name", "values"}), frozenset()),
        "variable_text": (frozenset({"status", "variable", "values"}), frozenset()),
        "enum": (frozenset({"members"}), frozenset({"complete"})),
        "mapping": (frozenset({"entries"}), frozenset()),
        "text_invites": (frozenset({"entries"}), frozenset()),
        "variable_in": (frozenset({"status", "variable", "values"}), frozenset({"exact"})),
        "size": (frozenset({"size"}), frozenset()),
        "sub_machine": (frozenset({"parent"}), frozenset()),
        "actor_present": (frozenset({"actor", "present"}), frozenset()),
        "actors_of": (frozenset({"event", "actors"}), frozenset({"exact"})),
        "event_present": (frozenset({"event", "present"}), frozenset()),
        "description_field": (frozenset({"value"}), frozenset()),
        "payload": (frozenset({"body", "format"}), frozenset()),
        "payload_shape": (frozenset({"body", "parser"}), frozenset({"records"})),
        "deadline": (frozenset({"status", "within", "unit"}), frozenset()),
        "deadline_from": (frozenset({"status", "from", "unit"}), frozenset()),
        "informative": (frozenset({"reason"}), frozenset()),
    }
)
# Kinds about a document or a payload rather than one machine.
MACHINELESS = frozenset({"informative", "payload_shape"})


@dataclass(frozen=True, slots=True)
class Claim:
    """One checkable statement: where it is, what it says, and what it means exactly."""

    id: str
    kind: str
    machine: str | None
    doc: str
    section: str
    says: str
    meaning: str
    fields: Mapping[str, object]
    file: str
    weight: str = "statement"

    # Kind-specific fields are plain TOML values whose presence parse_claims has checked.
    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def parse_claims(data: Mapping[str, object], file: str) -> tuple[Claim, ...]:
    """Validate one decoded claim file; errors name the file, the claim and the problem."""
    top = FieldReader(file, "<top>", data, {"doc", "claims"})
    doc = top.text("doc")
    out: list[Claim] = []
    for i, item in enumerate(top.items("claims")):
        probe = FieldReader(
            file, f"claims[{i}]", item, set(item) if isinstance(item, Mapping) else set()
        )
        kind = probe.text("kind")
        if kind not in KINDS:
            probe.fail(f"unknown kind {kind!r}; kinds are {', '.join(sorted(KINDS))}", "kind")
        required, optional = KINDS[kind]
        r = FieldReader(file, f"claims[{i}]", item, _COMMON | required | optional)
        cid = r.text("id")
        r.entry = f"claims[{i}] ({cid})"
        for key in sorted(required):
            if key not in r.data:
                r.fail("missing required key for this kind", key)
        machine = r.opt_text("machine")
        if machine is None and kind not in MACHINELESS:
            r.fail("missing required key", "machine")
        weight = r.text("weight", "statement")
        if weight not in WEIGHTS:
            r.fail(f"{weight!r} is not a weight; one of {', '.join(WEIGHTS)}", "weight")
        for key, default in (("exact", True), ("complete", False)):
            if weight != "statement" and key in optional and r.data.get(key, default):
                r.fail(
                    f"an {weight} shows what can happen, not what cannot: set {key} = false",
                    key,
                )
        out.append(
            Claim(
                id=cid,
                kind=kind,
                machine=machine,
                doc=doc,
                section=r.text("section"),
                says=r.text("says"),
                meaning=r.text("meaning"),
                fields=MappingProxyType({k: v for k, v in r.data.items() if k not in _COMMON}),
                file=file,
                weight=weight,
            )
        )
    return tuple(out)


def shipped_claims() -> tuple[Claim, ...]:
    """Every claim shipped with the library, in file then document order; ids are unique."""
    root = resources.files("orderfsm") / "data" / "claims"
    claims: list[Claim] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            file = f"orderfsm/data/claims/{entry.name}"
            data = load_toml(shipped_text(f"claims/{entry.name}"), complaint(file))
            claims.extend(parse_claims(data, file))
    seen: dict[str, str] = {}
    for c in claims:
        if c.id in seen:
            raise TableError(c.file, c.id, f"duplicate claim id (also in {seen[c.id]})")
        seen[c.id] = c.file
    return tuple(claims)


def payload_text(name: str) -> str:
    """A payload example shipped beside the claims (``orderfsm/data/payloads/NAME``)."""
    return shipped_text(f"payloads/{name}")
