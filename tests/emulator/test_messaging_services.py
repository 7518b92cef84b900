"""Messaging Services and their number pools, driven through the official twilio client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from herald.emulator.inventory import NumberKind
from herald.emulator.messaging_services import find_service, sender_for, sticky_senders
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.whatsapp import whatsapp_state
from tests.emulator.conftest import ClientFactory, RunningEmulator
from tests.emulator.rawhttp import call
from tests.emulator.v1clients import on_all_domains, seed_number


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client, with the messaging domain on the emulator."""
    return on_all_domains(twilio_client, emulator)


def test_create_renders_every_field_with_console_defaults(
    emulator: RunningEmulator, client: Client
) -> None:
    """A new Service has Twilio's defaults, ISO dates and absolute URLs on the emulator."""
    service = client.messaging.v1.services.create(friendly_name="Shop")
    assert service.sid.startswith("MG")
    assert service.account_sid == emulator.config.account_sid
    assert service.friendly_name == "Shop"
    assert service.date_created == emulator.clock.now()
    assert service.sticky_sender is True
    assert service.smart_encoding is True
    assert service.area_code_geomatch is True
    assert service.validity_period == 36000
    assert service.inbound_request_url is None
    assert service.inbound_method == "POST"
    assert service.usecase == "undeclared"
    assert service.url == emulator.url(f"/v1/Services/{service.sid}")
    assert service.links["phone_numbers"] == emulator.url(
        f"/v1/Services/{service.sid}/PhoneNumbers"
    )


def test_create_takes_every_setting(client: Client) -> None:
    """Settings given at creation are stored and rendered."""
    service = client.messaging.v1.services.create(
        friendly_name="Alerts",
        inbound_request_url="https://app.example.com/inbound",
        inbound_method="GET",
        fallback_url="https://app.example.com/fallback",
        status_callback="https://app.example.com/status",
        sticky_sender=False,
        smart_encoding=False,
        area_code_geomatch=False,
        validity_period=600,
        usecase="notifications",
        use_inbound_webhook_on_number=True,
    )
    fetched = client.messaging.v1.services(service.sid).fetch()
    assert fetched.inbound_request_url == "https://app.example.com/inbound"
    assert fetched.inbound_method == "GET"
    assert fetched.fallback_url == "https://app.example.com/fallback"
    assert fetched.status_callback == "https://app.example.com/status"
    assert (fetched.sticky_sender, fetched.smart_encoding, fetched.area_code_geomatch) == (
        False,
        False,
        False,
    )
    assert fetched.validity_period == 600
    assert fetched.usecase == "notifications"
    assert fetched.use_inbound_webhook_on_number is True


def test_create_without_friendly_name_is_20001(emulator: RunningEmulator) -> None:
    """FriendlyName is required: Twilio's 400/20001 names it."""
    reply = call(
        "POST",
        emulator.url("/v1/Services"),
        auth=(emulator.config.account_sid, emulator.config.auth_token),
        form={"StickySender": "true"},
    )
    assert reply.status == 400
    assert reply.json["code"] == 20001
    assert "FriendlyName" in reply.json["message"]


@pytest.mark.parametrize("period", [0, 36001])
def test_validity_period_outside_1_to_36000_is_refused(client: Client, period: int) -> None:
    """ValidityPeriod must be 1 to 36000 seconds."""
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services.create(friendly_name="x", validity_period=period)
    assert (caught.value.status, caught.value.code) == (400, 20001)


def test_update_changes_only_the_given_settings(emulator: RunningEmulator, client: Client) -> None:
    """An update touches the given fields and date_updated, nothing else."""
    service = client.messaging.v1.services.create(friendly_name="Shop", validity_period=900)
    emulator.clock.advance(timedelta(minutes=5))
    updated = client.messaging.v1.services(service.sid).update(
        status_callback="https://app.example.com/status"
    )
    assert updated.status_callback == "https://app.example.com/status"
    assert updated.friendly_name == "Shop"
    assert updated.validity_period == 900
    assert updated.date_updated == service.date_updated + timedelta(minutes=5)


def test_update_with_empty_url_clears_it(client: Client) -> None:
    """An empty URL value clears the setting."""
    service = client.messaging.v1.services.create(
        friendly_name="Shop", inbound_request_url="https://app.example.com/in"
    )
    updated = client.messaging.v1.services(service.sid).update(inbound_request_url="")
    assert updated.inbound_request_url is None


def test_list_follows_absolute_next_page_urls(client: Client) -> None:
    """The client pages through every Service by following meta.next_page_url."""
    created = [client.messaging.v1.services.create(friendly_name=f"s{i}").sid for i in range(3)]
    listed = [service.sid for service in client.messaging.v1.services.list(page_size=2)]
    assert listed == created


