"""Two API processes on one PostgreSQL receiving the same callback at once apply it once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.records import Tenant
from herald.settings import Settings
from herald.storage.crypto import SecretBox
from herald.storage.engine import create_engine
from herald.storage.inbound import InboundRepository
from herald.storage.migrate import upgrade
from herald.webhooks import WebhookDeps, create_router
from tests.webhooks.test_status import PATH, SID, _sent_message, _state
from tests.webhooks.webhook_helpers import START, inbound_form, status_form, twilio_post

pytestmark = pytest.mark.postgres

ROUNDS = 20


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The first process's engine, on a freshly migrated PostgreSQL database."""
    engine = create_engine(postgres_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def apps(
    engine: AsyncEngine, postgres_url: str, box: SecretBox, settings: Settings, tenant: Tenant
) -> AsyncIterator[list[FastAPI]]:
    """Two webhook apps, each with its own connection pool, like two `serve` processes."""
    del tenant
    other = create_engine(postgres_url)
    apps = []
    for each in (engine, other):
        deps = WebhookDeps.create(engine=each, box=box, settings=settings, now=lambda: START)
        app = FastAPI()
        app.include_router(create_router(dataclasses.replace(deps, unknown_message_wait=0.0)))
        apps.append(app)
    try:
        yield apps
    finally:
        await other.dispose()


async def test_a_status_callback_racing_into_two_processes_is_applied_once(
    apps: list[FastAPI], engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same callback posted to both apps at the same moment leaves one history entry."""
    message = await _sent_message(engine, tenant)
    for round_ in range(ROUNDS):
        headers = {"I-Twilio-Idempotency-Token": f"token-{round_}"}
        form = status_form(SID, "sent")
        answers = await asyncio.gather(
            *(twilio_post(app, PATH, form, headers=headers) for app in apps)
        )
        assert [answer.status for answer in answers] == [200, 200]
    assert len((await _state(engine, message))[1]) == ROUNDS


async def test_an_inbound_message_racing_into_two_processes_is_stored_once(
    apps: list[FastAPI], engine: AsyncEngine, tenant: Tenant
) -> None:
    """The same inbound message posted to both apps at once is stored once."""
    for round_ in range(ROUNDS):
        form = inbound_form("Hi there", sid=f"SM{round_:032d}")
        answers = await asyncio.gather(
            *(twilio_post(app, "/webhooks/twilio/inbound", form) for app in apps)
        )
        assert [answer.status for answer in answers] == [200, 200]
    stored = await InboundRepository(engine).list(tenant.id, limit=100)
    assert len(stored) == ROUNDS
