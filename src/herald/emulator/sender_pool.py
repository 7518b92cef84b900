"""Choosing the sender of a message sent through a Messaging Service, as Twilio does.

Twilio's rules, in order (support articles 223181288 "What is Sticky Sender" and 223181268
"What is Geomatch"):

1. **Sticky Sender** (when the Service enables it): the number that last sent to this recipient
   from this Service, as long as it is still in the pool. A mapping is created when a message is
   sent; turning the feature off keeps the mappings (they apply again when it is turned back
   on); removing a number from the pool deletes its mappings.
2. **Country Code Geomatch** (always on): a number of the recipient's country.
   Within it, **Area Code Geomatch** (a Service setting; US/Canada only) prefers a number with
   the recipient's area code. Twilio then tries overlay area codes, which the emulator does not
   model.
3. Otherwise a US number; otherwise any number in the pool. Twilio picks "a random" one; the
   emulator picks the earliest added, so tests are deterministic.

A `whatsapp:` recipient can only be reached from the Service's WhatsApp senders; the country
rules do not apply to them. An empty pool fails with 21704, a pool with no sender able to reach
the recipient with 21703; both are synchronous `400`s of the Messages create.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import phonenumbers

from herald.emulator.errors import TwilioError
from herald.emulator.whatsapp import bare_number, channel_address, is_whatsapp

NO_SENDER_AVAILABLE = 21703
POOL_EMPTY = 21704
_NANP_REGIONS = frozenset({"US", "CA"})
_NANP_LENGTH = 12  # "+1", a 3-digit area code, a 3-digit exchange, a 4-digit line


class NoSender(TwilioError):
    """No sender in the pool can reach the recipient: HTTP 400 with code 21703 or 21704."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(400, code, message)


@dataclasses.dataclass(frozen=True, slots=True)
class PoolSender:
    """One number in a Service's pool, as sender selection sees it."""

    phone_number: str
    whatsapp: bool = False

    @property
    def country(self) -> str | None:
        """ISO 3166 alpha-2 country of the number, or None if it is not a dialable number."""
        return country_of(self.phone_number)


def country_of(number: str) -> str | None:
    """The ISO country of an E.164 number (or `whatsapp:` address), None if unknown."""
    try:
        parsed = phonenumbers.parse(bare_number(number), None)
    except phonenumbers.NumberParseException:
        return None
    # Test and fictional ranges (Ofcom's 07700 900xxx, 555 numbers) are not "valid" numbers,
    # so fall back to the calling code's main country for them.
    region: str | None = phonenumbers.region_code_for_number(
        parsed
    ) or phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return None if region in {None, "ZZ", "001"} else region


def _area_code(number: str) -> str | None:
    digits = bare_number(number)
    # NANP numbers are +1, area code, exchange, line: the area code is the three digits after "+1".
    return digits[2:5] if digits.startswith("+1") and len(digits) == _NANP_LENGTH else None


def select_sender(
    pool: Sequence[PoolSender],
    to: str,
    *,
    sticky: str | None = None,
    area_code_geomatch: bool = False,
) -> str:
    """The `From` address for a message to `to`: an E.164 number, or `whatsapp:+…` for WhatsApp.

    `pool` is in the order numbers were added; `sticky` is the number remembered for this
    recipient (None when Sticky Sender is off or nothing is remembered). Raises NoSender.
    """
    if not pool:
        raise NoSender(POOL_EMPTY, "The Messaging Service contains no phone numbers")
    whatsapp = is_whatsapp(to)
    candidates = [sender for sender in pool if sender.whatsapp or not whatsapp]
    if not candidates:
        raise NoSender(
            NO_SENDER_AVAILABLE,
            "The Messaging Service does not have a phone number available to send a message",
        )
    chosen = _choose(candidates, to, sticky=sticky, area_code_geomatch=area_code_geomatch)
    return channel_address(chosen.phone_number) if is_whatsapp(to) else chosen.phone_number


def _choose(
    candidates: list[PoolSender], to: str, *, sticky: str | None, area_code_geomatch: bool
) -> PoolSender:
    remembered = [s for s in candidates if sticky and s.phone_number == bare_number(sticky)]
    if remembered:
        return remembered[0]
    if is_whatsapp(to):
        return candidates[0]
    country = country_of(to)
    same_country = [sender for sender in candidates if sender.country == country]
    if same_country:
        area = _area_code(to)
        if area_code_geomatch and country in _NANP_REGIONS and area is not None:
            local = [s for s in same_country if _area_code(s.phone_number) == area]
            return (local or same_country)[0]
        return same_country[0]
    us_numbers = [sender for sender in candidates if sender.country == "US"]
    return (us_numbers or candidates)[0]


@dataclasses.dataclass(slots=True)
class StickySenders:
    """Sticky Sender mappings: (Service SID, recipient address) → the number that sent to it.

    The emulator keeps the one instance as the only record of its store (hence `sid`), so that a
    state reset forgets the mappings along with everything else. Past `capacity` mappings the
    least recently used one is forgotten, so that a million recipients cannot exhaust memory;
    the emulator sets it to `max_messages`, which keeps the mapping of every recipient among
    the messages it still holds.
    """

    sid: str = "sticky-senders"
    mappings: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    capacity: int | None = None

    def lookup(self, service_sid: str, to: str) -> str | None:
        """The remembered sender for this recipient, if any."""
        return self.mappings.get((service_sid, to))

    def remember(self, service_sid: str, to: str, sender: str) -> None:
        """Record that `sender` sent to `to` through the Service."""
        key = (service_sid, to)
        # Re-inserted so that the dict's order is the order of last use.
        self.mappings.pop(key, None)
        self.mappings[key] = bare_number(sender)
        if self.capacity is not None and len(self.mappings) > self.capacity:
            del self.mappings[next(iter(self.mappings))]

    def forget_sender(self, service_sid: str, phone_number: str) -> None:
        """Delete every mapping to a number removed from the Service's pool."""
        number = bare_number(phone_number)
        for key in [k for k, v in self.mappings.items() if k[0] == service_sid and v == number]:
            del self.mappings[key]

    def forget_service(self, service_sid: str) -> None:
        """Delete every mapping of a deleted Service."""
        for key in [key for key in self.mappings if key[0] == service_sid]:
            del self.mappings[key]
