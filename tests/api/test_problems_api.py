"""Authentication and the shape of every error: problem documents, never tracebacks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from herald.api.deps import ApiDeps
from tests.api.api_helpers import NOW, Caller, assert_problem, sms


async def test_missing_key_is_unauthorized_with_a_challenge(anonymous: httpx.AsyncClient) -> None:
    """No API key is a 401 `unauthorized` problem with `WWW-Authenticate: Bearer`."""
    response = await anonymous.post("/v1/messages", json=sms())
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_unknown_key_is_unauthorized(anonymous: httpx.AsyncClient) -> None:
    """A key Herald never issued is `unauthorized`."""
    response = await anonymous.get(
        "/v1/messages", headers={"Authorization": "Bearer hk_" + "x" * 32}
    )
    assert_problem(response, 401, "unauthorized")


async def test_revoked_key_is_unauthorized(alice: Caller, deps: ApiDeps) -> None:
    """A revoked key stops working at once."""
    key_id = (await deps.api_keys.list(alice.tenant.id))[0].id
    await deps.api_keys.revoke(alice.tenant.id, key_id, now=NOW)
    response = await alice.http.get("/v1/messages")
    assert_problem(response, 401, "unauthorized")


async def test_basic_auth_is_not_accepted(anonymous: httpx.AsyncClient, alice: Caller) -> None:
    """Only the Bearer scheme authenticates."""
    response = await anonymous.get("/v1/messages", auth=(alice.key, ""))
    assert_problem(response, 401, "unauthorized")


async def test_unknown_path_is_a_not_found_problem(alice: Caller) -> None:
    """A path that does not exist is a `not_found` problem with the path as `instance`."""
    response = await alice.http.get("/v1/nothing-here")
    assert assert_problem(response, 404, "not_found")["instance"] == "/v1/nothing-here"


async def test_wrong_method_is_a_method_not_allowed_problem(alice: Caller) -> None:
    """A method the path does not take is `method_not_allowed`, with `Allow`."""
    response = await alice.http.patch("/v1/messages")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


async def test_oversized_body_is_request_too_large(alice: Caller) -> None:
    """A body over 64 KiB is refused with `request_too_large` before it is parsed."""
    response = await alice.http.post("/v1/messages", json=sms(body="a" * 70_000))
    document = assert_problem(response, 413, "request_too_large")
    assert document["max_bytes"] == 65_536


async def test_oversized_chunked_body_is_request_too_large(alice: Caller) -> None:
    """A streamed body without Content-Length is counted and refused past the cap."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    response = await alice.http.post(
        "/v1/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "request_too_large")


async def test_problem_documents_carry_a_hint(alice: Caller) -> None:
    """Every problem says how to fix it in `hint`."""
    response = await alice.http.post("/v1/messages", json=sms(body=""))
    assert assert_problem(response, 422, "body_empty")["hint"]


async def test_unexpected_failure_is_an_internal_error_without_traceback(
    alice: Caller, deps: ApiDeps, app: FastAPI
) -> None:
    """A failure Herald did not foresee is a 500 `internal_error` showing no internals."""
    async with deps.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TABLE idempotency_keys")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://herald.test", headers=alice.http.headers
    ) as http:
        response = await http.post("/v1/messages", json=sms(), headers={"Idempotency-Key": "k"})
    document = assert_problem(response, 500, "internal_error")
    assert document["detail"] == "Herald could not complete the request."
    assert "idempotency_keys" not in response.text
    assert "Traceback" not in response.text


async def test_openapi_documents_every_endpoint(anonymous: httpx.AsyncClient) -> None:
    """`/openapi.json` lists every API path with its methods."""
    schema = (await anonymous.get("/openapi.json")).json()
    paths = {path: set(item) for path, item in schema["paths"].items()}
    assert paths == {
        "/v1/messages": {"get", "post"},
        "/v1/messages/preview": {"post"},
        "/v1/messages/{message_id}": {"get"},
        "/v1/opt-outs/{address}": {"get", "put", "delete"},
        "/v1/webhook-endpoints": {"get", "post"},
        "/v1/webhook-endpoints/{endpoint_id}": {"delete"},
        "/v1/events": {"get"},
        "/v1/verifications": {"post"},
        "/v1/verifications/check": {"post"},
        "/v1/verifications/settings": {"get", "put"},
        "/healthz": {"get"},
        "/readyz": {"get"},
    }
    assert "ApiKey" in schema["components"]["securitySchemes"]


async def test_docs_page_works_offline(anonymous: httpx.AsyncClient) -> None:
    """`/docs` is a self-contained HTML reference: no script or outside asset."""
    response = await anonymous.get("/docs")
    assert response.status_code == 200
    assert "/v1/messages/preview" in response.text
    assert "<script" not in response.text
    assert "https://" not in response.text
