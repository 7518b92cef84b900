"""Per-sender rates default to Twilio's, can be overridden, and GCRA never lets more through."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain import ratelimit
from herald.domain.ratelimit import (
    DEFAULT_RATES,
    RateClass,
    default_burst,
    default_rate,
    gcra,
    parse_sender_rates,
    rate_class,
    sender_key,
    sender_rate,
)
from herald.domain.senders import Sender, classify_sender
from herald.errors import ConfigurationError

MG = "MG" + "0123456789abcdef" * 2
US_LOCAL = classify_sender("+14155550100")
US_TOLL_FREE = classify_sender("+18005550199")
NL_MOBILE = classify_sender("+31612345678")
SHORT_CODE = classify_sender("22395", "US")
ALPHANUMERIC = classify_sender("MyShop")
WHATSAPP = classify_sender("whatsapp:+14155238886")
SERVICE = classify_sender(MG)


def test_all_names_exactly_the_public_api() -> None:
    """`__all__` names exactly the public API, and every name in it exists."""
    assert sorted(ratelimit.__all__) == [
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
    assert all(hasattr(ratelimit, name) for name in ratelimit.__all__)


@pytest.mark.parametrize(
    ("sender", "expected_class", "rate"),
    [
        (US_LOCAL, RateClass.NANP_LONG_CODE, 1.0),
        (US_TOLL_FREE, RateClass.NANP_TOLL_FREE, 3.0),
        (SHORT_CODE, RateClass.SHORT_CODE, 100.0),
        (NL_MOBILE, RateClass.LONG_CODE, 10.0),
        (ALPHANUMERIC, RateClass.ALPHANUMERIC, 10.0),
        (WHATSAPP, RateClass.WHATSAPP, 80.0),
        (SERVICE, RateClass.MESSAGING_SERVICE, 10.0),
    ],
    ids=lambda value: value.value if isinstance(value, (Sender, RateClass)) else str(value),
)
def test_default_rate_per_sender_class(
    sender: Sender, expected_class: RateClass, rate: float
) -> None:
    """Each class of sender gets Twilio's default throughput (TWILIO-API.md §16)."""
    assert rate_class(sender) is expected_class
    assert default_rate(sender) == rate


def test_every_class_has_a_default_rate() -> None:
    """The table covers every rate class."""
    assert set(DEFAULT_RATES) == set(RateClass)


def test_messaging_service_with_known_pool_sums_it() -> None:
    """A Messaging Service sends at the sum of its pool's rates."""
    assert default_rate(SERVICE, pool=(US_LOCAL, US_TOLL_FREE, SHORT_CODE)) == 104.0


def test_override_wins_over_the_default() -> None:
    """A configured rate replaces the sender's default."""
    assert sender_rate(US_LOCAL, {"+14155550100": 4.5}) == 4.5


def test_sender_without_override_keeps_its_default() -> None:
    """Senders not named in the overrides keep Twilio's default."""
    assert sender_rate(US_TOLL_FREE, {"+14155550100": 4.5}) == 3.0


def test_messaging_service_pool_members_use_their_overrides() -> None:
    """A service's pool is summed with each member's own override."""
    assert sender_rate(SERVICE, {"+14155550100": 4.5}, pool=(US_LOCAL, NL_MOBILE)) == 14.5


def test_messaging_service_override_wins_over_its_pool() -> None:
    """A rate configured for the service itself replaces the pool's sum."""
    assert sender_rate(SERVICE, {MG: 30.0}, pool=(US_LOCAL,)) == 30.0


def test_default_burst_is_one_second_of_rate_and_at_least_one() -> None:
    """Bursts allow one second's worth of segments, never fewer than one."""
    assert (default_burst(0.5), default_burst(1.0), default_burst(80.0)) == (1.0, 1.0, 80.0)


def test_empty_setting_means_no_overrides() -> None:
    """An empty HERALD_SENDER_RATES configures nothing."""
    assert dict(parse_sender_rates("")) == {}


