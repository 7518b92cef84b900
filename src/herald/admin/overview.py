"""The delivery overview: the database's tallies turned into a chart, rates and a cost estimate.

`AdminReads` groups the messages of the window in the database (per day, per calling-code
prefix, per sender, each by channel and status); this module only adds up those few hundred
rows. The chart is an SVG drawn here, as rectangles the template writes out: no script, no
chart library.

The cost is an estimate: segments of SMS handed to Twilio, times a per-country price per
segment from `SMS_PRICES` (rounded list prices; Twilio's prices change and depend on the
account). WhatsApp is left out, since Meta charges per conversation, not per message.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Final

import phonenumbers
from phonenumbers import geocoder

from herald.domain.lifecycle import Status
from herald.domain.ratelimit import parse_sender_rates, sender_rate
from herald.domain.senders import classify_sender
from herald.errors import InvalidInput
from herald.storage.admin_reads import Tally

CATEGORIES: Final = ("delivered", "undelivered", "failed", "canceled", "in flight")
"""The chart's stacks, bottom up; `read` counts as delivered, unfinished ones as in flight."""

_CATEGORY: Final = {
    Status.DELIVERED: "delivered",
    Status.READ: "delivered",
    Status.UNDELIVERED: "undelivered",
    Status.FAILED: "failed",
    Status.CANCELED: "canceled",
}
# Statuses whose segments Twilio bills: the message left Herald and reached Twilio.
_BILLED: Final = frozenset(
    {Status.QUEUED, Status.SENDING, Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.READ}
)
_BILLED_CHANNELS: Final = frozenset({"sms", "mms"})

SMS_PRICES: Final[Mapping[str, float]] = MappingProxyType(
    {
        "US": 0.0083,
        "CA": 0.0083,
        "GB": 0.0524,
        "IE": 0.0790,
        "NL": 0.1070,
        "BE": 0.0950,
        "DE": 0.1080,
        "FR": 0.0880,
        "ES": 0.0850,
        "IT": 0.0870,
        "IN": 0.0832,
        "AU": 0.0515,
    }
)
"""Estimated US dollars per outbound SMS segment, by region (rounded list prices)."""
DEFAULT_SMS_PRICE: Final = 0.08
"""The estimate for regions `SMS_PRICES` does not list."""

CHART_WIDTH: Final = 720
CHART_HEIGHT: Final = 220
_CHART_TOP: Final = 10
_CHART_BOTTOM: Final = 24
_CHART_LEFT: Final = 40
_MAX_CALLING_CODE_DIGITS: Final = 3


