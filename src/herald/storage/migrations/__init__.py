"""Herald's Alembic migrations, run by `herald.storage.migrate`."""
