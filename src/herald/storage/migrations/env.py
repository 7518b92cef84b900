"""Alembic's environment for Herald: migrations run on a connection `herald.storage.migrate` opens.

Herald runs its migrations programmatically (`herald migrate`, or `migrate.upgrade(url)`), so
there is no `alembic.ini`: the caller puts an open synchronous connection (from an async engine's
`run_sync`) into `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from herald.errors import ConfigurationError
from herald.storage.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise ConfigurationError(
        "Herald's migrations run through `herald migrate` (or herald.storage.migrate.upgrade), "
        "not the alembic command line."
    )
_run(connection)
