"""IncomingPhoneNumbers: the numbers an account has bought, as records and as Twilio renders them.

A bought number is an `IncomingNumber` in the `NUMBERS` store of the emulator state. Other parts
of the emulator reach them through `PhoneNumbers(state)`:

- `owned_by(account_sid, phone_number)`: the number if that account owns it (Messages checks a
  `From` with it);
- `by_number(phone_number)`: the number whoever owns it (the inbound simulator finds the
  `sms_url` / `sms_method` / `voice_url` to call);
- `taken()`: every bought number, so that searches leave them out.

A number is released by deleting it (or when its account is closed); it then shows up in
searches again, because the inventory never stores what is sold.

Rendering follows Twilio's wire format rather than the letter of the OpenAPI schema where the two
differ (TWILIO-API.md §9, §20): capabilities use lower-case `sms`/`mms` here (the PHP client's
maintainers show them so, twilio/twilio-php#731), unset SMS URLs and `status_callback` are `""`
and unset voice URLs `null`, as in the spec's own update example. Unset application, trunk,
address, identity and bundle SIDs are `null`: the spec example shows `""` for the application
SIDs, but its schema gives them a SID pattern that `""` does not satisfy.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from herald.emulator import errors
from herald.emulator.inventory import AvailableNumber, Capabilities, NumberKind, friendly_name_of
from herald.emulator.state import Account, EmulatorState, StoreKey
from herald.emulator.wire import API_VERSION, Params, resource_uri, rfc2822

FRIENDLY_NAME_MAX: Final = 64
HTTP_METHODS: Final = ("GET", "POST")
API_VERSIONS: Final = ("2010-04-01", "2008-08-01")
VOICE_RECEIVE_MODES: Final = ("voice", "fax")
EMERGENCY_STATUSES: Final = ("Active", "Inactive")

# (form field, attribute) pairs of the webhook configuration a number carries (TWILIO-API.md §9).
URL_FIELDS: Final = (
    ("SmsUrl", "sms_url"),
    ("SmsFallbackUrl", "sms_fallback_url"),
    ("VoiceUrl", "voice_url"),
    ("VoiceFallbackUrl", "voice_fallback_url"),
    ("StatusCallback", "status_callback"),
)
METHOD_FIELDS: Final = (
    ("SmsMethod", "sms_method"),
    ("SmsFallbackMethod", "sms_fallback_method"),
    ("VoiceMethod", "voice_method"),
    ("VoiceFallbackMethod", "voice_fallback_method"),
    ("StatusCallbackMethod", "status_callback_method"),
)
SID_FIELDS: Final = (
    ("SmsApplicationSid", "sms_application_sid", "AP"),
    ("VoiceApplicationSid", "voice_application_sid", "AP"),
    ("TrunkSid", "trunk_sid", "TK"),
    ("EmergencyAddressSid", "emergency_address_sid", "AD"),
    ("AddressSid", "address_sid", "AD"),
    ("IdentitySid", "identity_sid", "RI"),
    ("BundleSid", "bundle_sid", "BU"),
)
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_SID_LENGTH: Final = 34


@dataclasses.dataclass(slots=True)
class IncomingNumber:
    """A phone number an account has bought, with its webhook configuration."""

    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    iso_country: str
    kind: NumberKind
    capabilities: Capabilities
    address_requirements: str
    beta: bool
    date_created: datetime
    date_updated: datetime
    api_version: str = API_VERSION
    sms_url: str = ""
    sms_method: str = "POST"
    sms_fallback_url: str = ""
    sms_fallback_method: str = "POST"
    sms_application_sid: str | None = None
    voice_url: str | None = None
    voice_method: str = "POST"
    voice_fallback_url: str | None = None
    voice_fallback_method: str = "POST"
    voice_application_sid: str | None = None
    voice_caller_id_lookup: bool = False
    voice_receive_mode: str = "voice"
    status_callback: str = ""
    status_callback_method: str = "POST"
    trunk_sid: str | None = None
    emergency_status: str = "Inactive"
    emergency_address_sid: str | None = None
    address_sid: str | None = None
    identity_sid: str | None = None
    bundle_sid: str | None = None
    origin: str = "twilio"
    status: str = "in-use"


NUMBERS: StoreKey[IncomingNumber] = StoreKey("incoming_phone_numbers")


class PhoneNumbers:
    """The bought numbers of every account: the interface other emulator modules use."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store(NUMBERS)

    def owned_by(self, account_sid: str, phone_number: str) -> IncomingNumber | None:
        """The number `phone_number` (E.164) if the account `account_sid` owns it."""
        number = self.by_number(phone_number)
        return number if number is not None and number.account_sid == account_sid else None

    def by_number(self, phone_number: str) -> IncomingNumber | None:
        """The bought number `phone_number` (E.164), whichever account owns it."""
        return next((n for n in self._store if n.phone_number == phone_number), None)

    def get(self, account_sid: str, sid: str) -> IncomingNumber | None:
        """The number with this PN SID if `account_sid` owns it."""
        number = self._store.get(sid)
        return number if number is not None and number.account_sid == account_sid else None

    def of_account(self, account_sid: str) -> list[IncomingNumber]:
        """An account's numbers, oldest purchase first."""
        return [number for number in self._store if number.account_sid == account_sid]

    def taken(self) -> frozenset[str]:
        """Every bought number (E.164), whoever owns it."""
        return frozenset(number.phone_number for number in self._store)

    def add(self, number: IncomingNumber) -> IncomingNumber:
        """Store a drafted number: it now belongs to its account and is out of the inventory."""
        if self.by_number(number.phone_number) is not None:
            raise ValueError(f"{number.phone_number} is already bought.")
        return self._store.add(number)

    def draft(self, account_sid: str, available: AvailableNumber, now: datetime) -> IncomingNumber:
        """The record a purchase of `available` makes, without storing it (test credentials)."""
        return IncomingNumber(
            sid=self._state.sids.sid("PN"),
            account_sid=account_sid,
            phone_number=available.phone_number,
            friendly_name=available.friendly_name,
            iso_country=available.iso_country,
            kind=available.kind,
            capabilities=available.capabilities,
            address_requirements=available.block.address_requirements,
            beta=available.block.beta,
            date_created=now,
            date_updated=now,
        )

    def release(self, number: IncomingNumber) -> None:
        """Release a number: it leaves the account and returns to the inventory."""
        self._store.remove(number.sid)

    def release_all(self, account_sid: str) -> None:
        """Release every number of an account (Twilio does so when an account is closed)."""
        for number in self.of_account(account_sid):
            self._store.remove(number.sid)


