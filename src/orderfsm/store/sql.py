"""The store's SQL: the schema, and every statement the store runs, for each dialect.

Statements are written once, with ``?`` placeholders; a backend turns them into its
driver's paramstyle. The two dialects differ only in a few spellings (:class:`Dialect`):
the JSON column type and how a JSON parameter is cast, the clock, the outbox's id
column, and the row lock a relay takes on PostgreSQL.

The schema (documented in docs/persistence.md):

- ``orders``: one row per order: ``key`` (primary key), ``machine`` (the order's machine
  name), ``version`` (the order's version, the compare-and-set token), ``body`` (the
  stored dict ``to_dict`` writes: JSONB on PostgreSQL, JSON text on SQLite),
  ``updated_at``;
- ``order_history``: one row per change (:mod:`orderfsm.store.rows`), primary key
  ``(order_id, seq)``, plus ``recorded_at``, when the store wrote it;
- ``order_outbox``: one row per accepted change (a saved new version), ``id`` in commit
  order, ``payload`` (JSON: the order's status and the change's history rows),
  ``published_at`` set by the relay, unique ``(order_id, version)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ORDERS = "orders"
HISTORY = "order_history"
OUTBOX = "order_outbox"

ORDER_COLUMNS = ("key", "machine", "version", "body", "updated_at")
HISTORY_COLUMNS = (
    "order_id",
    "seq",
    "machine",
    "sub_order_id",
    "status",
    "refund_status",
    "via",
    "recorded_at",
)
OUTBOX_COLUMNS = ("id", "order_id", "machine", "version", "payload", "recorded_at", "published_at")
TABLES = {ORDERS: ORDER_COLUMNS, HISTORY: HISTORY_COLUMNS, OUTBOX: OUTBOX_COLUMNS}
"""Every table the store needs, with the columns it reads or writes."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """The spellings in which the store's SQL differs between databases."""

    name: Literal["postgresql", "sqlite"]
    json_type: str
    json_param: str
    clock_type: str
    now: str
    id_column: str
    lock_pending: str
    lock_row: str


POSTGRESQL = Dialect(
    name="postgresql",
    json_type="JSONB",
    json_param="CAST(? AS jsonb)",
    clock_type="TIMESTAMPTZ",
    now="now()",
    id_column="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    # Several relays may run: each claims rows the others have not locked.
    lock_pending=" FOR UPDATE SKIP LOCKED",
    lock_row=" FOR UPDATE",
)
SQLITE = Dialect(
    name="sqlite",
    json_type="TEXT",
    json_param="?",
    clock_type="TEXT",
    now="CURRENT_TIMESTAMP",
    id_column="INTEGER PRIMARY KEY AUTOINCREMENT",
    # SQLite serialises writers (BEGIN IMMEDIATE): one relay at a time.
    lock_pending="",
    # a write transaction (BEGIN IMMEDIATE) holds the database's write lock already
    lock_row="",
)


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement with ``?`` placeholders and its parameters.

    ``many`` runs it once per parameter tuple in ``params``; ``must_change`` means the
    save is a conflict (and rolls back) unless it changed exactly one row; ``fetch``
    means its rows are wanted.
    """

    sql: str
    params: tuple[object, ...] | list[tuple[object, ...]] = ()
    many: bool = False
    must_change: bool = False
    fetch: bool = False


def schema(d: Dialect) -> list[Statement]:
    """The statements that create the store's tables where they do not exist."""
    return [
        Statement(
            f"CREATE TABLE IF NOT EXISTS {ORDERS} ("
            " key TEXT PRIMARY KEY,"
            " machine TEXT NOT NULL,"
            " version BIGINT NOT NULL,"
            f" body {d.json_type} NOT NULL,"
            f" updated_at {d.clock_type} NOT NULL DEFAULT {_default(d)})"
        ),
        Statement(
            f"CREATE TABLE IF NOT EXISTS {HISTORY} ("
            " order_id TEXT NOT NULL,"
            " seq BIGINT NOT NULL,"
            " machine TEXT NOT NULL,"
            " sub_order_id TEXT NOT NULL,"
            " status TEXT NOT NULL,"
            " refund_status TEXT NOT NULL,"
            " via TEXT NOT NULL,"
            f" recorded_at {d.clock_type} NOT NULL DEFAULT {_default(d)},"
            " PRIMARY KEY (order_id, seq))"
        ),
        Statement(
            f"CREATE TABLE IF NOT EXISTS {OUTBOX} ("
            f" id {d.id_column},"
            " order_id TEXT NOT NULL,"
            " machine TEXT NOT NULL,"
            " version BIGINT NOT NULL,"
            f" payload {d.json_type} NOT NULL,"
            f" recorded_at {d.clock_type} NOT NULL DEFAULT {_default(d)},"
            f" published_at {d.clock_type},"
            " UNIQUE (order_id, version))"
        ),
        Statement(
            f"CREATE INDEX IF NOT EXISTS {OUTBOX}_pending ON {OUTBOX} (id)"
            " WHERE published_at IS NULL"
        ),
    ]


