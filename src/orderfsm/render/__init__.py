"""Diagrams generated from the tables: Graphviz DOT/SVG/PNG, Mermaid, Markdown matrices.

``plan()`` renders every machine in memory, ``write()`` puts the files on disk and
``check()`` names the committed files that no longer match the tables. One idea per
module: :mod:`.facts` (what is drawn), :mod:`.dot`, :mod:`.mermaid`, :mod:`.matrix`,
:mod:`.docs_page` (the formats), :mod:`.graphviz_run` (the ``dot`` program) and
:mod:`.outputs` (files).
"""

from orderfsm.render.graphviz_run import INSTALL_HINT, GraphvizMissing
from orderfsm.render.outputs import (
    DEFAULT_DOCS,
    DEFAULT_FORMATS,
    DEFAULT_OUT,
    FORMATS,
    Plan,
    Stale,
    Written,
    check,
    plan,
    write,
)

__all__ = [
    "DEFAULT_DOCS",
    "DEFAULT_FORMATS",
    "DEFAULT_OUT",
    "FORMATS",
    "INSTALL_HINT",
    "GraphvizMissing",
    "Plan",
    "Stale",
    "Written",
    "check",
    "plan",
    "write",
]
