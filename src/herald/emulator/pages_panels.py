"""What the inbox's other pages show: accounts and numbers, webhook attempts, chaos switches.

Plain values computed from the emulator's state for the templates, like `pages_views`; the
chaos form's fields are described here once so the page and its labels stay in step with
`ChaosSettings`.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from herald.emulator.callbacks import WebhookDelivery
from herald.emulator.chaos import API_RATES, CALLBACK_RATES, ChaosSettings, chaos_board
from herald.emulator.messaging import messaging
from herald.emulator.messaging_services import POOL, SERVICES, MessagingService
from herald.emulator.numbers import IncomingNumber, PhoneNumbers
from herald.emulator.phones import phone_of
from herald.emulator.state import Account, EmulatorState
from herald.emulator.whatsapp import whatsapp_state

MAX_WEBHOOKS: Final = 100
"""Webhook attempts listed, the newest first."""


@dataclasses.dataclass(frozen=True, slots=True)
class NumberRow:
    """A bought number with where its incoming messages go."""

    number: IncomingNumber
    service: MessagingService | None
    whatsapp: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AccountPanel:
    """An account with its numbers and Messaging Services."""

    account: Account
    numbers: list[NumberRow]
    services: list[MessagingService]


def account_panels(state: EmulatorState) -> list[AccountPanel]:
    """Every account, the main one first, with its numbers and Services."""
    numbers = PhoneNumbers(state)
    services = state.store(SERVICES)
    pool = state.store(POOL)
    senders = whatsapp_state(state)
    panels = []
    for account in state.accounts:
        own_services = [each for each in services if each.account_sid == account.sid]
        rows = []
        for number in numbers.of_account(account.sid):
            entry = pool.get(number.sid)
            service = services.get(entry.service_sid) if entry is not None else None
            whatsapp = senders.is_sender(account.sid, number.phone_number)
            rows.append(NumberRow(number, service, whatsapp))
        panels.append(AccountPanel(account, rows, own_services))
    return panels


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRow:
    """One webhook attempt, with the phone whose message it was about (when still known)."""

    delivery: WebhookDelivery
    phone: str | None


def webhook_rows(state: EmulatorState, limit: int = MAX_WEBHOOKS) -> tuple[list[WebhookRow], int]:
    """The newest `limit` webhook attempts, newest first, and how many the log holds."""
    runtime = messaging(state)
    entries = runtime.webhooks.entries()
    rows = []
    for delivery in reversed(entries[-limit:]):
        message = runtime.store.lookup(delivery.resource_sid)
        rows.append(WebhookRow(delivery, phone_of(message) if message is not None else None))
    return rows, len(entries)


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosField:
    """One input of the chaos form."""

    name: str
    label: str
    kind: str
    """`share` (0 to 1), `ms` (whole milliseconds) or `seed` (an integer, or empty)."""
    help: str


CHAOS_FIELDS: Final = (
    ChaosField("seed", "Seed", "seed", "Makes every decision reproducible; empty for random."),
    ChaosField("latency_ms", "Latency", "ms", "Every API request waits this long."),
    ChaosField("latency_jitter_ms", "Latency jitter", "ms", "Plus or minus, uniformly."),
    ChaosField("too_many_requests", "429 Too many requests", "share", "Code 20429."),
    ChaosField("server_errors", "500 Server error", "share", "Code 20500."),
    ChaosField("unavailable", "503 Unavailable", "share", "Code 20503."),
    ChaosField(
        "lost_responses",
        "Lost create responses",
        "share",
        "The message is sent, the connection closes without an answer.",
    ),
    ChaosField("callback_drop", "Dropped callbacks", "share", "Never sent."),
    ChaosField("callback_duplicate", "Duplicated callbacks", "share", "Sent twice."),
    ChaosField("callback_delay", "Delayed callbacks", "share", "Sent after the delay below."),
    ChaosField("callback_delay_ms", "Callback delay", "ms", "On the emulator's clock."),
    ChaosField("callback_reorder", "Reordered callbacks", "share", "Overtaken by the next one."),
)
assert {field.name for field in CHAOS_FIELDS} == {
    field.name for field in dataclasses.fields(ChaosSettings)
}, "every chaos setting has its input"


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosTarget:
    """Settings in force for the default or one account, with what they did so far."""

    account_sid: str | None
    own: bool
    settings: ChaosSettings
    counts: dict[str, int]

    def form_values(self) -> dict[str, str]:
        """Each setting as its form input shows it (an unset seed is empty)."""
        values = self.settings.to_json()
        return {name: "" if value is None else f"{value:g}" for name, value in values.items()}

    def switched_on(self) -> list[str]:
        """The faults in force, as `name value` (the callback delay alone does nothing)."""
        return [
            f"{name} {value:g}"
            for name, value in self.settings.to_json().items()
            if value and name != "callback_delay_ms"
        ]

    def happened(self) -> list[str]:
        """What the chaos did so far, as `name count`."""
        return [f"{name} {count}" for name, count in self.counts.items() if count]


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosPanel:
    """The default chaos, every account's, and the form's fields."""

    default: ChaosTarget
    accounts: list[ChaosTarget]
    fields: tuple[ChaosField, ...] = CHAOS_FIELDS
    api_rates: tuple[str, ...] = API_RATES
    callback_rates: tuple[str, ...] = CALLBACK_RATES


def chaos_panel(state: EmulatorState) -> ChaosPanel:
    """The chaos in force: the default, and for each account its own or the default."""
    board = chaos_board(state)
    default = ChaosTarget(
        None, own=False, settings=board.default.settings, counts=dict(board.default.counts)
    )
    accounts = []
    for account in state.accounts:
        chaos = board.for_account(account.sid)
        own = account.sid in board.accounts
        accounts.append(ChaosTarget(account.sid, own, chaos.settings, dict(chaos.counts)))
    return ChaosPanel(default=default, accounts=accounts)
