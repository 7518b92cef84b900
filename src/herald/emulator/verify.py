"""Verify v2 verifications and checks (`https://verify.twilio.com/v2/Services/{VA}/…`), and the
control API's view of the codes sent.

- `POST /v2/Services/{VA}/Verifications` (201) starts a verification, or resends the open one
  of the same `To` (same SID and code), and delivers the code (`verify_delivery`);
- `GET` / `POST /v2/Services/{VA}/Verifications/{VE}` fetch it, or set `Status` to `canceled`
  (or `approved`, for Services with custom codes only);
- `POST /v2/Services/{VA}/VerificationCheck` (200) checks a code by `To` or `VerificationSid`:
  `pending` and `valid: false` for a wrong code, `approved` for the right one;
- `GET /_emulator/verify/codes` lists the codes sent, newest first (`to`, `account_sid`,
  `limit` filters), so that a test or a developer can read the code a phone received.

Refusals, in order: 400/20001 for a missing `To`/`Channel`/`Code`; 400/60200 `Invalid
parameter: <Name>` for a `Channel` other than sms, call, email and whatsapp (`sna` and `auto`
need access the emulator does not grant), a `To` that is not E.164 (or an e-mail address for
`email`), a `Locale` not shaped `ll` or `ll-RR`, a `CustomCode` not of 4-10 letters or digits, a
`Code` not of 4-10 characters; 403/60205 for an SMS to a landline when the Service has both
`LookupEnabled` and `SkipSmsToLandlines` (the setting "requires lookup_enabled" in the spec);
429/60203 and 429/60202 for the send and check limits (`verify_models`). Test credentials are
refused as on every v1/v2 product (403/20008): Twilio's blog says test credentials "are not
compatible with the Verify API".
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from herald.domain.phone import NumberType, parse
from herald.emulator import errors
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.outcomes import outcome_for
from herald.emulator.routing import RequestContext, emulator_of
from herald.emulator.v1wire import absolute_url, product_route
from herald.emulator.verify_delivery import deliver, delivery_view, sent_codes
from herald.emulator.verify_models import (
    APPROVED,
    CANCELED,
    CHANNELS,
    LOCKED,
    MAX_CHECKS,
    MAX_SENDS,
    PENDING,
    Channel,
    SendAttempt,
    Verification,
    codes_match,
    invalid_parameter,
    max_checks_reached,
    max_sends_reached,
    sms_to_landline,
    verify_runtime,
)
from herald.emulator.verify_services import SERVICES_PATH, VerifyService, service_or_404
from herald.emulator.wire import iso8601, json_response
from herald.errors import InvalidPhoneNumber

VERIFICATIONS_PATH: Final = SERVICES_PATH + "/{service_sid}/Verifications"
CHECK_PATH: Final = SERVICES_PATH + "/{service_sid}/VerificationCheck"
CHECK_CODE_MIN: Final = 4
CHECK_CODE_MAX: Final = 10
CODES_LIMIT_DEFAULT: Final = 20
CODES_LIMIT_MAX: Final = 1000
# The spec's examples write `SMS` and `EMAIL` in capitals and `whatsapp` in lower case; `CALL`
# follows the older channels' capitals (not seen in a source).
ATTEMPT_CHANNEL: Final[dict[str, str]] = {
    "sms": "SMS",
    "call": "CALL",
    "email": "EMAIL",
    "whatsapp": "whatsapp",
}
# A delivery error of 30006 is the emulator's landline (docs/emulator.md, outcomes table).
_LANDLINE_DELIVERY_ERROR: Final = 30006

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?")
_CUSTOM_CODE = re.compile(r"[A-Za-z0-9]{4,10}")


def render(ctx: RequestContext, verification: Verification) -> dict[str, Any]:
    """The Verification resource as Twilio sends it (never with the code)."""
    path = f"{SERVICES_PATH}/{verification.service_sid}/Verifications/{verification.sid}"
    return {
        "sid": verification.sid,
        "service_sid": verification.service_sid,
        "account_sid": verification.account_sid,
        "to": verification.to,
        "channel": verification.channel,
        "status": verification.status,
        "valid": verification.status == APPROVED,
        "date_created": iso8601(verification.date_created),
        "date_updated": iso8601(verification.date_updated),
        "lookup": verification.lookup,
        "amount": verification.amount,
        "payee": verification.payee,
        "send_code_attempts": [
            {
                "time": iso8601(attempt.time),
                "channel": ATTEMPT_CHANNEL[attempt.channel],
                "attempt_sid": attempt.sid,
            }
            for attempt in verification.attempts
        ],
        "sna": None,
        "url": absolute_url(ctx.request, path),
    }


def render_check(verification: Verification, *, valid: bool) -> dict[str, Any]:
    """The VerificationCheck resource: the verification as this check left it."""
    return {
        "sid": verification.sid,
        "service_sid": verification.service_sid,
        "account_sid": verification.account_sid,
        "to": verification.to,
        "channel": verification.channel,
        "status": APPROVED if valid else PENDING,
        "valid": valid,
        "amount": verification.amount,
        "payee": verification.payee,
        "sna_attempts_error_codes": [],
        "date_created": iso8601(verification.date_created),
        "date_updated": iso8601(verification.date_updated),
    }


# -- reading the request -----------------------------------------------------------------------


def _channel(value: str) -> Channel:
    for channel in CHANNELS:
        if value == channel:
            return channel
    raise invalid_parameter("Channel")


def _recipient(value: str, channel: Channel) -> str:
    to = value.strip()
    if channel == "email":
        if not _EMAIL.fullmatch(to):
            raise invalid_parameter("To")
        return to
    if not _E164.fullmatch(to):
        raise invalid_parameter("To")
    try:
        return parse(to).e164
    except InvalidPhoneNumber:
        raise invalid_parameter("To") from None


def _lookup(service: VerifyService, to: str, channel: Channel) -> dict[str, object]:
    """What a Lookup tells of `To` when the Service has lookups on (`{}` otherwise)."""
    if not service.lookup_enabled or channel == "email":
        return {}
    if _is_landline(to):
        line_type = "landline"
    elif parse(to).number_type is NumberType.VOIP:
        line_type = "voip"
    else:
        line_type = "mobile"
    return {
        "carrier": {
            "error_code": None,
            "name": None,
            "mobile_country_code": None,
            "mobile_network_code": None,
            "type": line_type,
        }
    }


def _is_landline(to: str) -> bool:
    return outcome_for(to).error_code == _LANDLINE_DELIVERY_ERROR


def _check_landline(service: VerifyService, to: str, channel: Channel) -> None:
    if (
        channel == "sms"
        and service.lookup_enabled
        and service.skip_sms_to_landlines
        and _is_landline(to)
    ):
        raise sms_to_landline()


# -- handlers ----------------------------------------------------------------------------------


async def create_verification(ctx: RequestContext) -> Response:
    """`POST …/Verifications` (201): start, or resend the open verification of this `To`."""
    service = service_or_404(ctx, "service_sid")
    params = await ctx.form()
    raw_to = params.require("To")
    channel = _channel(params.require("Channel"))
    to = _recipient(raw_to, channel)
    locale = params.get("Locale")
    if locale is not None and not _LOCALE.fullmatch(locale):
        raise invalid_parameter("Locale")
    custom_code = params.get("CustomCode")
    if custom_code is not None and not _CUSTOM_CODE.fullmatch(custom_code):
        raise invalid_parameter("CustomCode")
    runtime = verify_runtime(ctx.state)
    now = ctx.now()
    verification = runtime.open_for(service.sid, to, now)
    if verification is not None:
        if verification.status == LOCKED:
            raise max_checks_reached()
        if len(verification.attempts) >= MAX_SENDS:
            raise max_sends_reached()
    _check_landline(service, to, channel)
    if verification is None:
        # Twilio ignores a CustomCode unless the Service enables custom codes.
        code = custom_code if custom_code and service.custom_code_enabled else None
        psd2 = service.psd2_enabled
        verification = Verification(
            sid=ctx.state.sids.sid("VE"),
            account_sid=ctx.account.sid,
            service_sid=service.sid,
            to=to,
            channel=channel,
            code=code or runtime.new_code(service.code_length),
            date_created=now,
            date_updated=now,
            lookup=_lookup(service, to, channel),
            amount=params.get("Amount") if psd2 else None,
            payee=params.get("Payee") if psd2 else None,
        )
        runtime.add(verification)
    attempt = SendAttempt(sid=ctx.state.sids.sid("VL"), channel=channel, time=now)
    verification.attempts.append(attempt)
    verification.channel = channel
    verification.date_updated = now
    deliver(
        ctx.state,
        service,
        verification,
        attempt,
        friendly_name=params.get("CustomFriendlyName") or None,
    )
    return json_response(render(ctx, verification), status=201)


def _verification_or_404(ctx: RequestContext, service: VerifyService) -> Verification:
    verification = verify_runtime(ctx.state).get(service.sid, ctx.path("sid"), ctx.now())
    if verification is None:
        raise ctx.not_found()
    return verification


async def fetch_verification(ctx: RequestContext) -> Response:
    """`GET …/Verifications/{VE}`: 404/20404 once approved or expired."""
    service = service_or_404(ctx, "service_sid")
    return json_response(render(ctx, _verification_or_404(ctx, service)))


async def update_verification(ctx: RequestContext) -> Response:
    """`POST …/Verifications/{VE}` with `Status=canceled` (or `approved` for custom codes)."""
    service = service_or_404(ctx, "service_sid")
    params = await ctx.form()
    status = params.require("Status")
    verification = _verification_or_404(ctx, service)
    runtime = verify_runtime(ctx.state)
    if status == CANCELED and verification.status in {PENDING, LOCKED, CANCELED}:
        runtime.close(verification)
    elif status == APPROVED and verification.status == PENDING and service.custom_code_enabled:
        # Approving by hand is for codes the application checks itself (custom codes); the
        # verification is then gone like one approved by a check.
        runtime.forget(verification)
    else:
        raise invalid_parameter("Status")
    _set_status(ctx, verification, status)
    return json_response(render(ctx, verification))


async def check_verification(ctx: RequestContext) -> Response:
    """`POST …/VerificationCheck` (200): by `VerificationSid` or by `To`, with `Code`."""
    service = service_or_404(ctx, "service_sid")
    params = await ctx.form()
    code = params.require("Code")
    if not CHECK_CODE_MIN <= len(code) <= CHECK_CODE_MAX:
        raise invalid_parameter("Code")
    runtime = verify_runtime(ctx.state)
    now = ctx.now()
    sid, to = params.get("VerificationSid"), params.get("To")
    if sid:
        verification = runtime.get(service.sid, sid, now)
        if verification is not None and to and verification.to != to.strip():
            verification = None
    elif to:
        verification = runtime.open_for(service.sid, to.strip(), now)
    else:
        raise invalid_parameter("To")
    if verification is None or not verification.is_open:
        raise ctx.not_found()
    if verification.status == LOCKED:
        raise max_checks_reached()
    verification.checks += 1
    verification.date_updated = now
    valid = codes_match(verification.code, code)
    if valid:
        runtime.forget(verification)
        _set_status(ctx, verification, APPROVED)
    elif verification.checks >= MAX_CHECKS:
        # The fifth wrong code still answers `pending`; the lock shows on a fetch and makes
        # the next check a 60202 (behaviour reported from live use of the API).
        _set_status(ctx, verification, LOCKED)
    return json_response(render_check(verification, valid=valid))


def _set_status(ctx: RequestContext, verification: Verification, status: str) -> None:
    previous = verification.status
    verification.status = status
    verification.date_updated = ctx.now()
    if previous != status:
        ctx.state.events.publish(
            "verify.status",
            {
                "verification": {
                    "sid": verification.sid,
                    "service_sid": verification.service_sid,
                    "account_sid": verification.account_sid,
                    "to": verification.to,
                    "channel": verification.channel,
                    "status": status,
                },
                "previous_status": previous,
            },
        )


# -- control API -------------------------------------------------------------------------------


async def control_codes(request: Request) -> Response:
    """`GET /_emulator/verify/codes?to=…&account_sid=…&limit=…`: codes sent, newest first.

    `to` is a phone number (an unencoded `+` arrives as a space and is read back as `+`) or an
    e-mail address.
    """
    query = request.query_params
    to = query.get("to")
    if to is not None:
        to = to.strip()
        if to.isdigit():
            to = "+" + to
        to = to.removeprefix("whatsapp:")
    raw_limit = query.get("limit", str(CODES_LIMIT_DEFAULT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= CODES_LIMIT_MAX:
        raise errors.invalid_parameter(
            f"Invalid limit {raw_limit!r}: give a whole number from 1 to {CODES_LIMIT_MAX}."
        )
    found = sent_codes(
        emulator_of(request).state,
        to=to or None,
        account_sid=query.get("account_sid") or None,
        limit=int(raw_limit),
    )
    return json_response({"codes": [delivery_view(delivery) for delivery in found]})


def routes() -> list[BaseRoute]:
    """The verification and check routes, and the control API's codes."""
    item = VERIFICATIONS_PATH + "/{sid}"
    return [
        product_route("POST", VERIFICATIONS_PATH, create_verification),
        product_route("GET", item, fetch_verification),
        product_route("POST", item, update_verification),
        product_route("POST", CHECK_PATH, check_verification),
        Route(f"{CONTROL_PREFIX}/verify/codes", control_codes, methods=["GET"]),
    ]
