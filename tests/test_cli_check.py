"""`orderfsm check` and `orderfsm docs` as a user runs them."""

import json
from importlib import resources
from pathlib import Path

import pytest

import orderfsm
from orderfsm.cli import main

TABLE = (resources.files("orderfsm") / "data" / "tables" / "taobao_order.toml").read_text("utf-8")
REPO = Path(__file__).resolve().parents[1]


def test_check_passes_on_the_shipped_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("OK")
    assert "resolved by decision 'cancel-while-building'" in out


def test_check_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert {"machines", "discrepancies", "lint"} <= set(data)
    assert set(data["machines"]) >= {"taobao_order", "taobao_refund"}


def test_user_edit_shows_the_statement_it_breaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a user lets the seller ship from WAIT_FINANCE_PAY(5): the matrix says no
    edited = TABLE + (
        '\n[[transitions]]\nsrc = 5\ndst = 11\nevent = "ship"\nactor = "seller"\n'
        'provenance = { kind = "inferred", basis = "our warehouse ships early" }\n'
    )
    path = tmp_path / "taobao_order.toml"
    path.write_text(edited, encoding="utf-8")
    assert main(["check", "--table", str(path)]) == 1
    out = capsys.readouterr().out
    assert "transition 5 -> 11: UNRESOLVED" in out
    assert "taobao.matrix.main" in out and "cell 5 -> 11: -" in out
    assert "FAILED" in out


def test_broken_table_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(TABLE.replace('actor = "seller"', 'actor = "robot"'), encoding="utf-8")
    assert main(["check", "--table", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "unknown actor 'robot'" in err


def test_generated_docs_are_committed_and_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["docs", "--check", "--root", str(REPO)]) == 0
    copy = tmp_path / "repo"
    for page in ("docs/conformance.md", *(f"docs/machines/{n}.md" for n in orderfsm.MACHINES)):
        (copy / page).parent.mkdir(parents=True, exist_ok=True)
        (copy / page).write_text((REPO / page).read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["docs", "--check", "--root", str(copy)]) == 0
    for page in ("docs/conformance.md", "docs/machines/icbu_trade.md"):
        target = copy / page
        target.write_text(target.read_text(encoding="utf-8").replace("| ", "|  ", 1), "utf-8")
    capsys.readouterr()
    assert main(["docs", "--check", "--root", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "conformance.md is stale" in out and "icbu_trade.md is stale" in out
    assert main(["docs", "--root", str(copy)]) == 0
    assert main(["docs", "--check", "--root", str(copy)]) == 0
    prose = (copy / "docs/machines/icbu_trade.md").read_text(encoding="utf-8")
    assert prose == (REPO / "docs/machines/icbu_trade.md").read_text(encoding="utf-8")
