"""`POST /_emulator/seed`: a ready-to-use account in one request.

JSON body, every field optional:

    {
      "account_sid": "AC…",                  # default: the main account
      "numbers": 2,                          # how many to buy, or a list of E.164 numbers
      "country": "US",                       # where to buy when a count is given
      "sms_url": "http://127.0.0.1:8000/sms", "sms_method": "POST",
      "messaging_service": {"friendly_name": "Shop", "inbound_request_url": "http://…"},
      "whatsapp": true                       # make the numbers WhatsApp senders
    }

It buys the numbers (SMS-capable numbers from the emulator's inventory, local ones first, as a
purchase through the API would), sets their incoming-message webhook, optionally puts them all in
a new Messaging Service and registers them as WhatsApp senders, and answers what it made (201).
Everything is checked before anything is bought.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.inventory import AvailableNumber, Search
from herald.emulator.inventory_blocks import INVENTORY
from herald.emulator.messaging_services import POOL, SERVICES, MessagingService, PoolEntry
from herald.emulator.numbers import IncomingNumber, PhoneNumbers, configure
from herald.emulator.routing import Emulator, emulator_of
from herald.emulator.v1wire import read_json
from herald.emulator.whatsapp import whatsapp_state
from herald.emulator.wire import Params, json_response

MAX_NUMBERS: Final = 50
_FIELDS: Final = frozenset(
    {"account_sid", "numbers", "country", "sms_url", "sms_method", "messaging_service", "whatsapp"}
)
_SERVICE_FIELDS: Final = frozenset({"friendly_name", "inbound_request_url"})


def _account(emulator: Emulator, body: dict[str, Any]) -> str:
    account_sid = body.get("account_sid", emulator.config.account_sid)
    account = emulator.state.accounts.get(account_sid) if isinstance(account_sid, str) else None
    if account is None or account.status != "active":
        raise errors.invalid_parameter(f"Invalid account_sid {account_sid!r}: no active account.")
    return account.sid


def _choose(emulator: Emulator, body: dict[str, Any]) -> list[AvailableNumber]:
    wanted = body.get("numbers", 1)
    taken = PhoneNumbers(emulator.state).taken()
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if not 1 <= wanted <= MAX_NUMBERS:
            raise errors.invalid_parameter(f"numbers must be 1 to {MAX_NUMBERS}, got {wanted}.")
        country = body.get("country", "US")
        place = INVENTORY.country(country.upper()) if isinstance(country, str) else None
        if place is None:
            known = ", ".join(each.iso for each in INVENTORY.countries)
            raise errors.invalid_parameter(f"Invalid country {country!r}: give one of {known}.")
        # Local numbers first, as a purchase would pick; where they cannot text (NL, BE, DE
        # local numbers are voice-only) mobile numbers follow.
        found: list[AvailableNumber] = []
        for kind in place.kinds:
            found += INVENTORY.search(
                place.iso, kind, Search(sms=True), taken=taken, limit=wanted - len(found)
            )
            if len(found) == wanted:
                break
        if len(found) < wanted:
            raise errors.invalid_parameter(f"Only {len(found)} SMS numbers left in {country}.")
        return found
    if not isinstance(wanted, list) or not wanted or len(wanted) > MAX_NUMBERS:
        raise errors.invalid_parameter(
            f"numbers must be a count or a list of 1 to {MAX_NUMBERS} E.164 numbers."
        )
    chosen = []
    for phone_number in wanted:
        available = INVENTORY.lookup(phone_number) if isinstance(phone_number, str) else None
        if available is None or phone_number in taken:
            raise errors.invalid_parameter(
                f"{phone_number!r} is not an available number of the emulator's inventory; "
                "search AvailablePhoneNumbers for one."
            )
        chosen.append(available)
    return chosen


def _service(emulator: Emulator, body: dict[str, Any], account_sid: str) -> MessagingService | None:
    settings = body.get("messaging_service")
    if settings is None:
        return None
    if not isinstance(settings, dict) or set(settings) - _SERVICE_FIELDS:
        raise errors.invalid_parameter(
            "messaging_service must be an object with friendly_name and inbound_request_url."
        )
    url = settings.get("inbound_request_url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https"))):
        raise errors.invalid_parameter(f"Invalid inbound_request_url {url!r}: give an http(s) URL.")
    now = emulator.clock.now()
    return MessagingService(
        sid=emulator.state.sids.sid("MG"),
        account_sid=account_sid,
        friendly_name=str(settings.get("friendly_name") or "Herald emulator service"),
        date_created=now,
        date_updated=now,
        inbound_request_url=url,
    )


def _webhook(body: dict[str, Any]) -> Params:
    pairs = []
    for field, name in (("sms_url", "SmsUrl"), ("sms_method", "SmsMethod")):
        value = body.get(field)
        if value is not None:
            if not isinstance(value, str):
                raise errors.invalid_parameter(f"{field} must be a string.")
            pairs.append((name, value))
    return Params(pairs)


async def seed(request: Request) -> Response:
    """`POST /_emulator/seed` (201)."""
    emulator = emulator_of(request)
    body = await read_json(request)
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise errors.invalid_parameter(
            f"Unknown field(s) {', '.join(unknown)}; give {', '.join(sorted(_FIELDS))}."
        )
    account_sid = _account(emulator, body)
    chosen = _choose(emulator, body)
    webhook = _webhook(body)
    whatsapp = body.get("whatsapp", False)
    if not isinstance(whatsapp, bool):
        raise errors.invalid_parameter("whatsapp must be true or false.")
    numbers = PhoneNumbers(emulator.state)
    now = emulator.clock.now()
    drafts = [numbers.draft(account_sid, available, now) for available in chosen]
    for draft in drafts:
        configure(draft, webhook)
    service = _service(emulator, body, account_sid)
    for draft in drafts:
        numbers.add(draft)
        if whatsapp:
            whatsapp_state(emulator.state).register_sender(account_sid, draft.phone_number)
    if service is not None:
        emulator.state.store(SERVICES).add(service)
        for draft in drafts:
            emulator.state.store(POOL).add(
                PoolEntry(draft.sid, account_sid, service.sid, date_created=now, date_updated=now)
            )
    return json_response(
        {
            "account_sid": account_sid,
            "numbers": [_number_view(draft) for draft in drafts],
            "messaging_service": None
            if service is None
            else {
                "sid": service.sid,
                "friendly_name": service.friendly_name,
                "inbound_request_url": service.inbound_request_url,
            },
        },
        status=201,
    )


def _number_view(number: IncomingNumber) -> dict[str, Any]:
    return {
        "sid": number.sid,
        "phone_number": number.phone_number,
        "sms_url": number.sms_url,
        "sms_method": number.sms_method,
    }


def routes() -> list[Route]:
    """The seed route."""
    return [Route(f"{CONTROL_PREFIX}/seed", seed, methods=["POST"])]
