"""The one-time code rules of the built-in verification engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from herald.domain.otp import (
    MAX_CHECKS,
    CheckOutcome,
    ThrottleRule,
    ThrottleScope,
    check_outcome,
    code_key,
    code_matches,
    destination_prefix,
    generate_code,
    hash_code,
    throttle_keys,
)
from herald.errors import InvalidInput

NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
KEY = code_key("a secret key")


@given(st.integers(min_value=4, max_value=10))
def test_codes_have_the_length_asked_for_in_digits(length: int) -> None:
    """A code has exactly `length` decimal digits."""
    code = generate_code(length)
    assert len(code) == length
    assert code.isdigit()


@pytest.mark.parametrize("length", [3, 11])
def test_code_length_outside_four_to_ten_is_refused(length: int) -> None:
    """Lengths outside 4 to 10 are refused with the allowed range."""
    with pytest.raises(InvalidInput, match="4 to 10 digits"):
        generate_code(length)


def test_codes_keep_leading_zeros() -> None:
    """A code drawn as zeros stays a full-length string of zeros."""
    assert generate_code(6, randbelow=lambda _: 0) == "000000"


@given(st.text(alphabet="0123456789", min_size=4, max_size=10))
def test_a_code_matches_its_own_hash(code: str) -> None:
    """The hash of a code matches that code."""
    assert code_matches(KEY, "vfy_1", code, hash_code(KEY, "vfy_1", code))


@given(
    st.text(alphabet="0123456789", min_size=4, max_size=10),
    st.text(alphabet="0123456789", min_size=4, max_size=10),
)
def test_another_code_does_not_match(code: str, guess: str) -> None:
    """A different code never matches the hash."""
    if guess != code:
        assert not code_matches(KEY, "vfy_1", guess, hash_code(KEY, "vfy_1", code))


def test_hash_is_bound_to_its_verification() -> None:
    """The same code's hash for another verification does not match."""
    assert not code_matches(KEY, "vfy_2", "123456", hash_code(KEY, "vfy_1", "123456"))


def test_hash_depends_on_the_secret_key() -> None:
    """Another secret key gives another hash, so the hashes are useless without the key."""
    assert hash_code(code_key("other"), "vfy_1", "123456") != hash_code(KEY, "vfy_1", "123456")


def test_hash_does_not_contain_the_code() -> None:
    """The stored hash is 64 hex characters, not the code."""
    stored = hash_code(KEY, "vfy_1", "123456")
    assert len(stored) == 64
    assert "123456" not in stored


def test_an_empty_secret_key_is_refused() -> None:
    """Codes cannot be hashed without HERALD_SECRET_KEY."""
    with pytest.raises(InvalidInput, match="HERALD_SECRET_KEY"):
        code_key("")


def test_right_code_in_time_approves() -> None:
    """The right code before expiry approves."""
    assert check_outcome(matches=True, checks_before=0, expires_at=LATER, now=NOW) == (
        CheckOutcome.APPROVED
    )


def test_right_code_after_expiry_is_expired() -> None:
    """The right code at the expiry moment is expired."""
    assert check_outcome(matches=True, checks_before=0, expires_at=LATER, now=LATER) == (
        CheckOutcome.EXPIRED
    )


@given(st.integers(min_value=0, max_value=MAX_CHECKS - 2))
def test_wrong_code_with_checks_left_is_wrong(checks_before: int) -> None:
    """A wrong code before the last allowed check leaves the verification pending."""
    outcome = check_outcome(matches=False, checks_before=checks_before, expires_at=LATER, now=NOW)
    assert outcome == CheckOutcome.WRONG_CODE


def test_last_wrong_code_reaches_the_limit() -> None:
    """The fifth wrong code reaches the attempt limit."""
    outcome = check_outcome(matches=False, checks_before=MAX_CHECKS - 1, expires_at=LATER, now=NOW)
    assert outcome == CheckOutcome.MAX_ATTEMPTS_REACHED


@given(matches=st.booleans(), checks_before=st.integers(min_value=MAX_CHECKS, max_value=10_000))
def test_no_code_approves_after_the_limit(*, matches: bool, checks_before: int) -> None:
    """Once five checks were made, even the right code does not approve."""
    outcome = check_outcome(matches=matches, checks_before=checks_before, expires_at=LATER, now=NOW)
    assert outcome == CheckOutcome.MAX_ATTEMPTS_REACHED


def test_destination_prefix_is_country_code_and_range() -> None:
    """The prefix is the first five digits, for SMS and WhatsApp alike."""
    assert destination_prefix("+31612345678") == "31612"
    assert destination_prefix("whatsapp:+31612345678") == "31612"


def test_throttle_keys_cover_number_ip_and_prefix() -> None:
    """A start counts against its number, its IP and its prefix, per tenant."""
    keys = [key for _, key in throttle_keys("ten_1", "whatsapp:+31612345678", "192.0.2.1")]
    assert keys == [
        "verify:ten_1:number:+31612345678",
        "verify:ten_1:ip:192.0.2.1",
        "verify:ten_1:prefix:31612",
    ]


def test_unknown_ip_skips_the_ip_throttle() -> None:
    """Without a client IP, only the number and prefix throttles apply."""
    scopes = [rule.scope for rule, _ in throttle_keys("ten_1", "+31612345678", None)]
    assert scopes == [ThrottleScope.NUMBER, ThrottleScope.PREFIX]


def test_throttle_rule_needs_a_positive_limit_and_window() -> None:
    """A rule with a zero limit is refused."""
    with pytest.raises(InvalidInput, match="limit of at least 1"):
        ThrottleRule(ThrottleScope.IP, 0, timedelta(minutes=1))
