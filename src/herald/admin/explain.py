"""Twilio's error codes, explained for the person reading the admin pages.

The codes are the ones Herald sees most: synchronous refusals of the Messages API (21xxx),
delivery failures in status callbacks (30xxx) and WhatsApp's session rule (63016). Meanings
follow Twilio's error dictionary (https://www.twilio.com/docs/api/errors); the advice is
Herald's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ERROR_DICTIONARY: Final = "https://www.twilio.com/docs/api/errors/"


@dataclasses.dataclass(frozen=True, slots=True)
class Explanation:
    """What a Twilio error code means and what to do about it."""

    code: int
    meaning: str
    action: str

    @property
    def url(self) -> str:
        """The code's page in Twilio's error dictionary."""
        return f"{ERROR_DICTIONARY}{self.code}"


def _table(*rows: tuple[int, str, str]) -> Mapping[int, Explanation]:
    return MappingProxyType(
        {code: Explanation(code, meaning, action) for code, meaning, action in rows}
    )


EXPLANATIONS: Final = _table(
    (
        21211,
        "The 'To' number is not a valid phone number.",
        (
            "Check the number with the recipient; Herald normalises to E.164, so the digits "
            "themselves are wrong or incomplete."
        ),
    ),
    (
        21408,
        "The account may not send SMS to this country (geographic permissions).",
        (
            "Enable the country under Messaging > Settings > Geo permissions in the Twilio "
            "console, then send again."
        ),
    ),
    (
        21610,
        "The recipient replied STOP to this sender and is unsubscribed.",
        (
            "Do not retry. The recipient must reply START (or UNSTOP) before messages reach them "
            "again; Herald records the opt-out."
        ),
    ),
    (
        21612,
        "Twilio cannot route a message from this sender to this number.",
        (
            "Use a sender that can reach the destination country (a local number, an alphanumeric "
            "ID where allowed, or a Messaging Service)."
        ),
    ),
    (
        21614,
        "The 'To' number cannot receive SMS (a landline, for example).",
        "Ask for a mobile number; a voice call or e-mail may reach this person instead.",
    ),
    (
        30003,
        "The handset was unreachable: switched off, out of coverage or roaming without service.",
        "Usually temporary: send again later, or reach the person another way.",
    ),
    (
        30004,
        "The message was blocked, by the recipient's carrier or the recipient themselves.",
        "Do not retry at once; check the recipient's consent and the sender's registration.",
    ),
    (
        30005,
        "The number is unknown to its carrier: it may no longer exist.",
        "Check the number with the recipient and stop sending to it until it is confirmed.",
    ),
    (
        30006,
        "The number is a landline or its carrier cannot receive SMS.",
        "Ask for a mobile number; the message will never arrive as SMS.",
    ),
    (
        30007,
        "A carrier filtered the message as spam or unregistered traffic.",
        (
            "Register the sender (10DLC, toll-free verification or alphanumeric ID) and avoid "
            "URL shorteners and spam-like wording."
        ),
    ),
    (
        30008,
        "The carrier reported a delivery failure without a specific reason.",
        "Send again later; if it persists for one number, ask the recipient to check their phone.",
    ),
    (
        30034,
        "A US carrier blocked a message from a 10DLC number not registered to a campaign.",
        "Register the number with an A2P 10DLC campaign in the Twilio console.",
    ),
    (
        63016,
        "WhatsApp refused a free-form message outside the 24-hour customer service window.",
        (
            "Send an approved template (content SID) instead; free-form replies are allowed for 24 "
            "hours after the customer's last message."
        ),
    ),
)


def explain(code: int | None) -> Explanation | None:
    """The explanation of a Twilio error code; None when Herald has none for it."""
    return None if code is None else EXPLANATIONS.get(code)
