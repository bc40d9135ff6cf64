"""Auditing exported status histories (`orderfsm check --history`)."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import orderfsm
from orderfsm.check.audit import Row, audit, read_export
from orderfsm.cli import main
from orderfsm.testing import History, histories

MAIN = orderfsm.load("taobao_order")


@given(st.lists(histories(MAIN), min_size=1, max_size=4))
def test_exported_valid_histories_audit_clean(runs: list[History]) -> None:
    rows = [
        Row(f"order-{i}", status.code, n)
        for i, run in enumerate(runs)
        for n, status in enumerate(run.statuses)
    ]
    assert audit(MAIN, rows) == []


@given(histories(MAIN), st.data())
def test_a_status_no_path_explains_is_an_error_on_its_line(
    run: object, data: st.DataObject
) -> None:
    statuses = list(run.statuses)
    last = statuses[-1]
    unexplained = [s for s in MAIN.states if s != last and not _reachable(last, s)]
    if not unexplained:
        return
    bad = data.draw(st.sampled_from(unexplained))
    rows = [Row("x", s.name, n) for n, s in enumerate([*statuses, bad], start=2)]
    findings = audit(MAIN, rows, "export.csv")
    assert len(findings) == 1
    f = findings[0]
    assert f.level == "error" and f"export.csv:{len(statuses) + 2}:" in f.detail


def _reachable(a: orderfsm.State, b: orderfsm.State) -> bool:
    seen, frontier = {a.name}, [a.name]
    while frontier:
        for t in MAIN.transitions_from(frontier.pop()):
            if t.dst and t.dst not in seen:
                seen.add(t.dst)
                frontier.append(t.dst)
    return b.name in seen and not a.final


def test_csv_and_jsonl_exports(tmp_path: Path) -> None:
    csv_file = tmp_path / "export.csv"
    csv_file.write_text("order_id,status,when\nA,12,1\nA,WAIT_BUYER_P,2\nA,1,3\nA,10,4\n", "utf-8")
    findings = audit(MAIN, read_export(csv_file), str(csv_file))
    assert [(f.level, f.rule) for f in findings] == [("warning", "history_skipped_steps")]
    assert "ORDER_FINANCE_PASS_STATUS(2)" in findings[0].detail  # the step it skipped
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text('{"order_id": 1, "status": 0}\n{"order_id": 1, "status": "CANCEL"}\n', "utf-8")
    assert audit(MAIN, read_export(jsonl)) == []


def test_bad_export_files_are_clear_errors(tmp_path: Path) -> None:
    no_header = tmp_path / "a.csv"
    no_header.write_text("id,state\n1,0\n", "utf-8")
    with pytest.raises(orderfsm.TableError, match=r"a\.csv: line 1: the header needs"):
        read_export(no_header)
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"order_id": 1, "status": 0}\n{oops\n', "utf-8")
    with pytest.raises(orderfsm.TableError, match=r"b\.jsonl: line 2: not JSON"):
        read_export(broken)


def test_check_fails_on_an_illegal_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "h.csv"
    export.write_text("order_id,status\nC,4\nC,0\n", "utf-8")
    assert main(["check", "--table", "taobao_order", "--history", str(export)]) == 1
    assert "history_after_final" in capsys.readouterr().out
