"""Delivering a built-in code through Herald's own outbox, under every sending rule.

The code message is accepted like any `POST /v1/messages`: the recipient's opt-out, the
WhatsApp window and the segment rules apply, and the worker sends it. Its purpose is
`verification`, which keeps its body out of every API answer (docs/verifications.md); the
body is never logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from herald.domain.parties import Parties
from herald.domain.phone import Channel
from herald.domain.policy import (
    SendContext,
    SendRequest,
    TenantDefaults,
    plan_send,
    resolve_parties,
)
from herald.domain.records import NewMessage, Purpose, Tenant
from herald.domain.senders import SenderKind
from herald.domain.templates import Template
from herald.storage.inbound import InboundRepository
from herald.storage.messages import MessageRepository
from herald.storage.optouts import OptOutRepository

CODE_MESSAGE: Final = "Your {name} verification code is {code}. Do not share it."


class CodeSender:
    """Accepts code messages into the outbox on the tenant's behalf."""

    def __init__(
        self, messages: MessageRepository, opt_outs: OptOutRepository, inbound: InboundRepository
    ) -> None:
        self._messages = messages
        self._opt_outs = opt_outs
        self._inbound = inbound

    def recipient(self, tenant: Tenant, channel: Channel, to: str) -> Parties:
        """The normalised recipient and sender, or the `ProblemError` a send would get."""
        return resolve_parties(SendRequest(channel=channel, to=to), _defaults(tenant))

    async def send(
        self, tenant: Tenant, channel: Channel, to: str, code: str, *, now: datetime
    ) -> str:
        """Accept the message carrying `code` to `to`; its id."""
        defaults = _defaults(tenant)
        request = SendRequest(
            channel=channel,
            to=to,
            body=CODE_MESSAGE.format(name=tenant.name, code=code),
            purpose=Purpose.VERIFICATION,
        )
        parties = resolve_parties(request, defaults)
        opted_out = await self._opt_outs.is_opted_out(
            tenant.id, parties.channel, parties.recipient.number.e164
        )
        last_inbound = None
        if parties.channel is Channel.WHATSAPP:
            if parties.sender.kind is SenderKind.MESSAGING_SERVICE:
                last_inbound = await self._inbound.last_inbound_from(tenant.id, customer=parties.to)
            else:
                last_inbound = await self._inbound.last_inbound_at(
                    tenant.id, business=parties.sender.value, customer=parties.to
                )
        plan = plan_send(
            request,
            SendContext(defaults, now, opted_out=opted_out, whatsapp_last_inbound_at=last_inbound),
        )
        accepted = await self._messages.accept(
            tenant.id,
            NewMessage(
                channel=plan.channel,
                to=plan.to,
                from_=plan.sender.value,
                body=plan.body,
                encoding=plan.encoding,
                segments=plan.segments,
                purpose=plan.purpose,
            ),
            now=now,
        )
        return accepted.message.id


def _defaults(tenant: Tenant) -> TenantDefaults:
    settings = tenant.settings
    return TenantDefaults(
        default_region=settings.default_region,
        default_sender=settings.default_sender,
        messaging_service_sid=settings.messaging_service_sid,
        templates={name: Template(name, body) for name, body in settings.templates.items()},
    )
