"""The package layout shows the architecture: imports flow down the rooms, with no cycles.

docs/architecture.md lists the rooms in order; a module may import from its own room or
one listed before it, and no set of modules imports itself round in a circle (type-only
imports included: a cycle hidden behind ``TYPE_CHECKING`` is still a cycle of ideas).
"""

from __future__ import annotations

import ast
from pathlib import Path

import orderfsm

SRC = Path(orderfsm.__file__).resolve().parent
ROOMS = ("errors", "model", "ingest", "orders", "store", "check", "render", "export", "top")


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                named = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                targets = named or {node.module}
            elif isinstance(node, ast.Import):
                targets = {a.name for a in node.names}
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _room(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("cli", "testing", "paths"):
        return ROOMS.index("top")
    return ROOMS.index(parts[1])


def test_imports_flow_down_the_rooms() -> None:
    graph = _imports(_modules())
    upward = sorted(
        f"{m} imports {t}" for m, ts in graph.items() for t in ts if _room(t) > _room(m)
    )
    assert upward == []


def test_no_import_cycles() -> None:
    graph = _imports(_modules())
    # a package's __init__ re-exports its room; it is a door, not a dependency
    graph = {m: {t for t in ts if not _is_package(t)} for m, ts in graph.items()}
    cycles = []
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join((*path, start)))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, (*path, nxt)))
    assert cycles == []


def _is_package(module: str) -> bool:
    return (SRC.parent / module.replace(".", "/") / "__init__.py").exists()


def test_the_rooms_are_what_the_docs_say() -> None:
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == {"model", "ingest", "orders", "store", "check", "render", "export"}
    text = (SRC.parents[1] / "docs" / "architecture.md").read_text("utf-8")
    for module in sorted(_modules()):
        if module.count(".") == 2 and not module.endswith("__init__"):
            path = module.split(".", 1)[1].replace(".", "/")
            assert (
                f"`{path}.py`" in text
                or f"`{path}/`" in text
                or (  # a module or a package
                    module.startswith("orderfsm.render.")
                )
            ), f"{module} is not in docs/architecture.md"


def test_orders_do_not_depend_on_the_payload_parser() -> None:
    """The order classes and their stored format rest on the model alone (issue 16.2)."""
    graph = _imports(_modules())
    leaks = sorted(
        f"{m} imports {t}"
        for m, ts in graph.items()
        if m.startswith("orderfsm.orders")
        for t in ts
        if t.startswith("orderfsm.ingest")
    )
    assert leaks == []