def test_list_meta_points_at_the_emulator(emulator: RunningEmulator) -> None:
    """The meta envelope carries absolute URLs on the emulator's host and the records' key."""
    auth = (emulator.config.account_sid, emulator.config.auth_token)
    for name in ("a", "b"):
        call("POST", emulator.url("/v1/Services"), auth=auth, form={"FriendlyName": name})
    page = call("GET", emulator.url("/v1/Services?PageSize=1"), auth=auth).json
    assert page["meta"]["key"] == "services"
    assert page["meta"]["first_page_url"] == emulator.url("/v1/Services?PageSize=1&Page=0")
    assert page["meta"]["next_page_url"].startswith(emulator.url("/v1/Services?"))
    assert page["meta"]["previous_page_url"] is None
    assert [s["friendly_name"] for s in page["services"]] == ["a"]


def test_delete_then_fetch_is_20404(client: Client) -> None:
    """A deleted Service is gone: fetching it is 404/20404."""
    service = client.messaging.v1.services.create(friendly_name="Shop")
    assert client.messaging.v1.services(service.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services(service.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_another_accounts_service_is_not_found(
    emulator: RunningEmulator, client: Client, make_client: ClientFactory
) -> None:
    """A subaccount cannot see its parent's Service."""
    service = client.messaging.v1.services.create(friendly_name="Parent's")
    sub = client.api.v2010.accounts.create(friendly_name="child")
    sub_client = on_all_domains(make_client(sub.sid, sub.auth_token), emulator)
    with pytest.raises(TwilioRestException) as caught:
        sub_client.messaging.v1.services(service.sid).fetch()
    assert caught.value.code == 20404


def test_test_credentials_are_refused_with_20008(
    emulator: RunningEmulator, make_client: ClientFactory
) -> None:
    """Messaging Services do not accept test credentials (403/20008)."""
    test = emulator.state.test_credentials
    test_client = on_all_domains(make_client(test.account_sid, test.auth_token), emulator)
    with pytest.raises(TwilioRestException) as caught:
        test_client.messaging.v1.services.create(friendly_name="x")
    assert (caught.value.status, caught.value.code) == (403, 20008)


def test_add_number_renders_the_pool_resource(emulator: RunningEmulator, client: Client) -> None:
    """Adding a bought number returns it with country and capabilities."""
    number = seed_number(emulator, client, "US")
    service = client.messaging.v1.services.create(friendly_name="Shop")
    added = client.messaging.v1.services(service.sid).phone_numbers.create(
        phone_number_sid=number.sid
    )
    assert added.sid == number.sid
    assert added.service_sid == service.sid
    assert added.phone_number == number.phone_number
    assert added.country_code == "US"
    assert added.capabilities == ["MMS", "SMS", "Voice"]
    assert added.url == emulator.url(f"/v1/Services/{service.sid}/PhoneNumbers/{number.sid}")


def test_pool_lists_fetches_and_removes(emulator: RunningEmulator, client: Client) -> None:
    """The pool lists its numbers in order added; a removed one is gone, still bought."""
    first, second = (
        seed_number(emulator, client, "US"),
        seed_number(emulator, client, "GB", NumberKind.MOBILE),
    )
    service = client.messaging.v1.services.create(friendly_name="Shop")
    pool = client.messaging.v1.services(service.sid).phone_numbers
    pool.create(phone_number_sid=first.sid)
    pool.create(phone_number_sid=second.sid)
    assert [n.sid for n in pool.list()] == [first.sid, second.sid]
    assert pool(second.sid).fetch().country_code == "GB"
    assert pool(first.sid).delete() is True
    assert [n.sid for n in pool.list()] == [second.sid]
    assert PhoneNumbers(emulator.state).get(emulator.config.account_sid, first.sid) is not None


def test_number_in_another_service_is_21712(emulator: RunningEmulator, client: Client) -> None:
    """A number belongs to one Service at a time (400/21712)."""
    number = seed_number(emulator, client, "US")
    one = client.messaging.v1.services.create(friendly_name="one")
    two = client.messaging.v1.services.create(friendly_name="two")
    client.messaging.v1.services(one.sid).phone_numbers.create(phone_number_sid=number.sid)
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services(two.sid).phone_numbers.create(phone_number_sid=number.sid)
    assert (caught.value.status, caught.value.code) == (400, 21712)


def test_unknown_phone_number_sid_is_21421(client: Client) -> None:
    """A PhoneNumberSid the account does not own is 400/21421."""
    service = client.messaging.v1.services.create(friendly_name="Shop")
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services(service.sid).phone_numbers.create(
            phone_number_sid="PN" + "0" * 32
        )
    assert (caught.value.status, caught.value.code) == (400, 21421)


def test_voice_only_number_is_21715(emulator: RunningEmulator, client: Client) -> None:
    """A number with neither SMS nor MMS cannot join a pool (400/21715)."""
    landline = seed_number(emulator, client, "GB", NumberKind.LOCAL)
    service = client.messaging.v1.services.create(friendly_name="Shop")
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services(service.sid).phone_numbers.create(
            phone_number_sid=landline.sid
        )
    assert (caught.value.status, caught.value.code) == (400, 21715)


def test_unknown_pool_member_is_20404(client: Client) -> None:
    """Fetching a number that is not in the pool is 404/20404."""
    service = client.messaging.v1.services.create(friendly_name="Shop")
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.services(service.sid).phone_numbers("PN" + "1" * 32).fetch()
    assert caught.value.code == 20404


def test_released_number_leaves_the_pool(emulator: RunningEmulator, client: Client) -> None:
    """A number released from the account is no longer in any pool."""
    number = seed_number(emulator, client, "US")
    service = client.messaging.v1.services.create(friendly_name="Shop")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    PhoneNumbers(emulator.state).release(number)
    assert client.messaging.v1.services(service.sid).phone_numbers.list() == []


def _service_with(emulator: RunningEmulator, client: Client, *numbers: str) -> str:
    service = client.messaging.v1.services.create(friendly_name="pool")
    for sid in numbers:
        client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=sid)
    return str(service.sid)


def test_sender_for_prefers_the_recipients_country(
    emulator: RunningEmulator, client: Client
) -> None:
    """sender_for picks the pool's British number for a British recipient."""
    us, gb = (
        seed_number(emulator, client, "US"),
        seed_number(emulator, client, "GB", NumberKind.MOBILE),
    )
    sid = _service_with(emulator, client, us.sid, gb.sid)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    assert sender_for(emulator.state, service, "+447700900123") == gb.phone_number


def test_sender_for_uses_area_code_geomatch(emulator: RunningEmulator, client: Client) -> None:
    """With Area Code Geomatch (the default), a 212 recipient gets the 212 number."""
    sf = seed_number(emulator, client, "US", area_code="415")
    nyc = seed_number(emulator, client, "US", area_code="212")
    sid = _service_with(emulator, client, sf.sid, nyc.sid)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    assert sender_for(emulator.state, service, "+12125550123") == nyc.phone_number


def test_sender_for_remembers_the_sticky_sender(emulator: RunningEmulator, client: Client) -> None:
    """Once a number sent to a recipient, it keeps being used even after a better one joins."""
    us = seed_number(emulator, client, "US")
    sid = _service_with(emulator, client, us.sid)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    assert sender_for(emulator.state, service, "+447700900123") == us.phone_number
    gb = seed_number(emulator, client, "GB", NumberKind.MOBILE)
    client.messaging.v1.services(sid).phone_numbers.create(phone_number_sid=gb.sid)
    assert sender_for(emulator.state, service, "+447700900123") == us.phone_number


def test_removing_a_number_forgets_its_sticky_mappings(
    emulator: RunningEmulator, client: Client
) -> None:
    """Removing the sticky number from the pool deletes the recipient's mapping."""
    us, gb = (
        seed_number(emulator, client, "US"),
        seed_number(emulator, client, "GB", NumberKind.MOBILE),
    )
    sid = _service_with(emulator, client, us.sid)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    sender_for(emulator.state, service, "+447700900123")
    client.messaging.v1.services(sid).phone_numbers.create(phone_number_sid=gb.sid)
    client.messaging.v1.services(sid).phone_numbers(us.sid).delete()
    assert sticky_senders(emulator.state).lookup(sid, "+447700900123") is None
    assert sender_for(emulator.state, service, "+447700900123") == gb.phone_number


def test_sender_for_an_empty_pool_is_21704(emulator: RunningEmulator, client: Client) -> None:
    """A Service without numbers cannot send (400/21704)."""
    sid = _service_with(emulator, client)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    with pytest.raises(Exception, match="contains no phone numbers") as caught:
        sender_for(emulator.state, service, "+447700900123")
    assert getattr(caught.value, "code", None) == 21704


def test_sender_for_whatsapp_uses_a_registered_whatsapp_sender(
    emulator: RunningEmulator, client: Client
) -> None:
    """A whatsapp: recipient is sent from the pool's registered WhatsApp number."""
    plain, wa = seed_number(emulator, client, "US"), seed_number(emulator, client, "US")
    whatsapp_state(emulator.state).register_sender(emulator.config.account_sid, wa.phone_number)
    sid = _service_with(emulator, client, plain.sid, wa.sid)
    service = find_service(emulator.state, emulator.config.account_sid, sid)
    assert service is not None
    assert sender_for(emulator.state, service, "whatsapp:+447700900123") == (
        "whatsapp:" + wa.phone_number
    )
