"""`/healthz` and `/readyz`, for load balancers and orchestrators (no API key needed).

`/healthz` says the process answers. `/readyz` says it can do its job: the database answers,
its schema is the one this Herald needs, and (when this deployment runs a worker) a worker beat
recently, since accepted messages would otherwise pile up unsent. Not ready is a `503` problem
document listing every check, with `Retry-After`. With `HERALD_REDIS_URL` set, a `rate_limits`
check says whether Redis answers; when it does not, workers pace each sender per process only
(degraded, still ready: messages keep going), and the check shows it with `ok: false`.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from herald.api.deps import ApiDeps, Deps
from herald.api.problems import PROBLEM_MEDIA_TYPE, UNAVAILABLE_RETRY_AFTER, problem_responses
from herald.domain.events import iso8601
from herald.domain.problems import ProblemCode, ProblemError
from herald.errors import StorageError
from herald.storage.engine import ping
from herald.storage.migrate import check_schema_current

router = APIRouter(tags=["health"])


class HealthView(BaseModel):
    """The process is alive."""

    status: str = Field(description="`ok`.")


class CheckView(BaseModel):
    """One readiness check."""

    name: str = Field(description="`database`, `schema`, `worker` or `rate_limits`.")
    ok: bool
    detail: str


class ReadyView(BaseModel):
    """Every readiness check passed."""

    status: str = Field(description="`ready`.")
    checks: list[CheckView]


@router.get("/healthz", response_model=HealthView, summary="Liveness")
async def healthz() -> HealthView:
    """Answers while the process runs; it checks nothing else."""
    return HealthView(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyView,
    summary="Readiness",
    responses=problem_responses(503),
)
async def readyz(deps: Deps) -> Any:
    """Ready when the database answers, its schema is current and a worker beat recently."""
    checks, failed = await _checks(deps)
    if failed is None:
        return ReadyView(status="ready", checks=checks)
    problem = ProblemError(
        failed,
        "; ".join(f"{check.name}: {check.detail}" for check in checks if not check.ok) + ".",
        checks=[check.model_dump() for check in checks],
    )
    return JSONResponse(
        problem.document(instance="/readyz"),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


async def _checks(deps: ApiDeps) -> tuple[list[CheckView], ProblemCode | None]:
    try:
        await ping(deps.engine)
    except StorageError as exc:
        return [CheckView(name="database", ok=False, detail=exc.detail)], (
            ProblemCode.SERVICE_UNAVAILABLE
        )
    checks = [CheckView(name="database", ok=True, detail="reachable")]
    failed: ProblemCode | None = None
    try:
        await check_schema_current(deps.engine)
        checks.append(CheckView(name="schema", ok=True, detail="current"))
    except StorageError as exc:
        checks.append(CheckView(name="schema", ok=False, detail=exc.detail))
        failed = ProblemCode.SCHEMA_OUTDATED
    if deps.worker_expected and failed is None:
        worker = await _worker_check(deps)
        checks.append(worker)
        if not worker.ok:
            failed = ProblemCode.SERVICE_UNAVAILABLE
    if deps.settings.redis_url:
        checks.append(await _rate_limit_check(deps.settings.redis_url))
    return checks, failed


async def _rate_limit_check(url: str) -> CheckView:
    # Reported, never failed on: the workers fall back to per-process limits and keep sending.
    client = redis.asyncio.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        return CheckView(
            name="rate_limits",
            ok=False,
            detail=f"degraded: Redis is unreachable ({exc}); each worker paces senders alone "
            "and verification throttles count in the database",
        )
    finally:
        await client.aclose()
    return CheckView(name="rate_limits", ok=True, detail="global (Redis)")


async def _worker_check(deps: ApiDeps) -> CheckView:
    latest = await deps.heartbeats.latest()
    limit = int(deps.heartbeat_max_age.total_seconds())
    if latest is None:
        return CheckView(name="worker", ok=False, detail="no worker has ever beaten")
    age = deps.clock() - latest.seen_at
    if age > deps.heartbeat_max_age:
        return CheckView(
            name="worker",
            ok=False,
            detail=f"the last heartbeat ({latest.worker_id} at {iso8601(latest.seen_at)}) is "
            f"older than {limit} seconds",
        )
    return CheckView(
        name="worker", ok=True, detail=f"{latest.worker_id} beat {iso8601(latest.seen_at)}"
    )
