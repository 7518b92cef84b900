"""The OpenAPI validator the emulator tests rely on: it must be able to fail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.openapi import assert_response, assert_twilio_error, load_spec

KEY = "/2010-04-01/Accounts/AC" + "a" * 32 + "/Keys/SK" + "b" * 32 + ".json"


def _key(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sid": "SK" + "b" * 32,
        "friendly_name": "k",
        "date_created": "Mon, 13 Jun 2016 22:50:08 +0000",
        "date_updated": "Mon, 13 Jun 2016 22:50:08 +0000",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def test_a_conforming_body_passes() -> None:
    """A body with every field of the schema, null allowed where nullable, passes."""
    assert_response("GET", KEY, 200, _key(friendly_name=None))


def test_missing_field_fails_in_strict_mode() -> None:
    """Strict mode requires every documented field."""
    with pytest.raises(AssertionError, match="date_updated"):
        assert_response("GET", KEY, 200, _key(date_updated=...))


def test_extra_field_fails_in_strict_mode() -> None:
    """Strict mode refuses fields the schema does not document (a key's secret, here)."""
    with pytest.raises(AssertionError, match="secret"):
        assert_response("GET", KEY, 200, _key(secret="s"))


def test_wrong_pattern_fails() -> None:
    """Referenced patterns are enforced (a key SID must start with SK)."""
    with pytest.raises(AssertionError, match="sid"):
        assert_response("GET", KEY, 200, _key(sid="XX" + "b" * 32))


def test_undocumented_success_status_fails() -> None:
    """A success status the spec does not document for the operation fails."""
    with pytest.raises(AssertionError, match="documents 200"):
        assert_response("GET", KEY, 201, _key())


def test_other_specs_validate_their_envelopes() -> None:
    """The same helper validates a Messaging v1 list with its `meta` envelope."""
    url = "https://emulator.test/v1/Services?PageSize=50&Page=0"
    meta: dict[str, Any] = {
        "page": 0,
        "page_size": 50,
        "first_page_url": url,
        "previous_page_url": None,
        "url": url,
        "next_page_url": None,
        "key": "services",
    }
    body = {"services": [], "meta": meta}
    assert load_spec("twilio_messaging_v1").operation("GET", "/v1/Services")[0] == "/v1/Services"
    assert_response("GET", url, 200, body)
    with pytest.raises(AssertionError, match="key"):
        assert_response("GET", url, 200, {**body, "meta": {**meta, "key": 1}})


def test_error_shape_is_checked() -> None:
    """An error body must be exactly Twilio's four keys, agreeing with the HTTP status."""
    good = {
        "code": 20404,
        "message": "The requested resource /x was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    assert_twilio_error(404, good, 20404)
    with pytest.raises(AssertionError):
        assert_twilio_error(400, good)
    with pytest.raises(AssertionError):
        assert_twilio_error(404, {**good, "extra": 1})
