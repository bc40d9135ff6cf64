"""The generated documentation pages, planned in memory, written, or checked for drift.

``docs/conformance.md`` is produced whole from the checker's report; each
``docs/machines/NAME.md`` keeps its prose and has its reference block regenerated from
the table (:mod:`orderfsm.render.reference`). ``orderfsm docs --check`` fails, naming the
stale pages, when the committed ones differ.
"""

from __future__ import annotations

from pathlib import Path

from orderfsm.check.report import conformance_markdown
from orderfsm.check.run import run_check
from orderfsm.model.bounded import holds, naming, read_file, utf8
from orderfsm.model.compile import SHIPPED_TABLES, load
from orderfsm.render.outputs import write_file
from orderfsm.render.reference import refresh


def plan(root: Path) -> dict[Path, str]:
    """Every generated page under ``root`` (the repository), with its up-to-date text."""
    pages = {root / "docs" / "conformance.md": conformance_markdown(run_check())}
    for name in SHIPPED_TABLES:
        path = root / "docs" / "machines" / f"{name}.md"
        current = utf8(read_file(path, naming(path)), naming(path))
        pages[path] = refresh(current, load(name), str(path))
    return pages


def stale(root: Path) -> list[Path]:
    """The generated pages whose committed text differs from the plan."""
    out = []
    for path, text in plan(root).items():
        if not path.exists() or not holds(path, text.encode("utf-8"), naming(path)):
            out.append(path)
    return out


def write(root: Path) -> list[Path]:
    """Write every page that changed; returns them."""
    changed = stale(root)
    pages = plan(root)
    for path in changed:
        write_file(path, pages[path].encode("utf-8"))
    return changed
