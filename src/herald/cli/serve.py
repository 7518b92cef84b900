"""`herald serve`: the API, the webhook intake and the worker in one process (or, with
`--processes`, HTTP in several, processes.py).

Without Twilio credentials it runs in sandbox (`herald.sandbox`): the emulator starts in the
same process and the `default` tenant is configured against it. With credentials it talks to
Twilio and refuses a database whose schema is outdated. SIGINT and SIGTERM stop it gracefully:
HTTP stops accepting, the worker settles what it holds, then the emulator stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import click

from herald.api.deps import utc_now
from herald.cli import eventloop, logs
from herald.cli.processes import (
    INHERIT_OPTION,
    ExtraProcesses,
    check_processes,
    inherited_socket,
    listening_sockets,
    watch_parent,
)
from herald.domain.records import TwilioCredentials
from herald.errors import Conflict
from herald.gateway import Gateway
from herald.sandbox import DEMO_RECIPIENT, Sandbox, SandboxInfo, load_secret_key
from herald.settings import ENV_PREFIX, Settings
from herald.storage.crypto import SecretBox
from herald.storage.engine import create_engine
from herald.storage.migrate import check_schema_current
from herald.storage.tenants import TenantRepository

Command = TypeVar("Command", bound=Callable[..., Any])
Echo = Callable[[str], None]


def _option(name: str, help_text: str, **kwargs: Any) -> Callable[[Command], Command]:
    """A flag with its HERALD_* twin, shown in --help."""
    variable = ENV_PREFIX + name.upper().replace("-", "_")
    return click.option(f"--{name}", envvar=variable, show_envvar=True, help=help_text, **kwargs)


@click.command()
@_option("host", "Interface to listen on (default 127.0.0.1).")
@_option("port", "Port of the API and webhooks (default 8800).", type=int)
@_option("emulator-port", "Port of the sandbox's emulator (default 8801).", type=int)
@_option(
    "no-worker",
    "Serve HTTP only; run the worker elsewhere (`/readyz` then ignores heartbeats).",
    is_flag=True,
    default=False,
)
@_option(
    "processes",
    "HTTP processes sharing the port, to use more cores (default 1; above 1 needs PostgreSQL "
    "and Twilio credentials).",
    type=int,
)
@click.option(INHERIT_OPTION, "inherited_fd", type=int, hidden=True)
def serve(
    *,
    host: str | None,
    port: int | None,
    emulator_port: int | None,
    no_worker: bool,
    processes: int | None,
    inherited_fd: int | None,
) -> None:
    """Run Herald: API, webhook intake and worker (and in sandbox, the emulator)."""
    settings = Settings.from_env(
        os.environ, host=host, port=port, emulator_port=emulator_port, processes=processes
    )
    logs.configure(settings.log_level)
    if inherited_fd is not None:
        sock = inherited_socket(inherited_fd)
        eventloop.run(run_extra(settings, sock, parent=os.getppid()))
        return
    eventloop.run(run(settings, worker=not no_worker, echo=click.echo))


async def run(
    settings: Settings,
    *,
    worker: bool = True,
    echo: Echo = click.echo,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set), then shut down in order."""
    stop = stop or asyncio.Event()
    check_processes(settings, settings.processes)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(settings) if settings.sandbox else None
    extra: ExtraProcesses | None = None
    failed = False
    try:
        if sandbox is not None:
            info = await sandbox.start()
            settings = sandbox.settings
        else:
            settings = load_secret_key(settings, create=False)
            await _configure_default_tenant(settings)
        sockets = None
        if settings.processes > 1:
            own, *others = listening_sockets(settings.host, settings.port, settings.processes)
            sockets = [own]
            extra = ExtraProcesses(others, own=own)
        gateway = Gateway(settings, run_worker=worker)
        await gateway.start(sockets=sockets)
        try:
            if extra is not None:
                extra.start()
            echo(_sandbox_banner(gateway, info) if sandbox is not None else _banner(gateway))
            with eventloop.frozen_heap():
                failed = await until_stopped(stop, gateway, extra)
            echo("Stopping Herald ...")
        finally:
            if extra is not None:
                await extra.stop()
            await gateway.stop()
    finally:
        if sandbox is not None:
            await sandbox.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    echo("Herald stopped.")
    if failed:
        raise click.ClickException("An HTTP process exited by itself; Herald stopped them all.")


