"""Every code block in README.md and docs/ is run or read by the test suite, or is marked,
by its language, as one that cannot run here (so no example can rot unnoticed).

``python`` blocks run, page by page, in order, in one namespace (with ``orderfsm``
imported, and the user's own table files the pages load present in the working
directory); ``toml`` and ``json`` blocks parse.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import orderfsm

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```$", re.M | re.S)

NOT_RUN = {
    "sh": "shell commands (installing, the CLI); the CLI is tested in tests/test_cli*.py",
    "js": "another language's consumer of the export (tests/node runs the real one)",
    "ts": "another language's consumer of the export (tests/node runs the real one)",
    "mermaid": "diagrams drawn by the viewer; `orderfsm diagrams --check` checks the generated",
    "sql": "PostgreSQL DDL and queries the store runs itself (tests/test_store.py checks them)",
}
"""Languages whose blocks cannot run in this suite, and why."""

RUN_ELSEWHERE = {
    "docs/persistence.md": "tests/test_docs_persistence.py",
}
"""Pages whose python blocks need a database: the named test runs them against the test
PostgreSQL server."""

USER_TABLES = ("pool_order.toml", "path/to/pool_order.toml")
"""The user's own KA table files the pages load: the shipped table stands in for them."""


def blocks(page: Path) -> list[tuple[str, str]]:
    """Every fenced block of ``page``: (language, code)."""
    return FENCE.findall(page.read_text(encoding="utf-8"))


def test_every_block_names_its_language_and_each_language_is_run_read_or_marked() -> None:
    seen = {lang for page in PAGES for lang, _ in blocks(page)}
    assert "" not in seen, "a code block without a language: mark it (```sh, ```python...)"
    assert seen <= {"python", "toml", "json", *NOT_RUN}, seen


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_python_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = RUN_ELSEWHERE.get(str(page.relative_to(ROOT)))
    if runner is not None:
        assert (ROOT / "tests" / Path(runner).name).is_file()
        return
    code = [body for lang, body in blocks(page) if lang == "python"]
    shipped = resources.files("orderfsm") / "data" / "tables" / "ka_pool_order.toml"
    for name in USER_TABLES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(shipped) as source:
            shutil.copyfile(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_page", "orderfsm": orderfsm}
    for i, body in enumerate(code):
        exec(compile(body, f"{page}:python block {i}", "exec"), namespace)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_pages_toml_and_json_blocks_parse(page: Path) -> None:
    for lang, body in blocks(page):
        if lang == "toml":
            tomllib.loads(body)
        elif lang == "json":
            json.loads(body)
