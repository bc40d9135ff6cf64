"""Tables of any size and shape: large ones load and lint, hostile ones are refused cleanly.

The generators are shared with the benchmarks (``benchmarks/tables.py``), which time the
larger sizes; here the sizes are small enough for CI and nothing is timed.
"""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.check.lint import MAX_PER_RULE, lint
from orderfsm.errors import OrderFsmError, TableError
from orderfsm.model import compile as compiling
from orderfsm.model import reader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import table_shapes as tables


def test_a_large_table_loads_and_lints_clean() -> None:
    m = orderfsm.load(tables.chain(2000))
    assert len(m.edges) > 19_000
    assert lint(m) == []
    assert m.successors(0)[:2] == (m.status(1), m.status(2))


def test_variables_no_guard_reads_are_not_enumerated() -> None:
    """7 variables of 10 values: only ``pay_step`` (read by the guard) is ever branched on."""
    m = orderfsm.load(tables.many_variables(variables=7, values=10))
    assert len(list(m.contexts())) == 2  # pay_step's two values; v0..v5 at their defaults
    found = {(f.rule, f.detail) for f in lint(m)}
    assert ("guard_never_passes", "guard 'balance_due' can never pass on S0 -> S1 (owe)") in found
    assert (
        "event_never_enabled",
        "event 'owe' is never enabled: its transitions can never fire",
    ) in (found)


def test_explore_branches_only_on_what_the_predicate_reads() -> None:
    """v0 is always read, v1 only when v0 is x3: 10 + 9 runs, not 10**6 * 2."""
    m = orderfsm.load(tables.many_variables(variables=7, values=10))
    calls = []

    def reads_two(v: Any) -> bool:
        calls.append(1)
        return v["v0"] == "x3" and v["v1"] == "x4"

    results = list(m.explore(reads_two))
    assert len(results) == len(calls) == 10 + 9
    defaults = {**{f"v{i}": "x0" for i in range(6)}, "pay_step": "FULL"}
    assert [a for a, ok in results if ok] == [{**defaults, "v0": "x3", "v1": "x4"}]
    assert len({tuple(sorted(a.items())) for a, _ in results}) == len(results)
    pinned = list(m.explore(reads_two, fixed={"v0": "x3"}))
    assert len(pinned) == 10 and sum(ok for _, ok in pinned) == 1


def test_edges_sharing_one_source_and_event_are_one_finding() -> None:
    findings = lint(orderfsm.load(tables.shared_source_event(3000)))
    assert [(f.rule, f.detail) for f in findings] == [
        (
            "ambiguous_event",
            "S0 on 'go' goes to S1 or S2 or S3 or S4 or S5 (and 2994 more) and no guard "
            "tells them apart",
        )
    ]


def test_findings_are_capped_per_rule_with_a_count() -> None:
    data = tables.shared_source_event(2)
    data["states"] += [
        {**data["states"][1], "code": i, "name": f"Lost{i}"} for i in range(10, 10 + 50)
    ]
    findings = [f for f in lint(orderfsm.load(data)) if f.rule == "unreachable"]
    assert len(findings) == MAX_PER_RULE + 1
    assert (
        findings[-1].detail == f"... and {50 - MAX_PER_RULE} more unreachable finding(s) not listed"
    )


# ---------------------------------------------------------------------- hostile input


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("source", "entry"),
    [
        ({1: "machine"}, "<top>"),
        ({"machine": {"name": "x"}, "events": {2: {}}}, "events"),
        ({"machine": _nested(500)}, "machine"),
        (
            {
                "machine": [
                    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
                ]
            },
            "machine",
        ),
        ("bad\0name.toml", "<file>"),
        ([("machine", {})], None),
    ],
)
def test_hostile_sources_raise_only_table_errors(source: Any, entry: str | None) -> None:
    with pytest.raises(OrderFsmError) as caught:
        orderfsm.load(source)
    if entry is not None:
        assert isinstance(caught.value, TableError)
        assert caught.value.entry.startswith(entry)


@pytest.mark.parametrize("text", [tables.nested_toml(500), tables.nested_inline_toml(500)])
def test_deeply_nested_toml_is_a_table_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(TableError, match="nested"):
        orderfsm.load(path)


