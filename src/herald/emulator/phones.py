"""Simulated phones: every number outside the emulator that received or sent a message.

A phone is the party on the far side of a message: the `to` of an outbound message, the `from`
of an inbound one. Its SMS and WhatsApp traffic is one phone (`whatsapp:+1…` and `+1…` are the
same handset), and each message says its channel. Nothing is stored for phones: they are read
from the Messages store, so they appear with their first message and go with a reset.

- `GET /_emulator/phones` — every phone with how many messages it received and sent, and when
  it last did either (`?account_sid=` narrows to one account's traffic);
- `GET /_emulator/phones/{number}/messages` — that phone's conversation, oldest first, in both
  directions, with status, segments and encoding (`{number}` in E.164, `+` written `%2B` or as
  is; `?account_sid=` narrows it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.domain.segments import analyse
from herald.emulator import errors
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.message_store import Message
from herald.emulator.messaging import messaging
from herald.emulator.routing import emulator_of
from herald.emulator.state import EmulatorState
from herald.emulator.whatsapp import bare_number, is_whatsapp
from herald.emulator.wire import iso8601, json_response


def phone_of(message: Message) -> str:
    """The far party of a message, as a bare E.164 number (or whatever `to` names)."""
    far = message.from_ if message.direction == "inbound" else message.to
    return bare_number(far or "")


@dataclasses.dataclass(slots=True)
class Phone:
    """What one simulated phone has done."""

    number: str
    received: int = 0
    sent: int = 0
    channels: set[str] = dataclasses.field(default_factory=set)
    last_activity: datetime | None = None

    def count(self, message: Message) -> None:
        """Add one message to the tally."""
        if message.direction == "inbound":
            self.sent += 1
        else:
            self.received += 1
        self.channels.add(_channel(message))
        if self.last_activity is None or message.date_updated > self.last_activity:
            self.last_activity = message.date_updated

    def to_json(self) -> dict[str, Any]:
        """The phone as the control API shows it."""
        return {
            "phone_number": self.number,
            "received": self.received,
            "sent": self.sent,
            "channels": sorted(self.channels),
            "last_activity": None if self.last_activity is None else iso8601(self.last_activity),
            "messages_uri": f"{CONTROL_PREFIX}/phones/{self.number}/messages",
        }


def _channel(message: Message) -> str:
    return "whatsapp" if is_whatsapp(message.to) else ("mms" if message.num_media else "sms")


def _messages(state: EmulatorState, account_sid: str | None) -> Iterable[Message]:
    for message in sorted(messaging(state).store, key=lambda each: each.seq):
        if account_sid is None or message.account_sid == account_sid:
            yield message


def phones(state: EmulatorState, account_sid: str | None = None) -> list[Phone]:
    """Every phone that received or sent a message, by number."""
    found: dict[str, Phone] = {}
    for message in _messages(state, account_sid):
        number = phone_of(message)
        found.setdefault(number, Phone(number)).count(message)
    return [found[number] for number in sorted(found)]


def conversation(
    state: EmulatorState, number: str, account_sid: str | None = None
) -> list[Message]:
    """The messages a phone received or sent, oldest first."""
    wanted = bare_number(number)
    return [message for message in _messages(state, account_sid) if phone_of(message) == wanted]


def message_view(message: Message) -> dict[str, Any]:
    """One message of a conversation, from the phone's point of view."""
    encoding = analyse(message.body).encoding if message.body else "GSM-7"
    return {
        "sid": message.sid,
        "account_sid": message.account_sid,
        "direction": "sent" if message.direction == "inbound" else "received",
        "twilio_direction": message.direction,
        "channel": _channel(message),
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "media_urls": list(message.media_urls),
        "status": message.status,
        "num_segments": message.num_segments,
        "encoding": encoding,
        "error_code": message.error_code,
        "messaging_service_sid": message.messaging_service_sid,
        "date_created": iso8601(message.date_created),
        "date_updated": iso8601(message.date_updated),
    }


def _account_filter(request: Request) -> str | None:
    return request.query_params.get("account_sid") or None


async def list_phones(request: Request) -> Response:
    """`GET /_emulator/phones`."""
    state = emulator_of(request).state
    found = phones(state, _account_filter(request))
    return json_response({"phones": [phone.to_json() for phone in found]})


async def phone_messages(request: Request) -> Response:
    """`GET /_emulator/phones/{number}/messages`."""
    number = str(request.path_params["number"]).strip()
    if not bare_number(number).startswith("+"):
        raise errors.invalid_parameter(
            f"Invalid phone number {number!r}: write it in E.164, e.g. %2B14155552671."
        )
    messages = conversation(emulator_of(request).state, number, _account_filter(request))
    return json_response(
        {"phone_number": bare_number(number), "messages": [message_view(m) for m in messages]}
    )


def routes() -> list[Route]:
    """The simulated phones' routes."""
    return [
        Route(f"{CONTROL_PREFIX}/phones", list_phones, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/phones/{{number}}/messages", phone_messages, methods=["GET"]),
    ]
