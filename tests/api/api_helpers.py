"""Values shared by the API tests: a clock the tests move, and request builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from herald.domain.records import Tenant

NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
NL_MOBILE = "+31612345678"
NL_SENDER = "+31687654321"
US_MOBILE = "+12015550123"
MG = "MG" + "0123456789abcdef" * 2
CONTENT_SID = "HX" + "0123456789abcdef" * 2
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Caller:
    """A tenant and an HTTP client that authenticates with one of its keys."""

    tenant: Tenant
    key: str
    http: httpx.AsyncClient


class ManualClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` on."""
        self.now += timedelta(seconds=seconds)


def sms(**fields: Any) -> dict[str, Any]:
    """A valid SMS request to a Dutch mobile, with `fields` changed."""
    request: dict[str, Any] = {
        "channel": "sms",
        "to": NL_MOBILE,
        "body": "Your parcel arrives today.",
    }
    request.update(fields)
    return {key: value for key, value in request.items() if value is not None}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check that `response` is a problem document with this status and code; return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["code"] == code
    assert document["type"] == f"https://herald.dev/problems/{code}"
    assert document["title"]
    assert document["detail"]
    return document
