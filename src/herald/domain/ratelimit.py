"""Per-sender send rates, and the arithmetic of the generic cell rate algorithm (GCRA).

Twilio sends from each sender at a fixed rate of message *segments* per second (MPS) and queues
the rest (TWILIO-API.md §16). Herald paces its own sends to the same rates, so that a burst of
10,000 messages drains at the sender's speed instead of overflowing Twilio's queue (ten hours
of the sender's throughput, then error 21611 / 30001).

`sender_rate(sender, overrides)` is the rate for one sender: `HERALD_SENDER_RATES` (parsed by
`parse_sender_rates`) when it names the sender, else the default for the sender's class.

`gcra(tat, now, rate, burst, cost)` is one step of the limiter: given the sender's theoretical
arrival time (TAT, the state to keep), may an event costing `cost` segments go now, and if not,
in how many seconds? The in-process limiter keeps the TAT in a dict; the Redis limiter runs the
same arithmetic in a Lua script, so both agree to the last float.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, NamedTuple

from herald.domain.phone import NumberType
from herald.domain.senders import Sender, SenderKind, classify_sender
from herald.errors import ConfigurationError, InvalidInput

__all__ = [
    "DEFAULT_RATES",
    "GcraResult",
    "RateClass",
    "default_burst",
    "default_rate",
    "gcra",
    "parse_sender_rates",
    "rate_class",
    "sender_key",
    "sender_rate",
]

_NANP: Final = 1
_SHORT_CODE_MAX_DIGITS: Final = 8
_SETTING: Final = "HERALD_SENDER_RATES"


class RateClass(enum.StrEnum):
    """The classes of sender that Twilio gives different default throughputs."""

    NANP_LONG_CODE = "nanp_long_code"
    NANP_TOLL_FREE = "nanp_toll_free"
    SHORT_CODE = "short_code"
    LONG_CODE = "long_code"
    ALPHANUMERIC = "alphanumeric"
    WHATSAPP = "whatsapp"
    MESSAGING_SERVICE = "messaging_service"


DEFAULT_RATES: Final[Mapping[RateClass, float]] = MappingProxyType(
    {
        # A US/Canada (+1) local number: 1 MPS (Twilio's long-code FAQ). A registered 10DLC
        # campaign is allowed more by the carriers; set its numbers in HERALD_SENDER_RATES.
        RateClass.NANP_LONG_CODE: 1.0,
        # Twilio's toll-free throughput article: 3 MPS to US/Canada (10 to other countries;
        # Herald paces per sender, not per destination, so it keeps the lower figure).
        RateClass.NANP_TOLL_FREE: 3.0,
        RateClass.SHORT_CODE: 100.0,
        # "standard 10 MPS outside +1" for long codes and alphanumeric IDs.
        RateClass.LONG_CODE: 10.0,
        RateClass.ALPHANUMERIC: 10.0,
        # Meta's default for a WhatsApp Business sender.
        RateClass.WHATSAPP: 80.0,
        # A Messaging Service sends at the sum of its pool's rates; when Herald does not know
        # the pool, it assumes one sender outside +1. Twilio's queue absorbs a short overshoot.
        RateClass.MESSAGING_SERVICE: 10.0,
    }
)
"""Message segments per second for each class of sender, from TWILIO-API.md §16."""


_BY_KIND: Final = {
    SenderKind.SHORT_CODE: RateClass.SHORT_CODE,
    SenderKind.ALPHANUMERIC: RateClass.ALPHANUMERIC,
    SenderKind.WHATSAPP: RateClass.WHATSAPP,
    SenderKind.MESSAGING_SERVICE: RateClass.MESSAGING_SERVICE,
}


def rate_class(sender: Sender) -> RateClass:
    """The class whose default rate applies to `sender`."""
    if sender.kind in _BY_KIND:
        return _BY_KIND[sender.kind]
    number = sender.number
    if number is None or number.country_code != _NANP:
        return RateClass.LONG_CODE
    if number.number_type is NumberType.TOLL_FREE:
        return RateClass.NANP_TOLL_FREE
    return RateClass.NANP_LONG_CODE


def default_rate(sender: Sender, pool: Sequence[Sender] = ()) -> float:
    """Twilio's default rate for `sender`; a Messaging Service with a known `pool` sums it."""
    if sender.kind is SenderKind.MESSAGING_SERVICE and pool:
        return sum(default_rate(member) for member in pool)
    return DEFAULT_RATES[rate_class(sender)]


