"""Helpers for the Verify tests: the twilio client on the verify domain, and the codes sent."""

from __future__ import annotations

from typing import Any

from twilio.rest import Client
from twilio.rest.verify.v2.service import ServiceInstance

from tests.emulator.conftest import RunningEmulator
from tests.emulator.inbound_helpers import control

MOBILE = "+14155552671"
"""A US number the emulator delivers to."""
LANDLINE_NL = "+31201234567"
"""An Amsterdam fixed line: a landline for `phonenumbers`, hence for the emulator."""
LANDLINE_US = "+12015550130"
"""+1 NPA 555 013X: the emulator's US landline (an SMS to it ends with 30006)."""


def on_verify(client: Client, emulator: RunningEmulator) -> Client:
    """Point the client's verify domain at the emulator."""
    client.verify.base_url = emulator.base_url
    return client


def new_service(client: Client, **settings: Any) -> ServiceInstance:
    """A new Verify Service named "Shop" (unless `friendly_name` says otherwise)."""
    settings.setdefault("friendly_name", "Shop")
    return client.verify.v2.services.create(**settings)


def codes(emulator: RunningEmulator, to: str) -> list[dict[str, Any]]:
    """The codes sent to `to`, newest first, as the control API lists them."""
    reply = control(emulator, "GET", "/_emulator/verify/codes?to=" + to.replace("+", "%2B"))
    assert reply.status == 200, reply.json
    found: list[dict[str, Any]] = reply.json["codes"]
    return found


def latest_code(emulator: RunningEmulator, to: str) -> str:
    """The last code sent to `to`."""
    code: str = codes(emulator, to)[0]["code"]
    return code


def wrong_code(code: str) -> str:
    """A code of the same length that is certainly not `code`."""
    return "".join(str((int(digit) + 1) % 10) for digit in code)
