"""Orders in a SQL database: the order store (docs/persistence.md).

``OrderStore`` / ``AsyncOrderStore`` keep orders of any order class with optimistic
locking, their history rows and an outbox, over a thin backend per driver: SQLite
(standard library), PostgreSQL through psycopg 3, or SQLAlchemy 2 Core. The backends
import their driver only when constructed, so ``import orderfsm.store`` needs none.
"""

from orderfsm.store.backend import AsyncBackend, Backend
from orderfsm.store.sqlite import AsyncSqliteBackend, SqliteBackend
from orderfsm.store.store import AsyncOrderStore, OrderStore, OutboxMessage, restore_shipped

__all__ = [
    "AsyncBackend",
    "AsyncOrderStore",
    "AsyncSqliteBackend",
    "Backend",
    "OrderStore",
    "OutboxMessage",
    "SqliteBackend",
    "restore_shipped",
]
