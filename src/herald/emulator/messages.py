"""The Messages resource: `/2010-04-01/Accounts/{AccountSid}/Messages[/{Sid}].json`.

Create (201) checks the request as Twilio does (`message_validation`), stores the message and
hands it to the delivery engine; under test credentials it answers the same 201 body but stores,
delivers and calls back nothing. List (200) filters by `To`, `From`, `DateSent`, `DateSent<`
and `DateSent>` and pages newest first in Twilio's envelope. Fetch (200), update (200: `Body=""`
redacts, `Status=canceled` cancels a scheduled message) and delete (204; 409/20009 while the
message is still on its way).

Rendering is Twilio's: every date RFC 2822, `num_segments` and `num_media` strings (`"0"`
segments until a Messaging Service has assigned the sender), `price` a negative string once
sent, `subresource_uris` with `media` and `feedback`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import BaseRoute

from herald.domain.segments import analyse
from herald.emulator import errors
from herald.emulator.auth import Access
from herald.emulator.chaos import ResponseLost
from herald.emulator.content import content_for_message
from herald.emulator.message_store import Message, MessageQuery
from herald.emulator.message_validation import (
    SendRequest,
    check_recipient,
    check_test_sender,
    read_send_request,
    refuse,
    sender_shape,
)
from herald.emulator.messaging import Messaging, messaging
from herald.emulator.messaging_services import resolve_service, sender_for
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.routing import RequestContext, api_route
from herald.emulator.whatsapp import SANDBOX_SENDER, bare_number, is_whatsapp, whatsapp_state
from herald.emulator.wire import (
    API_VERSION,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    NEXT_TOKEN_PREFIX,
    PREVIOUS_TOKEN_PREFIX,
    Params,
    json_response,
    resource_uri,
    rfc2822,
)

LIST_PATH: Final = "/Accounts/{account_sid}/Messages.json"
ITEM_PATH: Final = "/Accounts/{account_sid}/Messages/{sid}.json"
DELETE_IN_FLIGHT: Final = 20009
CANNOT_CANCEL: Final = 30409
_DATE_FILTERS: Final = (("DateSent", "="), ("DateSent<", "<"), ("DateSent>", ">"))


def render(message: Message) -> dict[str, Any]:
    """The Message resource as Twilio sends it."""
    uri = resource_uri("Accounts", message.account_sid, "Messages", message.sid)
    base = uri.removesuffix(".json")
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body,
        "date_created": rfc2822(message.date_created),
        "date_sent": None if message.date_sent is None else rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(message.num_media),
        "num_segments": "0" if message.from_ is None else str(message.num_segments),
        "price": message.price,
        "price_unit": message.price_unit,
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
        "to": message.to,
        "uri": uri,
    }


# -- create ---------------------------------------------------------------------------------


async def create_message(ctx: RequestContext) -> Response:
    """`POST …/Messages.json`."""
    request = read_send_request(await ctx.form(), ctx.now())
    runtime = messaging(ctx.state)
    message = _build(ctx, request, runtime)
    if ctx.is_test:
        return json_response(render(message), status=201)
    runtime.store.add(message)
    runtime.engine.accept(message)
    ctx.state.events.publish("message.created", {"message": render(message)})
    if runtime.policy.lose_create_response(message.sid):
        raise ResponseLost(message.sid)
    return json_response(render(message), status=201)


def _build(ctx: RequestContext, request: SendRequest, runtime: Messaging) -> Message:
    if ctx.is_test:
        check_test_sender(request)
    to = check_recipient(request, test=ctx.is_test)
    account_sid = ctx.account_sid if ctx.is_test else ctx.account.sid
    service = None
    if request.service_sid is not None and not ctx.is_test:
        service = resolve_service(ctx.state, account_sid, request.service_sid)
    from_ = request.from_
    if from_ is not None and not ctx.is_test:
        from_ = _check_sender(ctx, from_, to)
    if runtime.opt_outs.blocks(
        account_sid, sender=from_, service_sid=request.service_sid, recipient=to
    ):
        raise refuse(21610)
    content = None
    if not ctx.is_test:
        content = content_for_message(
            ctx.state, account_sid, request.content_sid, request.content_variables
        )
    pending_from = None
    if service is not None and from_ is None:
        pending_from = sender_for(ctx.state, service, to)
    smart = request.smart_encoded or (service is not None and service.smart_encoding)
    body = content.body if content is not None else request.body or ""
    media_urls = content.media_urls if content is not None else request.media_urls
    body, segments = _as_sent(body, to, smart_encoding=smart)
    now = ctx.now()
    status = "queued"
    if request.send_at is not None:
        status = "scheduled"
    elif service is not None:
        status = "accepted"
    validity = request.validity_period
    if validity is None and service is not None and service.validity_period != _DEFAULT_VALIDITY:
        validity = service.validity_period
    return Message(
        sid=ctx.state.sids.sid("SM"),
        account_sid=account_sid,
        to=to,
        from_=from_,
        body=body,
        status=status,
        date_created=now,
        date_updated=now,
        num_segments=segments,
        num_media=len(media_urls),
        media_urls=media_urls,
        messaging_service_sid=service.sid if service is not None else None,
        pending_from=pending_from,
        status_callback=request.status_callback
        or (service.status_callback if service is not None else None),
        validity_period=validity,
        send_at=request.send_at,
        content_sid=request.content_sid,
        template_approved=content.whatsapp_approved if content is not None else None,
    )


_DEFAULT_VALIDITY: Final = 36_000


def _as_sent(body: str, to: str, *, smart_encoding: bool) -> tuple[str, int]:
    """The body as it goes out and its segment count (WhatsApp has no segments: always 1)."""
    if not body:
        return body, 1
    if is_whatsapp(to):
        return body, 1
    info = analyse(body, smart_encoding=smart_encoding)
    return info.body, info.segments


def _check_sender(ctx: RequestContext, from_: str, to: str) -> str:
    """The canonical `From`, if the account may send from it to `to`; else Twilio's refusal."""
    shape = sender_shape(from_)
    if (shape == "whatsapp") != is_whatsapp(to):
        raise refuse(21910)
    account_sid = ctx.account.sid
    if shape == "whatsapp":
        sender = "whatsapp:" + bare_number(from_).strip()
        if sender != SANDBOX_SENDER and not whatsapp_state(ctx.state).is_sender(
            account_sid, sender
        ):
            raise refuse(63007)
        return sender
    if shape == "alphanumeric":
        if to.startswith("+1"):
            raise refuse(21612, to=to, from_=from_)
        return from_
    numbers = PhoneNumbers(ctx.state)
    owned = numbers.owned_by(account_sid, from_)
    if owned is not None and (owned.capabilities.sms or owned.capabilities.mms):
        return from_
    if owned is None and numbers.by_number(from_) is not None:
        raise refuse(21660, from_=from_)
    raise refuse(21606, from_=from_)


