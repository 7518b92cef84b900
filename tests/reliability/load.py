"""Load through Herald's API that records every answer, for the fault scenarios.

`Load(cluster, apis)` posts messages (each its own recipient, body marker and Idempotency-Key)
from `clients` concurrent clients until `stop()`, and keeps one `Answer` per request: its
status, `Retry-After`, media type and problem code, or the client-side error when there was no
answer. A client answered `503` waits the `Retry-After` it was given and posts the same message
again with the same Idempotency-Key, as the API's problem hint tells a client to; `settle()`
does the same for the messages still refused when the load stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Final

import aiohttp

from tests.scaleout.cluster import Cluster, body, recipient

# A request still unanswered after this long counts as hung (an error of its own).
REQUEST_TIMEOUT: Final = 30.0
ACCEPTED: Final = frozenset({200, 202})


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """What one request got."""

    index: int
    started: float
    seconds: float
    status: int | None
    retry_after: str | None = None
    media_type: str = ""
    code: str = ""
    error: str = ""

    @property
    def kind(self) -> str:
        """`202`, `503`, ... or the client error's name."""
        return str(self.status) if self.status is not None else self.error


class Load:
    """Concurrent clients posting messages through `apis` until stopped."""

    def __init__(
        self,
        cluster: Cluster,
        apis: Sequence[str],
        *,
        clients: int = 8,
        retry: bool = True,
        interval: float = 0.0,
        first: int = 0,
    ) -> None:
        self.cluster = cluster
        self.apis = list(apis)
        self.clients = clients
        self.retry = retry
        self.interval = interval
        """Seconds each client leaves between the starts of its posts (0: none)."""
        self.answers: list[Answer] = []
        self.started = time.monotonic()
        self._next = first
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start posting in the background."""
        self.started = time.monotonic()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop posting, once the requests in flight are answered."""
        self._stop.set()
        if self._task is not None:
            await self._task

    def count(self, kind: str, *, after: float = 0.0) -> int:
        """Answers of `kind` (`"202"`, `"503"`, ...) to requests started after `after`."""
        return sum(1 for a in self.answers if a.kind == kind and a.started >= after)

    def kinds(self) -> Counter[str]:
        """Every answer counted by kind."""
        return Counter(answer.kind for answer in self.answers)

    def accepted(self) -> set[int]:
        """Indices of the messages the API accepted (202, or 200 on a replay)."""
        return {a.index for a in self.answers if a.status in ACCEPTED}

    def posted(self) -> set[int]:
        """Indices of every message posted at least once."""
        return {answer.index for answer in self.answers}

    async def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.cluster.api_key}"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            await asyncio.gather(*(self._client(http) for _ in range(self.clients)))

    async def _client(self, http: aiohttp.ClientSession) -> None:
        while not self._stop.is_set():
            index = self._next
            self._next += 1
            began = time.monotonic()
            while True:
                answer = await self.post(http, index)
                self.answers.append(answer)
                pause = _retry_after(answer)
                if not self.retry or pause is None or self._stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)
            rest = began + self.interval - time.monotonic()
            if rest > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), rest)

    async def post(self, http: aiohttp.ClientSession, index: int) -> Answer:
        """POST message `index` once; what it got."""
        cluster = self.cluster
        payload = {
            "channel": "sms",
            "to": recipient(index),
            "from": cluster.senders[index % len(cluster.senders)],
            "body": body(index),
        }
        url = f"{self.apis[index % len(self.apis)]}/v1/messages"
        started = time.monotonic()
        try:
            async with http.post(
                url, json=payload, headers={"Idempotency-Key": f"reliability-{index}"}
            ) as response:
                text = await response.text()
                media_type = response.content_type
                code = ""
                if media_type == "application/problem+json":
                    code = str(json.loads(text).get("code", ""))
                return Answer(
                    index,
                    started - self.started,
                    time.monotonic() - started,
                    response.status,
                    response.headers.get("Retry-After"),
                    media_type,
                    code,
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Answer(
                index,
                started - self.started,
                time.monotonic() - started,
                None,
                error=type(exc).__name__,
            )

    async def settle(self, *, rounds: int = 10) -> set[int]:
        """Retry every posted message not yet accepted, after its `Retry-After`, with the same
        Idempotency-Key, until each is accepted; the indices still refused after `rounds`."""
        headers = {"Authorization": f"Bearer {self.cluster.api_key}"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            limit = asyncio.Semaphore(self.clients)

            async def again(index: int) -> None:
                async with limit:
                    self.answers.append(await self.post(http, index))

            for _ in range(rounds):
                waiting = sorted(self.posted() - self.accepted())
                if not waiting:
                    break
                pauses = [_retry_after(a) for a in self.answers if a.index in waiting]
                await asyncio.sleep(max((p for p in pauses if p is not None), default=1.0))
                await asyncio.gather(*(again(index) for index in waiting))
        return self.posted() - self.accepted()


def _retry_after(answer: Answer) -> float | None:
    """The seconds a `503` asked to wait, or None for any other answer."""
    if answer.status != 503 or answer.retry_after is None:
        return None
    return float(answer.retry_after) if answer.retry_after.isdigit() else None


def answers_per_second(answers: Sequence[Answer], kind: str, start: float, end: float) -> float:
    """How many answers of `kind` came per second to requests started in `[start, end)`."""
    if end <= start:
        return 0.0
    return sum(1 for a in answers if a.kind == kind and start <= a.started < end) / (end - start)
