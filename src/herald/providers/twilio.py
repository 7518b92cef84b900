"""Herald's async client for Twilio's REST API (2010-04-01 and messaging v1), on aiohttp.

The client receives its `aiohttp.ClientSession` (one per process, shared, closed by its owner)
and never builds one. aiohttp rather than httpx because the worker's outbound POSTs are the hot
path and aiohttp is about 20x faster at them here (`reference/PERF-FLOOR.md`,
`bench/http_clients.py`).

Sends are attempted once: a retry of a send must go through the outbox, where the attempt is
recorded first. Reads (GET) are retried a few times inside, since repeating them changes
nothing. Failures are `ProviderError`s, sorted by `herald.providers.twilio_errors`.

The base URLs are settings, so the same code talks to Twilio or to Herald's emulator (which
serves every product on one host: with a non-default `base_url` the messaging product defaults
to the same host).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
import yarl

from herald import __version__
from herald.errors import AmbiguousSend, InvalidInput, ProviderError
from herald.providers import twilio_wire as wire
from herald.providers.lookup import MessageLookup
from herald.providers.models import (
    AvailableNumber,
    IncomingNumber,
    MessagingService,
    ProviderMessage,
    SendRequest,
    ServiceNumber,
)
from herald.providers.port import DEFAULT_MAX_SCAN, DEFAULT_PAGE_SIZE
from herald.providers.retry import RetryPolicy
from herald.providers.twilio_errors import (
    error_from_answer,
    error_without_answer,
    unreadable_success,
)

TWILIO_API_URL: Final = "https://api.twilio.com"
TWILIO_MESSAGING_URL: Final = "https://messaging.twilio.com"
API_VERSION: Final = "2010-04-01"
MAX_PAGE_SIZE: Final = 1000
# Connect (including the wait for a pooled connection) is bounded tightly: failing there is
# always safe to retry. The total bounds a slow answer; a time-out after the request was
# written is an AmbiguousSend, so it is kept well above Twilio's usual answer times.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=30, connect=10)
# Reads retried inside the client: three attempts within about a second.
DEFAULT_READ_RETRY: Final = RetryPolicy(base_delay=0.2, max_delay=1.0, max_attempts=3)
USER_AGENT: Final = f"herald/{__version__} aiohttp/{aiohttp.__version__}"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
_HTTP_ERROR_MIN: Final = 400
_NO_CONTENT: Final = 204

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class TwilioCredentials:
    """Who Herald is at Twilio (TWILIO-API.md §1).

    Either the account's own SID and auth token, or an API key (`SK…` and its secret) acting on
    the account `account_sid` (the key is the Basic-auth user; the account is in every path).
    Build them with `TwilioCredentials.auth_token(...)` or `TwilioCredentials.api_key(...)`.
    """

    account_sid: str
    secret: str = dataclasses.field(repr=False)
    api_key_sid: str | None = None

    def __post_init__(self) -> None:
        if not _ACCOUNT_SID.fullmatch(self.account_sid):
            raise InvalidInput(
                f"{self.account_sid!r} is not a Twilio account SID: expected AC followed by 32 "
                "hex digits (Twilio Console, Account Info)."
            )
        if self.api_key_sid is not None and not _API_KEY_SID.fullmatch(self.api_key_sid):
            raise InvalidInput(
                f"{self.api_key_sid!r} is not a Twilio API key SID: expected SK followed by 32 "
                "hex digits."
            )
        if not self.secret:
            raise InvalidInput("The Twilio auth token or API key secret is empty.")

    @classmethod
    def auth_token(cls, account_sid: str, auth_token: str) -> TwilioCredentials:
        """The account's SID and auth token."""
        return cls(account_sid=account_sid, secret=auth_token)

    @classmethod
    def api_key(cls, account_sid: str, key_sid: str, secret: str) -> TwilioCredentials:
        """An API key and its secret, acting on `account_sid`."""
        return cls(account_sid=account_sid, secret=secret, api_key_sid=key_sid)

    @property
    def username(self) -> str:
        """The HTTP Basic user: the API key when there is one, else the account."""
        return self.api_key_sid or self.account_sid

    def authorization(self) -> str:
        """The `Authorization` header value."""
        token = base64.b64encode(f"{self.username}:{self.secret}".encode()).decode("ascii")
        return f"Basic {token}"


