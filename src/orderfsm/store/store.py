"""Orders kept in a SQL database with optimistic locking: :class:`OrderStore` and
:class:`AsyncOrderStore`.

``store.update(key, change, new=TaobaoOrder)`` reads the order's row, restores the
order, calls ``change(order)`` and, if the order's version moved, saves in one
transaction: the compare-and-set of the ``orders`` row (``UPDATE ... WHERE version = ?``,
or for a new order ``INSERT ... ON CONFLICT DO NOTHING``), the new ``order_history``
rows and one ``order_outbox`` row. Another writer having saved first rolls it back; the
store then waits a jittered, growing delay and starts again from a fresh read, so the
loser re-applies its change on top of the winner's order. A change that leaves the
version where it was (a refused, duplicate or stale callback) writes nothing, and for an
order not stored yet that means no row is created.

Both classes run the same retry plan (:func:`orderfsm.orders.concurrency.retry_plan`)
and the same statements (:mod:`orderfsm.store.sql`); they differ only in calling the
backend with or without ``await``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from orderfsm.errors import OrderNotStored, StoreError
from orderfsm.orders.concurrency import (
    DEFAULT_BACKOFF,
    Backoff,
    Read,
    RetryPlan,
    retry_plan,
    run_plan,
    run_plan_async,
)
from orderfsm.orders.icbu import IcbuOrder
from orderfsm.orders.ka import KaTrade
from orderfsm.orders.listeners import Notice, deliver_notices, held_notices
from orderfsm.orders.rows import history_rows
from orderfsm.orders.taobao import TaobaoOrder
from orderfsm.store import sql
from orderfsm.store.backend import AsyncBackend, Backend, Result
from orderfsm.store.rows import StoredOrder, row_dict, row_values
from orderfsm.store.sql import Dialect, Statement

_T = TypeVar("_T")

Restore = Callable[[str, Mapping[str, Any]], StoredOrder]
"""Rebuilds an order from its row's ``machine`` name and stored dict."""

_SHIPPED: dict[str, Callable[[Mapping[str, Any]], StoredOrder]] = {
    "taobao_order": TaobaoOrder.from_dict,
    "icbu_trade": IcbuOrder.from_dict,
    "ka_pool_order": KaTrade.from_dict,
}


def restore_shipped(machine: str, body: Mapping[str, Any]) -> StoredOrder:
    """The default ``restore``: the order class of a shipped machine, ``from_dict``.

    An order on an edited table needs a ``restore`` that passes its ``machine=``.
    """
    from_dict = _SHIPPED.get(machine)
    if from_dict is None:
        raise StoreError(
            f"a stored order runs on machine {machine!r}, which is not shipped: give the "
            "store a restore= that rebuilds it with its machine"
        )
    return from_dict(body)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One accepted change, as the relay hands it to ``publish``.

    ``(order_id, version)`` is unique: a consumer that may see a message twice (the relay
    publishes at least once) drops repeats by it. ``payload`` holds the order's
    ``status`` after the change and the change's ``order_history`` rows (``changes``).
    """

    id: int
    order_id: str
    machine: str
    version: int
    payload: Mapping[str, Any]


@dataclass(slots=True)
class _Read:
    """What the current attempt read: whether the row existed and how many history rows it has;
    and for a locked attempt the write transaction it read in, open until its save."""

    existed: bool = False
    stored_rows: int = 0
    held: Any = None
    tx: Any = None


class _Abandoned(Exception):
    """Ends a locked attempt's transaction that saved nothing: it rolls back."""


class _Conflict(Exception):
    """Another writer saved first: the transaction rolls back and the update retries."""


Addable = StoredOrder | Callable[[], StoredOrder]
"""What :meth:`OrderStore.add` takes: an order, or a function building it (whose listener
notices are then held until the order is saved)."""


def _built(order: Addable) -> tuple[StoredOrder, list[Notice]]:
    """The order to add and the notices its building held back (none for a built order:
    its changes were reported when they were made)."""
    if not callable(order):
        return order, []
    with held_notices() as notices:
        built = order()
    return built, notices


