"""Shop login: a password, then a one-time code sent by SMS through Herald's verifications.

A demonstration of `POST /v1/verifications` and `POST /v1/verifications/check`, not a template
for production: one demo user whose password is hashed with scrypt in this file, and sessions
kept in memory, keyed by a random cookie value (they vanish when the app restarts).

Configuration comes from the environment, read only in `main()`:
HERALD_URL (default http://127.0.0.1:8800), HERALD_API_KEY (required) and DEMO_PHONE, the demo
user's phone number in E.164 (default +14155550100, a phone of the emulator).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import os
import secrets
import sys
import urllib.parse
from typing import Any

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

DEMO_USER = "demo"
DEMO_PASSWORD = "correct horse"  # noqa: S105 - the documented demo password
_SALT = b"shop-login-demo-salt"
SESSION_COOKIE = "shop_session"


def hash_password(password: str) -> bytes:
    """The scrypt hash of a password under the demo salt."""
    return hashlib.scrypt(password.encode(), salt=_SALT, n=2**14, r=8, p=1)


_DEMO_HASH = hash_password(DEMO_PASSWORD)


@dataclasses.dataclass(frozen=True)
class Config:
    """Where Herald is, the key to call it with, and the demo user's phone."""

    herald_url: str
    api_key: str
    demo_phone: str


@dataclasses.dataclass
class Session:
    """What the server knows about one browser: who passed the password, and whether the code."""

    username: str
    verification_id: str
    logged_in: bool = False


class HeraldProblem(Exception):
    """Herald refused a request; `message` is fit to show the person logging in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def friendly(status: int, problem: dict[str, Any]) -> str:
    """A sentence for a problem document from Herald."""
    code = str(problem.get("type", "")).rsplit("/", 1)[-1]
    if status == 429:  # noqa: PLR2004 - HTTP Too Many Requests
        return "Too many codes were requested. Please wait a few minutes and try again."
    if code == "not_found":
        return "That code can no longer be used. Please log in again."
    if code == "invalid_request":
        return "Codes are 4 to 10 digits. Please check the code and try again."
    return "We could not send you a code right now. Please try again later."


def page(title: str, body: str) -> HTMLResponse:
    """A whole HTML page around already-escaped body markup."""
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · Shop</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def error(message: str) -> str:
    """Markup for an error message."""
    return f"<p role='alert'>{html.escape(message)}</p>"


LOGIN_FORM = (
    "<form method='post' action='/login'>"
    "<label>Username <input name='username' autocomplete='username'></label> "
    "<label>Password <input name='password' type='password' autocomplete='current-password'>"
    "</label> <button type='submit'>Log in</button></form>"
)
CODE_FORM = (
    "<p>We sent you a code by SMS.</p><form method='post' action='/code'>"
    "<label>Code <input name='code' inputmode='numeric' autocomplete='one-time-code'></label> "
    "<button type='submit'>Verify</button></form>"
)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form (parsed here: Starlette's parser needs python-multipart)."""
    fields = urllib.parse.parse_qs((await request.body()).decode(errors="replace"))
    return {name: values[0] for name, values in fields.items()}


class Shop:
    """The login pages: the sessions they keep and the Herald they call."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}

    async def call_herald(self, path: str, payload: dict[str, str]) -> dict[str, Any]:
        """POST `payload` to Herald; its JSON answer, or `HeraldProblem` with a friendly text."""
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        try:
            async with (
                aiohttp.ClientSession(headers=headers) as client,
                client.post(self.config.herald_url + path, json=payload) as answer,
            ):
                document: dict[str, Any] = await answer.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as failure:
            raise HeraldProblem(
                "We could not reach the code service. Please try again later."
            ) from failure
        if answer.status >= 400:  # noqa: PLR2004 - any HTTP error
            raise HeraldProblem(friendly(answer.status, document))
        return document

    def session_of(self, request: Request) -> Session | None:
        """The session the request's cookie names, if any."""
        return self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    async def home(self, request: Request) -> Response:
        """Welcome, the code form, or the login form, by how far the session got."""
        session = self.session_of(request)
        if session is not None and session.logged_in:
            return page("Welcome", f"<p>Welcome, {html.escape(session.username)}!</p>")
        if session is not None:
            return page("Enter your code", CODE_FORM)
        return page("Shop login", LOGIN_FORM)

    async def login(self, request: Request) -> Response:
        """Check the password; only then ask Herald to send a code."""
        form = await read_form(request)
        username, password = form.get("username", ""), form.get("password", "")
        if username != DEMO_USER or not hmac.compare_digest(hash_password(password), _DEMO_HASH):
            return page("Shop login", error("Wrong username or password.") + LOGIN_FORM)
        try:
            verification = await self.call_herald(
                "/v1/verifications", {"to": self.config.demo_phone, "channel": "sms"}
            )
        except HeraldProblem as problem:
            return page("Shop login", error(problem.message) + LOGIN_FORM)
        token = secrets.token_urlsafe(32)
        self.sessions[token] = Session(username, str(verification["id"]))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax")
        return response

    async def code(self, request: Request) -> Response:
        """Check the code with Herald; approved logs the session in."""
        session = self.session_of(request)
        if session is None:
            return RedirectResponse("/", status_code=303)
        form = await read_form(request)
        payload = {"id": session.verification_id, "code": form.get("code", "").strip()}
        try:
            verification = await self.call_herald("/v1/verifications/check", payload)
        except HeraldProblem as problem:
            return page("Enter your code", error(problem.message) + CODE_FORM)
        status = verification.get("status")
        if status == "approved":
            session.logged_in = True
            return RedirectResponse("/", status_code=303)
        if status == "pending":
            return page("Enter your code", error("That code is not right.") + CODE_FORM)
        self.sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
        return page(
            "Shop login",
            error("That code can no longer be used. Please log in again.") + LOGIN_FORM,
        )


def create_app(config: Config) -> Starlette:
    """The Shop login app, talking to the Herald that `config` names."""
    shop = Shop(config)
    return Starlette(
        routes=[
            Route("/", shop.home),
            Route("/login", shop.login, methods=["POST"]),
            Route("/code", shop.code, methods=["POST"]),
        ]
    )


def main() -> None:
    """Run the app on 127.0.0.1:8000 with configuration from the environment."""
    api_key = os.environ.get("HERALD_API_KEY", "")
    if not api_key:
        sys.exit("Set HERALD_API_KEY to the key `python3 dev.py run` printed.")
    config = Config(
        herald_url=os.environ.get("HERALD_URL", "http://127.0.0.1:8800").rstrip("/"),
        api_key=api_key,
        demo_phone=os.environ.get("DEMO_PHONE", "+14155550100"),
    )
    uvicorn.run(create_app(config), host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
