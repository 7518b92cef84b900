"""IncomingPhoneNumbers routes: buy, list, fetch, configure and release numbers.

- `POST …/IncomingPhoneNumbers.json` buys `PhoneNumber`, or the first free number in `AreaCode`
  (North America only); `…/IncomingPhoneNumbers/{Local|Mobile|TollFree}.json` buy a number of
  that type and take no `AreaCode` (21457). 201 with the new number.
- `GET` on the same paths lists the account's numbers (of that type), filtered by `PhoneNumber`
  (partial, `*` for any digit), `FriendlyName` (exact), `Beta` and `Origin`, in the paging
  envelope.
- `GET|POST|DELETE …/IncomingPhoneNumbers/{PN}.json` fetch, update (the configuration fields, and
  `AccountSid` to move the number to an account the caller controls) and release (204).

Purchase errors, as Twilio's error pages describe them: 21421 the number is not a valid phone
number, 21422 it is not for sale (not in the inventory, of another type, or already bought),
21451 `AreaCode` is not a North American area code, 21452 no number is left in that area code.
With neither `PhoneNumber` nor `AreaCode`, Twilio answers HTTP 400 with code 400 and the message
"did or area_code is required." (seen through the Twilio CLI, twilio/twilio-cli#98).

Test credentials may buy (TWILIO-API.md §7): `+15005550006` and area code 500 succeed,
`+15005550000` is 21422, `+15005550001` is 21421, area code 533 is 21452; the answer is a normal
201 body, but nothing is stored.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.responses import Response
from starlette.routing import Route

from herald.domain import phone
from herald.emulator import errors
from herald.emulator.auth import Access, authorize
from herald.emulator.available_numbers import AREA_CODE, invalid_area_code
from herald.emulator.inventory import AvailableNumber, NumberKind
from herald.emulator.inventory_blocks import INVENTORY, TEST_CREDENTIALS_BLOCK
from herald.emulator.numbers import IncomingNumber, PhoneNumbers, configure, render
from herald.emulator.routing import Handler, RequestContext, api_route
from herald.emulator.wire import Params, json_response, paginate, resource_uri
from herald.errors import InvalidPhoneNumber

ORIGINS: Final = ("twilio", "hosted")
TEST_SUCCESS_NUMBER: Final = "+15005550006"
TEST_NUMBER_ERRORS: Final = {"+15005550000": 21422, "+15005550001": 21421}
TEST_SUCCESS_AREA_CODE: Final = "500"

_PURCHASE_ACCESS: Final = Access(test_credentials=True)


def routes() -> list[Route]:
    """The IncomingPhoneNumbers routes; the typed sub-lists come before `{sid}` on purpose."""
    base = "/Accounts/{account_sid}/IncomingPhoneNumbers"
    typed = [
        route
        for kind in NumberKind
        for route in (
            api_route(
                "POST", f"{base}/{kind.path_segment}.json", _buyer(kind), access=_PURCHASE_ACCESS
            ),
            api_route("GET", f"{base}/{kind.path_segment}.json", _lister(kind)),
        )
    ]
    return [
        api_route("POST", base + ".json", _buyer(None), access=_PURCHASE_ACCESS),
        api_route("GET", base + ".json", _lister(None)),
        *typed,
        api_route("GET", base + "/{sid}.json", fetch_number),
        api_route("POST", base + "/{sid}.json", update_number),
        api_route("DELETE", base + "/{sid}.json", release_number),
    ]


def _buyer(kind: NumberKind | None) -> Handler:
    async def buy(ctx: RequestContext) -> Response:
        return await buy_number(ctx, kind)

    return buy


def _lister(kind: NumberKind | None) -> Handler:
    async def list_(ctx: RequestContext) -> Response:
        return await list_numbers(ctx, kind)

    return list_


async def buy_number(ctx: RequestContext, kind: NumberKind | None) -> Response:
    """Buy a number by `PhoneNumber` or `AreaCode`; `kind` is set on the typed sub-lists."""
    form = await ctx.form()
    numbers = PhoneNumbers(ctx.state)
    wanted = (form.get("PhoneNumber") or "").strip()
    area_code = (form.get("AreaCode") or "").strip()
    if not wanted and not area_code:
        if kind is not None:
            raise errors.missing_parameter("PhoneNumber")
        raise errors.TwilioError(400, 400, "did or area_code is required.")
    if not wanted and kind is not None:
        # 21457: "AreaCode … is not supported on the IncomingPhoneNumbers/Local & …/TollFree
        # sub-resources" (twilio.com/docs/errors/21457).
        raise errors.TwilioError(
            400,
            21457,
            f"AreaCode is not supported on IncomingPhoneNumbers/{kind.path_segment}; "
            "buy on IncomingPhoneNumbers.json or give a PhoneNumber.",
        )
    if ctx.is_test:
        available = _test_purchase(wanted, area_code)
    elif wanted:
        available = _available(wanted, kind, numbers.taken())
    else:
        available = _in_area_code(area_code, numbers.taken())
    number = numbers.draft(ctx.account.sid, available, ctx.now())
    configure(number, form)
    with_type = kind is None
    if ctx.is_test:
        return json_response(render(number, ctx.account_sid, with_type=with_type), status=201)
    return json_response(render(numbers.add(number), with_type=with_type), status=201)


def _available(wanted: str, kind: NumberKind | None, taken: frozenset[str]) -> AvailableNumber:
    try:
        e164 = phone.parse(wanted).e164
    except InvalidPhoneNumber:
        raise _invalid_number(wanted) from None
    available = INVENTORY.lookup(e164)
    if available is None or e164 in taken or (kind is not None and available.kind is not kind):
        raise _not_available(e164)
    return available


def _in_area_code(area_code: str, taken: frozenset[str]) -> AvailableNumber:
    if not AREA_CODE.fullmatch(area_code):
        raise invalid_area_code(area_code)
    available = INVENTORY.first_in_area_code(area_code, taken=taken)
    if available is None:
        raise _none_in_area_code(area_code)
    return available


def _test_purchase(wanted: str, area_code: str) -> AvailableNumber:
    test_number = AvailableNumber(TEST_SUCCESS_NUMBER, TEST_CREDENTIALS_BLOCK)
    if wanted:
        if wanted == TEST_SUCCESS_NUMBER:
            return test_number
        if TEST_NUMBER_ERRORS.get(wanted) == 21421:  # noqa: PLR2004 - Twilio's code
            raise _invalid_number(wanted)
        raise _not_available(wanted)
    if not AREA_CODE.fullmatch(area_code):
        raise invalid_area_code(area_code)
    if area_code == TEST_SUCCESS_AREA_CODE:
        return test_number
    raise _none_in_area_code(area_code)


def _invalid_number(wanted: str) -> errors.TwilioError:
    # 21421 "Phone Number is invalid": buy with a valid number in E.164
    # (twilio.com/docs/errors/21421).
    return errors.TwilioError(
        400, 21421, f"PhoneNumber {wanted!r} is not a valid phone number; give it in E.164."
    )


def _not_available(e164: str) -> errors.TwilioError:
    # 21422 "PhoneNumber is not available" (twilio.com/docs/errors/21422).
    return errors.TwilioError(
        400,
        21422,
        f"PhoneNumber {e164} is not available; search AvailablePhoneNumbers for one that is.",
    )


def _none_in_area_code(area_code: str) -> errors.TwilioError:
    # 21452 "No phone numbers found in area code" (Twilio's test-credential table, §7).
    return errors.TwilioError(400, 21452, f"No phone numbers found in area code {area_code}.")


async def list_numbers(ctx: RequestContext, kind: NumberKind | None) -> Response:
    """The account's numbers (of one type on the typed sub-lists), filtered and paged."""
    query = ctx.query()
    pattern = query.get("PhoneNumber")
    friendly_name = query.get("FriendlyName")
    origin = query.choice("Origin", ORIGINS)
    beta = query.boolean("Beta", default=True)
    matcher = _partial_number(pattern) if pattern else None
    matching = [
        number
        for number in PhoneNumbers(ctx.state).of_account(ctx.account.sid)
        if (kind is None or number.kind is kind)
        and (matcher is None or matcher.search(number.phone_number))
        and (friendly_name is None or number.friendly_name == friendly_name)
        and (origin is None or number.origin == origin)
        and (beta or not number.beta)
    ]
    filters = [
        (name, value)
        for name, value in (
            ("PhoneNumber", pattern),
            ("FriendlyName", friendly_name),
            ("Origin", origin),
            ("Beta", query.get("Beta")),
        )
        if value is not None
    ]
    segments = ("Accounts", ctx.account_sid, "IncomingPhoneNumbers")
    path = resource_uri(*segments, kind.path_segment) if kind else resource_uri(*segments)
    return json_response(
        paginate(
            matching,
            params=query,
            path=path,
            key="incoming_phone_numbers",
            render=lambda number: render(number, with_type=kind is None),
            sid_of=lambda number: number.sid,
            filters=filters,
        )
    )


