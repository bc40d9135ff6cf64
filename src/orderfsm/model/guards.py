"""The guard registry: every rule a table may name, as a declarative predicate.

A table refers to a guard by its registry name only; it can never name importable code,
so a table file from elsewhere cannot run anything. The guards themselves are data too:
``data/guards.toml`` gives each one its predicate (from the closed vocabulary of
:mod:`orderfsm.model.predicates`), the rule it states, the document section it enforces
and the error a failing check raises. ``reads`` (derived from the predicate) lists the
context a guard looks at, so structural lint can enumerate every context a guard could
see and report one that can never pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from orderfsm.errors import (
    IllegalTransition,
    PaymentLocked,
    RefundNotAllowed,
    TableError,
    TransitionRejected,
)
from orderfsm.model.bounded import load_toml, shipped_text
from orderfsm.model.predicates import (
    GuardContext,
    Predicate,
    Reads,
    parse_predicate,
    reads_of,
)

__all__ = ["ERRORS", "HISTORY_GUARD", "REGISTRY", "Guard", "GuardContext", "Reads"]

ERRORS: Mapping[str, type[TransitionRejected]] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (TransitionRejected, IllegalTransition, PaymentLocked, RefundNotAllowed)
    }
)
GUARDS_FILE = "orderfsm/data/guards.toml"
HISTORY_GUARD = "returns_to_history"  # the compiler adds it to every expanded history edge
_GUARD_KEYS = {"rule", "source", "error", "when", "doc"}


@dataclass(frozen=True, slots=True)
class Guard:
    """A named rule: ``check`` passes when ``when`` holds, or the event is refused with ``error``."""

    name: str
    rule: str
    source: str
    error: type[TransitionRejected]
    when: Predicate
    doc: str

    @property
    def reads(self) -> tuple[Reads, ...]:
        return reads_of(self.when)

    def check(self, ctx: GuardContext) -> bool:
        return self.when.holds(ctx)

    def data(self) -> dict[str, object]:
        """The guard as JSON-ready data, as ``orderfsm export`` writes it."""
        return {
            "rule": self.rule,
            "source": self.source,
            "error": self.error.__name__,
            "when": self.when.data(),
            "reads": list(self.reads),
            "doc": self.doc,
        }


def parse_guard(name: str, data: object, file: str, entry: str) -> Guard:
    """Read one guard definition (``rule``, ``source``, ``error``, ``when``, ``doc``)."""
    if not isinstance(data, Mapping):
        raise TableError(file, entry, f"expected a table, got {type(data).__name__}")
    unknown = sorted(set(data) - _GUARD_KEYS)
    missing = sorted(_GUARD_KEYS - set(data))
    if unknown or missing:
        raise TableError(
            file,
            entry,
            f"a guard takes exactly the keys {', '.join(sorted(_GUARD_KEYS))}; "
            f"unknown {unknown}, missing {missing}",
        )
    texts = {k: data[k] for k in ("rule", "source", "doc", "error")}
    for key, value in texts.items():
        if not isinstance(value, str) or not value:
            raise TableError(file, f"{entry}.{key}", "expected a non-empty string")
    error = ERRORS.get(str(data["error"]))
    if error is None:
        raise TableError(
            file, f"{entry}.error", f"unknown error {data['error']!r}; one of {', '.join(ERRORS)}"
        )
    return Guard(
        name=name,
        rule=str(data["rule"]),
        source=str(data["source"]),
        error=error,
        when=parse_predicate(data["when"], file, f"{entry}.when"),
        doc=str(data["doc"]),
    )


def _load_registry() -> dict[str, Guard]:
    def complain(where: str, problem: str) -> TableError:
        return TableError(GUARDS_FILE, where.lstrip(".") or "<top>", problem)

    data = load_toml(shipped_text("guards.toml"), complain)
    return {name: parse_guard(name, body, GUARDS_FILE, name) for name, body in data.items()}


class _Registry(Mapping[str, Guard]):
    """The guards of ``data/guards.toml``, read the first time one is looked up (so that
    importing the library reads no file). Read-only, like the mapping it stands for."""

    _guards: Mapping[str, Guard] | None = None

    def _loaded(self) -> Mapping[str, Guard]:
        if self._guards is None:  # two threads may both read it: the same data either way
            self._guards = MappingProxyType(_load_registry())
        return self._guards

    def __getitem__(self, name: str) -> Guard:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __reduce__(self) -> str:
        return "REGISTRY"  # pickles as the module's one registry


REGISTRY: Mapping[str, Guard] = _Registry()
