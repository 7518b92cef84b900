"""Events reach applications in one stable envelope, with JSON-ready data per type."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from herald.domain import events
from herald.domain.events import (
    EventType,
    encode_event,
    envelope,
    iso8601,
    message_inbound_data,
    message_status_changed_data,
    opt_out_changed_data,
)
from herald.domain.keywords import classify
from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import OptOutSource

AT = datetime(2030, 1, 31, 8, 0, 0, 123456, tzinfo=UTC)


def _status_changed(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "message_id": "msg_01",
        "channel": Channel.SMS,
        "to": "+31612345678",
        "from_": "+3197010000000",
        "status": Status.DELIVERED,
        "previous_status": Status.SENT,
        "occurred_at": AT,
    }
    fields.update(overrides)
    return message_status_changed_data(**fields)  # type: ignore[arg-type]


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(events.__all__) == [
        "EventType",
        "encode_event",
        "envelope",
        "iso8601",
        "message_inbound_data",
        "message_status_changed_data",
        "opt_out_changed_data",
        "verification_data",
    ]
    assert all(hasattr(events, name) for name in events.__all__)


def test_event_types_have_their_documented_names() -> None:
    """The type strings applications filter on are fixed."""
    assert {event_type.value for event_type in EventType} == {
        "message.status_changed",
        "message.inbound",
        "opt_out.changed",
        "verification.approved",
        "verification.failed",
        "verification.throttled",
    }


def test_iso8601_is_utc_with_milliseconds_and_z() -> None:
    """Times are written in UTC, to the millisecond, ending in Z."""
    assert iso8601(AT) == "2030-01-31T08:00:00.123Z"


def test_iso8601_converts_other_offsets_to_utc() -> None:
    """A time given in another zone is written as the same instant in UTC."""
    amsterdam = AT.astimezone(timezone(timedelta(hours=1)))
    assert iso8601(amsterdam) == "2030-01-31T08:00:00.123Z"


def test_iso8601_refuses_a_naive_time() -> None:
    """A time without a zone is a bug, never guessed at."""
    with pytest.raises(ValueError, match="time zone"):
        iso8601(datetime(2030, 1, 31, 8, 0))  # noqa: DTZ001 - the naive time is the point


def test_envelope_has_id_type_created_at_and_data() -> None:
    """Every event has the same four top-level members."""
    event = envelope("evt_1", EventType.OPT_OUT_CHANGED, AT, {"a": 1})
    assert event == {
        "id": "evt_1",
        "type": "opt_out.changed",
        "created_at": "2030-01-31T08:00:00.123Z",
        "data": {"a": 1},
    }


def test_envelope_copies_its_data() -> None:
    """Changing the data afterwards does not change the built event."""
    data = {"a": 1}
    event = envelope("evt_1", EventType.OPT_OUT_CHANGED, AT, data)
    data["a"] = 2
    assert event["data"] == {"a": 1}


def test_encoded_event_is_compact_utf8_json() -> None:
    """The posted bytes are compact JSON, non-ASCII text kept as UTF-8."""
    body = encode_event(envelope("evt_1", EventType.MESSAGE_INBOUND, AT, {"body": "Arrêt"}))
    assert b" " not in body.replace(b"Arr\xc3\xaat", b"")
    assert "Arrêt".encode() in body
    assert json.loads(body)["data"]["body"] == "Arrêt"


def test_encoded_event_keeps_member_order() -> None:
    """The envelope's members come in the documented order: id, type, created_at, data."""
    body = encode_event(envelope("evt_1", EventType.MESSAGE_INBOUND, AT, {}))
    assert body.startswith(b'{"id":"evt_1","type":"message.inbound","created_at":')


def test_status_changed_data_has_its_documented_shape() -> None:
    """`message.status_changed` carries the message, both statuses and the error fields."""
    data = _status_changed(metadata={"order": "A-17"})
    assert data == {
        "message_id": "msg_01",
        "channel": "sms",
        "to": "+31612345678",
        "from": "+3197010000000",
        "status": "delivered",
        "previous_status": "sent",
        "final": True,
        "error_code": None,
        "error_message": None,
        "provider_sid": None,
        "occurred_at": "2030-01-31T08:00:00.123Z",
        "metadata": {"order": "A-17"},
    }