def sender_rate(
    sender: Sender, overrides: Mapping[str, float], pool: Sequence[Sender] = ()
) -> float:
    """The rate Herald sends from `sender` at: its override if configured, else its default.

    A Messaging Service without an override sums its pool, each member at its own override or
    default.
    """
    configured = overrides.get(sender.value)
    if configured is not None:
        return configured
    if sender.kind is SenderKind.MESSAGING_SERVICE and pool:
        return sum(sender_rate(member, overrides) for member in pool)
    return default_rate(sender)


def default_burst(rate: float) -> float:
    """How many segments may go at once: one second's worth, and never less than one."""
    return max(1.0, rate)


def sender_key(text: str) -> str:
    """The canonical form of a sender as `HERALD_SENDER_RATES` and the limiter key it.

    It equals `classify_sender(...).value` for the same sender: E.164 for a number,
    `whatsapp:+E164`, the MG SID, the alphanumeric ID as written, the short code's digits.
    Raises `InvalidInput` (or a subclass) when `text` is not a sender.
    """
    value = text.strip()
    if value.isdigit() and len(value) <= _SHORT_CODE_MAX_DIGITS:
        # A short code needs a country to be validated; as a key its digits suffice.
        return value
    return classify_sender(value).value


def parse_sender_rates(text: str) -> Mapping[str, float]:
    """The per-sender rates in a `HERALD_SENDER_RATES` value, keyed by `sender_key`.

    The value is `SENDER=MPS` pairs separated by commas, e.g.
    `+14155550100=10,MG0123...=30,MyShop=5,22395=50`; empty means no overrides. Raises
    `ConfigurationError` naming the pair at fault and saying how to write it.
    """
    rates: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        sender_text, equals, rate_text = item.rpartition("=")
        if not equals or not sender_text.strip():
            raise ConfigurationError(
                f"{_SETTING}: {item.strip()!r} is not SENDER=MESSAGES_PER_SECOND; write pairs "
                "separated by commas, e.g. +14155550100=10,MyShop=5."
            )
        try:
            key = sender_key(sender_text)
        except InvalidInput as exc:
            raise ConfigurationError(
                f"{_SETTING}: {sender_text.strip()!r} is not a sender: {exc.detail}"
            ) from None
        rate = _rate(item.strip(), rate_text.strip())
        if key in rates:
            raise ConfigurationError(
                f"{_SETTING}: {key} is given twice; give each sender one rate."
            )
        rates[key] = rate
    return MappingProxyType(rates)


def _rate(item: str, text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise ConfigurationError(
            f"{_SETTING}: in {item!r}, {text!r} is not a rate; give messages per second as a "
            "positive number, e.g. 10 or 0.5."
        )
    return rate


class GcraResult(NamedTuple):
    """One limiter step: whether the event may go, the state to keep, and when to try again."""

    allowed: bool
    #: The theoretical arrival time to store: advanced when allowed, unchanged when not.
    tat: float
    #: Seconds until the same event would be allowed; 0.0 when it was.
    retry_after: float


def gcra(tat: float, now: float, rate: float, burst: float, cost: float = 1.0) -> GcraResult:
    """One step of the generic cell rate algorithm (virtual scheduling form).

    `tat` is the stored theoretical arrival time (0.0, or any time in the past, for a sender
    not seen yet); `now` the current time, in the same unit of seconds; `rate` events per
    second; `burst` how many events may go back to back (at least 1); `cost` what this event
    counts for (the message's segments).

    Over any interval of `w` seconds, the allowed events cost at most `rate * w + burst`. An
    event costing more than `burst` could otherwise never go: it is allowed once the sender is
    idle (`tat <= now`), and the sender then rests for its whole cost.
    """
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number of events per second, not {rate}")
    if not (math.isfinite(burst) and burst >= 1):
        raise ValueError(f"burst must be at least 1, not {burst}")
    if not (math.isfinite(cost) and cost > 0):
        raise ValueError(f"cost must be positive, not {cost}")
    interval = 1.0 / rate
    start = max(tat, now)
    # The usual test, `start + cost * interval - now <= burst * interval`, rearranged so that an
    # idle sender (start == now) compares 0.0 with a non-negative slack: written the usual way,
    # rounding can refuse it with a retry_after of 1e-16, again and again.
    backlog = start - now
    slack = (max(burst, cost) - cost) * interval
    if backlog <= slack:
        return GcraResult(allowed=True, tat=start + cost * interval, retry_after=0.0)
    return GcraResult(allowed=False, tat=tat, retry_after=backlog - slack)
