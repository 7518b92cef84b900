"""Fixtures: a real emulator on a loopback port, an aiohttp session, and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from herald.providers import TwilioClient, TwilioCredentials
from tests.providers.provider_helpers import RunningEmulator, running_emulator, seed_numbers


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    """A fresh emulator on a free loopback port with a manual clock, stopped after the test."""
    with running_emulator() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session (the caller's, as in production), closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def credentials(emulator: RunningEmulator) -> TwilioCredentials:
    """The emulator's main account's SID and auth token."""
    return TwilioCredentials.auth_token(emulator.config.account_sid, emulator.config.auth_token)


@pytest.fixture
def client(
    session: aiohttp.ClientSession, credentials: TwilioCredentials, emulator: RunningEmulator
) -> TwilioClient:
    """A TwilioClient talking to the emulator."""
    return TwilioClient(session, credentials, base_url=emulator.base_url)


@pytest.fixture
async def sender(session: aiohttp.ClientSession, emulator: RunningEmulator) -> str:
    """A US number the main account owns."""
    seeded = await seed_numbers(session, emulator)
    number: str = seeded["numbers"][0]["phone_number"]
    return number
