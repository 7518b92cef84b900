"""`/healthz` and `/readyz`."""

from __future__ import annotations

import dataclasses

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.api import create_api
from herald.api.deps import ApiDeps
from herald.storage.engine import create_engine
from tests.api.api_helpers import NOW, ManualClock, assert_problem


def _client(deps: ApiDeps) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api(deps)), base_url="http://herald.test"
    )


async def test_healthz_answers_without_a_key(anonymous: httpx.AsyncClient) -> None:
    """`/healthz` answers 200 `ok` to anyone."""
    response = await anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_on_a_current_schema(anonymous: httpx.AsyncClient) -> None:
    """With the database reachable and migrated (no worker expected), `/readyz` is ready."""
    response = await anonymous.get("/readyz")
    assert response.status_code == 200
    assert [(c["name"], c["ok"]) for c in response.json()["checks"]] == [
        ("database", True),
        ("schema", True),
    ]


async def test_readyz_needs_a_recent_heartbeat_when_a_worker_is_expected(deps: ApiDeps) -> None:
    """Expecting a worker, `/readyz` is 503 until one beats, then ready."""
    expecting = dataclasses.replace(deps, worker_expected=True)
    async with _client(expecting) as http:
        missing = await http.get("/readyz")
        await deps.heartbeats.beat("w1", now=NOW)
        ready = await http.get("/readyz")
    document = assert_problem(missing, 503, "service_unavailable")
    assert "worker" in document["detail"]
    assert ready.status_code == 200


async def test_readyz_reports_a_stale_heartbeat(deps: ApiDeps, clock: ManualClock) -> None:
    """A heartbeat older than the allowed age makes `/readyz` 503."""
    expecting = dataclasses.replace(deps, worker_expected=True)
    await deps.heartbeats.beat("w1", now=NOW)
    clock.advance(deps.heartbeat_max_age.total_seconds() + 1)
    async with _client(expecting) as http:
        response = await http.get("/readyz")
    assert_problem(response, 503, "service_unavailable")


async def test_readyz_reports_an_outdated_schema(deps: ApiDeps, engine: AsyncEngine) -> None:
    """A database at another revision makes `/readyz` 503 `schema_outdated` saying what to run."""
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    async with _client(deps) as http:
        response = await http.get("/readyz")
    document = assert_problem(response, 503, "schema_outdated")
    assert "herald migrate" in document["detail"]


async def test_readyz_reports_an_unreachable_database(deps: ApiDeps) -> None:
    """A database that cannot be opened makes `/readyz` 503 `service_unavailable`."""
    broken = create_engine("postgresql://nobody@127.0.0.1:1/none")
    try:
        async with _client(dataclasses.replace(deps, engine=broken)) as http:
            response = await http.get("/readyz")
    finally:
        await broken.dispose()
    document = assert_problem(response, 503, "service_unavailable")
    assert document["checks"][0]["name"] == "database"
