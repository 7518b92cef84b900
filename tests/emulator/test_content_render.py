"""Rendering Content templates: placeholders, defaults, and the 21656 errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from herald.emulator.content_templates import (
    CONTENT_VARIABLES_INVALID,
    INVALID_PARAMETER,
    ContentTemplate,
    TemplateError,
    WhatsAppApproval,
    drop_nulls,
    parse_content_variables,
    placeholders,
    render,
    render_media,
    validate_types,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def template(types: dict[str, Any], variables: dict[str, str] | None = None) -> ContentTemplate:
    return ContentTemplate(
        sid="HX" + "a" * 32,
        account_sid="AC" + "b" * 32,
        friendly_name="order_update",
        language="en",
        variables=variables or {},
        types=types,
        date_created=T0,
        date_updated=T0,
        approval=WhatsAppApproval(name="order_update", category="UTILITY"),
    )


def test_numbered_placeholders_take_the_given_values() -> None:
    """`{{1}}` and `{{2}}` are replaced by the ContentVariables values."""
    t = template({"twilio/text": {"body": "Hi {{1}}, order {{2}} shipped"}})
    assert render(t, '{"1": "Ada", "2": "#42"}') == "Hi Ada, order #42 shipped"


def test_named_placeholders_take_the_given_values() -> None:
    """Named placeholders such as `{{name}}` are filled like numbered ones."""
    t = template({"twilio/text": {"body": "Hello {{ name }}!"}})
    assert render(t, '{"name": "Grace"}') == "Hello Grace!"


def test_missing_value_falls_back_to_the_default() -> None:
    """A placeholder without a value uses the template's default variable."""
    t = template({"twilio/text": {"body": "Hi {{1}}, see you {{2}}"}}, {"2": "soon"})
    assert render(t, '{"1": "Ada"}') == "Hi Ada, see you soon"


def test_given_value_overrides_the_default() -> None:
    """A value in ContentVariables wins over the template's default."""
    t = template({"twilio/text": {"body": "Hi {{1}}"}}, {"1": "there"})
    assert render(t, '{"1": "Ada"}') == "Hi Ada"


def test_no_content_variables_renders_from_defaults() -> None:
    """Without ContentVariables every placeholder takes its default."""
    t = template({"twilio/text": {"body": "Hi {{1}}"}}, {"1": "there"})
    assert render(t, None) == "Hi there"


def test_missing_variable_without_default_is_21656() -> None:
    """A placeholder with neither value nor default is refused with 21656, naming it."""
    t = template({"twilio/text": {"body": "Code {{code}}"}})
    with pytest.raises(TemplateError) as caught:
        render(t, "{}")
    assert caught.value.code == CONTENT_VARIABLES_INVALID
    assert "{{code}}" in caught.value.message


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', '{"1": null}', '{"1": ""}'])
def test_malformed_content_variables_are_21656(raw: str) -> None:
    """ContentVariables that is not a JSON object of non-empty values is refused with 21656."""
    with pytest.raises(TemplateError) as caught:
        parse_content_variables(raw)
    assert caught.value.code == CONTENT_VARIABLES_INVALID


def test_numeric_values_are_rendered_as_text() -> None:
    """A JSON number value is used as its decimal text."""
    assert parse_content_variables('{"1": 42}') == {"1": "42"}


def test_placeholders_lists_each_name_once_in_order() -> None:
    """The names a text refers to are listed once each, first appearance first."""
    assert placeholders("{{2}} {{1}} {{2}} {{}} {{x}") == ["2", "1"]


def test_media_template_body_and_urls_are_rendered() -> None:
    """A twilio/media template yields its body and its URLs with placeholders filled."""
    t = template({"twilio/media": {"body": "Receipt {{1}}", "media": ["https://x.test/{{1}}.pdf"]}})
    assert render(t, '{"1": "R7"}') == "Receipt R7"
    assert render_media(t, '{"1": "R7"}') == ("https://x.test/R7.pdf",)


def test_text_type_is_preferred_for_the_body() -> None:
    """With several types, the twilio/text body is the message text."""
    t = template(
        {
            "twilio/quick-reply": {"body": "Pick one", "actions": [{"title": "Yes"}]},
            "twilio/text": {"body": "Reply YES"},
        }
    )
    assert render(t, None) == "Reply YES"


def test_client_nulls_are_dropped_from_types() -> None:
    """The official client's null members (unset types and fields) count as absent."""
    raw = {"twilio/text": {"body": "hi"}, "twilio/media": None, "twilio/location": None}
    assert validate_types(raw) == {"twilio/text": {"body": "hi"}}
    assert drop_nulls({"a": [{"b": None, "c": 1}]}) == {"a": [{"c": 1}]}


@pytest.mark.parametrize(
    "types",
    [
        {},
        {"twilio/text": {}},
        {"twilio/media": {"body": "no media"}},
        {"twilio/quick-reply": {"body": "b", "actions": []}},
        {"twilio/location": {"latitude": "north", "longitude": 1.0}},
        {"acme/fax": {"body": "x"}},
    ],
)
def test_invalid_types_are_refused(types: dict[str, Any]) -> None:
    """Missing, malformed or unknown content types are refused with 20001."""
    with pytest.raises(TemplateError) as caught:
        validate_types(types)
    assert caught.value.code == INVALID_PARAMETER
