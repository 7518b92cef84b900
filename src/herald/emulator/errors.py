"""Twilio's errors, rendered exactly as Twilio renders them.

Every REST product answers an error with a JSON object of exactly four keys (TWILIO-API.md §6):
`code` (Twilio's numeric error code), `message`, `more_info`
(`https://www.twilio.com/docs/errors/<code>`) and `status` (the HTTP status). The official
clients build `TwilioRestException(status, uri, msg, code, ...)` from it.

Handlers raise `TwilioError` (usually through a named constructor below); one exception handler
in the app renders it. Add a constructor here for each new code, with its source in a comment.

The emulator deliberately does not use Herald's own `herald.errors`: it stands in for Twilio and
speaks only Twilio's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MORE_INFO_URL = "https://www.twilio.com/docs/errors/{code}"
# Seen on real 401s from api.twilio.com (several independent emulators and a client test agree).
WWW_AUTHENTICATE = 'Basic realm="Twilio API"'


class TwilioError(Exception):
    """An error response in Twilio's shape: HTTP `status`, Twilio `code`, human `message`."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details) if details is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON body Twilio sends for this error."""
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO_URL.format(code=self.code),
            "status": self.status,
        }
        if self.details is not None:
            body["details"] = self.details
        return body

    def to_response(self) -> JSONResponse:
        """The HTTP response carrying this error."""
        return JSONResponse(self.to_dict(), status_code=self.status, headers=self.headers)

    def __repr__(self) -> str:
        return f"TwilioError(status={self.status}, code={self.code}, message={self.message!r})"


# -- 20xxx: API-wide ------------------------------------------------------------------------


def invalid_parameter(message: str) -> TwilioError:
    """400/20001: a parameter with a value Twilio refuses (`message` names it)."""
    return TwilioError(400, 20001, message)


def missing_parameter(name: str) -> TwilioError:
    """400/20001: a required parameter is absent (Twilio's wording for POST bodies)."""
    return TwilioError(400, 20001, f"Missing required parameter {name} in the post body")


def authenticate() -> TwilioError:
    """401/20003: credentials missing, wrong, revoked, of an inactive account, or out of scope.

    Twilio's error page lists all those causes under the one code; the classic message is
    `Authenticate` and the response carries a Basic challenge.
    """
    return TwilioError(401, 20003, "Authenticate", headers={"WWW-Authenticate": WWW_AUTHENTICATE})


def method_not_allowed(method: str, allowed: str = "") -> TwilioError:
    """405/20004: the resource exists but not with this HTTP method."""
    headers = {"Allow": allowed} if allowed else None
    return TwilioError(405, 20004, f"Method {method} not allowed", headers=headers)


def refused_with_test_credentials() -> TwilioError:
    """403/20008: test credentials used on a resource that does not accept them.

    The 403 is documented (twilio.com/docs/iam/test-credentials); the code and message are the
    ones client libraries have reported for years.
    """
    return TwilioError(403, 20008, "Resource not accessible with Test Account Credentials")


def not_found(path: str) -> TwilioError:
    """404/20404: no such resource; Twilio names the requested path in the message."""
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def internal_error() -> TwilioError:
    """500/20500: something broke inside the emulator."""
    return TwilioError(500, 20500, "An internal server error has occurred")


# -- the app's handlers ------------------------------------------------------------------------


async def handle_twilio_error(_request: Request, exc: Exception) -> Response:
    """Render a `TwilioError` raised anywhere in a handler."""
    assert isinstance(exc, TwilioError)
    return exc.to_response()


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Render Starlette's routing errors (no route, wrong method) as Twilio does."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:  # noqa: PLR2004 - the HTTP status itself
        allowed = (exc.headers or {}).get("Allow", "")
        return method_not_allowed(request.method, allowed).to_response()
    if exc.status_code == 404:  # noqa: PLR2004 - the HTTP status itself
        return not_found(request.url.path).to_response()
    return TwilioError(exc.status_code, exc.status_code, exc.detail).to_response()


async def handle_unexpected(_request: Request, _exc: Exception) -> Response:
    """Answer a bug with Twilio's 500 body (the traceback still goes to the server log)."""
    return internal_error().to_response()
