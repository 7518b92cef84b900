"""The Content API (`https://content.twilio.com/v1/Content`): templates for Messages.

Routes: create (`POST /v1/Content`, a **JSON** body, 201), list, fetch, update (`PUT`, JSON),
delete (204); WhatsApp approval: `GET /v1/Content/{Sid}/ApprovalRequests` and
`POST /v1/Content/{Sid}/ApprovalRequests/whatsapp` (JSON `{name, category}`, 201).

Approval is instant in the emulator: every template is `approved` for WhatsApp from its creation
(so it can be sent outside the 24-hour window without a review round-trip), and a submission
answers `approved` at once. To test the other path, the control API sets any status:
`POST /_emulator/content/{Sid}/approval` with JSON `{"status": "rejected",
"rejection_reason": "…"}`.

Messages uses `content_for_message()`: it resolves `ContentSid`, checks `ContentVariables` and
returns the rendered text and media (template rules in `herald.emulator.content_templates`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.content_templates import (
    APPROVAL_STATUSES,
    CONTENT_SID_INVALID,
    ContentTemplate,
    TemplateError,
    WhatsAppApproval,
    render,
    render_media,
    validate_defaults,
    validate_types,
)
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.routing import RequestContext, emulator_of
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import absolute_url, paginate_meta, product_route, read_json
from herald.emulator.wire import iso8601, json_response

CONTENT_PATH: Final = "/v1/Content"
CONTENT_SID_REQUIRED: Final = 21654
WHATSAPP_CATEGORIES: Final = ("UTILITY", "MARKETING", "AUTHENTICATION")
# WhatsApp template names: lower-case letters, digits and underscores (Meta's naming rule).
_TEMPLATE_NAME: Final = re.compile(r"[a-z0-9_]{1,512}")
_NOT_NAME_CHARACTERS: Final = re.compile(r"[^a-z0-9_]+")

CONTENTS: StoreKey[ContentTemplate] = StoreKey("contents")


@dataclasses.dataclass(frozen=True, slots=True)
class MessageContent:
    """What a Messages create with `ContentSid` sends: the text, media and approval state."""

    content_sid: str
    body: str
    media_urls: tuple[str, ...]
    whatsapp_approved: bool


def find_content(state: EmulatorState, account_sid: str, sid: str) -> ContentTemplate | None:
    """The template `sid` if `account_sid` owns it."""
    template = state.store(CONTENTS).get(sid)
    return template if template is not None and template.account_sid == account_sid else None


def content_for_message(
    state: EmulatorState,
    account_sid: str,
    content_sid: str | None,
    content_variables: str | None,
) -> MessageContent | None:
    """The template part of a Messages create, checked as Twilio checks it (all HTTP 400).

    None when the request has neither `ContentSid` nor `ContentVariables`. `ContentVariables`
    without `ContentSid` is 21654, a `ContentSid` the account does not have 21655, and
    malformed variables or a placeholder with neither value nor default 21656
    (twilio.com/docs/api/errors/21654, …/21655, …/21656).
    """
    if content_sid is None:
        if content_variables is not None:
            raise TemplateError(
                CONTENT_SID_REQUIRED,
                "A ContentSid must be specified if ContentVariables are provided in the request",
            )
        return None
    template = find_content(state, account_sid, content_sid)
    if template is None:
        raise TemplateError(CONTENT_SID_INVALID, "The ContentSid is Invalid")
    return MessageContent(
        content_sid=template.sid,
        body=render(template, content_variables),
        media_urls=render_media(template, content_variables),
        whatsapp_approved=template.whatsapp_approved,
    )


def default_template_name(friendly_name: str, sid: str) -> str:
    """A WhatsApp-valid template name derived from the friendly name (or the SID)."""
    name = _NOT_NAME_CHARACTERS.sub("_", friendly_name.lower()).strip("_")
    return name or sid.lower()


def render_content(request: Request, template: ContentTemplate) -> dict[str, Any]:
    """The Content resource as Twilio sends it."""
    url = absolute_url(request, f"{CONTENT_PATH}/{template.sid}")
    return {
        "sid": template.sid,
        "account_sid": template.account_sid,
        "friendly_name": template.friendly_name,
        "language": template.language,
        "variables": dict(template.variables),
        "types": template.types,
        "url": url,
        "date_created": iso8601(template.date_created),
        "date_updated": iso8601(template.date_updated),
        "links": {
            "approval_create": f"{url}/ApprovalRequests/whatsapp",
            "approval_fetch": f"{url}/ApprovalRequests",
        },
    }


def render_approval(template: ContentTemplate) -> dict[str, Any]:
    """The WhatsApp approval record (the `whatsapp` object of ApprovalRequests)."""
    approval = template.approval
    return {
        "type": "whatsapp",
        "name": approval.name,
        "category": approval.category,
        "content_type": template.content_type,
        "status": approval.status,
        "rejection_reason": approval.rejection_reason,
        "allow_category_change": approval.allow_category_change,
    }


def _string(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise errors.missing_parameter(name)
        return None
    if not isinstance(value, str):
        raise errors.invalid_parameter(f"Invalid parameter: {name} must be a string.")
    return value


def _content_or_404(ctx: RequestContext) -> ContentTemplate:
    template = find_content(ctx.state, ctx.account.sid, ctx.path("sid"))
    if template is None:
        raise ctx.not_found()
    return template


async def create_content(ctx: RequestContext) -> Response:
    """`POST /v1/Content` (201)."""
    body = await read_json(ctx.request)
    language = _string(body, "language", required=True)
    assert language is not None
    types = validate_types(body.get("types"))
    friendly_name = _string(body, "friendly_name", required=False) or ""
    now = ctx.now()
    sid = ctx.state.sids.sid("HX")
    template = ContentTemplate(
        sid=sid,
        account_sid=ctx.account.sid,
        friendly_name=friendly_name,
        language=language,
        variables=validate_defaults(body.get("variables")),
        types=types,
        date_created=now,
        date_updated=now,
        approval=WhatsAppApproval(
            name=default_template_name(friendly_name, sid), category="UTILITY"
        ),
    )
    ctx.state.store(CONTENTS).add(template)
    return json_response(render_content(ctx.request, template), status=201)


async def list_contents(ctx: RequestContext) -> Response:
    """`GET /v1/Content`: the account's templates, oldest first."""
    templates = [t for t in ctx.state.store(CONTENTS) if t.account_sid == ctx.account.sid]
    page = paginate_meta(
        templates,
        request=ctx.request,
        params=ctx.query(),
        path=CONTENT_PATH,
        key="contents",
        render=lambda template: render_content(ctx.request, template),
        sid_of=lambda template: template.sid,
    )
    return json_response(page)


