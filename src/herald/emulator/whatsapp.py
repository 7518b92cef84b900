"""WhatsApp in the emulator: the 24-hour customer-service window and the registered senders.

Meta lets a business send *free-form* messages (a `Body` or `MediaUrl`) to a WhatsApp user only
within 24 hours of that user's last message to the business. Outside the window only approved
templates (a `ContentSid` on Twilio) may be sent. Twilio accepts a free-form request outside the
window with `201` and the message then fails asynchronously with error **63016**
(https://www.twilio.com/docs/api/errors/63016); since 2025-04-01 a template's text pasted into
`Body` fails the same way, so only the `ContentSid` path counts as a template.

The window belongs to a (business sender, customer) pair: a customer who wrote to one of the
business's WhatsApp numbers has not opened a window with its other numbers. A business's own
outbound message never opens or extends the window; only the customer's inbound message does.

`WhatsAppState` is plain in-memory state, kept in the emulator's state; it reads no clock: every
call is given the instant it concerns. The control API at the end lets a developer or a test
register WhatsApp senders and open or close windows without simulating an inbound message.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from herald.emulator import errors
from herald.emulator.control import CONTROL_PREFIX
from herald.emulator.routing import emulator_of
from herald.emulator.state import EmulatorState, StoreKey
from herald.emulator.v1wire import read_json
from herald.emulator.wire import iso8601, json_response

WHATSAPP_PREFIX = "whatsapp:"
SANDBOX_SENDER = "whatsapp:+14155238886"
"""Twilio's shared WhatsApp Sandbox number; every account may send from it."""

WINDOW = timedelta(hours=24)
_RECORD_SID = "whatsapp"
OUTSIDE_WINDOW_ERROR = 63016
OUTSIDE_WINDOW_MESSAGE = (
    "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template."
)


def is_whatsapp(address: str) -> bool:
    """Whether a `To`/`From` value is a WhatsApp channel address (`whatsapp:+<E.164>`)."""
    return address.startswith(WHATSAPP_PREFIX)


def bare_number(address: str) -> str:
    """The E.164 number inside a channel address; a plain number is returned unchanged."""
    return address.removeprefix(WHATSAPP_PREFIX)


def channel_address(number: str) -> str:
    """The `whatsapp:`-prefixed form of a number (idempotent)."""
    return number if is_whatsapp(number) else WHATSAPP_PREFIX + number


@dataclasses.dataclass(slots=True)
class WhatsAppState:
    """Customer-service windows and the WhatsApp senders each account has registered.

    Keys are bare E.164 numbers, so `whatsapp:+1555…` and `+1555…` name the same party. The
    emulator keeps the one instance as the only record of its store (hence `sid`), so that a
    state reset forgets it along with everything else. Past `capacity` windows the one opened
    longest ago is forgotten (the emulator sets it to `max_messages`: each window was opened by
    an inbound message, and the store keeps no more messages than that either).
    """

    sid: str = _RECORD_SID
    last_inbound: dict[tuple[str, str], datetime] = dataclasses.field(default_factory=dict)
    senders: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    capacity: int | None = None

    def open(self, business: str, customer: str, at: datetime) -> None:
        """Record that `customer` wrote to `business` at `at`, opening or refreshing the window.

        An older inbound message arriving late never shortens a window already opened by a
        newer one.
        """
        key = (bare_number(business), bare_number(customer))
        previous = self.last_inbound.get(key)
        if previous is None or at > previous:
            # Re-inserted so that the dict's order is the order windows were last opened in.
            self.last_inbound.pop(key, None)
            self.last_inbound[key] = at
            if self.capacity is not None and len(self.last_inbound) > self.capacity:
                del self.last_inbound[next(iter(self.last_inbound))]

    def expires_at(self, business: str, customer: str) -> datetime | None:
        """When the pair's window closes, or None if the customer never wrote."""
        last = self.last_inbound.get((bare_number(business), bare_number(customer)))
        return None if last is None else last + WINDOW

    def is_open(self, business: str, customer: str, now: datetime) -> bool:
        """Whether the window is open at `now`; it closes at exactly 24 h after the inbound."""
        expiry = self.expires_at(business, customer)
        return expiry is not None and now < expiry

    def close(self, business: str, customer: str) -> None:
        """Forget the pair's window, as if the customer had never written (a control action)."""
        self.last_inbound.pop((bare_number(business), bare_number(customer)), None)

    def register_sender(self, account_sid: str, number: str) -> None:
        """Make `number` one of the account's WhatsApp senders (an approved WhatsApp Business
        number in reality; a control action in the emulator)."""
        self.senders.setdefault(account_sid, set()).add(bare_number(number))

    def unregister_sender(self, account_sid: str, number: str) -> None:
        """Remove a number from the account's WhatsApp senders (no effect if it was not one)."""
        self.senders.get(account_sid, set()).discard(bare_number(number))

    def is_sender(self, account_sid: str, address: str) -> bool:
        """Whether the account may send WhatsApp messages from `address`.

        The Sandbox number is shared by every account.
        """
        number = bare_number(address)
        return number == bare_number(SANDBOX_SENDER) or number in self.senders.get(
            account_sid, set()
        )

    def reset(self) -> None:
        """Forget every window and every registered sender."""
        self.last_inbound.clear()
        self.senders.clear()


