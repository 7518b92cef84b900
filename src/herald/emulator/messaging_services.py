"""Messaging Services (`https://messaging.twilio.com/v1/Services`): records, rendering, routes.

A Messaging Service (`MG…`) groups a pool of the account's numbers with shared settings; a
message sent with `MessagingServiceSid` gets its `From` from the pool (`sender_for`, rules in
`herald.emulator.sender_pool`). Faithful points:

- fields, defaults and ranges of the Service resource as in `twilio_messaging_v1.json`
  (`ValidityPeriod` 1 to 36000, default 36000; `InboundMethod`/`FallbackMethod` GET or POST);
- a number belongs to at most one Service: adding it to a second one is 400/21712
  (twilio.com/docs/api/errors/21712); a `PhoneNumberSid` the account does not own is 400/21421
  (…/21421); a number with neither SMS nor MMS is 400/21715 (…/21715); a pool holds at most 400
  senders, 400/21714 beyond (…/21714);
- a number released from the account silently leaves every pool, and removing a number from a
  pool deletes its Sticky Sender mappings (support article 223181288).

The pool subresource lives in `herald.emulator.service_numbers`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.routing import RequestContext
from herald.emulator.sender_pool import PoolSender, StickySenders, select_sender
from herald.emulator.services import ServiceResource
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import absolute_url
from herald.emulator.whatsapp import whatsapp_state
from herald.emulator.wire import Params, iso8601

SERVICES_PATH: Final = "/v1/Services"
FRIENDLY_NAME_MAX: Final = 64
VALIDITY_MIN: Final = 1
VALIDITY_MAX: Final = 36000
HTTP_METHODS: Final = ("GET", "POST")
SCAN_MESSAGE_CONTENT: Final = ("inherit", "enable", "disable")
USECASES: Final = (
    "notifications",
    "marketing",
    "verification",
    "discussion",
    "poll",
    "undeclared",
)
SUBRESOURCES: Final = (
    ("phone_numbers", "PhoneNumbers"),
    ("short_codes", "ShortCodes"),
    ("alpha_senders", "AlphaSenders"),
    ("messages", "Messages"),
    ("us_app_to_person", "Compliance/Usa2p"),
    ("us_app_to_person_usecases", "Compliance/Usa2p/Usecases"),
    ("channel_senders", "ChannelSenders"),
    ("destination_alpha_senders", "DestinationAlphaSenders"),
)
SERVICE_NOT_FOUND: Final = 21701
SERVICE_INVALID: Final = 21705
_STICKY_RECORD: Final = "sticky-senders"

# (form field, attribute) of the URL settings; an empty value clears the setting.
_URL_FIELDS: Final = (
    ("InboundRequestUrl", "inbound_request_url"),
    ("FallbackUrl", "fallback_url"),
    ("StatusCallback", "status_callback"),
)
_BOOLEAN_FIELDS: Final = (
    ("StickySender", "sticky_sender"),
    ("MmsConverter", "mms_converter"),
    ("SmartEncoding", "smart_encoding"),
    ("FallbackToLongCode", "fallback_to_long_code"),
    ("AreaCodeGeomatch", "area_code_geomatch"),
    ("SynchronousValidation", "synchronous_validation"),
    ("UseInboundWebhookOnNumber", "use_inbound_webhook_on_number"),
)
_CHOICE_FIELDS: Final = (
    ("InboundMethod", "inbound_method", HTTP_METHODS),
    ("FallbackMethod", "fallback_method", HTTP_METHODS),
    ("ScanMessageContent", "scan_message_content", SCAN_MESSAGE_CONTENT),
    ("Usecase", "usecase", USECASES),
)


@dataclasses.dataclass(slots=True)
class MessagingService:
    """One Messaging Service; defaults are those of a Service created in Twilio's Console."""

    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    inbound_request_url: str | None = None
    inbound_method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    sticky_sender: bool = True
    mms_converter: bool = True
    smart_encoding: bool = True
    scan_message_content: str = "inherit"
    fallback_to_long_code: bool = False
    area_code_geomatch: bool = True
    synchronous_validation: bool = True
    validity_period: int = VALIDITY_MAX
    usecase: str = "undeclared"
    us_app_to_person_registered: bool = False
    use_inbound_webhook_on_number: bool = False


@dataclasses.dataclass(slots=True)
class PoolEntry:
    """A number in a Service's pool; `sid` is the number's own PN SID (one pool per number)."""

    sid: str
    account_sid: str
    service_sid: str
    date_created: datetime
    date_updated: datetime


SERVICES: StoreKey[MessagingService] = StoreKey("messaging_services")
POOL: StoreKey[PoolEntry] = StoreKey("messaging_service_numbers")
STICKY: StoreKey[StickySenders] = StoreKey("messaging_sticky_senders")


def sticky_senders(state: EmulatorState) -> StickySenders:
    """The Sticky Sender mappings of every Service (the only record of their store)."""
    store = state.store(STICKY)
    mappings = store.get(_STICKY_RECORD)
    if mappings is None:
        capacity = state.config.max_messages
        mappings = store.add(StickySenders(sid=_STICKY_RECORD, capacity=capacity))
    return mappings


def find_service(state: EmulatorState, account_sid: str, sid: str) -> MessagingService | None:
    """The Service `sid` if `account_sid` owns it."""
    return RESOURCE.find(state, account_sid, sid)