class TwilioClient:
    """Twilio's Messages, phone numbers and Messaging Services, as far as Herald needs them.

    Implements `MessagingProvider`. `timeout` applies to each request; `read_retry` governs the
    internal retries of GETs, waiting with `sleep`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: TwilioCredentials,
        *,
        base_url: str = TWILIO_API_URL,
        messaging_base_url: str | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        read_retry: RetryPolicy = DEFAULT_READ_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._credentials = credentials
        self._base_url = base_url.rstrip("/")
        if messaging_base_url is None:
            messaging_base_url = (
                TWILIO_MESSAGING_URL if self._base_url == TWILIO_API_URL else self._base_url
            )
        self._messaging_url = messaging_base_url.rstrip("/")
        self._timeout = timeout
        self._read_retry = read_retry
        self._sleep = sleep
        self._authorization = credentials.authorization()
        self._account_path = f"/{API_VERSION}/Accounts/{credentials.account_sid}"

    @property
    def account_sid(self) -> str:
        """The account every request acts on."""
        return self._credentials.account_sid

    # -- messages ---------------------------------------------------------------------------

    async def send_message(self, request: SendRequest) -> ProviderMessage:
        """Create a message (one attempt). `AmbiguousSend`: look it up before sending again."""
        data = await self._call(
            "POST",
            self._api(f"{self._account_path}/Messages.json"),
            what=f"Sending a message to {request.to}",
            form=wire.send_form(request),
        )
        return self._read(wire.message_from_json, data, "Message", created=True)

    async def fetch_message(self, sid: str) -> ProviderMessage:
        """The message `sid` as Twilio reports it now."""
        data = await self._call(
            "GET",
            self._api(f"{self._account_path}/Messages/{quote(sid, safe='')}.json"),
            what=f"Fetching message {sid}",
        )
        return self._read(wire.message_from_json, data, "Message")

    async def list_messages(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        date_sent_after: datetime | None = None,
        date_sent_before: datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[ProviderMessage]:
        """The account's messages, newest first, following `next_page_uri` to the end.

        `date_sent_after`/`date_sent_before` are Twilio's `DateSent>`/`DateSent<` (inclusive);
        a message not yet sent has no `date_sent` and is left out by them.
        """
        _check_page_size(page_size)
        query = wire.optional_fields(
            {
                "To": to,
                "From": from_,
                "DateSent>": None if date_sent_after is None else wire.instant(date_sent_after),
                "DateSent<": None if date_sent_before is None else wire.instant(date_sent_before),
                "PageSize": str(page_size),
            }
        )
        url = self._api(f"{self._account_path}/Messages.json", query)
        async for item in self._pages(url, "messages", what="Listing messages"):
            yield self._read(wire.message_from_json, item, "Message")

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
        """The message a send attempt created, if Twilio has it (see `MessageLookup`).

        Lists by `To` (and `From` when given) without a `DateSent` filter: a message created a
        moment ago is usually still queued, without a `date_sent`, and `DateSent` would hide it.
        The window is checked on `date_created` instead, over at most `max_scan` messages.
        """
        lookup = MessageLookup(
            to=to,
            from_=from_,
            body=body,
            created_after=created_after,
            created_before=created_before,
            messaging_service_sid=messaging_service_sid,
        )
        scanned = 0
        page_size = min(max(max_scan, 1), MAX_PAGE_SIZE)
        async for message in self.list_messages(to=to, from_=from_, page_size=page_size):
            if lookup.matches(message):
                return message
            scanned += 1
            if scanned >= max_scan:
                break
        return None

    # -- phone numbers and Messaging Services (what the sandbox set-up needs) ----------------

    async def list_available_numbers(
        self,
        country: str = "US",
        *,
        kind: str = "Local",
        area_code: str | None = None,
        contains: str | None = None,
        sms_enabled: bool | None = True,
        page_size: int = 20,
    ) -> list[AvailableNumber]:
        """Numbers on sale in `country` of `kind` (`Local`, `Mobile` or `TollFree`)."""
        _check_page_size(page_size)
        query = wire.optional_fields(
            {
                "AreaCode": area_code,
                "Contains": contains,
                "SmsEnabled": None if sms_enabled is None else wire.boolean(sms_enabled),
                "PageSize": str(page_size),
            }
        )
        path = f"{self._account_path}/AvailablePhoneNumbers/{quote(country)}/{quote(kind)}.json"
        data = await self._call("GET", self._api(path, query), what="Searching numbers")
        items = data.get("available_phone_numbers")
        if not isinstance(items, list):
            raise _malformed("AvailablePhoneNumbers list", data)
        return [self._read(wire.available_number_from_json, item, "number") for item in items]

    async def purchase_number(
        self,
        *,
        phone_number: str | None = None,
        area_code: str | None = None,
        friendly_name: str | None = None,
        sms_url: str | None = None,
        sms_method: str | None = None,
        status_callback: str | None = None,
    ) -> IncomingNumber:
        """Buy `phone_number` (or any number in `area_code`), optionally with its webhooks."""
        if (phone_number is None) == (area_code is None):
            raise InvalidInput("Buy a number by giving exactly one of phone_number or area_code.")
        form = wire.optional_fields(
            {
                "PhoneNumber": phone_number,
                "AreaCode": area_code,
                "FriendlyName": friendly_name,
                "SmsUrl": sms_url,
                "SmsMethod": sms_method,
                "StatusCallback": status_callback,
            }
        )
        data = await self._call(
            "POST",
            self._api(f"{self._account_path}/IncomingPhoneNumbers.json"),
            what=f"Buying {phone_number or 'a number in area code ' + str(area_code)}",
            form=form,
        )
        return self._read(wire.incoming_number_from_json, data, "IncomingPhoneNumber", created=True)

    async def list_incoming_numbers(
        self, *, phone_number: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> list[IncomingNumber]:
        """The account's numbers (every page), optionally only those matching `phone_number`."""
        _check_page_size(page_size)
        query = wire.optional_fields({"PhoneNumber": phone_number, "PageSize": str(page_size)})
        url = self._api(f"{self._account_path}/IncomingPhoneNumbers.json", query)
        return [
            self._read(wire.incoming_number_from_json, item, "IncomingPhoneNumber")
            async for item in self._pages(url, "incoming_phone_numbers", what="Listing numbers")
        ]

    async def update_incoming_number(
        self,
        sid: str,
        *,
        friendly_name: str | None = None,
        sms_url: str | None = None,
        sms_method: str | None = None,
        status_callback: str | None = None,
    ) -> IncomingNumber:
        """Change a number's webhooks (`""` clears a URL; `None` leaves it as it is)."""
        form = wire.optional_fields(
            {
                "FriendlyName": friendly_name,
                "SmsUrl": sms_url,
                "SmsMethod": sms_method,
                "StatusCallback": status_callback,
            }
        )
        data = await self._call(
            "POST",
            self._api(f"{self._account_path}/IncomingPhoneNumbers/{quote(sid, safe='')}.json"),
            what=f"Updating number {sid}",
            form=form,
        )
        return self._read(wire.incoming_number_from_json, data, "IncomingPhoneNumber")

    async def create_messaging_service(
        self,
        friendly_name: str,
        *,
        inbound_request_url: str | None = None,
        status_callback: str | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> MessagingService:
        """Create a Messaging Service."""
        form = wire.optional_fields(
            {
                "FriendlyName": friendly_name,
                "InboundRequestUrl": inbound_request_url,
                "StatusCallback": status_callback,
                "UseInboundWebhookOnNumber": (
                    None
                    if use_inbound_webhook_on_number is None
                    else wire.boolean(use_inbound_webhook_on_number)
                ),
            }
        )
        data = await self._call(
            "POST",
            self._messaging("/v1/Services"),
            what=f"Creating Messaging Service {friendly_name!r}",
            form=form,
        )
        return self._read(wire.service_from_json, data, "Messaging Service", created=True)

    async def add_number_to_service(self, service_sid: str, number_sid: str) -> ServiceNumber:
        """Put the account's number `number_sid` (`PN…`) into the Service's sender pool."""
        data = await self._call(
            "POST",
            self._messaging(f"/v1/Services/{quote(service_sid, safe='')}/PhoneNumbers"),
            what=f"Adding {number_sid} to Messaging Service {service_sid}",
            form=[("PhoneNumberSid", number_sid)],
        )
        return self._read(wire.service_number_from_json, data, "Service PhoneNumber")

    # -- HTTP -------------------------------------------------------------------------------

    def _api(self, path: str, query: wire.FormPairs | None = None) -> yarl.URL:
        return _url(self._base_url + path, query)

    def _messaging(self, path: str) -> yarl.URL:
        return _url(self._messaging_url + path, None)

    async def _pages(self, url: yarl.URL, key: str, *, what: str) -> AsyncIterator[Any]:
        """Every item of a 2010-04-01 list, following the relative `next_page_uri`."""
        next_url: yarl.URL | None = url
        while next_url is not None:
            data = await self._call("GET", next_url, what=what)
            items = data.get(key)
            if not isinstance(items, list):
                raise _malformed(f"{key} list", data)
            for item in items:
                yield item
            next_uri = data.get("next_page_uri")
            # The link is already encoded by Twilio: send it back exactly as given.
            next_url = (
                yarl.URL(self._base_url + next_uri, encoded=True)
                if isinstance(next_uri, str) and next_uri
                else None
            )

    async def _call(
        self,
        method: str,
        url: yarl.URL,
        *,
        what: str,
        form: wire.FormPairs | None = None,
    ) -> dict[str, Any]:
        if method != "GET":
            return await self._attempt(method, url, what=what, form=form)
        attempt = 1
        while True:
            try:
                return await self._attempt(method, url, what=what, form=form)
            except ProviderError as error:
                wait = self._read_retry.after_failure(attempt, error)
                if wait is None:
                    raise
            await self._sleep(wait)
            attempt += 1

    async def _attempt(
        self, method: str, url: yarl.URL, *, what: str, form: wire.FormPairs | None
    ) -> dict[str, Any]:
        idempotent = method == "GET"
        headers = {
            "Authorization": self._authorization,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        data: bytes | None = None
        tracker: aiohttp.UploadTracker | None = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # Tells how much of the body reached the kernel when a connection breaks: the
            # line between "not sent" and "may have been carried out" (twilio_errors).
            tracker = aiohttp.UploadTracker()
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                upload_tracker=tracker,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            sent = 0 if tracker is None else tracker.bytes_written
            raise error_without_answer(
                exc, what=what, idempotent=idempotent, body_bytes_sent=sent
            ) from exc
        if status >= _HTTP_ERROR_MIN:
            raise error_from_answer(status, raw, retry_after, what=what, now=datetime.now(UTC))
        if status == _NO_CONTENT:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise unreadable_success(status, raw, what=what, idempotent=idempotent)
        return body

    @staticmethod
    def _read(
        parse: Callable[[dict[str, Any]], T], data: Any, resource: str, *, created: bool = False
    ) -> T:
        """`data` parsed as `resource`; when a create's answer cannot be read, it is ambiguous."""
        try:
            if not isinstance(data, dict):
                raise _not_an_object(data)
            return parse(data)
        except (TypeError, ValueError) as exc:
            detail = (
                f"Twilio answered with a {resource} Herald cannot read ({exc}): {str(data)[:200]!r}"
            )
            if created:
                raise AmbiguousSend(
                    detail + "; it was probably created, so look it up before sending it again."
                ) from exc
            raise ProviderError(detail + ".", retryable=False) from exc


def _url(address: str, query: wire.FormPairs | None) -> yarl.URL:
    if query:
        address = f"{address}?{urlencode(query)}"
    return yarl.URL(address, encoded=True)


def _not_an_object(data: Any) -> TypeError:
    return TypeError(f"expected a JSON object, got {type(data).__name__}")


def _check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size is {page_size}; Twilio pages hold 1 to {MAX_PAGE_SIZE}.")


def _malformed(resource: str, data: Any) -> ProviderError:
    return ProviderError(
        f"Twilio answered with a {resource} Herald cannot read: {str(data)[:200]!r}.",
        retryable=False,
    )
