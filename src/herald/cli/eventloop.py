"""The event loop Herald's long-running commands run on.

`herald serve` and `herald worker` spend much of their CPU in the event loop itself (sockets to
clients, PostgreSQL, Redis and Twilio); uvloop, installed with uvicorn's standard extras where
it builds, does that work in C. Elsewhere asyncio's own loop runs them unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")


def run(main: Coroutine[Any, Any, Result]) -> Result:
    """Run `main` to completion on uvloop if it is installed, else on asyncio's loop."""
    try:
        import uvloop  # noqa: PLC0415 - optional: not built on every platform
    except ImportError:  # pragma: no cover - uvloop is installed on Linux and macOS
        return asyncio.run(main)
    return uvloop.run(main)
