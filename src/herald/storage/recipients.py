"""What the sending rules need to know about a recipient, read from the database.

`plan_send` and `recheck_before_send` (herald.domain.policy) are pure: they are given whether
the recipient opted out of the channel and when they last wrote to the sender on WhatsApp.
`RecipientFacts.read` reads both for the API, the verification code sender and the worker,
in one place.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from herald.domain.parties import Parties
from herald.domain.phone import Channel
from herald.domain.senders import SenderKind
from herald.storage.inbound import InboundRepository
from herald.storage.optouts import OptOutRepository


@dataclasses.dataclass(frozen=True, slots=True)
class RecipientState:
    """The recipient's opt-out of the channel, and the start of their WhatsApp window."""

    opted_out: bool
    whatsapp_last_inbound_at: datetime | None


class RecipientFacts:
    """Reads a recipient's state for the sending rules."""

    def __init__(self, opt_outs: OptOutRepository, inbound: InboundRepository) -> None:
        self._opt_outs = opt_outs
        self._inbound = inbound

    async def read(
        self, tenant_id: str, parties: Parties, *, opt_out: bool = True, window: bool = True
    ) -> RecipientState:
        """The state of `parties.to` towards `parties.sender`.

        Opt-outs are kept per channel under the bare E.164 number (docs/storage.md); with
        `opt_out=False` it is not read (the caller checks it where it commits) and reported
        False. The WhatsApp window is read for WhatsApp only, and not with `window=False` (a
        Content template may be sent outside it). Through a Messaging Service, Twilio picks the
        WhatsApp sender from the Service's pool: a message from the customer to any of the
        tenant's senders opens the window.
        """
        opted_out = opt_out and await self._opt_outs.is_opted_out(
            tenant_id, parties.channel, parties.recipient.number.e164
        )
        last_inbound = None
        if window and parties.channel is Channel.WHATSAPP:
            if parties.sender.kind is SenderKind.MESSAGING_SERVICE:
                last_inbound = await self._inbound.last_inbound_from(tenant_id, customer=parties.to)
            else:
                last_inbound = await self._inbound.last_inbound_at(
                    tenant_id, business=parties.sender.value, customer=parties.to
                )
        return RecipientState(opted_out=opted_out, whatsapp_last_inbound_at=last_inbound)