def test_status_changed_data_says_when_the_status_is_not_final() -> None:
    """`final` is False while the message can still move on."""
    assert _status_changed(status=Status.SENT, previous_status=Status.QUEUED)["final"] is False


def test_status_changed_data_carries_the_provider_error() -> None:
    """An undelivered message's event carries Twilio's code and message."""
    data = _status_changed(
        status=Status.UNDELIVERED, error_code=30003, error_message="Unreachable handset"
    )
    assert (data["error_code"], data["error_message"]) == (30003, "Unreachable handset")


def test_status_changed_metadata_defaults_to_empty() -> None:
    """A message without metadata has `{}`, never null."""
    assert _status_changed()["metadata"] == {}


def test_inbound_data_reports_the_keyword() -> None:
    """`message.inbound` says which keyword the message was, in which language."""
    data = message_inbound_data(
        message_id="in_1",
        channel=Channel.SMS,
        from_="+31612345678",
        to="+3197010000000",
        body="Stop",
        received_at=AT,
        keyword=classify("Stop", preferred_language="nl"),
    )
    assert data["keyword"] == {"kind": "opt_out", "keyword": "STOP", "language": "nl"}


def test_inbound_data_without_keyword_has_kind_none() -> None:
    """An ordinary message is reported with keyword kind `none`."""
    data = message_inbound_data(
        message_id="in_1",
        channel=Channel.WHATSAPP,
        from_="whatsapp:+31612345678",
        to="whatsapp:+14155238886",
        body="Hello",
        received_at=AT,
    )
    assert data["keyword"] == {"kind": "none", "keyword": None, "language": None}


def test_inbound_data_lists_media_with_content_types() -> None:
    """Each attachment is reported with its URL and content type only."""
    data = message_inbound_data(
        message_id="in_1",
        channel=Channel.SMS,
        from_="+31612345678",
        to="+3197010000000",
        body="",
        received_at=AT,
        media=[{"url": "https://x/1", "content_type": "image/png", "sid": "ME1"}],
    )
    assert data["media"] == [{"url": "https://x/1", "content_type": "image/png"}]


def test_opt_out_changed_data_has_its_documented_shape() -> None:
    """`opt_out.changed` says who, on which channel, which way, how and when."""
    data = opt_out_changed_data(
        channel=Channel.SMS,
        address="+31612345678",
        opted_out=True,
        source=OptOutSource.KEYWORD,
        keyword="STOP",
        changed_at=AT,
    )
    assert data == {
        "channel": "sms",
        "address": "+31612345678",
        "opted_out": True,
        "source": "keyword",
        "keyword": "STOP",
        "changed_at": "2030-01-31T08:00:00.123Z",
    }


def test_every_payload_is_json_ready() -> None:
    """Each builder's output survives a JSON round trip unchanged."""
    payloads = [
        _status_changed(metadata={"nested": {"list": [1, 2]}}),
        opt_out_changed_data(
            channel=Channel.WHATSAPP,
            address="whatsapp:+31612345678",
            opted_out=False,
            source=OptOutSource.API,
            changed_at=AT,
        ),
    ]
    for payload in payloads:
        assert json.loads(json.dumps(payload)) == payload


def test_verification_data_carries_no_code() -> None:
    """`verification.*` data names the verification, number and outcome, and nothing else."""
    data = events.verification_data(
        verification_id="vfy_01",
        channel="sms",
        to="+31612345678",
        status="expired",
        reason="expired",
        occurred_at=AT,
    )
    assert data == {
        "verification_id": "vfy_01",
        "channel": "sms",
        "to": "+31612345678",
        "status": "expired",
        "reason": "expired",
        "occurred_at": "2030-01-31T08:00:00.123Z",
    }
