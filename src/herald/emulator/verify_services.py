"""Verify Services (`https://verify.twilio.com/v2/Services`): records, rendering, routes.

A Service (`VA…`) holds the settings its verifications follow: the name shown in the message,
the code length, whether lookups run and landlines are skipped for SMS, custom codes, PSD2.
Faithful points (TWILIO-API.md §8, `twilio_verify_v2.json`):

- every field of the Service resource, `push`/`totp`/`whatsapp`/`passkeys` objects included,
  ISO 8601 dates, an absolute `url` and the seven `links`;
- defaults of a Service created through the API: `code_length` 6, `dtmf_input_required` true,
  every other flag false;
- `FriendlyName` is required (400/20001 when absent); one Verify refuses with 400/60200
  `Invalid parameter: FriendlyName` is longer than 30 characters (twilio.com/docs/api/errors/
  60200; the create page says 32, the error page and schema 30) or holds more than 4 digits
  (reported from live use of the API; Twilio keeps phone numbers out of the message's name);
- `CodeLength` outside 4-10, `Totp.TimeStep` outside 20-60, `Totp.CodeLength` outside 3-8,
  `Totp.Skew` outside 0-2 (ranges from the spec), a malformed SID or boolean: 400/60200.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from starlette.routing import Route

from herald.emulator.routing import RequestContext
from herald.emulator.services import ServiceResource
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import absolute_url
from herald.emulator.verify_models import (
    CODE_LENGTH_MAX,
    CODE_LENGTH_MIN,
    DEFAULT_CODE_LENGTH,
    invalid_parameter,
    verify_runtime,
)
from herald.emulator.whatsapp import channel_address
from herald.emulator.wire import Params, iso8601

SERVICES_PATH: Final = "/v2/Services"
FRIENDLY_NAME_MAX: Final = 30
FRIENDLY_NAME_MAX_DIGITS: Final = 4
LINKS: Final = (
    ("verification_checks", "VerificationCheck"),
    ("verifications", "Verifications"),
    ("rate_limits", "RateLimits"),
    ("messaging_configurations", "MessagingConfigurations"),
    ("entities", "Entities"),
    ("webhooks", "Webhooks"),
    ("access_tokens", "AccessTokens"),
)
PASSKEY_ATTACHMENTS: Final = ("", "platform", "cross-platform", "any")
PASSKEY_PREFERENCES: Final = ("", "required", "preferred", "discouraged")

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_TRUE, _FALSE = "true", "false"


@dataclasses.dataclass(slots=True)
class VerifyService:
    """One Verify Service; unset optional settings are None, as Twilio renders them."""

    sid: str
    account_sid: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    code_length: int = DEFAULT_CODE_LENGTH
    lookup_enabled: bool = False
    skip_sms_to_landlines: bool = False
    dtmf_input_required: bool = True
    tts_name: str | None = None
    psd2_enabled: bool = False
    do_not_share_warning_enabled: bool = False
    custom_code_enabled: bool = False
    default_template_sid: str | None = None
    verify_event_subscription_enabled: bool = False
    push_include_date: bool = False
    push_apn_credential_sid: str | None = None
    push_fcm_credential_sid: str | None = None
    totp_issuer: str | None = None
    totp_time_step: int | None = None
    totp_code_length: int | None = None
    totp_skew: int | None = None
    whatsapp_msg_service_sid: str | None = None
    whatsapp_from: str | None = None
    passkeys_relying_party_id: str | None = None
    passkeys_relying_party_name: str | None = None
    passkeys_relying_party_origins: list[str] | None = None
    passkeys_authenticator_attachment: str | None = None
    passkeys_discoverable_credentials: str | None = None
    passkeys_user_verification: str | None = None


SERVICES: StoreKey[VerifyService] = StoreKey("verify_services")


def find_service(state: EmulatorState, account_sid: str, sid: str) -> VerifyService | None:
    """The Service `sid` if `account_sid` owns it."""
    return RESOURCE.find(state, account_sid, sid)


def service_or_404(ctx: RequestContext, name: str = "sid") -> VerifyService:
    """The caller's Service named by the path parameter `name`, or Twilio's 404/20404."""
    return RESOURCE.named(ctx, name)


def render(ctx: RequestContext, service: VerifyService) -> dict[str, Any]:
    """The Service resource as Twilio sends it, with URLs on the emulator's host."""
    url = absolute_url(ctx.request, f"{SERVICES_PATH}/{service.sid}")
    return {
        "sid": service.sid,
        "account_sid": service.account_sid,
        "friendly_name": service.friendly_name,
        "code_length": service.code_length,
        "lookup_enabled": service.lookup_enabled,
        "psd2_enabled": service.psd2_enabled,
        "skip_sms_to_landlines": service.skip_sms_to_landlines,
        "dtmf_input_required": service.dtmf_input_required,
        "tts_name": service.tts_name,
        "do_not_share_warning_enabled": service.do_not_share_warning_enabled,
        "custom_code_enabled": service.custom_code_enabled,
        "push": {
            "include_date": service.push_include_date,
            "apn_credential_sid": service.push_apn_credential_sid,
            "fcm_credential_sid": service.push_fcm_credential_sid,
        },
        "totp": {
            "issuer": service.totp_issuer,
            "time_step": service.totp_time_step,
            "code_length": service.totp_code_length,
            "skew": service.totp_skew,
        },
        "whatsapp": {
            "msg_service_sid": service.whatsapp_msg_service_sid,
            "from": service.whatsapp_from,
        },
        "passkeys": {
            "relying_party": {
                "id": service.passkeys_relying_party_id,
                "name": service.passkeys_relying_party_name,
                "origins": service.passkeys_relying_party_origins,
            },
            "authenticator_attachment": service.passkeys_authenticator_attachment,
            "discoverable_credentials": service.passkeys_discoverable_credentials,
            "user_verification": service.passkeys_user_verification,
        },
        "default_template_sid": service.default_template_sid,
        "verify_event_subscription_enabled": service.verify_event_subscription_enabled,
        "date_created": iso8601(service.date_created),
        "date_updated": iso8601(service.date_updated),
        "url": url,
        "links": {name: f"{url}/{segment}" for name, segment in LINKS},
    }


