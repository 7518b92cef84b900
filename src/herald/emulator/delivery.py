"""The delivery engine: moves outbound messages through Twilio's lifecycle on the emulator clock.

    scheduled ─(SendAt)─▶ queued
    accepted ─(step)─▶ queued            (Messaging Service: the sender is assigned here)
    queued ─(sender free)─▶ sending ─(step)─▶ sent ─(step)─▶ delivered ─(step)─▶ read
                 │                        └─▶ failed       └─▶ undelivered
                 └─(validity period over)─▶ failed 30001 / 30036

How a message ends is `outcomes.outcome_for(to)`; when it may leave its sender's queue is
`throughput.Throughput`; `send_checks` may fail it at the moment it is sent (the WhatsApp
24-hour window plugs in there). Every status change after creation is offered to the
`status_listeners` and, when the message has a `StatusCallback`, posted as a signed callback:
Twilio sends no callback for the status a message is created with, and none for `sending`
(https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks).

Work is a heap of (due time, step) entries. `run_due(now)` performs every step due by `now` and
dates each change at the moment it was due, so a manual clock moved by an hour replays the hour
exactly; `run()` is the loop the app keeps alive, sleeping on the clock until the next step.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from herald.emulator.callbacks import Callback, CallbackSender
from herald.emulator.clock import Clock
from herald.emulator.message_store import Message, MessageStore
from herald.emulator.outcomes import DELIVERY_ERROR_MESSAGES, outcome_for
from herald.emulator.throughput import Throughput
from herald.emulator.whatsapp import bare_number, is_whatsapp
from herald.emulator.wire import API_VERSION

SendCheck = Callable[[Message, datetime], tuple[int, str] | None]
"""Consulted when a message is sent: (error code, message) fails it, None lets it go."""
StatusListener = Callable[[Message, str], None]
"""Told of every status change after creation: the message and its previous status."""

# What the emulator charges per segment once a message is sent, in USD; Twilio's list prices
# for US SMS and WhatsApp service messages are of this order, and other countries cost more.
_PRICE_PER_SEGMENT: Final = {"whatsapp": Decimal("0.00500"), "+1": Decimal("0.00790")}
_OTHER_PRICE: Final = Decimal("0.05000")
_PRICE_UNIT: Final = "USD"
_NO_CALLBACK_STATUSES: Final = frozenset({"sending"})


@dataclasses.dataclass(order=True, frozen=True, slots=True)
class _Step:
    due: datetime
    order: int
    sid: str = dataclasses.field(compare=False)
    action: str = dataclasses.field(compare=False)


class DeliveryEngine:
    """Drives every accepted message to its final status and fires its status callbacks."""

    def __init__(
        self,
        store: MessageStore,
        clock: Clock,
        *,
        step_seconds: float,
        throughput: Throughput,
        auth_token_of: Callable[[str], str | None],
        new_token: Callable[[], str],
    ) -> None:
        self.store = store
        self.clock = clock
        self.step = timedelta(seconds=step_seconds)
        self.throughput = throughput
        self.callbacks: CallbackSender | None = None
        self.send_checks: list[SendCheck] = []
        self.status_listeners: list[StatusListener] = []
        self._auth_token_of = auth_token_of
        self._new_token = new_token
        self._heap: list[_Step] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()

    # -- entering work -------------------------------------------------------------------------

    def accept(self, message: Message) -> None:
        """Take a newly created message and plan its first step from its initial status."""
        now = self.clock.now()
        if message.status == "scheduled":
            assert message.send_at is not None
            self._plan(message.send_at, message, "release")
        elif message.status == "accepted":
            self._plan(now + self.step, message, "assign")
        else:
            self._queue(message, now, queued_at=message.date_created)

    def cancel(self, message: Message) -> None:
        """Cancel a scheduled message; its planned release is then skipped."""
        self._change(message, "canceled", self.clock.now())

    def clear(self) -> None:
        """Forget every planned step (after a reset)."""
        self._heap.clear()
        self.throughput.clear()

    @property
    def planned(self) -> int:
        """How many steps are waiting in the heap."""
        return len(self._heap)

    def next_due(self) -> datetime | None:
        """When the earliest planned step is due, or None when nothing is planned."""
        return self._heap[0].due if self._heap else None

    # -- running -------------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> int:
        """Perform every step due by `now` (default: the clock's now); return how many ran."""
        limit = self.clock.now() if now is None else now
        done = 0
        while self._heap and self._heap[0].due <= limit:
            step = heapq.heappop(self._heap)
            message = self.store.lookup(step.sid)
            if message is not None:
                getattr(self, "_" + step.action)(message, step.due)
            done += 1
        return done

    async def run(self) -> None:
        """Run steps as they fall due, forever (cancel the task to stop)."""
        while True:
            self._wake.clear()
            self.run_due()
            due = self.next_due()
            waits: set[asyncio.Task[object]] = {asyncio.create_task(self._wake.wait())}
            if due is not None:
                waits.add(asyncio.create_task(self.clock.sleep_until(due)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
                for task in waits:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    # -- the steps -----------------------------------------------------------------------------

    def _release(self, message: Message, at: datetime) -> None:
        if message.status != "scheduled":
            return
        self._assign_sender(message)
        self._change(message, "queued", at)
        self._queue(message, at, queued_at=at)

    def _assign(self, message: Message, at: datetime) -> None:
        if message.status != "accepted":
            return
        self._assign_sender(message)
        self._change(message, "queued", at)
        self._queue(message, at, queued_at=message.date_created)

    def _queue(self, message: Message, now: datetime, *, queued_at: datetime) -> None:
        slot = self.throughput.reserve(
            message.from_ or "",
            now=now,
            earliest=now + self.step,
            segments=message.num_segments,
            queued_at=queued_at,
            validity_period=message.validity_period,
        )
        if slot.start is None:
            assert slot.expires is not None
            assert slot.error_code is not None
            message.error_code = slot.error_code
            self._plan(slot.expires, message, "expire")
        else:
            self._plan(slot.start, message, "send")

    def _expire(self, message: Message, at: datetime) -> None:
        if message.status != "queued":
            return
        assert message.error_code is not None
        self._fail(message, at, message.error_code, DELIVERY_ERROR_MESSAGES[message.error_code])

    def _send(self, message: Message, at: datetime) -> None:
        if message.status != "queued":
            return
        for check in self.send_checks:
            refusal = check(message, at)
            if refusal is not None:
                self._fail(message, at, *refusal)
                return
        self._change(message, "sending", at)
        self._plan(at + self.step, message, "hand_over")

    def _hand_over(self, message: Message, at: datetime) -> None:
        if message.status != "sending":
            return
        outcome = outcome_for(message.to)
        if not outcome.reaches_carrier:
            assert outcome.error_code is not None
            self._fail(message, at, outcome.error_code, outcome.error_message or "")
            return
        message.date_sent = at
        message.price = _price(_price_per_segment(message.to), max(message.num_segments, 1))
        message.price_unit = _PRICE_UNIT
        self._change(message, "sent", at)
        if outcome.final_status != "sent":
            self._plan(at + self.step, message, "report")
        else:
            # No receipt will come: the message is finished, and may be evicted like a final one.
            message.no_receipt = True
            self.store.note_final(message)

    def _report(self, message: Message, at: datetime) -> None:
        if message.status != "sent":
            return
        outcome = outcome_for(message.to)
        if outcome.final_status == "undelivered":
            message.error_code = outcome.error_code
            message.error_message = outcome.error_message
            self._change(message, "undelivered", at)
            return
        self._change(message, "delivered", at)
        if outcome.final_status == "read":
            self._plan(at + self.step, message, "read")

    def _read(self, message: Message, at: datetime) -> None:
        if message.status == "delivered":
            self._change(message, "read", at)

    # -- helpers -------------------------------------------------------------------------------

    def _assign_sender(self, message: Message) -> None:
        # The Service's sender was chosen (and its availability checked) when the message was
        # created; Twilio shows it in `from` only once the message leaves `accepted`.
        if message.from_ is None and message.pending_from is not None:
            self.store.set_from(message, message.pending_from)

    def _fail(self, message: Message, at: datetime, code: int, text: str) -> None:
        message.error_code = code
        message.error_message = text
        self._change(message, "failed", at)

    def _plan(self, due: datetime, message: Message, action: str) -> None:
        step = _Step(due, next(self._order), message.sid, action)
        heapq.heappush(self._heap, step)
        if self._heap[0] is step:
            self._wake.set()

    def _change(self, message: Message, status: str, at: datetime) -> None:
        previous = message.status
        message.status = status
        message.date_updated = at
        if message.is_final:
            self.store.note_final(message)
        for listener in self.status_listeners:
            listener(message, previous)
        if (
            message.status_callback
            and self.callbacks is not None
            and status not in _NO_CALLBACK_STATUSES
        ):
            token = self._auth_token_of(message.account_sid)
            if token is not None:
                self.callbacks.submit(self._callback(message, token))

    def _callback(self, message: Message, auth_token: str) -> Callback:
        assert message.status_callback is not None
        return Callback(
            url=message.status_callback,
            params=status_callback_params(message),
            auth_token=auth_token,
            idempotency_token=self._new_token(),
            account_sid=message.account_sid,
            resource_sid=message.sid,
            event=message.status,
        )


def status_callback_params(message: Message) -> tuple[tuple[str, str], ...]:
    """The form parameters of a message status callback, as Twilio sends them (§11).

    `Body` is never included; `ErrorCode` only for `failed`/`undelivered`; `RawDlrDoneDate`
    (the carrier's `YYMMDDhhmm`) with an SMS delivery receipt; the `Channel*` and `EventType`
    parameters only for WhatsApp.
    """
    status = message.status
    params: list[tuple[str, str]] = [
        ("MessageSid", message.sid),
        ("SmsSid", message.sid),
        ("AccountSid", message.account_sid),
        ("From", message.from_ or ""),
        ("To", message.to),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("ApiVersion", API_VERSION),
    ]
    if message.messaging_service_sid is not None:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    if status in {"failed", "undelivered"} and message.error_code is not None:
        params.append(("ErrorCode", str(message.error_code)))
    if is_whatsapp(message.to):
        params.append(("ChannelPrefix", "whatsapp"))
        params.append(("ChannelToAddress", bare_number(message.to)))
        if status in {"delivered", "read"}:
            params.append(("EventType", status.upper()))
    elif status in {"delivered", "undelivered"}:
        params.append(("RawDlrDoneDate", message.date_updated.strftime("%y%m%d%H%M")))
    return tuple(params)


@functools.lru_cache(maxsize=256)
def _price(per_segment: Decimal, segments: int) -> str:
    # Cached so that the messages sent at one price share one string.
    return f"-{per_segment * segments}"


def _price_per_segment(to: str) -> Decimal:
    if is_whatsapp(to):
        return _PRICE_PER_SEGMENT["whatsapp"]
    return _PRICE_PER_SEGMENT["+1"] if to.startswith("+1") else _OTHER_PRICE
