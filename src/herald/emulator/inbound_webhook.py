"""The incoming-message webhook: Twilio's parameters, where they go, and one signed request.

Parameters (TWILIO-API.md §11): `MessageSid`, `SmsSid`, `SmsMessageSid`, `AccountSid`,
`MessagingServiceSid` (number in a Service), `From`, `To`, `Body`, `NumMedia`, `NumSegments`,
`SmsStatus=received`, `ApiVersion`, the `From…`/`To…` `City`, `State`, `Zip` and `Country`
(empty when unknown, as Twilio sends them), `MediaUrl{n}`/`MediaContentType{n}`, and for
WhatsApp `ProfileName`, `WaId` (the number's digits without `+`) and `MessageType`.

Where: a number outside a Messaging Service is called at its `SmsUrl` with its `SmsMethod`; a
number in a Service at the Service's `InboundRequestUrl`/`InboundMethod`, unless the Service
defers to its senders (`UseInboundWebhookOnNumber`). When the primary URL fails (no connection,
a time-out or a non-2xx answer) the fallback URL is called with the same parameters plus
`ErrorCode=11200` and `ErrorUrl`.

Each attempt is signed (`X-Twilio-Signature` over the URL as requested, plus the form parameters
for POST; a GET carries them in the query and signs the URL alone), carries one
`I-Twilio-Idempotency-Token` for the event, and is recorded in the Messages webhook log.
"""

from __future__ import annotations

import dataclasses
import mimetypes
import time
from collections.abc import Sequence
from typing import Final
from urllib.parse import urldefrag, urlencode

import aiohttp

from herald.domain.signatures import twilio_signature
from herald.emulator.callbacks import (
    FORM_CONTENT_TYPE,
    RESPONSE_EXCERPT_CHARS,
    USER_AGENT,
    WebhookDelivery,
    WebhookLog,
)
from herald.emulator.clock import Clock
from herald.emulator.inventory_blocks import INVENTORY
from herald.emulator.message_store import Message
from herald.emulator.messaging_services import MessagingService
from herald.emulator.numbers import IncomingNumber
from herald.emulator.sender_pool import country_of
from herald.emulator.whatsapp import bare_number, is_whatsapp
from herald.emulator.wire import API_VERSION

HTTP_RETRIEVAL_FAILURE: Final = 11200
DEFAULT_MEDIA_TYPE: Final = "application/octet-stream"


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """Where an incoming message is reported: URL and method, and the fallback."""

    url: str
    method: str
    fallback_url: str | None
    fallback_method: str


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """What the receiving application answered (the last attempt)."""

    delivery: WebhookDelivery
    content_type: str | None
    body: bytes


def target_of(number: IncomingNumber, service: MessagingService | None) -> Target | None:
    """Where Twilio reports a message to `number`, or None when nothing is configured."""
    if service is not None and not service.use_inbound_webhook_on_number:
        if not service.inbound_request_url:
            return None
        return Target(
            service.inbound_request_url,
            service.inbound_method,
            service.fallback_url,
            service.fallback_method,
        )
    if not number.sms_url:
        return None
    return Target(
        number.sms_url,
        number.sms_method,
        number.sms_fallback_url or None,
        number.sms_fallback_method,
    )


def inbound_params(
    message: Message, *, profile_name: str | None, iso_country: str
) -> list[tuple[str, str]]:
    """The parameters of the incoming-message webhook for `message`."""
    params = [
        ("ToCountry", iso_country),
        *_place("To", message.to),
        ("SmsMessageSid", message.sid),
        ("NumMedia", str(message.num_media)),
        *_place("From", message.from_ or ""),
        ("SmsSid", message.sid),
        ("SmsStatus", "received"),
        ("Body", message.body),
        ("FromCountry", country_of(message.from_ or "") or ""),
        ("To", message.to),
        ("MessageSid", message.sid),
        ("AccountSid", message.account_sid),
        ("From", message.from_ or ""),
        ("NumSegments", str(message.num_segments)),
        ("ApiVersion", API_VERSION),
    ]
    if message.messaging_service_sid is not None:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    for index, url in enumerate(message.media_urls):
        params.append((f"MediaUrl{index}", url))
        params.append((f"MediaContentType{index}", media_type_of(url)))
    if is_whatsapp(message.to):
        sender = bare_number(message.from_ or "")
        params.append(("ProfileName", profile_name or sender))
        params.append(("WaId", sender.removeprefix("+")))
        params.append(("MessageType", "image" if message.media_urls else "text"))
    return params