# -- parsing -----------------------------------------------------------------------------------


def _friendly_name(value: str) -> str:
    digits = sum(char.isdigit() for char in value)
    if not value.strip() or len(value) > FRIENDLY_NAME_MAX or digits > FRIENDLY_NAME_MAX_DIGITS:
        raise invalid_parameter("FriendlyName")
    return value


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in {_TRUE, _FALSE}:
        raise invalid_parameter(name)
    return lowered == _TRUE


def _text(_name: str, value: str) -> str | None:
    return value or None


def _sid(prefix: str) -> Callable[[str, str], str]:
    pattern = re.compile(prefix + r"[0-9a-fA-F]{32}")

    def parse(name: str, value: str) -> str:
        if not pattern.fullmatch(value):
            raise invalid_parameter(name)
        return value

    return parse


def _integer(minimum: int, maximum: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise invalid_parameter(name) from None
        if not minimum <= number <= maximum:
            raise invalid_parameter(name)
        return number

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(name: str, value: str) -> str:
        if value not in choices:
            raise invalid_parameter(name)
        return value

    return parse


def _whatsapp_sender(name: str, value: str) -> str:
    if not _E164.fullmatch(value.removeprefix("whatsapp:").strip()):
        raise invalid_parameter(name)
    return channel_address(value.removeprefix("whatsapp:").strip())


def _origins(_name: str, value: str) -> list[str] | None:
    origins = [origin.strip() for origin in value.split(",") if origin.strip()]
    return origins or None


# (form parameter, attribute, parser): every setting a create or an update may carry.
_SETTINGS: Final[tuple[tuple[str, str, Callable[[str, str], Any]], ...]] = (
    ("FriendlyName", "friendly_name", lambda _name, value: _friendly_name(value)),
    ("CodeLength", "code_length", _integer(CODE_LENGTH_MIN, CODE_LENGTH_MAX)),
    ("LookupEnabled", "lookup_enabled", _boolean),
    ("SkipSmsToLandlines", "skip_sms_to_landlines", _boolean),
    ("DtmfInputRequired", "dtmf_input_required", _boolean),
    ("TtsName", "tts_name", _text),
    ("Psd2Enabled", "psd2_enabled", _boolean),
    ("DoNotShareWarningEnabled", "do_not_share_warning_enabled", _boolean),
    ("CustomCodeEnabled", "custom_code_enabled", _boolean),
    ("DefaultTemplateSid", "default_template_sid", _sid("HJ")),
    ("VerifyEventSubscriptionEnabled", "verify_event_subscription_enabled", _boolean),
    ("Push.IncludeDate", "push_include_date", _boolean),
    ("Push.ApnCredentialSid", "push_apn_credential_sid", _sid("CR")),
    ("Push.FcmCredentialSid", "push_fcm_credential_sid", _sid("CR")),
    ("Totp.Issuer", "totp_issuer", _text),
    ("Totp.TimeStep", "totp_time_step", _integer(20, 60)),
    ("Totp.CodeLength", "totp_code_length", _integer(3, 8)),
    ("Totp.Skew", "totp_skew", _integer(0, 2)),
    ("Whatsapp.MsgServiceSid", "whatsapp_msg_service_sid", _sid("MG")),
    ("Whatsapp.From", "whatsapp_from", _whatsapp_sender),
    ("Passkeys.RelyingParty.Id", "passkeys_relying_party_id", _text),
    ("Passkeys.RelyingParty.Name", "passkeys_relying_party_name", _text),
    ("Passkeys.RelyingParty.Origins", "passkeys_relying_party_origins", _origins),
    (
        "Passkeys.AuthenticatorAttachment",
        "passkeys_authenticator_attachment",
        _choice(PASSKEY_ATTACHMENTS),
    ),
    (
        "Passkeys.DiscoverableCredentials",
        "passkeys_discoverable_credentials",
        _choice(PASSKEY_PREFERENCES),
    ),
    ("Passkeys.UserVerification", "passkeys_user_verification", _choice(PASSKEY_PREFERENCES)),
)


def _configure(service: VerifyService, params: Params) -> None:
    """Apply the settings present in `params`; all are checked before any is applied."""
    changes: dict[str, Any] = {}
    for field, attribute, parse in _SETTINGS:
        value = params.get(field)
        if value is not None:
            changes[attribute] = parse(field, value)
    for attribute, value in changes.items():
        setattr(service, attribute, value)


# -- the resource ------------------------------------------------------------------------------


def _new(ctx: RequestContext, _params: Params) -> VerifyService:
    now = ctx.now()
    return VerifyService(
        sid=ctx.state.sids.sid("VA"),
        account_sid=ctx.account.sid,
        friendly_name="",  # `_configure` sets it from FriendlyName, after checking it
        date_created=now,
        date_updated=now,
    )


def _forget(ctx: RequestContext, service: VerifyService) -> None:
    """Its verifications go with it."""
    verify_runtime(ctx.state).forget_service(service.sid)


RESOURCE: Final = ServiceResource(
    path=SERVICES_PATH,
    store=SERVICES,
    new=_new,
    configure=_configure,
    render=render,
    forget=_forget,
)


def routes() -> list[Route]:
    """The Service routes (verifications and checks are in `herald.emulator.verify`)."""
    return RESOURCE.routes()