def _default(d: Dialect) -> str:
    # SQLite wants an expression default in parentheses; PostgreSQL takes either.
    return f"({d.now})"


def probes() -> list[tuple[str, Statement]]:
    """One query per table that reads every column the store uses and no row: it fails
    exactly when the table or one of those columns is missing."""
    return [
        (table, Statement(f"SELECT {', '.join(columns)} FROM {table} WHERE 1 = 0", fetch=True))
        for table, columns in TABLES.items()
    ]


def load(key: str) -> Statement:
    return Statement(
        f"SELECT machine, version, body FROM {ORDERS} WHERE key = ?", (key,), fetch=True
    )


def load_locked(d: Dialect, key: str) -> Statement:
    """The order's row, locked against other writers until the transaction ends."""
    return Statement(
        f"SELECT machine, version, body FROM {ORDERS} WHERE key = ?{d.lock_row}",
        (key,),
        fetch=True,
    )


def insert_order(d: Dialect, key: str, machine: str, version: int, body: str) -> Statement:
    """Create the order's row unless one exists (then it changes nothing: a conflict)."""
    return Statement(
        f"INSERT INTO {ORDERS} (key, machine, version, body) VALUES (?, ?, ?, {d.json_param})"
        " ON CONFLICT (key) DO NOTHING",
        (key, machine, version, body),
        must_change=True,
    )


def update_order(d: Dialect, key: str, expected: int, version: int, body: str) -> Statement:
    """The compare-and-set: replace the row only if it still holds ``expected``."""
    return Statement(
        f"UPDATE {ORDERS} SET version = ?, body = {d.json_param}, updated_at = {d.now}"
        " WHERE key = ? AND version = ?",
        (version, body, key, expected),
        must_change=True,
    )


def insert_history(rows: list[tuple[object, ...]]) -> Statement:
    return Statement(
        f"INSERT INTO {HISTORY}"
        " (order_id, seq, machine, sub_order_id, status, refund_status, via)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
        many=True,
    )


def insert_outbox(d: Dialect, key: str, machine: str, version: int, payload: str) -> Statement:
    return Statement(
        f"INSERT INTO {OUTBOX} (order_id, machine, version, payload)"
        f" VALUES (?, ?, ?, {d.json_param})",
        (key, machine, version, payload),
    )


def pending(d: Dialect, limit: int) -> Statement:
    """The oldest unpublished outbox rows, locked for this relay where the database can."""
    return Statement(
        f"SELECT id, order_id, machine, version, payload FROM {OUTBOX}"
        f" WHERE published_at IS NULL ORDER BY id LIMIT ?{d.lock_pending}",
        (limit,),
        fetch=True,
    )


def mark_published(d: Dialect, ids: list[int]) -> Statement:
    return Statement(
        f"UPDATE {OUTBOX} SET published_at = {d.now} WHERE id = ?",
        [(i,) for i in ids],
        many=True,
    )
