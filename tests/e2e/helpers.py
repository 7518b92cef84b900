"""What the end-to-end tests share: the running Herald's handle and ways to wait on it.

Every wait polls with a deadline (`eventually`); nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx

from herald.api.deps import utc_now
from herald.domain.records import TwilioCredentials as StoredCredentials
from herald.gateway import Gateway
from herald.sandbox import Sandbox
from herald.settings import Settings
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox
from herald.storage.engine import create_engine
from herald.storage.tenants import TenantRepository
from tests.gateway.gateway_helpers import free_port

T = TypeVar("T")

WAIT_SECONDS: Final = 15.0
"""How long a wait may take before the test fails: generous, since polling ends it early."""
POLL_SECONDS: Final = 0.02
PROBLEM: Final = "application/problem+json"
FINAL_STATUSES: Final = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})


@dataclasses.dataclass(frozen=True)
class RunningHerald:
    """Herald serving in sandbox on loopback ports, and clients for both of its sides.

    `api` sends the sandbox key on every request; `emulator` talks to the emulator's control
    API (no credentials) and, with `emulator_auth`, to its Twilio API.
    """

    api_url: str
    api_key: str
    emulator_url: str
    account_sid: str
    auth_token: str
    sandbox_number: str
    messaging_service_sid: str
    settings: Settings
    api: httpx.AsyncClient
    emulator: httpx.AsyncClient

    @property
    def emulator_auth(self) -> httpx.BasicAuth:
        """The emulator account's credentials, as Twilio's API takes them."""
        return httpx.BasicAuth(self.account_sid, self.auth_token)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, what: str, within: float = WAIT_SECONDS
) -> T:
    """The first value `probe` returns that is not None, polling for `within` seconds at most."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within:.0f} s in vain for {what}")
        await asyncio.sleep(POLL_SECONDS)


async def send(herald: RunningHerald, **fields: Any) -> dict[str, Any]:
    """POST /v1/messages with `fields`, expecting 202; the accepted message."""
    response = await herald.api.post("/v1/messages", json=fields)
    assert response.status_code == 202, response.text
    message: dict[str, Any] = response.json()
    return message


async def get_message(herald: RunningHerald, message_id: str) -> dict[str, Any]:
    """GET /v1/messages/{id}: the message with its history."""
    response = await herald.api.get(f"/v1/messages/{message_id}")
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()
    return message


async def settled(herald: RunningHerald, message_id: str) -> dict[str, Any]:
    """The message once its status is final (delivered, failed, ...), with its history."""

    async def probe() -> dict[str, Any] | None:
        message = await get_message(herald, message_id)
        return message if message["status"] in FINAL_STATUSES else None

    return await eventually(probe, what=f"{message_id} to reach a final status")


async def conversation(herald: RunningHerald, phone: str) -> list[dict[str, Any]]:
    """The emulator's simulated phone's messages, oldest first (empty if it has none)."""
    response = await herald.emulator.get(f"/_emulator/phones/{phone}/messages")
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def received_by(herald: RunningHerald, phone: str, *, count: int) -> list[dict[str, Any]]:
    """The messages the phone received, once there are at least `count` and all are final."""

    async def probe() -> list[dict[str, Any]] | None:
        received = [m for m in await conversation(herald, phone) if m["direction"] == "received"]
        done = len(received) >= count and all(m["status"] in FINAL_STATUSES for m in received)
        return received if done else None

    return await eventually(probe, what=f"{phone} to receive {count} message(s)")


async def text_herald(
    herald: RunningHerald, from_: str, body: str, *, to: str | None = None
) -> dict[str, Any]:
    """A simulated phone writes to the sandbox number; the emulator's account of what followed."""
    response = await herald.emulator.post(
        "/_emulator/inbound",
        json={"from": from_, "to": to or herald.sandbox_number, "body": body},
    )
    assert response.status_code == 201, response.text
    outcome: dict[str, Any] = response.json()
    return outcome


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`response` is a problem document with this status and code; the document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    document: dict[str, Any] = response.json()
    assert document["code"] == code, document
    assert document["status"] == status
    return document


async def create_tenant(herald: RunningHerald, name: str) -> str:
    """A second tenant on the same emulator account, without senders; a live API key of it."""
    settings = herald.settings
    engine = create_engine(settings.database_url)
    try:
        tenant = await TenantRepository(engine, SecretBox(settings.secret_key)).create(
            name,
            now=utc_now(),
            credentials=StoredCredentials(account_sid=herald.account_sid, secret=herald.auth_token),
        )
        created = await ApiKeyRepository(engine).create(tenant.id, label="e2e", now=utc_now())
    finally:
        await engine.dispose()
    return created.key


@contextlib.asynccontextmanager
async def start_herald(
    database_url: str,
    home: Path,
    *,
    worker_poll_seconds: float,
    delivery_step_seconds: float,
    sandbox_number_rate: float,
    **settings: Any,
) -> AsyncIterator[RunningHerald]:
    """Start Herald in sandbox as `herald serve` does (`settings` override its defaults) with an
    emulator that does not pace senders; stop the gateway, then the emulator."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    configured = Settings(
        home=home,
        database_url=database_url,
        port=sock.getsockname()[1],
        # The emulator is started by the sandbox on a port, not a socket: the port is free now
        # and taken again at once, the way `herald serve --emulator-port` takes it.
        emulator_port=free_port(),
        worker_poll_seconds=worker_poll_seconds,
        log_level="warning",
        **settings,
    )
    sandbox = Sandbox(configured)
    sandbox.emulator_config = dataclasses.replace(
        sandbox.emulator_config,
        delivery_step_seconds=delivery_step_seconds,
        throughput_enabled=False,
    )
    try:
        info = await sandbox.start()
        gateway = Gateway(
            dataclasses.replace(
                sandbox.settings, sender_rates=f"{info.phone_number}={sandbox_number_rate:g}"
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
