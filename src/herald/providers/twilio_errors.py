"""Twilio's failures as Herald's `ProviderError`s: answered errors, and requests that got none.

Answered errors (TWILIO-API.md §6): the body is `{"code", "message", "more_info", "status"}`.
Whether the same request may simply be sent again depends on the code and the HTTP status:

- 429, or code 20429: retryable. Too many concurrent requests; Twilio did not process it (§16).
- 5xx, or code 20500 / 20503: retryable. Twilio failed or is unavailable; nothing was created.
- Any other 4xx (21211 invalid `To`, 21606 `From` not the account's, 21610 opted out, 21408,
  21612, 21614, 21617, ...): permanent. The request itself is refused; resending cannot help.

Requests without an answer are sorted by how far they got, which aiohttp tells apart:

- `ClientConnectorError` (refused, DNS, TLS handshake, proxy) and `ConnectionTimeoutError`
  (connect, or the wait for a pooled connection): `ProviderUnavailable`. No connection was
  made, so nothing was sent.
- Any failure on a read (GET): `ProviderUnavailable`. Repeating a read changes nothing.
- Any other failure before a byte of the body left the client: `ProviderUnavailable`. Twilio
  cannot act on a POST whose form it never received.
- Otherwise (`SocketTimeoutError` or the total `TimeoutError` while waiting for the answer,
  `ServerDisconnectedError`: closed without an answer, `ClientOSError`: reset,
  `ClientPayloadError`: answer cut short): `AmbiguousSend`. The request may have been carried
  out; its answer was lost.

"Left the client" is `aiohttp.UploadTracker.bytes_written` (aiohttp 3.14): the body bytes handed
to the kernel. Zero means the server cannot have the whole form; more than zero means it may.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp

from herald.errors import AmbiguousSend, ConfigurationError, ProviderError, ProviderUnavailable

TOO_MANY_REQUESTS: Final = 429
SERVER_ERROR_MIN: Final = 500
RETRYABLE_CODES: Final = frozenset({20429, 20500, 20503})
_EXCERPT_CHARS: Final = 200


def is_retryable(status: int, provider_code: int | None) -> bool:
    """Whether an answered error may be retried unchanged (the table in the module docstring)."""
    if provider_code in RETRYABLE_CODES:
        return True
    return status == TOO_MANY_REQUESTS or status >= SERVER_ERROR_MIN


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110).

    A date in the past means "now" (0). An unreadable value is ignored (`None`), so the caller's
    own backoff applies.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def error_from_answer(
    status: int, raw: bytes, retry_after: str | None, *, what: str, now: datetime
) -> ProviderError:
    """The `ProviderError` for an error answer (status ≥ 400) with body `raw`."""
    code: int | None = None
    message = ""
    more_info: str | None = None
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        message = str(body.get("message") or "")
        info = body.get("more_info")
        more_info = info if isinstance(info, str) else None
    else:
        # A proxy or load balancer in front of Twilio can answer with HTML or plain text.
        message = raw[:_EXCERPT_CHARS].decode("utf-8", "replace").strip()
    retryable = is_retryable(status, code)
    label = f"Twilio error {code}" if code is not None else f"HTTP {status}"
    advice = "it may be retried after a pause" if retryable else "resending it will not help"
    return ProviderError(
        f"{what} failed: {label} (HTTP {status}): {message.rstrip('.') or 'no message'}; {advice}.",
        provider_code=code,
        status=status,
        message=message,
        more_info=more_info,
        retryable=retryable,
        retry_after=parse_retry_after(retry_after, now) if retryable else None,
    )


def error_without_answer(
    exc: BaseException, *, what: str, idempotent: bool, body_bytes_sent: int
) -> ProviderError | ConfigurationError:
    """The error for a request that got no answer, by how far it got (module docstring)."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return ConfigurationError(
            f"{what}: the provider's URL cannot be used ({reason}); check the base URL setting."
        )
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return ProviderUnavailable(
            f"{what}: could not connect to the provider ({reason}); the request was not sent."
        )
    if idempotent:
        return ProviderUnavailable(
            f"{what}: no answer from the provider ({reason}); a read may be repeated."
        )
    if body_bytes_sent == 0:
        return ProviderUnavailable(
            f"{what}: the connection failed before the request was sent ({reason})."
        )
    return AmbiguousSend(
        f"{what}: the request was sent but no answer came back ({reason}); it may have been "
        "carried out, so look it up before sending it again."
    )


def unreadable_success(status: int, raw: bytes, *, what: str, idempotent: bool) -> ProviderError:
    """The error for a 2xx answer whose body is not the expected JSON object."""
    excerpt = raw[:_EXCERPT_CHARS].decode("utf-8", "replace")
    detail = f"{what}: HTTP {status} with a body that is not a JSON object: {excerpt!r}"
    if idempotent:
        return ProviderUnavailable(detail + "; a read may be repeated.")
    # The provider accepted the request, but we cannot tell what it created.
    return AmbiguousSend(detail + "; look the result up before sending it again.")
