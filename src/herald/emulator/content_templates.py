"""Content API templates: the resource, its validation, and rendering a message from it.

A Content resource (`HX…`) holds one or more *types* (`twilio/text`, `twilio/media`,
`twilio/quick-reply`, …) whose strings may carry `{{1}}` or `{{name}}` placeholders, plus a
`variables` map of defaults. Sending a message with `ContentSid` and a `ContentVariables` JSON
string fills the placeholders: a value given in `ContentVariables` wins, the template's default
is used otherwise (TWILIO-API.md §4). Twilio rejects the send with 21656 when `ContentVariables`
is not a JSON object or gives a null or empty value, and asks that every variable be defined at
send time (https://www.twilio.com/docs/api/errors/21656); the emulator therefore also answers
21656 when a placeholder has neither a value nor a default.

Nothing here does I/O: the HTTP side is `herald.emulator.content`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from herald.emulator.errors import TwilioError

CONTENT_VARIABLES_INVALID = 21656
CONTENT_SID_INVALID = 21655
INVALID_PARAMETER = 20001

APPROVED = "approved"
REJECTED = "rejected"
APPROVAL_STATUSES = frozenset(
    {"unsubmitted", "received", "pending", APPROVED, REJECTED, "paused", "disabled"}
)

# Every content type the Content API accepts (spec schema `types`). The first four are checked
# field by field; the others are kept as given, since the emulator only needs their text.
CHECKED_TYPES = ("twilio/text", "twilio/media", "twilio/quick-reply", "twilio/location")
OTHER_TYPES = (
    "twilio/list-picker",
    "twilio/call-to-action",
    "twilio/card",
    "twilio/catalog",
    "twilio/carousel",
    "twilio/flows",
    "twilio/schedule",
    "whatsapp/card",
    "whatsapp/authentication",
    "whatsapp/flows",
)
KNOWN_TYPES = CHECKED_TYPES + OTHER_TYPES

# Which type supplies the message text when several are present: the plain ones first, as
# Twilio falls back to them on channels that cannot show rich types.
_BODY_PREFERENCE = (
    "twilio/text",
    "twilio/media",
    "twilio/quick-reply",
    "twilio/call-to-action",
    "twilio/list-picker",
    "twilio/card",
    "whatsapp/card",
)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


class TemplateError(TwilioError):
    """A request about a template that Twilio refuses with `code` and HTTP 400."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(400, code, message)


@dataclasses.dataclass(slots=True)
class WhatsAppApproval:
    """The WhatsApp approval state of a template.

    The emulator approves every template at creation, so templates work outside the 24-hour
    window without a review round-trip; the control API can mark one rejected to test that path.
    """

    name: str
    category: str
    status: str = APPROVED
    rejection_reason: str = ""
    allow_category_change: bool = True


@dataclasses.dataclass(slots=True)
class ContentTemplate:
    """One Content resource as the emulator stores it."""

    sid: str
    account_sid: str
    friendly_name: str
    language: str
    variables: dict[str, str]
    types: dict[str, dict[str, Any]]
    date_created: datetime
    date_updated: datetime
    approval: WhatsAppApproval

    @property
    def content_type(self) -> str:
        """The template's main type, as shown in approval records."""
        return next(iter(self.types))

    @property
    def whatsapp_approved(self) -> bool:
        """Whether WhatsApp would deliver this template outside the customer's window."""
        return self.approval.status == APPROVED


def drop_nulls(value: Any) -> Any:
    """`value` without null object members, recursively.

    The official Python client serialises every unset field of a content type as `null`
    (`ContentList.Types.to_dict()` lists all fourteen types), so nulls mean "absent".
    """
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def _require_str(type_name: str, body: Mapping[str, Any], field: str) -> None:
    if not isinstance(body.get(field), str):
        raise TemplateError(INVALID_PARAMETER, f"Invalid parameter: types.{type_name}.{field}")