WHATSAPP: StoreKey[WhatsAppState] = StoreKey("whatsapp")


def whatsapp_state(state: EmulatorState) -> WhatsAppState:
    """The emulator's WhatsApp windows and senders (the only record of their store)."""
    store = state.store(WHATSAPP)
    current = store.get(_RECORD_SID)
    if current is None:
        current = store.add(WhatsAppState(capacity=state.config.max_messages))
    return current


def free_form_allowed(state: WhatsAppState, business: str, customer: str, now: datetime) -> bool:
    """Whether a free-form (Body/Media) WhatsApp message from `business` to `customer` may be
    delivered at `now`."""
    return state.is_open(business, customer, now)


def delivery_error(
    state: WhatsAppState,
    *,
    from_: str,
    to: str,
    now: datetime,
    template_approved: bool | None,
) -> int | None:
    """The error code an outbound message must fail with when it is sent, or None.

    `template_approved` is None for a free-form message (Body/MediaUrl, no ContentSid), and
    otherwise says whether the Content template is approved for WhatsApp. Non-WhatsApp messages
    are never affected. An approved template may be sent at any time; a free-form message or an
    unapproved template only while the customer's window is open (Twilio delivers an
    unapproved template inside the window as a session message).
    """
    if not is_whatsapp(to):
        return None
    if template_approved:
        return None
    if state.is_open(from_, to, now):
        return None
    return OUTSIDE_WINDOW_ERROR


# -- control API ---------------------------------------------------------------------------------


def _address(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not bare_number(value).startswith("+"):
        raise errors.invalid_parameter(
            f"Invalid {name}: give an E.164 number or whatsapp: address."
        )
    return value


async def control_register_sender(request: Request) -> Response:
    """`POST /_emulator/whatsapp/senders`: JSON `{"phone_number": "+1…", "account_sid": "AC…"}`.

    Makes the number a WhatsApp sender of the account (the main account when none is given), so
    `From=whatsapp:+1…` is accepted and a Messaging Service holding it can reach WhatsApp users.
    """
    emulator = emulator_of(request)
    body = await read_json(request)
    number = _address(body, "phone_number")
    account_sid = body.get("account_sid", emulator.config.account_sid)
    if not isinstance(account_sid, str) or emulator.state.accounts.get(account_sid) is None:
        raise errors.invalid_parameter("Invalid account_sid: no such account.")
    whatsapp_state(emulator.state).register_sender(account_sid, number)
    return json_response(
        {"account_sid": account_sid, "phone_number": channel_address(number)}, status=201
    )


async def control_open_window(request: Request) -> Response:
    """`POST /_emulator/whatsapp/windows`: JSON `{"business": "whatsapp:+…", "customer": …}`.

    Opens (or refreshes) the pair's window at the emulator clock's current time, as an inbound
    message from the customer would; the answer says when it closes.
    """
    emulator = emulator_of(request)
    body = await read_json(request)
    business, customer = _address(body, "business"), _address(body, "customer")
    state = whatsapp_state(emulator.state)
    state.open(business, customer, emulator.clock.now())
    expiry = state.expires_at(business, customer)
    assert expiry is not None
    return json_response(
        {
            "business": channel_address(business),
            "customer": channel_address(customer),
            "expires_at": iso8601(expiry),
        }
    )


async def control_close_window(request: Request) -> Response:
    """`POST /_emulator/whatsapp/windows/close`: JSON `{"business": …, "customer": …}` (204)."""
    emulator = emulator_of(request)
    body = await read_json(request)
    whatsapp_state(emulator.state).close(_address(body, "business"), _address(body, "customer"))
    return Response(status_code=204)


def routes() -> list[Route]:
    """The WhatsApp control handles."""
    base = f"{CONTROL_PREFIX}/whatsapp"
    return [
        Route(f"{base}/senders", control_register_sender, methods=["POST"]),
        Route(f"{base}/windows", control_open_window, methods=["POST"]),
        Route(f"{base}/windows/close", control_close_window, methods=["POST"]),
    ]
