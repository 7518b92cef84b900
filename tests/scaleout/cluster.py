"""A Herald deployment of real processes on one machine, and what the emulator received.

`Cluster` starts `herald emulator`, `herald serve --no-worker` and `herald worker` as
subprocesses on free ports, all on one PostgreSQL database (and Redis when given), kills them
with SIGKILL or stops them with SIGTERM, and reads back every message the emulator created.
The proofs of docs/scale-out.md run on it; `HERALD_SOAK=1` raises their sizes to the issue's.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email.utils
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import aiohttp
from sqlalchemy import text

from herald.domain.phone import Channel
from herald.domain.records import NewMessage, TenantSettings, TwilioCredentials
from herald.storage.apikeys import ApiKeyRepository
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.messages import MessageRepository
from herald.storage.migrate import upgrade
from herald.storage.tenants import TenantRepository
from tests.gateway.gateway_helpers import free_port

SOAK: Final = os.environ.get("HERALD_SOAK", "") not in {"", "0"}
"""Whether to run the issue's full sizes (`HERALD_SOAK=1`)."""

ACCOUNT_SID: Final = "AC" + "5c" * 16
AUTH_TOKEN: Final = "7e" * 16
STARTUP_SECONDS: Final = 30.0
STOP_SECONDS: Final = 20.0


def soak_size(quick: int, full: int) -> int:
    """`full` under `HERALD_SOAK=1`, else `quick`."""
    return full if SOAK else quick


def recipient(index: int) -> str:
    """A distinct valid US number (area code 628, from exchange 200) per message index."""
    return f"+1628{2_000_000 + index:07d}"


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    """One message as the emulator created it."""

    sid: str
    from_: str
    to: str
    body: str
    date_created: datetime


