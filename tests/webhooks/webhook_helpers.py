"""Helpers for the webhook tests: an in-process ASGI client and signed Twilio requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI

from herald.domain.signatures import twilio_signature

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PUBLIC_URL = "https://herald.example.com"
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "b" * 32
TWILIO_PEER = ("203.0.113.9", 40000)


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the app answered."""

    status: int
    headers: dict[str, str]
    body: str


async def post(
    app: FastAPI,
    path: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    query: str = "",
    client: tuple[str, int] = TWILIO_PEER,
) -> Answer:
    """POST `body` to `app` through the ASGI interface, as a server would."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": client,
        "server": ("127.0.0.1", 8800),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    answer_headers = {name.decode(): value.decode() for name, value in start["headers"]}
    return Answer(start["status"], answer_headers, content.decode())


async def twilio_post(
    app: FastAPI,
    path: str,
    params: Sequence[tuple[str, str]],
    *,
    token: str = AUTH_TOKEN,
    signed_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    client: tuple[str, int] = TWILIO_PEER,
) -> Answer:
    """POST a form signed as Twilio signs it (over `signed_url`, by default the public URL)."""
    url = signed_url or PUBLIC_URL + path
    all_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(url, list(params), token),
        **(headers or {}),
    }
    return await post(app, path, urlencode(params).encode(), all_headers, client=client)


def status_form(sid: str, status: str, **extra: str) -> list[tuple[str, str]]:
    """A status callback's parameters."""
    return [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("From", "+14155550100"),
        ("To", "+31612345678"),
        ("ApiVersion", "2010-04-01"),
        *extra.items(),
    ]


def inbound_form(
    body: str,
    *,
    from_: str = "+31612345678",
    to: str = "+3197010260000",
    sid: str = "SM" + "1" * 32,
) -> list[tuple[str, str]]:
    """An inbound message's parameters."""
    return [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("SmsMessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from_),
        ("To", to),
        ("Body", body),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ]