def _body(value: object) -> Mapping[str, Any]:
    """A stored JSON column: PostgreSQL's drivers decode JSONB, SQLite gives the text."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise StoreError(f"a stored JSON column is not JSON: {exc}") from None
    if isinstance(value, Mapping):
        return value
    raise StoreError(f"a stored JSON column holds a {type(value).__name__}, not an object")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _restorer(
    key: str, seen: _Read, restore: Restore, new: Callable[[], StoredOrder] | None
) -> Callable[[list[tuple[Any, ...]]], StoredOrder]:
    """Turns the rows an attempt read into its order, noting what was stored."""

    def from_rows(rows: list[tuple[Any, ...]]) -> StoredOrder:
        if not rows:
            if new is None:
                raise OrderNotStored(key)
            seen.existed, seen.stored_rows = False, 0
            return new()
        machine, _version, raw = rows[0]
        body = _body(raw)
        order = restore(machine, body)
        seen.existed, seen.stored_rows = True, len(history_rows(order, key))
        return order

    return from_rows


def _save(d: Dialect, key: str, expected: int, seen: _Read, order: StoredOrder) -> list[Statement]:
    """The statements of one save, in one transaction: the order's compare-and-set, its
    new history rows, and its outbox row."""
    data = order.to_dict()
    machine = order.machine.name
    body = _json(data)
    new_rows = history_rows(order, key)[seen.stored_rows :]
    row = (
        sql.update_order(d, key, expected, order.version, body)
        if seen.existed
        else sql.insert_order(d, key, machine, order.version, body)
    )
    payload = {
        "order_id": key,
        "machine": machine,
        "version": order.version,
        "status": str(order.status.code),
        "changes": [row_dict(r) for r in new_rows],
    }
    statements = [row]
    if new_rows:
        statements.append(sql.insert_history([row_values(r) for r in new_rows]))
    statements.append(sql.insert_outbox(d, key, machine, order.version, _json(payload)))
    return statements


def _rewrite(
    d: Dialect, key: str, rows: list[tuple[Any, ...]], restore: Restore
) -> Statement | None:
    """The compare-and-set that rewrites a stored dict of an older format in the current
    one (``None`` when it is current already)."""
    if not rows:
        raise OrderNotStored(key)
    machine, _version, raw = rows[0]
    body = _body(raw)
    order = restore(machine, body)
    data = order.to_dict()
    if body.get("format") == data["format"]:
        return None
    return sql.update_order(d, key, order.version, order.version, _json(data))


def _checked(statement: Statement, result: Result) -> Result:
    if statement.must_change and result.rowcount != 1:
        raise _Conflict
    return result


def _messages(result: Result) -> list[OutboxMessage]:
    return [
        OutboxMessage(int(i), str(k), str(m), int(v), _body(p)) for i, k, m, v, p in result.rows
    ]


def _schema_problem(table: str, exc: StoreError) -> StoreError:
    columns = ", ".join(sql.TABLES[table])
    return StoreError(
        f"table {table} is missing or lacks a column the store needs ({columns}): {exc}"
    )


_B = TypeVar("_B", Backend, AsyncBackend)


class _Configured(Generic[_B]):
    """What both store classes are built from: a backend, how to restore an order from
    its row, and how hard to retry a contended save."""

    def __init__(
        self,
        backend: _B,
        *,
        restore: Restore = restore_shipped,
        attempts: int = 50,
        backoff: Backoff | None = DEFAULT_BACKOFF,
        lock_after: int | None = 8,
    ) -> None:
        if attempts < 1:
            raise StoreError(f"attempts must be at least 1, not {attempts}")
        self.backend: _B = backend
        self._restore = restore
        self._attempts = attempts
        self._backoff = backoff
        self._lock_after = lock_after

    def _plan(
        self,
        key: str,
        change: Callable[[Any], _T],
        seen: _Read,
        new: Callable[[], StoredOrder] | None,
    ) -> RetryPlan[_T]:
        restore = _restorer(key, seen, self._restore, new)
        return retry_plan(
            key,
            change,
            restore,
            attempts=self._attempts,
            backoff=self._backoff,
            lock_after=self._lock_after,
        )


class OrderStore(_Configured[Backend]):
    """Orders of any order class in a SQL database, saved with compare-and-set.

    ``backend`` is :class:`~orderfsm.store.sqlite.SqliteBackend`,
    :class:`~orderfsm.store.psycopg.PsycopgBackend` or
    :class:`~orderfsm.store.sqlalchemy.SqlAlchemyBackend`. ``restore`` rebuilds an order
    from its row (the shipped machines by default), ``attempts`` bounds the reads of one
    :meth:`update` under contention, ``backoff`` spaces them, and from attempt
    ``lock_after`` + 1 on (``None``: never) an update reads with the row locked and saves
    in the same transaction, so it cannot lose again.
    """

    def _run(self, statements: Sequence[Statement], write: bool = True) -> list[Result]:
        with self.backend.transaction(write) as tx:
            return [_checked(s, tx.execute(s)) for s in statements]

    def create_schema(self) -> None:
        """Create the tables where missing, then check every table has the columns the
        store uses (:class:`StoreError` naming the table otherwise)."""
        self._run(sql.schema(self.backend.dialect))
        for table, probe in sql.probes():
            try:
                self._run([probe], write=False)
            except StoreError as exc:
                raise _schema_problem(table, exc) from exc

    def load(self, key: str) -> StoredOrder | None:
        """The order stored under ``key``, or ``None``."""
        rows = self._run([sql.load(key)], write=False)[0].rows
        return None if not rows else _restorer(key, _Read(), self._restore, None)(rows)

    def get(self, key: str) -> StoredOrder:
        """The order stored under ``key``; :class:`OrderNotStored` if there is none."""
        order = self.load(key)
        if order is None:
            raise OrderNotStored(key)
        return order

    def update(
        self,
        key: str,
        change: Callable[[Any], _T],
        *,
        new: Callable[[], StoredOrder] | None = None,
    ) -> _T:
        """Apply ``change`` to the stored order and save it; returns what ``change`` did.

        ``new`` builds the order when none is stored (e.g. ``new=TaobaoOrder``); it is
        saved only if ``change`` changed it. To hold an order from the first snapshot
        seen, :meth:`add` ``TaobaoOrder.from_snapshot(snap)`` instead. Without ``new`` an absent order raises
        :class:`OrderNotStored`. Errors ``change`` raises (a rejected trigger) leave
        everything as it was.
        """
        seen = _Read()
        plan = self._plan(key, change, seen, new)
        try:
            return run_plan(
                plan,
                lambda step: self._read(key, step, seen),
                lambda expected, order: self._save(key, expected, seen, order),
            )
        finally:
            if seen.held is not None:  # a locked attempt that saved nothing
                seen.held.__exit__(_Abandoned, _Abandoned(), None)

    def _read(self, key: str, step: Read, seen: _Read) -> list[tuple[Any, ...]]:
        if not step.lock:
            return self._run([sql.load(key)], write=False)[0].rows
        seen.held = self.backend.transaction(True)
        seen.tx = seen.held.__enter__()
        return seen.tx.execute(sql.load_locked(self.backend.dialect, key)).rows  # type: ignore[no-any-return]

    def add(self, key: str, order: Addable) -> bool:
        """Store an order built elsewhere (with all its history) unless ``key`` is taken;
        returns whether it was stored.

        ``order`` may be a function building it (``lambda: TaobaoOrder.from_snapshot(snap)``):
        then the listeners hear of its changes only once it is saved, and never if the key
        was taken, as with :meth:`update`. An order built before the call has already
        reported its changes.
        """
        built, notices = _built(order)
        saved = self._save(key, built.version, _Read(), built)
        if saved:
            deliver_notices(notices)
        return saved

    def _save(self, key: str, expected: int, seen: _Read, order: StoredOrder) -> bool:
        """Run one save's statements: in a transaction of their own, or in the one a
        locked attempt read in (then ending it); whether it saved."""
        statements = _save(self.backend.dialect, key, expected, seen, order)
        held, tx, seen.held, seen.tx = seen.held, seen.tx, None, None
        try:
            if held is None:
                self._run(statements)
            else:
                for statement in statements:
                    _checked(statement, tx.execute(statement))
        except _Conflict as exc:
            if held is not None:
                held.__exit__(_Conflict, exc, None)
            return False
        except BaseException as exc:
            if held is not None:
                held.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if held is not None:
            held.__exit__(None, None, None)
        return True

    def migrate(self, key: str) -> bool:
        """Rewrite the order's stored dict in the format ``to_dict`` writes now, if it is
        stored in an older one; returns whether it did. The write is a compare-and-set on
        the version read: a concurrent save (which writes the current format) wins."""
        rows = self._run([sql.load(key)], write=False)[0].rows
        rewrite = _rewrite(self.backend.dialect, key, rows, self._restore)
        if rewrite is None:
            return False
        try:
            self._run([rewrite])
        except _Conflict:
            return False
        return True

    def relay(self, publish: Callable[[OutboxMessage], object], *, limit: int = 100) -> int:
        """Publish up to ``limit`` unpublished outbox messages, oldest first, and mark them
        published in the same transaction; returns how many. If ``publish`` raises,
        nothing is marked and the messages come again (at least once)."""
        d = self.backend.dialect
        with self.backend.transaction(True) as tx:
            messages = _messages(tx.execute(sql.pending(d, limit)))
            for message in messages:
                publish(message)
            if messages:
                tx.execute(sql.mark_published(d, [m.id for m in messages]))
        return len(messages)


class AsyncOrderStore(_Configured[AsyncBackend]):
    """:class:`OrderStore` for asyncio: the same methods, awaited, on an async backend
    (:class:`~orderfsm.store.psycopg.AsyncPsycopgBackend`,
    :class:`~orderfsm.store.sqlalchemy.AsyncSqlAlchemyBackend`). Waiting on the database
    and between retries never blocks the event loop."""

    async def _run(self, statements: Sequence[Statement], write: bool = True) -> list[Result]:
        async with self.backend.transaction(write) as tx:
            return [_checked(s, await tx.execute(s)) for s in statements]

    async def create_schema(self) -> None:
        """See :meth:`OrderStore.create_schema`."""
        await self._run(sql.schema(self.backend.dialect))
        for table, probe in sql.probes():
            try:
                await self._run([probe], write=False)
            except StoreError as exc:
                raise _schema_problem(table, exc) from exc

    async def load(self, key: str) -> StoredOrder | None:
        """See :meth:`OrderStore.load`."""
        rows = (await self._run([sql.load(key)], write=False))[0].rows
        return None if not rows else _restorer(key, _Read(), self._restore, None)(rows)

    async def get(self, key: str) -> StoredOrder:
        """See :meth:`OrderStore.get`."""
        order = await self.load(key)
        if order is None:
            raise OrderNotStored(key)
        return order

    async def update(
        self,
        key: str,
        change: Callable[[Any], _T],
        *,
        new: Callable[[], StoredOrder] | None = None,
    ) -> _T:
        """See :meth:`OrderStore.update`."""
        seen = _Read()
        plan = self._plan(key, change, seen, new)
        try:
            return await run_plan_async(
                plan,
                lambda step: self._read(key, step, seen),
                lambda expected, order: self._save(key, expected, seen, order),
            )
        finally:
            if seen.held is not None:  # a locked attempt that saved nothing
                await seen.held.__aexit__(_Abandoned, _Abandoned(), None)

    async def _read(self, key: str, step: Read, seen: _Read) -> list[tuple[Any, ...]]:
        if not step.lock:
            return (await self._run([sql.load(key)], write=False))[0].rows
        seen.held = self.backend.transaction(True)
        seen.tx = await seen.held.__aenter__()
        result = await seen.tx.execute(sql.load_locked(self.backend.dialect, key))
        return result.rows  # type: ignore[no-any-return]

    async def add(self, key: str, order: Addable) -> bool:
        """See :meth:`OrderStore.add`."""
        built, notices = _built(order)
        saved = await self._save(key, built.version, _Read(), built)
        if saved:
            deliver_notices(notices)
        return saved

    async def _save(self, key: str, expected: int, seen: _Read, order: StoredOrder) -> bool:
        """See :meth:`OrderStore._save`."""
        statements = _save(self.backend.dialect, key, expected, seen, order)
        held, tx, seen.held, seen.tx = seen.held, seen.tx, None, None
        try:
            if held is None:
                await self._run(statements)
            else:
                for statement in statements:
                    _checked(statement, await tx.execute(statement))
        except _Conflict as exc:
            if held is not None:
                await held.__aexit__(_Conflict, exc, None)
            return False
        except BaseException as exc:
            if held is not None:
                await held.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        if held is not None:
            await held.__aexit__(None, None, None)
        return True

    async def migrate(self, key: str) -> bool:
        """See :meth:`OrderStore.migrate`."""
        rows = (await self._run([sql.load(key)], write=False))[0].rows
        rewrite = _rewrite(self.backend.dialect, key, rows, self._restore)
        if rewrite is None:
            return False
        try:
            await self._run([rewrite])
        except _Conflict:
            return False
        return True

    async def relay(
        self, publish: Callable[[OutboxMessage], Awaitable[object]], *, limit: int = 100
    ) -> int:
        """See :meth:`OrderStore.relay`; ``publish`` is awaited."""
        d = self.backend.dialect
        async with self.backend.transaction(True) as tx:
            messages = _messages(await tx.execute(sql.pending(d, limit)))
            for message in messages:
                await publish(message)
            if messages:
                await tx.execute(sql.mark_published(d, [m.id for m in messages]))
        return len(messages)
