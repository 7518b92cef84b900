"""Phone numbers as log lines may show them: masked, so that a log is not a list of people.

A log line keeps the country code's first digits and the last four (`+16•••0001`): enough to
follow one number through a log and to tell two apart, not enough to dial it. `redact` masks
every number in a free text (an error's detail, a request path or query), in E.164 form
(`+16282000001`), URL-encoded (`%2B16282000001`) or behind `whatsapp:`.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MASK", "mask_number", "redact"]

MASK: Final = "•••"
_KEPT_LEADING: Final = 2
_KEPT_TRAILING: Final = 4
_MIN_DIGITS: Final = 8  # fewer: a short code or an extension, not a person's number
_E164_DIGITS: Final = 15

_NUMBER: Final = re.compile(rf"(\+|%2[Bb])(\d{{{_MIN_DIGITS},{_E164_DIGITS}}})(?!\d)")


def mask_number(address: str | None) -> str:
    """`address` (E.164, maybe with `whatsapp:`) with all but its first and last digits hidden;
    anything that is not a phone number is returned as it is."""
    if not address:
        return ""
    return redact(address)


def redact(text: str) -> str:
    """`text` with every phone number in it masked."""
    return _NUMBER.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    plus, digits = match.group(1), match.group(2)
    return f"{plus}{digits[:_KEPT_LEADING]}{MASK}{digits[-_KEPT_TRAILING:]}"
