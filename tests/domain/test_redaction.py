"""Phone numbers in log lines: masked wherever they stand, everything else left alone."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from herald.domain.redaction import mask_number, redact

FULL_NUMBER = re.compile(r"(?:\+|%2[Bb])\d{8,15}(?!\d)")


def test_a_number_keeps_its_first_two_and_last_four_digits() -> None:
    """`+16282000001` becomes `+16•••0001`: traceable in a log, not diallable."""
    assert mask_number("+16282000001") == "+16•••0001"


def test_a_whatsapp_address_keeps_its_prefix() -> None:
    """The channel prefix stays, so the line still says which channel it was."""
    assert mask_number("whatsapp:+31612345678") == "whatsapp:+31•••5678"


def test_senders_that_are_not_numbers_are_left_alone() -> None:
    """Short codes, alphanumeric IDs and Messaging Service SIDs are not personal data."""
    for sender in ("+12345", "Herald", "MG" + "0" * 32, "", None):
        assert mask_number(sender) == (sender or "")


def test_numbers_in_a_request_line_are_masked_url_encoded_or_not() -> None:
    """An access log's path and query lose their numbers and keep the rest."""
    line = "GET /Messages.json?To=%2B16282000060&From=+14152340399&PageSize=50"
    assert redact(line) == "GET /Messages.json?To=%2B16•••0060&From=+14•••0399&PageSize=50"


@given(st.text(), st.integers(min_value=10_000_000, max_value=999_999_999_999_999), st.text())
def test_no_full_number_survives(before: str, number: int, after: str) -> None:
    """Whatever surrounds it, a full E.164 number never comes out of `redact`."""
    assert FULL_NUMBER.search(redact(f"{before}+{number}{after}")) is None
