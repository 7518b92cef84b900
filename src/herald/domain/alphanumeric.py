"""Alphanumeric sender IDs: Twilio's format rules, and where in the world they may be used.

An alphanumeric sender ID ("MyShop") replaces the number a recipient sees. It is one-way: the
recipient cannot reply, so STOP by SMS is impossible and another opt-out route is required
(TWILIO-API.md §17). Whether one may be used depends on the recipient's country, recorded in
`COUNTRY_RULES`.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from herald.domain.phone import PhoneNumber
from herald.errors import InvalidAlphanumericSender

REASONS: Final = frozenset(
    {"empty", "too_long", "forbidden_character", "no_letter", "not_supported_in_country"}
)
"""Every `InvalidAlphanumericSender.reason` this module raises; stable, for machines."""

MAX_LENGTH: Final = 11

# The Messaging v1 spec's AlphaSender description: up to 11 of A-Z a-z 0-9, space, - + _ &,
# and "cannot contain only numbers". Twilio's glossary page names only letters, digits and
# space; Herald follows the API's rule, which is what Twilio enforces.
_CHARACTER = re.compile(r"[A-Za-z0-9 \-+_&]")
_LETTER = re.compile(r"[A-Za-z]")


def validate_alphanumeric_sender(sender_id: str) -> str:
    """`sender_id` itself when Twilio accepts it as an alphanumeric sender ID.

    Raises `InvalidAlphanumericSender` naming the first rule broken: empty, a forbidden
    character (named), more than 11 characters, or no letter.
    """
    if not sender_id.strip():
        raise InvalidAlphanumericSender("The sender ID is empty.", reason="empty")
    for char in sender_id:
        if not _CHARACTER.fullmatch(char):
            raise InvalidAlphanumericSender(
                f"The sender ID {sender_id!r} contains {_describe(char)}, which Twilio does not "
                "allow: use A-Z, a-z, 0-9, space, -, +, _ and &.",
                reason="forbidden_character",
            )
    if len(sender_id) > MAX_LENGTH:
        raise InvalidAlphanumericSender(
            f"The sender ID {sender_id!r} has {len(sender_id)} characters; Twilio allows at "
            f"most {MAX_LENGTH}.",
            reason="too_long",
        )
    if not _LETTER.search(sender_id):
        raise InvalidAlphanumericSender(
            f"The sender ID {sender_id!r} has no letter; an alphanumeric sender ID needs at "
            "least one (a number must be sent from a phone number or short code).",
            reason="no_letter",
        )
    return sender_id


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    shown = repr(char)
    return f"{shown} (U+{ord(char):04X} {name})" if name else f"{shown} (U+{ord(char):04X})"


class AlphanumericSupport(enum.StrEnum):
    """Whether a country's networks deliver messages from an alphanumeric sender ID."""

    ALLOWED = "allowed"
    """Any valid ID may be used without registering it first ("dynamic")."""
    REGISTRATION_REQUIRED = "registration_required"
    """Only IDs registered with Twilio for that country are delivered as sent."""
    NOT_SUPPORTED = "not_supported"
    """Twilio refuses the message (21612) or the networks overwrite the sender."""
    UNKNOWN = "unknown"
    """Herald's table does not cover the country; Twilio decides when the message is sent."""


@dataclasses.dataclass(frozen=True)
class CountryRule:
    """Alphanumeric sender support for one country (ISO 3166 alpha-2 `region`)."""

    region: str
    support: AlphanumericSupport
    note: str = ""


_A = AlphanumericSupport.ALLOWED
_R = AlphanumericSupport.REGISTRATION_REQUIRED
_N = AlphanumericSupport.NOT_SUPPORTED

