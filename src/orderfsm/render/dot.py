"""Graphviz DOT source for one machine, or for a machine with its child machines inside.

Written with :mod:`orderfsm.render.dot_syntax` in a fixed order, so the same tables
always give byte-identical DOT. Every table transition is one edge whose
``id`` is ``MACHINE.tINDEX`` (its position in ``[[transitions]]``); helper edges (the
initial marker, history memory, child attachments) carry other ids, so tools and tests
can tell them apart.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

from orderfsm.model.table import State
from orderfsm.render.dot_syntax import Graph, Html
from orderfsm.render.facts import (
    ACTOR_COLOURS,
    DECISION_COLOUR,
    Edge,
    EdgeKind,
    Facts,
    attachments,
    children,
    state_caption,
)
from orderfsm.render.levels import Levels

FONT = "Helvetica"
PHASE_FILL = "#f4f6f8"
QUARANTINE_FILL = "#eeeeee"
ATTACH_COLOUR = "#e08214"


def machine_dot(f: Facts) -> str:
    """The DOT source of one machine's diagram, with its legend."""
    g = _graph(f.name, f.table.title)
    _draw_machine(g, f, prefix="")
    _legend(g, [f])
    return g.source


def composite_dot(root: Facts, all_facts: Sequence[Facts]) -> str:
    """``root`` with each child machine (and theirs) drawn as a cluster inside the picture,
    attached to the parent statuses its parent-reading guards allow."""
    g = _graph(f"{root.name}_composite", f"{root.table.title}, with its sub-machines")
    g.attr(compound="true")
    drawn = _draw_family(g, root, all_facts, prefix=f"{root.name}__")
    _legend(g, drawn, attached=True)
    return g.source


def levels_dot(f: Facts, levels: Levels) -> str:
    """``f`` drawn once inside nested clusters, one per level (outermost first); each
    outer level has a node saying how its status derives from its children's."""
    g = _graph(f"{f.name}_levels", f"{f.table.title}: {' / '.join(levels.levels)} levels")
    g.attr(compound="true")
    _nest_levels(g, f, levels, 0)
    _legend(g, [f])
    return g.source


def _nest_levels(g: Graph, f: Facts, levels: Levels, depth: int) -> None:
    level = levels.levels[depth]
    innermost = depth == len(levels.levels) - 1
    with g.subgraph(name=f"cluster_level_{depth}") as c:
        c.attr(
            label=f"{level}: events act here"
            if innermost
            else f"{level}: holds one or more {levels.levels[depth + 1]}s",
            style="rounded,dashed",
            color=ATTACH_COLOUR,
            fontcolor=ATTACH_COLOUR,
            fontname=FONT,
            labeljust="l",
        )
        if innermost:
            _draw_machine(c, f, prefix="")
            return
        c.node(
            f"level_{depth}",
            label="\\n".join(
                textwrap.wrap(f"the {level} status {levels.derivation.replace('`', '')}", 36)
            ),
            shape="note",
            style="filled",
            fillcolor="#fff7ec",
            color=ATTACH_COLOUR,
            fontsize="10",
        )
        _nest_levels(c, f, levels, depth + 1)
    inner = f"cluster_level_{depth + 1}"
    tail = f"level_{depth + 1}" if depth + 1 < len(levels.levels) - 1 else f.table.initial
    g.edge(
        tail,
        f"level_{depth}",
        id=f"{f.name}.level.{depth + 1}.{depth}",
        ltail=inner,
        label=f"derives the {level} status",
        style="dotted",
        color=ATTACH_COLOUR,
        fontcolor=ATTACH_COLOUR,
    )


def node_id(prefix: str, state: str) -> str:
    return f"{prefix}{state}"


def _graph(name: str, title: str) -> Graph:
    g = Graph(name)
    g.attr(
        label=title,
        labelloc="t",
        fontname=FONT,
        fontsize="18",
        rankdir="TB",
        nodesep="0.5",
        ranksep="0.6",
        newrank="true",
    )
    g.attr("node", shape="box", style="rounded,filled", fillcolor="white", fontname=FONT)
    g.attr("edge", fontname=FONT, fontsize="10")
    return g


def _draw_family(g: Graph, f: Facts, all_facts: Sequence[Facts], prefix: str) -> list[Facts]:
    """Draw ``f`` then each child inside its own cluster, recursively; return what was drawn."""
    _draw_machine(g, f, prefix)
    drawn = [f]
    for child in children(f.name, all_facts):
        child_prefix = f"{child.name}__"
        cluster = f"cluster_machine_{child.name}"
        with g.subgraph(name=cluster) as c:
            c.attr(
                label=f"{child.table.title}\\n(one per sub-order: {child.name})",
                style="rounded,dashed",
                color=ATTACH_COLOUR,
                fontcolor=ATTACH_COLOUR,
                fontname=FONT,
            )
            drawn += _draw_family(c, child, all_facts, child_prefix)
        for a in attachments(f, child):
            g.edge(
                node_id(prefix, a.parent_state),
                node_id(child_prefix, a.child_state),
                id=f"attach.{f.name}.{a.parent_state}.{child.name}.{a.event}",
                lhead=cluster,
                label=f"{child.name}: {a.event}\\n[{a.guard}]",
                style="dotted",
                color=ATTACH_COLOUR,
                fontcolor=ATTACH_COLOUR,
                arrowhead="open",
            )
    return drawn


