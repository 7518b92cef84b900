"""Every error the API answers with, as one RFC 9457 problem document (`application/problem+json`).

`install_problem_handlers(app)` registers the only exception handlers of the app:

- `ProblemError` and any other `HeraldError`: mapped by `herald.domain.problems.problem_for`
  (a `StorageError` becomes `service_unavailable`, its detail kept for the log only);
- the database's own errors when it cannot be reached (refused, restarting, a connection it
  dropped, a full pool: `herald.storage.availability`): `service_unavailable`, logged in one
  line without a traceback;
- request validation errors (a wrong type, a missing or unknown field, malformed JSON):
  `invalid_request`, naming each field at fault;
- Starlette's HTTP errors (an unknown path, a method the path does not take): `not_found`,
  `method_not_allowed` with the `Allow` header, and so on;
- anything else: `internal_error`, logged with its traceback, which never reaches the caller.
  A middleware answers it (rather than Starlette's outermost one, which re-raises to the server
  after answering, so that uvicorn closed the connection and the client's next request on it
  failed unanswered).

Every `503` carries `Retry-After` (`UNAVAILABLE_RETRY_AFTER` seconds unless the problem names
its own `retry_after`): the client retries with the same Idempotency-Key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.domain.problems import ProblemCode, ProblemError, problem_for
from herald.domain.redaction import redact
from herald.errors import HeraldError
from herald.storage.availability import database_unavailable

logger = logging.getLogger("herald.api")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"

_BY_HTTP_STATUS: Final = {
    401: ProblemCode.UNAUTHORIZED,
    403: ProblemCode.FORBIDDEN,
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    413: ProblemCode.REQUEST_TOO_LARGE,
    429: ProblemCode.RATE_LIMITED,
}
_SERVER_ERROR: Final = 500
_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_UNAVAILABLE: Final = 503
UNAVAILABLE_RETRY_AFTER: Final = 2
"""Seconds a `503` asks the client to wait before retrying (a database restart takes a few).

Shorter than uvicorn's keep-alive timeout (5 s): a client that waits exactly this long reuses
its connection before the server closes it, rather than racing the close and meeting a reset.
"""


class ProblemDocument(BaseModel):
    """An RFC 9457 problem document; extension members (e.g. `field`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`https://herald.dev/problems/` followed by the code.")
    title: str = Field(description="The problem's fixed, short title.")
    status: int = Field(description="The HTTP status.")
    detail: str = Field(description="What was wrong with this request, and what to do.")
    code: str = Field(description="The stable code to branch on (docs/sending-rules.md).")
    hint: str = Field(description="How to fix this kind of problem.")
    instance: str | None = Field(default=None, description="The request's path.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem documents with these statuses."""
    return {
        status: {"model": ProblemDocument, "content": {PROBLEM_MEDIA_TYPE: {}}}
        for status in statuses
    }


def problem_response(
    error: ProblemError, request: Request, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The response carrying `error`'s document, with the headers its status calls for."""
    extra = dict(headers or {})
    retry_after = error.extra.get("retry_after")
    if isinstance(retry_after, int):
        extra.setdefault("Retry-After", str(retry_after))
    if error.status == _UNAVAILABLE:
        extra.setdefault("Retry-After", str(UNAVAILABLE_RETRY_AFTER))
    if error.status == 401:  # noqa: PLR2004 - RFC 9110 requires the challenge with a 401
        extra.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(
        error.document(instance=request.url.path),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=extra,
    )


def _logged(request: Request) -> str:
    """The request's path as logs show it: numbers masked (`/v1/opt-outs/+31•••5678`)."""
    return redact(request.url.path)


async def _herald_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeraldError)
    problem = problem_for(exc)
    if problem.status >= _SERVER_ERROR:
        # The document hides the cause (it may name hosts or SQL); the log keeps it.
        logger.error("%s %s failed: %s", request.method, _logged(request), redact(exc.detail))
    return problem_response(problem, request)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    first = errors[0] if errors else {"field": "body", "message": "is not valid"}
    shown = "; ".join(f"{each['field']}: {each['message']}" for each in errors[:5])
    problem = ProblemError(
        ProblemCode.INVALID_REQUEST,
        f"The request is not valid: {shown}.",
        field=first["field"],
        errors=errors,
    )
    return problem_response(problem, request)


def _field_error(error: Mapping[str, Any]) -> dict[str, str]:
    location: Sequence[Any] = error.get("loc", ())
    # The first element says where (body, query, path, header); the rest is the field's path.
    path = [str(part) for part in location[1:]] or [str(part) for part in location]
    message = str(error.get("msg", "is not valid"))
    if error.get("type") == "extra_forbidden":
        message = "is not a field of this request (check its spelling)"
    elif error.get("type") == "json_invalid":
        message = "is not valid JSON"
        path = ["body"]
    return {"field": ".".join(path) or "body", "message": message}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _BY_HTTP_STATUS.get(exc.status_code)
    if code is None:
        code = (
            ProblemCode.INTERNAL_ERROR
            if exc.status_code >= _SERVER_ERROR
            else (ProblemCode.INVALID_REQUEST)
        )
    if code is ProblemCode.NOT_FOUND:
        detail = f"There is no resource at {request.url.path}; check the path and the id in it."
    elif code is ProblemCode.METHOD_NOT_ALLOWED:
        allowed = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
        headers = {**(exc.headers or {}), "Allow": allowed}
        detail = f"{request.url.path} does not take {request.method}; it takes {allowed}."
        return problem_response(ProblemError(code, detail), request, headers)
    else:
        detail = str(exc.detail)
    return problem_response(ProblemError(code, detail), request, exc.headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette's 405 names one route's only).

    A path the API reference names as it is (`/v1/messages/preview`) takes the methods listed
    there, as OpenAPI matches concrete paths before templated ones (`/v1/messages/{id}`).
    """
    concrete = request.app.openapi().get("paths", {}).get(request.url.path)
    if concrete:
        return ", ".join(method for method in _METHODS if method.lower() in concrete)
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Registered for the database's errors (and OSError, which the driver raises for a refused
    # connection) by class, so that Starlette answers them without re-raising to the server.
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    logger.warning(
        "%s %s: the database is not available (%s: %s)",
        request.method,
        _logged(request),
        type(exc).__name__,
        str(exc).splitlines()[0] if str(exc) else "",
    )
    problem = ProblemError(
        ProblemCode.SERVICE_UNAVAILABLE,
        "Herald's database is not available right now; retry after the Retry-After interval.",
    )
    return problem_response(problem, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("%s %s failed", request.method, _logged(request), exc_info=exc)
    return problem_response(
        ProblemError(ProblemCode.INTERNAL_ERROR, "Herald could not complete the request."),
        request,
    )


class _AnswerUnexpected:
    """Answers an exception no handler took with the `internal_error` document, and keeps the
    connection open; one raised after the response started still goes to the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error `app` raises a problem document."""
    app.add_middleware(_AnswerUnexpected)
    app.add_exception_handler(HeraldError, _herald_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(OSError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
