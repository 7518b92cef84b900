"""IncomingPhoneNumbers through the official twilio client: buy, list, fetch, update, release.

Every response is validated against Twilio's OpenAPI document by the client fixture's HTTP client.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.numbers import PhoneNumbers
from tests.emulator.conftest import ClientFactory, RunningEmulator
from tests.emulator.rawhttp import call


def _first_available(client: Client, country: str = "US", kind: str = "local") -> str:
    found = getattr(client.available_phone_numbers(country), kind).list(limit=1)
    phone_number: str = found[0].phone_number
    return phone_number


def _numbers_url(emulator: RunningEmulator, path: str = ".json") -> str:
    sid = emulator.config.account_sid
    return emulator.url(f"/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers{path}")


def _auth(emulator: RunningEmulator) -> tuple[str, str]:
    return (emulator.config.account_sid, emulator.config.auth_token)


def _error(caught: pytest.ExceptionInfo[TwilioRestException]) -> tuple[int, int]:
    return (caught.value.status, caught.value.code)


def test_buy_by_phone_number(twilio_client: Client, emulator: RunningEmulator) -> None:
    """Buying an available number gives the account a PN resource for it."""
    wanted = _first_available(twilio_client, "NL", "mobile")
    bought = twilio_client.incoming_phone_numbers.create(phone_number=wanted)
    assert bought.sid.startswith("PN")
    assert (bought.phone_number, bought.account_sid) == (wanted, emulator.config.account_sid)
    assert bought.capabilities == {"voice": True, "sms": True, "mms": False, "fax": False}
    assert (bought.type, bought.status, bought.origin) == ("mobile", "in-use", "twilio")
    assert (bought.sms_method, bought.voice_method, bought.api_version) == (
        "POST",
        "POST",
        "2010-04-01",
    )


def test_buy_by_area_code(twilio_client: Client) -> None:
    """Buying with AreaCode=212 gives a New York number."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="212")
    assert bought.phone_number.startswith("+1212")
    assert bought.friendly_name == (
        f"({bought.phone_number[2:5]}) {bought.phone_number[5:8]}-{bought.phone_number[8:]}"
    )


def test_buy_on_a_typed_sub_list(twilio_client: Client) -> None:
    """IncomingPhoneNumbers/TollFree.json buys a toll-free number."""
    wanted = _first_available(twilio_client, "GB", "toll_free")
    bought = twilio_client.incoming_phone_numbers.toll_free.create(phone_number=wanted)
    assert bought.phone_number == wanted


def test_typed_sub_list_refuses_another_type(twilio_client: Client) -> None:
    """A mobile number cannot be bought on IncomingPhoneNumbers/Local.json (21422)."""
    wanted = _first_available(twilio_client, "GB", "mobile")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.local.create(phone_number=wanted)
    assert _error(caught) == (400, 21422)


def test_buy_with_configuration(twilio_client: Client) -> None:
    """Webhook URLs and methods given at purchase are stored on the number."""
    bought = twilio_client.incoming_phone_numbers.create(
        phone_number=_first_available(twilio_client),
        friendly_name="Support line",
        sms_url="https://example.com/sms",
        sms_method="GET",
        voice_url="https://example.com/voice",
    )
    assert (bought.friendly_name, bought.sms_url, bought.sms_method) == (
        "Support line",
        "https://example.com/sms",
        "GET",
    )
    assert bought.voice_url == "https://example.com/voice"


def test_bought_number_disappears_from_search(twilio_client: Client) -> None:
    """A number bought by one account is no longer offered."""
    wanted = _first_available(twilio_client, "DE", "local")
    twilio_client.incoming_phone_numbers.create(phone_number=wanted)
    found = twilio_client.available_phone_numbers("DE").local.list(limit=100)
    assert wanted not in {number.phone_number for number in found}


def test_number_bought_by_a_subaccount_is_unavailable_to_others(twilio_client: Client) -> None:
    """A number a subaccount owns cannot be bought again by its parent (21422)."""
    sub = twilio_client.api.accounts.create(friendly_name="shop")
    wanted = _first_available(twilio_client, "BE", "mobile")
    twilio_client.api.accounts(sub.sid).incoming_phone_numbers.create(phone_number=wanted)
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.create(phone_number=wanted)
    assert _error(caught) == (400, 21422)


def test_number_outside_the_inventory_is_unavailable(twilio_client: Client) -> None:
    """A valid number the emulator does not sell is 21422."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.create(phone_number="+31612345678")
    assert _error(caught) == (400, 21422)


def test_invalid_phone_number_is_21421(twilio_client: Client) -> None:
    """A PhoneNumber that is not a phone number is 21421."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.create(phone_number="+999")
    assert _error(caught) == (400, 21421)


