"""examples/sqlite_cas.py: two writers really race on one SQLite row; no update is lost."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sqlite_cas.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sqlite_cas_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("round_", range(5))
def test_two_writers_race_and_the_loser_retries(tmp_path: Path, round_: int) -> None:
    example = load_example()
    final, results = example.race(tmp_path / f"orders{round_}.sqlite")
    attempts = sorted(r[0][1] for r in results)
    assert attempts == [1, 2], "exactly one writer lost the race and retried once"
    assert [r[0][0] for r in results] == ["advanced", "advanced"]
    assert final.sub_order_status("a").code == 11
    assert final.sub_order_status("b").code == 10
    assert final.version == 2


def test_without_compare_and_set_the_update_is_lost(tmp_path: Path) -> None:
    """The control: an unconditional write lets the second saver erase the first."""
    example = load_example()

    def blind_write(
        conn: sqlite3.Connection, key: str, expected: int, new: Mapping[str, Any]
    ) -> bool:
        conn.execute(
            "UPDATE orders SET version = ?, body = ? WHERE key = ?",
            (new["version"], json.dumps(new), key),
        )
        return True

    final, _ = example.race(tmp_path / "blind.sqlite", save=blind_write)
    codes = {final.sub_order_status("a").code, final.sub_order_status("b").code}
    assert 5 in codes, "one writer's sub-order change was overwritten"


def test_the_example_runs_as_a_script() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "no lost update: True" in done.stdout
