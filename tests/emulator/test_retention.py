"""Retention: `max_messages` bounds every structure that grows with the emulator's messages.

Thousands of messages, not millions: `bench/emulator_memory.py` measures a million.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from herald.emulator import EmulatorConfig, EmulatorState, ManualClock
from herald.emulator.callbacks import WebhookDelivery, WebhookLog
from herald.emulator.delivery import DeliveryEngine
from herald.emulator.events import EventBus
from herald.emulator.message_store import Message, MessageQuery, MessageStore
from herald.emulator.messaging import messaging
from herald.emulator.messaging_services import sticky_senders
from herald.emulator.sender_pool import StickySenders
from herald.emulator.throughput import Throughput
from herald.emulator.whatsapp import WhatsAppState, whatsapp_state

ACCOUNT = "AC" + "0" * 32
SENDER = "+14155550100"
START = datetime(2025, 1, 1, tzinfo=UTC)
MAX = 1000
PASSED = 10 * MAX
# The store's documented bound: stale sequence numbers are compacted away once they pass a
# quarter of the live messages, or 1024.
INDEX_BOUND = MAX + max(1024, MAX // 4)


def message(index: int, *, status: str = "delivered", to: str | None = None) -> Message:
    """A message of the one test account; each index has its own recipient unless `to` says."""
    return Message(
        sid=f"SM{index:032x}",
        account_sid=ACCOUNT,
        to=to or f"+1415{2_000_000 + index}",
        from_="".join(SENDER),  # a copy, as a parsed request gives each message its own
        body="Your order has shipped.",
        status=status,
        date_created=START,
        date_updated=START,
        num_segments=1,
        status_callback="".join("https://shop.example.com/status"),
    )


def engine_for(store: MessageStore, clock: ManualClock) -> DeliveryEngine:
    """A delivery engine without throughput limits or callbacks."""
    return DeliveryEngine(
        store,
        clock,
        step_seconds=0.02,
        throughput=Throughput(enabled=False),
        auth_token_of=lambda _sid: None,
        new_token=lambda: "token",
    )


def test_store_holds_max_messages_after_ten_times_as_many_pass() -> None:
    """After 10 x max finished messages, exactly max remain: the newest ones."""
    store = MessageStore(MAX)
    for index in range(PASSED):
        store.add(message(index))
    assert len(store) == MAX
    assert store.lookup(f"SM{PASSED - MAX:032x}") is not None
    assert store.lookup(f"SM{PASSED - MAX - 1:032x}") is None


def test_every_index_stays_within_the_bound_while_messages_pass() -> None:
    """No index, key table or queue of the store ever holds more than the documented bound."""
    store = MessageStore(MAX)
    largest: dict[str, int] = {}
    for index in range(PASSED):
        store.add(message(index))
        for name, count in store.footprint().items():
            largest[name] = max(largest.get(name, 0), count)
    assert largest["messages"] == MAX
    assert largest["by_seq"] == MAX
    for name in ("account_index", "to_index", "to_keys", "from_index", "order"):
        assert largest[name] <= INDEX_BOUND, name


def test_index_entries_equal_messages_right_after_a_compaction() -> None:
    """Once stale entries are compacted away, each index holds exactly the stored messages."""
    store = MessageStore(MAX)
    previous = 0
    for index in range(PASSED):
        store.add(message(index))
        counts = store.footprint()
        if counts["account_index"] < previous:
            break
        previous = counts["account_index"]
    else:
        raise AssertionError("no compaction happened")
    assert counts["account_index"] == counts["to_index"] == counts["from_index"] == MAX
    assert counts["to_keys"] == counts["order"] == MAX


def test_messages_ending_sent_without_receipt_are_evicted() -> None:
    """A message that stays `sent` (no delivery receipt comes) is evicted like a final one."""
    clock = ManualClock(START)
    store = MessageStore(MAX)
    engine = engine_for(store, clock)
    for index in range(2 * MAX):
        queued = message(index, status="queued", to=f"+1415555017{index % 10}")
        store.add(queued)
        engine.accept(queued)
        clock.advance(0.1)
        engine.run_due()
    assert len(store) == MAX
    assert store.footprint()["unfinished"] == 0


def test_delivery_engine_plans_nothing_once_every_message_finished() -> None:
    """The engine's heap holds steps only for messages on their way, none after they finish."""
    clock = ManualClock(START)
    store = MessageStore(MAX)
    engine = engine_for(store, clock)
    for index in range(2 * MAX):
        queued = message(index, status="queued", to="+14155550105")
        store.add(queued)
        engine.accept(queued)
    clock.advance(timedelta(seconds=1))
    engine.run_due()
    assert engine.planned == 0
    assert len(store) == MAX