async def until_stopped(
    stop: asyncio.Event, gateway: Gateway, extra: ExtraProcesses | None = None
) -> bool:
    """Wait for `stop`, the worker's end or an extra process's exit; True for the last."""
    tasks = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(gateway.wait())]
    died = asyncio.ensure_future(extra.exited()) if extra is not None else None
    await asyncio.wait([*tasks, *([died] if died else [])], return_when=asyncio.FIRST_COMPLETED)
    for task in [*tasks, *([died] if died else [])]:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return died is not None and not died.cancelled()


async def run_extra(settings: Settings, sock: socket.socket, *, parent: int) -> None:
    """One of `--processes`' extra HTTP processes: serve on `sock` until told to stop, or
    until the first process is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    gateway = Gateway(load_secret_key(settings, create=False), run_worker=False)
    await gateway.start(sockets=[sock])
    try:
        with eventloop.frozen_heap():
            await watch_parent(parent, stop)
    finally:
        await gateway.stop()


async def _configure_default_tenant(settings: Settings) -> None:
    """Create or update the `default` tenant with the configured Twilio credentials."""
    engine = create_engine(settings.database_url)
    try:
        tenants = TenantRepository(engine, SecretBox(settings.secret_key))
        credentials = TwilioCredentials(
            account_sid=settings.twilio_account_sid, secret=settings.twilio_auth_token
        )
        await check_schema_current(engine)
        tenant = await tenants.get_by_name("default")
        if tenant is None:
            try:
                await tenants.create("default", now=utc_now(), credentials=credentials)
            except Conflict:
                # Several `serve --no-worker` processes starting at once: another created it.
                tenant = await tenants.get_by_name("default")
            else:
                return
        if tenant is not None:
            await tenants.set_credentials(tenant.id, credentials, now=utc_now())
    finally:
        await engine.dispose()


def _banner(gateway: Gateway) -> str:
    url = gateway.url
    worker = "with its worker" if gateway.run_worker else "without a worker (--no-worker)"
    processes = gateway.settings.processes
    shared = f" in {processes} HTTP processes" if processes > 1 else ""
    return "\n".join(
        [
            f"Herald is running on {url}{shared} {worker}, sending through Twilio.",
            "",
            f"  API docs   {url}/docs",
            f"  OpenAPI    {url}/openapi.json",
            "",
            "Create an API key with: herald keys create --tenant default",
        ]
    )


def _sandbox_banner(gateway: Gateway, info: SandboxInfo) -> str:
    url = gateway.url
    phone = DEMO_RECIPIENT.replace("+", "%2B")
    payload = json.dumps({"channel": "sms", "to": DEMO_RECIPIENT, "body": "Hello from Herald"})
    return "\n".join(
        [
            f"Herald is running in sandbox on {url}: no Twilio account needed, every message",
            "goes to the built-in Twilio emulator.",
            "",
            f"  API key    {info.api_key}",
            f"  API docs   {url}/docs",
            f"  Admin      {url}/admin  (admin key {gateway.settings.admin_key})",
            f"  Emulator   {info.emulator_url}  (account {info.account_sid})",
            f"  Sender     {info.phone_number} in Messaging Service {info.messaging_service_sid}",
            "",
            "Send your first message:",
            "",
            f"  curl -X POST {url}/v1/messages \\",
            f'    -H "Authorization: Bearer {info.api_key}" \\',
            '    -H "Content-Type: application/json" \\',
            f"    -d '{payload}'",
            "",
            "Watch it arrive:",
            "",
            f"  curl {info.emulator_url}/_emulator/phones/{phone}/messages",
            "",
            "Stop with Ctrl+C.",
        ]
    )
