"""docs/webhooks.md: every python block runs, in order, in one namespace (so it can't rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_has_a_complete_example() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert "def handle_status_callback" in blocks[0]


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {"__name__": "webhooks_doc"}
    for i, block in enumerate(python_blocks()):
        exec(compile(block, f"{DOC}:block{i}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "WARN 200058578338" in out  # the unknown status was reported
    assert "'reconstructed'" in out and "'quarantine'" in out and "'release'" in out
