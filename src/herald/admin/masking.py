"""Phone numbers as the admin pages show them: masked unless the viewer asks to reveal them.

The pages are meant to be screen-shared, so a number shows its country, the first digit of its
national number and its last four digits (`+31 6 •••• 5678`): enough to tell two numbers apart
and to recognise one, not enough to dial it. Senders that are not phone numbers (alphanumeric
IDs, Messaging Service SIDs, short codes) are not personal data and are shown as they are.
"""

from __future__ import annotations

from typing import Final

import phonenumbers

WHATSAPP: Final = "whatsapp:"
MASK: Final = "••••"
_KEPT_DIGITS: Final = 4


def mask_number(address: str | None, *, reveal: bool = False) -> str:
    """`address` masked (`+31 6 •••• 5678`), or formatted in full when `reveal` is set."""
    if not address:
        return ""
    prefix, bare = (
        (WHATSAPP, address[len(WHATSAPP) :]) if address.startswith(WHATSAPP) else ("", address)
    )
    if not bare.startswith("+"):
        return address
    try:
        parsed = phonenumbers.parse(bare)
    except phonenumbers.NumberParseException:
        return address if reveal else prefix + MASK
    if reveal:
        return prefix + phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    national = phonenumbers.national_significant_number(parsed)
    if len(national) <= _KEPT_DIGITS + 1:
        return f"{prefix}+{parsed.country_code} {MASK}"
    return f"{prefix}+{parsed.country_code} {national[0]} {MASK} {national[-_KEPT_DIGITS:]}"