@dataclasses.dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle of the chart, in SVG user units."""

    x: float
    y: float
    width: float
    height: float
    category: str
    label: str


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """One day of the chart: its counts per category, and its rectangles."""

    day: str
    counts: Mapping[str, int]
    bars: tuple[Bar, ...]
    label_x: float

    @property
    def total(self) -> int:
        """Messages created that day."""
        return sum(self.counts.values())


@dataclasses.dataclass(frozen=True, slots=True)
class Chart:
    """Messages by final status per day, ready for the template."""

    columns: tuple[Column, ...]
    peak: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    baseline: float = CHART_HEIGHT - _CHART_BOTTOM
    left: float = _CHART_LEFT
    top: float = _CHART_TOP


@dataclasses.dataclass(frozen=True, slots=True)
class RateRow:
    """Delivery figures for one country or sender."""

    key: str
    label: str
    messages: int
    delivered: int
    finished: int
    segments: int
    cost: float | None
    pace: float | None = None

    @property
    def rate(self) -> float | None:
        """Delivered among the messages with a final outcome; None before any."""
        return None if self.finished == 0 else self.delivered / self.finished


def category(status: Status) -> str:
    """The chart stack a status belongs to."""
    return _CATEGORY.get(status, "in flight")


def chart(tallies: Iterable[Tally], first_day: date, days: int) -> Chart:
    """Stacked bars per day from `first_day` for `days` days."""
    counts: dict[str, dict[str, int]] = {
        (first_day + timedelta(days=offset)).isoformat(): dict.fromkeys(CATEGORIES, 0)
        for offset in range(days)
    }
    for tally in tallies:
        if tally.key in counts:
            counts[tally.key][category(tally.status)] += tally.messages
    peak = max((sum(day.values()) for day in counts.values()), default=0)
    plot_height = CHART_HEIGHT - _CHART_TOP - _CHART_BOTTOM
    slot = (CHART_WIDTH - _CHART_LEFT) / max(days, 1)
    width = max(slot * 0.7, 1.0)
    columns = []
    for index, (day, by_category) in enumerate(counts.items()):
        x = _CHART_LEFT + index * slot + (slot - width) / 2
        y = float(CHART_HEIGHT - _CHART_BOTTOM)
        bars = []
        for name in CATEGORIES:
            count = by_category[name]
            if count == 0 or peak == 0:
                continue
            height = plot_height * count / peak
            y -= height
            bars.append(
                Bar(
                    x,
                    round(y, 2),
                    round(width, 2),
                    round(height, 2),
                    name,
                    f"{day}: {count} {name}",
                )
            )
        columns.append(Column(day, by_category, tuple(bars), round(x + width / 2, 2)))
    return Chart(columns=tuple(columns), peak=peak)


def region_of_prefix(prefix: str) -> str:
    """The main region of the calling code that starts `prefix` (`+316` → `NL`), or `ZZ`."""
    digits = prefix.removeprefix("+")
    for length in range(1, _MAX_CALLING_CODE_DIGITS + 1):
        if not digits[:length].isdigit():
            break
        region = phonenumbers.region_code_for_country_code(int(digits[:length]))
        if region != "ZZ":
            return str(region)
    return "ZZ"


@functools.lru_cache(maxsize=512)
def region_name(region: str) -> str:
    """A region's English name (`Netherlands`), or the code when phonenumbers has no example."""
    example = phonenumbers.example_number(region)
    name = "" if example is None else str(geocoder.country_name_for_number(example, "en"))
    return name or region


def by_country(tallies: Iterable[Tally]) -> list[RateRow]:
    """Delivery rate, segments and estimated cost per recipient country, busiest first."""
    grouped: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        grouped[region_of_prefix(tally.key)].append(tally)
    rows = []
    for region, items in grouped.items():
        price = SMS_PRICES.get(region, DEFAULT_SMS_PRICE)
        billed = sum(
            t.segments for t in items if t.status in _BILLED and t.channel in _BILLED_CHANNELS
        )
        label = "Unknown" if region == "ZZ" else f"{region_name(region)} ({region})"
        rows.append(_row(region, label, items, cost=billed * price))
    return sorted(rows, key=lambda row: (-row.messages, row.key))


def by_sender(tallies: Iterable[Tally], sender_rates: str) -> list[RateRow]:
    """Delivery rate and pace per sender, busiest first; `-` is a sender Twilio chose."""
    overrides = parse_sender_rates(sender_rates)
    grouped: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        grouped[tally.sender].append(tally)
    rows = []
    for sender, items in grouped.items():
        label = "chosen by Twilio" if sender == "-" else sender
        rows.append(
            dataclasses.replace(
                _row(sender, label, items, cost=None), pace=_pace(sender, overrides)
            )
        )
    return sorted(rows, key=lambda row: (-row.messages, row.key))


def _pace(sender: str, overrides: Mapping[str, float]) -> float | None:
    if sender == "-":
        return None
    try:
        return sender_rate(classify_sender(sender), overrides)
    except InvalidInput:
        return None


def _row(key: str, label: str, items: list[Tally], *, cost: float | None) -> RateRow:
    delivered = sum(t.messages for t in items if category(t.status) == "delivered")
    finished = sum(
        t.messages for t in items if category(t.status) in {"delivered", "undelivered", "failed"}
    )
    return RateRow(
        key=key,
        label=label,
        messages=sum(t.messages for t in items),
        delivered=delivered,
        finished=finished,
        segments=sum(t.segments for t in items),
        cost=cost,
    )