def configure(number: IncomingNumber, params: Params) -> None:
    """Apply the configuration fields of a create or update request to `number`.

    Everything is validated before anything changes, so a refused request leaves the number as
    it was. URLs may be set to `""` to clear them; methods are `GET` or `POST` in any case.
    """
    changes: dict[str, Any] = {}
    friendly_name = params.get("FriendlyName")
    if friendly_name is not None:
        if len(friendly_name) > FRIENDLY_NAME_MAX:
            raise errors.invalid_parameter(
                f"FriendlyName is {len(friendly_name)} characters long; the limit is 64."
            )
        changes["friendly_name"] = friendly_name or friendly_name_of(number.phone_number)
    _read_webhooks(params, changes)
    _read_choices(params, changes)
    # Setting a voice application clears the trunk and vice versa (Twilio's field docs).
    if changes.get("voice_application_sid"):
        changes["trunk_sid"] = None
    if changes.get("trunk_sid"):
        changes["voice_application_sid"] = None
    for attribute, value in changes.items():
        setattr(number, attribute, value)


def _read_webhooks(params: Params, changes: dict[str, Any]) -> None:
    for field, attribute in URL_FIELDS:
        url = params.get(field)
        if url is not None:
            changes[attribute] = _checked_url(field, url.strip())
    for field, attribute in METHOD_FIELDS:
        method = params.get(field)
        if method is not None:
            changes[attribute] = _checked_method(field, method)
    for field, attribute, prefix in SID_FIELDS:
        sid = params.get(field)
        if sid is not None:
            changes[attribute] = _checked_sid(field, sid, prefix)