# Sources, most recent first where they disagree (verify before relying on a row; these rules
# change, and Twilio's own pages are the authority):
# [AU]  Twilio help 13111723633691: pre-registration mandatory since 13 July 2023; help
#       46266521342747: from 1 July 2026 unregistered IDs are shown as "Unverified" (ACMA).
# [IN]  Twilio help 21162166457755: IDs are registered on the operators' DLT portal, then with
#       Twilio; twilio.com/guidelines/in/sms: unregistered traffic arrives from a random numeric
#       sender.
# [US]  twilio.com/guidelines/us/sms: alphanumeric, pre-registered or dynamic, "Not Supported";
#       TWILIO-API.md §17 (US and Canada).
# [GB]  Twilio help 23737742623387: IDs protected in the MEF Sender ID registry need a letter of
#       authorisation; others are dynamic.
# [FR]  Twilio help 223133827: A2P traffic to French mobiles must use an alphanumeric ID or a
#       short code.
# [CZ]  a Twilio customer's list of countries where Twilio requires registration
#       (support.gourban.co/knowledge/twilio); not confirmed on a Twilio page.
# [BE]  OpenMarket's Belgium coverage page: alphanumeric not supported, senders overwritten.
# [BR]  Salesforce's guide for SMS to Brazil: alphanumeric codes not supported.
# [T17] Twilio help 223133767 "International support for Alphanumeric Sender ID" as captured
#       in 2017 (eGullGolf/countries-alphanumeric-sms-sender-support,
#       data/twilio/country_alpha_support.csv): the remaining rows.
_RULES: Final = (
    # The European Union.
    CountryRule("AT", _A),
    CountryRule("BE", _N, "networks overwrite the sender with a short code"),
    CountryRule("BG", _A),
    CountryRule("HR", _N),
    CountryRule("CY", _A),
    CountryRule("CZ", _R),
    CountryRule("DK", _A),
    CountryRule("EE", _A),
    CountryRule("FI", _A),
    CountryRule(
        "FR", _A, "A2P traffic to French mobiles must use an alphanumeric ID or short code"
    ),
    CountryRule("DE", _A),
    CountryRule("GR", _A),
    CountryRule("HU", _N),
    CountryRule("IE", _A),
    CountryRule("IT", _A),
    CountryRule("LV", _A),
    CountryRule("LT", _A),
    CountryRule("LU", _A),
    CountryRule("MT", _A),
    CountryRule("NL", _A),
    CountryRule("PL", _A),
    CountryRule("PT", _A),
    CountryRule("RO", _N),
    CountryRule("SK", _A),
    CountryRule("SI", _A),
    CountryRule("ES", _A),
    CountryRule("SE", _A),
    # The rest of Europe.
    CountryRule("GB", _A, "IDs in the MEF protected-sender registry need a letter of authority"),
    CountryRule("CH", _A),
    CountryRule("IS", _A),
    CountryRule("LI", _A),
    CountryRule("NO", _A),
    # Elsewhere.
    CountryRule("US", _N, "use a long code, toll-free number or short code"),
    CountryRule("CA", _N, "use a long code, toll-free number or short code"),
    CountryRule("PR", _N),
    CountryRule("AU", _R, "registration with Twilio and on ACMA's Sender ID Register"),
    CountryRule("IN", _R, "register on the operators' DLT portal, then with Twilio"),
    CountryRule("BR", _N, "networks deliver from a short code"),
    CountryRule("MX", _N),
    CountryRule("ZA", _N),
    CountryRule("NZ", _N),
)

COUNTRY_RULES: Final[Mapping[str, CountryRule]] = MappingProxyType(
    {rule.region: rule for rule in _RULES}
)
"""Alphanumeric sender support by recipient country (ISO 3166 alpha-2)."""


def country_rule(region: str | None) -> CountryRule:
    """The rule for `region`; `UNKNOWN` support for a country the table does not cover."""
    code = (region or "").upper()
    return COUNTRY_RULES.get(code) or CountryRule(code, AlphanumericSupport.UNKNOWN)


@dataclasses.dataclass(frozen=True)
class AlphanumericVerdict:
    """Whether an alphanumeric sender ID may be used to one recipient, and what that means."""

    permitted: bool
    support: AlphanumericSupport
    region: str | None
    explanation: str
    replies_possible: bool = False
    """Always False: an alphanumeric sender cannot receive the recipient's reply."""


_ONE_WAY = "The recipient cannot reply, so offer an opt-out other than replying STOP."


def alphanumeric_verdict(recipient: PhoneNumber) -> AlphanumericVerdict:
    """Whether an alphanumeric sender ID may be used to `recipient`.

    Countries outside the table are permitted with an explanation saying so: Twilio, which
    knows, refuses such a message with error 21612 if the country does not take them.
    """
    rule = country_rule(recipient.region)
    where = recipient.region or f"+{recipient.country_code}"
    note = f" ({rule.note})" if rule.note else ""
    match rule.support:
        case AlphanumericSupport.ALLOWED:
            explanation = f"{where} accepts alphanumeric sender IDs without registration{note}."
        case AlphanumericSupport.REGISTRATION_REQUIRED:
            explanation = (
                f"{where} accepts only alphanumeric sender IDs registered for it beforehand{note}."
            )
        case AlphanumericSupport.NOT_SUPPORTED:
            explanation = f"{where} does not accept alphanumeric sender IDs{note}."
        case AlphanumericSupport.UNKNOWN:
            explanation = (
                f"Herald has no rule for {where}; Twilio refuses the message (21612) if its "
                "networks do not accept alphanumeric sender IDs."
            )
    permitted = rule.support is not AlphanumericSupport.NOT_SUPPORTED
    if permitted:
        explanation = f"{explanation} {_ONE_WAY}"
    return AlphanumericVerdict(
        permitted=permitted,
        support=rule.support,
        region=recipient.region,
        explanation=explanation,
    )


def require_alphanumeric_sender(sender_id: str, recipient: PhoneNumber) -> AlphanumericVerdict:
    """The verdict for sending from `sender_id` to `recipient`, when that is permitted.

    Raises `InvalidAlphanumericSender` when the ID breaks Twilio's format rules or when the
    recipient's country does not accept alphanumeric senders (`not_supported_in_country`).
    """
    validate_alphanumeric_sender(sender_id)
    verdict = alphanumeric_verdict(recipient)
    if not verdict.permitted:
        raise InvalidAlphanumericSender(
            f"Cannot send from {sender_id!r} to {recipient.e164}: {verdict.explanation} Send "
            "from a phone number or short code instead.",
            reason="not_supported_in_country",
        )
    return verdict