def test_messages_of_one_sender_share_its_strings() -> None:
    """Equal `From` and `StatusCallback` values are kept once, not once per message."""
    store = MessageStore(MAX)
    first, second = message(1), message(2)
    assert first.from_ is not second.from_
    store.add(first)
    store.add(second)
    assert first.from_ is second.from_
    assert first.status_callback is second.status_callback


def test_shared_string_table_stays_bounded() -> None:
    """A store fed ever new callback URLs never keeps more than its bounded string table."""
    store = MessageStore(MAX)
    for index in range(PASSED):
        each = message(index)
        each.status_callback = f"https://shop.example.com/status/{index}"
        store.add(each)
    assert store.footprint()["shared_strings"] <= 4096


def test_sender_assigned_later_keeps_the_from_index_in_order() -> None:
    """A Service message whose sender is set after younger messages still pages newest first."""
    store = MessageStore(MAX)
    older = message(1)
    older.from_ = None
    store.add(older)
    younger = message(2)
    store.add(younger)
    store.set_from(older, SENDER)
    query = MessageQuery(from_=SENDER)
    first, more = store.page(ACCOUNT, query, before=None, size=1)
    assert (first, more) == ([younger], True)
    second, more = store.page(ACCOUNT, query, before=younger.seq, size=1)
    assert (second, more) == ([older], False)


def test_webhook_log_keeps_at_most_its_size() -> None:
    """The webhook log keeps the newest `webhook_log_size` attempts and drops older ones."""
    log = WebhookLog(10)
    for attempt in range(1, 26):
        log.record(
            WebhookDelivery(
                url="https://shop.example.com/status",
                params={},
                signature="",
                idempotency_token="",
                account_sid=ACCOUNT,
                resource_sid=f"SM{attempt:032x}",
                event="delivered",
                attempt=attempt,
                status_code=200,
                error=None,
                latency_ms=1.0,
                at=START,
            )
        )
    assert len(log) == 10
    assert log.entries()[0].attempt == 16


async def test_event_subscription_holds_at_most_its_queue() -> None:
    """A reader that never reads holds only its queue's worth of events and counts the rest."""
    bus = EventBus(lambda: START, queue_size=10)
    subscription = bus.subscribe()
    for index in range(25):
        bus.publish("message.created", {"index": index})
    await asyncio.sleep(0)
    kept = []
    while (event := subscription.pop()) is not None:
        kept.append(event.data["index"])
    assert kept == list(range(15, 25))
    assert subscription.dropped == 15


def test_sticky_senders_keep_the_most_recently_used_mappings() -> None:
    """Past its capacity Sticky Sender forgets the recipient it sent to least recently."""
    sticky = StickySenders(capacity=3)
    for recipient in ("+14155550101", "+14155550102", "+14155550103"):
        sticky.remember("MG1", recipient, SENDER)
    sticky.remember("MG1", "+14155550101", SENDER)
    sticky.remember("MG1", "+14155550104", SENDER)
    assert len(sticky.mappings) == 3
    assert sticky.lookup("MG1", "+14155550101") == SENDER
    assert sticky.lookup("MG1", "+14155550102") is None


def test_whatsapp_windows_keep_the_most_recently_opened() -> None:
    """Past its capacity the WhatsApp state forgets the window opened longest ago."""
    windows = WhatsAppState(capacity=3)
    for minute, customer in enumerate(("+14155550101", "+14155550102", "+14155550103")):
        windows.open(SENDER, customer, START + timedelta(minutes=minute))
    windows.open(SENDER, "+14155550101", START + timedelta(minutes=5))
    windows.open(SENDER, "+14155550104", START + timedelta(minutes=6))
    assert len(windows.last_inbound) == 3
    assert windows.is_open(SENDER, "+14155550101", START + timedelta(minutes=7))
    assert windows.expires_at(SENDER, "+14155550102") is None


def test_emulator_bounds_sticky_senders_and_windows_by_max_messages() -> None:
    """The emulator gives Sticky Sender and WhatsApp windows the capacity of its message store."""
    state = EmulatorState(EmulatorConfig(max_messages=MAX), ManualClock(START))
    assert messaging(state).store.max_messages == MAX
    assert sticky_senders(state).capacity == MAX
    assert whatsapp_state(state).capacity == MAX
