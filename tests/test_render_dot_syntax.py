"""The DOT writer: quoting, and text Graphviz's own parser reads back as written."""

from __future__ import annotations

import pydot
from hypothesis import given
from hypothesis import strategies as st

from orderfsm.render.dot_syntax import Graph, Html, quote


def test_quote_keeps_plain_ids_and_quotes_the_rest() -> None:
    assert quote("WAIT_PAY") == "WAIT_PAY"
    assert quote("-10") == "-10"
    assert quote("node") == '"node"'
    assert quote("Graph") == '"Graph"'
    assert quote("a b") == '"a b"'
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("<b>x</b>") == '"<b>x</b>"'
    assert quote(Html("<b>x</b>")) == "<<b>x</b>>"


@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
        min_size=1,
        max_size=30,
    )
)
def test_any_label_reads_back_unchanged(label: str) -> None:
    g = Graph("g")
    with g.subgraph("cluster_0") as c:
        c.node("a", label=label)
    g.edge("a", "b", label=label, id="e0")
    parsed = pydot.graph_from_dot_data(g.source)
    assert parsed is not None
    (graph,) = parsed
    (edge,) = graph.get_edges()
    assert _read(edge.get("label")) == label
    (cluster,) = graph.get_subgraphs()
    (node,) = [n for n in cluster.get_nodes() if n.get_name() == "a"]
    assert _read(node.get("label")) == label


def _read(token: str) -> str:
    """A DOT ID token as Graphviz reads it (pydot keeps the raw token)."""
    if token.startswith('"') and token.endswith('"'):
        return token[1:-1].replace('\\"', '"')
    return token
