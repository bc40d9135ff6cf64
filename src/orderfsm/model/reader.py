"""Read and validate a table file (TOML on disk, or a decoded mapping) into the model.

Every problem is reported as :class:`~orderfsm.errors.TableError` naming the file, the
entry and the problem, so a table from elsewhere can be checked before anything runs.
Guard names are checked against :data:`orderfsm.model.guards.REGISTRY`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from orderfsm.errors import TableError
from orderfsm.model.bounded import (
    Complain,
    check_tree,
    is_id,
    is_integer,
    is_text,
    load_toml,
    read_file,
    refusal,
    utf8,
)
from orderfsm.model.guards import REGISTRY
from orderfsm.model.table import (
    ACTORS,
    DEADLINE_TERMS,
    DEADLINE_UNITS,
    STATE_FACTS,
    TEXT_ORIGINS,
    TRANSITION_FACTS,
    Citation,
    Code,
    Deadline,
    Decision,
    Event,
    Provenance,
    State,
    Table,
    Transition,
    Variable,
    plain_transition,
)

if TYPE_CHECKING:
    from pathlib import Path

_T = TypeVar("_T")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

TABLE_SECTIONS = (
    "machine",
    "variables",
    "states",
    "events",
    "transitions",
    "decisions",
    "deadlines",
)
"""The sections of a table (a TOML file, or an exported document's table part)."""
_TOP_KEYS = set(TABLE_SECTIONS)
_MACHINE_KEYS = {
    "name",
    "title",
    "initial",
    "code_type",
    "parent",
    "description",
    "reconstruction",
    "source",
}
_STATE_KEYS = {
    "code",
    "name",
    "aliases",
    "raw",
    "phase",
    "description",
    "description_zh",
    "customer_text",
    "final",
    "quarantine",
    "tags",
    "provenance",
    "notes",
    "customer_text_by",
    "customer_text_zh_by",
    "customer_text_origin",
    "customer_text_by_origin",
}
_EVENT_KEYS = {"description", "guards"}
_TRANSITION_KEYS = {
    "src",
    "dst",
    "history",
    "event",
    "actor",
    "guards",
    "provenance",
    "notes",
    "set",
}
_PROVENANCE_KEYS = {"kind", "sources", "basis", "inferred"}
_CITATION_KEYS = {"doc", "section", "says"}
_DECISION_KEYS = {
    "id",
    "topic",
    "sides",
    "decision",
    "reasoning",
    "transitions",
    "claims",
    "follows",
}
_VARIABLE_KEYS = {"values", "default", "description", "initial"}


class FieldReader:
    """Typed access to one mapping of a data file (table or claims), reporting every problem
    as a :class:`TableError` against ``file`` and ``entry``."""

    def __init__(self, file: str, entry: str, data: object, keys: set[str]) -> None:
        self.file = file
        self.entry = entry
        if not isinstance(data, dict | Mapping):  # dict first: no abc check for TOML data
            self.fail(f"expected a table (mapping), got {type(data).__name__}")
        self.data: Mapping[str, object] = data
        if not keys.issuperset(self.data):
            unknown = sorted(set(self.data) - keys)
            self.fail(f"unknown key {unknown[0]!r}; allowed keys are {', '.join(sorted(keys))}")

    def fail(self, problem: str, key: str | None = None) -> NoReturn:
        entry = f"{self.entry}.{key}" if key else self.entry
        raise TableError(self.file, entry, problem)

    def _get(self, key: str, kind: type[_T] | tuple[type, ...], default: object) -> object:
        if key not in self.data:
            if default is _REQUIRED:
                self.fail("missing required key", key)
            return default
        value = self.data[key]
        if value.__class__ is kind and kind is not int:  # the common case, decided at once
            return value
        if value.__class__ is dict and kind is Mapping:  # the other common one
            return value
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not any(is_integer(value) if k is int else isinstance(value, k) for k in kinds):
            got = "a boolean" if isinstance(value, bool) else type(value).__name__
            self.fail(f"expected {_kind_name(kind)}, got {got}", key)
        return value

    def text(self, key: str, default: object = None) -> str:
        value = self._get(key, str, _REQUIRED if default is None else default)
        assert isinstance(value, str)
        if not value.isascii() and _CHECK_TEXT.get():
            self._unicode(value, key)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, str, None)
        if not isinstance(value, str):
            return None
        if not value.isascii() and _CHECK_TEXT.get():
            self._unicode(value, key)
        return value

    def _unicode(self, value: str, key: str) -> None:
        """Refuse text with a lone surrogate (read before the bounded walk)."""
        if not is_text(value):
            self.fail(refusal(value, "text"), key)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self._get(key, bool, default)
        assert isinstance(value, bool)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, [])
        assert isinstance(value, list)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"expected a list of strings, item {i} is {type(item).__name__}", key)
        if value and _CHECK_TEXT.get():
            self._unicode("".join(value), key)
        return tuple(value)

    def items(self, key: str) -> Sequence[object]:
        value = self._get(key, list, [])
        assert isinstance(value, list)
        return value


