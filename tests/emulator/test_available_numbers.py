"""AvailablePhoneNumbers through the official twilio client: countries, searches and filters.

Every response is validated against Twilio's OpenAPI document by the client fixture's HTTP client.
"""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import call


def _auth(emulator: RunningEmulator) -> tuple[str, str]:
    return (emulator.config.account_sid, emulator.config.auth_token)


def _search_url(emulator: RunningEmulator, path: str) -> str:
    sid = emulator.config.account_sid
    return emulator.url(f"/2010-04-01/Accounts/{sid}/AvailablePhoneNumbers/{path}")


def test_countries_list_every_country_on_sale(twilio_client: Client) -> None:
    """The country list names the six countries and the types each offers."""
    countries = {c.country_code: c for c in twilio_client.available_phone_numbers.list()}
    assert set(countries) == {"US", "CA", "NL", "GB", "DE", "BE"}
    assert set(countries["US"].subresource_uris) == {"local", "toll_free"}
    assert set(countries["NL"].subresource_uris) == {"local", "mobile", "toll_free"}


def test_country_fetch_names_the_country(twilio_client: Client) -> None:
    """Fetching NL gives the Netherlands with its three number types."""
    country = twilio_client.available_phone_numbers("NL").fetch()
    assert country.country == "Netherlands"
    assert country.subresource_uris["mobile"].endswith("/AvailablePhoneNumbers/NL/Mobile.json")


