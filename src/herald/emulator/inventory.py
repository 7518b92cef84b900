"""The numbers the emulator has for sale: a deterministic, lazily enumerated inventory.

Twilio's AvailablePhoneNumbers resource shows a slice of a huge stock. The emulator's stock is a
table of *blocks* (`inventory_blocks.BLOCKS`): each block is an E.164 prefix whose last four digits
are free, so it holds exactly 10,000 numbers that `phonenumbers` accepts as valid numbers of the
block's type (the tests check every block). Nothing is stored per number: a number's position in
the listing is computed, and so is the number at a position, so the inventory is the same in every
run and on every machine, costs no memory, and a lookup is a dictionary access.

Listing order interleaves a country's blocks of one type (position `g` is number `g // n` of block
`g % n`), so the first page of Dutch local numbers mixes Amsterdam, Rotterdam and Utrecht as
Twilio's search results mix exchanges. Within a block, the four free digits follow a fixed
permutation of 0000 to 9999 so consecutive results do not look like a counter.

Which numbers are *already bought* is not the inventory's business: searches take the set of
taken numbers from the caller (the number store), so a released number reappears by itself.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Final

SUFFIX_DIGITS: Final = 4
BLOCK_SIZE: Final = 10**SUFFIX_DIGITS
# Any multiplier coprime with 10 permutes 0..9999; a prime far from a power of ten scatters well.
_PERMUTATION_MULTIPLIER: Final = 7919

# Letters on a phone keypad, for `Contains=STORM` style searches (ITU E.161).
_KEYPAD: Final = {
    letter: str(digit)
    for digit, letters in {
        2: "ABC",
        3: "DEF",
        4: "GHI",
        5: "JKL",
        6: "MNO",
        7: "PQRS",
        8: "TUV",
        9: "WXYZ",
    }.items()
    for letter in letters
}
_CONTAINS_MIN: Final = 2
_CONTAINS_MAX: Final = 16
_CONTAINS_SHAPE: Final = re.compile(r"\+?[*%]*[0-9A-Za-z]+[*%]*\$?")
_EARTH_RADIUS_MILES: Final = 3958.8
_NANP_LENGTH: Final = 12  # "+1", area code, exchange, line number


class NumberKind(enum.Enum):
    """The number types the emulator sells, as Twilio names them in its URLs and resources."""

    LOCAL = "local"
    MOBILE = "mobile"
    TOLL_FREE = "tollfree"

    @property
    def path_segment(self) -> str:
        """The segment in `AvailablePhoneNumbers/{CC}/<segment>.json` and IncomingPhoneNumbers."""
        return _PATH_SEGMENTS[self]

    @property
    def subresource_key(self) -> str:
        """The key of this type in a country's `subresource_uris`."""
        return _SUBRESOURCE_KEYS[self]

    @classmethod
    def from_path_segment(cls, segment: str) -> NumberKind | None:
        """The kind whose URL segment is `segment` (`Local`, `Mobile`, `TollFree`), if any."""
        for kind, name in _PATH_SEGMENTS.items():
            if name == segment:
                return kind
        return None


_PATH_SEGMENTS: Final = {
    NumberKind.LOCAL: "Local",
    NumberKind.MOBILE: "Mobile",
    NumberKind.TOLL_FREE: "TollFree",
}
_SUBRESOURCE_KEYS: Final = {
    NumberKind.LOCAL: "local",
    NumberKind.MOBILE: "mobile",
    NumberKind.TOLL_FREE: "toll_free",
}


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a number can receive: calls, SMS, MMS, faxes."""

    voice: bool
    sms: bool
    mms: bool
    fax: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """Where a block's numbers are, in the fields Twilio reports (all `None` when unknown).

    Twilio fills `lata`, `rate_center`, `region`, `postal_code` and the coordinates only for
    North American numbers; elsewhere at most the `locality` is known.
    """

    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    lata: str | None = None
    rate_center: str | None = None
    latitude: float | None = None
    longitude: float | None = None


NOWHERE: Final = Place()


@dataclass(frozen=True, slots=True)
class Block:
    """10,000 numbers: `prefix` (E.164, with `+`) followed by any four digits."""

    country: str
    kind: NumberKind
    prefix: str
    capabilities: Capabilities
    address_requirements: str
    place: Place = NOWHERE
    beta: bool = False

    @property
    def area_code(self) -> str | None:
        """The North American area code (NPA) of the block, or `None` outside +1."""
        return self.prefix[2:5] if self.prefix.startswith("+1") else None

    def number_at(self, index: int) -> str:
        """The E.164 number at position `index` (0 to 9999) of this block's listing order."""
        offset = sum(map(ord, self.prefix)) % BLOCK_SIZE
        suffix = (index * _PERMUTATION_MULTIPLIER + offset) % BLOCK_SIZE
        return f"{self.prefix}{suffix:0{SUFFIX_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class Country:
    """A country the emulator sells numbers in."""

    iso: str
    name: str
    blocks: tuple[Block, ...]

    @property
    def kinds(self) -> tuple[NumberKind, ...]:
        """The number types on sale here, in Twilio's order (local, mobile, toll-free)."""
        present = {block.kind for block in self.blocks}
        return tuple(kind for kind in NumberKind if kind in present)

    def blocks_of(self, kind: NumberKind) -> tuple[Block, ...]:
        """This country's blocks of one type, in listing order."""
        return tuple(block for block in self.blocks if block.kind is kind)


