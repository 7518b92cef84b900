"""The Messages runtime of one emulator: message store, delivery engine, webhook log, seams.

`messaging(state)` returns the one `Messaging` of an `EmulatorState`, created on first use. It
outlives `state.reset()` (a reset empties it instead), because the delivery loop and the callback
sender started with the app hold on to it.

Seams other parts of the emulator plug into:

- `opt_outs`: the recipients that replied STOP, per sender or Messaging Service (21610);
- `policy`: a `CallbackPolicy` deciding the fate of callbacks and create responses (chaos);
- `engine.send_checks` / `engine.status_listeners`: refuse a message as it is sent, observe
  every status change.

`lifespan(emulator)` is the app's background task: one shared `aiohttp.ClientSession` for every
callback, and the delivery loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import weakref
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp

from herald.emulator.callbacks import (
    CallbackPolicy,
    CallbackSender,
    ConnectionSettings,
    DeliverNormally,
    WebhookLog,
)
from herald.emulator.delivery import DeliveryEngine, SendCheck
from herald.emulator.message_store import Message, MessageStore
from herald.emulator.routing import Emulator
from herald.emulator.state import EmulatorState
from herald.emulator.throughput import Throughput
from herald.emulator.whatsapp import (
    OUTSIDE_WINDOW_MESSAGE,
    bare_number,
    delivery_error,
    whatsapp_state,
)

_RUNTIMES: weakref.WeakKeyDictionary[EmulatorState, Messaging] = weakref.WeakKeyDictionary()


class OptOuts:
    """Who has opted out of whom: (account, sender number or Messaging Service, recipient).

    Twilio scopes an opt-out to the number the recipient replied to, or to the whole Service
    when that number is in one (TWILIO-API.md §13); a later send in that scope is 400/21610.
    Numbers are kept bare, so an SMS opt-out also covers the same number's `whatsapp:` address.
    """

    def __init__(self) -> None:
        self._blocked: set[tuple[str, str, str]] = set()

    def add(self, account_sid: str, scope: str, recipient: str) -> None:
        """Record that `recipient` opted out of `scope` (a sender number or an `MG…` SID)."""
        self._blocked.add((account_sid, bare_number(scope), bare_number(recipient)))

    def remove(self, account_sid: str, scope: str, recipient: str) -> None:
        """Record that `recipient` opted back in to `scope`."""
        self._blocked.discard((account_sid, bare_number(scope), bare_number(recipient)))

    def blocks(
        self, account_sid: str, *, sender: str | None, service_sid: str | None, recipient: str
    ) -> bool:
        """Whether a message to `recipient` from this sender or Service must be refused."""
        to = bare_number(recipient)
        return any(
            (account_sid, bare_number(scope), to) in self._blocked
            for scope in (sender, service_sid)
            if scope
        )

    def entries(self) -> list[tuple[str, str, str]]:
        """Every opt-out as (account, scope, recipient), sorted."""
        return sorted(self._blocked)

    def clear(self) -> None:
        """Forget every opt-out."""
        self._blocked.clear()


@dataclasses.dataclass(slots=True)
class Messaging:
    """Everything the Messages resource keeps beside the generic stores."""

    store: MessageStore
    engine: DeliveryEngine
    webhooks: WebhookLog
    opt_outs: OptOuts
    policy: CallbackPolicy

    def clear(self) -> None:
        """Forget every message, planned step, webhook record and opt-out."""
        self.store.clear()
        self.engine.clear()
        self.webhooks.clear()
        self.opt_outs.clear()


def messaging(state: EmulatorState) -> Messaging:
    """The Messages runtime of `state`."""
    runtime = _RUNTIMES.get(state)
    if runtime is None:
        runtime = _build(state)
        _RUNTIMES[state] = runtime
        state.reset_hooks.append(lambda reset: messaging(reset).clear())
    return runtime


def _build(state: EmulatorState) -> Messaging:
    config = state.config
    store = MessageStore(config.max_messages)

    def auth_token_of(account_sid: str) -> str | None:
        account = state.accounts.get(account_sid)
        return None if account is None else account.auth_token

    def new_token() -> str:
        digits = state.sids.hex(32)
        return "-".join((digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:]))

    engine = DeliveryEngine(
        store,
        state.clock,
        step_seconds=config.delivery_step_seconds,
        throughput=Throughput(enabled=config.throughput_enabled),
        auth_token_of=auth_token_of,
        new_token=new_token,
    )
    engine.send_checks.append(_whatsapp_window(state))
    return Messaging(
        store=store,
        engine=engine,
        webhooks=WebhookLog(config.webhook_log_size),
        opt_outs=OptOuts(),
        policy=DeliverNormally(),
    )


def _whatsapp_window(state: EmulatorState) -> SendCheck:
    # Outside the window only an approved template goes out; a free-form message (or a template
    # WhatsApp rejected) is accepted at create and fails here with 63016, as on Twilio.
    def check(message: Message, at: datetime) -> tuple[int, str] | None:
        code = delivery_error(
            whatsapp_state(state),
            from_=message.from_ or "",
            to=message.to,
            now=at,
            template_approved=message.template_approved,
        )
        return None if code is None else (code, OUTSIDE_WINDOW_MESSAGE)

    return check


@contextlib.asynccontextmanager
async def lifespan(emulator: Emulator) -> AsyncIterator[None]:
    """Run the delivery loop and the callback sender for as long as the app runs."""
    runtime = messaging(emulator.state)
    config = emulator.config
    settings = ConnectionSettings(
        retries=config.callback_retries,
        connect_timeout=config.callback_timeout_seconds,
        read_timeout=config.callback_timeout_seconds,
        total_timeout=config.callback_timeout_seconds,
        retry_on=frozenset({"ct", "rt", "5xx"}),
    )
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sender = CallbackSender(
            session,
            clock=emulator.clock,
            log=runtime.webhooks,
            policy=lambda: runtime.policy,
            settings=settings,
            retry_backoff=config.callback_retry_backoff_seconds,
        )
        runtime.engine.callbacks = sender
        loop = asyncio.create_task(runtime.engine.run())
        try:
            yield
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
            runtime.engine.callbacks = None
            await sender.close()
