"""`orderfsm check` and `orderfsm conformance-doc` as a user runs them."""

import json
from importlib import resources
from pathlib import Path

import pytest

from orderfsm.cli import main

TABLE = (resources.files("orderfsm") / "tables" / "taobao_order.toml").read_text("utf-8")
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


def test_conformance_doc_is_committed_and_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = REPO / "docs" / "conformance.md"
    assert main(["conformance-doc", "--check", "--out", str(committed)]) == 0
    copy = tmp_path / "conformance.md"
    copy.write_text(
        committed.read_text(encoding="utf-8").replace("Decision", "Decisio", 1), encoding="utf-8"
    )
    assert main(["conformance-doc", "--check", "--out", str(copy)]) == 1
    assert "stale" in capsys.readouterr().out
    assert main(["conformance-doc", "--out", str(copy)]) == 0
    assert copy.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")