_REQUIRED = object()


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", bool: "a boolean", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _citation(file: str, entry: str, data: object) -> Citation:
    r = FieldReader(file, entry, data, _CITATION_KEYS)
    return Citation(doc=r.text("doc"), section=r.text("section"), says=r.text("says", ""))


def _provenance(file: str, entry: str, data: object, facts: Sequence[str]) -> Provenance:
    """An entry's provenance; ``facts`` are its other facts ``inferred`` may name."""
    r = FieldReader(file, entry, data, _PROVENANCE_KEYS)
    kind = r.text("kind")
    if kind not in ("documented", "inferred"):
        r.fail(f"must be 'documented' or 'inferred', got {kind!r}", "kind")
    sources = tuple(
        _citation(file, f"{entry}.sources[{i}]", c) for i, c in enumerate(r.items("sources"))
    )
    basis = r.text("basis", "")
    if kind == "documented" and not sources:
        r.fail("a documented entry must cite at least one source", "sources")
    if kind == "inferred" and not basis:
        r.fail("an inferred entry must give its reasoning in 'basis'", "basis")
    inferred = _inferred_facts(
        FieldReader(file, f"{entry}.inferred", r._get("inferred", Mapping, {}), set(facts[1:])),
        facts,
    )
    if inferred and kind == "inferred":
        r.fail("every fact of an inferred entry is inferred; 'inferred' is for a documented one")
    return Provenance(
        kind="documented" if kind == "documented" else "inferred",
        sources=sources,
        basis=basis,
        inferred=inferred,
    )


