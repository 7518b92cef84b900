"""How the management commands reach Herald's database: settings from the environment, an
engine on a database whose schema is current, and the clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from herald.sandbox import load_secret_key
from herald.settings import Settings
from herald.storage.engine import create_engine
from herald.storage.migrate import check_schema_current


def load_settings(**overrides: object) -> Settings:
    """The effective settings: `HERALD_*` variables, `overrides`, and the sandbox's secret key
    file in `HERALD_HOME` when `HERALD_SECRET_KEY` is unset."""
    return load_secret_key(Settings.from_env(os.environ, **overrides), create=False)


@asynccontextmanager
async def current_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on the configured database; `StorageError` unless its schema is current."""
    engine = create_engine(settings.database_url)
    try:
        await check_schema_current(engine)
        yield engine
    finally:
        await engine.dispose()
