"""The admin pages' pure parts: masking, session cookies, error explanations, the overview."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from herald.admin.auth import SESSION_SECONDS, AdminAuth
from herald.admin.explain import explain
from herald.admin.masking import mask_number
from herald.admin.overview import by_country, chart, region_of_prefix
from herald.domain.lifecycle import Status
from herald.settings import Settings
from herald.storage.admin_reads import Tally
from herald.storage.crypto import generate_secret_key

KEY = "unit-test-admin-key-0123456789"
SECRET = generate_secret_key()


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("+31612345678", "+31 6 •••• 5678"),
        ("whatsapp:+14155550123", "whatsapp:+1 4 •••• 0123"),
        ("Herald", "Herald"),
        ("MG0123456789abcdef0123456789abcdef", "MG0123456789abcdef0123456789abcdef"),
        (None, ""),
    ],
)
def test_numbers_are_masked_and_other_senders_are_not(address: str | None, masked: str) -> None:
    """Phone numbers keep country, first digit and last four; other senders are shown whole."""
    assert mask_number(address) == masked


def test_reveal_formats_the_whole_number() -> None:
    """Revealed, a number is written in international format."""
    assert mask_number("+31612345678", reveal=True) == "+31 6 12345678"


def _auth(now: float, admin_key: str = KEY, secret: str = "") -> AdminAuth:
    settings = Settings(secret_key=secret or SECRET, admin_key=admin_key)
    return AdminAuth(settings, clock=lambda: now)


def test_a_session_expires() -> None:
    """A session cookie stops working SESSION_SECONDS after it was issued."""
    cookie = _auth(1_000_000).issue()
    assert _auth(1_000_000 + SESSION_SECONDS - 1).session(cookie) is not None
    assert _auth(1_000_000 + SESSION_SECONDS).session(cookie) is None


def test_a_new_admin_key_signs_every_session_out() -> None:
    """A cookie signed under one admin key is no session under another."""
    cookie = _auth(1_000_000).issue()
    assert _auth(1_000_000, admin_key="another-admin-key-987654321").session(cookie) is None


def test_a_tampered_cookie_is_refused() -> None:
    """Changing the issue time in a cookie breaks its signature."""
    issued, nonce, signature = _auth(1_000_000).issue().split(".")
    assert _auth(1_000_000).session(f"{int(issued) + 1}.{nonce}.{signature}") is None


def test_csrf_tokens_belong_to_their_session() -> None:
    """One session's CSRF token does not match another session."""
    auth = _auth(1_000_000)
    first, second = auth.session(auth.issue()), auth.session(auth.issue())
    assert first is not None
    assert second is not None
    assert auth.csrf_matches(first, auth.csrf_token(first))
    assert not auth.csrf_matches(second, auth.csrf_token(first))


def test_error_codes_are_explained_with_a_link() -> None:
    """21610 is explained as an unsubscribed recipient, with its page in Twilio's dictionary."""
    explanation = explain(21610)
    assert explanation is not None
    assert "STOP" in explanation.meaning
    assert explanation.url == "https://www.twilio.com/docs/api/errors/21610"
    assert explain(99999) is None


@pytest.mark.parametrize(
    ("prefix", "region"), [("+316", "NL"), ("+141", "US"), ("+447", "GB"), ("+999", "ZZ")]
)
def test_a_prefix_names_its_calling_codes_region(prefix: str, region: str) -> None:
    """The first digits after + name the calling code's main region."""
    assert region_of_prefix(prefix) == region


def _tally(key: str, status: Status, messages: int, channel: str = "sms") -> Tally:
    return Tally(
        key=key, sender="-", channel=channel, status=status, messages=messages, segments=messages
    )


def test_cost_counts_only_segments_that_reached_twilio() -> None:
    """Failed and waiting messages cost nothing; delivered ones cost the region's price."""
    [row] = by_country(
        [
            _tally("+316", Status.DELIVERED, 10),
            _tally("+316", Status.FAILED, 5),
            _tally("+316", Status.ACCEPTED, 7),
        ]
    )
    assert row.cost == pytest.approx(10 * 0.1070)
    assert row.rate == pytest.approx(10 / 15)


def test_whatsapp_is_not_priced() -> None:
    """WhatsApp segments are counted but not priced."""
    [row] = by_country([_tally("+316", Status.DELIVERED, 4, channel="whatsapp")])
    assert row.segments == 4
    assert row.cost == 0


def test_the_chart_stacks_each_day_to_the_peak() -> None:
    """The busiest day's bars fill the plot's height; a day without messages has none."""
    drawn = chart(
        [_tally("2030-01-30", Status.DELIVERED, 6), _tally("2030-01-30", Status.FAILED, 2)],
        date(2030, 1, 30),
        2,
    )
    busiest, empty = drawn.columns
    assert drawn.peak == 8
    assert sum(bar.height for bar in busiest.bars) == pytest.approx(drawn.baseline - drawn.top)
    assert [bar.category for bar in busiest.bars] == ["delivered", "failed"]
    assert empty.bars == ()
    assert dataclasses.asdict(empty)["counts"]["delivered"] == 0
