"""A Messaging Service's number pool: `/v1/Services/{ServiceSid}/PhoneNumbers[/{Sid}]`.

The pool resource's SID is the number's own PN SID, so a number appears under the same SID in
IncomingPhoneNumbers and in its Service. Errors follow Twilio's error pages: an unknown,
foreign or malformed `PhoneNumberSid` is 21421, a number already in a Service 21712 (Twilio
documents the code for "another" Service; re-adding to the same one answers the same), a number
with neither SMS nor MMS 21715, a full pool (400 senders) 21714.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.messaging_services import (
    POOL,
    RESOURCE,
    SERVICES_PATH,
    MessagingService,
    PoolEntry,
    pool_of,
    sticky_senders,
)
from herald.emulator.numbers import IncomingNumber, PhoneNumbers
from herald.emulator.routing import RequestContext
from herald.emulator.v1wire import absolute_url, paginate_meta, product_route
from herald.emulator.wire import iso8601, json_response

POOL_LIMIT: Final = 400
NUMBER_INVALID: Final = 21421
ALREADY_IN_A_SERVICE: Final = 21712
POOL_FULL: Final = 21714
NOT_MESSAGING_CAPABLE: Final = 21715


def capabilities(number: IncomingNumber) -> list[str]:
    """The number's capabilities as the pool resource lists them (`["MMS", "SMS", "Voice"]`)."""
    flags = number.capabilities
    named = (("MMS", flags.mms), ("SMS", flags.sms), ("Voice", flags.voice), ("Fax", flags.fax))
    return [name for name, present in named if present]


def render(ctx: RequestContext, entry: PoolEntry, number: IncomingNumber) -> dict[str, Any]:
    """The pool's PhoneNumber resource as Twilio sends it."""
    return {
        "sid": entry.sid,
        "account_sid": entry.account_sid,
        "service_sid": entry.service_sid,
        "date_created": iso8601(entry.date_created),
        "date_updated": iso8601(entry.date_updated),
        "phone_number": number.phone_number,
        "country_code": number.iso_country,
        "capabilities": capabilities(number),
        "url": absolute_url(
            ctx.request, f"{SERVICES_PATH}/{entry.service_sid}/PhoneNumbers/{entry.sid}"
        ),
    }


def _service_or_404(ctx: RequestContext) -> MessagingService:
    return RESOURCE.named(ctx, "service_sid")


def _number_to_add(ctx: RequestContext, service: MessagingService, sid: str) -> IncomingNumber:
    number = PhoneNumbers(ctx.state).get(service.account_sid, sid)
    if number is None:
        raise errors.TwilioError(
            400, NUMBER_INVALID, f"Phone Number is invalid: {sid} is not a number of this account"
        )
    if ctx.state.store(POOL).get(sid) is not None:
        raise errors.TwilioError(
            400,
            ALREADY_IN_A_SERVICE,
            "Phone Number or Short Code is associated with another Messaging Service.",
        )
    if not (number.capabilities.sms or number.capabilities.mms):
        raise errors.TwilioError(
            400,
            NOT_MESSAGING_CAPABLE,
            "Phone Number Does Not Have Correct Messaging Service Capabilities",
        )
    if len(pool_of(ctx.state, service)) >= POOL_LIMIT:
        raise errors.TwilioError(400, POOL_FULL, "Messaging Service Number Pool size limit reached")
    return number


async def add_number(ctx: RequestContext) -> Response:
    """`POST /v1/Services/{ServiceSid}/PhoneNumbers` (201)."""
    service = _service_or_404(ctx)
    params = await ctx.form()
    number = _number_to_add(ctx, service, params.require("PhoneNumberSid"))
    now = ctx.now()
    entry = PoolEntry(
        sid=number.sid,
        account_sid=service.account_sid,
        service_sid=service.sid,
        date_created=now,
        date_updated=now,
    )
    ctx.state.store(POOL).add(entry)
    return json_response(render(ctx, entry, number), status=201)


def _members(ctx: RequestContext, service: MessagingService) -> list[tuple[PoolEntry, Any]]:
    numbers = PhoneNumbers(ctx.state)
    return [
        (entry, numbers.get(service.account_sid, entry.sid))
        for entry in pool_of(ctx.state, service)
    ]


async def list_numbers(ctx: RequestContext) -> Response:
    """`GET /v1/Services/{ServiceSid}/PhoneNumbers`: the pool, oldest addition first."""
    service = _service_or_404(ctx)
    page = paginate_meta(
        _members(ctx, service),
        request=ctx.request,
        params=ctx.query(),
        path=f"{SERVICES_PATH}/{service.sid}/PhoneNumbers",
        key="phone_numbers",
        render=lambda member: render(ctx, member[0], member[1]),
        sid_of=lambda member: member[0].sid,
    )
    return json_response(page)


def _member_or_404(ctx: RequestContext) -> tuple[PoolEntry, IncomingNumber]:
    service = _service_or_404(ctx)
    sid = ctx.path("sid")
    for entry, number in _members(ctx, service):
        if entry.sid == sid:
            return entry, number
    raise ctx.not_found()


async def fetch_number(ctx: RequestContext) -> Response:
    """`GET /v1/Services/{ServiceSid}/PhoneNumbers/{Sid}`."""
    entry, number = _member_or_404(ctx)
    return json_response(render(ctx, entry, number))


async def remove_number(ctx: RequestContext) -> Response:
    """`DELETE /v1/Services/{ServiceSid}/PhoneNumbers/{Sid}` (204): the number stays bought.

    Its Sticky Sender mappings in this Service are deleted (support article 223181288).
    """
    entry, number = _member_or_404(ctx)
    ctx.state.store(POOL).remove(entry.sid)
    sticky_senders(ctx.state).forget_sender(entry.service_sid, number.phone_number)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The pool routes."""
    base = SERVICES_PATH + "/{service_sid}/PhoneNumbers"
    return [
        product_route("POST", base, add_number),
        product_route("GET", base, list_numbers),
        product_route("GET", base + "/{sid}", fetch_number),
        product_route("DELETE", base + "/{sid}", remove_number),
    ]
