"""The `herald` fixture: Herald started as `herald serve` starts it in sandbox, on loopback ports.

The sandbox migrates the database, starts the emulator in this event loop and configures the
`default` tenant there; then the gateway serves the API and the Twilio webhook intake on a
socket bound to port 0, with its worker. Stopping goes the other way: the gateway (HTTP, then
the worker) before the emulator its worker talks to. Each test gets its own database (SQLite
and PostgreSQL, from `database_url`), `HERALD_HOME` and emulator, so tests share nothing.

Timings are shortened so that a message is delivered in tens of milliseconds: the emulator
takes 5 ms per status step and does not pace senders, Herald's worker polls every 20 ms and
paces the sandbox number at 100 messages a second instead of a US long code's one.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from herald.gateway import Gateway
from herald.sandbox import Sandbox
from herald.settings import Settings
from tests.e2e.helpers import RunningHerald
from tests.gateway.gateway_helpers import free_port

DELIVERY_STEP_SECONDS = 0.005
WORKER_POLL_SECONDS = 0.02
SANDBOX_NUMBER_RATE = 100


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture
async def herald(database_url: str, tmp_path: Path) -> AsyncIterator[RunningHerald]:
    """Herald in sandbox with its worker and emulator, over HTTP on SQLite and PostgreSQL."""
    sock = _listening_socket()
    settings = Settings(
        home=tmp_path / "herald",
        database_url=database_url,
        port=sock.getsockname()[1],
        # The emulator is started by the sandbox on a port, not a socket: the port is free now
        # and taken again at once, the way `herald serve --emulator-port` takes it.
        emulator_port=free_port(),
        worker_poll_seconds=WORKER_POLL_SECONDS,
        log_level="warning",
    )
    sandbox = Sandbox(settings)
    sandbox.emulator_config = dataclasses.replace(
        sandbox.emulator_config,
        delivery_step_seconds=DELIVERY_STEP_SECONDS,
        throughput_enabled=False,
    )
    try:
        info = await sandbox.start()
        gateway = Gateway(
            dataclasses.replace(
                sandbox.settings, sender_rates=f"{info.phone_number}={SANDBOX_NUMBER_RATE}"
            )
        )
        await gateway.start(sockets=[sock])
        try:
            async with (
                httpx.AsyncClient(
                    base_url=gateway.url,
                    headers={"Authorization": f"Bearer {info.api_key}"},
                    trust_env=False,
                ) as api,
                httpx.AsyncClient(base_url=info.emulator_url, trust_env=False) as emulator,
            ):
                yield RunningHerald(
                    api_url=gateway.url,
                    api_key=info.api_key,
                    emulator_url=info.emulator_url,
                    account_sid=info.account_sid,
                    auth_token=sandbox.emulator_config.auth_token,
                    sandbox_number=info.phone_number,
                    messaging_service_sid=info.messaging_service_sid,
                    settings=gateway.settings,
                    api=api,
                    emulator=emulator,
                )
        finally:
            await gateway.stop()
    finally:
        await sandbox.stop()
        sock.close()