def test_setting_is_parsed_into_canonical_senders() -> None:
    """Pairs are read with white space tolerated and senders in canonical form."""
    rates = parse_sender_rates(
        f" +1 415 555 0100 = 10 , {MG}=30,MyShop=0.5,22395=50,whatsapp:+14155238886=20,"
    )
    assert dict(rates) == {
        "+14155550100": 10.0,
        MG: 30.0,
        "MyShop": 0.5,
        "22395": 50.0,
        "whatsapp:+14155238886": 20.0,
    }


def test_sender_key_matches_the_classified_value() -> None:
    """The key a setting uses is the value the worker looks senders up by."""
    assert sender_key("+1 (415) 555-0100") == US_LOCAL.value
    assert sender_key(" WhatsApp:+14155238886 ") == WHATSAPP.value


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("+14155550100", "not SENDER=MESSAGES_PER_SECOND"),
        ("=10", "not SENDER=MESSAGES_PER_SECOND"),
        ("+14155550100=fast", "not a rate"),
        ("+14155550100=0", "not a rate"),
        ("+14155550100=-1", "not a rate"),
        ("+14155550100=nan", "not a rate"),
        ("+14155550100=inf", "not a rate"),
        ("+999 123=1", "is not a sender"),
        ("MyShop!=1", "is not a sender"),
        ("+14155550100=1,+1 415 555 0100=2", "given twice"),
    ],
)
def test_bad_setting_is_a_configuration_error(setting: str, message: str) -> None:
    """A malformed HERALD_SENDER_RATES names the pair at fault."""
    with pytest.raises(ConfigurationError, match=message) as caught:
        parse_sender_rates(setting)
    assert "HERALD_SENDER_RATES" in caught.value.detail


def test_first_event_of_an_idle_sender_is_allowed() -> None:
    """A sender never seen (TAT 0) lets the first event through at once."""
    result = gcra(tat=0.0, now=100.0, rate=1.0, burst=1.0)
    assert result.allowed
    assert result.retry_after == 0.0
    assert result.tat == 101.0


def test_burst_events_go_back_to_back() -> None:
    """Up to `burst` events are allowed at the same instant."""
    tat = 0.0
    for _ in range(3):
        result = gcra(tat, now=10.0, rate=1.0, burst=3.0)
        assert result.allowed
        tat = result.tat


def test_event_beyond_the_burst_waits_its_turn() -> None:
    """The event after the burst is refused with the wait until it fits."""
    first = gcra(0.0, now=10.0, rate=2.0, burst=1.0)
    second = gcra(first.tat, now=10.0, rate=2.0, burst=1.0)
    assert not second.allowed
    assert second.retry_after == pytest.approx(0.5)


def test_refused_event_leaves_the_state_unchanged() -> None:
    """A refusal does not consume capacity."""
    first = gcra(0.0, now=10.0, rate=1.0, burst=1.0)
    second = gcra(first.tat, now=10.2, rate=1.0, burst=1.0)
    assert second.tat == first.tat


def test_event_costing_several_segments_takes_that_much_capacity() -> None:
    """A three-segment message at 1 MPS keeps the sender busy for three seconds."""
    first = gcra(0.0, now=10.0, rate=1.0, burst=3.0, cost=3.0)
    second = gcra(first.tat, now=10.0, rate=1.0, burst=3.0)
    assert first.allowed
    assert second.retry_after == pytest.approx(1.0)


def test_event_costing_more_than_the_burst_goes_when_the_sender_is_idle() -> None:
    """A message longer than the burst is not starved: it goes once the sender is idle."""
    assert gcra(0.0, now=10.0, rate=1.0, burst=1.0, cost=5.0).allowed


