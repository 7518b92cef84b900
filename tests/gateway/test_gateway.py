"""The composition root in-process: start on given sockets, refuse an old schema, the sandbox."""

from __future__ import annotations

import dataclasses
import json
import socket
import stat
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from herald.domain.records import TenantSettings
from herald.gateway import Gateway
from herald.sandbox import Sandbox
from herald.settings import Settings
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from tests.gateway.gateway_helpers import free_port


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


async def test_gateway_refuses_an_unmigrated_database(database_url: str) -> None:
    """Opening on a database without Herald's schema fails, saying to run `herald migrate`."""
    gateway = Gateway(Settings(database_url=database_url, secret_key=generate_secret_key()))
    with pytest.raises(Exception, match="run `herald migrate`"):
        await gateway.open()


async def test_gateway_serves_on_a_given_socket(database_url: str) -> None:
    """Started on a socket the caller bound, the gateway answers HTTP there until stopped."""
    await upgrade(database_url)
    sock = _listening_socket()
    port = sock.getsockname()[1]
    settings = Settings(database_url=database_url, secret_key=generate_secret_key(), port=port)
    gateway = Gateway(settings, run_worker=False)
    await gateway.start(sockets=[sock])
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                assert response.status == 200
            async with http.post(f"http://127.0.0.1:{port}/webhooks/twilio/status") as response:
                assert response.status != 404
    finally:
        await gateway.stop()
        sock.close()


async def test_gateway_with_worker_checks_its_heartbeat(database_url: str) -> None:
    """With its worker, `/readyz` checks the worker heartbeat as well."""
    await upgrade(database_url)
    port = free_port()
    settings = Settings(database_url=database_url, secret_key=generate_secret_key(), port=port)
    async with (
        Gateway(settings),
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/readyz") as response,
    ):
        body = await response.json()
    assert [check["name"] for check in body["checks"]] == ["database", "schema", "worker"]


def _sandbox_settings(home: Path) -> Settings:
    return Settings(home=home, port=free_port(), emulator_port=free_port())


async def test_sandbox_keeps_its_key_and_account_across_restarts(tmp_path: Path) -> None:
    """A restarted sandbox prints the same API key and emulator account as before."""
    first = Sandbox(_sandbox_settings(tmp_path))
    try:
        before = await first.start()
    finally:
        await first.stop()
    second = Sandbox(_sandbox_settings(tmp_path))
    try:
        after = await second.start()
    finally:
        await second.stop()
    assert after.api_key == before.api_key
    assert after.account_sid == before.account_sid
    assert after.tenant.id == before.tenant.id


async def test_sandbox_files_are_private(tmp_path: Path) -> None:
    """The generated secret key and the sandbox state are readable by the owner only."""
    sandbox = Sandbox(_sandbox_settings(tmp_path))
    try:
        await sandbox.start()
    finally:
        await sandbox.stop()
    for name in ("secret_key", "sandbox.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert json.loads((tmp_path / "sandbox.json").read_text())["api_key"].startswith("hk_")


async def test_sandbox_configures_the_default_tenant(tmp_path: Path) -> None:
    """The sandbox's tenant is `default`, sending from the bought number, in a Service."""
    sandbox = Sandbox(_sandbox_settings(tmp_path))
    try:
        info = await sandbox.start()
    finally:
        await sandbox.stop()
    assert info.tenant.name == "default"
    assert info.tenant.settings.default_sender == info.phone_number
    assert info.tenant.settings.messaging_service_sid == info.messaging_service_sid
    assert info.tenant.has_twilio_secret


async def test_sandbox_points_herald_at_the_emulator(tmp_path: Path) -> None:
    """The gateway's settings in sandbox send to the emulator and carry the generated key."""
    settings = _sandbox_settings(tmp_path)
    sandbox = Sandbox(settings)
    assert sandbox.settings.twilio_base_url == f"http://127.0.0.1:{settings.emulator_port}"
    assert sandbox.settings.secret_key == (tmp_path / "secret_key").read_text().strip()
    assert dataclasses.replace(sandbox.settings, secret_key="").secret_key == ""


async def test_a_loopback_client_cannot_name_its_own_address(database_url: str) -> None:
    """Without trusted proxies, the HTTP server passes `X-Forwarded-For` through untouched
    and Herald ignores it: 21 code requests from 127.0.0.1, each claiming another address,
    meet the per-address limit of 20 (`HERALD_TRUSTED_PROXIES` decides whom to believe)."""
    await upgrade(database_url)
    secret_key = generate_secret_key()
    engine = create_engine(database_url)
    try:
        now = datetime.now(UTC)
        tenant = await TenantRepository(engine, SecretBox(secret_key)).create(
            "shop", now=now, settings=TenantSettings(default_sender="+31687654321")
        )
        api_key = (await ApiKeyRepository(engine).create(tenant.id, now=now)).key
    finally:
        await engine.dispose()
    sock = _listening_socket()
    port = sock.getsockname()[1]
    gateway = Gateway(
        Settings(database_url=database_url, secret_key=secret_key, port=port), run_worker=False
    )
    await gateway.start(sockets=[sock])
    statuses = []
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {api_key}"}) as http:
            for n in range(21):
                async with http.post(
                    f"http://127.0.0.1:{port}/v1/verifications",
                    json={"to": f"+316123456{n:02d}", "channel": "sms"},
                    headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
                ) as response:
                    statuses.append(response.status)
    finally:
        await gateway.stop()
        sock.close()
    assert statuses == [201] * 20 + [429]
