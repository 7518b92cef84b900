"""The emulator's web inbox: what Mailpit is for e-mail, for SMS and WhatsApp.

Server-rendered pages on the emulator's own port:

- `/` — the simulated phones, newest conversation first, updating as messages come and go;
- `/phones/{number}` — one phone's conversation with live delivery ticks, and a composer that
  replies as that phone (`POST /phones/{number}/reply` plays `/_emulator/inbound`);
- `/accounts`, `/webhooks`, `/chaos` — accounts and numbers with their webhook URLs, recent
  webhook attempts, and the chaos switches (the form PUTs `/_emulator/chaos`).

`/partials/…` render single fragments (a bubble, the phone list) from the same templates, so
the page script refreshes the DOM with HTML the server escaped rather than building it from
data. The script follows `/events` (`pages_stream`): the pages subscribe to the event bus and
the state code does not know they exist.

Every response carries a Content-Security-Policy without inline scripts or styles: message
bodies come from whoever called the API, so they are escaped by Jinja2's autoescape and even a
missed escape could not run script. `InboxFirst` serves these paths ahead of the rest of the
app, so chaos (which fails API requests on purpose) never breaks the page that turns it off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from herald.emulator.errors import TwilioError
from herald.emulator.inbound import Inbound, receive
from herald.emulator.pages_panels import account_panels, chaos_panel, webhook_rows
from herald.emulator.pages_stream import events
from herald.emulator.pages_views import (
    E164,
    MAX_BODY,
    Conversation,
    bubble,
    conversation,
    message_by_sid,
    phone_list,
)
from herald.emulator.phones import phone_of
from herald.emulator.routing import Emulator, emulator_of
from herald.emulator.whatsapp import bare_number
from herald.emulator.wire import read_form

HERE: Final = Path(__file__).parent
# No inline script or style at all: a body that slipped past escaping could still not run.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
PAGE_PATHS: Final = frozenset({"/", "/accounts", "/webhooks", "/chaos", "/events"})
PAGE_PREFIXES: Final = ("/phones/", "/partials/", "/static/")
CHANNEL_NAMES: Final = {"sms": "SMS", "mms": "MMS", "whatsapp": "WhatsApp"}
NAVIGATION: Final = (
    ("/", "Phones", "phones"),
    ("/accounts", "Accounts", "accounts"),
    ("/webhooks", "Webhooks", "webhooks"),
    ("/chaos", "Chaos", "chaos"),
)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = lambda moment: moment.strftime("%H:%M:%S")
    env.filters["stamp"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    env.filters["iso"] = lambda moment: moment.isoformat().replace("+00:00", "Z")
    env.filters["bare"] = bare_number
    env.globals["channel_names"] = CHANNEL_NAMES
    env.globals["navigation"] = NAVIGATION
    return env


TEMPLATES: Final = Jinja2Templates(env=_environment())


def _render(request: Request, name: str, page: str, status: int = 200, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(request, name, {"page": page, **context}, status_code=status)


def _phone_number(request: Request) -> str:
    number = bare_number(str(request.path_params["number"]).strip())
    if not E164.match(number):
        raise HTTPException(
            404, f"{number!r} is not a phone number: write it in E.164, such as +14155552671."
        )
    return number


def _conversation_of(request: Request, number: str) -> Conversation:
    found = conversation(emulator_of(request).state, number)
    if found is None:
        raise HTTPException(404, f"No message went to or came from {number} yet.")
    return found


# -- pages -------------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    """`GET /`: the simulated phones."""
    listing = phone_list(emulator_of(request).state)
    return _render(request, "index.html", "phones", listing=listing)


async def phone(request: Request) -> Response:
    """`GET /phones/{number}`: one phone's conversation and its composer."""
    number = _phone_number(request)
    chat = _conversation_of(request, number)
    return _render(request, "phone.html", "phones", conversation=chat, draft="", error="")


async def reply(request: Request) -> Response:
    """`POST /phones/{number}/reply`: the phone sends `body` to `to`, as `/_emulator/inbound`.

    A script asks for JSON and gets the inbound message (or `{"message": why}` with the error's
    status); a plain form post is redirected back to the conversation.
    """
    emulator = emulator_of(request)
    number = _phone_number(request)
    chat = _conversation_of(request, number)
    wants_json = "application/json" in request.headers.get("accept", "")
    body = ""
    try:
        form = await read_form(request)
        body = form.get("body") or ""
        result = await _reply(emulator, chat, form.get("to") or "", body)
    except TwilioError as exc:
        if wants_json:
            return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)
        chat = _conversation_of(request, number)
        return _render(
            request,
            "phone.html",
            "phones",
            exc.status,
            conversation=chat,
            draft=body,
            error=exc.message,
        )
    if wants_json:
        return JSONResponse(result, status_code=201)
    return RedirectResponse(f"/phones/{number}", status_code=303)


