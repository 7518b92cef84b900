"""The Content API (templates) through the official twilio client, and its use by Messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from herald.emulator.content import content_for_message
from herald.emulator.errors import TwilioError
from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import call
from tests.emulator.v1clients import on_all_domains

GREETING: dict[str, Any] = {
    "friendly_name": "Order Update",
    "language": "en",
    "variables": {"1": "there", "2": "soon"},
    "types": {"twilio/text": {"body": "Hi {{1}}, your order ships {{2}}."}},
}


@pytest.fixture
def client(emulator: RunningEmulator, twilio_client: Client) -> Client:
    """The main account's client, with the content domain on the emulator."""
    return on_all_domains(twilio_client, emulator)


def create(client: Client, payload: dict[str, Any] = GREETING) -> Any:
    """Create a template through the official client."""
    return client.content.v1.contents.create(ContentList.ContentCreateRequest(payload))


def test_create_renders_the_template(emulator: RunningEmulator, client: Client) -> None:
    """A created template echoes its fields, with ISO dates and links on the emulator."""
    content = create(client)
    assert content.sid.startswith("HX")
    assert content.account_sid == emulator.config.account_sid
    assert content.friendly_name == "Order Update"
    assert content.language == "en"
    assert content.variables == {"1": "there", "2": "soon"}
    assert content.types == {"twilio/text": {"body": "Hi {{1}}, your order ships {{2}}."}}
    assert content.date_created == emulator.clock.now()
    assert content.url == emulator.url(f"/v1/Content/{content.sid}")
    assert content.links["approval_fetch"] == emulator.url(
        f"/v1/Content/{content.sid}/ApprovalRequests"
    )


def test_media_and_quick_reply_types_are_kept(client: Client) -> None:
    """twilio/media and twilio/quick-reply templates keep their fields, without client nulls."""
    content = create(
        client,
        {
            "language": "en",
            "types": {
                "twilio/media": {"body": "Receipt", "media": ["https://x.test/r.pdf"]},
                "twilio/quick-reply": {
                    "body": "Happy?",
                    "actions": [{"title": "Yes", "id": "yes"}, {"title": "No", "id": "no"}],
                },
            },
        },
    )
    assert content.types["twilio/media"] == {"body": "Receipt", "media": ["https://x.test/r.pdf"]}
    assert content.types["twilio/quick-reply"]["actions"][1] == {"title": "No", "id": "no"}
    assert content.friendly_name == ""


def test_create_without_language_is_20001(emulator: RunningEmulator) -> None:
    """`language` is required: 400/20001 names it."""
    reply = call(
        "POST",
        emulator.url("/v1/Content"),
        auth=(emulator.config.account_sid, emulator.config.auth_token),
        body=json.dumps({"types": {"twilio/text": {"body": "x"}}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert (reply.status, reply.json["code"]) == (400, 20001)
    assert "language" in reply.json["message"]


def test_create_with_a_form_body_is_refused(emulator: RunningEmulator) -> None:
    """The Content API takes JSON; a form body is a 400."""
    reply = call(
        "POST",
        emulator.url("/v1/Content"),
        auth=(emulator.config.account_sid, emulator.config.auth_token),
        form={"language": "en"},
    )
    assert (reply.status, reply.json["code"]) == (400, 20001)


def test_list_fetch_update_delete(emulator: RunningEmulator, client: Client) -> None:
    """Templates list in creation order, update in place, and disappear when deleted."""
    first, second = create(client), create(client)
    assert [c.sid for c in client.content.v1.contents.list(page_size=1)] == [first.sid, second.sid]
    updated = client.content.v1.contents(first.sid).update(
        ContentList.ContentUpdateRequest({"types": {"twilio/text": {"body": "Bye {{1}}"}}})
    )
    assert updated.types == {"twilio/text": {"body": "Bye {{1}}"}}
    assert updated.friendly_name == "Order Update"
    assert client.content.v1.contents(first.sid).fetch().types == updated.types
    assert client.content.v1.contents(first.sid).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.content.v1.contents(first.sid).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_templates_are_approved_for_whatsapp_by_default(client: Client) -> None:
    """A new template's WhatsApp approval is `approved`, named after its friendly name."""
    content = create(client)
    approval = client.content.v1.contents(content.sid).approval_fetch().fetch()
    assert approval.whatsapp["status"] == "approved"
    assert approval.whatsapp["name"] == "order_update"
    assert approval.whatsapp["content_type"] == "twilio/text"


def test_submitting_for_approval_is_approved_at_once(client: Client) -> None:
    """A WhatsApp approval request answers `approved` with the given name and category."""
    content = create(client)
    request = ApprovalCreateList.ContentApprovalRequest(
        {"name": "order_update_v2", "category": "MARKETING"}
    )
    created = client.content.v1.contents(content.sid).approval_create.create(request)
    assert (created.name, created.category, created.status) == (
        "order_update_v2",
        "MARKETING",
        "approved",
    )


def test_control_marks_a_template_rejected(emulator: RunningEmulator, client: Client) -> None:
    """The control API sets a rejection, which approval requests and Messages then see."""
    content = create(client)
    reply = call(
        "POST",
        emulator.url(f"/_emulator/content/{content.sid}/approval"),
        body=json.dumps({"status": "rejected", "rejection_reason": "Spam"}).encode(),
        headers={"Content-Type": "application/json"},
        validate=False,
    )
    assert reply.status == 200
    approval = client.content.v1.contents(content.sid).approval_fetch().fetch()
    assert (approval.whatsapp["status"], approval.whatsapp["rejection_reason"]) == (
        "rejected",
        "Spam",
    )
    message = content_for_message(
        emulator.state, emulator.config.account_sid, content.sid, '{"1": "Ada"}'
    )
    assert message is not None
    assert not message.whatsapp_approved


def test_content_for_message_renders_values_and_defaults(
    emulator: RunningEmulator, client: Client
) -> None:
    """Messages get the text with given values and the template's defaults filled in."""
    content = create(client)
    message = content_for_message(
        emulator.state, emulator.config.account_sid, content.sid, '{"1": "Ada"}'
    )
    assert message is not None
    assert message.body == "Hi Ada, your order ships soon."
    assert message.whatsapp_approved


def test_content_for_message_without_template_is_none(emulator: RunningEmulator) -> None:
    """Without ContentSid and ContentVariables there is no template part."""
    assert content_for_message(emulator.state, emulator.config.account_sid, None, None) is None


@pytest.mark.parametrize(
    ("content_sid", "variables", "code"),
    [
        (None, '{"1": "Ada"}', 21654),
        ("HX" + "0" * 32, None, 21655),
        ("own", "not json", 21656),
    ],
)
def test_content_for_message_errors(
    emulator: RunningEmulator,
    client: Client,
    content_sid: str | None,
    variables: str | None,
    code: int,
) -> None:
    """Variables without a template, an unknown template, bad variables: 400 with Twilio's code."""
    own = create(client).sid
    with pytest.raises(TwilioError) as caught:
        content_for_message(
            emulator.state,
            emulator.config.account_sid,
            own if content_sid == "own" else content_sid,
            variables,
        )
    assert (caught.value.status, caught.value.code) == (400, code)
