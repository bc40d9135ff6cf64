"""The guard vocabulary: declarative predicates over the context of one attempted event.

A guard's rule is a small tree of these predicates, written as data (TOML in
``data/guards.toml``, JSON in an exported machine) and evaluated here by plain code: no
``eval``, no imports, nothing a data file can name beyond this closed vocabulary. The
same trees are exported, so another runtime evaluates exactly the rule that runs here
(see ``docs/table-format.md``, "Guards", and ``docs/other-languages.md``).

| ``op`` | keys | holds when |
| --- | --- | --- |
| ``has_tag`` | ``of`` (a subject), ``tag`` | the subject is present and carries ``tag`` |
| ``var_is`` | ``var``, ``value`` | the order's variable ``var`` has ``value`` |
| ``same`` | ``of`` (two subjects) | both subjects are present and are the same status |
| ``not`` | ``arg`` | ``arg`` does not hold |
| ``all`` | ``args`` (one or more) | every one of ``args`` holds |
| ``any`` | ``args`` (one or more) | at least one of ``args`` holds |

The subjects are ``status`` (where the event is tried), ``target`` (the destination of
the edge being tried; absent for an event's own guards), ``parent`` (the enclosing
order's status; absent without one), ``history`` (the status remembered before a
history state; absent when nothing is remembered) and ``sub_order`` (for a sub-order's
machine, the sub-order's own status in its parent's enum, Taobao ``subOrderStatus``;
absent when the caller does not know it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NoReturn

from orderfsm.errors import TableError
from orderfsm.model.table import State

Subject = Literal["status", "target", "parent", "history", "sub_order"]
Reads = Literal["status", "parent", "variables", "history", "target", "sub_order"]
SUBJECTS: tuple[Subject, ...] = ("status", "target", "parent", "history", "sub_order")
READS_ORDER: tuple[Reads, ...] = (
    "status",
    "parent",
    "variables",
    "history",
    "target",
    "sub_order",
)
OPS = ("has_tag", "var_is", "same", "not", "all", "any")


@dataclass(frozen=True, slots=True)
class GuardContext:
    """Everything a guard may look at when an event is tried.

    ``status`` is the current status of the machine the event is for, ``target`` the
    destination of the transition being tried (``None`` for an event-level guard),
    ``parent`` the status of the enclosing order when the machine is a sub-order's
    (the Taobao main order for a refund), ``variables`` the order's extended state
    (ICBU ``pay_step``...), ``history`` the status remembered before the order
    entered a history state (ICBU ``frozen``), and ``sub_order`` the sub-order's own
    status in the parent's enum (a Taobao sub-order's ``subOrderStatus``), when known.
    """

    machine: str
    event: str
    status: State
    target: State | None = None
    parent: State | None = None
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    history: State | None = None
    sub_order: State | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Copy and pickle with the variables as a plain dict (a read-only view pickles not)."""
        return (
            _context,
            (
                self.machine,
                self.event,
                self.status,
                self.target,
                self.parent,
                dict(self.variables),
                self.history,
                self.sub_order,
            ),
        )


def _context(*fields: Any) -> GuardContext:
    """Rebuild a pickled :class:`GuardContext`, its variables read-only again."""
    machine, event, status, target, parent, variables, history, sub_order = fields
    return GuardContext(
        machine, event, status, target, parent, MappingProxyType(variables), history, sub_order
    )


def _subject(ctx: GuardContext, of: Subject) -> State | None:
    if of == "status":
        return ctx.status
    if of == "target":
        return ctx.target
    if of == "parent":
        return ctx.parent
    if of == "sub_order":
        return ctx.sub_order
    return ctx.history


@dataclass(frozen=True, slots=True)
class HasTag:
    """The subject is present and carries ``tag``."""

    of: Subject
    tag: str

    def holds(self, ctx: GuardContext) -> bool:
        state = _subject(ctx, self.of)
        return state is not None and self.tag in state.tags

    def reads(self) -> frozenset[Reads]:
        return frozenset((self.of,))

    def data(self) -> dict[str, object]:
        return {"op": "has_tag", "of": self.of, "tag": self.tag}


@dataclass(frozen=True, slots=True)
class VarIs:
    """The order's variable ``var`` has ``value`` (an undeclared variable has none)."""

    var: str
    value: str

    def holds(self, ctx: GuardContext) -> bool:
        return ctx.variables.get(self.var) == self.value

    def reads(self) -> frozenset[Reads]:
        return frozenset(("variables",))

    def data(self) -> dict[str, object]:
        return {"op": "var_is", "var": self.var, "value": self.value}