class Cluster:
    """Processes of one deployment; everything started is killed by `close()`."""

    def __init__(self, database_url: str, home: Path, *, redis_url: str = "") -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.home = home
        self.secret_key = generate_secret_key()
        self.emulator_url = ""
        self.public_url = "http://127.0.0.1:9"  # nothing listens: callbacks fail, harmlessly
        self.sender_rates = ""
        self.tenant_id = ""
        self.api_key = ""
        self.senders: list[str] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []

    # -- processes ------------------------------------------------------------------------

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env.update(
            HERALD_HOME=str(self.home),
            HERALD_DATABASE_URL=self.database_url,
            HERALD_SECRET_KEY=self.secret_key,
            HERALD_TWILIO_BASE_URL=self.emulator_url,
            HERALD_PUBLIC_URL=self.public_url,
            HERALD_SENDER_RATES=self.sender_rates,
            # With credentials `serve` talks to the emulator as to Twilio instead of starting
            # a sandbox of its own.
            HERALD_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            HERALD_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            HERALD_LOG_LEVEL=os.environ.get("HERALD_SCALEOUT_LOG_LEVEL", "warning"),
        )
        if self.redis_url:
            env["HERALD_REDIS_URL"] = self.redis_url
        env.update(extra)
        return env

    def _spawn(
        self, name: str, args: Sequence[str], env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        log = self.home / f"{name}-{len(self._logs)}.log"
        self._logs.append(log)
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - Herald's own entry point
                [sys.executable, "-m", "herald", *args],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._processes.append(process)
        return process

    async def start_emulator(self) -> None:
        """`herald emulator` on a free port with known credentials, once it answers."""
        port = free_port()
        self.emulator_url = f"http://127.0.0.1:{port}"
        env = self._env(HERALD_EMULATOR_PORT=str(port))
        self._spawn(
            "emulator",
            ["emulator", "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN],
            env,
        )
        await wait_until_up(f"{self.emulator_url}/_emulator/health")

    async def start_api(self, *, processes: int = 1) -> str:
        """`herald serve --no-worker` on a free port; its base URL once it answers."""
        port = free_port()
        args = ["serve", "--no-worker", "--port", str(port), "--processes", str(processes)]
        self._spawn("api", args, self._env())
        url = f"http://127.0.0.1:{port}"
        await wait_until_up(f"{url}/healthz")
        return url

    @property
    def last_started(self) -> subprocess.Popen[bytes]:
        """The process started last."""
        return self._processes[-1]

    def start_worker(
        self, *, lease_seconds: float = 10.0, batch_size: int = 50
    ) -> subprocess.Popen[bytes]:
        """`herald worker` with a short lease, so a killed worker's claims come back soon."""
        return self._spawn(
            "worker",
            [
                "worker",
                *("--worker-lease-seconds", str(lease_seconds)),
                *("--worker-batch-size", str(batch_size)),
            ],
            self._env(),
        )

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: the process gets no chance to settle anything."""
        process.send_signal(signal.SIGKILL)
        process.wait()

    @staticmethod
    def kill_pid(pid: int) -> None:
        """SIGKILL a process this test did not start itself."""
        os.kill(pid, signal.SIGKILL)

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> int:
        """SIGTERM and wait for a graceful exit; its exit code."""
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=STOP_SECONDS)

    def output(self, process: subprocess.Popen[bytes]) -> str:
        """What `process` (started here) has printed so far."""
        log = self._logs[self._processes.index(process)]
        return log.read_text(errors="replace")

    def logs(self) -> str:
        """What every process printed, for a failing assertion's message."""
        return "\n".join(
            f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self._logs
        )

    def close(self) -> None:
        """Kill whatever is still running."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    # -- data ------------------------------------------------------------------------------

    async def prepare(self, *, senders: int, rate: float) -> None:
        """Migrate, buy `senders` numbers at the emulator, and make a tenant sending from them."""
        url = f"{self.emulator_url}/_emulator/seed"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json={"numbers": senders}) as response,
        ):
            response.raise_for_status()
            seeded = await response.json()
        self.senders = [number["phone_number"] for number in seeded["numbers"]]
        self.sender_rates = ",".join(f"{number}={rate:g}" for number in self.senders)
        engine = create_engine(self.database_url)
        try:
            await upgrade(engine)
            now = datetime.now(UTC)
            tenant = await TenantRepository(engine, SecretBox(self.secret_key)).create(
                "scaleout",
                now=now,
                credentials=TwilioCredentials(account_sid=ACCOUNT_SID, secret=AUTH_TOKEN),
                settings=TenantSettings(default_sender=self.senders[0]),
            )
            self.tenant_id = tenant.id
            self.api_key = (await ApiKeyRepository(engine).create(tenant.id, now=now)).key
        finally:
            await engine.dispose()

    async def accept(self, count: int, *, concurrency: int = 8) -> None:
        """Commit `count` messages to the outbox directly, each to its own recipient."""
        engine = create_engine(self.database_url)
        messages = MessageRepository(engine)

        async def accept_every(start: int) -> None:
            for index in range(start, count, concurrency):
                await messages.accept(
                    self.tenant_id,
                    NewMessage(
                        channel=Channel.SMS,
                        to=recipient(index),
                        from_=self.senders[index % len(self.senders)],
                        body=body(index),
                        encoding="GSM-7",
                        segments=1,
                    ),
                    now=datetime.now(UTC),
                )

        try:
            await asyncio.gather(*(accept_every(start) for start in range(concurrency)))
        finally:
            await engine.dispose()

    async def post(self, apis: Sequence[str], count: int, *, concurrency: int = 16) -> None:
        """POST `count` messages through the APIs in turn, each sender in turn, each to its own
        recipient; `AssertionError` unless every one is accepted with 202."""
        headers = {"Authorization": f"Bearer {self.api_key}"}

        async def post_every(http: aiohttp.ClientSession, start: int) -> None:
            for index in range(start, count, concurrency):
                payload = {
                    "channel": "sms",
                    "to": recipient(index),
                    "from": self.senders[index % len(self.senders)],
                    "body": body(index),
                }
                url = f"{apis[index % len(apis)]}/v1/messages"
                async with http.post(url, json=payload) as response:
                    assert response.status == 202, await response.text()

        async with aiohttp.ClientSession(headers=headers) as http:
            await asyncio.gather(*(post_every(http, start) for start in range(concurrency)))

    async def sent_count(self) -> int:
        """How many messages Herald has recorded as handed over (a provider SID)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(
                    text("SELECT count(*) FROM messages WHERE provider_sid IS NOT NULL")
                )
                return int(result.scalar_one())
        finally:
            await engine.dispose()

    async def statuses(self) -> Counter[str]:
        """Herald's messages counted by status."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT status, count(*) FROM messages GROUP BY status")
                )
                return Counter({str(status): int(n) for status, n in rows})
        finally:
            await engine.dispose()

    async def emulator_messages(self) -> list[Sent]:
        """Every message the emulator created for the account, through Twilio's list API."""
        found: list[Sent] = []
        token = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        path: str | None = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?PageSize=1000"
        async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http:
            while path:
                async with http.get(self.emulator_url + path) as response:
                    response.raise_for_status()
                    page: dict[str, Any] = await response.json()
                found.extend(
                    Sent(
                        sid=item["sid"],
                        from_=item["from"],
                        to=item["to"],
                        body=item["body"],
                        date_created=email.utils.parsedate_to_datetime(item["date_created"]),
                    )
                    for item in page["messages"]
                    if item["direction"] == "outbound-api"
                )
                path = page.get("next_page_uri")
        return found

    async def set_chaos(self, settings: dict[str, Any]) -> None:
        """Replace the emulator's chaos settings for every account."""
        url = f"{self.emulator_url}/_emulator/chaos"
        async with aiohttp.ClientSession() as http, http.put(url, json=settings) as response:
            response.raise_for_status()

    async def chaos_counts(self) -> dict[str, int]:
        """How many requests met each chaos fault so far."""
        url = f"{self.emulator_url}/_emulator/chaos"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            response.raise_for_status()
            counts: dict[str, int] = (await response.json())["default"]["counts"]
            return counts


def body(index: int) -> str:
    """The text of message `index`, carrying its index as a unique marker."""
    return f"Your code is ready #{index:07d}"


async def wait_until_up(url: str, within: float = STARTUP_SECONDS) -> None:
    """Poll `url` until it answers 200; `TimeoutError` after `within` seconds."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {within} s")
            await asyncio.sleep(0.1)


async def wait_for(predicate: Any, within: float, *, every: float = 0.25) -> None:
    """Await `predicate()` until it is true; `TimeoutError` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {within} s")
        await asyncio.sleep(every)
