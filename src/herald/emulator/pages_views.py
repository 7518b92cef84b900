"""What the inbox shows of simulated phones: plain values computed from the Messages store.

Nothing here renders HTML or knows about HTTP. `pages.py` hands these values to the templates,
which escape every string (message bodies come from whoever called the API and are not to be
trusted). Everything is read from the store on each request, as the control API does, so a page
never disagrees with `/_emulator/phones`.

A conversation is shown from the phone's side, as on the handset: what the phone sent sits on
the right, what it received on the left, with the delivery ticks Twilio's statuses stand for.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from herald.domain.segments import analyse
from herald.emulator.message_store import Message
from herald.emulator.messaging import messaging
from herald.emulator.numbers import PhoneNumbers
from herald.emulator.phones import Phone, phone_of
from herald.emulator.state import EmulatorState
from herald.emulator.whatsapp import bare_number, channel_address, is_whatsapp

MAX_PHONES: Final = 200
"""Phones listed at most, most recent first (a load test can leave thousands)."""
MAX_BUBBLES: Final = 300
"""Messages of one conversation shown at most, the newest ones."""
MAX_BODY: Final = 1600
"""Longest reply the composer sends: Twilio's limit for one message body."""
PREVIEW_CHARS: Final = 80
E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LINKABLE_SCHEMES: Final = frozenset({"http", "https"})
_WHITESPACE: Final = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True, slots=True)
class Tick:
    """How a status reads on a bubble: a symbol, the words a screen reader says, a style."""

    symbol: str
    label: str
    style: str


_TICKS: Final = {
    "scheduled": Tick("◷", "Scheduled", "pending"),
    "accepted": Tick("✓", "Accepted", "pending"),
    "queued": Tick("✓", "Queued", "pending"),
    "sending": Tick("✓", "Sending", "pending"),
    "sent": Tick("✓", "Sent", "sent"),
    "delivered": Tick("✓✓", "Delivered", "delivered"),
    "read": Tick("✓✓", "Read", "read"),
    "undelivered": Tick("✗", "Undelivered", "failed"),
    "failed": Tick("✗", "Failed", "failed"),
    "canceled": Tick("⊘", "Canceled", "failed"),
}


def tick_for(status: str) -> Tick | None:
    """The tick of an outbound message's status; None for a message the phone sent."""
    return _TICKS.get(status)


def channel_of(message: Message) -> str:
    """`whatsapp`, `mms` or `sms`, as the control API names a message's channel."""
    if is_whatsapp(message.to):
        return "whatsapp"
    return "mms" if message.num_media else "sms"


@dataclasses.dataclass(frozen=True, slots=True)
class MediaLink:
    """One media URL; only http(s) URLs become links (a `javascript:` URL stays text)."""

    url: str
    linkable: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Bubble:
    """One message of a conversation, from the phone's side."""

    sid: str
    status: str
    from_phone: bool
    channel: str
    body: str
    media: tuple[MediaLink, ...]
    at: datetime
    business: str
    """The emulator's side of the message: a number, a WhatsApp address or a Service SID."""
    segments: int | None
    """SMS segments of an outbound SMS/MMS (WhatsApp has none); None for the phone's own."""
    encoding: str | None
    tick: Tick | None
    error_code: int | None
    error_message: str | None


def bubble(message: Message) -> Bubble:
    """The bubble of one message."""
    from_phone = message.direction == "inbound"
    channel = channel_of(message)
    counted = not from_phone and channel != "whatsapp"
    business = message.to if from_phone else (message.from_ or message.pending_from or "")
    return Bubble(
        sid=message.sid,
        status=message.status,
        from_phone=from_phone,
        channel=channel,
        body=message.body,
        media=tuple(
            MediaLink(url, urlsplit(url).scheme.lower() in _LINKABLE_SCHEMES)
            for url in message.media_urls
        ),
        at=message.date_created,
        business=business or message.messaging_service_sid or "",
        segments=message.num_segments if counted else None,
        encoding=(analyse(message.body).encoding if message.body else "GSM-7") if counted else None,
        tick=None if from_phone else tick_for(message.status),
        error_code=message.error_code,
        error_message=message.error_message,
    )


