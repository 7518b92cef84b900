"""RetryPolicy: full-jitter exponential backoff, capped, with Retry-After taking precedence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.errors import AmbiguousSend, ConfigurationError, ProviderError, ProviderUnavailable
from herald.providers import RetryPolicy

attempts = st.integers(min_value=1, max_value=10_000)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
bases = st.floats(min_value=0.001, max_value=100.0)
caps = st.floats(min_value=0.0, max_value=10_000.0)


@given(attempt=attempts, draw=draws, base=bases, extra=caps)
def test_delay_is_never_negative_nor_above_the_cap(
    attempt: int, draw: float, base: float, extra: float
) -> None:
    """Without Retry-After the delay stays within [0, max_delay] for any attempt."""
    policy = RetryPolicy(base_delay=base, max_delay=base + extra, random=lambda: draw)
    assert 0.0 <= policy.delay(attempt) <= policy.max_delay


@given(attempt=st.integers(min_value=1, max_value=40), draw=draws)
def test_delay_is_a_share_of_the_exponential_ceiling(attempt: int, draw: float) -> None:
    """The delay is the random draw times min(cap, base * 2**(attempt-1))."""
    policy = RetryPolicy(base_delay=0.5, max_delay=60.0, random=lambda: draw)
    assert policy.delay(attempt) == pytest.approx(draw * min(60.0, 0.5 * 2 ** (attempt - 1)))


@given(attempt=attempts, retry_after=st.floats(min_value=0.0, max_value=3600.0))
def test_retry_after_takes_precedence(attempt: int, retry_after: float) -> None:
    """A Retry-After within max_retry_after is the delay, whatever the attempt or the cap."""
    policy = RetryPolicy(base_delay=1.0, max_delay=2.0, random=lambda: 0.9)
    assert policy.delay(attempt, retry_after) == retry_after


@given(retry_after=st.floats(allow_nan=False))
def test_retry_after_is_bounded(retry_after: float) -> None:
    """A Retry-After is held within [0, max_retry_after]: a wrong header cannot park a message."""
    policy = RetryPolicy(max_retry_after=600.0)
    assert 0.0 <= policy.delay(1, retry_after) <= 600.0


def test_ceiling_doubles_until_the_cap() -> None:
    """The ceiling is base, 2*base, 4*base, ... until max_delay."""
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    assert [policy.ceiling(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_may_retry_until_max_attempts() -> None:
    """After the max_attempts-th attempt no retry is allowed."""
    policy = RetryPolicy(max_attempts=3)
    assert [policy.may_retry(n) for n in (1, 2, 3)] == [True, True, False]


def test_after_failure_gives_the_delay_of_a_retryable_error() -> None:
    """A retryable error with Retry-After gets that delay."""
    error = ProviderError("busy", provider_code=20429, status=429, retryable=True, retry_after=3)
    assert RetryPolicy().after_failure(1, error) == 3


def test_after_failure_refuses_a_permanent_error() -> None:
    """A permanent error is never retried."""
    error = ProviderError("bad To", provider_code=21211, status=400)
    assert RetryPolicy().after_failure(1, error) is None


def test_after_failure_refuses_an_ambiguous_send() -> None:
    """An ambiguous send must be looked up, not retried."""
    assert RetryPolicy().after_failure(1, AmbiguousSend("lost")) is None


def test_after_failure_stops_at_max_attempts() -> None:
    """A retryable error after the last attempt is not retried."""
    policy = RetryPolicy(max_attempts=2, random=lambda: 0.5)
    assert policy.after_failure(1, ProviderUnavailable("down")) == 0.5
    assert policy.after_failure(2, ProviderUnavailable("down")) is None


@pytest.mark.parametrize(
    "settings",
    [{"base_delay": 0}, {"base_delay": 2, "max_delay": 1}, {"max_attempts": 0}],
)
def test_nonsense_settings_are_refused(settings: dict[str, float]) -> None:
    """A policy that cannot work is a ConfigurationError saying which setting."""
    with pytest.raises(ConfigurationError):
        RetryPolicy(**settings)  # type: ignore[arg-type]
