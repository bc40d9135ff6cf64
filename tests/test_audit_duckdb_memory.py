"""The DuckDB engine runs in bounded memory: past its limit the query spills to a private
folder, removed afterwards, instead of failing (or writing into the working directory)."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest

import orderfsm
from orderfsm.check.audit import AuditInputError, audit_files, duck
from orderfsm.check.paths import transition_cover
from orderfsm.cli import main

LIMIT = "60MB"
"""Less than the audit query needs in memory for :func:`_export` (the test checks)."""


def _export(path: Path, rows: int) -> Path:
    """Taobao histories along the machine's transition cover, a few with an illegal jump."""
    machine = orderfsm.load("taobao_order")
    paths = [[p[0].source.code, *(s.target.code for s in p)] for p in transition_cover(machine)]
    codes = [s.code for s in machine.states]
    rng = random.Random(5)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["order_id", "seq", "status"])
        written = order = 0
        while written < rows:
            statuses = list(rng.choice(paths))
            if rng.random() < 0.02:
                statuses.insert(rng.randrange(1, len(statuses) + 1), rng.choice(codes))
            out.writerows((f"{order:08d}", seq, s) for seq, s in enumerate(statuses, start=1))
            written += len(statuses)
            order += 1
    return path


def test_the_query_spills_past_its_memory_limit_into_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _export(tmp_path / "history.csv", 200_000)
    private = tmp_path / "tmp"
    private.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.chdir(work)
    want = audit_files([export], "taobao_order", engine="stream")

    got = audit_files([export], "taobao_order", engine="duckdb", duckdb_memory=LIMIT)

    assert got.to_json()["illegal"] == want.to_json()["illegal"]
    assert got.to_json()["warnings"] == want.to_json()["warnings"]
    assert (got.rows, got.orders, got.steps, got.taken) == (
        want.rows,
        want.orders,
        want.steps,
        want.taken,
    )
    assert list(private.iterdir()) == []  # the spill folder is gone
    assert list(work.iterdir()) == []  # and nothing went to DuckDB's default, ./.tmp

    connect = duck.connect

    def without_spilling(spill: Path | None = None, memory: str = duck.MEMORY_LIMIT) -> Any:
        con = connect(spill, memory)
        con.execute("SET temp_directory = ''")
        return con

    monkeypatch.setattr(duck, "connect", without_spilling)
    with pytest.raises(AuditInputError, match="Out of Memory"):  # so it did spill above
        audit_files([export], "taobao_order", engine="duckdb", duckdb_memory=LIMIT)


@pytest.mark.parametrize("size", ["", "4", "GB", "4 gigabytes", "1GB'; SET x = 1; --", 4, None])
def test_a_memory_size_duckdb_would_not_read_is_refused_before_any_work(
    tmp_path: Path, size: object
) -> None:
    export = _export(tmp_path / "history.csv", 10)
    if size is None:  # not given: the default
        assert audit_files([export], "taobao_order", engine="duckdb").rows >= 10
        return
    with pytest.raises(AuditInputError, match="duckdb memory: expected a size such as '4GB'"):
        audit_files([export], "taobao_order", engine="duckdb", duckdb_memory=size)  # type: ignore[arg-type]


def test_the_command_line_passes_the_memory_to_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = _export(tmp_path / "history.csv", 1000)
    seen: list[str] = []
    connect = duck.connect

    def recording(spill: Path | None = None, memory: str = duck.MEMORY_LIMIT) -> Any:
        seen.append(memory)
        return connect(spill, memory)

    monkeypatch.setattr(duck, "connect", recording)
    code = main(["audit", str(export), "--machine", "taobao_order", "--engine", "duckdb",
                 "--duckdb-memory", "2GB", "--json"])  # fmt: skip
    assert (code, seen) == (1, ["2GB"])  # audited (the export holds illegal jumps)
    assert main(["audit", str(export), "--engine", "duckdb", "--duckdb-memory", "lots"]) == 2
    assert "duckdb memory: expected a size" in capsys.readouterr().err
