"""`herald migrate`: bring the database to the schema this Herald needs."""

from __future__ import annotations

import asyncio

import click

from herald.cli.store import load_settings
from herald.settings import mask_secret
from herald.storage.migrate import upgrade


@click.command()
@click.option(
    "--database-url",
    envvar="HERALD_DATABASE_URL",
    show_envvar=True,
    help="sqlite:///PATH or postgresql://... (default: SQLite in HERALD_HOME).",
)
def migrate(*, database_url: str | None) -> None:
    """Apply every pending schema migration (safe to run again)."""
    settings = load_settings(database_url=database_url)
    revision = asyncio.run(upgrade(settings.database_url))
    click.echo(f"The database at {mask_secret(settings.database_url)} is at revision {revision}.")