async def _reply(emulator: Emulator, chat: Conversation, to: str, body: str) -> dict[str, Any]:
    target = next((each for each in chat.targets if each.to == to), None)
    if target is None:
        raise TwilioError(
            400, 20001, f"Choose one of the numbers {chat.number} talked with, not {to!r}."
        )
    if not body.strip():
        raise TwilioError(400, 20001, "Type a message to send.")
    if len(body) > MAX_BODY:
        raise TwilioError(400, 20001, f"A message body holds at most {MAX_BODY} characters.")
    return await receive(emulator, Inbound(from_=target.from_, to=target.to, body=body))


async def accounts(request: Request) -> Response:
    """`GET /accounts`: accounts, their numbers and Services, with webhook URLs."""
    panels = account_panels(emulator_of(request).state)
    return _render(request, "accounts.html", "accounts", panels=panels)


async def webhooks(request: Request) -> Response:
    """`GET /webhooks`: the newest webhook attempts."""
    rows, total = webhook_rows(emulator_of(request).state)
    return _render(request, "webhooks.html", "webhooks", rows=rows, total=total)


async def chaos(request: Request) -> Response:
    """`GET /chaos`: the chaos switches."""
    panel = chaos_panel(emulator_of(request).state)
    return _render(request, "chaos.html", "chaos", panel=panel)


# -- fragments for the page script --------------------------------------------------------------


async def phones_fragment(request: Request) -> Response:
    """`GET /partials/phones`: the phone list."""
    listing = phone_list(emulator_of(request).state)
    return _render(request, "_phones.html", "phones", listing=listing)


async def conversation_fragment(request: Request) -> Response:
    """`GET /partials/phones/{number}`: the conversation's message list."""
    chat = _conversation_of(request, _phone_number(request))
    return _render(request, "_conversation.html", "phones", conversation=chat)


async def reply_to_fragment(request: Request) -> Response:
    """`GET /partials/phones/{number}/reply-to`: the numbers the phone can reply to."""
    chat = _conversation_of(request, _phone_number(request))
    return _render(request, "_reply_to.html", "phones", conversation=chat)


async def message_fragment(request: Request) -> Response:
    """`GET /partials/messages/{sid}`: one bubble."""
    message = message_by_sid(emulator_of(request).state, str(request.path_params["sid"]))
    if message is None:
        raise HTTPException(404, "That message is no longer kept.")
    view = bubble(message)
    return _render(request, "_bubble.html", "phones", b=view, phone=phone_of(message))


async def webhooks_fragment(request: Request) -> Response:
    """`GET /partials/webhooks`: the webhook table's rows."""
    rows, total = webhook_rows(emulator_of(request).state)
    return _render(request, "_webhooks.html", "webhooks", rows=rows, total=total)


async def chaos_fragment(request: Request) -> Response:
    """`GET /partials/chaos`: what chaos is in force and what it did."""
    panel = chaos_panel(emulator_of(request).state)
    return _render(request, "_chaos_state.html", "chaos", panel=panel)


async def page_error(request: Request, exc: Exception) -> Response:
    """An HTML page (or, for a fragment, a bare paragraph) saying what went wrong."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/partials/"):
        return _render(request, "_error.html", "", exc.status_code, detail=exc.detail)
    return _render(request, "error.html", "", exc.status_code, detail=exc.detail)


# -- the app -------------------------------------------------------------------------------------


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every inbox response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, adding the headers to its response."""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    """The inbox's pages, fragments and static files."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/phones/{number}", phone, methods=["GET"]),
        Route("/phones/{number}/reply", reply, methods=["POST"]),
        Route("/accounts", accounts, methods=["GET"]),
        Route("/webhooks", webhooks, methods=["GET"]),
        Route("/chaos", chaos, methods=["GET"]),
        Route("/events", events, methods=["GET"]),
        Route("/partials/phones", phones_fragment, methods=["GET"]),
        Route("/partials/phones/{number}", conversation_fragment, methods=["GET"]),
        Route("/partials/phones/{number}/reply-to", reply_to_fragment, methods=["GET"]),
        Route("/partials/messages/{sid}", message_fragment, methods=["GET"]),
        Route("/partials/webhooks", webhooks_fragment, methods=["GET"]),
        Route("/partials/chaos", chaos_fragment, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def pages_app(emulator: Emulator) -> Starlette:
    """The inbox as its own small app, serving `emulator`'s state."""
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: page_error},
    )
    app.state.emulator = emulator
    return app


def is_page_path(path: str) -> bool:
    """Whether the inbox serves `path` (the Twilio API and `/_emulator/` never start so)."""
    return path in PAGE_PATHS or path.startswith(PAGE_PREFIXES)


class InboxFirst:
    """Middleware that hands the inbox's paths to the inbox before anything else sees them.

    Placed ahead of the chaos middleware, which would otherwise delay and fail the pages like
    API requests (a 503 on every request would leave no page to switch chaos off from).
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.pages = pages_app(emulator)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve an inbox path with the inbox, anything else with the emulator."""
        if scope["type"] == "http" and is_page_path(str(scope["path"])):
            await self.pages(scope, receive, send)
            return
        await self.app(scope, receive, send)
