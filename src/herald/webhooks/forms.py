"""Reading a Twilio webhook request: its form, within limits, and the URL Twilio signed.

Twilio posts `application/x-www-form-urlencoded` UTF-8 forms of a few kilobytes. Anything else
is refused with a 4xx before it is parsed (`Rejected`): a body over `MAX_BODY_BYTES` (413),
another content type or a charset other than UTF-8 (415), a form that is not UTF-8, has too
many fields or ends before its `Content-Length` (400). Parameters Herald does not know are
kept: Twilio adds new ones without notice, and the signature covers every parameter received.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.requests import ClientDisconnect

from herald.settings import Settings

MAX_BODY_BYTES: Final = 64 * 1024
MAX_FIELDS: Final = 500
FORM_TYPE: Final = "application/x-www-form-urlencoded"
MAX_VALUE_LENGTH: Final = 64
_UTF8_NAMES: Final = frozenset({"utf-8", "utf8", "us-ascii"})


class Rejected(Exception):
    """The request is refused with `status`; `reason` is the short text answered.

    `outcome` names the refusal for the operator's counter (outcomes.py): a fixed word such as
    `bad_signature`, never anything taken from the request.
    """

    def __init__(self, status: int, reason: str, outcome: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.outcome = outcome


class Form:
    """The parameters of a webhook, in the order sent, with repeated names kept."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name, value)

    def get(self, name: str, default: str = "") -> str:
        """The first value of `name`, or `default`."""
        return self._first.get(name, default)

    def required(self, name: str, *, max_length: int = MAX_VALUE_LENGTH) -> str:
        """The value of `name`; a 400 when it is missing, empty or over `max_length`.

        The default limit suits identifiers and numbers (Twilio's SIDs have 34 characters,
        addresses at most `whatsapp:` and 15 digits); Herald stores them in columns that size.
        """
        value = self._first.get(name, "")
        if not value:
            raise Rejected(400, f"The webhook has no {name}.", "missing_parameter")
        if len(value) > max_length:
            raise Rejected(
                400, f"{name} is longer than {max_length} characters.", "invalid_parameter"
            )
        return value


async def read_form(request: Request) -> Form:
    """The request's form, or `Rejected` saying why it cannot be read."""
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    content_type = media_type.strip().lower()
    if content_type != FORM_TYPE:
        raise Rejected(
            415,
            f"Twilio webhooks are {FORM_TYPE}; got {content_type or 'none'}.",
            "unsupported_media_type",
        )
    charset = _charset(parameters)
    if charset is not None and charset not in _UTF8_NAMES:
        # Twilio sends UTF-8; a form in another charset would be misread, not refused later.
        raise Rejected(415, f"Twilio webhooks are UTF-8; got charset {charset}.", "wrong_charset")
    body = await _body(request)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise Rejected(400, "The form is not UTF-8.", "malformed_form") from None
    except ValueError:
        raise Rejected(
            400, f"The form has more than {MAX_FIELDS} fields.", "malformed_form"
        ) from None
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        # Twilio never sends NUL, and PostgreSQL cannot store it in text.
        raise Rejected(400, "The form contains a NUL character.", "malformed_form")
    return Form(pairs)


async def _body(request: Request) -> bytearray:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Rejected(400, "Content-Length is not a number.", "malformed_form")
        if int(declared) > MAX_BODY_BYTES:
            raise Rejected(413, f"The body is over {MAX_BODY_BYTES} bytes.", "too_large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise Rejected(413, f"The body is over {MAX_BODY_BYTES} bytes.", "too_large")
    except ClientDisconnect:
        # The sender went away mid-body: nothing to answer, but counted, never a traceback.
        raise Rejected(400, "The body ended before its announced length.", "truncated") from None
    return body


def _charset(parameters: list[str]) -> str | None:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def signed_urls(request: Request, settings: Settings) -> list[str]:
    """The URLs Twilio may have signed this request with, the likeliest first.

    Twilio signs the URL it requested. Behind a proxy that is not the URL Herald sees, so
    Herald checks the public base URL (`HERALD_PUBLIC_URL`, else `http://HOST:PORT`) with the
    request's path and query; and, when the request comes from one of `HERALD_TRUSTED_PROXIES`,
    the scheme and host in its `X-Forwarded-Proto` and `X-Forwarded-Host` first. A header from
    anyone else is ignored: it would let a client choose the URL that is checked.
    """
    scope = request.scope
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = scope.get("query_string", b"").decode("latin-1")
    tail = path + (f"?{query}" if query else "")
    urls = []
    forwarded = _forwarded_base(request, settings.trusted_proxies)
    if forwarded is not None:
        urls.append(forwarded + tail)
    configured = settings.base_url + tail
    if configured not in urls:
        urls.append(configured)
    return urls


def _forwarded_base(request: Request, trusted: tuple[str, ...]) -> str | None:
    peer = request.client.host if request.client is not None else None
    if peer is None or not _is_trusted(peer, trusted):
        return None
    host = _first(request.headers.get("x-forwarded-host"))
    if not host:
        return None
    proto = (_first(request.headers.get("x-forwarded-proto")) or request.url.scheme).lower()
    return f"{proto}://{host}"


def _first(value: str | None) -> str:
    # A chain of proxies appends; the first value is what the client (Twilio) used.
    return "" if value is None else value.split(",")[0].strip()


def _is_trusted(peer: str, trusted: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return peer in trusted
    for entry in trusted:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            if entry == peer:
                return True
    return False
