"""Twilio Verify v2 (`https://verify.twilio.com/v2`), as far as Herald's verifications need it.

Create a Service (once per tenant), start a verification, check a code. Twilio makes, sends
and checks the code; Herald never sees it. Facts (TWILIO-API.md §8): a check of a wrong code
answers 2xx with `status: pending`; the sixth check is 429 / 60202 and the sixth send
429 / 60203; an approved, expired or canceled verification is gone (404 / 20404).

Nothing here is retried: a repeated start would send another code, and a repeated check would
spend another of the five attempts.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import yarl

from herald.errors import ProviderError
from herald.providers.twilio import (
    DEFAULT_TIMEOUT,
    TWILIO_API_URL,
    USER_AGENT,
    TwilioCredentials,
)
from herald.providers.twilio_errors import (
    error_from_answer,
    error_without_answer,
    unreadable_success,
)

VERIFY_URL: Final = "https://verify.twilio.com"
_HTTP_ERROR_MIN: Final = 400
MAX_FRIENDLY_NAME: Final = 30
"""The create doc says 32, but the schema and error 60200 say 30 (TWILIO-API.md §8)."""


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyVerification:
    """A verification as Twilio Verify reports it (never with its code)."""

    sid: str
    to: str
    channel: str
    status: str
    valid: bool


def verify_base_url(api_base_url: str) -> str:
    """Where Verify answers: its own host for Twilio, the same host for the emulator."""
    base = api_base_url.rstrip("/")
    return VERIFY_URL if base == TWILIO_API_URL else base


class TwilioVerifyClient:
    """Twilio Verify v2 on a shared aiohttp session, for one account."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        credentials: TwilioCredentials,
        *,
        base_url: str = VERIFY_URL,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._authorization = credentials.authorization()
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    async def create_service(self, friendly_name: str, *, code_length: int) -> str:
        """Create a Verify Service; its SID (`VA...`)."""
        data = await self._post(
            "/v2/Services",
            [("FriendlyName", friendly_name[:MAX_FRIENDLY_NAME]), ("CodeLength", str(code_length))],
            what="Creating a Verify Service",
        )
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid.startswith("VA"):
            raise ProviderError(f"Twilio answered a Service without a VA sid: {str(data)[:200]!r}.")
        return sid

    async def start(self, service_sid: str, to: str, channel: str) -> VerifyVerification:
        """Start a verification of `to` on `channel` (a resend when one is pending)."""
        data = await self._post(
            f"/v2/Services/{service_sid}/Verifications",
            [("To", to), ("Channel", channel)],
            what="Starting a verification",
        )
        return _verification(data)

    async def check(
        self,
        service_sid: str,
        code: str,
        *,
        to: str | None = None,
        verification_sid: str | None = None,
    ) -> VerifyVerification:
        """Check `code` against the verification given by SID (preferred) or by number."""
        form = [("Code", code)]
        form.append(("VerificationSid", verification_sid) if verification_sid else ("To", to or ""))
        data = await self._post(
            f"/v2/Services/{service_sid}/VerificationCheck", form, what="Checking a code"
        )
        return _verification(data)

    async def _post(self, path: str, form: list[tuple[str, str]], *, what: str) -> dict[str, Any]:
        headers = {
            "Authorization": self._authorization,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = urlencode(form).encode()
        tracker = aiohttp.UploadTracker()
        try:
            async with self._session.post(
                yarl.URL(self._base_url + path, encoded=True),
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                upload_tracker=tracker,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise error_without_answer(
                exc, what=what, idempotent=False, body_bytes_sent=tracker.bytes_written
            ) from exc
        if status >= _HTTP_ERROR_MIN:
            raise error_from_answer(status, raw, retry_after, what=what, now=datetime.now(UTC))
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise unreadable_success(status, raw, what=what, idempotent=False)
        return data


def _verification(data: dict[str, Any]) -> VerifyVerification:
    try:
        return VerifyVerification(
            sid=str(data["sid"]),
            to=str(data["to"]),
            channel=str(data["channel"]),
            status=str(data["status"]),
            valid=bool(data.get("valid", False)),
        )
    except KeyError as exc:
        raise ProviderError(
            f"Twilio answered a verification without {exc.args[0]!r}: {str(data)[:200]!r}."
        ) from None
