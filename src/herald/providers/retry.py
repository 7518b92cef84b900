"""When to try a failed request again: exponential backoff with full jitter, pure arithmetic.

`RetryPolicy` sleeps nowhere. The worker asks it for a delay and schedules the next attempt
itself (a send is retried through the outbox, never inside the HTTP client), so a crashed worker
loses no pause and a test needs no clock.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads retries of many
workers hit by the same outage, so they do not return in lock-step. A provider's `Retry-After`
wins over the computed delay: Twilio knows better than Herald when it can take more, but a
value above `max_retry_after` is cut down to it, so a wrong header cannot park a message for
days.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable
from typing import Final

from herald.errors import ConfigurationError, ProviderError

# 2**63 is far past any cap; bounding the exponent keeps float arithmetic finite.
_MAX_EXPONENT: Final = 63


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff for attempt `n` (1 = the first attempt, which just failed).

    Without `Retry-After` the delay is uniform in `[0, min(max_delay, base_delay * 2**(n-1))]`.
    With it, the delay is `Retry-After` limited to `max_retry_after`. `random` returns a float in
    `[0, 1)`; tests pass their own.
    """

    base_delay: float = 1.0
    max_delay: float = 300.0
    max_attempts: int = 10
    max_retry_after: float = 3600.0
    random: Callable[[], float] = dataclasses.field(
        default=random.random, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.base_delay > 0:
            raise ConfigurationError(f"base_delay must be positive, got {self.base_delay!r}.")
        if not self.max_delay >= self.base_delay:
            raise ConfigurationError(
                f"max_delay ({self.max_delay!r}) must be at least base_delay ({self.base_delay!r})."
            )
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, got {self.max_attempts}.")
        if not self.max_retry_after >= 0:
            raise ConfigurationError(
                f"max_retry_after must not be negative, got {self.max_retry_after!r}."
            )

    def ceiling(self, attempt: int) -> float:
        """The largest backoff after attempt `attempt` when the provider gave no `Retry-After`."""
        exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
        return min(self.max_delay, self.base_delay * 2.0**exponent)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after attempt `attempt` failed (never negative)."""
        if retry_after is not None and not math.isnan(retry_after):
            return min(max(retry_after, 0.0), self.max_retry_after)
        draw = min(max(self.random(), 0.0), 1.0)
        return draw * self.ceiling(attempt)

    def may_retry(self, attempt: int) -> bool:
        """Whether another attempt is allowed after attempt `attempt`."""
        return attempt < self.max_attempts

    def after_failure(self, attempt: int, error: ProviderError) -> float | None:
        """The delay before the next attempt, or `None` when the failure must not be retried.

        `None` for a permanent error, for `AmbiguousSend` (look the message up first), and once
        `max_attempts` attempts have been made.
        """
        if not error.retryable or not self.may_retry(attempt):
            return None
        return self.delay(attempt, error.retry_after)
