"""Which files ``orderfsm diagrams`` produces, writing them, and checking committed ones.

:func:`plan` renders everything in memory; :func:`write` puts it on disk (drawing SVG and
PNG with Graphviz when it is installed); :func:`check` compares a committed tree with the
plan and names every stale file. Text files (DOT, Mermaid, Markdown, the docs page) must
match byte for byte. An SVG must carry the digest of the current DOT (see
:mod:`orderfsm.render.graphviz_run`), because its layout depends on the Graphviz version.
PNG is drawn on request only and never checked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from orderfsm.errors import OrderFsmError
from orderfsm.model.bounded import holds, naming, read_file
from orderfsm.model.compile import SHIPPED_TABLES, load
from orderfsm.render.docs_page import Section, docs_page
from orderfsm.render.dot import composite_dot, levels_dot, machine_dot
from orderfsm.render.facts import Facts, children, facts
from orderfsm.render.graphviz_run import GraphvizMissing, dot_digest, draw, stamp_of
from orderfsm.render.levels import levels_of
from orderfsm.render.matrix import matrix_markdown
from orderfsm.render.mermaid import composite_mermaid, levels_mermaid, machine_mermaid

FORMATS = ("dot", "svg", "png", "mermaid", "md")
DEFAULT_FORMATS = ("dot", "svg", "mermaid", "md")
SUFFIX = {"dot": ".dot", "svg": ".svg", "png": ".png", "mermaid": ".mmd", "md": ".md"}
DEFAULT_OUT = Path("diagrams")
DEFAULT_DOCS = Path("docs/diagrams.md")


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one run produces. ``texts`` are compared byte for byte; ``drawings``
    map an SVG/PNG path to the DOT source it is drawn from."""

    out_dir: Path
    formats: tuple[str, ...]
    complete: bool
    texts: dict[Path, str] = field(default_factory=dict)
    drawings: dict[Path, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stale:
    """A committed file that does not match the tables, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write` did: files changed, and why drawings were skipped (if they were)."""

    paths: tuple[Path, ...]
    graphviz_missing: str | None = None


def plan(
    machines: Sequence[str] | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    out_dir: Path = DEFAULT_OUT,
    docs: Path | None = DEFAULT_DOCS,
) -> Plan:
    """Render the diagrams of ``machines`` (default: every shipped machine) in memory.

    Each machine gives ``NAME.dot``/``.svg``/``.mmd``/``.md`` (the matrix page); each
    machine with sub-machines also gives ``NAME.composite.*``, and each machine that runs
    at nested levels ``NAME.levels.*``. The docs page (``docs``) is produced only for the
    complete set of machines. Every shipped table is loaded (to find sub-machines), so a
    bad table, an unknown machine or an unknown format raises :class:`OrderFsmError`.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise OrderFsmError(f"unknown format {unknown[0]!r}; formats are {', '.join(FORMATS)}")
    complete = machines is None
    all_facts = [facts(load(name)) for name in SHIPPED_TABLES]
    chosen = [f for f in all_facts if complete or f.name in set(machines or ())]
    for name in machines or ():
        if name not in SHIPPED_TABLES:  # a table file (load names the problem otherwise)
            chosen.append(facts(load(name)))
    result = Plan(out_dir, tuple(f for f in FORMATS if f in formats), complete)
    sections: list[Section] = []
    for f in chosen:
        sections.append(
            _add(result, f.name, f.table.title, machine_dot(f), machine_mermaid(f), f=f)
        )
        if children(f.name, all_facts):
            sections.append(
                _add(
                    result,
                    f"{f.name}.composite",
                    f"{f.table.title}, with its sub-machines",
                    composite_dot(f, all_facts),
                    composite_mermaid(f, all_facts),
                )
            )
        levels = levels_of(f.name)
        if levels is not None:
            sections.append(
                _add(
                    result,
                    f"{f.name}.levels",
                    f"{f.table.title}: {' / '.join(levels.levels)} levels",
                    levels_dot(f, levels),
                    levels_mermaid(f, levels),
                )
            )
    if complete and docs is not None and "mermaid" in result.formats:
        result.texts[docs] = docs_page([_relinked(s, out_dir, docs) for s in sections])
    return result


def _add(
    p: Plan, stem: str, heading: str, dot: str, mermaid: str, *, f: Facts | None = None
) -> Section:
    """Put one diagram's files into ``p`` (the matrix page too for a machine ``f``);
    return its docs-page section, linking the files by name."""
    path = {fmt: p.out_dir / f"{stem}{SUFFIX[fmt]}" for fmt in FORMATS}
    # The same links whatever --format says, so a partial run checks the same pages.
    links = {"SVG": path["svg"].name, "Mermaid": path["mermaid"].name, "DOT": path["dot"].name}
    if "dot" in p.formats:
        p.texts[path["dot"]] = dot
    if "mermaid" in p.formats:
        p.texts[path["mermaid"]] = mermaid
    for fmt in ("svg", "png"):
        if fmt in p.formats:
            p.drawings[path[fmt]] = dot
    if f is not None:
        if "md" in p.formats:
            p.texts[path["md"]] = matrix_markdown(f, links)
        links = {"transition matrix": path["md"].name, **links}
    return Section(heading, mermaid, tuple(links.items()))


def _relinked(s: Section, out_dir: Path, docs: Path) -> Section:
    """``s`` with its links made relative to the docs page's folder."""

    def rel(name: str) -> str:
        return PurePosixPath(*Path(os.path.relpath(out_dir / name, docs.parent)).parts).as_posix()

    return Section(s.heading, s.mermaid, tuple((c, rel(u)) for c, u in s.links))


def write(p: Plan) -> Written:
    """Write ``p``'s files; draw SVG/PNG unless Graphviz is missing (then say how to get it).

    An SVG already drawn from the current DOT is left as it is, so re-running on another
    Graphviz version does not churn committed files.
    """
    written: list[Path] = []
    for path, text in sorted(p.texts.items()):
        if write_file(path, text.encode("utf-8")):
            written.append(path)
    missing: str | None = None
    for path, dot in sorted(p.drawings.items()):
        if path.suffix == ".svg" and path.is_file() and _drawn_from(path, dot):
            continue
        try:
            data = draw(dot, path.suffix.lstrip("."))
        except GraphvizMissing as exc:
            missing = str(exc)
            break
        if write_file(path, data):
            written.append(path)
    return Written(tuple(written), missing)


def write_file(path: Path, data: bytes) -> bool:
    """Write ``data`` unless ``path`` already holds it; whether anything changed.

    Never through a symbolic link: the file is written beside ``path`` and renamed over
    it, so a link planted at ``path`` is replaced, and its target left alone. A path that
    cannot be written is an :class:`OrderFsmError` naming it.
    """
    if not path.is_symlink() and path.is_file() and holds(path, data, naming(path)):
        return False
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise OrderFsmError(f"{path}: cannot write: {folder} is not a directory")
    temporary = path.with_name(f".{path.name}.orderfsm-tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.is_symlink():
            raise OrderFsmError(f"{path.parent}: a symbolic link; refusing to write through it")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing to clean up where nothing was made
            temporary.unlink()
        raise OrderFsmError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return True


def _drawn_from(path: Path, dot: str) -> bool:
    """Whether the committed SVG at ``path`` carries the digest of ``dot``."""
    return stamp_of(read_file(path, naming(path))) == dot_digest(dot)


def check(p: Plan) -> list[Stale]:
    """Every committed file that differs from ``p``, is missing, or (for a complete plan)
    is in the output folder without being generated; empty when all is current."""
    stale: list[Stale] = []
    for path, text in sorted(p.texts.items()):
        if not path.exists():
            stale.append(Stale(path, "missing"))
        elif not holds(path, text.encode("utf-8"), naming(path)):
            stale.append(Stale(path, "differs from what the tables generate"))
    for path, dot in sorted(p.drawings.items()):
        if path.suffix != ".svg":
            continue
        if not path.exists():
            stale.append(Stale(path, "missing"))
        elif not _drawn_from(path, dot):
            stale.append(Stale(path, "not drawn from the current DOT source"))
    if p.complete and p.out_dir.is_dir():
        expected = set(p.texts) | set(p.drawings)
        suffixes = {SUFFIX[f] for f in p.formats if f != "png"}
        for path in sorted(p.out_dir.iterdir()):
            if path.suffix in suffixes and path not in expected:
                stale.append(Stale(path, "not generated from any table (remove it)"))
    return stale
