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

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.helpers import RunningHerald, start_herald

DELIVERY_STEP_SECONDS = 0.005
WORKER_POLL_SECONDS = 0.02
SANDBOX_NUMBER_RATE = 100


@pytest.fixture
async def herald(database_url: str, tmp_path: Path) -> AsyncIterator[RunningHerald]:
    """Herald in sandbox with its worker and emulator, over HTTP on SQLite and PostgreSQL."""
    async with start_herald(
        database_url,
        tmp_path / "herald",
        worker_poll_seconds=WORKER_POLL_SECONDS,
        delivery_step_seconds=DELIVERY_STEP_SECONDS,
        sandbox_number_rate=SANDBOX_NUMBER_RATE,
    ) as running:
        yield running
