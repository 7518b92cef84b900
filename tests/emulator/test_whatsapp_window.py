"""The WhatsApp 24-hour customer-service window and the 63016 rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from herald.emulator.whatsapp import (
    OUTSIDE_WINDOW_ERROR,
    SANDBOX_SENDER,
    WINDOW,
    WhatsAppState,
    delivery_error,
    free_form_allowed,
    whatsapp_state,
)
from tests.emulator.conftest import RunningEmulator
from tests.emulator.rawhttp import Reply, call

BUSINESS = "whatsapp:+14155238886"
CUSTOMER = "whatsapp:+447700900123"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def opened() -> WhatsAppState:
    state = WhatsAppState()
    state.open(BUSINESS, CUSTOMER, T0)
    return state


def test_window_is_closed_before_the_customer_writes() -> None:
    """No inbound message means no window."""
    assert not WhatsAppState().is_open(BUSINESS, CUSTOMER, T0)


def test_inbound_message_opens_the_window() -> None:
    """The customer's message opens the window immediately."""
    assert opened().is_open(BUSINESS, CUSTOMER, T0)


def test_window_is_open_just_before_24_hours() -> None:
    """One second before 24 h the window is still open."""
    assert opened().is_open(BUSINESS, CUSTOMER, T0 + WINDOW - timedelta(seconds=1))


def test_window_closes_at_exactly_24_hours() -> None:
    """At exactly 24 h after the inbound message the window is closed."""
    assert not opened().is_open(BUSINESS, CUSTOMER, T0 + timedelta(hours=24))


def test_new_inbound_message_refreshes_the_window() -> None:
    """A later inbound message restarts the 24 hours."""
    state = opened()
    state.open(BUSINESS, CUSTOMER, T0 + timedelta(hours=20))
    assert state.is_open(BUSINESS, CUSTOMER, T0 + timedelta(hours=30))
    assert state.expires_at(BUSINESS, CUSTOMER) == T0 + timedelta(hours=44)


def test_late_older_inbound_does_not_shorten_the_window() -> None:
    """An older inbound message recorded late leaves the newer window in place."""
    state = opened()
    state.open(BUSINESS, CUSTOMER, T0 - timedelta(hours=10))
    assert state.expires_at(BUSINESS, CUSTOMER) == T0 + WINDOW


def test_window_belongs_to_one_business_number() -> None:
    """Writing to one business number opens no window with another."""
    assert not opened().is_open("whatsapp:+12125550100", CUSTOMER, T0)


def test_prefixed_and_bare_numbers_name_the_same_pair() -> None:
    """`whatsapp:+…` and the bare number address the same window."""
    assert opened().is_open("+14155238886", "+447700900123", T0)


def test_free_form_is_allowed_only_inside_the_window() -> None:
    """free_form_allowed follows the window."""
    state = opened()
    assert free_form_allowed(state, BUSINESS, CUSTOMER, T0 + timedelta(hours=1))
    assert not free_form_allowed(state, BUSINESS, CUSTOMER, T0 + timedelta(hours=25))


def test_free_form_outside_the_window_fails_with_63016() -> None:
    """A free-form WhatsApp message sent outside the window fails with 63016."""
    error = delivery_error(
        opened(), from_=BUSINESS, to=CUSTOMER, now=T0 + WINDOW, template_approved=None
    )
    assert error == OUTSIDE_WINDOW_ERROR


def test_approved_template_is_delivered_outside_the_window() -> None:
    """An approved Content template needs no window."""
    error = delivery_error(
        WhatsAppState(), from_=BUSINESS, to=CUSTOMER, now=T0, template_approved=True
    )
    assert error is None


def test_rejected_template_outside_the_window_fails_with_63016() -> None:
    """A template that is not approved is treated as free-form outside the window."""
    error = delivery_error(
        WhatsAppState(), from_=BUSINESS, to=CUSTOMER, now=T0, template_approved=False
    )
    assert error == OUTSIDE_WINDOW_ERROR


def test_sms_is_never_subject_to_the_window() -> None:
    """Non-WhatsApp recipients are unaffected by the window."""
    error = delivery_error(
        WhatsAppState(), from_="+14155550100", to="+447700900123", now=T0, template_approved=None
    )
    assert error is None