def _read_choices(params: Params, changes: dict[str, Any]) -> None:
    api_version = params.choice("ApiVersion", API_VERSIONS)
    if api_version is not None:
        changes["api_version"] = api_version
    mode = params.choice("VoiceReceiveMode", VOICE_RECEIVE_MODES)
    if mode is not None:
        changes["voice_receive_mode"] = mode
    emergency = params.choice("EmergencyStatus", EMERGENCY_STATUSES)
    if emergency is not None:
        changes["emergency_status"] = emergency
    lookup = params.boolean("VoiceCallerIdLookup")
    if lookup is not None:
        changes["voice_caller_id_lookup"] = lookup


def _checked_url(field: str, url: str) -> str:
    if url == "":
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        # 21402 Invalid Url: "make sure you submit a fully qualified URL including protocol
        # (http:// or https://) and hostname" (twilio.com/docs/errors/21402).
        raise errors.TwilioError(
            400, 21402, f"{field} is not valid: {url!r} is not an absolute http(s) URL."
        )
    return url


def _checked_method(field: str, method: str) -> str:
    upper = method.strip().upper()
    if upper not in HTTP_METHODS:
        # 21403 Invalid Method: "Valid Method values are GET or POST"
        # (twilio.com/docs/errors/21403).
        raise errors.TwilioError(400, 21403, f"{field} must be GET or POST, not {method!r}.")
    return upper


def _checked_sid(field: str, sid: str, prefix: str) -> str | None:
    if sid == "":
        return None
    if len(sid) != _SID_LENGTH or not sid.startswith(prefix) or not set(sid[2:]) <= _HEX:
        raise errors.invalid_parameter(
            f"{field} must be a {prefix} SID ({prefix} followed by 32 hex digits), not {sid!r}."
        )
    return sid


def render(
    number: IncomingNumber, account_sid: str | None = None, *, with_type: bool = True
) -> dict[str, Any]:
    """The IncomingPhoneNumber resource as Twilio sends it.

    `account_sid` overrides the owner shown (the test SID under test credentials). The typed
    sub-lists (`IncomingPhoneNumbers/Local.json`, ...) render without `type`: their schemas in
    the spec have every other field but that one.
    """
    owner = account_sid or number.account_sid
    caps = number.capabilities
    body = {
        "account_sid": owner,
        "address_requirements": number.address_requirements,
        "address_sid": number.address_sid,
        "api_version": number.api_version,
        "beta": number.beta,
        "capabilities": {"voice": caps.voice, "sms": caps.sms, "mms": caps.mms, "fax": caps.fax},
        "date_created": rfc2822(number.date_created),
        "date_updated": rfc2822(number.date_updated),
        "emergency_status": number.emergency_status,
        "emergency_address_sid": number.emergency_address_sid,
        "emergency_address_status": "unregistered",
        "friendly_name": number.friendly_name,
        "identity_sid": number.identity_sid,
        "origin": number.origin,
        "phone_number": number.phone_number,
        "sid": number.sid,
        "sms_application_sid": number.sms_application_sid,
        "sms_fallback_method": number.sms_fallback_method,
        "sms_fallback_url": number.sms_fallback_url,
        "sms_method": number.sms_method,
        "sms_url": number.sms_url,
        "status_callback": number.status_callback,
        "status_callback_method": number.status_callback_method,
        "trunk_sid": number.trunk_sid,
        "uri": resource_uri("Accounts", owner, "IncomingPhoneNumbers", number.sid),
        "voice_application_sid": number.voice_application_sid,
        "voice_caller_id_lookup": number.voice_caller_id_lookup,
        "voice_fallback_method": number.voice_fallback_method,
        "voice_fallback_url": number.voice_fallback_url,
        "voice_method": number.voice_method,
        "voice_url": number.voice_url,
        "voice_receive_mode": number.voice_receive_mode,
        "status": number.status,
        "bundle_sid": number.bundle_sid,
    }
    if with_type:
        body["type"] = number.kind.value
    return body


def release_numbers_of_closed_account(state: EmulatorState, account: Account) -> None:
    """`EmulatorState.account_closed_hooks` entry: a closed account's numbers are released."""
    PhoneNumbers(state).release_all(account.sid)