@dataclass(frozen=True, slots=True)
class Same:
    """Both subjects are present and are the same status (compared by name)."""

    of: tuple[Subject, Subject]

    def holds(self, ctx: GuardContext) -> bool:
        a, b = _subject(ctx, self.of[0]), _subject(ctx, self.of[1])
        return a is not None and b is not None and a.name == b.name

    def reads(self) -> frozenset[Reads]:
        return frozenset(self.of)

    def data(self) -> dict[str, object]:
        return {"op": "same", "of": list(self.of)}


@dataclass(frozen=True, slots=True)
class Not:
    """``arg`` does not hold."""

    arg: Predicate

    def holds(self, ctx: GuardContext) -> bool:
        return not self.arg.holds(ctx)

    def reads(self) -> frozenset[Reads]:
        return self.arg.reads()

    def data(self) -> dict[str, object]:
        return {"op": "not", "arg": self.arg.data()}


@dataclass(frozen=True, slots=True)
class All:
    """Every one of ``args`` holds."""

    args: tuple[Predicate, ...]

    def holds(self, ctx: GuardContext) -> bool:
        return all(a.holds(ctx) for a in self.args)

    def reads(self) -> frozenset[Reads]:
        return frozenset().union(*(a.reads() for a in self.args))

    def data(self) -> dict[str, object]:
        return {"op": "all", "args": [a.data() for a in self.args]}


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of ``args`` holds."""

    args: tuple[Predicate, ...]

    def holds(self, ctx: GuardContext) -> bool:
        return any(a.holds(ctx) for a in self.args)

    def reads(self) -> frozenset[Reads]:
        return frozenset().union(*(a.reads() for a in self.args))

    def data(self) -> dict[str, object]:
        return {"op": "any", "args": [a.data() for a in self.args]}


Predicate = HasTag | VarIs | Same | Not | All | AnyOf


def reads_of(predicate: Predicate) -> tuple[Reads, ...]:
    """The parts of the context ``predicate`` looks at, in a fixed order."""
    found = predicate.reads()
    return tuple(r for r in READS_ORDER if r in found)


_KEYS: Mapping[str, frozenset[str]] = {
    "has_tag": frozenset(("op", "of", "tag")),
    "var_is": frozenset(("op", "var", "value")),
    "same": frozenset(("op", "of")),
    "not": frozenset(("op", "arg")),
    "all": frozenset(("op", "args")),
    "any": frozenset(("op", "args")),
}


def parse_predicate(data: object, file: str, entry: str) -> Predicate:
    """Read one predicate tree; any problem is a :class:`TableError` at ``file``/``entry``."""

    def fail(problem: str) -> NoReturn:
        raise TableError(file, entry, problem)

    if not isinstance(data, Mapping):
        fail(f"expected a predicate table with an 'op' key, got {type(data).__name__}")
    op = data.get("op")
    if not isinstance(op, str) or op not in _KEYS:
        fail(f"unknown predicate op {op!r}; the vocabulary is: {', '.join(OPS)}")
    keys = _KEYS[op]
    unknown = sorted(set(data) - keys)
    missing = sorted(keys - set(data))
    if unknown or missing:
        fail(f"{op} takes exactly the keys {', '.join(sorted(keys))}; got {sorted(data)}")

    def subject(value: object) -> Subject:
        for s in SUBJECTS:
            if value == s:
                return s
        fail(f"{op}: {value!r} is not a subject; one of {', '.join(SUBJECTS)}")

    def text(key: str) -> str:
        value = data[key]
        if not isinstance(value, str) or not value:
            fail(f"{op}.{key}: expected a non-empty string, got {value!r}")
        return value

    if op == "has_tag":
        return HasTag(subject(data["of"]), text("tag"))
    if op == "var_is":
        return VarIs(text("var"), text("value"))
    if op == "same":
        pair = data["of"]
        if not isinstance(pair, list) or len(pair) != 2:
            fail(f"same.of: expected two subjects, got {pair!r}")
        return Same((subject(pair[0]), subject(pair[1])))
    if op == "not":
        return Not(parse_predicate(data["arg"], file, f"{entry}.arg"))
    args = data["args"]
    if not isinstance(args, list) or not args:
        fail(f"{op}.args: expected a non-empty list of predicates")
    parsed = tuple(parse_predicate(a, file, f"{entry}.args[{i}]") for i, a in enumerate(args))
    return All(parsed) if op == "all" else AnyOf(parsed)
