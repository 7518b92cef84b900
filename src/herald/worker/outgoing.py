"""From a stored message to what the provider is asked: parties, the request, and the look-up
that tells whether an earlier attempt already created the message.

Twilio's message creation has no idempotency key, so after an attempt whose answer was lost
(or a worker that died mid-send) the only way to avoid a duplicate is to look for the message
at Twilio before sending it again. `find_created` does that, by the rule of
`herald.providers.MessageLookup` (outbound, same recipient, same sender or Messaging Service,
same body or its Smart-Encoded form, created inside the window) and one more: a Twilio message
already recorded as another Herald message is never adopted, so that two identical messages
sent on purpose stay two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from herald.domain.lifecycle import Status, from_twilio
from herald.domain.parties import Parties
from herald.domain.phone import parse_address
from herald.domain.records import MessageFilter, MessageRecord
from herald.domain.senders import Sender, SenderKind, classify_sender
from herald.providers import MessageLookup, MessagingProvider, ProviderMessage, SendRequest
from herald.storage.messages import MAX_PAGE, MessageRepository

STATUS_CALLBACK_PATH: Final = "/webhooks/twilio/status"
# How many of the recipient's messages at Twilio a look-up reads (newest first).
MAX_SCAN: Final = 1000
_MAX_SIBLING_PAGES: Final = 5


def parties_of(message: MessageRecord) -> Parties:
    """The stored recipient and sender, classified again (`InvalidInput` if no longer valid)."""
    recipient = parse_address(message.to)
    if message.from_ is None:
        # The API always stores the resolved sender; a row without one cannot be sent.
        raise ValueError(f"message {message.id} has no sender")
    sender = classify_sender(message.from_, recipient.number.region)
    return Parties(recipient, sender)


def send_request(message: MessageRecord, sender: Sender, base_url: str) -> SendRequest:
    """The Messages API request for `message`, with Herald's status callback URL."""
    via_service = sender.kind is SenderKind.MESSAGING_SERVICE
    variables = message.content_variables
    return SendRequest(
        to=message.to,
        from_=None if via_service else sender.value,
        messaging_service_sid=sender.value if via_service else None,
        body=message.body,
        media_urls=message.media_urls,
        content_sid=message.content_sid,
        content_variables=(
            None if variables is None else {str(k): str(v) for k, v in variables.items()}
        ),
        status_callback=base_url + STATUS_CALLBACK_PATH,
    )


def provider_status(message: ProviderMessage) -> Status:
    """Herald's status for what the provider said; an unknown word counts as `queued`."""
    try:
        return from_twilio(message.status)
    except ValueError:
        return Status.QUEUED


async def find_created(
    provider: MessagingProvider,
    messages: MessageRepository,
    message: MessageRecord,
    request: SendRequest,
    *,
    created_after: datetime,
    created_before: datetime,
) -> ProviderMessage | None:
    """The Twilio message an earlier attempt at `message` created, or None if there is none.

    Raises `ProviderError` when Twilio cannot be asked: then nothing is known, and the message
    must not be sent again until a look-up succeeds.
    """
    taken = await _sids_of_siblings(messages, message)
    lookup = MessageLookup(
        to=request.to,
        from_=request.from_,
        body=None if request.content_sid is not None else request.body,
        created_after=created_after,
        created_before=created_before,
        messaging_service_sid=request.messaging_service_sid,
    )
    scanned = 0
    async for candidate in provider.list_messages(to=request.to, from_=request.from_):
        if candidate.sid not in taken and lookup.matches(candidate):
            return candidate
        scanned += 1
        if scanned >= MAX_SCAN:
            break
    return None


async def _sids_of_siblings(messages: MessageRepository, message: MessageRecord) -> set[str]:
    """Provider SIDs already recorded for the tenant's other messages to the same recipient.

    Newest first and without a time filter: a message accepted long ago (a scheduled one) may
    have been handed to Twilio inside the window.
    """
    taken: set[str] = set()
    cursor = None
    filters = MessageFilter(to=message.to)
    for _ in range(_MAX_SIBLING_PAGES):
        page = await messages.list(message.tenant_id, filters, limit=MAX_PAGE, cursor=cursor)
        taken.update(
            each.provider_sid
            for each in page.items
            if each.provider_sid is not None and each.id != message.id
        )
        cursor = page.next_cursor
        if cursor is None:
            break
    return taken
