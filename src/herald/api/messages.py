"""`/v1/messages`: accept a message into the outbox, preview one, read and list them.

Accepting runs every sending rule (`herald.domain.policy.plan_send`) with the two facts that
live in the database, the recipient's opt-out and their WhatsApp window, then commits the
message (`MessageRepository.accept`). From that commit on the worker owns it.

Idempotency: with an `Idempotency-Key` header, the key is looked up *before* the rules run, so
that repeating a request always gets the original message back (`200`, with the header
`Idempotent-Replayed: true`) even if the rules would now refuse it; the same key with a
different request is `409 idempotency_conflict`. A new message is `202 Accepted`.
"""

from __future__ import annotations

import inspect
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Final, cast

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BeforeValidator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, HTTPExceptionHandler, Message, Receive, Scope, Send

from herald.api.auth import CurrentTenant
from herald.api.deps import ApiDeps, Deps
from herald.api.limits import read_all, replay
from herald.api.message_views import (
    AcceptedMessageView,
    MessageDetailView,
    MessagePage,
    MessageView,
    PreviewView,
    SendMessageRequest,
    accepted_view,
    detail_view,
    message_fields,
    preview_view,
)
from herald.api.problems import problem_responses
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel, parse_address
from herald.domain.policy import (
    SendContext,
    SendPlan,
    SendRequest,
    TenantDefaults,
    opted_out_problem,
    parse_send_at,
    plan_send,
    resolve_parties,
)
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.records import MessageFilter, Tenant
from herald.errors import InvalidPhoneNumber, RecipientOptedOut
from herald.storage.messages import MAX_PAGE
from herald.storage.recipients import RecipientFacts

router = APIRouter(prefix="/v1/messages", tags=["messages"])

MAX_IDEMPOTENCY_KEY: Final = 255
REPLAYED_HEADER: Final = "Idempotent-Replayed"
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string up to 255 characters (a UUID is ideal); repeating the "
        "request with the same key returns the original message instead of sending again. "
        "Keys are kept at least 24 hours (HERALD_IDEMPOTENCY_HOURS).",
    ),
]


def _iso_only(value: object) -> object:
    """Refuse what pydantic would read as a Unix time (`0.5`): the API takes ISO 8601 only."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("is not an ISO 8601 date-time such as 2030-01-31T09:00:00Z")
    return value


async def send_message(
    payload: SendMessageRequest,
    tenant: CurrentTenant,
    deps: Deps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Check the message against every sending rule and commit it to the outbox."""
    return await _send(payload, tenant, deps, _checked_key(idempotency_key))


async def _send(
    payload: SendMessageRequest, tenant: Tenant, deps: ApiDeps, key: str | None
) -> Response:
    fingerprint = None
    if key is not None:
        fingerprint = payload.fingerprint()
        replay = await deps.messages.replay(tenant.id, key, fingerprint)
        if replay is not None:
            return _answer(accepted_view(replay.message, ()), replayed=True)
    now = deps.clock()
    # An SMS recipient's opt-out is read in the transaction that commits the message (one
    # round trip fewer); WhatsApp's is read first, so that it is reported before a closed
    # window, as `plan_send` orders them.
    read_opt_out = payload.channel is Channel.WHATSAPP
    plan = await _plan(payload, tenant, deps, now, read_opt_out=read_opt_out)
    try:
        accepted = await deps.messages.accept(
            tenant.id,
            plan.new_message(payload.metadata),
            now=now,
            idempotency_key=key,
            fingerprint=fingerprint,
            opt_out_address=None if read_opt_out else plan.parties.recipient.number.e164,
        )
    except RecipientOptedOut:
        raise opted_out_problem(plan.parties) from None
    if not accepted.created:
        return _answer(accepted_view(accepted.message, ()), replayed=True)
    return _answer(accepted_view(accepted.message, plan.warnings), replayed=False)


class DirectSend:
    """ASGI middleware answering a well-formed, authenticated `POST /v1/messages` itself.

    The busiest request: FastAPI's routing and dependency solving cost about a third as much
    as the rest of an accept (docs/benchmarks.md). A send with `Content-Type:
    application/json` exactly, no query string, a JSON object that validates and a live API
    key is read here, as FastAPI would read it, and sent through the same `_send`; its errors
    are answered by the app's own exception handlers (one no handler takes goes on up, to be
    answered `internal_error`). Any other request, and every other route, goes on to the app
    with its body unread, so refusals are FastAPI's (and `/openapi.json` describes the route
    as declared). It runs inside the body limits and the input guard (`create_api`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _may_be_direct(scope):
            await self._app(scope, receive, send)
            return
        received = await read_all(receive)
        receive = replay(received, receive)
        app: FastAPI = scope["app"]
        deps: ApiDeps = app.state.herald
        request = Request(scope, receive)
        try:
            direct = await _direct_request(scope, received, deps)
            if direct is None:
                response = None
            else:
                key = _checked_key(request.headers.get("idempotency-key"))
                response = await _send(*direct, deps, key)
        except Exception as exc:  # the API key's lookup, too: the database may be away
            handler = _handler_for(app, exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        if response is None:
            await self._app(scope, receive, send)
            return
        await response(scope, receive, send)


def _may_be_direct(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == "/v1/messages"
        and not scope.get("root_path")
        and not scope["query_string"]
    )


async def _direct_request(
    scope: Scope, received: list[Message], deps: ApiDeps
) -> tuple[SendMessageRequest, Tenant] | None:
    """The request's message and tenant if nothing about it needs FastAPI's answer."""
    headers = Headers(scope=scope)
    if headers.get("content-type") != "application/json" or received[-1]["type"] != "http.request":
        return None
    scheme, key = get_authorization_scheme_param(headers.get("authorization"))
    if scheme.lower() != "bearer" or not key:
        return None
    body = b"".join(message.get("body", b"") for message in received)
    try:
        payload = SendMessageRequest.model_validate(json.loads(body))
    except (ValueError, RecursionError):  # a ValidationError, bad JSON or UTF-8 among them
        return None
    tenant = await deps.api_keys.authenticate(key)
    return None if tenant is None else (payload, tenant)


def _handler_for(app: FastAPI, exc: Exception) -> HTTPExceptionHandler | None:
    """The handler the app's routes would have given `exc` (not the catch-all `Exception`)."""
    for kind in type(exc).__mro__:
        if kind is Exception:
            return None
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            return cast("HTTPExceptionHandler", handler)  # the app has no websocket routes
    return None