def media_type_of(url: str) -> str:
    """The content type a media URL most likely has, from its extension."""
    guessed, _ = mimetypes.guess_type(urldefrag(url).url.split("?")[0])
    return guessed or DEFAULT_MEDIA_TYPE


def _place(prefix: str, address: str) -> list[tuple[str, str]]:
    # Only numbers of the emulator's inventory have a known place; others get Twilio's "".
    available = INVENTORY.lookup(bare_number(address))
    place = available.block.place if available is not None else None
    return [
        (f"{prefix}City", (place.locality if place else None) or ""),
        (f"{prefix}State", (place.region if place else None) or ""),
        (f"{prefix}Zip", (place.postal_code if place else None) or ""),
    ]


class InboundSender:
    """Calls an application's incoming-message URL (then its fallback) and logs each attempt."""

    def __init__(self, *, clock: Clock, log: WebhookLog, timeout: float) -> None:
        self._clock = clock
        self._log = log
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(
        self,
        target: Target,
        params: Sequence[tuple[str, str]],
        *,
        auth_token: str,
        idempotency_token: str,
        message: Message,
    ) -> Answer:
        """Call the primary URL, then the fallback if the primary failed; the last answer."""
        async with aiohttp.ClientSession() as session:
            answer = await self._attempt(
                session,
                target.url,
                target.method,
                params,
                auth_token=auth_token,
                idempotency_token=idempotency_token,
                message=message,
            )
            if answer.delivery.ok or not target.fallback_url:
                return answer
            fallback_params = [
                *params,
                ("ErrorCode", str(HTTP_RETRIEVAL_FAILURE)),
                ("ErrorUrl", urldefrag(target.url).url),
            ]
            return await self._attempt(
                session,
                target.fallback_url,
                target.fallback_method,
                fallback_params,
                auth_token=auth_token,
                idempotency_token=idempotency_token,
                message=message,
                attempt=2,
            )

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        configured_url: str,
        method: str,
        params: Sequence[tuple[str, str]],
        *,
        auth_token: str,
        idempotency_token: str,
        message: Message,
        attempt: int = 1,
    ) -> Answer:
        url = urldefrag(configured_url).url
        if method == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
            signature = twilio_signature(url, None, auth_token)
            data = None
        else:
            signature = twilio_signature(url, list(params), auth_token)
            data = urlencode(params)
        headers = {
            "X-Twilio-Signature": signature,
            "I-Twilio-Idempotency-Token": idempotency_token,
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
        }
        if data is not None:
            headers["Content-Type"] = FORM_CONTENT_TYPE
        started, at = time.perf_counter(), self._clock.now()
        status: int | None = None
        error: str | None = None
        content_type: str | None = None
        body = b""
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status, content_type = response.status, response.headers.get("Content-Type")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivery = WebhookDelivery(
            url=url,
            params=dict(params),
            signature=signature,
            idempotency_token=idempotency_token,
            account_sid=message.account_sid,
            resource_sid=message.sid,
            event="incoming" if attempt == 1 else "incoming-fallback",
            attempt=attempt,
            status_code=status,
            error=error,
            latency_ms=(time.perf_counter() - started) * 1000,
            at=at,
            method=method,
            response_excerpt=body[:RESPONSE_EXCERPT_CHARS].decode("utf-8", "replace"),
        )
        self._log.record(delivery)
        return Answer(delivery, content_type, body)