def test_check_prints_no_traceback_for_a_hostile_table(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(tables.nested_inline_toml(500))
    done = subprocess.run(
        [sys.executable, "-m", "orderfsm.cli", "check", "--table", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"orderfsm: error: {path}")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
_keys = st.text(max_size=8) | st.integers() | st.booleans() | st.none()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=30,
)
_tables = st.fixed_dictionaries(
    {},
    optional={
        "machine": st.fixed_dictionaries(
            {"name": st.sampled_from(["m", "9x", ""]), "initial": _scalars}
        )
        | _values,
        "states": st.lists(_values, max_size=3),
        "events": st.dictionaries(_keys, _values, max_size=3),
        "transitions": st.lists(_values, max_size=3),
        "variables": st.dictionaries(_keys, _values, max_size=2),
        "decisions": _values,
    },
)


@given(_tables)
def test_any_mapping_loads_or_raises_a_library_error(data: dict[Any, Any]) -> None:
    with contextlib.suppress(OrderFsmError):  # anything else fails the test
        orderfsm.load(data)


def _shipped(name: str) -> dict[str, Any]:
    path = Path(orderfsm.__file__).parent / "data" / "tables" / f"{name}.toml"
    return tomllib.loads(path.read_text("utf-8"))


def _replace_one_node(table: Any, data: st.DataObject, junk: Any) -> None:
    """Replace one node anywhere in ``table`` (drawn from ``data``) by ``junk``."""
    node: Any = table
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, dict | list) or data.draw(st.booleans()):
            node[key] = junk
            break
        node = child


@given(st.data(), st.sampled_from(orderfsm.MACHINES), _values)
def test_a_shipped_table_with_any_node_replaced_loads_or_raises_a_library_error(
    data: st.DataObject, name: str, junk: Any
) -> None:
    """Deep validation paths: one node anywhere in a real table becomes anything."""
    table = _shipped(name)
    _replace_one_node(table, data, junk)
    with contextlib.suppress(OrderFsmError):  # anything else fails the test
        orderfsm.load(table)


# ---------------------------------------------------------------------- the file cache


def test_a_table_file_is_compiled_once_until_it_changes(tmp_path: Path) -> None:
    shipped = Path(orderfsm.__file__).parent / "data" / "tables" / "ka_pool_order.toml"
    path = tmp_path / "ka.toml"
    path.write_bytes(shipped.read_bytes())
    first = orderfsm.load(path)
    assert orderfsm.load(path) is first
    assert orderfsm.load(tmp_path / ".." / tmp_path.name / "ka.toml") is first  # same file
    path.write_bytes(shipped.read_bytes() + b"\n# changed\n")
    second = orderfsm.load(path)
    assert second is not first and second.table == first.table
    assert orderfsm.load(path) is second
    assert orderfsm.load(path, verify=True) is not second


def test_a_mapping_reusing_one_object_everywhere_is_walked_once_per_depth() -> None:
    """A decoded mapping may hold one list in many places: 2**25 paths, 26 objects. The
    shape check walks each object once per depth met (before: every path, for hours)."""
    shared: object = {"code": 1}
    for _ in range(25):
        shared = [shared, shared]
    with pytest.raises(orderfsm.TableError):
        orderfsm.load({"states": shared})


