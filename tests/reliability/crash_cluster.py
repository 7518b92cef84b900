"""A scale-out `Cluster` whose API receives the emulator's status callbacks, and its counts.

`tests/scaleout/cluster.py` points callbacks nowhere, so its messages stop at `sent`. Here the
API's port is chosen before anything starts and every process gets it as `HERALD_PUBLIC_URL`,
so each message goes on to its final status (`delivered`) the way it would in production, and
a test can ask when the whole burst is final and whether any lease is left behind.

The API is `herald serve --no-worker` beside `herald worker` processes (PostgreSQL), or one
`herald serve` with its worker (SQLite); either way it can be SIGKILLed and started again on
the same port (`restart_api`), and the clients of `post_burst(..., reconnect=True)` repeat a
request the dead process never answered.

A status callback that reaches the API before the worker has recorded the message's SID (a
worker killed between Twilio's answer and its commit, or just a slow commit) is refused with
503, and Twilio does not retry it: such a message reaches its final status through the worker's
reconciliation, `HERALD_RECONCILE_AFTER_SECONDS` after its last change (600 s by default). A
test that bounds the time to all-final sets it (`reconcile_after_seconds`).
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from tests.scaleout.cluster import Cluster, body, recipient, wait_for, wait_until_up

API_STARTUP_SECONDS = 120.0
WORKER_BANNER = "Herald worker sending through"
"""What `herald worker` prints once it is started (`herald.cli.worker`)."""
"""On a busy machine importing Herald alone can take longer than the cluster's 30 s."""
MAX_RETRY_AFTER = 5.0
"""Seconds a retried POST waits at most, whatever Retry-After says."""
RECONNECT_PAUSE = 0.2
"""Seconds a client waits before repeating a POST that met a connection error."""
REPLAYED_HEADER = "Idempotent-Replayed"
FINAL_STATUSES = tuple(sorted(status.value for status in Status if status.is_final))


@dataclasses.dataclass(slots=True)
class Burst:
    """How the clients of `post_burst` got every message accepted."""

    retried: int = 0
    """POSTs answered 503 or 429, then repeated with the same Idempotency-Key."""
    disconnected: int = 0
    """POSTs met by a connection error (refused, reset, closed unanswered), then repeated."""
    replayed: int = 0
    """Messages accepted as `200` + `Idempotent-Replayed: true`: a repeated request whose first
    commit had landed, its answer lost with the process that made it."""

    @property
    def repeated(self) -> int:
        """POSTs repeated, for whatever reason."""
        return self.retried + self.disconnected


