"""The floors of `gateway_load.py`: what one committed row costs on the same database.

- `commit_floor`: C tasks each inserting one row per transaction into `bench_floor` (a table
  shaped like a message row), through asyncpg (a pool as large as Herald's, 16 connections)
  or aiosqlite (one connection: SQLite has one writer, and a second connection only adds
  waits for the lock). Nothing else: no HTTP, no ORM.
- `callback_floor_app`: a Starlette app that reads a status callback's form and commits one
  `UPDATE` of a `bench_floor` row; HTTP plus one committed write, the least any intake costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

import aiosqlite
import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL_SIZE: Final = 16  # Herald's own PostgreSQL pool (`herald.storage.engine`)
CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS bench_floor (
    id VARCHAR(40) PRIMARY KEY,
    tenant_id VARCHAR(40) NOT NULL,
    to_address VARCHAR(64) NOT NULL,
    body TEXT NOT NULL,
    status VARCHAR(20) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
)
"""
_INSERT_PG: Final = (
    "INSERT INTO bench_floor (id, tenant_id, to_address, body, status, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, 'accepted', $5, $6)"
)
_INSERT_SQLITE: Final = _INSERT_PG.replace("$1, $2, $3, $4", "?, ?, ?, ?").replace("$5, $6", "?, ?")
_UPDATE_PG: Final = "UPDATE bench_floor SET status = $1, updated_at = $2 WHERE id = $3"
_UPDATE_SQLITE: Final = "UPDATE bench_floor SET status = ?, updated_at = ? WHERE id = ?"

Write = Callable[[str, tuple[Any, ...]], Awaitable[None]]


def is_postgresql(url: str) -> bool:
    """Whether a Herald database URL names PostgreSQL (else SQLite)."""
    return url.startswith(("postgresql", "postgres"))


def _sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


@contextlib.asynccontextmanager
async def writer(url: str) -> AsyncIterator[tuple[Write, bool]]:
    """A function committing one statement per transaction on `url`; True if PostgreSQL."""
    if is_postgresql(url):
        pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE)
        try:
            await pool.execute(CREATE_TABLE)

            async def write_pg(sql: str, args: tuple[Any, ...]) -> None:
                async with pool.acquire() as connection, connection.transaction():
                    await connection.execute(sql, *args)

            yield write_pg, True
        finally:
            await pool.close()
        return
    connection = await aiosqlite.connect(_sqlite_path(url), isolation_level=None)
    lock = asyncio.Lock()
    try:
        # The pragmas Herald sets (`herald.storage.engine`): same durability as the gateway.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000"):
            await connection.execute(f"PRAGMA {pragma}")
        await connection.execute(CREATE_TABLE.replace("TIMESTAMP WITH TIME ZONE", "TEXT"))

        async def write_sqlite(sql: str, args: tuple[Any, ...]) -> None:
            async with lock:
                await connection.execute("BEGIN IMMEDIATE")
                try:
                    await connection.execute(sql, _sqlite_args(args))
                except BaseException:
                    await connection.execute("ROLLBACK")
                    raise
                await connection.execute("COMMIT")

        yield write_sqlite, False
    finally:
        await connection.close()


def _sqlite_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(arg.isoformat() if isinstance(arg, datetime) else arg for arg in args)


async def commit_floor(url: str, ids: list[str], concurrency: int, body: str) -> float:
    """Insert one `bench_floor` row per transaction for each id; rows per second."""
    async with writer(url) as (write, postgresql):
        sql = _INSERT_PG if postgresql else _INSERT_SQLITE
        tenant = "tn_" + secrets.token_hex(8)
        pending = iter(ids)

        async def task() -> None:
            for row_id in pending:
                now = datetime.now(UTC)
                await write(sql, (row_id, tenant, "+14155552671", body, now, now))

        start = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        return len(ids) / (time.perf_counter() - start)


def callback_floor_app(url: str) -> Starlette:
    """HTTP plus one committed `UPDATE` per status callback, on the database at `url`."""
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with writer(url) as (write, postgresql):
            state["write"], state["sql"] = write, _UPDATE_PG if postgresql else _UPDATE_SQLITE
            yield

    async def status(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        await state["write"](
            state["sql"], (form["MessageStatus"], datetime.now(UTC), form["MessageSid"])
        )
        return Response(status_code=200)

    async def health(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(
        routes=[Route("/status", status, methods=["POST"]), Route("/healthz", health)],
        lifespan=lifespan,
    )