def preview(message: Message) -> str:
    """A one-line summary of a message for the phone list."""
    text = _WHITESPACE.sub(" ", message.body).strip()
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    if not text and message.num_media:
        return f"{message.num_media} attachment" + ("s" if message.num_media > 1 else "")
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class PhoneSummary:
    """One row of the phone list."""

    number: str
    received: int
    sent: int
    channels: tuple[str, ...]
    last_at: datetime
    last_preview: str
    last_from_phone: bool


@dataclasses.dataclass(frozen=True, slots=True)
class PhoneList:
    """The phones with the most recent messages, and how many there are in all."""

    phones: list[PhoneSummary]
    total: int


def phone_list(state: EmulatorState, limit: int = MAX_PHONES) -> PhoneList:
    """Every phone that received or sent a message, the one with the newest message first."""
    tallies: dict[str, Phone] = {}
    latest: dict[str, Message] = {}
    for message in _in_creation_order(messaging(state).store):
        number = phone_of(message)
        tallies.setdefault(number, Phone(number)).count(message)
        latest[number] = message
    newest = sorted(latest, key=lambda number: latest[number].seq, reverse=True)[:limit]
    return PhoneList(
        phones=[
            PhoneSummary(
                number=number,
                received=tallies[number].received,
                sent=tallies[number].sent,
                channels=tuple(sorted(tallies[number].channels)),
                last_at=latest[number].date_created,
                last_preview=preview(latest[number]),
                last_from_phone=latest[number].direction == "inbound",
            )
            for number in newest
        ],
        total=len(latest),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyTarget:
    """A number the phone can answer: the business address, and the phone's own in that channel."""

    to: str
    from_: str
    channel: str


@dataclasses.dataclass(frozen=True, slots=True)
class Conversation:
    """A phone's messages (the newest `MAX_BUBBLES`) and the numbers it can reply to."""

    number: str
    bubbles: list[Bubble]
    hidden: int
    targets: list[ReplyTarget]


def conversation(state: EmulatorState, number: str) -> Conversation | None:
    """The phone's conversation, oldest message first; None when it has no message at all."""
    wanted = bare_number(number)
    messages = [m for m in _in_creation_order(messaging(state).store) if phone_of(m) == wanted]
    if not messages:
        return None
    shown = messages[-MAX_BUBBLES:]
    return Conversation(
        number=wanted,
        bubbles=[bubble(message) for message in shown],
        hidden=len(messages) - len(shown),
        targets=reply_targets(state, wanted, messages),
    )


def reply_targets(
    state: EmulatorState, number: str, messages: Iterable[Message]
) -> list[ReplyTarget]:
    """The bought numbers (per channel) the phone exchanged messages with, most recent first.

    Only a number some account owns can receive a simulated message (`/_emulator/inbound`
    refuses others), so alphanumeric senders and released numbers are left out.
    """
    owned = PhoneNumbers(state)
    seen: dict[str, ReplyTarget] = {}
    for message in sorted(messages, key=lambda each: each.seq, reverse=True):
        business = message.to if message.direction == "inbound" else message.from_
        if business is None or business in seen:
            continue
        bare = bare_number(business)
        if not E164.match(bare) or owned.by_number(bare) is None:
            continue
        whatsapp = is_whatsapp(business)
        seen[business] = ReplyTarget(
            to=business,
            from_=channel_address(number) if whatsapp else number,
            channel="whatsapp" if whatsapp else "sms",
        )
    return list(seen.values())


def message_by_sid(state: EmulatorState, sid: str) -> Message | None:
    """The message `sid` of any account, if the store still holds it."""
    return messaging(state).store.lookup(sid)


def _in_creation_order(messages: Iterable[Message]) -> list[Message]:
    # The store hands messages out in insertion order, which is creation order; sorting an
    # already sorted list is linear, and keeps this true should the store ever change.
    return sorted(messages, key=lambda each: each.seq)
