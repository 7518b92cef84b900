"""An offline, stateful stand-in for Twilio's REST API (and, later, Verify and SendGrid).

Point the official `twilio` client at it (see docs/emulator.md) and code written for
api.twilio.com works unchanged. It imports `herald.domain` and nothing else of Herald's, so that
it stays an independent witness of Twilio's behaviour.
"""

from __future__ import annotations

from herald.emulator.app import create_app
from herald.emulator.clock import Clock, ManualClock, SystemClock
from herald.emulator.config import EmulatorConfig, EmulatorConfigError
from herald.emulator.errors import TwilioError
from herald.emulator.state import EmulatorState

__all__ = [
    "Clock",
    "EmulatorConfig",
    "EmulatorConfigError",
    "EmulatorState",
    "ManualClock",
    "SystemClock",
    "TwilioError",
    "create_app",
]
