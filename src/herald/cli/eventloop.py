"""The event loop Herald's long-running commands run on, and their heap once started.

`herald serve` and `herald worker` spend much of their CPU in the event loop itself (sockets to
clients, PostgreSQL, Redis and Twilio); uvloop, installed with uvicorn's standard extras where
it builds, does that work in C. Elsewhere asyncio's own loop runs them unchanged.

Once started, they hold a few hundred thousand objects that live as long as the process
(modules, phone number metadata, routes, compiled statements). Python's cyclic garbage
collector walks them all in every full collection, and under load the objects of requests in
flight reach the oldest generation fast enough to cause one every second or so: each stopped
the process for about 0.1 s. `frozen_heap` moves what exists at start-up out of the
collector's sight (`gc.freeze`), so that a full collection walks only what came since.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

Result = TypeVar("Result")


def run(main: Coroutine[Any, Any, Result]) -> Result:
    """Run `main` to completion on uvloop if it is installed, else on asyncio's loop."""
    try:
        import uvloop  # noqa: PLC0415 - optional: not built on every platform
    except ImportError:  # pragma: no cover - uvloop is installed on Linux and macOS
        return asyncio.run(main)
    return uvloop.run(main)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Exempt the objects existing now from garbage collection until the block ends.

    Garbage is collected first, so that only live objects are exempted; afterwards they are
    handed back to the collector (`gc.unfreeze`).
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