def test_closing_the_window_forgets_the_inbound() -> None:
    """The close control makes the pair's window closed again."""
    state = opened()
    state.close(BUSINESS, CUSTOMER)
    assert not state.is_open(BUSINESS, CUSTOMER, T0)


def test_sandbox_sender_is_usable_by_every_account() -> None:
    """Any account may send from the Sandbox number."""
    assert WhatsAppState().is_sender("AC" + "0" * 32, SANDBOX_SENDER)


def test_registered_sender_belongs_to_its_account_only() -> None:
    """A registered WhatsApp sender is usable by its own account, not by others."""
    state = WhatsAppState()
    state.register_sender("AC1", "+12125550100")
    assert state.is_sender("AC1", "whatsapp:+12125550100")
    assert not state.is_sender("AC2", "whatsapp:+12125550100")


def control(emulator: RunningEmulator, path: str, body: dict[str, Any]) -> Reply:
    """POST a JSON body to the emulator's WhatsApp control API."""
    return call(
        "POST",
        emulator.url(f"/_emulator/whatsapp/{path}"),
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        validate=False,
    )


def test_window_opened_on_the_manual_clock_closes_at_24_hours(emulator: RunningEmulator) -> None:
    """A window opened through the control API lasts exactly 24 h of emulator time."""
    reply = control(emulator, "windows", {"business": BUSINESS, "customer": CUSTOMER})
    assert reply.status == 200
    assert reply.json["expires_at"] == (emulator.clock.now() + WINDOW).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    state = whatsapp_state(emulator.state)
    emulator.clock.advance(WINDOW - timedelta(seconds=1))
    assert free_form_allowed(state, BUSINESS, CUSTOMER, emulator.clock.now())
    emulator.clock.advance(timedelta(seconds=1))
    assert not free_form_allowed(state, BUSINESS, CUSTOMER, emulator.clock.now())


def test_control_refreshes_the_window(emulator: RunningEmulator) -> None:
    """Opening again after 20 h moves the end of the window to 24 h from then."""
    control(emulator, "windows", {"business": BUSINESS, "customer": CUSTOMER})
    emulator.clock.advance(timedelta(hours=20))
    control(emulator, "windows", {"business": BUSINESS, "customer": CUSTOMER})
    emulator.clock.advance(timedelta(hours=10))
    assert whatsapp_state(emulator.state).is_open(BUSINESS, CUSTOMER, emulator.clock.now())


def test_control_closes_the_window(emulator: RunningEmulator) -> None:
    """The close handle ends the window at once."""
    control(emulator, "windows", {"business": BUSINESS, "customer": CUSTOMER})
    reply = control(emulator, "windows/close", {"business": BUSINESS, "customer": CUSTOMER})
    assert reply.status == 204
    assert not whatsapp_state(emulator.state).is_open(BUSINESS, CUSTOMER, emulator.clock.now())


def test_control_registers_a_whatsapp_sender(emulator: RunningEmulator) -> None:
    """A registered number becomes a WhatsApp sender of the main account."""
    reply = control(emulator, "senders", {"phone_number": "+12125550100"})
    assert reply.status == 201
    assert reply.json["phone_number"] == "whatsapp:+12125550100"
    state = whatsapp_state(emulator.state)
    assert state.is_sender(emulator.config.account_sid, "whatsapp:+12125550100")


def test_control_refuses_an_address_that_is_not_a_number(emulator: RunningEmulator) -> None:
    """A window needs two E.164 numbers or whatsapp: addresses (400/20001)."""
    reply = control(emulator, "windows", {"business": "sandbox", "customer": CUSTOMER})
    assert (reply.status, reply.json["code"]) == (400, 20001)


def test_reset_forgets_windows(emulator: RunningEmulator) -> None:
    """The emulator's reset forgets every window."""
    control(emulator, "windows", {"business": BUSINESS, "customer": CUSTOMER})
    emulator.state.reset()
    assert not whatsapp_state(emulator.state).is_open(BUSINESS, CUSTOMER, emulator.clock.now())
