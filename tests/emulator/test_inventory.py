"""The emulator's number inventory: valid numbers, stable order, honest capabilities, searches."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from herald.emulator.inventory import (
    BLOCK_SIZE,
    Block,
    Capabilities,
    Inventory,
    NumberKind,
    Search,
    compile_contains,
    friendly_name_of,
)
from herald.emulator.inventory_blocks import COUNTRIES, INVENTORY

ALL_BLOCKS = [block for country in COUNTRIES for block in country.blocks]
PHONENUMBERS_TYPES = {
    NumberKind.LOCAL: {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE},
    NumberKind.MOBILE: {PhoneNumberType.MOBILE},
    NumberKind.TOLL_FREE: {PhoneNumberType.TOLL_FREE},
}
VOICE_SMS_MMS = Capabilities(voice=True, sms=True, mms=True)
VOICE_SMS = Capabilities(voice=True, sms=True, mms=False)
VOICE_ONLY = Capabilities(voice=True, sms=False, mms=False)
EXPECTED_CAPABILITIES = {
    ("US", NumberKind.LOCAL): VOICE_SMS_MMS,
    ("US", NumberKind.TOLL_FREE): VOICE_SMS_MMS,
    ("CA", NumberKind.LOCAL): VOICE_SMS_MMS,
    ("CA", NumberKind.TOLL_FREE): VOICE_SMS_MMS,
    **{
        (iso, kind): capabilities
        for iso in ("NL", "GB", "DE", "BE")
        for kind, capabilities in (
            (NumberKind.LOCAL, VOICE_ONLY),
            (NumberKind.MOBILE, VOICE_SMS),
            (NumberKind.TOLL_FREE, VOICE_ONLY),
        )
    },
}


def _is_valid_as(number: str, kind: NumberKind) -> bool:
    parsed = phonenumbers.parse(number)
    return phonenumbers.is_valid_number(parsed) and (
        phonenumbers.number_type(parsed) in PHONENUMBERS_TYPES[kind]
    )


@given(block=st.sampled_from(ALL_BLOCKS), index=st.integers(0, BLOCK_SIZE - 1))
def test_every_generated_number_is_valid_with_its_declared_type(block: Block, index: int) -> None:
    """Any number of any block parses as a valid number of the block's type."""
    assert _is_valid_as(block.number_at(index), block.kind)


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda block: block.prefix)
def test_block_ends_are_valid_with_their_declared_type(block: Block) -> None:
    """The lowest and highest numbers of each block are valid numbers of its type."""
    lowest, highest = block.prefix + "0000", block.prefix + "9999"
    assert _is_valid_as(lowest, block.kind)
    assert _is_valid_as(highest, block.kind)


@pytest.mark.parametrize("block", ALL_BLOCKS[:3], ids=lambda block: block.prefix)
def test_block_listing_is_a_permutation_of_its_ten_thousand_numbers(block: Block) -> None:
    """A block lists each of its 10,000 numbers exactly once."""
    numbers = {block.number_at(index) for index in range(BLOCK_SIZE)}
    assert len(numbers) == BLOCK_SIZE
    assert all(number.startswith(block.prefix) for number in numbers)


def test_listing_is_the_same_for_a_fresh_inventory() -> None:
    """Two inventories built from the same table list the same numbers in the same order."""
    first = [
        n.phone_number
        for n, _ in zip(INVENTORY.numbers("NL", NumberKind.MOBILE), range(200), strict=False)
    ]
    again = Inventory(COUNTRIES)
    second = [
        n.phone_number
        for n, _ in zip(again.numbers("NL", NumberKind.MOBILE), range(200), strict=False)
    ]
    assert first == second


def test_listing_interleaves_the_blocks_of_a_country() -> None:
    """The first local numbers of the Netherlands come from several cities."""
    first = [
        number
        for number, _ in zip(INVENTORY.numbers("NL", NumberKind.LOCAL), range(5), strict=False)
    ]
    assert len({number.block.place.locality for number in first}) == 5


@pytest.mark.parametrize(("iso", "kind"), sorted(EXPECTED_CAPABILITIES, key=str))
def test_capabilities_follow_the_country_table(iso: str, kind: NumberKind) -> None:
    """Each country and type has the capabilities Twilio sells there."""
    country = INVENTORY.country(iso)
    assert country is not None
    blocks = country.blocks_of(kind)
    assert blocks
    assert {block.capabilities for block in blocks} == {EXPECTED_CAPABILITIES[(iso, kind)]}


def test_north_america_has_no_mobile_numbers() -> None:
    """The US and Canada sell local and toll-free numbers, never mobile ones."""
    for iso in ("US", "CA"):
        country = INVENTORY.country(iso)
        assert country is not None
        assert country.kinds == (NumberKind.LOCAL, NumberKind.TOLL_FREE)


def test_every_country_type_holds_thousands_of_numbers() -> None:
    """Each country and type offers at least 10,000 numbers."""
    for country in COUNTRIES:
        for kind in country.kinds:
            assert len(country.blocks_of(kind)) * BLOCK_SIZE >= 10_000


