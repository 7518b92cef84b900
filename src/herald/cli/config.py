"""`herald config`: the effective settings, secrets masked."""

from __future__ import annotations

import click

from herald.cli.store import load_settings


@click.command()
def config() -> None:
    """Print every HERALD_* setting as Herald would use it (secrets masked)."""
    settings = load_settings()
    rows = settings.describe()
    width = max(len(variable) for variable, _, _ in rows)
    for variable, value, description in rows:
        click.echo(f"{variable:<{width}}  {value or '(unset)'}")
        click.echo(f"{'':<{width}}  {description}")
    mode = "sandbox (no Twilio credentials: the emulator)" if settings.sandbox else "Twilio"
    click.echo(f"\nMode: {mode}")
