"""A scale-out `Cluster` whose API receives the emulator's status callbacks, and its counts.

`tests/scaleout/cluster.py` points callbacks nowhere, so its messages stop at `sent`. Here the
API's port is chosen before anything starts and every process gets it as `HERALD_PUBLIC_URL`,
so each message goes on to its final status (`delivered`) the way it would in production, and
a test can ask when the whole burst is final and whether any lease is left behind.

A status callback that reaches the API before the worker has recorded the message's SID (a
worker killed between Twilio's answer and its commit, or just a slow commit) is refused with
503, and Twilio does not retry it: such a message reaches its final status through the worker's
reconciliation, `HERALD_RECONCILE_AFTER_SECONDS` after its last change (600 s by default). A
test that bounds the time to all-final sets it (`reconcile_after_seconds`).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from http import HTTPStatus
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.domain.lifecycle import Status
from herald.storage.engine import create_engine
from tests.gateway.gateway_helpers import free_port
from tests.scaleout.cluster import Cluster, body, recipient, wait_until_up

API_STARTUP_SECONDS = 120.0
"""On a busy machine importing Herald alone can take longer than the cluster's 30 s."""
MAX_RETRY_AFTER = 5.0
"""Seconds a retried POST waits at most, whatever Retry-After says."""
FINAL_STATUSES = tuple(sorted(status.value for status in Status if status.is_final))


class CallbackCluster(Cluster):
    """A `Cluster` with one API process that the emulator's status callbacks reach."""

    def __init__(self, database_url: str, home: Path, *, redis_url: str = "") -> None:
        super().__init__(database_url, home, redis_url=redis_url)
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.public_url = self.api_url
        self.workers: list[subprocess.Popen[bytes]] = []
        self._worker_options: dict[str, Any] = {}
        self._engine: AsyncEngine | None = None
        self.reconcile_after_seconds: float | None = None
        """`HERALD_RECONCILE_AFTER_SECONDS` for every process started after it is set."""

    def _env(self, **extra: str) -> dict[str, str]:
        # The emulator would hold each long code to Twilio's 1 message/s, and "all final"
        # would measure that queue instead of Herald.
        extra.setdefault("HERALD_EMULATOR_THROUGHPUT_ENABLED", "false")
        if self.reconcile_after_seconds is not None:
            extra.setdefault("HERALD_RECONCILE_AFTER_SECONDS", f"{self.reconcile_after_seconds:g}")
        return super()._env(**extra)

    async def start_callback_api(self) -> str:
        """`herald serve --no-worker` on the port every process knows as the public URL."""
        self._spawn("api", ["serve", "--no-worker", "--port", str(self.api_port)], self._env())
        await wait_until_up(f"{self.api_url}/healthz", within=API_STARTUP_SECONDS)
        return self.api_url

    async def post_burst(self, count: int, *, concurrency: int) -> int:
        """POST `count` messages to the API, each to its own recipient, each with its own
        Idempotency-Key; a 503 or 429 (a busy database, a full pool) is retried after its
        Retry-After with the same key, as the problem document's hint says. How many answers
        asked for a retry; `AssertionError` on any other answer than 202."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        retried = 0

        async def post_one(http: aiohttp.ClientSession, index: int) -> None:
            nonlocal retried
            payload = {
                "channel": "sms",
                "to": recipient(index),
                "from": self.senders[index % len(self.senders)],
                "body": body(index),
            }
            key = {"Idempotency-Key": f"kill-burst-{index}"}
            while True:
                async with http.post(
                    f"{self.api_url}/v1/messages", json=payload, headers=key
                ) as response:
                    if response.status == HTTPStatus.ACCEPTED:
                        return
                    text = await response.text()
                    retryable = {HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS}
                    assert response.status in retryable, f"{response.status}: {text}"
                    pause = float(response.headers.get("Retry-After", "1"))
                retried += 1
                await asyncio.sleep(min(pause, MAX_RETRY_AFTER))

        async def post_every(http: aiohttp.ClientSession, start: int) -> None:
            for index in range(start, count, concurrency):
                await post_one(http, index)

        async with aiohttp.ClientSession(headers=headers) as http:
            await asyncio.gather(*(post_every(http, start) for start in range(concurrency)))
        return retried

    def start_workers(self, count: int, *, lease_seconds: float, batch_size: int) -> None:
        """`count` workers, each with that lease and batch size (kept for restarts)."""
        self._worker_options = {"lease_seconds": lease_seconds, "batch_size": batch_size}
        self.workers = [self.start_worker(**self._worker_options) for _ in range(count)]

    def restart(self, index: int) -> float:
        """SIGKILL worker `index` and start a fresh one in its place; the monotonic instant
        of the kill."""
        self.kill(self.workers[index])
        killed = time.monotonic()
        self.workers[index] = self.start_worker(**self._worker_options)
        return killed

    # -- what the database says ----------------------------------------------------------------

    @property
    def engine(self) -> AsyncEngine:
        """One engine for every count the test takes (opened on first use)."""
        if self._engine is None:
            self._engine = create_engine(self.database_url)
        return self._engine

    async def dispose(self) -> None:
        """Close the counting engine."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _scalar(self, sql: str, **params: object) -> int:
        async with self.engine.connect() as connection:
            return int((await connection.execute(text(sql), params)).scalar_one())

    async def handed_over(self) -> int:
        """Messages Herald has a provider SID for."""
        return await self._scalar("SELECT count(*) FROM messages WHERE provider_sid IS NOT NULL")

    async def final(self) -> int:
        """Messages in a final status."""
        placeholders = ", ".join(f":s{i}" for i in range(len(FINAL_STATUSES)))
        return await self._scalar(
            f"SELECT count(*) FROM messages WHERE status IN ({placeholders})",  # noqa: S608 - placeholders only
            **{f"s{i}": status for i, status in enumerate(FINAL_STATUSES)},
        )

    async def leased(self) -> int:
        """Messages some worker still holds a lease on."""
        return await self._scalar(
            "SELECT count(*) FROM messages "
            "WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL"
        )

    async def by_status(self) -> Counter[str]:
        """Messages counted by status."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status, count(*) FROM messages GROUP BY status")
            )
            return Counter({str(status): int(n) for status, n in rows})
