"""Bring a database to the schema this Herald needs, and refuse to run on any other.

`herald migrate` calls `upgrade(url)`; `herald serve` and `/readyz` call
`check_schema_current(engine)`, which raises `StorageError` naming both revisions and the
command to run. The migrations are Alembic revisions shipped inside the package
(`herald/storage/migrations/versions/`); no `alembic.ini` is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.errors import StorageError
from herald.storage.dialect import write_transaction
from herald.storage.engine import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for Herald's migrations, bound to `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this Herald's code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "Herald ships at least one migration"
    return head


async def upgrade(target: str | AsyncEngine, revision: str = "head") -> str | None:
    """Apply every migration up to `revision` to the database at `target` (a URL or engine).

    Returns the revision the database is at afterwards. Safe to run again: a database already
    at the head is left alone.
    """
    engine = create_engine(target) if isinstance(target, str) else target
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
        return await current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(f"Migrating the database failed: {exc}") from exc
    finally:
        if isinstance(target, str):
            await engine.dispose()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for a database Herald never migrated."""
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except (SQLAlchemyError, OSError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StorageError(f"Cannot read the schema revision at {where}: {exc}") from exc


async def check_schema_current(engine: AsyncEngine) -> None:
    """Raise `StorageError` unless the database is at the revision this Herald needs."""
    current = await current_revision(engine)
    head = head_revision()
    if current != head:
        shown = current or "empty (never migrated)"
        raise StorageError(
            f"the database schema is at {shown}, this Herald needs {head}: run `herald migrate`"
        )
