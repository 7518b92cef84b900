"""`FakeTwilio`: an in-memory `MessagingProvider` for tests of the worker and the API.

It keeps messages like Twilio does (SIDs `SM…`, newest first, `queued` or `accepted` at
creation, bodies smart-encoded when asked) and lets a test script what the next sends meet:

    fake = FakeTwilio()
    fake.script(
        ProviderError("busy", provider_code=20429, status=429, retryable=True, retry_after=2),
        LOST_RESPONSE,   # the message is created, then AmbiguousSend is raised
    )
    fake.set_status(sid, "delivered")

A scripted outcome is used by one send, in order; once the script is empty every send succeeds.
Every request that reached "Twilio" is kept in `requests`, whatever its outcome. The clock is
injectable so that find-in-window tests are exact. Content templates are not rendered: a
message sent with `content_sid` keeps the request's `body`, or an empty one.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Final

from herald.domain.segments import analyse
from herald.errors import AmbiguousSend, ProviderError
from herald.providers.lookup import MessageLookup
from herald.providers.models import ProviderMessage, SendRequest
from herald.providers.port import DEFAULT_MAX_SCAN, DEFAULT_PAGE_SIZE

FAKE_ACCOUNT_SID: Final = "AC" + "f" * 32
NOT_FOUND: Final = 20404


class Outcome(enum.Enum):
    """Scripted outcomes that are not a plain error."""

    LOST_RESPONSE = "lost_response"


LOST_RESPONSE: Final = Outcome.LOST_RESPONSE
Scripted = ProviderError | Outcome


class FakeTwilio:
    """Messages kept in memory, with scripted failures; implements `MessagingProvider`."""

    def __init__(
        self,
        *,
        account_sid: str = FAKE_ACCOUNT_SID,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account_sid = account_sid
        self.requests: list[SendRequest] = []
        self._clock = clock
        self._script: deque[Scripted] = deque()
        self._messages: dict[str, ProviderMessage] = {}
        self._sids = itertools.count(1)

    # -- scripting and inspection ----------------------------------------------------------

    def script(self, *outcomes: Scripted) -> None:
        """Queue what the next sends meet: a `ProviderError` (raised, nothing created; an
        `AmbiguousSend` here means "no answer, and in fact not created") or `LOST_RESPONSE`."""
        self._script.extend(outcomes)

    @property
    def messages(self) -> list[ProviderMessage]:
        """Every message created, oldest first."""
        return list(self._messages.values())

    def set_status(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> ProviderMessage:
        """Move a message to `status`, as Twilio's delivery would; returns the new state."""
        message = self._get(sid)
        now = self._clock()
        sent = message.date_sent
        if sent is None and status in {"sent", "delivered", "undelivered", "read"}:
            sent = now
        updated = dataclasses.replace(
            message,
            status=status,
            error_code=error_code,
            error_message=error_message,
            date_updated=now,
            date_sent=sent,
        )
        self._messages[sid] = updated
        return updated

    # -- MessagingProvider -----------------------------------------------------------------

    async def send_message(self, request: SendRequest) -> ProviderMessage:
        """Create the message, or meet the next scripted outcome."""
        self.requests.append(request)
        outcome = self._script.popleft() if self._script else None
        if isinstance(outcome, ProviderError):
            raise outcome
        message = self._create(request)
        if outcome is LOST_RESPONSE:
            raise AmbiguousSend(
                f"Sending a message to {request.to}: the connection closed without an answer "
                "(scripted); look it up before sending it again."
            )
        return message

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """The message `sid`, or Twilio's 404 (20404)."""
        return self._get(sid)

    async def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        date_sent_after: datetime | None = None,
        date_sent_before: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[ProviderMessage]:
        """Messages newest first, filtered as Twilio filters them (`page_size` is not used)."""
        del page_size
        for message in reversed(list(self._messages.values())):
            if to is not None and message.to != to:
                continue
            if from_ is not None and message.from_ != from_:
                continue
            if date_sent_after is not None or date_sent_before is not None:
                sent = message.date_sent
                if sent is None:
                    continue
                if date_sent_after is not None and sent < date_sent_after:
                    continue
                if date_sent_before is not None and sent > date_sent_before:
                    continue
            yield message

    async def find_message(
        self,
        *,
        to: str,
        from_: str | None,
        body: str | None,
        created_after: datetime,
        created_before: datetime,
        messaging_service_sid: str | None = None,
        max_scan: int = DEFAULT_MAX_SCAN,
    ) -> ProviderMessage | None:
        """The message a send attempt created, by the same rule as `TwilioClient`."""
        lookup = MessageLookup(
            to=to,
            from_=from_,
            body=body,
            created_after=created_after,
            created_before=created_before,
            messaging_service_sid=messaging_service_sid,
        )
        scanned = 0
        async for message in self.list_messages(to=to, from_=from_):
            if lookup.matches(message):
                return message
            scanned += 1
            if scanned >= max_scan:
                break
        return None

    # -- internals -------------------------------------------------------------------------

    def _get(self, sid: str) -> ProviderMessage:
        message = self._messages.get(sid)
        if message is None:
            raise ProviderError(
                f"Fetching message {sid} failed: Twilio error {NOT_FOUND} (HTTP 404).",
                provider_code=NOT_FOUND,
                status=404,
                message=f"The requested resource {sid} was not found",
            )
        return message

    def _create(self, request: SendRequest) -> ProviderMessage:
        body = request.body or ""
        info = analyse(body, smart_encoding=bool(request.smart_encoded))
        now = self._clock().replace(microsecond=0)
        via_service = request.from_ is None
        message = ProviderMessage(
            sid=f"SM{next(self._sids):032x}",
            account_sid=self.account_sid,
            to=request.to,
            from_=request.from_,
            body=info.body,
            status="accepted" if via_service else "queued",
            direction="outbound-api",
            messaging_service_sid=request.messaging_service_sid,
            num_segments=0 if via_service else info.segments,
            num_media=len(request.media_urls),
            error_code=None,
            error_message=None,
            price=None,
            price_unit="USD",
            date_created=now,
            date_updated=now,
            date_sent=None,
        )
        self._messages[message.sid] = message
        return message
