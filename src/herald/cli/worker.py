"""`herald worker`: claim due messages and send them, with no HTTP; run any number of them.

It is the worker half of `herald serve` (the API half is `herald serve --no-worker`), built by
the same composition root (`herald.gateway.Gateway` with `serve_http=False`). Every worker
shares the database (the outbox, claimed under leases with `SKIP LOCKED` on PostgreSQL) and,
when `HERALD_REDIS_URL` is set, the per-sender rate limits. Tenants and their Twilio
credentials are read from the database (`herald tenants`, or `herald serve` for `default`);
`HERALD_TWILIO_BASE_URL` says where Twilio (or an emulator) answers. SIGINT and SIGTERM stop it
gracefully: it claims nothing more and settles what it holds.
"""

from __future__ import annotations

import asyncio
import os
import signal

import click

from herald.cli import eventloop, logs
from herald.cli.serve import Echo, _option, until_stopped
from herald.errors import ConfigurationError
from herald.gateway import Gateway
from herald.sandbox import load_secret_key
from herald.settings import Settings


@click.command()
@_option("worker-batch-size", "Messages claimed at once (default 20).", type=int)
@_option(
    "worker-lease-seconds",
    "How long a claim is held before another worker may take it over (default 30).",
    type=float,
)
@_option(
    "worker-poll-seconds", "Pause between claims when nothing is due (default 0.2).", type=float
)
def worker(
    *,
    worker_batch_size: int | None,
    worker_lease_seconds: float | None,
    worker_poll_seconds: float | None,
) -> None:
    """Run a worker: claim due messages and send them (no API; see `serve --no-worker`)."""
    settings = Settings.from_env(
        os.environ,
        worker_batch_size=worker_batch_size,
        worker_lease_seconds=worker_lease_seconds,
        worker_poll_seconds=worker_poll_seconds,
    )
    logs.configure(settings.log_level)
    eventloop.run(run(settings, echo=click.echo))


async def run(
    settings: Settings, *, echo: Echo = click.echo, stop: asyncio.Event | None = None
) -> None:
    """Work until SIGINT/SIGTERM (or `stop` is set), then settle what is claimed and return."""
    settings = load_secret_key(settings, create=False)
    if not settings.secret_key:
        raise ConfigurationError(
            "herald worker needs HERALD_SECRET_KEY (the one the API processes use) to read the "
            "tenants' Twilio credentials."
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        gateway = Gateway(settings, serve_http=False)
        await gateway.start()
        try:
            limits = "global (Redis)" if settings.redis_url else "per process"
            echo(f"Herald worker sending through {settings.twilio_base_url}; rate limits {limits}.")
            with eventloop.frozen_heap():
                await until_stopped(stop, gateway)
            echo("Stopping the worker ...")
        finally:
            await gateway.stop()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    echo("Worker stopped.")
