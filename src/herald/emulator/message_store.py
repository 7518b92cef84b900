"""The emulator's Messages: the record of one message and the bounded in-memory store of them.

The store is built for a million messages: records are slotted dataclasses, the indices (per
account, per account and `To`, per account and `From`) are append-only lists of creation
sequence numbers, so a page is found by bisection and walked newest first, and a deleted
message leaves only a stale number behind that the next compaction drops.

Memory is bounded by `max_messages`: past it, the oldest finished message (a final status, or
`sent` with no delivery receipt to come) is evicted first. A message still on its way
(scheduled, queued, sending, sent and awaiting a receipt) is never evicted; it becomes
evictable, ahead of younger ones, once it finishes. Every per-message structure follows: the
sequence numbers an evicted message leaves in the indices are dropped by a compaction once they
pass a quarter of the live messages (or 1024), so the indices never hold more than
`max_messages * 5 / 4 + 1024` entries. `footprint()` counts them.

Messages of one sender or one callback URL share one string for it (through a small bounded
table), as the same few values recur in every message an application sends.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Final, TypeVar

FINAL_STATUSES: Final = frozenset(
    {"delivered", "undelivered", "failed", "read", "received", "canceled"}
)
"""Statuses a message never leaves (`sent` is not one: a delivery receipt may still come)."""

SETTLED_STATUSES: Final = FINAL_STATUSES | {"sent"}
"""Statuses after which a message is no longer in flight inside the emulator."""

_COMPACT_MIN_STALE: Final = 1024
_COMPACT_SHARE: Final = 4
"""Compact once stale sequence numbers pass 1/_COMPACT_SHARE of the live messages."""
_SHARED_STRINGS: Final = 4096

K = TypeVar("K")


@dataclasses.dataclass(slots=True)
class Message:
    """One Message resource as the emulator keeps it (rendering lives in `messages.py`)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    num_segments: int
    num_media: int = 0
    media_urls: tuple[str, ...] = ()
    direction: str = "outbound-api"
    messaging_service_sid: str | None = None
    pending_from: str | None = None
    """The Messaging Service sender chosen at creation, shown in `from` once it is assigned."""
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    price_unit: str | None = None
    status_callback: str | None = None
    validity_period: int | None = None
    send_at: datetime | None = None
    content_sid: str | None = None
    template_approved: bool | None = None
    """For a Content template, whether WhatsApp approved it; None for a free-form message."""
    encoding: str = "GSM-7"
    seq: int = 0
    no_receipt: bool = False
    """Set once the message is `sent` and the carrier will send no delivery receipt for it."""

    @property
    def is_final(self) -> bool:
        """Whether the message has reached a status it never leaves."""
        return self.status in FINAL_STATUSES

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen to the message (so the store may evict it)."""
        return self.no_receipt or self.status in FINAL_STATUSES

    @property
    def in_flight(self) -> bool:
        """Whether the emulated carrier is still working on it (Twilio refuses DELETE then)."""
        return self.status not in SETTLED_STATUSES and self.status != "scheduled"


@dataclasses.dataclass(frozen=True, slots=True)
class MessageQuery:
    """The filters of `GET …/Messages.json`; None means "any"."""

    to: str | None = None
    from_: str | None = None
    date_sent: Callable[[datetime | None], bool] | None = None


class MessageStore:
    """Every message the emulator holds, with the indices the list endpoint needs."""

    def __init__(self, max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1.")
        self.max_messages = max_messages
        self.clear()

    def clear(self) -> None:
        """Forget every message."""
        self._by_sid: dict[str, Message] = {}
        self._by_seq: dict[int, Message] = {}
        self._by_account: dict[str, list[int]] = {}
        self._by_to: dict[tuple[str, str], list[int]] = {}
        self._by_from: dict[tuple[str, str], list[int]] = {}
        self._order: deque[int] = deque()
        self._finished_late: deque[int] = deque()
        self._unfinished: set[int] = set()
        self._shared: dict[str, str] = {}
        self._next_seq = 1
        self._stale = 0

    def __len__(self) -> int:
        return len(self._by_sid)

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._by_sid.values()))

    def add(self, message: Message) -> list[Message]:
        """Store `message` (giving it its sequence number); return the messages evicted for it."""
        message.seq = self._next_seq
        self._next_seq += 1
        message.from_ = self._share(message.from_)
        message.status_callback = self._share(message.status_callback)
        self._by_sid[message.sid] = message
        self._by_seq[message.seq] = message
        self._by_account.setdefault(message.account_sid, []).append(message.seq)
        self._by_to.setdefault((message.account_sid, message.to), []).append(message.seq)
        if message.from_ is not None:
            key = (message.account_sid, message.from_)
            self._by_from.setdefault(key, []).append(message.seq)
        self._order.append(message.seq)
        return self._evict()

    def get(self, account_sid: str, sid: str) -> Message | None:
        """The account's message `sid`, or None (another account's message is not found)."""
        message = self._by_sid.get(sid)
        if message is None or message.account_sid != account_sid:
            return None
        return message

    def lookup(self, sid: str) -> Message | None:
        """The message `sid` whatever its account (for the delivery engine and control API)."""
        return self._by_sid.get(sid)

    def set_from(self, message: Message, from_: str) -> None:
        """Record the sender picked for a message sent through a Messaging Service."""
        if message.from_ is None:
            # Assigned a step after creation, so younger messages of this sender may already be
            # in the index: insert in place to keep it sorted for bisection.
            index = self._by_from.setdefault((message.account_sid, from_), [])
            bisect.insort(index, message.seq)
        message.from_ = self._share(from_)

    def remove(self, message: Message) -> None:
        """Forget `message` (DELETE, or eviction)."""
        if self._by_sid.pop(message.sid, None) is None:
            return
        del self._by_seq[message.seq]
        self._unfinished.discard(message.seq)
        self._stale += 1
        if self._stale > max(_COMPACT_MIN_STALE, len(self._by_sid) // _COMPACT_SHARE):
            self._compact()

    def note_final(self, message: Message) -> None:
        """Tell the store that `message` finished (see `Message.finished`): it may be evicted."""
        if message.seq in self._unfinished:
            self._unfinished.discard(message.seq)
            self._finished_late.append(message.seq)
            self._evict()

    def page(
        self, account_sid: str, query: MessageQuery, *, before: int | None, size: int
    ) -> tuple[list[Message], bool]:
        """Up to `size` matching messages, newest first, older than sequence `before` if given.

        Returns the page and whether more matching messages follow it.
        """
        index = self._index_for(account_sid, query)
        start = len(index) if before is None else bisect.bisect_left(index, before)
        found: list[Message] = []
        for position in range(start - 1, -1, -1):
            message = self._by_seq.get(index[position])
            if message is None or not _matches(message, query):
                continue
            if len(found) == size:
                return found, True
            found.append(message)
        return found, False

    def page_after(
        self, account_sid: str, query: MessageQuery, *, after: int, size: int
    ) -> list[Message]:
        """The `size` matching messages just newer than sequence `after`, newest first."""
        index = self._index_for(account_sid, query)
        found: list[Message] = []
        for position in range(bisect.bisect_right(index, after), len(index)):
            message = self._by_seq.get(index[position])
            if message is None or not _matches(message, query):
                continue
            found.append(message)
            if len(found) == size:
                break
        found.reverse()
        return found

    def _index_for(self, account_sid: str, query: MessageQuery) -> list[int]:
        if query.to is not None:
            return self._by_to.get((account_sid, query.to), [])
        if query.from_ is not None:
            return self._by_from.get((account_sid, query.from_), [])
        return self._by_account.get(account_sid, [])

    def _evict(self) -> list[Message]:
        evicted: list[Message] = []
        while len(self._by_sid) > self.max_messages:
            victim = self._next_victim()
            if victim is None:
                break
            self.remove(victim)
            evicted.append(victim)
        return evicted

    def _next_victim(self) -> Message | None:
        while self._finished_late:
            message = self._by_seq.get(self._finished_late.popleft())
            if message is not None:
                return message
        while self._order:
            seq = self._order.popleft()
            message = self._by_seq.get(seq)
            if message is None:
                continue
            if message.finished:
                return message
            self._unfinished.add(seq)
        return None

    def _compact(self) -> None:
        live = self._by_seq
        self._by_account = _compacted(self._by_account, live)
        self._by_to = _compacted(self._by_to, live)
        self._by_from = _compacted(self._by_from, live)
        self._order = deque(seq for seq in self._order if seq in live)
        self._finished_late = deque(seq for seq in self._finished_late if seq in live)
        self._stale = 0

    def footprint(self) -> dict[str, int]:
        """How many entries each per-message structure holds (for tests and benchmarks)."""
        return {
            "messages": len(self._by_sid),
            "by_seq": len(self._by_seq),
            "account_index": sum(map(len, self._by_account.values())),
            "to_index": sum(map(len, self._by_to.values())),
            "to_keys": len(self._by_to),
            "from_index": sum(map(len, self._by_from.values())),
            "from_keys": len(self._by_from),
            "order": len(self._order),
            "unfinished": len(self._unfinished),
            "finished_late": len(self._finished_late),
            "shared_strings": len(self._shared),
        }

    def _share(self, value: str | None) -> str | None:
        if value is None:
            return None
        shared = self._shared.get(value)
        if shared is None:
            if len(self._shared) >= _SHARED_STRINGS:
                self._shared.clear()
            shared = self._shared[value] = value
        return shared


def _compacted(indices: dict[K, list[int]], live: dict[int, Message]) -> dict[K, list[int]]:
    kept = {key: [seq for seq in seqs if seq in live] for key, seqs in indices.items()}
    return {key: seqs for key, seqs in kept.items() if seqs}


def _matches(message: Message, query: MessageQuery) -> bool:
    if query.to is not None and message.to != query.to:
        return False
    if query.from_ is not None and message.from_ != query.from_:
        return False
    return query.date_sent is None or query.date_sent(message.date_sent)
