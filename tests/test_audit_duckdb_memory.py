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
    monkeypatch.setattr(duck, "MEMORY_LIMIT", LIMIT)
    want = audit_files([export], "taobao_order", engine="stream")

    got = audit_files([export], "taobao_order", engine="duckdb")

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

    def without_spilling(spill: Path | None = None) -> Any:
        con = connect(spill)
        con.execute("SET temp_directory = ''")
        return con

    monkeypatch.setattr(duck, "connect", without_spilling)
    with pytest.raises(AuditInputError, match="Out of Memory"):  # so it did spill above
        audit_files([export], "taobao_order", engine="duckdb")
