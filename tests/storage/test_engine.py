"""The engine factory connects to each supported backend and fails clearly otherwise."""

from __future__ import annotations

import pytest
import redis.asyncio
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

from herald.errors import ConfigurationError, StorageError
from herald.storage.engine import async_url, create_engine, ping


async def test_round_trip_through_the_engine_factory(database_url: str) -> None:
    """A row written through a factory-made engine is read back on every backend."""
    metadata = MetaData()
    probe = Table("probe", metadata, Column("id", Integer, primary_key=True), Column("v", String))
    engine = create_engine(database_url)
    try:
        await ping(engine)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(probe).values(id=1, v="héllo ✓"))
        async with engine.connect() as connection:
            assert (await connection.execute(select(probe.c.v))).scalar_one() == "héllo ✓"
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    """SQLite connections use WAL so readers are not blocked by the writer."""
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            mode = await connection.exec_driver_sql("PRAGMA journal_mode")
            assert mode.scalar_one() == "wal"
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_plain_urls_get_herald_async_driver(url: str, driver: str) -> None:
    """Users write plain URLs; the factory picks the async driver."""
    assert async_url(url).drivername == driver


def test_unsupported_database_is_a_configuration_error() -> None:
    """A MySQL URL is refused with a message naming the supported backends."""
    with pytest.raises(ConfigurationError, match="SQLite and PostgreSQL"):
        async_url("mysql://u@h/db")


async def test_unreachable_database_raises_storage_error() -> None:
    """A server that does not answer gives a StorageError naming where it was expected."""
    engine = create_engine("postgresql://postgres@127.0.0.1:1/none", pool_pre_ping=False)
    try:
        with pytest.raises(StorageError, match=r"127\.0\.0\.1:1"):
            await ping(engine)
    finally:
        await engine.dispose()


async def test_redis_round_trip(redis_url: str) -> None:
    """The Redis server the later layers rely on answers a set and a get."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert await client.set("herald:probe", "1", nx=True, ex=10)
        assert await client.get("herald:probe") == b"1"
    finally:
        await client.aclose()


@pytest.mark.postgres
async def test_postgresql_engine_keeps_the_pool_size_asked_for(postgres_url: str) -> None:
    """`pool_size` bounds the connections kept, and reads run without a transaction."""
    engine = create_engine(postgres_url, pool_size=3)
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
            raw = await connection.get_raw_connection()
            assert not raw.driver_connection.is_in_transaction()  # type: ignore[union-attr]
    finally:
        await engine.dispose()
