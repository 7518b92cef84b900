"""Status callbacks: the signed webhooks the emulator POSTs when a message changes status.

Each status change of a message with a `StatusCallback` becomes one `Callback`: Twilio's
form parameters (TWILIO-API.md §11), signed with `X-Twilio-Signature` over the exact URL
requested and the account's auth token (§12), and carrying an `I-Twilio-Idempotency-Token`
that stays the same across the retries of that one event.

Connection overrides work as on Twilio: a URL fragment such as `#rc=3&ct=2000&rt=5000&tt=10000`
sets the retry count, connect, read and total timeouts (milliseconds) and `rp` the retry
policy; the fragment is never sent and never signed. Without overrides the emulator's
configuration decides.

`CallbackSender` sends through one shared `aiohttp.ClientSession` and records every attempt in
a bounded `WebhookLog`. Before sending it asks the current `CallbackPolicy` when to deliver each
copy of the event: the default `DeliverNormally` delivers one copy at once; chaos modes plug in
there (an empty plan drops the event, two entries duplicate it, a delay postpones or reorders
it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, Protocol
from urllib.parse import parse_qsl, urldefrag

import aiohttp

from herald.domain.signatures import twilio_signature
from herald.emulator.clock import Clock

USER_AGENT: Final = "TwilioProxy/1.1"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
RETRY_POLICIES: Final = frozenset({"ct", "rt", "4xx", "5xx", "all"})

# Twilio's documented ranges for connection overrides (TWILIO-API.md §11); out-of-range values
# are clamped rather than refused, as the fragment is advisory.
_MS_RANGES: Final = {"ct": (100, 10_000), "rt": (100, 15_000), "tt": (100, 15_000)}
_MAX_RETRIES: Final = 5
RESPONSE_EXCERPT_CHARS: Final = 500
MAX_CALLBACKS_IN_FLIGHT: Final = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Callback:
    """One webhook event: what to POST, where, and how to sign it."""

    url: str
    params: tuple[tuple[str, str], ...]
    auth_token: str
    idempotency_token: str
    account_sid: str
    resource_sid: str
    event: str


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One HTTP attempt at delivering a callback, as the control API shows it."""

    url: str
    params: Mapping[str, str]
    signature: str
    idempotency_token: str
    account_sid: str
    resource_sid: str
    event: str
    attempt: int
    status_code: int | None
    error: str | None
    latency_ms: float
    at: datetime
    method: str = "POST"
    response_excerpt: str = ""
    """The start of the receiver's answer (`RESPONSE_EXCERPT_CHARS` at most)."""

    @property
    def ok(self) -> bool:
        """Whether the receiver answered with a 2xx status."""
        return self.status_code is not None and 200 <= self.status_code < 300  # noqa: PLR2004


