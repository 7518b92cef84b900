"""The emulator's ASGI app: `create_app(config)` assembles every resource module's routes.

To add a resource: write a module with a `routes()` function and add it to `ROUTE_MODULES`.
To run something for the app's lifetime (a delivery engine, a callback sender): write an async
context manager factory taking the `Emulator` and add it to `BACKGROUND` (or pass it to
`create_app(background=...)` when embedding); it is entered on start-up and left on shut-down.

The web inbox (`pages`) is served ahead of the chaos middleware, at `/` and `/static`.

The app reads no environment and opens no socket: `herald emulator` serves it with uvicorn, and
`herald serve` may mount or serve it in-process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from herald.emulator import (
    accounts,
    activity,
    available_numbers,
    chaos,
    content,
    control,
    inbound,
    keys,
    messages,
    messaging,
    messaging_services,
    numbers,
    numbers_api,
    optout,
    pages,
    phones,
    seed,
    service_numbers,
    verify,
    verify_services,
    whatsapp,
)
from herald.emulator.clock import Clock, SystemClock
from herald.emulator.config import EmulatorConfig
from herald.emulator.errors import (
    TwilioError,
    handle_http_exception,
    handle_twilio_error,
    handle_unexpected,
)
from herald.emulator.routing import Emulator
from herald.emulator.state import EmulatorState

BackgroundTask = Callable[[Emulator], AbstractAsyncContextManager[None]]

ROUTE_MODULES: tuple[Callable[[], Sequence[BaseRoute]], ...] = (
    accounts.routes,
    keys.routes,
    available_numbers.routes,
    numbers_api.routes,
    control.routes,
    messaging_services.routes,
    service_numbers.routes,
    content.routes,
    whatsapp.routes,
    messages.routes,
    chaos.routes,
    inbound.routes,
    phones.routes,
    activity.routes,
    optout.routes,
    seed.routes,
    verify_services.routes,
    verify.routes,
)
BACKGROUND: tuple[BackgroundTask, ...] = (messaging.lifespan, chaos.lifespan, activity.lifespan)


def create_app(
    config: EmulatorConfig,
    *,
    clock: Clock | None = None,
    state: EmulatorState | None = None,
    background: Sequence[BackgroundTask] = (),
) -> Starlette:
    """The emulator as an ASGI app; `app.state.emulator` holds its config, state and clock."""
    if state is not None and state.config is not config:
        raise ValueError("The state given to create_app() was built for another config.")
    clock = clock or (state.clock if state is not None else SystemClock())
    state = state or EmulatorState(config, clock)
    if numbers.release_numbers_of_closed_account not in state.account_closed_hooks:
        state.account_closed_hooks.append(numbers.release_numbers_of_closed_account)
    emulator = Emulator(config=config, state=state, clock=clock)
    tasks = (*BACKGROUND, *background)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for task in tasks:
                await stack.enter_async_context(task(emulator))
            yield

    routes = [route for module_routes in ROUTE_MODULES for route in module_routes()]
    app = chaos.EmulatorApp(
        routes=routes,
        middleware=[
            # The inbox (/, /phones/…, /static/…) is served first, out of chaos's reach.
            Middleware(pages.InboxFirst, emulator=emulator),
            Middleware(chaos.ChaosMiddleware, emulator=emulator),
        ],
        exception_handlers={
            TwilioError: handle_twilio_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