async def fetch_content(ctx: RequestContext) -> Response:
    """`GET /v1/Content/{Sid}`."""
    return json_response(render_content(ctx.request, _content_or_404(ctx)))


async def update_content(ctx: RequestContext) -> Response:
    """`PUT /v1/Content/{Sid}`: `types` is required; the other fields change when given."""
    template = _content_or_404(ctx)
    body = await read_json(ctx.request)
    types = validate_types(body.get("types"))
    language = _string(body, "language", required=False)
    friendly_name = _string(body, "friendly_name", required=False)
    if "variables" in body and body["variables"] is not None:
        template.variables = validate_defaults(body["variables"])
    template.types = types
    template.language = language if language is not None else template.language
    template.friendly_name = friendly_name if friendly_name is not None else template.friendly_name
    template.date_updated = ctx.now()
    return json_response(render_content(ctx.request, template))


async def delete_content(ctx: RequestContext) -> Response:
    """`DELETE /v1/Content/{Sid}` (204)."""
    template = _content_or_404(ctx)
    ctx.state.store(CONTENTS).remove(template.sid)
    return Response(status_code=204)


async def fetch_approvals(ctx: RequestContext) -> Response:
    """`GET /v1/Content/{Sid}/ApprovalRequests`."""
    template = _content_or_404(ctx)
    return json_response(
        {
            "sid": template.sid,
            "account_sid": template.account_sid,
            "whatsapp": render_approval(template),
            "url": absolute_url(ctx.request, f"{CONTENT_PATH}/{template.sid}/ApprovalRequests"),
        }
    )


async def submit_whatsapp_approval(ctx: RequestContext) -> Response:
    """`POST /v1/Content/{Sid}/ApprovalRequests/whatsapp` (201): approved at once."""
    template = _content_or_404(ctx)
    body = await read_json(ctx.request)
    name = _string(body, "name", required=True)
    category = _string(body, "category", required=True)
    assert name is not None
    assert category is not None
    if not _TEMPLATE_NAME.fullmatch(name):
        raise errors.invalid_parameter(
            "Invalid parameter: name must be lower-case letters, digits and underscores."
        )
    if category not in WHATSAPP_CATEGORIES:
        raise errors.invalid_parameter(
            f"Invalid parameter: category must be one of {', '.join(WHATSAPP_CATEGORIES)}."
        )
    template.approval = WhatsAppApproval(name=name, category=category)
    record = render_approval(template)
    del record["type"]
    return json_response(record, status=201)


async def control_set_approval(request: Request) -> Response:
    """`POST /_emulator/content/{sid}/approval`: set a template's WhatsApp approval status.

    JSON body `{"status": "rejected", "rejection_reason": "…"}`; any status Twilio reports
    (`approved`, `rejected`, `pending`, `paused`, `disabled`, …) is accepted. Only `approved`
    templates are delivered outside the 24-hour window.
    """
    state = emulator_of(request).state
    template = state.store(CONTENTS).get(request.path_params["sid"])
    if template is None:
        raise errors.not_found(request.url.path)
    body = await read_json(request)
    status = body.get("status")
    if status not in APPROVAL_STATUSES:
        raise errors.invalid_parameter(
            f"Invalid status: use one of {', '.join(sorted(APPROVAL_STATUSES))}."
        )
    reason = body.get("rejection_reason", "")
    if not isinstance(reason, str):
        raise errors.invalid_parameter("Invalid rejection_reason: it must be a string.")
    template.approval.status = status
    template.approval.rejection_reason = reason
    return json_response(render_approval(template))


def routes() -> list[Route]:
    """The Content API's routes and its control handle."""
    item = CONTENT_PATH + "/{sid}"
    return [
        product_route("POST", CONTENT_PATH, create_content),
        product_route("GET", CONTENT_PATH, list_contents),
        product_route("GET", item, fetch_content),
        product_route("PUT", item, update_content),
        product_route("DELETE", item, delete_content),
        product_route("GET", item + "/ApprovalRequests", fetch_approvals),
        product_route("POST", item + "/ApprovalRequests/whatsapp", submit_whatsapp_approval),
        Route(f"{CONTROL_PREFIX}/content/{{sid}}/approval", control_set_approval, methods=["POST"]),
    ]
