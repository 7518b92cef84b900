"""`/readyz` reports whether per-sender rate limits are global (Redis) or degraded."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from herald.api import create_api
from herald.api.deps import ApiDeps


async def _readyz(deps: ApiDeps, redis_url: str) -> httpx.Response:
    configured = dataclasses.replace(
        deps, settings=dataclasses.replace(deps.settings, redis_url=redis_url)
    )
    transport = httpx.ASGITransport(app=create_api(configured))
    async with httpx.AsyncClient(transport=transport, base_url="http://herald.test") as http:
        return await http.get("/readyz")


@pytest.mark.redis
async def test_readyz_shows_global_rate_limits_while_redis_answers(
    deps: ApiDeps, redis_url: str
) -> None:
    """With Redis reachable the `rate_limits` check passes."""
    response = await _readyz(deps, redis_url)
    assert response.status_code == 200
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["rate_limits"]["ok"] is True


async def test_readyz_reports_degraded_rate_limits_but_stays_ready(deps: ApiDeps) -> None:
    """With Redis unreachable `/readyz` stays 200 and shows the degradation."""
    response = await _readyz(deps, "redis://127.0.0.1:1/0")
    assert response.status_code == 200
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["rate_limits"]["ok"] is False
    assert checks["rate_limits"]["detail"].startswith("degraded: Redis is unreachable")