def _draw_machine(g: Graph, f: Facts, prefix: str) -> None:
    start = node_id(prefix, "__initial")
    g.node(start, label="", shape="circle", style="filled", fillcolor="black", width="0.2")
    history_owner = {h.owner: h for h in f.histories}
    for i, phase in enumerate(f.phases):
        with g.subgraph(name=f"cluster_{prefix}phase_{i}") as c:
            c.attr(
                label=phase.name,
                style="rounded,filled",
                fillcolor=PHASE_FILL,
                color="#c8d0d8",
                fontname=FONT,
                fontcolor="#44546a",
                labeljust="l",
            )
            for s in phase.states:
                _state_node(c, s, prefix, is_initial=s.name == f.table.initial)
                if s.name in history_owner:
                    c.node(
                        node_id(prefix, history_owner[s.name].node),
                        label="H",
                        shape="circle",
                        style="solid",
                        width="0.35",
                        fixedsize="true",
                    )
    if f.quarantine:
        with g.subgraph(name=f"cluster_{prefix}quarantine") as c:
            c.attr(
                label="quarantine: no transition enters or leaves",
                style="dashed",
                color="#999999",
                fontcolor="#666666",
                fontname=FONT,
            )
            for s in f.quarantine:
                _state_node(c, s, prefix, is_initial=False)
    g.edge(start, node_id(prefix, f.table.initial), id=f"{f.name}.initial")
    for e in f.edges:
        _transition_edge(g, f.name, e, prefix)


def _state_node(g: Graph, s: State, prefix: str, *, is_initial: bool) -> None:
    label = f"<b>{escape(state_caption(s))}</b>"
    if s.description != s.name:
        label += f"<br/><font point-size='10'>{escape(s.description)}</font>"
    attrs = {"peripheries": "2"} if s.final else {}
    if s.quarantine:
        attrs |= {"style": "rounded,filled,dashed", "fillcolor": QUARANTINE_FILL}
    if is_initial:
        attrs |= {"penwidth": "2"}
    g.node(node_id(prefix, s.name), label=Html(label), **attrs)


def _transition_edge(g: Graph, machine: str, e: Edge, prefix: str) -> None:
    dst = node_id(prefix, f"{e.src}__H" if e.dst is None else e.dst)
    attrs = {
        "id": f"{machine}.t{e.index}",
        "label": e.label("\\n"),
        "color": e.colour,
        "fontcolor": e.colour,
    }
    if e.dst is None:  # room for the labels of several edges into one history state
        attrs["minlen"] = "2"
    if e.kind is EdgeKind.INFERRED:
        attrs["style"] = "dashed"
    if e.decision:
        attrs["penwidth"] = "2"
    g.edge(node_id(prefix, e.src), dst, **attrs)


def _legend(g: Graph, drawn: Sequence[Facts], *, attached: bool = False) -> None:
    """One plain-text table node explaining colours, line styles, shapes and decision marks."""
    actors = [a for a in ACTOR_COLOURS if any(a in f.actors for f in drawn)]
    rows = [
        "<tr><td align='left'><b>Legend</b></td></tr>",
        "<tr><td align='left'>edge label: actor: event [guards] (decision mark)</td></tr>",
        "<tr><td align='left'>actors: "
        + " ".join(f"<font color='{ACTOR_COLOURS[a]}'><b>{a}</b></font>" for a in actors)
        + "</td></tr>",
        "<tr><td align='left'>solid line: documented; dashed line: inferred</td></tr>",
        f"<tr><td align='left'><font color='{DECISION_COLOUR}'><b>red, thick</b></font>: "
        "a recorded decision that departs from a document keeps or shapes it</td></tr>",
        "<tr><td align='left'>black dot: initial (bold border); double border: final</td></tr>",
    ]
    if any(f.histories for f in drawn):
        rows.append(
            "<tr><td align='left'>H: history state, back to the status held before entering "
            "the state that owns it</td></tr>"
        )
    if any(f.quarantine for f in drawn):
        rows.append("<tr><td align='left'>dashed grey box: quarantine status</td></tr>")
    if attached:
        rows.append(
            f"<tr><td align='left'><font color='{ATTACH_COLOUR}'><b>orange dotted</b></font>: "
            "parent statuses in which the sub-machine's guarded event may fire</td></tr>"
        )
    for f in drawn:
        for note in f.decisions:
            where = f"{f.name} " if len(drawn) > 1 else ""
            rows.append(
                f"<tr><td align='left'><font color='{DECISION_COLOUR}'>{where}{note.mark}</font>"
                f" {escape(note.decision.id)}</td></tr>"
            )
    table = "<table border='0' cellborder='0' cellspacing='1'>" + "".join(rows) + "</table>"
    g.node(
        "legend", label=Html(table), shape="box", style="rounded", color="#bbbbbb", fontsize="10"
    )
