"""A private PostgreSQL server for the store's tests, and a clean database per test.

``scripts/run test`` starts a server (``scripts/pg start``) and passes its URL in
``ORDERFSM_TEST_DATABASE_URL``. Run without it (plain ``pytest``), the session starts
one itself where PostgreSQL is installed. Where it is not, the PostgreSQL tests are
skipped, except under CI (``CI=true``), where a missing server fails them.
Each test gets its own PostgreSQL schema (``search_path`` set in the URL), dropped after.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[1]
URL_VARIABLE = "ORDERFSM_TEST_DATABASE_URL"


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"no PostgreSQL server: {reason} (scripts/run test installs and starts one)")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running PostgreSQL server (the one scripts/run started, or our own)."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield url
        return
    home = Path(tempfile.mkdtemp(prefix="orderfsm-pg-")) / "server"
    home.parent.chmod(0o755)  # the server may run as the postgres user: it must get in
    started = subprocess.run(
        [str(ROOT / "scripts" / "pg"), "start", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        _missing(started.stderr.strip() or "scripts/pg start failed")
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg"), "stop", str(home)], timeout=120, check=False)
        home.parent.rmdir()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema of their own."""
    import psycopg  # noqa: PLC0415

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{joiner}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def sqlalchemy_url(url: str, *, driver: str = "psycopg") -> str:
    """A ``postgresql://`` URL for SQLAlchemy with the given driver."""
    return url.replace("postgresql://", f"postgresql+{driver}://", 1)
