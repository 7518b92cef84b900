"""Sender selection for Messaging Services: sticky sender, geomatch, determinism, failures."""

from __future__ import annotations

import pytest

from herald.emulator.sender_pool import (
    NO_SENDER_AVAILABLE,
    POOL_EMPTY,
    NoSender,
    PoolSender,
    StickySenders,
    country_of,
    select_sender,
)

US_NYC = PoolSender("+12125550100")
US_SF = PoolSender("+14155550100")
GB = PoolSender("+447700900100")
DE = PoolSender("+4915112345678")
WA_US = PoolSender("+12125550199", whatsapp=True)


def test_country_of_reads_the_region_of_an_e164_number() -> None:
    """The country of a number comes from its calling code and number plan."""
    assert country_of("+447700900100") == "GB"
    assert country_of("whatsapp:+4915112345678") == "DE"


def test_country_of_is_none_for_garbage() -> None:
    """A value that is not a phone number has no country."""
    assert country_of("not-a-number") is None


def test_same_country_number_is_preferred() -> None:
    """Country Code Geomatch picks a number of the recipient's country over earlier ones."""
    assert select_sender([US_NYC, GB], "+447700900999") == GB.phone_number


def test_us_number_is_the_fallback_when_no_country_matches() -> None:
    """Without a number of the recipient's country, a US number is used."""
    assert select_sender([DE, US_SF], "+33612345678") == US_SF.phone_number


def test_first_added_number_is_used_when_neither_country_nor_us_matches() -> None:
    """With no local and no US number, the earliest added number is used (deterministic)."""
    assert select_sender([DE, GB], "+33612345678") == DE.phone_number


def test_choice_among_equals_is_the_earliest_added() -> None:
    """Several numbers of the recipient's country: the first added wins, every time."""
    picks = {select_sender([US_SF, US_NYC], "+13105550123") for _ in range(5)}
    assert picks == {US_SF.phone_number}


def test_area_code_geomatch_prefers_the_recipients_area_code() -> None:
    """With Area Code Geomatch on, a US number with the recipient's area code is chosen."""
    chosen = select_sender([US_SF, US_NYC], "+12125559876", area_code_geomatch=True)
    assert chosen == US_NYC.phone_number


def test_area_code_is_ignored_when_area_code_geomatch_is_off() -> None:
    """With Area Code Geomatch off, the first number of the country is chosen."""
    assert select_sender([US_SF, US_NYC], "+12125559876") == US_SF.phone_number


def test_sticky_sender_wins_over_geomatch() -> None:
    """A remembered sender still in the pool is used even if another number matches better."""
    assert select_sender([US_NYC, GB], "+447700900999", sticky="+12125550100") == "+12125550100"


def test_sticky_sender_no_longer_in_pool_is_ignored() -> None:
    """A remembered sender that left the pool falls back to the normal rules."""
    assert select_sender([US_NYC, GB], "+447700900999", sticky="+19995550100") == GB.phone_number


def test_whatsapp_recipient_gets_a_whatsapp_sender_address() -> None:
    """A whatsapp: recipient is sent from a WhatsApp sender, as a whatsapp: address."""
    assert select_sender([GB, WA_US], "whatsapp:+447700900999") == "whatsapp:+12125550199"


def test_whatsapp_recipient_without_whatsapp_sender_fails_with_21703() -> None:
    """A pool without WhatsApp senders cannot reach a whatsapp: recipient (21703)."""
    with pytest.raises(NoSender) as caught:
        select_sender([GB, US_NYC], "whatsapp:+447700900999")
    assert caught.value.code == NO_SENDER_AVAILABLE


def test_empty_pool_fails_with_21704() -> None:
    """A Service without numbers cannot send at all (21704)."""
    with pytest.raises(NoSender) as caught:
        select_sender([], "+447700900999")
    assert caught.value.code == POOL_EMPTY


def test_sticky_mapping_is_remembered_per_service_and_recipient() -> None:
    """A remembered sender is found for the same Service and recipient only."""
    sticky = StickySenders()
    sticky.remember("MG1", "+447700900999", "+12125550100")
    assert sticky.lookup("MG1", "+447700900999") == "+12125550100"
    assert sticky.lookup("MG2", "+447700900999") is None


def test_removing_a_number_deletes_its_sticky_mappings() -> None:
    """Mappings to a number removed from the pool are deleted; others stay."""
    sticky = StickySenders()
    sticky.remember("MG1", "+447700900999", "+12125550100")
    sticky.remember("MG1", "+447700900998", "+447700900100")
    sticky.forget_sender("MG1", "+12125550100")
    assert sticky.lookup("MG1", "+447700900999") is None
    assert sticky.lookup("MG1", "+447700900998") == "+447700900100"
