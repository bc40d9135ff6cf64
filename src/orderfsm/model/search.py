"""The one breadth-first search every path question is answered with.

Apply's path reconstruction (:mod:`orderfsm.model.paths`), the progress order
(:mod:`orderfsm.model.progress`), lint's reachability (:mod:`orderfsm.check.lint`) and
model-based paths (:mod:`orderfsm.check.paths`) all search a machine the same way:
breadth-first from some start nodes, over the edges a ``successors`` function gives,
first-found wins (so ties go to table order). What a node is (a status name; a status
with its variables and remembered status; a configuration) is the caller's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)
Edge = TypeVar("Edge")

Found = dict[Node, tuple[Node, Edge] | None]
"""Every node reached, in the order reached, with the node and edge it was first reached
by (``None`` for a start node)."""


def breadth_first(
    starts: Iterable[Node],
    successors: Callable[[Node], Iterable[tuple[Edge, Node]]],
    *,
    goal: Callable[[Node], bool] | None = None,
) -> tuple[Found[Node, Edge], Node | None]:
    """Search from ``starts``; return every node reached (see :data:`Found`) and the
    first node reached that meets ``goal`` (a start node never counts), stopping there;
    ``None`` without a goal or when none is reached."""
    found: Found[Node, Edge] = {}
    queue: deque[Node] = deque()
    for start in starts:
        if start not in found:
            found[start] = None
            queue.append(start)
    while queue:
        node = queue.popleft()
        for edge, nxt in successors(node):
            if nxt in found:
                continue
            found[nxt] = (node, edge)
            if goal is not None and goal(nxt):
                return found, nxt
            queue.append(nxt)
    return found, None


def path_to(found: Found[Node, Edge], node: Node) -> tuple[Edge, ...]:
    """The edges from a start node to ``node``, in order."""
    edges: list[Edge] = []
    link = found[node]
    while link is not None:
        edges.append(link[1])
        link = found[link[0]]
    return tuple(reversed(edges))
