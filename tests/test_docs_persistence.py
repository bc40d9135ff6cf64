"""docs/persistence.md: every python block runs, in order, in one namespace, the
PostgreSQL ones against the test server (``DATABASE_URL``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "persistence.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_examples_run(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    blocks = python_blocks()
    assert len(blocks) >= 6
    namespace: dict[str, object] = {"__name__": "persistence_doc"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC}:block{i}", "exec"), namespace)
    assert "refused: payment lock" in capsys.readouterr().out
