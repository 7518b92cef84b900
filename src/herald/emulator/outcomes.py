"""Which outbound message ends how: the emulator's deterministic delivery outcomes.

A real carrier decides whether a text arrives; the emulator decides by the recipient's number, so
that a test can ask for any ending by choosing where it sends. Two rules, checked in order:

1. **Reserved outcome numbers.** North American numbers in the fictional `555-0100`…`555-0199`
   block (any area code: `+1 NPA 555 01XX`) are valid numbers for `phonenumbers`, and NANPA keeps
   them out of service, so they can never reach a real person. The two digits `XX` pick the
   ending:

   | `XX`  | final status  | error code | meaning                                  |
   |-------|---------------|------------|------------------------------------------|
   | 00-09 | `delivered`   |            | delivered                                |
   | 10-19 | `undelivered` | 30003      | unreachable destination handset          |
   | 20-29 | `undelivered` | 30005      | unknown destination handset              |
   | 30-39 | `undelivered` | 30006      | landline or unreachable carrier          |
   | 40-49 | `undelivered` | 30007      | message filtered by the carrier          |
   | 50-59 | `undelivered` | 30008      | unknown error                            |
   | 60-69 | `undelivered` | 30004      | message blocked                          |
   | 70-79 | `sent`        |            | carrier sends no delivery receipt        |
   | 80-89 | `failed`      | 30008      | failed while sending                     |
   | 90-99 | `delivered`   |            | delivered; over WhatsApp then `read`     |

2. **Landlines.** An SMS to a number that `phonenumbers` types as `FIXED_LINE` (not
   `FIXED_LINE_OR_MOBILE`, the type of every North American number) ends `undelivered` with
   30006, as a real landline does.

Every other recipient gets `delivered`. The codes are those Twilio reports in a Message's
`error_code` and in the `ErrorCode` of status callbacks; they never appear as HTTP errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import phonenumbers

from herald.emulator.whatsapp import bare_number, is_whatsapp

FinalStatus = Literal["delivered", "undelivered", "failed", "sent", "read"]

# Short descriptions for Message.error_message; Twilio says the texts may change and must not be
# parsed, so these follow the titles of Twilio's error pages in Herald's words.
DELIVERY_ERROR_MESSAGES: Final[dict[int, str]] = {
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30036: "Validity period expired",
}

RESERVED_EXCHANGE: Final = "55501"
"""The national number of a reserved outcome number is `NPA` + this + two digits."""
_NANP_NATIONAL_DIGITS: Final = 10
_READ_DECADE: Final = 9


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an outbound message ends once the emulated carrier has it."""

    final_status: FinalStatus
    error_code: int | None = None

    @property
    def error_message(self) -> str | None:
        """The description Twilio puts beside the error code, or None without an error."""
        if self.error_code is None:
            return None
        return DELIVERY_ERROR_MESSAGES[self.error_code]

    @property
    def reaches_carrier(self) -> bool:
        """Whether the message gets to `sent` (a `failed` message stops at `sending`)."""
        return self.final_status != "failed"


DELIVERED: Final = Outcome("delivered")

_BY_DECADE: Final[tuple[Outcome, ...]] = (
    DELIVERED,
    Outcome("undelivered", 30003),
    Outcome("undelivered", 30005),
    Outcome("undelivered", 30006),
    Outcome("undelivered", 30007),
    Outcome("undelivered", 30008),
    Outcome("undelivered", 30004),
    Outcome("sent"),
    Outcome("failed", 30008),
    DELIVERED,
)
_READ: Final = Outcome("read")


def outcome_for(to: str) -> Outcome:
    """The deterministic ending of a message sent to `to` (E.164 or `whatsapp:+…`)."""
    whatsapp = is_whatsapp(to)
    number = bare_number(to)
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return DELIVERED
    national = str(parsed.national_number)
    if (
        parsed.country_code == 1
        and len(national) == _NANP_NATIONAL_DIGITS
        and national[3:8] == RESERVED_EXCHANGE
    ):
        decade = int(national[8])
        if decade == _READ_DECADE and whatsapp:
            return _READ
        return _BY_DECADE[decade]
    if not whatsapp and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return _BY_DECADE[3]
    return DELIVERED