def _partial_number(pattern: str) -> re.Pattern[str]:
    # "You can specify partial numbers and use '*' as a wildcard for any digit" (the spec's
    # ListIncomingPhoneNumber parameters).
    text = pattern.strip()
    if not text or not re.fullmatch(r"\+?[0-9*]+", text):
        raise errors.invalid_parameter(
            f"Invalid PhoneNumber {pattern!r}: give digits, optionally with + and * for any digit."
        )
    return re.compile("".join(r"\d" if char == "*" else re.escape(char) for char in text))


def _owned(ctx: RequestContext) -> IncomingNumber:
    number = PhoneNumbers(ctx.state).get(ctx.account.sid, ctx.path("sid"))
    if number is None:
        raise ctx.not_found()
    return number


async def fetch_number(ctx: RequestContext) -> Response:
    """GET …/IncomingPhoneNumbers/{PN}.json."""
    return json_response(render(_owned(ctx)))


async def update_number(ctx: RequestContext) -> Response:
    """POST …/IncomingPhoneNumbers/{PN}.json: configuration, or a move to another account."""
    number = _owned(ctx)
    form = await ctx.form()
    new_owner = _new_owner(ctx, form)
    configure(number, form)
    if new_owner is not None:
        number.account_sid = new_owner
    number.date_updated = ctx.now()
    return json_response(render(number))


def _new_owner(ctx: RequestContext, form: Params) -> str | None:
    target = form.get("AccountSid")
    if target is None or target == ctx.account.sid:
        return None
    # The caller must be allowed to act on the receiving account (itself or a subaccount it owns).
    return authorize(ctx.principal, ctx.state, target, Access()).sid


async def release_number(ctx: RequestContext) -> Response:
    """DELETE …/IncomingPhoneNumbers/{PN}.json: the number goes back to the inventory."""
    PhoneNumbers(ctx.state).release(_owned(ctx))
    return Response(status_code=204)
