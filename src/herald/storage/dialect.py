"""Where SQLite and PostgreSQL differ, in one place: transactions, claims and upserts.

Writes: on SQLite a transaction that reads and then writes must take the database's write lock
when it begins (`BEGIN IMMEDIATE`); otherwise two such transactions both read, and the second
to write fails with "database is locked" instead of waiting. `write_transaction` asks for
that; on PostgreSQL it is an ordinary transaction, and rows are locked as they are touched.

Claims: on PostgreSQL many workers claim at once; each locks the due rows it picks with
`FOR UPDATE SKIP LOCKED` in a CTE and leases them in the same `UPDATE ... RETURNING`, so no
two workers ever get the same row and none waits for another. SQLite has one writer at a time,
so the same `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING` inside `BEGIN IMMEDIATE`
is already exclusive.

Snapshots: reading a row and then its children (a message and its history) must not straddle
another transaction's commit; `snapshot_read` makes the statements of a read share one
snapshot on both backends.

Event order: on PostgreSQL a tenant's events are appended under a per-tenant advisory lock
(`order_tenant_events`), so that their ids become visible in the order pollers read them.

Upserts: both backends spell `INSERT ... ON CONFLICT` the same way, through different
SQLAlchemy constructs.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Final

from sqlalchemy import ColumnElement, Table, Update, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from herald.storage.engine import SNAPSHOT_OPTION, WRITE_OPTION


def is_postgresql(connection: AsyncConnection) -> bool:
    """Whether `connection` talks to PostgreSQL (else SQLite)."""
    return connection.dialect.name == "postgresql"


# SQLite: the write transactions of one process take turns on an asyncio lock per engine, so
# that a burst of concurrent writers queues in order instead of polling SQLite's write lock
# through the busy handler, which sleeps ever longer and fails with "database is locked" once
# `busy_timeout` has passed (32 concurrent sends did so in bench/gateway_load.py). The busy
# timeout still covers writers in other processes. A task already inside a write transaction
# does not wait for the lock again (`_writing`), so nesting cannot deadlock.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_writing: ContextVar[bool] = ContextVar("herald_sqlite_writing", default=False)


def in_write_transaction() -> bool:
    """Whether this task is inside a SQLite `write_transaction` (it holds the write lock)."""
    return _writing.get()


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write: committed on success, rolled back on an exception."""
    if engine.dialect.name != "sqlite" or _writing.get():
        async with _transaction(engine) as connection:
            yield connection
        return
    lock = _sqlite_writers.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock:
        token = _writing.set(True)
        try:
            async with _transaction(engine) as connection:
                yield connection
        finally:
            _writing.reset(token)


@asynccontextmanager
async def _transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="READ COMMITTED")
        else:
            await connection.execution_options(**{WRITE_OPTION: True})
        async with connection.begin():
            yield connection


@asynccontextmanager
async def snapshot_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction whose statements all read the same snapshot of the database.

    A SQLite transaction (`BEGIN`, in WAL mode) reads the snapshot of its first read until it
    ends. PostgreSQL's default READ COMMITTED takes a new snapshot for every statement, so that
    a row and its children read one after the other could straddle another transaction's
    commit; REPEATABLE READ keeps one snapshot, and a transaction that only reads never fails
    to serialise.
    """
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            await connection.execution_options(**{SNAPSHOT_OPTION: True})
        async with connection.begin():
            yield connection


EVENTS_LOCK_PREFIX: Final = "herald.events:"
"""With the tenant's id, what names its advisory lock (`order_tenant_events`)."""


async def order_tenant_events(connection: AsyncConnection, tenant_id: str) -> None:
    """Make the tenant's events commit in the order of their ids, before appending one.

    Pollers follow `GET /v1/events?after=<id>`. On PostgreSQL two transactions can take ids 10
    and 11 and commit 11 first; a poll in between returns 11, and its cursor then skips 10 for
    good. A transaction-scoped advisory lock per tenant, taken before the id is, makes the next
    transaction wait until this one has committed or rolled back, so ids become visible in
    order. Appending an event is the last write of every transaction that does it, so the lock
    is held for the commit only. SQLite commits one write transaction at a time already.
    """
    if is_postgresql(connection):
        key = func.hashtextextended(EVENTS_LOCK_PREFIX + tenant_id, 0)
        await connection.execute(select(func.pg_advisory_xact_lock(key)))


def claim_statement(
    connection: AsyncConnection,
    table: Table,
    *,
    due: ColumnElement[bool],
    order_by: Sequence[ColumnElement[Any]],
    limit: int,
    values: Mapping[str, Any],
) -> Update:
    """An `UPDATE ... RETURNING` that leases up to `limit` due rows of `table` (by `id`)."""
    picked = select(table.c.id).where(due).order_by(*order_by).limit(limit)
    if is_postgresql(connection):
        due_rows = picked.with_for_update(skip_locked=True).cte("due_rows")
        return update(table).where(table.c.id == due_rows.c.id).values(**values).returning(*table.c)
    return update(table).where(table.c.id.in_(picked)).values(**values).returning(*table.c)


def insert_ignoring_duplicates(
    connection: AsyncConnection, table: Table, values: Mapping[str, Any]
) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING`: a duplicate of a unique key inserts nothing."""
    if is_postgresql(connection):
        return postgresql.insert(table).values(**values).on_conflict_do_nothing()
    return sqlite.insert(table).values(**values).on_conflict_do_nothing()


def upsert(
    connection: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update_with: Mapping[str, Any] | None = None,
) -> Insert:
    """Insert `values`, or on a conflict over `key` update the row.

    `update_with` maps columns to the new value (it may refer to the proposed row through
    `excluded(table)`); by default every non-key column takes the proposed value.
    """
    statement: postgresql.Insert | sqlite.Insert = (
        postgresql.insert(table) if is_postgresql(connection) else sqlite.insert(table)
    ).values(**values)
    changes = (
        dict(update_with)
        if update_with is not None
        else {name: statement.excluded[name] for name in values if name not in key}
    )
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)


def excluded(connection: AsyncConnection, table: Table) -> Any:
    """The proposed row of an upsert into `table` (`EXCLUDED`), for `upsert(update_with=...)`."""
    statement = postgresql.insert(table) if is_postgresql(connection) else sqlite.insert(table)
    return statement.excluded