def test_neither_number_nor_area_code(emulator: RunningEmulator) -> None:
    """A purchase naming no number and no area code is Twilio's 400 with code 400."""
    reply = call("POST", _numbers_url(emulator), auth=_auth(emulator), form={"FriendlyName": "x"})
    assert (reply.status, reply.json["code"]) == (400, 400)
    assert reply.json["message"] == "did or area_code is required."


def test_area_code_with_no_numbers_is_21452(twilio_client: Client) -> None:
    """An area code the inventory has no numbers in is 21452."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.create(area_code="907")
    assert _error(caught) == (400, 21452)


def test_malformed_area_code_is_21451(twilio_client: Client) -> None:
    """An AreaCode that is not three digits is 21451."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers.create(area_code="12")
    assert _error(caught) == (400, 21451)


def test_area_code_on_a_typed_sub_list_is_21457(emulator: RunningEmulator) -> None:
    """AreaCode is not accepted on IncomingPhoneNumbers/Local.json (21457)."""
    reply = call(
        "POST",
        _numbers_url(emulator, "/Local.json"),
        auth=_auth(emulator),
        form={"AreaCode": "415"},
    )
    assert (reply.status, reply.json["code"]) == (400, 21457)


def test_list_fetch_and_paging(twilio_client: Client) -> None:
    """Three bought numbers list in purchase order over pages of two, and each can be fetched."""
    bought = [twilio_client.incoming_phone_numbers.create(area_code="617") for _ in range(3)]
    listed = twilio_client.incoming_phone_numbers.list(page_size=2)
    assert [number.sid for number in listed] == [number.sid for number in bought]
    fetched = twilio_client.incoming_phone_numbers(bought[1].sid).fetch()
    assert fetched.phone_number == bought[1].phone_number


def test_list_filters_by_phone_number_pattern(twilio_client: Client) -> None:
    """PhoneNumber filters by a partial number with * for any digit."""
    boston = twilio_client.incoming_phone_numbers.create(area_code="617")
    twilio_client.incoming_phone_numbers.create(area_code="206")
    listed = twilio_client.incoming_phone_numbers.list(phone_number="+1617*")
    assert [number.sid for number in listed] == [boston.sid]


def test_list_filters_by_friendly_name(twilio_client: Client) -> None:
    """FriendlyName filters by the exact name."""
    named = twilio_client.incoming_phone_numbers.create(area_code="512", friendly_name="Austin")
    twilio_client.incoming_phone_numbers.create(area_code="512")
    listed = twilio_client.incoming_phone_numbers.list(friendly_name="Austin")
    assert [number.sid for number in listed] == [named.sid]


def test_list_filters_by_origin_and_beta(twilio_client: Client) -> None:
    """Origin=hosted finds none of the bought numbers; Beta=false keeps them all."""
    twilio_client.incoming_phone_numbers.create(area_code="303")
    assert twilio_client.incoming_phone_numbers.list(origin="hosted") == []
    assert len(twilio_client.incoming_phone_numbers.list(origin="twilio", beta=False)) == 1


def test_typed_list_shows_only_that_type(twilio_client: Client) -> None:
    """IncomingPhoneNumbers/Mobile.json lists only mobile numbers."""
    twilio_client.incoming_phone_numbers.create(area_code="305")
    mobile = twilio_client.incoming_phone_numbers.create(
        phone_number=_first_available(twilio_client, "NL", "mobile")
    )
    listed = twilio_client.incoming_phone_numbers.mobile.list()
    assert [number.sid for number in listed] == [mobile.sid]


def test_update_webhooks(twilio_client: Client) -> None:
    """An update changes the webhook configuration and date_updated."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    updated = twilio_client.incoming_phone_numbers(bought.sid).update(
        friendly_name="Inbound",
        sms_url="https://example.com/in",
        sms_method="get",
        sms_fallback_url="https://example.com/fallback",
        sms_fallback_method="GET",
        voice_url="https://example.com/voice",
        voice_method="GET",
        voice_fallback_url="https://example.com/voice-fallback",
        status_callback="https://example.com/status",
        status_callback_method="GET",
    )
    assert (updated.friendly_name, updated.sms_url, updated.sms_method) == (
        "Inbound",
        "https://example.com/in",
        "GET",
    )
    assert (updated.sms_fallback_url, updated.voice_method, updated.status_callback_method) == (
        "https://example.com/fallback",
        "GET",
        "GET",
    )


def test_update_refuses_a_relative_url(twilio_client: Client) -> None:
    """A URL without scheme and host is 21402 and changes nothing."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers(bought.sid).update(sms_url="/sms", sms_method="GET")
    assert _error(caught) == (400, 21402)
    assert twilio_client.incoming_phone_numbers(bought.sid).fetch().sms_method == "POST"