def resolve_service(state: EmulatorState, account_sid: str, sid: str) -> MessagingService:
    """The Service a Messages create names in `MessagingServiceSid`, or Twilio's 400.

    A value without the `MG` + 32 hex shape is 21705, an unknown or foreign Service 21701
    (twilio.com/docs/api/errors/21705, …/21701).
    """
    if len(sid) != len("MG") + 32 or not sid.startswith("MG") or not _is_hex(sid[2:]):
        raise errors.TwilioError(400, SERVICE_INVALID, "The Messaging Service is invalid")
    service = find_service(state, account_sid, sid)
    if service is None:
        raise errors.TwilioError(400, SERVICE_NOT_FOUND, "The Messaging Service does not exist")
    return service


def pool_of(state: EmulatorState, service: MessagingService) -> list[PoolEntry]:
    """The Service's pool, oldest first, without numbers the account has since released."""
    numbers = PhoneNumbers(state)
    pool = state.store(POOL)
    entries: list[PoolEntry] = []
    for entry in pool:
        if entry.service_sid != service.sid:
            continue
        if numbers.get(service.account_sid, entry.sid) is None:
            pool.remove(entry.sid)
            continue
        entries.append(entry)
    return entries


def sender_for(state: EmulatorState, service: MessagingService, to: str) -> str:
    """The `From` for a message to `to` sent through `service`, remembered for Sticky Sender.

    Returns an E.164 number, or a `whatsapp:` address for a WhatsApp recipient. Raises
    400/21704 for an empty pool and 400/21703 when no pool number can reach `to`.
    """
    numbers = PhoneNumbers(state)
    registry = whatsapp_state(state)
    candidates: list[PoolSender] = []
    for entry in pool_of(state, service):
        number = numbers.get(service.account_sid, entry.sid)
        if number is not None:
            whatsapp = registry.is_sender(service.account_sid, number.phone_number)
            candidates.append(PoolSender(number.phone_number, whatsapp=whatsapp))
    sticky = sticky_senders(state)
    remembered = sticky.lookup(service.sid, to) if service.sticky_sender else None
    sender = select_sender(
        candidates, to, sticky=remembered, area_code_geomatch=service.area_code_geomatch
    )
    if service.sticky_sender:
        sticky.remember(service.sid, to, sender)
    return sender


def render(ctx: RequestContext, service: MessagingService) -> dict[str, Any]:
    """The Service resource as Twilio sends it, with URLs on the emulator's host."""
    url = absolute_url(ctx.request, f"{SERVICES_PATH}/{service.sid}")
    return {
        "account_sid": service.account_sid,
        "sid": service.sid,
        "date_created": iso8601(service.date_created),
        "date_updated": iso8601(service.date_updated),
        "friendly_name": service.friendly_name,
        "inbound_request_url": service.inbound_request_url,
        "inbound_method": service.inbound_method,
        "fallback_url": service.fallback_url,
        "fallback_method": service.fallback_method,
        "status_callback": service.status_callback,
        "sticky_sender": service.sticky_sender,
        "mms_converter": service.mms_converter,
        "smart_encoding": service.smart_encoding,
        "scan_message_content": service.scan_message_content,
        "fallback_to_long_code": service.fallback_to_long_code,
        "area_code_geomatch": service.area_code_geomatch,
        "synchronous_validation": service.synchronous_validation,
        "validity_period": service.validity_period,
        "usecase": service.usecase,
        "us_app_to_person_registered": service.us_app_to_person_registered,
        "use_inbound_webhook_on_number": service.use_inbound_webhook_on_number,
        "links": {name: f"{url}/{segment}" for name, segment in SUBRESOURCES},
        "url": url,
    }


def _is_hex(text: str) -> bool:
    return all(char in "0123456789abcdefABCDEF" for char in text)


def _url(name: str, value: str) -> str | None:
    if value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise errors.invalid_parameter(f"Invalid {name}: {value!r} is not an http(s) URL.")
    return value


def _configure(service: MessagingService, params: Params) -> None:
    friendly_name = params.get("FriendlyName")
    if friendly_name is not None:
        if not friendly_name or len(friendly_name) > FRIENDLY_NAME_MAX:
            raise errors.invalid_parameter(
                f"Invalid FriendlyName: it must be 1 to {FRIENDLY_NAME_MAX} characters long."
            )
        service.friendly_name = friendly_name
    for field, attribute in _URL_FIELDS:
        value = params.get(field)
        if value is not None:
            setattr(service, attribute, _url(field, value))
    for field, attribute in _BOOLEAN_FIELDS:
        setattr(service, attribute, params.boolean(field, default=getattr(service, attribute)))
    for field, attribute, choices in _CHOICE_FIELDS:
        choice = params.choice(field, choices)
        if choice is not None:
            setattr(service, attribute, choice)
    validity = params.integer("ValidityPeriod", minimum=VALIDITY_MIN, maximum=VALIDITY_MAX)
    if validity is not None:
        service.validity_period = validity


def _new(ctx: RequestContext, params: Params) -> MessagingService:
    now = ctx.now()
    return MessagingService(
        sid=ctx.state.sids.sid("MG"),
        account_sid=ctx.account.sid,
        friendly_name=params.require("FriendlyName"),
        date_created=now,
        date_updated=now,
    )


def _forget(ctx: RequestContext, service: MessagingService) -> None:
    """Its pool is emptied (the numbers stay the account's) and its sticky senders forgotten."""
    pool = ctx.state.store(POOL)
    for entry in [entry for entry in pool if entry.service_sid == service.sid]:
        pool.remove(entry.sid)
    sticky_senders(ctx.state).forget_service(service.sid)


RESOURCE: Final = ServiceResource(
    path=SERVICES_PATH,
    store=SERVICES,
    new=_new,
    configure=_configure,
    render=render,
    forget=_forget,
)


def routes() -> list[Route]:
    """The Service routes (the pool's are in `service_numbers.routes()`)."""
    return RESOURCE.routes()
