"""What Herald's processes log at their default level: no URL with a number in it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from herald.cli import logs


@pytest.fixture
def library_levels() -> Iterator[None]:
    """The quieted libraries' levels, put back after the test."""
    before = {name: logging.getLogger(name).level for name in logs.QUIETED}
    try:
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("library_levels")
def test_httpx_request_lines_are_not_logged_at_info() -> None:
    """httpx logs each URL at INFO; Herald's URLs to Twilio name numbers, so it is held back."""
    logs.configure("info")
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("library_levels")
def test_debug_level_shows_the_request_lines() -> None:
    """Whoever asks for debug gets httpx's request lines too."""
    for name in logs.QUIETED:
        logging.getLogger(name).setLevel(logging.NOTSET)
    logs.configure("debug")
    assert logging.getLogger("httpx").level == logging.NOTSET


def test_access_log_lines_lose_their_numbers() -> None:
    """uvicorn's access record (path and query as arguments) comes out with numbers masked."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        (
            "127.0.0.1:5000",
            "GET",
            "/_emulator/phones/+16282000001/messages?to=%2B4915112345678",
            "1.1",
            200,
        ),
        None,
    )
    assert logs.RedactNumbers().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "GET /_emulator/phones/+16•••0001/messages?to=%2B49•••5678 HTTP/1.1" 200'
    )
