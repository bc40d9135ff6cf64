"""Diagrams: every transition drawn once, DOT parsed back, SVG valid, output deterministic,
and the drift check catching a one-character edit. See docs/diagrams.md."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pydot
import pytest

import orderfsm
from orderfsm import cli, render
from orderfsm.model.table import ACTORS
from orderfsm.render.facts import ACTOR_COLOURS, Facts, facts, state_caption
from orderfsm.render.levels import levels_of
from orderfsm.render.mermaid import edge_label, state_id

ROOT = Path(__file__).resolve().parents[1]
MACHINES = orderfsm.MACHINES
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> render.Plan:
    root = tmp_path_factory.mktemp("gen")
    return render.plan(out_dir=root / "diagrams", docs=root / "docs" / "diagrams.md")


def _facts(name: str) -> Facts:
    return facts(orderfsm.load(name))


def _unquote(value: object) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _all_edges(graph: pydot.Dot | pydot.Subgraph) -> list[pydot.Edge]:
    edges = list(graph.get_edges())
    for sub in graph.get_subgraphs():
        edges += _all_edges(sub)
    return edges


def _all_nodes(graph: pydot.Dot | pydot.Subgraph) -> list[str]:
    nodes = [_unquote(n.get_name()) for n in graph.get_nodes()]
    for sub in graph.get_subgraphs():
        nodes += _all_nodes(sub)
    return nodes


def _parsed(dot_source: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(dot_source)
    assert graphs is not None and len(graphs) == 1
    return graphs[0]


def _expected_edges(f: Facts) -> Counter[tuple[str, str, str, str]]:
    """(id, src, dst, label) of every table transition, from the table itself."""
    return Counter(
        (
            f"{f.name}.t{i}",
            t.src,
            f"{t.src}__H" if t.dst is None else t.dst,
            e.label("\\n"),
        )
        for i, (t, e) in enumerate(zip(f.table.transitions, f.edges, strict=True))
    )


@pytest.mark.parametrize("name", MACHINES)
def test_dot_parses_back_to_the_table_graph(generated: render.Plan, name: str) -> None:
    f = _facts(name)
    graph = _parsed(generated.texts[generated.out_dir / f"{name}.dot"])
    drawn = Counter(
        (
            _unquote(e.get("id")),
            _unquote(e.get_source()),
            _unquote(e.get_destination()),
            _unquote(e.get("label")),
        )
        for e in _all_edges(graph)
        if _unquote(e.get("id")).startswith(f"{name}.t")
    )
    assert drawn == _expected_edges(f)
    nodes = set(_all_nodes(graph))
    assert {s.name for s in f.table.states} <= nodes
    assert {h.node for h in f.histories} <= nodes


@pytest.mark.parametrize("name", MACHINES)
def test_dot_styles_follow_provenance_decisions_and_finals(
    generated: render.Plan, name: str
) -> None:
    f = _facts(name)
    graph = _parsed(generated.texts[generated.out_dir / f"{name}.dot"])
    by_id = {_unquote(e.get("id")): e for e in _all_edges(graph)}
    for e, t in zip(f.edges, f.table.transitions, strict=True):
        edge = by_id[f"{name}.t{e.index}"]
        assert (_unquote(edge.get("style")) == "dashed") == (not t.provenance.documented)
        assert (_unquote(edge.get("penwidth")) == "2") == (e.decision is not None)
        assert t.event in _unquote(edge.get("label"))
        assert all(g in _unquote(edge.get("label")) for g in t.guards)
    present = {
        (f.table.state(t.src).code, f.table.state(t.dst).code)
        for t in f.table.transitions
        if t.dst is not None
    }
    # only decisions that settle a disagreement with the documents (they follow claims)
    kept = {p for d in f.table.decisions if d.follows for p in d.transitions if p in present}
    marked = {
        (f.table.state(e.src).code, f.table.state(e.dst).code)
        for e in f.edges
        if e.decision and e.dst is not None
    }
    assert marked == kept
    nodes = {_unquote(n.get_name()): n for n in _walk_nodes(graph)}
    for s in f.table.states:
        assert (_unquote(nodes[s.name].get("peripheries")) == "2") == s.final
        assert state_caption(s) in _unquote(nodes[s.name].get("label"))
    initial = [e for e in _all_edges(graph) if _unquote(e.get("id")) == f"{name}.initial"]
    assert [_unquote(e.get_destination()) for e in initial] == [f.table.initial]


def _walk_nodes(graph: pydot.Dot | pydot.Subgraph) -> list[pydot.Node]:
    nodes = list(graph.get_nodes())
    for sub in graph.get_subgraphs():
        nodes += _walk_nodes(sub)
    return nodes


@pytest.mark.parametrize("name", MACHINES)
def test_mermaid_has_every_transition_once_with_its_label(
    generated: render.Plan, name: str
) -> None:
    f = _facts(name)
    lines = generated.texts[generated.out_dir / f"{name}.mmd"].splitlines()
    assert lines[3] == "stateDiagram-v2"
    arrows = Counter(line.strip() for line in lines if " --> " in line and "[*]" not in line)
    for e in f.edges:
        dst = f"{e.src}__H" if e.dst is None else e.dst
        line = f"{state_id('', e.src)} --> {state_id('', dst)} : {edge_label(e)}"
        assert arrows[line] == 1, line
    assert sum(arrows.values()) == len(f.edges)
    for s in f.table.states:
        assert sum(line.endswith(f" as {state_id('', s.name)}") for line in lines) == 1
    assert f"    [*] --> {state_id('', f.table.initial)}" in lines
    for s in f.finals:
        assert f"    {state_id('', s.name)} --> [*]" in lines


def test_composite_taobao_attaches_refunds_where_the_main_order_allows_them(
    generated: render.Plan,
) -> None:
    parents = {f.table.parent for f in map(_facts, MACHINES) if f.table.parent}
    assert "taobao_order" in parents
    for parent in parents:
        graph = _parsed(generated.texts[generated.out_dir / f"{parent}.composite.dot"])
        attached = {
            _unquote(e.get_source()).removeprefix(f"{parent}__")
            for e in _all_edges(graph)
            if _unquote(e.get("id")).startswith("attach.")
        }
        main = orderfsm.load(parent)
        if parent == "taobao_order":
            assert attached == {s.name for s in main.states if "refund_allowed" in s.tags}
        clusters = [_unquote(s.get_name()) for s in graph.get_subgraphs()]
        for child in (n for n in MACHINES if orderfsm.load(n).table.parent == parent):
            assert f"cluster_machine_{child}" in clusters
            child_edges = {
                _unquote(e.get("id"))
                for e in _all_edges(graph)
                if _unquote(e.get("id")).startswith(f"{child}.t")
            }
            assert len(child_edges) == len(orderfsm.load(child).table.transitions)


def test_matrix_marks_exactly_the_compiled_pairs(generated: render.Plan) -> None:
    for name in MACHINES:
        m = orderfsm.load(name)
        by_code = {str(s.code): s for s in m.states}
        lines = generated.texts[generated.out_dir / f"{name}.md"].splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("| From \\ To |"))
        columns = [by_code[c.strip()] for c in lines[header].strip("|").split("|")[1:]]
        assert sorted(s.name for s in columns) == sorted(
            s.name for s in m.states if not s.quarantine
        )
        rows = lines[header + 2 : header + 2 + len(columns)]
        seen = []
        for row in rows:
            first, *cells = (c.strip() for c in row.strip("|").split("|"))
            src = by_code[first.split()[0]]
            seen.append(src.name)
            for cell, dst in zip(cells, columns, strict=True):
                assert (cell.split()[0] in ("✓", "H")) == m.has_edge(src, dst), (name, src, dst)
        assert sorted(seen) == sorted(s.name for s in columns)


def test_matrix_follows_the_documents_order_and_marks_decisions(generated: render.Plan) -> None:
    page = generated.texts[generated.out_dir / "taobao_order.md"]
    # the document prints columns 0..12 ascending and starts its rows with 12
    assert "| From \\ To | 0 | 1 | 2 | 3 | 4 | 5 | 10 | 11 | 12 |" in page
    assert page.index("| 12 (ORDER_BULIDING) |") < page.index("| 0 (TAOBAO_ORDER_WAIT_BUYER_PAY) |")
    f = _facts("taobao_order")
    for e in f.edges:
        if e.decision:
            assert f"✓ {e.decision}" in page


@needs_dot
def test_svg_is_valid_xml_naming_every_state(tmp_path: Path) -> None:
    p = render.plan(formats=("dot", "svg"), out_dir=tmp_path, docs=None)
    assert render.write(p).graphviz_missing is None
    for name in MACHINES:
        svg = (tmp_path / f"{name}.svg").read_bytes()
        root = ET.fromstring(svg)
        text = " ".join(t for t in root.itertext())
        for s in orderfsm.load(name).states:
            assert state_caption(s) in text
        assert b"Generated by graphviz version" not in svg
        assert render.check(p) == []


def test_two_generations_are_byte_identical(tmp_path: Path) -> None:
    first = render.plan(out_dir=tmp_path / "d", docs=tmp_path / "docs.md")
    second = render.plan(out_dir=tmp_path / "d", docs=tmp_path / "docs.md")
    assert first.texts == second.texts
    assert first.drawings == second.drawings
    assert all("20" not in k.name for k in first.texts)  # no dated file names


def test_committed_diagrams_are_current() -> None:
    p = render.plan(out_dir=ROOT / "diagrams", docs=ROOT / "docs" / "diagrams.md")
    assert [str(s) for s in render.check(p)] == []


def _committed_copy(tmp_path: Path) -> render.Plan:
    shutil.copytree(ROOT / "diagrams", tmp_path / "diagrams")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "diagrams.md", tmp_path / "docs" / "diagrams.md")
    return render.plan(out_dir=tmp_path / "diagrams", docs=tmp_path / "docs" / "diagrams.md")


@pytest.mark.parametrize("suffix", [".dot", ".mmd", ".md", ".svg"])
def test_check_names_a_file_edited_by_one_character(tmp_path: Path, suffix: str) -> None:
    p = _committed_copy(tmp_path)
    assert render.check(p) == []
    victim = tmp_path / "diagrams" / f"{MACHINES[0]}{suffix}"
    data = bytearray(victim.read_bytes())
    # flip one character inside the DOT digest for SVG, anywhere readable otherwise
    at = data.index(b"sha256=") + 10 if suffix == ".svg" else len(data) // 2
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    victim.write_bytes(bytes(data))
    assert [s.path for s in render.check(p)] == [victim]


def test_check_names_missing_and_leftover_files(tmp_path: Path) -> None:
    p = _committed_copy(tmp_path)
    (tmp_path / "diagrams" / f"{MACHINES[1]}.mmd").unlink()
    (tmp_path / "diagrams" / "retired_machine.dot").write_text("digraph {}\n")
    (tmp_path / "docs" / "diagrams.md").write_text("edited by hand\n")
    assert {(s.path.name, s.reason.split()[0]) for s in render.check(p)} == {
        (f"{MACHINES[1]}.mmd", "missing"),
        ("retired_machine.dot", "not"),
        ("diagrams.md", "differs"),
    }


def test_cli_check_exit_codes_and_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, docs = tmp_path / "diagrams", tmp_path / "docs" / "diagrams.md"
    args = ["diagrams", "--out", str(out), "--docs", str(docs), "--format", "dot,mermaid,md"]
    assert cli.main([*args, "--check"]) == 1
    assert f"stale: {out / (MACHINES[0] + '.dot')}: missing" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert cli.main([*args, "--check"]) == 0
    edited = out / f"{MACHINES[0]}.mmd"
    edited.write_text(edited.read_text().replace("-->", "->", 1))
    assert cli.main([*args, "--check"]) == 1
    assert str(edited) in capsys.readouterr().out


def test_cli_rejects_unknown_machine_and_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["diagrams", "--machine", "no_such_machine", "--check"]) == 2
    assert "no_such_machine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["diagrams", "--format", "dot,gif"])
    assert "gif" in capsys.readouterr().err


def test_one_machine_only(tmp_path: Path) -> None:
    p = render.plan(["taobao_refund"], out_dir=tmp_path, docs=tmp_path / "docs.md")
    assert sorted(k.name for k in p.texts) == [
        "taobao_refund.dot",
        "taobao_refund.md",
        "taobao_refund.mmd",
    ]


def test_without_graphviz_text_outputs_are_written_and_the_fix_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "diagrams"
    code = cli.main(
        ["diagrams", "--out", str(out), "--docs", "", "--format", "dot,svg,png,mermaid,md"]
    )
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "apt-get install graphviz" in err[0]
    names = {p.name for p in out.iterdir()}
    for name in MACHINES:
        assert {f"{name}.dot", f"{name}.mmd", f"{name}.md"} <= names
    assert not any(n.endswith((".svg", ".png")) for n in names)


def test_docs_page_embeds_every_mermaid_diagram(generated: render.Plan) -> None:
    page = next(v for k, v in generated.texts.items() if k.name == "diagrams.md")
    for path, text in generated.texts.items():
        if path.suffix == ".mmd":
            assert f"```mermaid\n{text}```" in page
            assert f"(../diagrams/{path.with_suffix('.svg').name})" in page


def test_levels_diagram_nests_the_machine_once_inside_every_level(
    generated: render.Plan,
) -> None:
    drawn = [name for name in MACHINES if levels_of(name) is not None]
    assert "ka_pool_order" in drawn
    for name in drawn:
        levels = levels_of(name)
        assert levels is not None
        graph = _parsed(generated.texts[generated.out_dir / f"{name}.levels.dot"])
        ids = Counter(_unquote(e.get("id")) for e in _all_edges(graph))
        assert {i for i in ids if i.startswith(f"{name}.t")} == {
            f"{name}.t{i}" for i in range(len(orderfsm.load(name).table.transitions))
        }
        assert all(ids[i] == 1 for i in ids if i.startswith(f"{name}.t"))
        depth, sub = 0, graph
        while True:
            inner = [s for s in sub.get_subgraphs() if s.get_name().startswith("cluster_level_")]
            if not inner:
                break
            depth, sub = depth + 1, inner[0]
        assert depth == len(levels.levels)
        mermaid = generated.texts[generated.out_dir / f"{name}.levels.mmd"]
        for level in levels.levels:
            assert f'state "{level} - ' in mermaid


def test_every_actor_has_a_colour_and_bad_requests_raise_library_errors() -> None:
    assert set(ACTOR_COLOURS) == set(ACTORS)
    with pytest.raises(orderfsm.OrderFsmError, match="gif"):
        render.plan(formats=("dot", "gif"))
    with pytest.raises(orderfsm.UnknownMachine, match="taobao_order"):
        render.plan(["tmall_order"])


@pytest.mark.parametrize("fmt", ["dot", "svg", "mermaid", "md"])
def test_a_partial_format_run_checks_the_same_files(tmp_path: Path, fmt: str) -> None:
    full = _committed_copy(tmp_path)
    part = render.plan(formats=(fmt,), out_dir=full.out_dir, docs=tmp_path / "docs" / "diagrams.md")
    assert render.check(part) == []
    for path, text in part.texts.items():
        assert full.texts[path] == text


def test_drawing_elsewhere_leaves_the_committed_docs_page_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["diagrams", "--out", "elsewhere", "--format", "dot,mermaid,md"]) == 0
    assert (tmp_path / "elsewhere").is_dir()
    assert not (tmp_path / "docs").exists()
