"""A `Cluster` whose status callbacks reach Herald, and the outcomes chaos must not change.

`tests/scaleout/cluster.py` points Twilio's callbacks at a closed port: its proofs count sends
only. The chaos scenario needs the whole loop, so `ChaosCluster` starts one API as the public
URL (the emulator calls it back there, signed for that URL) before any worker, runs the emulator
without Twilio's per-sender throughput (so that delivery is not the bottleneck), and starts
workers that reconcile after a short interval; or, on SQLite, one `herald serve` with its
worker that is both.

Each message goes to a recipient in the emulator's reserved block `+1 NPA 555 01XX`, whose last
two digits decide how it ends (docs/emulator.md, "Lifecycle and outcomes"); `expected(index)` is
that ending as Herald must record it, chaos or not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
from collections import Counter
from collections.abc import Sequence
from typing import Final

import aiohttp
from sqlalchemy import text

from herald.storage.engine import create_engine
from tests.gateway.gateway_helpers import free_port
from tests.scaleout.cluster import ACCOUNT_SID, AUTH_TOKEN, Cluster, wait_until_up

# Area codes whose `555 01XX` numbers `phonenumbers` accepts: 20 x 100 distinct recipients.
AREA_CODES: Final = (
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "212",
    "213", "214", "215", "216", "217", "218", "219", "224", "225", "228",
)  # fmt: skip

# Every fault the emulator can inject, at once (docs/emulator.md, "Chaos").
CHAOS: Final = {
    "seed": 8,
    "latency_ms": 15,
    "latency_jitter_ms": 15,
    "too_many_requests": 0.06,
    "server_errors": 0.03,
    "unavailable": 0.03,
    "lost_responses": 0.1,
    "callback_drop": 0.15,
    "callback_duplicate": 0.1,
    "callback_delay": 0.1,
    "callback_delay_ms": 3000,
    "callback_reorder": 0.1,
}


SERVICE_UNAVAILABLE: Final = 503
MAX_POST_ATTEMPTS: Final = 20
MAX_RETRY_AFTER: Final = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class Ending:
    """How a message ends in Herald: its status and Twilio's error code."""

    status: str
    error_code: int | None = None


# By the recipient's last two digits, tens first (docs/emulator.md's table).
_BY_DECADE: Final = (
    Ending("delivered"),
    Ending("undelivered", 30003),
    Ending("undelivered", 30005),
    Ending("undelivered", 30006),
    Ending("undelivered", 30007),
    Ending("undelivered", 30008),
    Ending("undelivered", 30004),
    Ending("sent"),  # no delivery receipt: Twilio keeps it `sent`, and so does Herald
    Ending("failed", 30008),
    Ending("delivered"),  # `read` only over WhatsApp
)


