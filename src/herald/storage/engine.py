"""The engine factory, and the one place where SQLite and PostgreSQL differ.

Herald talks to both databases through SQLAlchemy's asyncio layer: `aiosqlite` for the embedded
default, `asyncpg` for PostgreSQL. Users write plain `sqlite:///...` or `postgresql://...` URLs;
the driver is chosen here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from herald.errors import ConfigurationError, StorageError

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}

# The execution option that makes a SQLite transaction take the write lock when it begins
# (`herald.storage.dialect.write_transaction` sets it).
WRITE_OPTION = "herald_write"
# The execution option that makes a connection's statements share one transaction, and so one
# snapshot (`herald.storage.dialect.snapshot_read` sets it). Without it or `WRITE_OPTION` a
# connection runs each statement on its own (autocommit).
SNAPSHOT_OPTION = "herald_snapshot"
CONNECT_TIMEOUT = 10.0
"""Seconds to open a PostgreSQL connection (asyncpg's own default is 60): a database host that
does not answer at all costs a request this long, answered `503`, not a minute."""


def async_url(url: str) -> URL:
    """The SQLAlchemy URL, with Herald's async driver for the database named in `url`."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"Cannot read the database URL {url!r}: {exc}") from None
    backend = "postgresql" if parsed.get_backend_name() in {"postgres", "postgresql"} else None
    backend = backend or parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigurationError(
            f"Herald supports SQLite and PostgreSQL, not {backend!r}: use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB."
        )
    return parsed.set(drivername=_DRIVERS[backend])


DEFAULT_POOL_SIZE = 16


def create_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An `AsyncEngine` for `url`, configured for Herald's access patterns.

    SQLite runs in WAL mode with a busy timeout, so that the API and the worker in one process
    can read while one writes; its parent directory is created when missing.

    `pool_size` bounds the PostgreSQL connections the engine keeps open (SQLite has its own
    pool). A connection from `engine.connect()` runs each statement on its own (autocommit): a
    read of one statement costs one round trip, with no `BEGIN` before it and no `ROLLBACK`.
    Transactions are asked for by `herald.storage.dialect.write_transaction` and
    `snapshot_read`. PostgreSQL connections are not pinged before use: a connection the server
    dropped (a restart) fails its statement, and SQLAlchemy then replaces every pooled
    connection opened before that failure.
    """
    sa_url = async_url(url)
    # A database error's text lists the statement's parameters (numbers, bodies carrying
    # codes), and errors are logged with their tracebacks: keep the parameters out of them.
    kwargs.setdefault("hide_parameters", True)
    if sa_url.get_backend_name() == "sqlite":
        # aiosqlite logs every statement with its parameters at DEBUG: message bodies, one-time
        # codes and phone numbers would reach the logs of anyone debugging Herald.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(sa_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("isolation_level", "AUTOCOMMIT")
    kwargs["pool_size"] = pool_size
    # No overflow: a connection opened past the pool would be closed again when returned, and
    # opening one costs far more than waiting for a pooled one.
    kwargs.setdefault("max_overflow", 0)
    kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT, **kwargs.get("connect_args", {})}
    return create_async_engine(sa_url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Herald emits BEGIN itself (`_sqlite_begin`), instead of letting the driver begin lazily
    # before the first write: a transaction that reads and then writes must hold the write lock
    # from its start, or SQLite refuses the upgrade with "database is locked" at once.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    options = connection.get_execution_options()
    if options.get(WRITE_OPTION, False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif options.get(SNAPSHOT_OPTION, False):
        connection.exec_driver_sql("BEGIN")


async def ping(engine: AsyncEngine) -> None:
    """Round-trip one query; raise `StorageError` saying where the database was expected."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"Cannot reach the database at {where}: {exc}") from exc
