"""Telling "the database is away" apart from a fault in Herald.

While PostgreSQL restarts, Herald's queries fail in several ways: a refused connection (a raw
`ConnectionRefusedError` from the driver), a session the server terminated
(`AdminShutdownError`), a server still starting (`CannotConnectNowError`), a pooled connection
that died (SQLAlchemy's `connection_invalidated`), a full pool (`sqlalchemy.exc.TimeoutError`).
SQLite reports a database locked for longer than its busy timeout, or a file it cannot open,
as `sqlite3.OperationalError` (which also covers faults of Herald's own, like a missing table:
those stay 500s). All of these pass once the database is back: the API answers them with
`503 service_unavailable` and `Retry-After` (herald.api.problems), never with a 500.
`database_unavailable(exc)` says whether an exception is one of them.
"""

from __future__ import annotations

import sqlite3
from typing import Final

import asyncpg
from sqlalchemy import exc as sa_exc

# asyncpg's errors for a connection lost or refused (class 08), an operator's shutdown or a
# server starting (class 57), too many connections (class 53) and a closed connection.
_DRIVER_ERRORS: Final = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
_MAX_CHAIN: Final = 8
# SQLite's messages for a database that is busy or cannot be reached right now.
_SQLITE_UNAVAILABLE: Final = ("database is locked", "unable to open database", "disk i/o error")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now (rather than a fault in Herald)."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    seen: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return False
        if isinstance(seen, _DRIVER_ERRORS):
            return True
        if isinstance(seen, sqlite3.OperationalError):
            return str(seen).lower().startswith(_SQLITE_UNAVAILABLE)
        if isinstance(seen, sa_exc.DBAPIError) and isinstance(seen.orig, BaseException):
            seen = seen.orig
        else:
            seen = seen.__cause__
    return False
