"""The command line is consistent: help, JSON errors, output paths, counts, table paths."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import orderfsm
from orderfsm.cli import build_parser, main, summarise
from orderfsm.model.compile import SHIPPED_TABLES

TABLES = resources.files("orderfsm") / "data" / "tables"
COMMANDS = ("summary", "check", "audit", "docs", "diagrams")


def test_every_subcommand_has_a_line_in_help_and_its_own_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    build_parser().print_help()
    top = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^    {command}\s+\S", top, re.M), command
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        own = capsys.readouterr().out
        assert own.startswith(f"usage: orderfsm {command}")
        description = own.split("\n\n")[1]
        assert not description.startswith(("positional", "options")), command


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--json", "--table", "no_such_machine"],
        ["audit", "--json", "missing.csv", "--machine", "taobao_order"],
        ["audit", "--json", "missing.csv"],
        ["audit", "--json", "x.csv", "--engine", "nope"],
        ["check", "--json", "--history", "x.csv"],
    ],
)
def test_json_modes_print_an_error_object(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    assert code == 2
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"error"} and data["error"]


def test_summary_counts_add_up() -> None:
    for name in SHIPPED_TABLES:
        text = summarise(orderfsm.load(name))
        total, documented, inferred = map(
            int,
            re.search(
                r"(\d+) table transitions \((\d+) documented, (\d+) inferred\)", text
            ).groups(),  # type: ignore[union-attr]
        )
        assert total == documented + inferred == len(orderfsm.load(name).table.transitions)


def test_diagrams_outside_the_source_tree_need_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["diagrams", "--format", "dot"]) == 2
    assert "--out" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["diagrams", "--out", "pics", "--format", "dot", "--machine", "icbu_trade"]) == 0
    assert (tmp_path / "pics" / "icbu_trade.dot").is_file()


@pytest.mark.parametrize(
    ("command", "planted", "starts"),
    [
        (
            ["diagrams", "--format", "dot", "--machine", "taobao_order"],
            "taobao_order.dot",
            "digraph",
        ),
        (["export", "taobao_order", "--format", "json"], "taobao_order.json", "{"),
    ],
)
def test_output_is_never_written_through_a_planted_symlink(
    tmp_path: Path, command: list[str], planted: str, starts: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", "utf-8")
    (out / planted).symlink_to(victim)
    assert main([*command, "--out", str(out)]) == 0
    assert victim.read_text("utf-8") == "keep me"
    assert not (out / planted).is_symlink()
    assert (out / planted).read_text("utf-8").startswith(starts)


@pytest.mark.parametrize("bad", ["a_file", "missing/deeper"])
def test_a_bad_output_path_is_a_one_line_error(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_file").write_text("x", "utf-8")
    assert main(["diagrams", "--out", str(tmp_path / bad), "--format", "dot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("orderfsm: error: --out")


def test_machine_accepts_a_table_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "mine.toml"
    table.write_text((TABLES / "icbu_trade.toml").read_text("utf-8"), "utf-8")
    out = tmp_path / "out"
    assert main(["diagrams", "--out", str(out), "--format", "dot", "--machine", str(table)]) == 0
    assert (out / "icbu_trade.dot").is_file()
    export = tmp_path / "h.csv"
    export.write_text("order_id,seq,status\nA,1,unpay\nA,2,paying\n", "utf-8")
    capsys.readouterr()
    assert main(["audit", str(export), "--machine", str(table), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["steps"] == 1
    assert main(["summary", "--table", str(table)]) == 0


def test_audit_exit_codes_and_json_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "h.csv"
    export.write_text("order_id,seq,status\nA,1,4\nA,2,12\nB,1,12\n", "utf-8")
    assert main(["audit", str(export), "--machine", "taobao_order", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"summary", "illegal", "warnings", "forced", "problems"}
    [bad] = data["illegal"]
    assert (bad["line"], bad["order_id"], bad["from"], bad["to"]) == (3, "A", 4, 12)
    assert bad["rule"] == "final statuses accept nothing"
    assert data["summary"]["non_final"] == [{"machine": "taobao_order", "orders": 2, "status": 12}]
    clean = tmp_path / "c.csv"
    clean.write_text(
        "machine,order_id,seq,status\ntaobao_order,A,1,12\ntaobao_order,A,2,0\n", "utf-8"
    )
    assert main(["audit", str(clean)]) == 0  # the file names its machine
    assert main(["audit", str(tmp_path / "none.csv"), "--machine", "taobao_order"]) == 2
    capsys.readouterr()
    assert main(["audit", str(clean), "--emit-sql"]) == 0
    assert capsys.readouterr().out.startswith("WITH\n")


def test_audit_diagram_counts_and_marks_illegal_steps(tmp_path: Path) -> None:
    export = tmp_path / "h.csv"
    export.write_text(
        "order_id,seq,status\nA,1,unpay\nA,2,paying\nB,1,unpay\nB,2,paying\n"
        "C,1,paying\nC,2,intention_processing\nD,1,unpay\nD,2,undeliver\n",
        "utf-8",
    )
    first, second = tmp_path / "a.dot", tmp_path / "b.dot"
    assert main(["audit", str(export), "--machine", "icbu_trade", "--diagram", str(first)]) == 1
    assert main(["audit", str(export), "--machine", "icbu_trade", "--diagram", str(second)]) == 1
    dot = first.read_text("utf-8")
    assert dot == second.read_text("utf-8")
    assert re.search(r'"icbu_trade\.unpay" -> "icbu_trade\.paying" \[label="pay \u00d72"', dot)
    illegal = (
        r'"icbu_trade\.paying" -> "icbu_trade\.intention_processing" \[label="illegal \u00d71"'
    )
    assert re.search(illegal + r' color="#d7191c"', dot)
    skipped = r'"icbu_trade\.unpay" -> "icbu_trade\.undeliver" \[label="skipped \u00d71"'
    assert re.search(skipped + r' color="#e08214"', dot)
    assert 'label="cancel \u00d70" color="#bbbbbb"' in dot
    mmd = tmp_path / "a.mmd"
    assert main(["audit", str(export), "--machine", "icbu_trade", "--diagram", str(mmd)]) == 1
    assert mmd.read_text("utf-8").startswith("flowchart LR")


def test_audit_diagram_judges_each_change_in_its_own_context(tmp_path: Path) -> None:
    """Out of ICBU `frozen` a change is legal only back to where the order froze: the
    picture colours each change as the audit judged it, not by its pair of statuses."""
    export = tmp_path / "h.csv"
    export.write_text(
        "order_id,seq,status\nB,1,undeliver\nB,2,frozen\nB,3,paid\n"
        "C,1,undeliver\nC,2,frozen\nC,3,undeliver\nD,1,captured\nD,2,frozen\nD,3,undeliver\n",
        "utf-8",
    )
    out = tmp_path / "deeper" / "f.dot"
    assert main(["audit", str(export), "--machine", "icbu_trade", "--diagram", str(out)]) == 1
    dot = out.read_text("utf-8")
    frozen = r'"icbu_trade\.frozen" -> '
    assert re.search(frozen + r'"icbu_trade\.paid" \[label="illegal \u00d71" color="#d7191c"', dot)
    assert re.search(frozen + r'"icbu_trade\.paid" \[label="[^"]*\u00d70" color="#bbbbbb"', dot)
    skipped = frozen + r'"icbu_trade\.undeliver" \[label="skipped \u00d71" color="#e08214"'
    assert re.search(skipped, dot)
    assert re.search(
        frozen + r'"icbu_trade\.undeliver" \[label="[^"]*\u00d71" color="#1b7837"', dot
    )


def test_a_diagram_path_no_format_fits_is_refused_before_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "h.csv"
    export.write_text("order_id,seq,status\nA,1,paying\nA,2,intention_processing\n", "utf-8")
    args = ["audit", str(export), "--machine", "icbu_trade", "--diagram", str(tmp_path / "x.png")]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and "must end in .dot, .svg or .mmd" in err


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    """`orderfsm summary | head -1`: the pipe closes under us; stderr stays clean."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from orderfsm.cli import main; raise SystemExit(main())",
            "summary",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() in (0, 1)
    assert "Traceback" not in err
