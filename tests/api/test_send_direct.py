"""`POST /v1/messages` read directly or by FastAPI: the same answers either way.

A well-formed, authenticated send (`Content-Type: application/json` exactly, no query string)
is answered by the `DirectSend` middleware, ahead of FastAPI's routing; any other goes on to
the route and FastAPI's dependencies. A media type
parameter (`; charset=utf-8`) is enough to take the second path with the same request, so
each request here is sent both ways and the answers compared.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from herald.api.auth import authenticated_tenant
from herald.api.deps import ApiDeps
from herald.domain.phone import Channel
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import OptOutSource
from tests.api.api_helpers import NL_MOBILE, NOW, Caller, sms

DIRECT = "application/json"
DECLARED = "application/json; charset=utf-8"
# Values that differ between two accepted messages, whichever path accepted them.
_FRESH = ("id", "created_at", "updated_at")


async def _post(
    caller: Caller, body: Any, content_type: str, **headers: str
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = await caller.http.post(
        "/v1/messages",
        content=json.dumps(body).encode(),
        headers={"Content-Type": content_type, **headers},
    )
    answer = response.json()
    fresh = {name: answer.pop(name, None) for name in _FRESH}
    return response.status_code, answer, fresh


@pytest.mark.parametrize(
    "body",
    [
        sms(),
        sms(to="06 12345678", body="Het pakket komt 🚚", metadata={"order": "4471"}),
        sms(body=None, template="otp", variables={"code": "123456"}),
        sms(send_at="2030-02-01T09:30:00+02:00"),
        sms(to="+31201234567"),  # a landline: refused by the sending rules
        sms(channel="whatsapp"),  # no open window
        sms(to=f"whatsapp:{NL_MOBILE}"),  # channel mismatch
        sms(body=""),
    ],
    ids=[
        "plain",
        "ucs2-metadata",
        "template",
        "scheduled",
        "landline",
        "window",
        "mismatch",
        "empty",
    ],
)
async def test_both_paths_answer_alike(alice: Caller, body: dict[str, Any]) -> None:
    """Status, message fields, warnings and problems are the same on both paths."""
    status, direct, _ = await _post(alice, body, DIRECT)
    declared_status, declared, _ = await _post(alice, body, DECLARED)
    assert (status, direct) == (declared_status, declared)


async def test_an_opted_out_recipient_is_refused_alike(alice: Caller, deps: ApiDeps) -> None:
    """The opt-out read in the committing transaction gives the same problem on both paths."""
    await deps.opt_outs.set(
        alice.tenant.id, Channel.SMS, NL_MOBILE, opted_out=True, source=OptOutSource.API, now=NOW
    )
    direct = await _post(alice, sms(), DIRECT)
    declared = await _post(alice, sms(), DECLARED)
    assert direct[0] == declared[0] == 422
    assert direct[1] == declared[1]
    assert direct[1]["code"] == "recipient_opted_out"


async def test_idempotency_keys_work_alike(alice: Caller) -> None:
    """A key replays across the two paths, and a bad key is the same problem on both."""
    first = await _post(alice, sms(), DIRECT, **{"Idempotency-Key": "order-4471"})
    again = await _post(alice, sms(), DECLARED, **{"Idempotency-Key": "order-4471"})
    assert first[0] == 202
    assert again[0] == 200
    assert again[1] == first[1]
    assert again[2]["id"] == first[2]["id"]
    other = await _post(alice, sms(body="Another"), DIRECT, **{"Idempotency-Key": "order-4471"})
    assert other[0] == 409
    too_long = {"Idempotency-Key": "k" * 256}
    assert (await _post(alice, sms(), DIRECT, **too_long))[:2] == (
        await _post(alice, sms(), DECLARED, **too_long)
    )[:2]


async def test_only_a_well_formed_send_skips_the_dependencies(alice: Caller, app: Any) -> None:
    """With the tenant dependency made to refuse everyone, the direct request still succeeds
    and the others (a media type parameter, a query string, another Authorization scheme, a
    body that does not validate) go through FastAPI's dependencies."""

    async def refuse() -> None:
        raise ProblemError(ProblemCode.UNAUTHORIZED, "The dependency was solved.")

    def solved(response: Any) -> bool:
        return bool(response.status_code == 401 and "solved" in response.json()["detail"])

    key = alice.http.headers["Authorization"].removeprefix("Bearer ")
    app.dependency_overrides[authenticated_tenant] = refuse
    try:
        assert (await _post(alice, sms(), DIRECT))[0] == 202
        declared = await alice.http.post(
            "/v1/messages", content=json.dumps(sms()), headers={"Content-Type": DECLARED}
        )
        assert solved(declared)
        # The app's own dependency refuses the unknown parameter before the tenant's runs.
        queried = await alice.http.post("/v1/messages", json=sms(), params={"dry": "1"})
        assert queried.status_code == 422
        assert queried.json()["field"] == "dry"
        token = {"Authorization": f"Token {key}"}
        assert solved(await alice.http.post("/v1/messages", json=sms(), headers=token))
        assert solved(await alice.http.post("/v1/messages", json={"channel": "sms"}))
    finally:
        app.dependency_overrides.clear()


FAILURES = {
    "database": ("messages", "accept", OperationalError("INSERT", {}, OSError()), 503),
    "unexpected": ("messages", "accept", RuntimeError("a bug"), 500),
    "database-down": ("api_keys", "authenticate", ConnectionRefusedError(), 503),
}


@pytest.mark.parametrize("failure", FAILURES)
async def test_an_error_while_storing_is_answered_alike(
    alice: Caller, deps: ApiDeps, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The app's exception handlers answer the direct path's errors, the API key's lookup
    included: the same problem."""
    repository, method, error, status = FAILURES[failure]

    async def failing(*_: object, **__: object) -> None:
        raise error

    monkeypatch.setattr(getattr(deps, repository), method, failing)
    direct = await _post(alice, sms(), DIRECT)
    declared = await _post(alice, sms(), DECLARED)
    assert direct[0] == declared[0] == status
    assert direct[1] == declared[1]