def _inferred_facts(r: FieldReader, facts: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``inferred = { actor = "basis", ... }``: each named fact with its non-empty basis,
    in the order of ``facts``."""
    out = []
    for fact in (f for f in facts if f in r.data):
        basis = r.text(fact)
        if not basis:
            r.fail("give the reasoning the inference rests on", fact)
        out.append((fact, basis))
    return tuple(out)


class _Provenances:
    """The provenances of one file's entries, each read once per content: a table often
    gives many entries the same one (every generated edge "inferred" on one basis), and
    reading it builds two value objects. Only a provenance that cites no source is
    remembered (its content hashes as it is); a refused one never is."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.read: dict[tuple[object, ...], Provenance] = {}

    def of(self, r: FieldReader, entry: str, facts: Sequence[str]) -> Provenance:
        """The provenance of the entry ``r`` reads, named ``entry`` in an error; ``facts``
        are the entry's other facts ``inferred`` may name."""
        data = cast("Mapping[str, object]", r._get("provenance", Mapping, _REQUIRED))
        try:
            key = (tuple(facts), *data.items()) if "sources" not in data else None
            known = None if key is None else self.read.get(key)
        except TypeError:  # a value that is not hashable: read it, and it will be refused
            key = known = None
        if known is None:
            known = _provenance(self.file, f"{entry}.provenance", data, facts)
            if key is not None:
                self.read[key] = known
        return known


def _identifier(r: FieldReader, key: str) -> str:
    value = r.text(key)
    if not _NAME.match(value):
        r.fail(f"{value!r} is not a valid name (letters, digits and underscores)", key)
    return value


def parse_table(data: Mapping[str, object], file: str = "<mapping>") -> Table:
    """Validate a decoded table and return it as frozen value objects.

    Raises :class:`TableError` naming ``file``, the entry and the problem for an unknown
    key, a wrong type, a duplicate code or name, a reference to an undeclared state or
    event, an unknown guard, or an unknown actor.
    """
    if not isinstance(data, Mapping):
        raise TableError(file, "<top>", f"expected a table (mapping), got {type(data).__name__}")
    try:
        return _parse_folded(data, file)
    except Exception:  # any problem: the checked path below names it
        pass
    check_tree(data, complaint(file), root="")
    return parse_checked(data, file)


_LONG_SECTIONS = ("states", "transitions")


def _parse_folded(data: Mapping[str, object], file: str) -> Table:
    """:func:`parse_table` with the bounded walk folded into the read of the two long
    sections (``states``, ``transitions``): the rest is walked as before, and the typed
    read of a state or a transition checks what the walk would (its keys are known
    strings, its integers in range, its nesting bounded by its shape; its texts are
    checked for a lone surrogate as they are read: :data:`_CHECK_TEXT`). Any problem
    raises, and :func:`parse_table` then reads the table the checked way, which names
    it exactly as before. ``tests/test_large_tables.py`` holds that both ways accept and
    refuse alike."""
    rest = {key: value for key, value in data.items() if key not in _LONG_SECTIONS}
    check_tree(rest, complaint(file), root="")
    token = _CHECK_TEXT.set(True)
    try:
        return parse_checked(data, file)
    finally:
        _CHECK_TEXT.reset(token)


_CHECK_TEXT: ContextVar[bool] = ContextVar("check_text", default=False)
"""Whether the texts a :class:`FieldReader` reads are checked for a lone surrogate (set
while :func:`_parse_folded` reads data the bounded walk has not)."""


def complaint(file: str) -> Complain:
    """How a problem :mod:`~orderfsm.model.bounded` finds in ``file`` is raised: a
    :class:`TableError` naming the entry (``states[3].code``, ``<top>``, ``<file>``)."""

    def table_error(where: str, problem: str) -> TableError:
        return TableError(file, where.lstrip(".") or "<top>", problem)

    return table_error


def parse_checked(data: Mapping[str, object], file: str) -> Table:
    """:func:`parse_table` of data :func:`~orderfsm.model.bounded.check_tree` has passed."""
    top = FieldReader(file, "<top>", data, _TOP_KEYS)
    m = FieldReader(file, "machine", top._get("machine", Mapping, _REQUIRED), _MACHINE_KEYS)
    name = _identifier(m, "name")
    code_type = m.text("code_type", "int")
    if code_type not in ("int", "str"):
        m.fail(f"must be 'int' or 'str', got {code_type!r}", "code_type")

    variables = _parse_variables(file, top._get("variables", Mapping, {}))
    states = _parse_states(file, top.items("states"), code_type, variables)
    lookup = _state_lookup(file, states)

    def ref(r: FieldReader, key: str) -> str:
        raw = r.data.get(key)
        if raw is None:
            r.fail("missing required key", key)
        if not is_id(raw):
            r.fail(f"expected a state name or code, got {type(raw).__name__}", key)
        found = lookup.get(raw)
        if found is None:
            r.fail(f"{raw!r} is not a declared state", key)
        return found

    initial = ref(m, "initial")
    events = _parse_events(file, top._get("events", Mapping, _REQUIRED))
    event_names = {e.name for e in events}
    transitions = _parse_transitions(
        file, top.items("transitions"), ref, event_names, variables, lookup=lookup
    )
    decisions = _parse_decisions(file, top.items("decisions"), lookup)
    deadlines = _parse_deadlines(file, top.items("deadlines"), ref)
    if not states:
        top.fail("a table needs at least one state", "states")
    by_name = {s.name: s for s in states}
    return Table(
        name=name,
        title=m.text("title", name),
        file=file,
        initial=initial,
        code_type="int" if code_type == "int" else "str",
        states=states,
        events=events,
        transitions=transitions,
        decisions=decisions,
        variables=variables,
        parent=m.opt_text("parent"),
        description=m.text("description", ""),
        source=m.text("source", ""),
        reconstruction=m.flag("reconstruction"),
        deadlines=deadlines,
        state_by_name=by_name,
    )


def _parse_variables(file: str, data: object) -> tuple[Variable, ...]:
    assert isinstance(data, Mapping)
    out = []
    for var_name, body in data.items():
        r = FieldReader(file, f"variables.{var_name}", body, _VARIABLE_KEYS)
        values = r.texts("values")
        if not values:
            r.fail("a variable needs at least one value", "values")
        default = r.text("default")
        if default not in values:
            r.fail(f"default {default!r} is not one of {list(values)}", "default")
        initial = r.texts("initial")
        for value in initial:
            if value not in values:
                r.fail(f"initial value {value!r} is not one of {list(values)}", "initial")
        if initial and default not in initial:
            r.fail(
                f"default {default!r} must be one of the initial values {list(initial)}", "default"
            )
        out.append(Variable(var_name, values, default, r.text("description", ""), initial))
    return tuple(out)


def _declared(r: FieldReader, key: str, variables: Sequence[Variable], name: str) -> Variable:
    """The declared variable ``name``, or a failure naming ``key`` and what is declared."""
    for var in variables:
        if var.name == name:
            return var
    declared = ", ".join(v.name for v in variables)
    r.fail(
        f"{name!r} is not a declared variable; declared: "
        f"{declared or 'none (add a [variables.NAME] table)'}",
        key,
    )


def _customer_texts(
    r: FieldReader, variables: Sequence[Variable], key: str = "customer_text_by"
) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """Parse ``KEY = { VAR = { VALUE = TEXT } }``: one text for every value."""
    if key not in r.data:
        return None, ()
    data = r.data[key]
    if not isinstance(data, Mapping) or len(data) != 1:
        r.fail("expected one declared variable mapped to a table of texts by value", key)
    ((name, texts),) = data.items()
    var = _declared(r, key, variables, name)
    if not isinstance(texts, Mapping):
        r.fail(f"{name}: expected a table of texts by value, got {type(texts).__name__}", key)
    for value, text in texts.items():
        if value not in var.values:
            r.fail(f"{value!r} is not a value of {name}; values: {list(var.values)}", key)
        if not isinstance(text, str):
            r.fail(f"{name}.{value}: expected a string, got {type(text).__name__}", key)
        if _CHECK_TEXT.get():
            r._unicode(text, key)
    missing = [v for v in var.values if v not in texts]
    if missing:
        r.fail(f"no text for {name} = {missing[0]!r}; give one for every value", key)
    return name, tuple((v, str(texts[v])) for v in var.values)


def _sets(r: FieldReader, variables: Sequence[Variable]) -> tuple[tuple[str, str], ...]:
    """Parse a transition's ``set = { VAR = VALUE, ... }`` against the declared variables."""
    if "set" not in r.data:
        return ()
    data = r.data["set"]
    if not isinstance(data, Mapping) or not data:
        r.fail("expected a table of declared variables and their new values", "set")
    out = []
    for name, value in data.items():
        var = _declared(r, "set", variables, name)
        if not isinstance(value, str) or value not in var.values:
            r.fail(f"{value!r} is not a value of {name}; values: {list(var.values)}", "set")
        out.append((name, value))
    return tuple(out)


def _parse_states(
    file: str, items: Sequence[object], code_type: str, variables: Sequence[Variable]
) -> tuple[State, ...]:
    states: list[State] = []
    seen_codes: dict[Code, int] = {}
    seen_names: dict[str, int] = {}
    provenances = _Provenances(file)
    for i, item in enumerate(items):
        entry = f"states[{i}]"
        r = FieldReader(file, entry, item, _STATE_KEYS)
        code_kind: type = int if code_type == "int" else str
        code = r._get("code", code_kind, _REQUIRED)
        assert isinstance(code, int | str)
        if code.__class__ is str and _CHECK_TEXT.get():
            r._unicode(code, "code")
        name = _identifier(r, "name")
        entry = f"states[{i}] ({name})"
        r.entry = entry
        if code in seen_codes:
            r.fail(f"duplicate code {code!r} (also states[{seen_codes[code]}])", "code")
        if name in seen_names:
            r.fail(f"duplicate name {name!r} (also states[{seen_names[name]}])", "name")
        seen_codes[code] = i
        seen_names[name] = i
        prov = provenances.of(r, entry, STATE_FACTS)
        for fact, _ in prov.inferred:
            if not r.flag(fact):
                r.fail(f"the provenance says {fact!r} is inferred, but the state is not {fact}")
        text_variable, texts = _customer_texts(r, variables)
        zh_variable, texts_zh = _customer_texts(r, variables, "customer_text_zh_by")
        if zh_variable is not None and zh_variable != text_variable:
            r.fail("must choose by the same variable as customer_text_by", "customer_text_zh_by")
        states.append(
            State(
                code=code,
                name=name,
                raw=r.opt_text("raw"),
                phase=r.text("phase"),
                description=r.text("description"),
                customer_text=r.text("customer_text"),
                provenance=prov,
                final=r.flag("final"),
                quarantine=r.flag("quarantine"),
                aliases=r.texts("aliases"),
                tags=frozenset(r.texts("tags")),
                description_zh=r.opt_text("description_zh"),
                notes=r.text("notes", ""),
                customer_text_variable=text_variable,
                customer_texts=texts,
                customer_texts_zh=texts_zh,
                customer_text_origin=_origin(
                    r, "customer_text_origin", "documented" if prov.documented else "inferred"
                ),
                customer_texts_origin=_origin(r, "customer_text_by_origin", "documented"),
            )
        )
    return tuple(states)


def _origin(r: FieldReader, key: str, default: str) -> str:
    """Where a customer text comes from; without the key, from the state's provenance."""
    origin = r.text(key, default)
    if origin not in TEXT_ORIGINS:
        r.fail(f"{origin!r} is not a text origin; origins: {', '.join(TEXT_ORIGINS)}", key)
    return origin


def _state_lookup(file: str, states: Sequence[State]) -> dict[Code, str]:
    """Every spelling of every state -> its name; a spelling shared by two states is an error."""
    lookup: dict[Code, str] = {}
    for i, s in enumerate(states):
        keys: list[Code] = [s.code, s.name, *s.aliases]
        if s.raw is not None:
            keys.append(s.raw)
        for key in keys:
            other = lookup.get(key)
            if other is not None and other != s.name:
                raise TableError(
                    file,
                    f"states[{i}] ({s.name})",
                    f"{key!r} already names state {other}; every code, name, alias and raw "
                    "string must identify one state",
                )
            lookup[key] = s.name
    return lookup


def _check_guards(r: FieldReader, guards: tuple[str, ...]) -> None:
    for g in guards:
        if g not in REGISTRY:
            r.fail(
                f"unknown guard {g!r}; guards are looked up by name in the registry: "
                f"{', '.join(sorted(REGISTRY))}",
                "guards",
            )


def _parse_events(file: str, data: object) -> tuple[Event, ...]:
    assert isinstance(data, Mapping)
    events = []
    for ev_name, body in data.items():
        r = FieldReader(file, f"events.{ev_name}", body, _EVENT_KEYS)
        if not _NAME.match(ev_name):
            r.fail(f"{ev_name!r} is not a valid event name")
        guards = r.texts("guards")
        _check_guards(r, guards)
        events.append(Event(ev_name, r.text("description"), guards))
    if not events:
        raise TableError(file, "events", "a table needs at least one event")
    return tuple(events)


def _parse_transitions(
    file: str,
    items: Sequence[object],
    ref: Callable[[FieldReader, str], str],
    event_names: set[str],
    variables: Sequence[Variable],
    *,
    lookup: Mapping[Code, str],
) -> tuple[Transition, ...]:
    out: list[Transition] = []
    seen: dict[tuple[str, str | None, str], int] = {}
    provenances = _Provenances(file)
    plain = _PlainEdges(lookup, event_names, provenances.read)
    for i, item in enumerate(items):
        edge = plain.read(item)
        if edge is not None and (edge.src, edge.dst, edge.event) not in seen:
            seen[edge.src, edge.dst, edge.event] = i
            out.append(edge)
            continue
        r = FieldReader(file, f"transitions[{i}]", item, _TRANSITION_KEYS)
        src = ref(r, "src")
        history = r.flag("history")
        if history and "dst" in r.data:
            r.fail("a history transition has no 'dst': it returns to the remembered status")
        dst = None if history else ref(r, "dst")
        event = r.text("event")
        r.entry = f"transitions[{i}] ({src} -> {dst or '<history>'} on {event})"
        if event not in event_names:
            r.fail(f"event {event!r} is not declared under [events]", "event")
        actor = r.text("actor")
        if actor not in ACTORS:
            r.fail(f"unknown actor {actor!r}; one of {', '.join(ACTORS)}", "actor")
        guards = r.texts("guards")
        _check_guards(r, guards)
        key = (src, dst, event)
        if key in seen:
            r.fail(f"duplicate transition (also transitions[{seen[key]}])")
        seen[key] = i
        prov = provenances.of(r, r.entry, TRANSITION_FACTS)
        sets = _sets(r, variables)
        out.append(Transition(src, dst, event, actor, prov, guards, r.text("notes", ""), sets))
    return tuple(out)


class _PlainEdges:
    """The common transition read without a :class:`FieldReader`: an entry of plain
    values (a dict with the known keys, ends and event declared, a known actor, guards
    in the registry, notes of plain text, a provenance already read) becomes its
    :class:`Transition` at once. Any other gives ``None`` and is read the checked way,
    which refuses it or reads the same edge (``tests/test_large_tables.py``)."""

    def __init__(
        self,
        lookup: Mapping[Code, str],
        event_names: set[str],
        provenances: Mapping[tuple[object, ...], Provenance],
    ) -> None:
        self.lookup: Mapping[Any, str] = lookup  # an end of any type is looked up
        self.event_names = event_names
        self.provenances = provenances
        self.last: tuple[object, Provenance | None] = (None, None)
        """The last provenance dict read and its record (the table is not changed while
        it is read)."""

    def read(self, item: object) -> Transition | None:
        """The transition ``item`` spells, or ``None`` to read it the checked way."""
        if item.__class__ is not dict or not _PLAIN_EDGE_KEYS.issuperset(item):
            return None
        entry: Any = item  # a dict of unknown values: each is checked before it is used
        src: Any = entry.get("src")
        dst: Any = entry.get("dst")
        event, actor = entry.get("event"), entry.get("actor")
        notes, guards = entry.get("notes", ""), entry.get("guards", _NO_GUARDS)
        provenance = entry.get("provenance")
        if (
            src.__class__ not in _SPELLINGS
            or dst.__class__ not in _SPELLINGS
            or event.__class__ is not str
            or actor.__class__ is not str
            or notes.__class__ is not str
            or guards.__class__ is not list
            or provenance.__class__ is not dict
            or not notes.isascii()
            or event not in self.event_names
            or actor not in ACTORS
            or "sources" in provenance
        ):
            return None
        source, target = self.lookup.get(src), self.lookup.get(dst)
        if source is None or target is None:
            return None
        for guard in guards:
            if guard.__class__ is not str or guard not in REGISTRY:
                return None
        known: Provenance | None = self.last[1]
        if provenance is not self.last[0]:  # entries sharing one dict: looked up once
            try:
                known = self.provenances.get((TRANSITION_FACTS, *provenance.items()))
            except TypeError:  # a value that is not hashable
                return None
            if known is None:
                return None
            self.last = (provenance, known)
        assert known is not None
        return plain_transition(source, target, event, actor, known, tuple(guards), notes)


_SPELLINGS = frozenset({str, int})
"""What an end of a plain edge may be: a state's code or name (never a bool)."""

_NO_GUARDS: list[str] = []

_PLAIN_EDGE_KEYS = frozenset({"src", "dst", "event", "actor", "guards", "provenance", "notes"})
"""What a transition read by :class:`_PlainEdges` may hold (no history, no ``set``)."""


_DEADLINE_KEYS = {"status", "within", "from", "unit", "provenance", "notes"}
DEADLINE_FACTS = ("deadline", "unit", "start")
"""A deadline's facts: the rule itself, how its days count, where the count starts (the
last two may be named ``inferred`` in a documented deadline's provenance)."""


def _parse_deadlines(
    file: str, items: Sequence[object], ref: Callable[[FieldReader, str], str]
) -> tuple[Deadline, ...]:
    """The ``[[deadlines]]`` entries: one per status at most (see docs/time.md)."""
    out: list[Deadline] = []
    for i, item in enumerate(items):
        r = FieldReader(file, f"deadlines[{i}]", item, _DEADLINE_KEYS)
        status = ref(r, "status")
        r.entry = f"deadlines[{i}] ({status})"
        if any(d.status == status for d in out):
            r.fail(f"a second deadline for {status}", "status")
        term = r.opt_text("from")
        least, most = _within(r) if term is None else _term(r, term)
        unit = r.text("unit")
        if unit not in DEADLINE_UNITS:
            r.fail(f"must be one of {', '.join(DEADLINE_UNITS)}, got {unit!r}", "unit")
        prov = _provenance(file, f"{r.entry}.provenance", r.data.get("provenance"), DEADLINE_FACTS)
        out.append(Deadline(status, least, most, unit, prov, r.text("notes", ""), term))
    return tuple(out)


def _within(r: FieldReader) -> tuple[int, int]:
    """A fixed deadline's ``within = [least, most]``."""
    within = r.items("within")
    if len(within) != 2 or not all(is_integer(v) and v >= 0 for v in within):
        r.fail("expected [least, most], two non-negative integers", "within")
    least, most = cast(list[int], within)
    if least > most or most == 0:
        r.fail(f"least {least} must not exceed most {most}, which must be positive", "within")
    return least, most


def _term(r: FieldReader, term: str) -> tuple[None, None]:
    """A deadline from the order's own terms (``from``): a known term, and no ``within``
    (the order carries its days)."""
    if term not in DEADLINE_TERMS:
        r.fail(f"must be one of {', '.join(DEADLINE_TERMS)}, got {term!r}", "from")
    if "within" in r.data:
        r.fail("a deadline from the order's terms states no within: the order carries it", "within")
    return None, None


def _parse_decisions(
    file: str, items: Sequence[object], lookup: Mapping[Code, str]
) -> tuple[Decision, ...]:
    out: list[Decision] = []
    ids: set[str] = set()
    for i, item in enumerate(items):
        r = FieldReader(file, f"decisions[{i}]", item, _DECISION_KEYS)
        did = r.text("id")
        r.entry = f"decisions[{i}] ({did})"
        if did in ids:
            r.fail(f"duplicate decision id {did!r}", "id")
        ids.add(did)
        pairs: list[tuple[Code, Code]] = []
        for j, pair in enumerate(r.items("transitions")):
            if not isinstance(pair, list) or len(pair) != 2 or not all(map(is_id, pair)):
                r.fail("expected a [src, dst] pair of state codes", f"transitions[{j}]")
            for p in pair:
                if p not in lookup:
                    r.fail(f"{p!r} is not a declared state", f"transitions[{j}]")
            pairs.append((pair[0], pair[1]))
        sides = tuple(
            _citation(file, f"{r.entry}.sides[{j}]", c) for j, c in enumerate(r.items("sides"))
        )
        if not sides:
            r.fail("a decision quotes at least one side", "sides")
        out.append(
            Decision(
                id=did,
                topic=r.text("topic"),
                sides=sides,
                decision=r.text("decision"),
                reasoning=r.text("reasoning"),
                transitions=tuple(pairs),
                claims=r.texts("claims"),
                follows=r.texts("follows"),
            )
        )
    return tuple(out)


def read_bytes(path: Path) -> bytes:
    """The bytes of a table file (:func:`orderfsm.model.bounded.read_file`: a regular file
    of at most 8 MiB); :class:`TableError` naming the file otherwise."""
    return read_file(path, complaint(str(path)))


def parse_toml(content: bytes, file: str) -> Table:
    """Decode and validate a TOML table file's bytes; errors name ``file``."""
    complain = complaint(file)
    return parse_checked(load_toml(utf8(content, complain), complain), file)


def read_table(path: str | Path) -> Table:
    """Read and validate a TOML table file; errors name the file."""
    from pathlib import Path  # noqa: PLC0415 - pathlib only for a table file (import time)

    p = Path(path)
    return parse_toml(read_bytes(p), str(p))