def test_the_collector_is_paused_while_a_table_is_compiled_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading and linting run with the garbage collector off (their objects all stay
    alive: collecting them only costs time) and turn it back on however they end: after
    a machine, after a TableError, and never on when the caller had turned it off."""
    seen: list[bool] = []
    real = compiling.compile_table

    def compile_table(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(compiling, "compile_table", compile_table)
    assert gc.isenabled()
    lint(orderfsm.load(tables.chain(50)))
    assert seen == [False]
    assert gc.isenabled()
    broken = tables.chain(50)
    broken["transitions"][3]["event"] = "undeclared"
    with pytest.raises(TableError, match="not declared"):
        orderfsm.load(broken)
    assert gc.isenabled()
    gc.disable()
    try:
        orderfsm.load(tables.chain(50))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "provenance", [{"kind": "inferred"}, {"kind": "inferred", "basis": ["not", "text"]}]
)
def test_a_provenance_read_once_per_content_still_refuses_each_entry_that_breaks_it(
    provenance: dict[str, Any],
) -> None:
    """Entries sharing a provenance share one record; a different one, even after many
    good ones, is read on its own and refused naming its entry."""
    table = tables.chain(20)
    m = orderfsm.load(table)
    assert len({id(t.provenance) for t in m.table.transitions}) == 1
    table["transitions"][7]["provenance"] = provenance
    with pytest.raises(TableError, match=r"transitions\[7\].*provenance"):
        orderfsm.load(table)


# ------------------------------------------- the folded read against the checked one

_hostile_leaves = (
    _scalars
    | st.sampled_from(["\ud800", "x\udc00", "generated", "platform", "S1", "e1", "1"])
    | st.sampled_from([2**63, -(2**63) - 1, True, 0, 1, (), ("S0",), {"kind": "inferred"}])
)
_hostile_nodes = st.recursive(
    _hostile_leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            _keys | st.sampled_from(["src", "dst", "notes", "\ud800"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)


def _read(parse: Any) -> tuple[str, Any]:
    """A table read: the table, or the error (its file, entry and message)."""
    try:
        return "table", parse()
    except TableError as e:
        return "error", (e.file, e.entry, str(e))


@given(
    st.data(),
    st.sampled_from(["chain", *orderfsm.MACHINES]),
    st.sampled_from(["\ud800", "text \udfff"]) | _hostile_nodes,
    st.just(0) | st.integers(1, 40),
)
def test_the_folded_read_accepts_and_refuses_as_the_checked_read_does(
    data: st.DataObject, name: str, junk: Any, deep: int
) -> None:
    """A mapping read with the bounded walk folded into the read of its states and
    transitions (and its plain transitions read without a field reader) gives the same
    table, or the same error naming the same file, entry and problem, as the walk first
    and then the field reader for every entry, whatever node of a table is replaced by
    whatever (lone surrogates, integers past 64 bits, bools, tuples, keys that are not
    strings, nesting past the limit)."""
    table: Any = tables.chain(4) if name == "chain" else _shipped(name)
    for level in range(deep):  # up to 40 levels: past MAX_NESTING wherever it lands
        junk = [junk] if level % 2 else {"notes": junk}
    _replace_one_node(table, data, junk)
    folded = _read(lambda: reader.parse_table(table, "t.toml"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "_parse_folded", _refuse)
        patch.setattr(reader._PlainEdges, "read", lambda self, item: None)
        checked = _read(lambda: reader.parse_table(table, "t.toml"))
    assert folded == checked


def _refuse(data: object, file: str) -> None:
    raise TableError(file, "<top>", "read the checked way")


def test_a_pause_that_allocated_many_objects_freezes_them_and_a_small_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past ``FREEZE_AFTER`` objects allocated while paused, the objects alive then are
    frozen (collections never walk them again), with the collector back on; a smaller
    load leaves them to the collector."""
    from orderfsm.model import collector  # noqa: PLC0415

    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        orderfsm.load(tables.chain(20))
        assert gc.get_freeze_count() == before
        monkeypatch.setattr(collector, "FREEZE_AFTER", 1000)
        machine = orderfsm.load(tables.chain(200))
        assert gc.get_freeze_count() > before
        assert gc.isenabled()
        assert lint(machine) == []
    finally:
        gc.unfreeze()


def test_the_index_built_field_by_field_equals_the_dataclasses_own_construction() -> None:
    """The edges, steps and index entries a large table needs are built through their
    slots (``slot_setters``); each equals what its dataclass builds, and a builder that
    does not name every field in order is refused."""
    from orderfsm.model.table import Transition, plain_transition, slot_setters  # noqa: PLC0415

    for name in orderfsm.MACHINES:
        machine = orderfsm.load(name)
        for edge in machine.edges:
            if edge.dst is None or edge.sets:
                continue
            fields = (edge.src, edge.dst, edge.event, edge.actor, edge.provenance)
            assert plain_transition(*fields, edge.guards, edge.notes) == edge
            source, target = machine.status(edge.src), machine.status(edge.dst)
            step = compiling._step(source, target, edge.event, edge.actor, edge)
            assert step == compiling.Step(source, target, edge.event, edge.actor, edge)
            assert compiling._edge(edge, target, edge.guards, step) == compiling._Edge(
                edge, target, edge.guards, step
            )
    with pytest.raises(TypeError, match="has the fields"):
        slot_setters(Transition, "dst", "src")
