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
from herald.domain.records import Purpose, Tenant
from herald.storage.inbound import InboundRepository
from herald.storage.messages import MessageRepository
from herald.storage.optouts import OptOutRepository
from herald.storage.recipients import RecipientFacts

CODE_MESSAGE: Final = "Your {name} verification code is {code}. Do not share it."


class CodeSender:
    """Accepts code messages into the outbox on the tenant's behalf."""

    def __init__(
        self, messages: MessageRepository, opt_outs: OptOutRepository, inbound: InboundRepository
    ) -> None:
        self._messages = messages
        self._facts = RecipientFacts(opt_outs, inbound)

    def recipient(self, tenant: Tenant, channel: Channel, to: str) -> Parties:
        """The normalised recipient and sender, or the `ProblemError` a send would get."""
        return resolve_parties(
            SendRequest(channel=channel, to=to), TenantDefaults.of(tenant.settings)
        )

    async def send(
        self, tenant: Tenant, channel: Channel, to: str, code: str, *, now: datetime
    ) -> str:
        """Accept the message carrying `code` to `to`; its id."""
        defaults = TenantDefaults.of(tenant.settings)
        request = SendRequest(
            channel=channel,
            to=to,
            body=CODE_MESSAGE.format(name=tenant.name, code=code),
            purpose=Purpose.VERIFICATION,
        )
        state = await self._facts.read(tenant.id, resolve_parties(request, defaults))
        plan = plan_send(
            request,
            SendContext(
                defaults,
                now,
                opted_out=state.opted_out,
                whatsapp_last_inbound_at=state.whatsapp_last_inbound_at,
            ),
        )
        accepted = await self._messages.accept(tenant.id, plan.new_message(), now=now)
        return accepted.message.id