def chaos_recipient(index: int) -> str:
    """Message `index`'s recipient: `+1 NPA 555 01XX`, XX cycling through every ending."""
    area = AREA_CODES[(index // 100) % len(AREA_CODES)]
    return f"+1{area}55501{index % 100:02d}"


def expected(index: int) -> Ending:
    """How message `index` ends without chaos."""
    return _BY_DECADE[(index % 100) // 10]


def chaos_body(index: int) -> str:
    """Message `index`'s text, carrying its index as a unique marker."""
    return f"Chaos parcel #{index:07d} is on its way"


def index_of(body: str) -> int:
    """The index a `chaos_body` carries."""
    return int(body.split("#", 1)[1].split(" ", 1)[0])


@dataclasses.dataclass(frozen=True, slots=True)
class Stored:
    """A message as Herald recorded it."""

    index: int
    status: str
    error_code: int | None
    provider_sid: str | None


class ChaosCluster(Cluster):
    """A `Cluster` with callbacks to a public API, reconciling workers, no emulator pacing."""

    async def start_emulator(self) -> None:
        """`herald emulator` without per-sender throughput, callbacks retried once."""
        port = free_port()
        self.emulator_url = f"http://127.0.0.1:{port}"
        env = self._env(
            HERALD_EMULATOR_PORT=str(port),
            HERALD_EMULATOR_THROUGHPUT_ENABLED="false",
            HERALD_EMULATOR_CALLBACK_TIMEOUT_SECONDS="5",
        )
        self._spawn(
            "emulator",
            ["emulator", "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN],
            env,
        )
        await wait_until_up(f"{self.emulator_url}/_emulator/health")

    async def start_public_api(self) -> str:
        """`herald serve --no-worker` as the public URL Twilio calls back; start it first."""
        port = free_port()
        self.public_url = f"http://127.0.0.1:{port}"
        self._spawn("api", ["serve", "--no-worker", "--port", str(port)], self._env())
        await wait_until_up(f"{self.public_url}/healthz")
        return self.public_url

    async def start_public_serve(
        self, *, reconcile_after: float, lease_seconds: float = 10.0, batch_size: int = 50
    ) -> tuple[str, subprocess.Popen[bytes]]:
        """`herald serve` with its worker, as the public URL Twilio calls back, reconciling
        messages stuck for `reconcile_after` seconds; its URL and process once it answers."""
        port = free_port()
        self.public_url = f"http://127.0.0.1:{port}"
        env = self._env(
            HERALD_RECONCILE_AFTER_SECONDS=str(reconcile_after),
            HERALD_WORKER_LEASE_SECONDS=str(lease_seconds),
            HERALD_WORKER_BATCH_SIZE=str(batch_size),
        )
        process = self._spawn("serve", ["serve", "--port", str(port)], env)
        await wait_until_up(f"{self.public_url}/healthz")
        return self.public_url, process

    def start_reconciling_worker(
        self, *, reconcile_after: float, lease_seconds: float = 10.0, batch_size: int = 50
    ) -> subprocess.Popen[bytes]:
        """`herald worker` that reconciles messages stuck for `reconcile_after` seconds."""
        return self._spawn(
            "worker",
            [
                "worker",
                *("--worker-lease-seconds", str(lease_seconds)),
                *("--worker-batch-size", str(batch_size)),
            ],
            self._env(HERALD_RECONCILE_AFTER_SECONDS=str(reconcile_after)),
        )

    async def post_chaos(self, apis: Sequence[str], count: int, *, concurrency: int = 16) -> int:
        """POST `count` messages through the APIs in turn, as a well-behaved client: each with
        an Idempotency-Key, a 503 retried after its Retry-After. `AssertionError` unless each
        is accepted with 202 in the end; how many 503s were met."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        busy = 0

        async def post_one(http: aiohttp.ClientSession, index: int) -> None:
            nonlocal busy
            payload = {
                "channel": "sms",
                "to": chaos_recipient(index),
                "from": self.senders[index % len(self.senders)],
                "body": chaos_body(index),
            }
            key = {"Idempotency-Key": f"chaos-{index}"}
            for attempt in range(MAX_POST_ATTEMPTS):
                url = f"{apis[(index + attempt) % len(apis)]}/v1/messages"
                async with http.post(url, json=payload, headers=key) as response:
                    if response.status != SERVICE_UNAVAILABLE:
                        assert response.status == 202, await response.text()
                        return
                    busy += 1
                    pause = float(response.headers.get("Retry-After", "1"))
                await asyncio.sleep(min(pause, MAX_RETRY_AFTER))
            raise AssertionError(f"message {index}: 503 on {MAX_POST_ATTEMPTS} attempts")

        async def post_every(http: aiohttp.ClientSession, start: int) -> None:
            for index in range(start, count, concurrency):
                await post_one(http, index)

        async with aiohttp.ClientSession(headers=headers) as http:
            await asyncio.gather(*(post_every(http, start) for start in range(concurrency)))
        return busy

    async def stored(self) -> list[Stored]:
        """Every message Herald recorded, with the index its body carries."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT body, status, error_code, provider_sid FROM messages")
                )
                return [
                    Stored(index_of(body), status, error_code, sid)
                    for body, status, error_code, sid in rows
                ]
        finally:
            await engine.dispose()

    async def reports_by_source(self) -> Counter[str]:
        """Status reports that changed a status, by who made them (`callback`, `reconcile`...)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT source, count(*) FROM message_status_history "
                        "WHERE applied GROUP BY source"
                    )
                )
                return Counter({str(source): int(n) for source, n in rows})
        finally:
            await engine.dispose()