def _check_type(type_name: str, body: Mapping[str, Any]) -> None:
    if type_name == "twilio/text":
        _require_str(type_name, body, "body")
    elif type_name == "twilio/media":
        media = body.get("media")
        if not (isinstance(media, list) and media and all(isinstance(u, str) for u in media)):
            raise TemplateError(
                INVALID_PARAMETER, "Invalid parameter: types.twilio/media.media must list URLs"
            )
        if "body" in body:
            _require_str(type_name, body, "body")
    elif type_name == "twilio/quick-reply":
        _require_str(type_name, body, "body")
        actions = body.get("actions")
        if not (
            isinstance(actions, list)
            and actions
            and all(isinstance(a, dict) and isinstance(a.get("title"), str) for a in actions)
        ):
            raise TemplateError(
                INVALID_PARAMETER,
                "Invalid parameter: types.twilio/quick-reply.actions must each have a title",
            )
    elif type_name == "twilio/location":
        for field in ("latitude", "longitude"):
            if isinstance(body.get(field), bool) or not isinstance(body.get(field), int | float):
                raise TemplateError(
                    INVALID_PARAMETER, f"Invalid parameter: types.twilio/location.{field}"
                )


def validate_types(raw: Any) -> dict[str, dict[str, Any]]:
    """The `types` of a create request, checked; raises TemplateError (20001) otherwise."""
    if not isinstance(raw, dict):
        raise TemplateError(INVALID_PARAMETER, "Missing required parameter types")
    types: dict[str, dict[str, Any]] = drop_nulls(raw)
    if not types:
        raise TemplateError(INVALID_PARAMETER, "Missing required parameter types")
    for type_name, body in types.items():
        if type_name not in KNOWN_TYPES:
            raise TemplateError(INVALID_PARAMETER, f"Invalid parameter: unknown type {type_name}")
        if not isinstance(body, dict):
            raise TemplateError(INVALID_PARAMETER, f"Invalid parameter: types.{type_name}")
        _check_type(type_name, body)
    return types


def validate_defaults(raw: Any) -> dict[str, str]:
    """The `variables` (defaults) of a create request: an object of strings, or absent."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in raw.items()
    ):
        raise TemplateError(
            INVALID_PARAMETER, "Invalid parameter: variables must map names to strings"
        )
    return dict(raw)


def parse_content_variables(raw: str | None) -> dict[str, str]:
    """The `ContentVariables` form value of a Messages create, as a name → value map.

    Raises TemplateError 21656 for anything but a JSON object whose values are non-empty
    strings or numbers.
    """
    if raw is None or raw == "":
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise TemplateError(
            CONTENT_VARIABLES_INVALID,
            "The ContentVariables Parameter is invalid: it must be a JSON object string",
        ) from None
    if not isinstance(parsed, dict):
        raise TemplateError(
            CONTENT_VARIABLES_INVALID,
            "The ContentVariables Parameter is invalid: it must be a JSON object string",
        )
    values: dict[str, str] = {}
    for name, value in parsed.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise TemplateError(
                CONTENT_VARIABLES_INVALID,
                f"The ContentVariables Parameter is invalid: variable {name!r} is null or empty",
            )
        values[name] = str(value)
    return values


def placeholders(text: str) -> list[str]:
    """The variable names a text refers to, in order of appearance, without repeats."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text)))


def substitute(text: str, values: Mapping[str, str], defaults: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value, else its default.

    Raises TemplateError 21656 naming the first placeholder that has neither.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name in defaults:
            return defaults[name]
        raise TemplateError(
            CONTENT_VARIABLES_INVALID,
            "The ContentVariables Parameter is invalid: no value and no default for "
            f"{{{{{name}}}}}",
        )

    return _PLACEHOLDER.sub(replace, text)


def _body_template(template: ContentTemplate) -> str:
    for type_name in _BODY_PREFERENCE:
        body = template.types.get(type_name, {})
        text = body.get("body", body.get("title"))
        if isinstance(text, str):
            return text
    for body in template.types.values():
        if isinstance(body.get("body"), str):
            return str(body["body"])
    return ""


def render(template: ContentTemplate, content_variables: str | None) -> str:
    """The message text a send with this template and `ContentVariables` JSON produces."""
    values = parse_content_variables(content_variables)
    return substitute(_body_template(template), values, template.variables)


def render_media(template: ContentTemplate, content_variables: str | None) -> tuple[str, ...]:
    """The media URLs of a `twilio/media` template, placeholders filled (empty if none)."""
    values = parse_content_variables(content_variables)
    media = template.types.get("twilio/media", {}).get("media", [])
    return tuple(substitute(str(url), values, template.variables) for url in media)