def test_event_costing_more_than_the_burst_waits_for_the_sender_to_be_idle() -> None:
    """Such a message waits until everything before it has drained."""
    result = gcra(12.0, now=10.0, rate=1.0, burst=1.0, cost=5.0)
    assert not result.allowed
    assert result.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("rate", "burst", "cost"),
    [(0.0, 1.0, 1.0), (-1.0, 1.0, 1.0), (math.inf, 1.0, 1.0), (1.0, 0.5, 1.0), (1.0, 1.0, 0.0)],
)
def test_nonsensical_parameters_are_refused(rate: float, burst: float, cost: float) -> None:
    """A rate that is not positive, a burst under one or a cost that is not positive is a bug."""
    with pytest.raises(ValueError, match="must be"):
        gcra(0.0, now=1.0, rate=rate, burst=burst, cost=cost)


_RATES = st.floats(min_value=0.1, max_value=200.0)
_BURSTS = st.integers(min_value=1, max_value=20).map(float)
_GAPS = st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=150)


def _allowed_times(rate: float, burst: float, gaps: list[float]) -> list[float]:
    now, tat, allowed = 0.0, 0.0, []
    for gap in gaps:
        now += gap
        result = gcra(tat, now, rate, burst)
        if result.allowed:
            allowed.append(now)
            tat = result.tat
    return allowed


@given(_RATES, _BURSTS, _GAPS, st.data())
def test_no_window_lets_through_more_than_rate_times_length_plus_burst(
    rate: float, burst: float, gaps: list[float], data: st.DataObject
) -> None:
    """Over any window of `w` seconds, at most `rate * w + burst` events are allowed."""
    allowed = _allowed_times(rate, burst, gaps)
    if not allowed:
        return
    start = data.draw(st.integers(min_value=0, max_value=len(allowed) - 1))
    end = data.draw(st.integers(min_value=start, max_value=len(allowed) - 1))
    window = allowed[end] - allowed[start]
    assert end - start + 1 <= rate * window + burst + 1e-9


@given(_RATES, _BURSTS, st.floats(min_value=0.0, max_value=100.0), st.floats(0.0, 100.0))
def test_refused_event_is_allowed_after_retry_after(
    rate: float, burst: float, tat: float, now: float
) -> None:
    """Waiting exactly `retry_after` seconds is enough for a refused event to go."""
    result = gcra(tat, now, rate, burst)
    if not result.allowed:
        later = now + result.retry_after
        assert gcra(tat, later + 1e-9 * max(1.0, later), rate, burst).allowed


@given(
    _RATES,
    _BURSTS,
    st.lists(
        st.tuples(st.floats(0.0, 2.0), st.integers(1, 12).map(float)), min_size=1, max_size=100
    ),
)
def test_segments_allowed_in_any_window_are_bounded(
    rate: float, burst: float, events: list[tuple[float, float]]
) -> None:
    """Counting segments, a window allows at most `rate * w + max(burst, largest cost)`."""
    now, tat, allowed = 0.0, 0.0, []
    for gap, cost in events:
        now += gap
        result = gcra(tat, now, rate, burst, cost)
        if result.allowed:
            allowed.append((now, cost))
            tat = result.tat
    largest = max((cost for _, cost in allowed), default=0.0)
    for start in range(len(allowed)):
        for end in range(start, len(allowed)):
            window = allowed[end][0] - allowed[start][0]
            spent = sum(cost for _, cost in allowed[start : end + 1])
            assert spent <= rate * window + max(burst, largest) + 1e-9


def test_a_burst_to_one_long_code_drains_at_its_rate() -> None:
    """1,000 messages queued at once on a 1 MPS sender all go, one a second, none refused."""
    rate = default_rate(US_LOCAL)
    now, tat, sent_at = 0.0, 0.0, []
    for _ in range(1000):
        result = gcra(tat, now, rate, default_burst(rate))
        while not result.allowed:
            now += result.retry_after
            result = gcra(tat, now, rate, default_burst(rate))
        tat = result.tat
        sent_at.append(now)
    assert sent_at[-1] == pytest.approx(999.0)
    assert all(b - a == pytest.approx(1.0) for a, b in itertools.pairwise(sent_at))
