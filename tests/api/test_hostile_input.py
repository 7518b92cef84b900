"""Input the fuzzer (tests/reliability/test_fuzz_api.py) found answered with a 500, now refused.

Each case used to reach the database or the response encoder and fail there: NUL characters
(PostgreSQL refuses them in text), lone surrogates (no UTF-8 exists for them), JSON numbers no
double holds, times that overflow once converted to UTC. Each is now a 422 problem document
that names the field, and nothing is stored. The 405 `Allow` header lists every method the path
takes, not only those of the first route Starlette found.
"""

from __future__ import annotations

import json

import pytest

from tests.api.api_helpers import Caller, assert_problem, sms

JSON = {"Content-Type": "application/json"}


async def _nothing_stored(alice: Caller) -> None:
    listed = await alice.http.get("/v1/messages")
    assert listed.status_code == 200
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (r'{"to": "+31612345678", "body": "hi\u0000there"}', "body"),
        (
            r'{"to": "+31612345678", "body": "hi", "metadata": {"note": "a\u0000b"}}',
            "metadata.note",
        ),
        (r'{"to": "+31612345678", "body": "hi", "metadata": {"a\u0000": 1}}', "metadata"),
        (r'{"to": "+31612345678", "body": "\ud800"}', "body"),
        (r'{"to": "+31612345678", "body": "hi", "metadata": {"x": ["\udfff"]}}', "metadata.x.0"),
        (r'{"to": "+31612345678", "body": "hi", "metadata": {"big": 1e400}}', "metadata.big"),
        ('{"to": "+31612345678", "body": "hi", "metadata": {"n": NaN}}', "body"),
        ('{"to": "+31612345678", "body": "hi", "metadata": {"n": -Infinity}}', "body"),
    ],
)
async def test_text_that_cannot_be_stored_is_refused(alice: Caller, raw: str, field: str) -> None:
    """NUL, a lone surrogate or a non-finite number anywhere in the JSON is `invalid_request`."""
    response = await alice.http.post("/v1/messages", content=raw.encode(), headers=JSON)
    document = assert_problem(response, 422, "invalid_request")
    assert document["field"] == field
    await _nothing_stored(alice)


async def test_preview_refuses_nul_too(alice: Caller) -> None:
    """The check runs before every route, not only the one that stores."""
    raw = json.dumps(sms(body="a\x00b")).encode()
    response = await alice.http.post("/v1/messages/preview", content=raw, headers=JSON)
    assert assert_problem(response, 422, "invalid_request")["field"] == "body"


async def test_astral_characters_and_huge_integers_are_still_accepted(alice: Caller) -> None:
    """Only what cannot be stored is refused: an emoji (a surrogate pair in JSON) passes."""
    raw = (
        r'{"to": "+31612345678", "body": "\ud83d\ude00 parcel", '
        r'"metadata": {"order": 123456789012345678901234567890}}'
    )
    response = await alice.http.post("/v1/messages", content=raw.encode(), headers=JSON)
    assert response.status_code == 202, response.text
    assert response.json()["body"] == "\U0001f600 parcel"


async def test_a_body_that_is_not_json_is_still_reported_by_validation(alice: Caller) -> None:
    """The guard passes what it cannot parse on; the route's validation names it."""
    response = await alice.http.post("/v1/messages", content=b"{not json", headers=JSON)
    assert_problem(response, 422, "invalid_request")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/messages/%00abc"),
        ("DELETE", "/v1/webhook-endpoints/%00"),
        ("GET", "/v1/opt-outs/%2B31612345678%00"),
    ],
)
async def test_nul_in_the_path_is_refused(alice: Caller, method: str, path: str) -> None:
    """`%00` in a path never reaches a query (PostgreSQL refused it with a 500)."""
    response = await alice.http.request(method, path)
    assert assert_problem(response, 422, "invalid_request")["field"] == "path"


async def test_nul_in_a_query_parameter_is_refused(alice: Caller) -> None:
    """`?types=%00` names the parameter."""
    response = await alice.http.get("/v1/events?types=%00")
    assert assert_problem(response, 422, "invalid_request")["field"] == "types"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"])
async def test_list_times_that_overflow_utc_are_refused(alice: Caller, moment: str) -> None:
    """A valid ISO 8601 time outside the years 1-9999 in UTC is `invalid_request`, not a 500."""
    response = await alice.http.get("/v1/messages", params={"created_from": moment})
    assert assert_problem(response, 422, "invalid_request")["field"] == "created_from"


async def test_list_times_must_be_iso_8601(alice: Caller) -> None:
    """`created_to=0.5` was read as a Unix time; the schema promises ISO 8601."""
    response = await alice.http.get("/v1/messages", params={"created_to": "0.5"})
    assert assert_problem(response, 422, "invalid_request")["field"] == "created_to"
    fine = await alice.http.get("/v1/messages", params={"created_to": "2030-01-31T12:00:00Z"})
    assert fine.status_code == 200


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"])
async def test_send_at_that_overflows_utc_is_invalid_send_at(alice: Caller, send_at: str) -> None:
    """Comparing such a time with now overflowed; it is `invalid_send_at` and nothing is stored."""
    response = await alice.http.post("/v1/messages", json=sms(send_at=send_at))
    assert assert_problem(response, 422, "invalid_send_at")["field"] == "send_at"
    await _nothing_stored(alice)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/messages", "GET, POST"),
        ("/v1/opt-outs/%2B31612345678", "GET, PUT, DELETE"),
        ("/v1/verifications/settings", "GET, PUT"),
        ("/v1/webhook-endpoints", "GET, POST"),
        ("/v1/messages/preview", "POST"),
    ],
)
async def test_method_not_allowed_lists_every_method(
    alice: Caller, path: str, allowed: str
) -> None:
    """`Allow` names every method of the path (Starlette named those of one route only)."""
    response = await alice.http.request("OPTIONS", path)
    document = assert_problem(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == allowed
    assert allowed in document["detail"]


@pytest.mark.parametrize(
    ("path", "unknown"),
    [("/v1/messages?stauts=failed", "stauts"), ("/v1/events?limit=5&typ=x", "typ")],
)
async def test_unknown_query_parameters_are_refused(alice: Caller, path: str, unknown: str) -> None:
    """A misspelt filter must not silently list everything, as unknown body fields are refused."""
    response = await alice.http.get(path)
    document = assert_problem(response, 422, "invalid_request")
    assert document["field"] == unknown
    assert "spelling" in document["detail"]
