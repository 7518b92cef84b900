"""The Twilio webhook routes: `POST /webhooks/twilio/status` and `POST /webhooks/twilio/inbound`.

    app.include_router(create_router(deps))      # the router carries its /webhooks/twilio prefix

Both routes read the form within limits (forms.py), check `X-Twilio-Signature` and find the
tenant (verification.py), then hand over to status.py or inbound.py. A refused request gets a
short `text/plain` reason with a 4xx (403 for a bad signature), or 503 when Twilio should try
again later; never a 5xx for anything the request itself got wrong. docs/webhooks.md says
which URLs to configure at Twilio.
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import APIRouter, Request, Response

from herald.domain.records import Tenant
from herald.domain.redaction import mask_number
from herald.webhooks.deps import WebhookDeps
from herald.webhooks.forms import Form, Rejected, read_form
from herald.webhooks.inbound import TWIML_TYPE, handle_inbound
from herald.webhooks.outcomes import set_outcome
from herald.webhooks.status import IDEMPOTENCY_HEADER, handle_status
from herald.webhooks.verification import TwilioVerifier

logger = logging.getLogger("herald.webhooks")

PREFIX: Final = "/webhooks/twilio"
STATUS_PATH: Final = f"{PREFIX}/status"
INBOUND_PATH: Final = f"{PREFIX}/inbound"
_RETRY_LATER_SECONDS: Final = "5"


class TwilioWebhooks:
    """The two routes' handlers, sharing one signature verifier (and its token cache)."""

    def __init__(self, deps: WebhookDeps) -> None:
        self._deps = deps
        self._verifier = TwilioVerifier(deps.tenants, deps.settings)

    async def status(self, request: Request) -> Response:
        """A message status callback: applied once, forwards only, stored before the 200."""
        try:
            form, tenants = await self._accept(request)
            token = request.headers.get(IDEMPOTENCY_HEADER)
            outcome = await handle_status(self._deps, tenants, form, token)
        except Rejected as refusal:
            return _refusal(request, refusal)
        set_outcome(request, outcome)
        return Response(status_code=200)

    async def inbound(self, request: Request) -> Response:
        """A message to one of the tenants' numbers: stored, keywords acted on, TwiML answer."""
        try:
            form, tenants = await self._accept(request)
            tenant = _owner(tenants, form)
            document, outcome = await handle_inbound(self._deps, tenant, form)
        except Rejected as refusal:
            return _refusal(request, refusal)
        set_outcome(request, outcome)
        return Response(content=document, status_code=200, media_type=TWIML_TYPE)

    async def _accept(self, request: Request) -> tuple[Form, list[Tenant]]:
        form = await read_form(request)
        tenants = await self._verifier.verify(request, form)
        return form, tenants


def create_router(deps: WebhookDeps) -> APIRouter:
    """The router of Twilio's webhooks, on their full `/webhooks/twilio/...` paths.

    Plain Starlette routes: a webhook handler reads its request itself, so FastAPI's parameter
    resolution would only cost time, and the routes are not part of the API's schema."""
    handlers = TwilioWebhooks(deps)
    router = APIRouter()
    router.add_route(STATUS_PATH, handlers.status, methods=["POST"], include_in_schema=False)
    router.add_route(INBOUND_PATH, handlers.inbound, methods=["POST"], include_in_schema=False)
    return router


def _owner(tenants: list[Tenant], form: Form) -> Tenant:
    """The tenant an inbound message belongs to, when several share its Twilio account.

    The one whose Messaging Service or default sender received it; else the first by name,
    with a warning: such tenants should each have their own numbers and defaults.
    """
    if len(tenants) == 1:
        return tenants[0]
    service = form.get("MessagingServiceSid")
    to = form.get("To")
    for tenant in tenants:
        settings = tenant.settings
        if service and settings.messaging_service_sid == service:
            return tenant
        if to and settings.default_sender in {to, to.removeprefix("whatsapp:")}:
            return tenant
    logger.warning(
        "inbound %s to %s: tenants %s share the Twilio account and none claims the number; "
        "stored for %s",
        form.get("MessageSid"),
        mask_number(to),
        ", ".join(tenant.name for tenant in tenants),
        tenants[0].name,
    )
    return tenants[0]


def _refusal(request: Request, refusal: Rejected) -> Response:
    set_outcome(request, refusal.outcome)
    headers = {"Retry-After": _RETRY_LATER_SECONDS} if refusal.status == 503 else None  # noqa: PLR2004
    return Response(
        content=refusal.reason, status_code=refusal.status, media_type="text/plain", headers=headers
    )
