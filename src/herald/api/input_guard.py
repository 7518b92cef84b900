"""Refuse text no route can store or answer with, before any route sees it.

JSON lets a client send what is not text: `"\\u0000"` (PostgreSQL refuses NUL in `text` and
`jsonb`), a lone surrogate such as `"\\ud800"` (no UTF-8 encoding exists, so neither the
database nor the answer can hold it), and the non-standard `NaN`, `Infinity` or `1e400` (a float
no JSON answer may carry). A path or query parameter may carry `%00`. Each of these used to
reach the database or the response encoder and fail there with a 500.

`InputGuard` answers them with `invalid_request` (422) naming the field, and changes nothing.
It checks the path, every query parameter and, for a JSON body (or a body without a
content type, which FastAPI reads as JSON), every string, object key and number in it. It runs
inside `BodySizeLimit`, so the body it parses is at most 64 KiB. A body that is not valid JSON
is passed on unchanged: the route's own validation reports it.

`known_query_only`, a dependency of every route, refuses a `/v1` query parameter the route does
not take, as unknown body fields are refused: `?stauts=failed` must not silently list every
message.
"""

from __future__ import annotations

import json
import math
import re
from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.dependencies.models import Dependant
from starlette.types import ASGIApp, Receive, Scope, Send

from herald.api.limits import read_all, replay, send_problem
from herald.domain.problems import ProblemCode, ProblemError

_NUL: Final = "\x00"


class _NotJsonNumber(ValueError):
    """`NaN`, `Infinity` or `-Infinity`: accepted by Python's parser, not by JSON."""


class InputGuard:
    """ASGI middleware answering `invalid_request` to NUL, lone surrogates, non-finite numbers."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        fault = _path_fault(scope) or _query_fault(scope)
        if fault is not None:
            await send_problem(scope, send, _invalid(*fault))
            return
        if not _reads_json(scope):
            await self._app(scope, receive, send)
            return
        messages = await read_all(receive)
        body = b"".join(each.get("body", b"") for each in messages)
        fault = body_fault(body)
        if fault is not None:
            await send_problem(scope, send, _invalid(*fault))
            return
        await self._app(scope, replay(messages, receive), send)


def _invalid(field: str, message: str) -> ProblemError:
    return ProblemError(
        ProblemCode.INVALID_REQUEST,
        f"The request is not valid: {field}: {message}.",
        field=field,
        errors=[{"field": field, "message": message}],
    )


def _path_fault(scope: Scope) -> tuple[str, str] | None:
    path: str = scope.get("path", "")
    if _NUL in path:
        return "path", "contains a NUL character (%00), which no id or address has"
    return None


def _query_fault(scope: Scope) -> tuple[str, str] | None:
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query.lower():
        return None
    # Decoded as Starlette decodes it for the routes.
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _NUL in name or _NUL in value:
            return (name.replace(_NUL, "") or "query"), "contains a NUL character (%00)"
    return None


def _reads_json(scope: Scope) -> bool:
    if scope.get("method") in {"GET", "HEAD", "OPTIONS", "DELETE"}:
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type = bytes(value).split(b";", 1)[0].strip().lower()
            return media_type == b"application/json" or media_type.endswith(b"+json")
    return True


def _refuse_constant(name: str) -> object:
    raise _NotJsonNumber(name)


# What every fault needs in the raw body: an escaped NUL or surrogate, a NaN or an Infinity, an
# exponent of three digits or more, or a run of 300 digits (a float beyond a double). A body
# without any is storable as it is, and is not parsed twice.
_SUSPECT: Final = re.compile(
    rb"\\u(?:0000|[dD][89a-fA-F])|NaN|Infinity|[0-9][eE][+-]?[0-9]{3}|[0-9]{300}"
)


def body_fault(body: bytes) -> tuple[str, str] | None:
    """The first unstorable value of a JSON body (its field, and why), or None."""
    if not body or _SUSPECT.search(body) is None:
        return None
    return parsed_fault(body)


def parsed_fault(body: bytes) -> tuple[str, str] | None:
    """`body_fault` without the pre-scan: the body is always parsed."""
    try:
        document = json.loads(body, parse_constant=_refuse_constant)
    except _NotJsonNumber as exc:
        return "body", f"is not valid JSON: {exc} is not a JSON number"
    except (ValueError, RecursionError):
        return None  # not JSON at all: the route's validation says so
    return _first_fault(document)


def _first_fault(document: object) -> tuple[str, str] | None:
    """The first string, key or number in `document` that is not storable, and why."""
    pending: list[tuple[tuple[str, ...], object]] = [((), document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            fault = _text_fault(value)
            if fault is not None:
                return _field(path), fault
        elif isinstance(value, float) and not math.isfinite(value):
            return _field(path), "is a number too large for JSON (it overflows a double)"
        elif isinstance(value, dict):
            for key, child in value.items():
                fault = _text_fault(key)
                if fault is not None:
                    return _field(path), f"has a member name that {fault}"
                pending.append(((*path, key), child))
        elif isinstance(value, list):
            pending.extend(((*path, str(index)), child) for index, child in enumerate(value))
    return None


def _text_fault(text: str) -> str | None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (e.g. \\ud800), which is not Unicode text"
    if _NUL in text:
        return "contains a NUL character (\\u0000)"
    return None


def _field(path: tuple[str, ...]) -> str:
    return ".".join(path) or "body"


async def known_query_only(request: Request) -> None:
    """Refuse a `/v1` query parameter that the route does not declare (`invalid_request`)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if not request.query_params or dependant is None or not request.url.path.startswith("/v1/"):
        return
    unknown = sorted(set(request.query_params) - _query_names(dependant))
    if unknown:
        message = "is not a parameter of this request (check its spelling)"
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"The request is not valid: {unknown[0]}: {message}.",
            field=unknown[0],
            errors=[{"field": name, "message": message} for name in unknown],
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
