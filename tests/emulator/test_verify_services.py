"""Verify Services, driven through the official twilio client and over plain HTTP."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.emulator.conftest import ClientFactory, RunningEmulator
from tests.emulator.rawhttp import call
from tests.emulator.verify_helpers import MOBILE, new_service, on_verify


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client, with the verify domain on the emulator."""
    return on_verify(twilio_client, emulator)


def test_create_renders_every_field_with_defaults(
    emulator: RunningEmulator, client: Client
) -> None:
    """A new Service has Verify's defaults, ISO dates and absolute URLs on the emulator."""
    service = client.verify.v2.services.create(friendly_name="Shop")
    assert service.sid.startswith("VA")
    assert service.account_sid == emulator.config.account_sid
    assert service.friendly_name == "Shop"
    assert service.code_length == 6
    assert service.dtmf_input_required is True
    assert (service.lookup_enabled, service.skip_sms_to_landlines) == (False, False)
    assert (service.custom_code_enabled, service.psd2_enabled) == (False, False)
    assert service.do_not_share_warning_enabled is False
    assert service.date_created == emulator.clock.now()
    assert service.url == emulator.url(f"/v2/Services/{service.sid}")
    assert service.links["verifications"] == emulator.url(
        f"/v2/Services/{service.sid}/Verifications"
    )
    assert service.links["verification_checks"] == emulator.url(
        f"/v2/Services/{service.sid}/VerificationCheck"
    )
    assert service.totp == {"issuer": None, "time_step": None, "code_length": None, "skew": None}


def test_create_takes_every_setting(client: Client) -> None:
    """Settings given at creation are stored and rendered, nested objects included."""
    service = client.verify.v2.services.create(
        friendly_name="Bank",
        code_length=8,
        lookup_enabled=True,
        skip_sms_to_landlines=True,
        dtmf_input_required=False,
        tts_name="Polly.Joanna",
        psd2_enabled=True,
        do_not_share_warning_enabled=True,
        custom_code_enabled=True,
        totp_issuer="Bank",
        totp_time_step=60,
        totp_code_length=8,
        totp_skew=0,
        whatsapp_from="+14155550123",
        passkeys_relying_party_origins="login.example.com,www.example.com",
        passkeys_user_verification="required",
    )
    fetched = client.verify.v2.services(service.sid).fetch()
    assert fetched.code_length == 8
    assert (fetched.lookup_enabled, fetched.skip_sms_to_landlines) == (True, True)
    assert fetched.dtmf_input_required is False
    assert fetched.tts_name == "Polly.Joanna"
    assert (fetched.psd2_enabled, fetched.custom_code_enabled) == (True, True)
    assert fetched.totp == {"issuer": "Bank", "time_step": 60, "code_length": 8, "skew": 0}
    assert fetched.whatsapp == {"msg_service_sid": None, "from": "whatsapp:+14155550123"}
    assert fetched.passkeys["relying_party"]["origins"] == ["login.example.com", "www.example.com"]
    assert fetched.passkeys["user_verification"] == "required"


def test_create_without_friendly_name_is_20001(emulator: RunningEmulator) -> None:
    """FriendlyName is required: Twilio's 400/20001 names it."""
    config = emulator.config
    reply = call(
        "POST",
        emulator.url("/v2/Services"),
        auth=(config.account_sid, config.auth_token),
        form={"CodeLength": "6"},
    )
    assert (reply.status, reply.json["code"]) == (400, 20001)
    assert "FriendlyName" in reply.json["message"]


@pytest.mark.parametrize("length", [3, 11])
def test_code_length_outside_4_to_10_is_60200(client: Client, length: int) -> None:
    """CodeLength must be 4 to 10: anything else is 400/60200 naming CodeLength."""
    with pytest.raises(TwilioRestException) as caught:
        client.verify.v2.services.create(friendly_name="Shop", code_length=length)
    assert (caught.value.status, caught.value.code) == (400, 60200)
    assert "Invalid parameter: CodeLength" in caught.value.msg