def friendly_name_of(phone_number: str) -> str:
    """Twilio's display form of an E.164 number: `(415) 234-5678` in North America, else E.164."""
    if phone_number.startswith("+1") and len(phone_number) == _NANP_LENGTH:
        digits = phone_number[2:]
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return phone_number


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """One number of the inventory, with everything Twilio shows about it."""

    phone_number: str
    block: Block

    @property
    def friendly_name(self) -> str:
        """Twilio's display form of the number (see `friendly_name_of`)."""
        return friendly_name_of(self.phone_number)

    @property
    def iso_country(self) -> str:
        """The ISO 3166-1 alpha-2 code of the number's country."""
        return self.block.country

    @property
    def kind(self) -> NumberKind:
        """Local, mobile or toll-free."""
        return self.block.kind

    @property
    def capabilities(self) -> Capabilities:
        """What the number can receive."""
        return self.block.capabilities


@dataclass(frozen=True, slots=True)
class Search:
    """The filters of one AvailablePhoneNumbers search, already validated.

    `contains` is a compiled `Contains` pattern (see `compile_contains`); the `in_*` filters
    compare case-insensitively with the block's place; `near` is a latitude/longitude pair and
    `distance` a radius in miles.
    """

    area_code: str | None = None
    contains: re.Pattern[str] | None = None
    sms: bool | None = None
    mms: bool | None = None
    voice: bool | None = None
    fax: bool | None = None
    beta: bool = True
    exclude_all_address_required: bool = False
    exclude_local_address_required: bool = False
    exclude_foreign_address_required: bool = False
    in_region: str | None = None
    in_postal_code: str | None = None
    in_locality: str | None = None
    in_lata: str | None = None
    in_rate_center: str | None = None
    near: tuple[float, float] | None = None
    distance: int = 25

    def admits(self, block: Block) -> bool:
        """Whether this search can match any number of `block` (every filter but `contains`)."""
        caps, place = block.capabilities, block.place
        wanted = ((self.sms, caps.sms), (self.mms, caps.mms), (self.voice, caps.voice))
        if any(want is not None and want != have for want, have in wanted):
            return False
        if self.fax is not None and self.fax != caps.fax:
            return False
        if (self.area_code is not None and block.area_code != self.area_code) or (
            block.beta and not self.beta
        ):
            return False
        if not self._address_allowed(block.address_requirements):
            return False
        places = (
            (self.in_region, place.region),
            (self.in_postal_code, place.postal_code),
            (self.in_locality, place.locality),
            (self.in_lata, place.lata),
            (self.in_rate_center, place.rate_center),
        )
        if any(
            want is not None and (have or "").casefold() != want.casefold() for want, have in places
        ):
            return False
        return self.near is None or _within(place, self.near, self.distance)

    def _address_allowed(self, requirement: str) -> bool:
        if requirement == "none":
            return True
        if self.exclude_all_address_required:
            return False
        return not (
            (requirement == "local" and self.exclude_local_address_required)
            or (requirement == "foreign" and self.exclude_foreign_address_required)
        )


def _within(place: Place, near: tuple[float, float], miles: int) -> bool:
    if place.latitude is None or place.longitude is None:
        return False
    lat1, lon1, lat2, lon2 = map(math.radians, (near[0], near[1], place.latitude, place.longitude))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_MILES * math.asin(math.sqrt(a)) <= miles


