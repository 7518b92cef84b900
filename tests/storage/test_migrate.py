"""Migrations build the schema in `schema.metadata`, and Herald refuses any other revision."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from herald.errors import StorageError
from herald.storage.engine import create_engine
from herald.storage.migrate import check_schema_current, current_revision, head_revision, upgrade
from herald.storage.schema import metadata


async def test_upgrade_reaches_the_head_revision(database_url: str) -> None:
    """Migrating a fresh database leaves it at the revision this Herald needs."""
    assert await upgrade(database_url) == head_revision()


async def test_migrated_schema_passes_the_check(database_url: str) -> None:
    """check_schema_current accepts a freshly migrated database."""
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        await check_schema_current(engine)
    finally:
        await engine.dispose()


async def test_upgrade_twice_changes_nothing(database_url: str) -> None:
    """Running the migrations again on a current database is harmless."""
    await upgrade(database_url)
    assert await upgrade(database_url) == head_revision()


async def test_empty_database_is_refused_with_the_command_to_run(database_url: str) -> None:
    """An empty database fails the check with a message naming `herald migrate`."""
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        with pytest.raises(StorageError, match=rf"needs {head_revision()}: run `herald migrate`"):
            await check_schema_current(engine)
    finally:
        await engine.dispose()


async def test_migrations_produce_exactly_the_metadata(database_url: str) -> None:
    """Alembic's autogenerate finds no difference between the migrated database and schema.py."""

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()