# -- list -----------------------------------------------------------------------------------


async def list_messages(ctx: RequestContext) -> Response:
    """`GET …/Messages.json`: newest first, filtered, in Twilio's paging envelope."""
    params = ctx.query()
    runtime = messaging(ctx.state)
    query = MessageQuery(
        to=params.get("To") or None,
        from_=params.get("From") or None,
        date_sent=_date_filter(params),
    )
    size = params.integer("PageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    page = params.integer("Page", 0, minimum=0)
    assert size is not None
    assert page is not None
    token = params.get("PageToken")
    if token is None and page > 0:
        raise errors.invalid_parameter("Paged requests must include a PageToken")
    account_sid = ctx.account.sid
    if token is not None and token[:2] == PREVIOUS_TOKEN_PREFIX:
        anchor = _token_seq(runtime, token)
        chunk = runtime.store.page_after(account_sid, query, after=anchor, size=size)
        more = True
    else:
        before = None if token is None else _token_seq(runtime, token)
        chunk, more = runtime.store.page(account_sid, query, before=before, size=size)
    filters = [(name, value) for name, value in params.items() if name in _FILTER_NAMES]
    path = resource_uri("Accounts", ctx.account_sid, "Messages")

    def link(number: int, page_token: str | None) -> str:
        pairs = [*filters, ("PageSize", str(size)), ("Page", str(number))]
        if page_token is not None:
            pairs.append(("PageToken", page_token))
        return f"{path}?{urlencode(pairs)}"

    start = page * size
    body = {
        "first_page_uri": link(0, None),
        "end": start + max(len(chunk) - 1, 0),
        "previous_page_uri": (
            link(page - 1, PREVIOUS_TOKEN_PREFIX + chunk[0].sid) if page > 0 and chunk else None
        ),
        "messages": [render(message) for message in chunk],
        "uri": link(page, token),
        "page_size": size,
        "start": start,
        "next_page_uri": (
            link(page + 1, NEXT_TOKEN_PREFIX + chunk[-1].sid) if more and chunk else None
        ),
        "page": page,
    }
    return json_response(body)


_FILTER_NAMES: Final = frozenset({"To", "From", "DateSent", "DateSent<", "DateSent>"})


def _token_seq(runtime: Messaging, token: str) -> int:
    if token[:2] not in {NEXT_TOKEN_PREFIX, PREVIOUS_TOKEN_PREFIX}:
        raise errors.invalid_parameter(f"Invalid PageToken: {token!r}.")
    message = runtime.store.lookup(token[2:])
    if message is None:
        raise errors.invalid_parameter(f"Invalid PageToken: {token!r}.")
    return message.seq


def _date_filter(params: Params) -> Any:
    tests = []
    for name, operator in _DATE_FILTERS:
        raw = params.get(name)
        if raw:
            tests.append(_date_test(name, raw, operator))
    if not tests:
        return None

    def matches(sent: datetime | None) -> bool:
        return sent is not None and all(test(sent) for test in tests)

    return matches


def _date_test(name: str, raw: str, operator: str) -> Any:
    """`DateSent` filters: a day (`YYYY-MM-DD`, whole day, bounds inclusive) or an instant."""
    text = raw.strip()
    try:
        if len(text) == len("YYYY-MM-DD"):
            day = date.fromisoformat(text)
            low = datetime.combine(day, time(), tzinfo=UTC)
            high = low + timedelta(days=1)
        else:
            low = datetime.fromisoformat(text)
            low = low if low.tzinfo else low.replace(tzinfo=UTC)
            high = low + timedelta(seconds=1)
    except ValueError:
        raise errors.invalid_parameter(f"Invalid {name}: {raw!r} is not a date.") from None
    if operator == "<":
        return lambda sent: sent < high
    if operator == ">":
        return lambda sent: sent >= low
    return lambda sent: low <= sent < high


# -- fetch, update, delete ------------------------------------------------------------------


def _find(ctx: RequestContext) -> Message:
    message = messaging(ctx.state).store.get(ctx.account.sid, ctx.path("sid"))
    if message is None:
        raise ctx.not_found()
    return message


async def fetch_message(ctx: RequestContext) -> Response:
    """`GET …/Messages/{Sid}.json`."""
    return json_response(render(_find(ctx)))


async def update_message(ctx: RequestContext) -> Response:
    """`POST …/Messages/{Sid}.json`: redact with `Body=""`, cancel with `Status=canceled`."""
    params = await ctx.form()
    message = _find(ctx)
    status = params.get("Status")
    body = params.get("Body")
    if status is not None:
        if status != "canceled":
            raise errors.invalid_parameter(f"Invalid Status: {status!r} (only 'canceled').")
        if message.status != "scheduled":
            raise errors.TwilioError(400, CANNOT_CANCEL, "This message cannot be canceled")
        messaging(ctx.state).engine.cancel(message)
    if body is not None:
        if body != "":
            raise errors.invalid_parameter("Body can only be updated to '' to redact a message.")
        message.body = ""
        message.date_updated = ctx.now()
    return json_response(render(message))


async def delete_message(ctx: RequestContext) -> Response:
    """`DELETE …/Messages/{Sid}.json`: 204, or 409/20009 while the message is on its way."""
    message = _find(ctx)
    if message.in_flight or message.status == "scheduled":
        raise errors.TwilioError(
            409,
            DELETE_IN_FLIGHT,
            "Cannot delete message because delivery has not been completed.",
        )
    messaging(ctx.state).store.remove(message)
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    """The Messages routes."""
    return [
        api_route("POST", LIST_PATH, create_message, access=Access(test_credentials=True)),
        api_route("GET", LIST_PATH, list_messages),
        api_route("GET", ITEM_PATH, fetch_message),
        api_route("POST", ITEM_PATH, update_message),
        api_route("DELETE", ITEM_PATH, delete_message),
    ]
