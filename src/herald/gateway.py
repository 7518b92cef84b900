"""The composition root: one `Gateway` holds everything a Herald process runs.

    async with Gateway(settings) as gateway:      # opens, checks the schema, serves, works
        ...                                       # gateway.url answers; the worker sends
    # on leaving: HTTP stops first, the worker settles its work, then the pool and session close

`Gateway(settings)` builds, from the settings alone, the database engine, the `SecretBox`, the
repositories, one shared aiohttp session, the per-tenant provider factory, the rate limiter,
the ASGI app (the API of `herald.api` plus the Twilio webhook intake of `herald.webhooks`) and,
unless `run_worker=False`, the worker. With `HERALD_REDIS_URL` set the worker paces senders through
Redis (`RedisRateLimiter`, global across workers), else in process. `serve_http=False` runs the
worker alone (`herald worker`). `open()` refuses a database whose schema is not the one
this Herald needs (`StorageError` telling to run `herald migrate`).

Serving is uvicorn inside the caller's event loop, so that `herald serve` runs the API, the
webhook intake, the worker (and in sandbox the emulator) in one process. Tests start a gateway
on sockets they bound themselves (`start(sockets=[...])`) and stop it with `stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Final, Literal, Self

import aiohttp
import redis.asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from herald.admin import router as admin_router
from herald.api import ApiDeps, create_api
from herald.api.deps import Clock, utc_now
from herald.http_server import protocol_with
from herald.settings import Settings
from herald.storage.crypto import SecretBox
from herald.storage.engine import create_engine
from herald.storage.migrate import check_schema_current
from herald.storage.tenants import TenantRepository
from herald.storage.throttles import DatabaseThrottle, RedisThrottle, Throttle
from herald.verification.clients import TenantVerifyClients
from herald.webhooks.deps import WebhookDeps
from herald.webhooks.outcomes import CountWebhookOutcomes, WebhookOutcomes, metrics_router
from herald.webhooks.twilio import create_router
from herald.worker import InProcessRateLimiter, ProviderFactory, Worker, WorkerDeps
from herald.worker.ratelimit import RateLimiter
from herald.worker.redis_ratelimit import REDIS_TIMEOUT, RedisRateLimiter

logger = logging.getLogger("herald.gateway")

STARTUP_TIMEOUT: Final = 15.0
"""Seconds a server may take to bind and start before `start()` gives up."""


class Server(uvicorn.Server):
    """A uvicorn server that leaves signals to its owner.

    uvicorn installs its own SIGINT/SIGTERM handlers and re-raises the signal once it has shut
    down, which would kill a process that runs several servers and a worker before the others
    finished. Herald handles the signals once (`herald.cli.serve`) and sets `should_exit`.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Servers:
    """ASGI apps served by uvicorn as tasks of the current event loop."""

    def __init__(self) -> None:
        self._running: list[tuple[Server, asyncio.Task[None]]] = []

    async def start(
        self,
        app: ASGIApp,
        *,
        host: str,
        port: int,
        sockets: Sequence[socket.socket] | None = None,
        lifespan: Literal["on", "off"] = "off",
        log_level: str = "warning",
        name: str = "server",
        header_timeout: float | None = None,
    ) -> Server:
        """Serve `app` on `host:port` (or on `sockets`) and return once it accepts connections.

        With `header_timeout`, a connection whose request headers take longer is closed
        (`herald.http_server`); uvicorn's own keep-alive timeout (5 s) closes idle ones.
        """
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan=lifespan,
            log_level=log_level,
            access_log=False,
            # Whom to believe about a client's address is Herald's to decide
            # (HERALD_TRUSTED_PROXIES); uvicorn's own rewriting would take X-Forwarded-For
            # from any client on 127.0.0.1.
            proxy_headers=False,
            http="auto" if header_timeout is None else protocol_with(header_timeout),
        )
        server = Server(config)
        task = asyncio.create_task(
            server.serve(sockets=list(sockets) if sockets else None), name=name
        )
        self._running.append((server, task))
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while not server.started:
                if task.done():
                    await task  # re-raises why it could not start
                    raise OSError(f"The {name} stopped while starting on {host}:{port}.")
                await asyncio.sleep(0.01)
        return server

    async def stop(self) -> None:
        """Stop every server, newest first, letting requests in progress finish."""
        for server, _task in reversed(self._running):
            server.should_exit = True
        for _server, task in reversed(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._running.clear()


class Gateway:
    """One Herald process: the API and webhook intake over HTTP, and (optionally) the worker."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        run_worker: bool = True,
        serve_http: bool = True,
    ) -> None:
        if not (run_worker or serve_http):
            raise ValueError("a Gateway runs the worker, serves HTTP, or both")
        self.settings = settings
        self.clock = clock
        self.run_worker = run_worker
        self.serve_http = serve_http
        self._limiter: RedisRateLimiter | None = None
        self._throttle_redis: redis.asyncio.Redis | None = None
        self._engine: AsyncEngine | None = None
        self._session: aiohttp.ClientSession | None = None
        self._app: FastAPI | None = None
        self._worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._servers = Servers()
        self.webhook_outcomes = WebhookOutcomes()
        """What became of each Twilio webhook, served at `GET /metrics`."""

    @property
    def app(self) -> FastAPI:
        """The ASGI app: API, docs and webhook intake (after `open()`)."""
        if self._app is None:
            raise RuntimeError("Gateway.open() has not been called")
        return self._app

    @property
    def engine(self) -> AsyncEngine:
        """The database engine (after `open()`)."""
        if self._engine is None:
            raise RuntimeError("Gateway.open() has not been called")
        return self._engine

    @property
    def url(self) -> str:
        """Where the gateway answers, as Twilio and applications are told."""
        return self.settings.base_url

    async def open(self) -> None:
        """Build everything; `StorageError` if the schema is not current, nothing left open."""
        settings = self.settings
        box = SecretBox(settings.secret_key)
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        try:
            await check_schema_current(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._session = aiohttp.ClientSession()
        api = ApiDeps.build(
            settings,
            engine,
            box,
            clock=self.clock,
            worker_expected=self.run_worker,
            verify_clients=TenantVerifyClients(
                self._session, TenantRepository(engine, box), settings.twilio_base_url
            ),
            throttle=self._throttle(engine),
        )
        webhooks = WebhookDeps.create(
            engine=engine, box=box, settings=settings, now=self.clock, tenants=api.tenants
        )
        outcomes = self.webhook_outcomes
        self._app = create_api(
            api,
            first_routers=[create_router(webhooks)],
            extra_routers=[metrics_router(outcomes, settings), admin_router],
        )
        # Outside the API's body limit, so that its refusals of webhooks are counted too.
        self._app.add_middleware(CountWebhookOutcomes, outcomes=outcomes)
        if self.run_worker:
            worker_deps = WorkerDeps.create(
                engine=engine,
                box=box,
                settings=settings,
                session=self._session,
                providers=ProviderFactory(self._session, api.tenants, settings),
                limiter=self._rate_limiter(),
                now=self.clock,
                tenants=api.tenants,
            )
            self._worker = Worker(worker_deps)

    def _throttle(self, engine: AsyncEngine) -> Throttle:
        if not self.settings.redis_url:
            return DatabaseThrottle(engine)
        self._throttle_redis = redis.asyncio.Redis.from_url(
            self.settings.redis_url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
        )
        # Redis away: count in the database rather than refuse verifications with a 500.
        return RedisThrottle(self._throttle_redis, fallback=DatabaseThrottle(engine))

    def _rate_limiter(self) -> RateLimiter:
        if not self.settings.redis_url:
            return InProcessRateLimiter.from_settings(self.settings)
        self._limiter = RedisRateLimiter.from_settings(self.settings)
        return self._limiter

    async def start(self, *, sockets: Sequence[socket.socket] | None = None) -> None:
        """Open (if needed), serve HTTP on the settings' host and port (or `sockets`), work."""
        if self._app is None:
            await self.open()
        self._stop.clear()
        if self.serve_http:
            try:
                await self._servers.start(
                    self.app,
                    host=self.settings.host,
                    port=self.settings.port,
                    sockets=sockets,
                    log_level=self.settings.log_level,
                    name="gateway",
                    header_timeout=self.settings.http_read_timeout_seconds,
                )
            except BaseException:
                await self.close()
                raise
        if self._worker is not None:
            self._worker_task = asyncio.create_task(self._worker.run(self._stop), name="worker")

    async def stop(self) -> None:
        """Stop HTTP, let the worker settle its work in flight, then close everything."""
        self._stop.set()
        try:
            await self._servers.stop()
            if self._worker_task is not None:
                await self._worker_task
        finally:
            self._worker_task = None
            await self.close()

    async def close(self) -> None:
        """Close the HTTP session and the database pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._limiter is not None:
            await self._limiter.close()
            self._limiter = None
        if self._throttle_redis is not None:
            await self._throttle_redis.aclose()
            self._throttle_redis = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._app = None
        self._worker = None

    async def wait(self) -> None:
        """Return when the worker stops by itself (it only does on a failure it re-raises)."""
        if self._worker_task is not None:
            # Shielded: a caller that stops waiting must not cancel the worker with it.
            await asyncio.shield(self._worker_task)
        else:
            await self._stop.wait()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
