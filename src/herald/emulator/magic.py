"""Twilio's test-credential magic numbers for `POST …/Messages.json`.

With test credentials Twilio validates a send like a live one, then answers from two fixed
tables instead of sending (https://www.twilio.com/docs/iam/test-credentials): the `From` table
decides first, then the `To` table. A send that passes both gets an ordinary 201 Message body, but
nothing is stored, delivered, charged or called back.

| field | value          | result                                   |
|-------|----------------|------------------------------------------|
| From  | +15005550001   | 21212 invalid `From`                     |
| From  | +15005550006   | passes                                   |
| From  | +15005550007   | 21606 not an SMS-capable number you own  |
| From  | +15005550008   | 21611 the `From` queue is full           |
| From  | anything else  | 21606                                    |
| To    | +15005550001   | 21211 invalid `To`                       |
| To    | +15005550002   | 21612 cannot route to this number        |
| To    | +15005550003   | 21408 no permission for the region       |
| To    | +15005550004   | 21610 the recipient opted out            |
| To    | +15005550009   | 21614 not a mobile number                |
| To    | anything else  | validated normally                       |

`To=+15005550006` is not magic: only the `From` table has a success number.
"""

from __future__ import annotations

from typing import Final

MAGIC_SUCCESS_FROM: Final = "+15005550006"

MAGIC_FROM_ERRORS: Final[dict[str, int]] = {
    "+15005550001": 21212,
    "+15005550007": 21606,
    "+15005550008": 21611,
}
OTHER_FROM_ERROR: Final = 21606

MAGIC_TO_ERRORS: Final[dict[str, int]] = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}


def magic_from_error(from_: str) -> int | None:
    """The error code a test-credential send from `from_` gets, or None for the success number."""
    if from_ == MAGIC_SUCCESS_FROM:
        return None
    return MAGIC_FROM_ERRORS.get(from_, OTHER_FROM_ERROR)


def magic_to_error(to: str) -> int | None:
    """The error code a test-credential send to `to` gets, or None when `to` is not magic."""
    return MAGIC_TO_ERRORS.get(to)
