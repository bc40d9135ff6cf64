"""``orderfsm export --format json``: a versioned document, valid against the published
schema, that :func:`orderfsm.load` reads back into a machine that behaves identically."""

from __future__ import annotations

import copy
import itertools
import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import orderfsm
from orderfsm.cli import main
from orderfsm.export import json_doc
from orderfsm.model.compile import compile_table

MACHINES = [orderfsm.load(name) for name in orderfsm.MACHINES]
SCHEMA = json_doc.schema()
REPO = Path(__file__).resolve().parents[1]


def _exported(machine: orderfsm.CompiledMachine) -> dict[str, Any]:
    """The document as a consumer gets it: written as text, decoded again."""
    decoded: dict[str, Any] = json.loads(json_doc.dumps(json_doc.document(machine)))
    return decoded


def _outcome(machine: orderfsm.CompiledMachine, *args: Any, **kwargs: Any) -> tuple[object, ...]:
    try:
        step = machine.transition(*args, **kwargs)
    except orderfsm.TransitionRejected as exc:
        return (type(exc).__name__, str(exc), exc.rule, exc.source, exc.status, exc.allowed)
    return ("accepted", step.source, step.target, step.actor, step.transition)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    published = REPO / "src/orderfsm/data/schema/orderfsm-machine.schema.json"
    assert json.loads(published.read_text("utf-8")) == SCHEMA


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_export_validates_against_the_published_schema(
    machine: orderfsm.CompiledMachine,
) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(_exported(machine))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("version",), 1),
        (("guards", "returns_to_history", "when", "op"), "python"),
        (("states", 0, "final"), "no"),
        (("edges", 0, "history"), None),
    ],
)
def test_the_schema_refuses_a_broken_document(path: tuple[str | int, ...], value: object) -> None:
    doc = _exported(orderfsm.load("icbu_trade"))
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_an_export_loads_back_with_the_same_table(machine: orderfsm.CompiledMachine) -> None:
    loaded = orderfsm.load(_exported(machine))
    assert replace(loaded.table, file=machine.table.file) == machine.table
    assert loaded.edges == machine.edges
    assert (loaded.parent and loaded.parent.name) == (machine.parent and machine.parent.name)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_an_export_loads_back_with_identical_behaviour_everywhere(
    machine: orderfsm.CompiledMachine,
) -> None:
    loaded = orderfsm.load(_exported(machine))
    histories = (None, *machine.states)
    tried = 0
    for status, event, history in itertools.product(machine.states, machine.event_names, histories):
        for parent, variables in machine.contexts():
            context = {"parent": parent, "variables": variables, "history": history}
            assert _outcome(loaded, status, event, **context) == _outcome(
                machine, status, event, **context
            ), (status, event, context)
            tried += 1
    assert tried >= len(machine.states) * len(machine.event_names)


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_the_export_is_deterministic(machine: orderfsm.CompiledMachine) -> None:
    first = json_doc.dumps(json_doc.document(machine))
    again = json_doc.dumps(json_doc.document(compile_table(machine.table, machine.parent)))
    assert first == again and first.endswith("}\n") and not first.endswith("\n\n")


def test_a_json_file_path_loads_like_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "icbu.json"
    assert main(["export", "icbu_trade", "--out", str(tmp_path)]) == 0
    (tmp_path / "icbu_trade.json").rename(path)
    loaded = orderfsm.load(path)
    assert loaded.table.file == str(path)
    assert loaded.edges == orderfsm.load("icbu_trade").edges


def _broken(change: Any) -> dict[str, Any]:
    doc = _exported(orderfsm.load("taobao_refund"))
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "entry", "problem"),
    [
        (lambda d: d.update(version=1), "version", "unsupported version 1"),
        (lambda d: d.update(format="other"), "format", "expected 'orderfsm-machine'"),
        (lambda d: d.update(extra={}), "extra", "unknown section"),
        (
            lambda d: d["guards"]["main_order_allows_refund"]["when"].update(tag="shipped"),
            "guards.main_order_allows_refund",
            "differs from this library's guard",
        ),
        (
            lambda d: d["guards"].pop("refund_cancellable"),
            "guards.refund_cancellable",
            "the table names this guard",
        ),
        (
            lambda d: d["guards"].update(free_refunds=d["guards"]["refund_cancellable"]),
            "guards.free_refunds",
            "no guard of this name",
        ),
        (lambda d: d["edges"].pop(), "edges", "do not follow from the transitions"),
        (
            lambda d: d["states"][0].update(final="yes"),
            "states[0] (NOT_APPLY_FOR_REFUND).final",
            "",
        ),
    ],
)
def test_a_tampered_document_is_refused_naming_the_entry(
    change: Any, entry: str, problem: str
) -> None:
    with pytest.raises(orderfsm.TableError) as info:
        orderfsm.load(_broken(change))
    assert info.value.entry == entry
    assert problem in info.value.problem


def test_a_plain_table_mapping_still_loads() -> None:
    doc = _exported(orderfsm.load("taobao_order"))
    table = {k: copy.deepcopy(v) for k, v in doc.items() if k in ("machine", "states", "events")}
    table["transitions"] = doc["transitions"]
    assert orderfsm.load(table).edges == orderfsm.load("taobao_order").edges


def test_cli_prints_one_document_and_checks_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "taobao_order"]) == 0
    printed = capsys.readouterr().out
    assert printed == json_doc.dumps(json_doc.document(orderfsm.load("taobao_order")))

    out = tmp_path / "vendor"
    assert main(["export", "--out", str(out), "--format", "json,xstate"]) == 0
    assert main(["export", "--check", str(out), "--format", "json,xstate"]) == 0
    assert "up to date (12 files checked)" in capsys.readouterr().out

    doc = json.loads((out / "icbu_trade.json").read_text("utf-8"))
    doc["states"][0]["customer_text"] = "edited by hand"
    (out / "icbu_trade.json").write_text(json.dumps(doc), "utf-8")
    (out / "ka_pool_order.guards.mjs").unlink()
    assert main(["export", "--check", str(out), "--format", "json,xstate"]) == 1
    report = capsys.readouterr().out
    assert "icbu_trade.json: differs from the current rules" in report
    assert "ka_pool_order.guards.mjs: missing" in report
    assert "taobao_order.json" not in report
    assert f"`orderfsm export --format json,xstate --out {out}`" in report

    assert main(["export", "--format", "yaml"]) == 2
    assert "unknown format 'yaml'" in capsys.readouterr().err


def test_the_readme_export_lines_run_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    lines = [
        line.split("#")[0] for line in readme.splitlines() if line.startswith("orderfsm export")
    ]
    assert len(lines) == 2
    monkeypatch.chdir(tmp_path)
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0
    assert "exports up to date (12 files checked)" in capsys.readouterr().out
    assert orderfsm.load(tmp_path / "vendor/orderfsm/icbu_trade.json").name == "icbu_trade"


def test_cli_exports_a_table_file_and_refuses_to_print_several_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "my_icbu.toml"
    table.write_text(
        (REPO / "src/orderfsm/data/tables/icbu_trade.toml").read_text("utf-8"), "utf-8"
    )
    assert main(["export", str(table)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["machine"]["name"] == "icbu_trade"
    assert orderfsm.load(printed).edges == orderfsm.load("icbu_trade").edges

    assert main(["export", "icbu_trade", "--format", "xstate"]) == 2
    assert "write them with --out DIR" in capsys.readouterr().err
