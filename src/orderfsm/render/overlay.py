"""What really happened: an audited export drawn over the machine (a directly-follows overlay).

Each status is a node and each pair of statuses a table transition joins is one edge,
labelled with its events and how many times audited orders changed that way; edges no
order took are grey. Changes the rules forbid are red edges with their counts, skipped
steps orange and dashed. A sub-order machine (Taobao refunds) is drawn beside its order.
With ``label="median-time"`` (an export with a time column) a table edge is labelled
with the median time orders waited in its source status before taking it instead (a
performance view; :mod:`orderfsm.check.audit.dwell`). Output is sorted and dated
nowhere, so the same audit always draws the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from orderfsm.check.audit.dwell import duration
from orderfsm.check.audit.result import AuditResult
from orderfsm.errors import OrderFsmError
from orderfsm.model.compile import CompiledMachine
from orderfsm.render.dot_syntax import Graph
from orderfsm.render.outputs import write_file

TAKEN = "#1b7837"
UNTAKEN = "#bbbbbb"
ILLEGAL = "#d7191c"
SKIPPED = "#e08214"


def _pairs(machine: CompiledMachine) -> dict[tuple[str, str], list[str]]:
    """Table transitions grouped by (source, target), events in table order."""
    out: dict[tuple[str, str], list[str]] = {}
    for t in machine.edges:
        assert t.dst is not None
        events = out.setdefault((t.src, t.dst), [])
        if t.event not in events:
            events.append(t.event)
    return out


def _judged(result: AuditResult, name: str) -> list[tuple[str, str, str, int]]:
    """(from, to, kind, count) of ``name``'s illegal and skipped changes, sorted."""
    return sorted(
        (src, dst, kind, n) for (m, src, dst, kind), n in result.judged.items() if m == name
    )


def _legal(result: AuditResult, name: str, src: str, dst: str) -> int:
    """How many changes along a table pair were legal single steps in their own context."""
    judged = sum(n for (m, s, d, _), n in result.judged.items() if (m, s, d) == (name, src, dst))
    return result.taken.get((name, src, dst), 0) - judged


Label = Literal["count", "median-time"]
"""What a table edge's label says after its events: how many orders took it, or the
median time they waited before."""


def _edge_label(result: AuditResult, label: Label, name: str, src: str, dst: str) -> str:
    """``×n`` (legal changes along the edge), or the median wait before it (``-``: no
    timed wait)."""
    if label == "count":
        return f"\u00d7{_legal(result, name, src, dst)}"
    assert result.time is not None
    median = result.time.median(name, src, dst)
    return "median -" if median is None else f"median {duration(median)}"


def overlay_dot(result: AuditResult, label: Label = "count") -> str:
    """The DOT source of the overlay."""
    g = Graph(f"audit_{result.machine.name}")
    g.attr(rankdir="LR", fontname="Helvetica", label=f"audit of {', '.join(result.files)}")
    g.attr("node", shape="box", style="rounded", fontname="Helvetica")
    g.attr("edge", fontname="Helvetica", fontsize="10")
    for name, machine in result.machines.items():
        with g.subgraph(f"cluster_{name}") as sub:
            sub.attr(label=name)
            for s in machine.states:
                sub.node(f"{name}.{s.name}", label=str(s), peripheries="2" if s.final else "1")
            for (src, dst), events in _pairs(machine).items():
                n = _legal(result, name, src, dst)
                sub.edge(
                    f"{name}.{src}",
                    f"{name}.{dst}",
                    label=f"{' / '.join(events)} {_edge_label(result, label, name, src, dst)}",
                    color=TAKEN if n else UNTAKEN,
                    fontcolor=TAKEN if n else UNTAKEN,
                    penwidth="2" if n else "1",
                )
            for src, dst, kind, n in _judged(result, name):
                colour = ILLEGAL if kind == "illegal" else SKIPPED
                sub.edge(
                    f"{name}.{src}",
                    f"{name}.{dst}",
                    label=f"{kind} \u00d7{n}",
                    color=colour,
                    fontcolor=colour,
                    style="bold" if kind == "illegal" else "dashed",
                )
    return g.source


def overlay_mermaid(result: AuditResult, label: Label = "count") -> str:
    """The overlay as a Mermaid flowchart (counts or median times on edges; untaken and
    illegal styled)."""
    lines = ["flowchart LR"]
    styles: list[str] = []
    index = 0
    for name, machine in result.machines.items():
        lines.append(f"  subgraph {name}")
        for s in machine.states:
            lines.append(f'    {name}_{s.name}["{str(s).replace(chr(34), chr(39))}"]')
        pairs = _pairs(machine)
        for (src, dst), events in pairs.items():
            n = _legal(result, name, src, dst)
            text = _edge_label(result, label, name, src, dst).replace("\u00d7", "x")
            lines.append(f'    {name}_{src} -->|"{" / ".join(events)} {text}"| {name}_{dst}')
            styles.append(f"  linkStyle {index} stroke:{TAKEN if n else UNTAKEN}")
            index += 1
        for src, dst, kind, n in _judged(result, name):
            lines.append(f'    {name}_{src} -.->|"{kind} x{n}"| {name}_{dst}')
            styles.append(f"  linkStyle {index} stroke:{ILLEGAL if kind == 'illegal' else SKIPPED}")
            index += 1
        lines.append("  end")
    return "\n".join(lines + styles) + "\n"


SUFFIXES = (".dot", ".svg", ".mmd", ".mermaid")


def check_diagram_path(out: Path) -> None:
    """Refuse a path whose suffix names no format, before any audit work is done."""
    if out.suffix.lower() not in SUFFIXES:
        raise OrderFsmError(f"{out}: the diagram must end in .dot, .svg or .mmd")


def write_overlay(result: AuditResult, out: Path, label: Label = "count") -> None:
    """Write the overlay to ``out`` as ``.dot``, ``.svg`` or ``.mmd`` (by its suffix);
    ``label="median-time"`` needs an audit that read times."""
    check_diagram_path(out)
    if label == "median-time" and result.time is None:
        raise OrderFsmError(
            f"{out}: median times need a time column ({', '.join(result.files)} has none; "
            "name it with --column at=NAME)"
        )
    suffix = out.suffix.lower()
    if suffix == ".dot":
        data = overlay_dot(result, label).encode("utf-8")
    elif suffix in (".mmd", ".mermaid"):
        data = overlay_mermaid(result, label).encode("utf-8")
    else:
        from orderfsm.render.graphviz_run import draw  # noqa: PLC0415

        data = draw(overlay_dot(result, label), "svg")
    write_file(out, data)