class CallbackCluster(Cluster):
    """A `Cluster` with one API process that the emulator's status callbacks reach."""

    def __init__(self, database_url: str, home: Path, *, redis_url: str = "") -> None:
        super().__init__(database_url, home, redis_url=redis_url)
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.public_url = self.api_url
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api: subprocess.Popen[bytes] | None = None
        self._api_args: list[str] = []
        self._api_env: dict[str, str] = {}
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

    async def start_callback_api(self, *, worker: bool = False, **env: str) -> str:
        """`herald serve` on the port every process knows as the public URL, `--no-worker`
        unless `worker` (then `env` is where its worker's settings go), once it answers."""
        self._api_args = ["serve", "--port", str(self.api_port)]
        if not worker:
            self._api_args.append("--no-worker")
        self._api_env = self._env(**env)
        self.api = self._spawn("api", self._api_args, self._api_env)
        await self.api_up()
        return self.api_url

    async def api_up(self) -> None:
        """Wait until the API answers `/healthz`; `AssertionError` with every log if its
        process exited or it did not answer within `API_STARTUP_SECONDS`."""
        api = self.api
        assert api is not None, "no API started"
        up = asyncio.create_task(
            wait_until_up(f"{self.api_url}/healthz", within=API_STARTUP_SECONDS)
        )
        try:
            while not up.done():
                assert api.poll() is None, f"the API exited with {api.returncode}\n{self.logs()}"
                await asyncio.wait({up}, timeout=0.2)
            try:
                up.result()
            except TimeoutError as exc:
                raise AssertionError(f"{exc}\n{self.logs()}") from None
        finally:
            up.cancel()

    async def api_answers(self) -> bool:
        """Whether the API answers `/healthz` right now (within half a second)."""
        timeout = aiohttp.ClientTimeout(total=0.5)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(f"{self.api_url}/healthz") as response,
            ):
                return response.status == HTTPStatus.OK
        except (aiohttp.ClientError, TimeoutError):
            return False

    def restart_api(self) -> float:
        """SIGKILL the API process and start a fresh one on the same port with the same
        arguments, without waiting for it to answer (the next kill may find it starting); the
        monotonic instant of the kill."""
        assert self.api is not None, "no API started"
        self.kill(self.api)
        killed = time.monotonic()
        self.api = self._spawn("api", self._api_args, self._api_env)
        return killed

    async def post_burst(self, count: int, *, concurrency: int, reconnect: bool = False) -> Burst:
        """POST `count` messages to the API, each to its own recipient, each with its own
        Idempotency-Key; a 503 or 429 (a busy database, a full pool) is retried after its
        Retry-After with the same key, as the problem document's hint says. With `reconnect`
        (an API that is killed and started again) a connection error is repeated too, after
        `RECONNECT_PAUSE`; without it, it fails the burst. A repeated request answered
        `200` + `Idempotent-Replayed: true` was accepted before. `AssertionError` on any other
        answer than 202, and on a replay of a request never sent before."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        burst = Burst()
        retryable = {HTTPStatus.SERVICE_UNAVAILABLE, HTTPStatus.TOO_MANY_REQUESTS}
        lost_answers = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)

        async def post_one(http: aiohttp.ClientSession, index: int) -> None:
            payload = {
                "channel": "sms",
                "to": recipient(index),
                "from": self.senders[index % len(self.senders)],
                "body": body(index),
            }
            key = {"Idempotency-Key": f"kill-burst-{index}"}
            repeated = False
            while True:
                try:
                    async with http.post(
                        f"{self.api_url}/v1/messages", json=payload, headers=key
                    ) as response:
                        if response.status == HTTPStatus.ACCEPTED:
                            return
                        text = await response.text()
                        if response.headers.get(REPLAYED_HEADER) == "true":
                            assert response.status == HTTPStatus.OK, f"{response.status}: {text}"
                            assert repeated, f"message {index} replayed on its first POST: {text}"
                            burst.replayed += 1
                            return
                        assert response.status in retryable, f"{response.status}: {text}"
                        asked = float(response.headers.get("Retry-After", "1"))
                        pause = min(asked, MAX_RETRY_AFTER)
                    burst.retried += 1
                except lost_answers:
                    if not reconnect:
                        raise
                    burst.disconnected += 1
                    pause = RECONNECT_PAUSE
                repeated = True
                await asyncio.sleep(pause)

        async def post_every(http: aiohttp.ClientSession, start: int) -> None:
            for index in range(start, count, concurrency):
                await post_one(http, index)

        async with aiohttp.ClientSession(headers=headers) as http:
            await asyncio.gather(*(post_every(http, start) for start in range(concurrency)))
        return burst

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

    async def workers_up(self, within: float = API_STARTUP_SECONDS) -> None:
        """Wait until every current worker has printed its banner: from then on it stops
        gracefully on SIGTERM (while still importing, the signal ends it with exit -15)."""

        async def up() -> bool:
            return all(WORKER_BANNER in self.output(worker) for worker in self.workers)

        await wait_for(up, within=within)

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

    async def claimed_again(self) -> int:
        """Messages claimed more than once: their first claim's process was killed (or their
        send failed and was retried)."""
        return await self._scalar("SELECT count(*) FROM messages WHERE attempts > 1")

    def logged(self, text: str) -> int:
        """Lines of every process's log that contain `text`."""
        return sum(
            text in line
            for log in self._logs
            for line in log.read_text(errors="replace").splitlines()
        )

    async def by_status(self) -> Counter[str]:
        """Messages counted by status."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status, count(*) FROM messages GROUP BY status")
            )
            return Counter({str(status): int(n) for status, n in rows})