class WebhookLog:
    """The most recent webhook attempts, oldest dropped first past `capacity`."""

    def __init__(self, capacity: int) -> None:
        self._entries: deque[WebhookDelivery] = deque(maxlen=capacity)
        # Told of every attempt as it is recorded (the emulator's event bus listens here).
        self.listeners: list[Callable[[WebhookDelivery], None]] = []

    def record(self, delivery: WebhookDelivery) -> None:
        """Keep one attempt and tell the listeners."""
        self._entries.append(delivery)
        for listener in self.listeners:
            listener(delivery)

    def entries(
        self, *, resource_sid: str | None = None, account_sid: str | None = None
    ) -> list[WebhookDelivery]:
        """The kept attempts, oldest first, optionally of one resource or one account."""
        return [
            entry
            for entry in self._entries
            if (resource_sid is None or entry.resource_sid == resource_sid)
            and (account_sid is None or entry.account_sid == account_sid)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every attempt."""
        self._entries.clear()


class CallbackPolicy(Protocol):
    """Decides the fate of callbacks and create responses: the seam for chaos modes."""

    def plan(self, callback: Callback) -> Sequence[float]:
        """Delays in seconds, one per copy of `callback` to deliver; empty drops it."""
        ...

    def lose_create_response(self, message_sid: str) -> bool:
        """Whether the create response of this (already stored) message is lost."""
        ...


class DeliverNormally:
    """The default policy: every callback once, at once; every response delivered."""

    def plan(self, callback: Callback) -> Sequence[float]:  # noqa: ARG002 - same for all
        """One copy, no delay."""
        return (0.0,)

    def lose_create_response(self, message_sid: str) -> bool:  # noqa: ARG002 - same for all
        """Never."""
        return False


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Retries and timeouts for one callback URL (config defaults, then the URL's fragment)."""

    retries: int
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    retry_on: frozenset[str]

    def with_overrides(self, fragment: str) -> ConnectionSettings:
        """These settings changed by a Twilio connection-override fragment (`ct=…&rc=…`)."""
        values = dict(parse_qsl(fragment))
        changes: dict[str, object] = {}
        if "rc" in values and values["rc"].isdigit():
            changes["retries"] = min(int(values["rc"]), _MAX_RETRIES)
        for key, field in (
            ("ct", "connect_timeout"),
            ("rt", "read_timeout"),
            ("tt", "total_timeout"),
        ):
            if key in values and values[key].isdigit():
                low, high = _MS_RANGES[key]
                changes[field] = min(max(int(values[key]), low), high) / 1000
        if "rp" in values:
            policies = frozenset(values["rp"].split(",")) & RETRY_POLICIES
            if policies:
                changes["retry_on"] = policies
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def retries_after(self, status_code: int | None, error_kind: str | None) -> bool:
        """Whether a failed attempt is retried: an HTTP status, or `ct`/`rt` (transport error)."""
        if "all" in self.retry_on:
            return True
        if error_kind is not None:
            return error_kind in self.retry_on
        assert status_code is not None
        return f"{status_code // 100}xx" in self.retry_on


class CallbackSender:
    """Delivers callbacks with retries, logs every attempt, and applies the `CallbackPolicy`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        clock: Clock,
        log: WebhookLog,
        policy: Callable[[], CallbackPolicy],
        settings: ConnectionSettings,
        retry_backoff: float,
    ) -> None:
        self._session = session
        self._clock = clock
        self.log = log
        self._policy = policy
        self._settings = settings
        self._retry_backoff = retry_backoff
        self._tasks: set[asyncio.Task[None]] = set()
        # Twilio's timeouts run from the moment it sends; a callback waiting here for a free
        # connection has not been sent yet, so the wait must not count against `tt`. The
        # session's own pool is unbounded and this semaphore bounds the callbacks in flight.
        self._in_flight = asyncio.Semaphore(MAX_CALLBACKS_IN_FLIGHT)

    def submit(self, callback: Callback) -> None:
        """Deliver `callback` in the background, as the policy plans it."""
        for delay in self._policy().plan(callback):
            task = asyncio.create_task(self._deliver_later(callback, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every submitted callback has been delivered or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop delivering: cancel what is still pending."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def pending(self) -> int:
        """How many deliveries are still running or waiting."""
        return len(self._tasks)

    async def _deliver_later(self, callback: Callback, delay: float) -> None:
        if delay > 0:
            await self._clock.sleep(delay)
        await self.deliver(callback)

    async def deliver(self, callback: Callback) -> WebhookDelivery:
        """POST `callback`, retrying as its URL's settings say; return the last attempt."""
        url, fragment = urldefrag(callback.url)
        settings = self._settings.with_overrides(fragment) if fragment else self._settings
        params = dict(callback.params)
        signature = twilio_signature(url, params, callback.auth_token)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": callback.idempotency_token,
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "Content-Type": FORM_CONTENT_TYPE,
        }
        timeout = aiohttp.ClientTimeout(
            total=settings.total_timeout,
            sock_connect=settings.connect_timeout,
            sock_read=settings.read_timeout,
        )
        attempt = 0
        while True:
            attempt += 1
            delivery, error_kind = await self._attempt(
                callback, url=url, params=params, headers=headers, limits=timeout, attempt=attempt
            )
            self.log.record(delivery)
            if delivery.ok or attempt > settings.retries:
                return delivery
            if not settings.retries_after(delivery.status_code, error_kind):
                return delivery
            await self._clock.sleep(self._retry_backoff)

    async def _attempt(
        self,
        callback: Callback,
        *,
        url: str,
        params: dict[str, str],
        headers: dict[str, str],
        limits: aiohttp.ClientTimeout,
        attempt: int,
    ) -> tuple[WebhookDelivery, str | None]:
        at = self._clock.now()
        status_code: int | None = None
        error: str | None = None
        error_kind: str | None = None
        excerpt = ""
        async with self._in_flight:
            started = time.perf_counter()
            try:
                async with self._session.post(
                    url, data=params, headers=headers, timeout=limits, allow_redirects=False
                ) as response:
                    answer = await response.read()
                    status_code = response.status
                    excerpt = answer[:RESPONSE_EXCERPT_CHARS].decode("utf-8", "replace")
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error, error_kind = _describe(exc), _transport_kind(exc)
        latency_ms = (time.perf_counter() - started) * 1000
        delivery = WebhookDelivery(
            url=url,
            params=params,
            signature=headers["X-Twilio-Signature"],
            idempotency_token=callback.idempotency_token,
            account_sid=callback.account_sid,
            resource_sid=callback.resource_sid,
            event=callback.event,
            attempt=attempt,
            status_code=status_code,
            error=error,
            latency_ms=latency_ms,
            at=at,
            response_excerpt=excerpt,
        )
        return delivery, error_kind


def _transport_kind(exc: BaseException) -> str:
    # Twilio's retry policy names two transport failures: `ct` (no connection: refused,
    # unresolvable, connect timeout) and `rt` (a connection that then timed out or broke).
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "ct"
    if isinstance(exc, TimeoutError | aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "rt"
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return "ct"
    return "rt"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
