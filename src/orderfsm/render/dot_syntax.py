"""A minimal typed writer for the DOT language, so DOT output depends on orderfsm alone.

The ``graphviz`` package is used to *run* Graphviz; the DOT text itself is written here,
with attributes in the order the caller gives them, so the committed ``.dot`` files stay
byte-identical whichever version of the ``graphviz`` package is installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

_PLAIN_ID = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))$")
_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})


class Html(str):
    """An HTML-like label (already escaped), written as ``<...>`` rather than quoted."""

    __slots__ = ()


def quote(value: str) -> str:
    """``value`` as a DOT ID: bare when it may be, :class:`Html` inside ``<...>``,
    otherwise double-quoted (``\\n``-style escapes inside are left for Graphviz)."""
    if isinstance(value, Html):
        return f"<{value}>"
    if _PLAIN_ID.match(value) and value.lower() not in _KEYWORDS:
        return value
    return '"' + value.replace('"', '\\"') + '"'


def _attrs(attrs: dict[str, str]) -> str:
    return " ".join(f"{quote(k)}={quote(v)}" for k, v in attrs.items())


class Graph:
    """A directed graph or cluster being written, statement by statement."""

    def __init__(self, name: str, *, depth: int = 0) -> None:
        self.name = name
        self._depth = depth
        self._lines: list[str] = []

    def _emit(self, statement: str) -> None:
        self._lines.append("\t" * (self._depth + 1) + statement)

    def attr(self, kind: str = "graph", **attrs: str) -> None:
        """Default attributes for the ``graph`` (this cluster), ``node`` or ``edge``."""
        self._emit(f"{kind} [{_attrs(attrs)}]")

    def node(self, name: str, **attrs: str) -> None:
        self._emit(f"{quote(name)} [{_attrs(attrs)}]" if attrs else quote(name))

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        statement = f"{quote(tail)} -> {quote(head)}"
        self._emit(f"{statement} [{_attrs(attrs)}]" if attrs else statement)

    @contextmanager
    def subgraph(self, name: str) -> Iterator[Graph]:
        """A subgraph (a cluster when ``name`` starts with ``cluster``), written in place."""
        inner = Graph(name, depth=self._depth + 1)
        yield inner
        self._emit(f"subgraph {quote(name)} {{")
        self._lines += inner._lines
        self._emit("}")

    @property
    def source(self) -> str:
        return "\n".join([f"digraph {quote(self.name)} {{", *self._lines, "}"]) + "\n"