router.add_api_route(
    "",
    send_message,
    methods=["POST"],
    status_code=202,
    response_model=AcceptedMessageView,
    response_model_by_alias=True,
    summary="Send a message",
    responses={
        200: {
            "description": "A repeated request: the original message.",
            "model": AcceptedMessageView,
        },
        **problem_responses(401, 409, 413, 422, 503),
    },
)


@router.post(
    "/preview",
    response_model=PreviewView,
    response_model_by_alias=True,
    summary="Check a message without sending it",
    responses=problem_responses(401, 413, 422, 503),
)
async def preview_message(
    payload: SendMessageRequest, tenant: CurrentTenant, deps: Deps
) -> PreviewView:
    """Run the same checks and segment analysis as sending; nothing is stored or sent."""
    return preview_view(await _plan(payload, tenant, deps, deps.clock()))


@router.get(
    "/{message_id}",
    response_model=MessageDetailView,
    response_model_by_alias=True,
    summary="Read a message and its status history",
    responses=problem_responses(401, 404),
)
async def get_message(message_id: str, tenant: CurrentTenant, deps: Deps) -> MessageDetailView:
    """The message with every status report received for it, oldest first."""
    found = await deps.messages.detail(tenant.id, message_id)
    if found is None:
        raise ProblemError(
            ProblemCode.NOT_FOUND, f"There is no message {message_id!r} for this API key."
        )
    return detail_view(*found)


@router.get(
    "",
    response_model=MessagePage,
    response_model_by_alias=True,
    summary="List messages",
    responses=problem_responses(401, 422),
)
async def list_messages(
    *,
    tenant: CurrentTenant,
    deps: Deps,
    status: Annotated[Status | None, Query(description="Only messages in this status.")] = None,
    channel: Annotated[Channel | None, Query(description="`sms` or `whatsapp`.")] = None,
    to: Annotated[
        str | None, Query(description="Only messages to this `+E164` or `whatsapp:+E164`.")
    ] = None,
    created_from: Annotated[
        datetime | None,
        BeforeValidator(_iso_only),
        Query(description="Created at or after (ISO 8601 with offset)."),
    ] = None,
    created_to: Annotated[
        datetime | None,
        BeforeValidator(_iso_only),
        Query(description="Created at or before (ISO 8601 with offset)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Messages per page.")] = 50,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> MessagePage:
    """The tenant's messages, newest first, a page at a time."""
    filters = MessageFilter(
        status=status,
        channel=channel,
        to=None if to is None else _address(to),
        created_from=_aware(created_from, "created_from"),
        created_to=_aware(created_to, "created_to"),
    )
    page = await deps.messages.list(tenant.id, filters, limit=limit, cursor=cursor)
    return MessagePage(
        data=[MessageView.model_validate(message_fields(each)) for each in page.items],
        next_cursor=page.next_cursor,
    )


async def _plan(
    payload: SendMessageRequest,
    tenant: Tenant,
    deps: ApiDeps,
    now: datetime,
    *,
    read_opt_out: bool = True,
) -> SendPlan:
    request = SendRequest(
        channel=payload.channel,
        to=payload.to,
        from_=payload.from_,
        body=payload.body,
        template=payload.template,
        variables=payload.variables,
        content_sid=payload.content_sid,
        content_variables=payload.content_variables,
        media_urls=tuple(payload.media_urls),
        send_at=None if payload.send_at is None else parse_send_at(payload.send_at),
        purpose=payload.purpose,
        reply_expected=payload.reply_expected,
    )
    defaults = TenantDefaults.of(tenant.settings)
    parties = resolve_parties(request, defaults)
    state = await RecipientFacts(deps.opt_outs, deps.inbound).read(
        tenant.id, parties, opt_out=read_opt_out
    )
    context = SendContext(
        defaults,
        now,
        opted_out=state.opted_out,
        whatsapp_last_inbound_at=state.whatsapp_last_inbound_at,
    )
    return plan_send(request, context)


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"The Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII "
            "characters; a UUID is a good choice.",
            field="Idempotency-Key",
        )
    return key


def _answer(view: AcceptedMessageView, *, replayed: bool) -> Response:
    """`202` with the new message, or `200` and `Idempotent-Replayed: true` with the original.

    Serialized here, once: the view is already the declared response model."""
    return Response(
        view.model_dump_json(by_alias=True),
        status_code=200 if replayed else 202,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"} if replayed else None,
    )


def _address(text: str) -> str:
    try:
        return parse_address(text).twilio_form
    except InvalidPhoneNumber as exc:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"to: {exc.detail}",
            field="to",
            reason=exc.reason,
        ) from None


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is None:
        return None
    if moment.utcoffset() is None:
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"{name} has no UTC offset; add Z or the offset, e.g. 2030-01-31T09:00:00Z.",
            field=name,
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+14:00 is a valid ISO 8601 time before the first UTC datetime.
        raise ProblemError(
            ProblemCode.INVALID_REQUEST,
            f"{name} is outside the years 1 to 9999 once converted to UTC.",
            field=name,
        ) from None
