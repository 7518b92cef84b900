"""Plain HTTP calls to the emulator (the standard library only), validated as they arrive.

For what the twilio client hides: status codes, headers, list envelopes, bad input. Every JSON
answer from a Twilio path is checked with `openapi.assert_response` unless `validate=False`
(used only for responses that are not Twilio's, such as the control API or a test's own route).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.emulator.openapi import assert_response, assert_twilio_error

TIMEOUT = 10.0
TWILIO_PREFIXES = ("/2010-04-01/", "/v1/", "/v2/")
ERROR_STATUS = 400


@dataclasses.dataclass(frozen=True)
class Reply:
    """One HTTP response."""

    status: int
    headers: Message
    raw: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.raw)


def basic(username: str, password: str) -> str:
    """An HTTP Basic `Authorization` header value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def call(
    method: str,
    url: str,
    *,
    auth: tuple[str, str] | None = None,
    form: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    validate: bool = True,
) -> Reply:
    """Send one request; 4xx/5xx answers are returned, not raised."""
    data = body
    request_headers = dict(headers or {})
    if form is not None:
        data = urlencode(form).encode("utf-8")
        request_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if auth is not None:
        request_headers["Authorization"] = basic(*auth)
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)  # noqa: S310 - the tests' own loopback URL
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - same
            reply = Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            reply = Reply(exc.code, exc.headers, exc.read())
    if validate:
        _validate(method, url, reply)
    return reply


def _validate(method: str, url: str, reply: Reply) -> None:
    if not reply.raw:
        assert_response(method, url, reply.status, None)
        return
    content_type = reply.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), f"not JSON: {content_type!r}"
    path = urlsplit(url).path
    if path.startswith(TWILIO_PREFIXES):
        assert_response(method, url, reply.status, reply.json)
    else:
        assert reply.status >= ERROR_STATUS, f"{path} is not Twilio's: call it with validate=False"
        assert_twilio_error(reply.status, reply.json)