def test_country_not_on_sale_is_404(twilio_client: Client) -> None:
    """A country the emulator does not sell in is Twilio's 404/20404."""
    with pytest.raises(TwilioRestException) as caught:
        twilio_client.available_phone_numbers("ZZ").fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_us_mobile_numbers_are_404(emulator: RunningEmulator) -> None:
    """Twilio sells no US mobile numbers: the search is 404/20404 naming the path."""
    reply = call("GET", _search_url(emulator, "US/Mobile.json"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (404, 20404)
    assert "/AvailablePhoneNumbers/US/Mobile.json" in reply.json["message"]


def test_dutch_mobile_numbers_take_sms_and_calls(twilio_client: Client) -> None:
    """Dutch mobile numbers are +316, with voice and SMS but no MMS."""
    found = twilio_client.available_phone_numbers("NL").mobile.list(limit=20)
    assert len(found) == 20
    assert all(number.phone_number.startswith("+316") for number in found)
    assert {tuple(sorted(n.capabilities.items())) for n in found} == {
        (("fax", False), ("mms", False), ("sms", True), ("voice", True))
    }


def test_us_local_search_reports_the_place(twilio_client: Client) -> None:
    """A US local number comes with locality, region, postal code, LATA and rate centre."""
    number = twilio_client.available_phone_numbers("US").local.list(area_code=808, limit=1)[0]
    assert number.phone_number.startswith("+1808")
    assert (
        number.friendly_name
        == f"({number.phone_number[2:5]}) {number.phone_number[5:8]}-{number.phone_number[8:]}"
    )
    assert (number.locality, number.region, number.postal_code) == ("Hilo", "HI", "96720")
    assert (number.lata, number.rate_center, number.iso_country) == ("834", "HILO", "US")
    assert float(number.latitude) == pytest.approx(19.72)


@pytest.mark.parametrize(
    ("country", "kind", "prefix"),
    [
        ("US", "toll_free", "+18"),
        ("GB", "local", "+44"),
        ("GB", "mobile", "+447"),
        ("DE", "mobile", "+491"),
        ("DE", "toll_free", "+49800"),
        ("BE", "mobile", "+324"),
        ("BE", "local", "+32"),
        ("NL", "toll_free", "+31800"),
        ("CA", "local", "+1"),
    ],
)
def test_search_each_country_and_type(
    twilio_client: Client, country: str, kind: str, prefix: str
) -> None:
    """Each country and type on sale returns numbers of that country."""
    found = getattr(twilio_client.available_phone_numbers(country), kind).list(limit=5)
    assert len(found) == 5
    assert all(n.phone_number.startswith(prefix) and n.iso_country == country for n in found)


def test_contains_filters_numbers(twilio_client: Client) -> None:
    """Contains=+3162 keeps only Dutch mobiles starting 062."""
    found = twilio_client.available_phone_numbers("NL").mobile.list(contains="+3162", limit=10)
    assert found
    assert all(number.phone_number.startswith("+3162") for number in found)


def test_contains_with_a_trailing_wildcard(twilio_client: Client) -> None:
    """Contains=415* finds San Francisco numbers."""
    found = twilio_client.available_phone_numbers("US").local.list(contains="+1415*", limit=5)
    assert all(number.phone_number.startswith("+1415") for number in found)


def test_sms_enabled_false_finds_voice_only_numbers(twilio_client: Client) -> None:
    """SmsEnabled=false on GB local numbers finds them (they take calls only)."""
    found = twilio_client.available_phone_numbers("GB").local.list(sms_enabled=False, limit=3)
    assert len(found) == 3


def test_sms_enabled_true_finds_no_voice_only_numbers(twilio_client: Client) -> None:
    """SmsEnabled=true finds no GB toll-free number."""
    assert twilio_client.available_phone_numbers("GB").toll_free.list(sms_enabled=True) == []


def test_mms_and_voice_filters(twilio_client: Client) -> None:
    """MmsEnabled and VoiceEnabled keep US toll-free numbers, which take both."""
    found = twilio_client.available_phone_numbers("US").toll_free.list(
        mms_enabled=True, voice_enabled=True, limit=3
    )
    assert len(found) == 3


def test_in_region_and_postal_code(twilio_client: Client) -> None:
    """InRegion and InPostalCode narrow US numbers to one place."""
    found = twilio_client.available_phone_numbers("US").local.list(
        in_region="wa", in_postal_code="98101", limit=5
    )
    assert {number.locality for number in found} == {"Seattle"}


def test_page_size_bounds_the_answer(emulator: RunningEmulator) -> None:
    """PageSize=3 returns three numbers and no next page."""
    reply = call("GET", _search_url(emulator, "BE/Mobile.json?PageSize=3"), auth=_auth(emulator))
    assert len(reply.json["available_phone_numbers"]) == 3
    assert reply.json["next_page_uri"] is None


def test_default_page_is_fifty_numbers(emulator: RunningEmulator) -> None:
    """Without PageSize a search returns 50 numbers."""
    reply = call("GET", _search_url(emulator, "DE/Local.json"), auth=_auth(emulator))
    assert len(reply.json["available_phone_numbers"]) == 50


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Local.json?AreaCode=41", 21451),
        ("Local.json?AreaCode=abc", 21451),
        ("Local.json?Contains=1", 20001),
        ("Local.json?Contains=1*2", 20001),
        ("Local.json?SmsEnabled=maybe", 20001),
        ("Local.json?PageSize=0", 20001),
        ("Local.json?InRateCenter=HILO", 20001),
        ("Local.json?NearLatLong=north", 20001),
    ],
)
def test_bad_filter_values_are_refused(emulator: RunningEmulator, query: str, code: int) -> None:
    """Filter values Twilio refuses give a 400 with Twilio's code."""
    reply = call("GET", _search_url(emulator, "US/" + query), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, code)


def test_area_code_outside_north_america_is_refused(emulator: RunningEmulator) -> None:
    """AreaCode applies to the US and Canada only: in NL it is 21451."""
    reply = call("GET", _search_url(emulator, "NL/Local.json?AreaCode=200"), auth=_auth(emulator))
    assert (reply.status, reply.json["code"]) == (400, 21451)


def test_search_needs_credentials(emulator: RunningEmulator) -> None:
    """A search without credentials is 401/20003."""
    reply = call("GET", _search_url(emulator, "US/Local.json"))
    assert (reply.status, reply.json["code"]) == (401, 20003)