def test_update_refuses_an_unknown_method(twilio_client: Client) -> None:
    """A method other than GET or POST is 21403."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers(bought.sid).update(voice_method="PUT")
    assert _error(caught) == (400, 21403)


def test_update_refuses_a_long_friendly_name(twilio_client: Client) -> None:
    """A FriendlyName over 64 characters is refused."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers(bought.sid).update(friendly_name="x" * 65)
    assert _error(caught) == (400, 20001)


def test_release_returns_the_number_to_the_inventory(twilio_client: Client) -> None:
    """A released number is gone from the account and offered again."""
    wanted = _first_available(twilio_client, "NL", "local")
    bought = twilio_client.incoming_phone_numbers.create(phone_number=wanted)
    assert twilio_client.incoming_phone_numbers(bought.sid).delete() is True
    assert twilio_client.incoming_phone_numbers.list() == []
    assert _first_available(twilio_client, "NL", "local") == wanted


def test_fetch_of_a_released_number_is_404(twilio_client: Client) -> None:
    """A released number's SID is 404/20404."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    twilio_client.incoming_phone_numbers(bought.sid).delete()
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.incoming_phone_numbers(bought.sid).fetch()
    assert _error(caught) == (404, 20404)


def test_another_accounts_number_is_404(twilio_client: Client, make_client: ClientFactory) -> None:
    """A subaccount cannot see its parent's number."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    sub = twilio_client.api.accounts.create(friendly_name="team")
    sub_client = make_client(sub.sid, sub.auth_token)
    with pytest.raises(TwilioRestException) as caught:
        sub_client.incoming_phone_numbers(bought.sid).fetch()
    assert _error(caught) == (404, 20404)


def test_parent_moves_a_number_to_its_subaccount(twilio_client: Client) -> None:
    """Updating AccountSid moves the number to a subaccount the caller owns."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415")
    sub = twilio_client.api.accounts.create(friendly_name="team")
    moved = twilio_client.incoming_phone_numbers(bought.sid).update(account_sid=sub.sid)
    assert moved.account_sid == sub.sid
    assert twilio_client.api.accounts(sub.sid).incoming_phone_numbers.list()[0].sid == bought.sid


def test_closing_a_subaccount_releases_its_numbers(
    twilio_client: Client, emulator: RunningEmulator
) -> None:
    """When a subaccount is closed its numbers return to the inventory."""
    sub = twilio_client.api.accounts.create(friendly_name="temp")
    bought = twilio_client.api.accounts(sub.sid).incoming_phone_numbers.create(area_code="312")
    twilio_client.api.accounts(sub.sid).update(status="closed")
    assert PhoneNumbers(emulator.state).by_number(bought.phone_number) is None


def test_owned_by_finds_the_owner_only(twilio_client: Client, emulator: RunningEmulator) -> None:
    """`PhoneNumbers.owned_by` answers for the owning account and no other."""
    bought = twilio_client.incoming_phone_numbers.create(area_code="415", sms_url="https://a.b/c")
    numbers = PhoneNumbers(emulator.state)
    owned = numbers.owned_by(emulator.config.account_sid, bought.phone_number)
    assert owned is not None
    assert owned.sms_url == "https://a.b/c"
    assert numbers.owned_by("AC" + "0" * 32, bought.phone_number) is None


def test_test_credentials_buy_the_magic_number(
    make_client: ClientFactory, emulator: RunningEmulator
) -> None:
    """Test credentials buy +15005550006 with a 201 body and store nothing."""
    config = emulator.config
    client = make_client(config.test_account_sid, config.test_auth_token)
    bought = client.incoming_phone_numbers.create(phone_number="+15005550006")
    assert (bought.phone_number, bought.account_sid) == ("+15005550006", config.test_account_sid)
    assert PhoneNumbers(emulator.state).by_number("+15005550006") is None


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone_number", "+15005550000", 21422),
        ("phone_number", "+15005550001", 21421),
        ("area_code", "533", 21452),
    ],
)
def test_test_credentials_magic_failures(
    make_client: ClientFactory, emulator: RunningEmulator, field: str, value: str, code: int
) -> None:
    """The magic failure values of the test credentials give their documented codes."""
    config = emulator.config
    client = make_client(config.test_account_sid, config.test_auth_token)
    with pytest.raises(TwilioRestException) as caught:
        client.incoming_phone_numbers.create(**{field: value})
    assert _error(caught) == (400, code)


def test_test_credentials_cannot_list(
    make_client: ClientFactory, emulator: RunningEmulator
) -> None:
    """Test credentials may buy but not list numbers (403/20008)."""
    reply = call(
        "GET",
        _numbers_url(emulator).replace(
            emulator.config.account_sid, emulator.config.test_account_sid
        ),
        auth=(emulator.config.test_account_sid, emulator.config.test_auth_token),
    )
    assert (reply.status, reply.json["code"]) == (403, 20008)