@pytest.mark.parametrize("name", ["A" * 31, "Shop 12345"])
def test_friendly_name_too_long_or_with_five_digits_is_60200(client: Client, name: str) -> None:
    """A name over 30 characters, or with more than 4 digits, is 400/60200."""
    with pytest.raises(TwilioRestException) as caught:
        client.verify.v2.services.create(friendly_name=name)
    assert (caught.value.status, caught.value.code) == (400, 60200)
    assert "Invalid parameter: FriendlyName" in caught.value.msg


def test_a_malformed_boolean_is_60200(emulator: RunningEmulator) -> None:
    """A boolean setting that is neither true nor false is refused, naming the parameter."""
    config = emulator.config
    reply = call(
        "POST",
        emulator.url("/v2/Services"),
        auth=(config.account_sid, config.auth_token),
        form={"FriendlyName": "Shop", "LookupEnabled": "yes"},
    )
    assert (reply.status, reply.json["code"]) == (400, 60200)
    assert reply.json["message"] == "Invalid parameter: LookupEnabled"


def test_a_refused_update_changes_nothing(client: Client) -> None:
    """Every setting is checked before any applies: a bad one leaves the Service as it was."""
    service = new_service(client)
    with pytest.raises(TwilioRestException):
        service.update(friendly_name="Renamed", code_length=2)
    assert service.fetch().friendly_name == "Shop"


def test_list_pages_in_the_meta_envelope_with_absolute_links(
    emulator: RunningEmulator, client: Client
) -> None:
    """Services page oldest first; the client follows the absolute next_page_url."""
    sids = [new_service(client, friendly_name=f"Shop {n}").sid for n in range(3)]
    listed = client.verify.v2.services.list(page_size=2)
    assert [service.sid for service in listed] == sids
    config = emulator.config
    page = call(
        "GET",
        emulator.url("/v2/Services?PageSize=2"),
        auth=(config.account_sid, config.auth_token),
    ).json
    assert page["meta"]["key"] == "services"
    assert page["meta"]["next_page_url"].startswith(emulator.url("/v2/Services?"))


def test_update_changes_only_what_is_given(emulator: RunningEmulator, client: Client) -> None:
    """An update keeps the other settings and moves date_updated."""
    service = new_service(client, code_length=8)
    emulator.clock.advance(60)
    updated = service.update(friendly_name="Shop EU")
    assert (updated.friendly_name, updated.code_length) == ("Shop EU", 8)
    assert updated.date_updated == emulator.clock.now()
    assert updated.date_created < updated.date_updated


def test_delete_removes_the_service_and_its_verifications(client: Client) -> None:
    """A deleted Service is 404/20404, and so are its verifications."""
    service = new_service(client)
    verification = service.verifications.create(to=MOBILE, channel="sms")
    assert service.delete() is True
    with pytest.raises(TwilioRestException) as caught:
        service.fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException):
        service.verifications(verification.sid).fetch()


def test_another_accounts_service_is_not_found(
    emulator: RunningEmulator, client: Client, make_client: ClientFactory
) -> None:
    """A subaccount cannot see its parent's Service."""
    service = new_service(client)
    sub = client.api.v2010.accounts.create(friendly_name="Other")
    other = on_verify(make_client(sub.sid, sub.auth_token), emulator)
    with pytest.raises(TwilioRestException) as caught:
        other.verify.v2.services(service.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_test_credentials_are_refused_with_20008(
    emulator: RunningEmulator, make_client: ClientFactory
) -> None:
    """Verify does not accept test credentials: 403/20008, as every non-test resource."""
    test = emulator.state.test_credentials
    client = on_verify(make_client(test.account_sid, test.auth_token), emulator)
    with pytest.raises(TwilioRestException) as caught:
        client.verify.v2.services.create(friendly_name="Shop")
    assert (caught.value.status, caught.value.code) == (403, 20008)
