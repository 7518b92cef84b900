"""Herald's phone parsing beside bare phonenumbers on the same inputs.

The floor is what any E.164 normalisation must do at least: `phonenumbers.parse` and
`format_number(E164)`. Herald adds the character check, validation against the numbering plan
(one `number_type` lookup), the region and the SMS verdict; formats and time zones are computed
only when asked for, so they are not measured here. For a country code shared by several
regions (+1, +44, +7) finding the region walks each region's plan, and phonenumbers' public API
makes Herald do that twice (for the type, then for the region): those inputs cost the most.
"""

from __future__ import annotations

import phonenumbers

from harness import Pair
from herald.domain.phone import parse

# What applications send: national and international spellings from several countries.
_INPUTS: list[tuple[str, str | None]] = [
    ("06 12345678", "NL"),
    ("+31 (0)6-1234 5678", None),
    ("0031612345678", "NL"),
    ("+1 415 555 0100", None),
    ("(415) 555-0100", "US"),
    ("+44 7911 123456", None),
    ("07911 123456", "GB"),
    ("+49 1512 3456789", None),
    ("0151 23456789", "DE"),
    ("+33 6 12 34 56 78", None),
    ("+91 98765 43210", None),
    ("+61 412 345 678", None),
    ("+55 11 91234 5678", None),
    ("+52 55 1234 5678", None),
    ("+27 82 123 4567", None),
    ("+81 90 1234 5678", None),
]
_ROUNDS = 50


def _herald() -> None:
    for _ in range(_ROUNDS):
        for text, region in _INPUTS:
            parse(text, region).e164  # noqa: B018 - the attribute read is the measured result


def _floor() -> None:
    for _ in range(_ROUNDS):
        for text, region in _INPUTS:
            phonenumbers.format_number(
                phonenumbers.parse(text, region), phonenumbers.PhoneNumberFormat.E164
            )


def pairs() -> list[Pair]:
    """Herald's parse to E.164 against bare phonenumbers, over a mix of 16 spellings."""
    return [
        Pair(
            name="phone.parse → E.164 (16 mixed spellings)",
            run=_herald,
            floor_name="phonenumbers.parse + format_number(E164)",
            floor=_floor,
            batch=_ROUNDS * len(_INPUTS),
            goal="<= 2x floor",
        )
    ]