def compile_contains(pattern: str) -> re.Pattern[str]:
    """Compile Twilio's `Contains` pattern into a regex over a number's E.164 form.

    The rules are those of the `Contains` parameter in Twilio's OpenAPI description: 2 to 16
    characters; digits and Latin letters (letters stand for their keypad digit); `*` matches
    one digit and `%` any run of digits, both only at the ends of the pattern, and a pattern
    with wildcards needs at least two other characters; a leading `+` anchors the pattern to
    the start of the number (its country code), a trailing `$` to the end. Without anchors the
    pattern matches anywhere. Raises `ValueError` with the rule that was broken.
    """
    if not _CONTAINS_MIN <= len(pattern) <= _CONTAINS_MAX:
        raise ValueError("Contains must be between 2 and 16 characters long")
    if not _CONTAINS_SHAPE.fullmatch(pattern):
        raise ValueError(
            "Contains may hold only digits, letters and the wildcards * and %, with wildcards "
            "only at its ends, an optional leading + and an optional trailing $"
        )
    core = pattern.removeprefix("+").removesuffix("$")
    literal = core.strip("*%")
    if literal != core and len(literal) < _CONTAINS_MIN:
        raise ValueError("a Contains pattern with wildcards needs at least two digits or letters")
    if (pattern.startswith("+") and core[0] in "*%") or (
        pattern.endswith("$") and core[-1] in "*%"
    ):
        raise ValueError("the + and $ anchors of Contains cannot touch a wildcard")
    regex = "".join(
        r"\d" if char == "*" else r"\d*" if char == "%" else _KEYPAD.get(char.upper(), char)
        for char in core
    )
    return re.compile(
        ("\\+" if pattern.startswith("+") else "") + regex + ("$" if pattern.endswith("$") else "")
    )


class Inventory:
    """The numbers on sale per country and type; immutable and safe to share between threads."""

    def __init__(self, countries: tuple[Country, ...]) -> None:
        self._countries = {country.iso: country for country in countries}
        self._by_prefix = {block.prefix: block for country in countries for block in country.blocks}
        if len(self._by_prefix) != sum(len(country.blocks) for country in countries):
            raise ValueError("two inventory blocks share a prefix")

    @property
    def countries(self) -> tuple[Country, ...]:
        """Every country on sale, in table order."""
        return tuple(self._countries.values())

    def country(self, iso: str) -> Country | None:
        """The country with ISO code `iso` (exact, upper case), if the emulator sells there."""
        return self._countries.get(iso)

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        """The inventory entry for an E.164 number, whether or not someone has bought it."""
        block = self._by_prefix.get(phone_number[:-SUFFIX_DIGITS])
        suffix = phone_number[-SUFFIX_DIGITS:]
        if block is None or not (suffix.isascii() and suffix.isdigit()):
            return None
        return AvailableNumber(phone_number, block)

    def numbers(self, iso: str, kind: NumberKind) -> Iterator[AvailableNumber]:
        """Every number of one country and type, in listing order (lazily)."""
        country = self._countries.get(iso)
        blocks = country.blocks_of(kind) if country else ()
        for index in range(BLOCK_SIZE):
            for block in blocks:
                yield AvailableNumber(block.number_at(index), block)

    def search(
        self,
        iso: str,
        kind: NumberKind,
        search: Search,
        *,
        taken: Container[str],
        limit: int,
    ) -> list[AvailableNumber]:
        """Up to `limit` numbers of one country and type that match `search` and are not taken."""
        country = self._countries.get(iso)
        blocks = (
            [block for block in country.blocks_of(kind) if search.admits(block)] if country else []
        )
        found: list[AvailableNumber] = []
        for index in range(BLOCK_SIZE):
            for block in blocks:
                number = block.number_at(index)
                if number in taken or (search.contains and not search.contains.search(number)):
                    continue
                found.append(AvailableNumber(number, block))
                if len(found) >= limit:
                    return found
        return found

    def first_in_area_code(
        self, area_code: str, *, taken: Container[str]
    ) -> AvailableNumber | None:
        """The first untaken North American number in `area_code` (local before toll-free)."""
        search = Search(area_code=area_code)
        for country in self._countries.values():
            for kind in NumberKind:
                for number in self.search(country.iso, kind, search, taken=taken, limit=1):
                    return number
        return None