def test_lookup_finds_a_listed_number() -> None:
    """Looking up a listed number gives it back with its block."""
    listed = next(INVENTORY.numbers("GB", NumberKind.MOBILE))
    found = INVENTORY.lookup(listed.phone_number)
    assert found == listed


def test_lookup_of_a_number_outside_the_inventory_is_none() -> None:
    """A valid number in no block is not in the inventory."""
    assert INVENTORY.lookup("+31612345678") is None


def test_search_skips_taken_numbers() -> None:
    """A taken number is left out and the next one takes its place."""
    first_two = INVENTORY.search("DE", NumberKind.MOBILE, Search(), taken=set(), limit=2)
    taken = {first_two[0].phone_number}
    again = INVENTORY.search("DE", NumberKind.MOBILE, Search(), taken=taken, limit=1)
    assert again == first_two[1:]


def test_search_by_area_code_keeps_to_that_area_code() -> None:
    """An AreaCode search returns only numbers in that area code."""
    found = INVENTORY.search("US", NumberKind.LOCAL, Search(area_code="415"), taken=set(), limit=30)
    assert len(found) == 30
    assert all(number.phone_number.startswith("+1415") for number in found)


def test_search_for_sms_excludes_voice_only_numbers() -> None:
    """SmsEnabled=true finds no Dutch geographic number (they take calls only)."""
    search = Search(sms=True)
    assert INVENTORY.search("NL", NumberKind.LOCAL, search, taken=set(), limit=5) == []


def test_search_within_a_distance_of_a_point() -> None:
    """A search near Boston finds only Boston numbers."""
    search = Search(near=(42.36, -71.06), distance=10)
    found = INVENTORY.search("US", NumberKind.LOCAL, search, taken=set(), limit=10)
    assert {number.block.place.locality for number in found} == {"Boston"}


def test_search_excluding_local_address_requirements() -> None:
    """ExcludeLocalAddressRequired drops German geographic numbers (they need a local address)."""
    search = Search(exclude_local_address_required=True)
    assert INVENTORY.search("DE", NumberKind.LOCAL, search, taken=set(), limit=5) == []


def test_first_in_area_code_prefers_local_numbers() -> None:
    """Buying by area code 212 gives a New York local number."""
    number = INVENTORY.first_in_area_code("212", taken=set())
    assert number is not None
    assert number.kind is NumberKind.LOCAL
    assert number.phone_number.startswith("+1212")


def test_first_in_area_code_finds_toll_free_numbers() -> None:
    """Area code 800 gives a toll-free number."""
    number = INVENTORY.first_in_area_code("800", taken=set())
    assert number is not None
    assert number.kind is NumberKind.TOLL_FREE


def test_friendly_name_is_national_in_north_america() -> None:
    """North American numbers read `(NPA) NXX-XXXX`."""
    assert friendly_name_of("+18089251571") == "(808) 925-1571"


def test_friendly_name_is_e164_elsewhere() -> None:
    """Numbers outside +1 are shown in E.164."""
    assert friendly_name_of("+31612345678") == "+31612345678"


@pytest.mark.parametrize(
    ("pattern", "number"),
    [
        ("1470", "+31614701234"),
        ("+316", "+31614701234"),
        ("1234$", "+31614701234"),
        ("STORM", "+14157867600"),
        ("storm", "+14157867600"),
        ("415***", "+14152347600"),
        ("415%", "+14152347600"),
        ("*1234", "+31614701234"),
    ],
)
def test_contains_patterns_that_match(pattern: str, number: str) -> None:
    """Contains matches digits, keypad letters, wildcards and anchors as Twilio describes."""
    assert compile_contains(pattern).search(number)


@pytest.mark.parametrize(
    ("pattern", "number"),
    [
        ("1471", "+31614701234"),
        ("+6", "+31614701234"),
        ("1470$", "+31614701234"),
        ("+4", "+31614701234"),
        ("*9999", "+31614701234"),
    ],
)
def test_contains_patterns_that_do_not_match(pattern: str, number: str) -> None:
    """Contains leaves out numbers without the pattern in the anchored place."""
    assert compile_contains(pattern).search(number) is None


@pytest.mark.parametrize(
    "pattern",
    ["1", "12345678901234567", "12-34", "1*2", "415***76", "+*12", "12%$", "*1", "a+b", "12$3"],
)
def test_contains_patterns_twilio_refuses(pattern: str) -> None:
    """Patterns outside Twilio's Contains rules raise ValueError."""
    with pytest.raises(ValueError, match=r"Contains|wildcard|anchor"):
        compile_contains(pattern)


def test_duplicate_prefixes_are_refused() -> None:
    """An inventory whose blocks share a prefix cannot be built."""
    country = COUNTRIES[0]
    doubled = type(country)(country.iso, country.name, (*country.blocks, country.blocks[0]))
    with pytest.raises(ValueError, match="share a prefix"):
        Inventory((doubled,))
