"""How Herald's processes log: one format, at `HERALD_LOG_LEVEL`, and no personal data.

No log line at the default level (INFO) may carry a secret or a full phone number. Herald's
own messages mask numbers (`herald.domain.redaction`) and never name a token or a code; two
libraries need holding back:

- httpx logs every request's URL at INFO, and Herald's requests to Twilio carry numbers in
  theirs (a message lookup is `Messages.json?To=%2B1...`): httpx and httpcore log from
  WARNING, except at debug level.
- uvicorn's access log (the emulator keeps it on) prints each request's path and query, which
  name numbers (`/_emulator/phones/+1.../messages`): `RedactNumbers` masks them.
"""

from __future__ import annotations

import logging
from typing import Final

from herald.domain.redaction import redact

__all__ = ["FORMAT", "QUIETED", "RedactNumbers", "configure"]

FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIETED: Final = {"httpx": logging.WARNING, "httpcore": logging.WARNING}
"""Loggers held to a higher level than Herald's unless `HERALD_LOG_LEVEL` is debug."""


class RedactNumbers(logging.Filter):
    """Masks the phone numbers in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def quiet_libraries() -> None:
    """Hold the libraries that log URLs to WARNING."""
    for name, level in QUIETED.items():
        logging.getLogger(name).setLevel(level)


def configure(level: str) -> None:
    """Log to stderr from `level` (debug, info, warning or error) in Herald's format."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    if level.lower() != "debug":  # asked for explicitly, by someone reading the logs
        quiet_libraries()


def redact_access_log() -> None:
    """Mask the numbers in uvicorn's access log lines."""
    logging.getLogger("uvicorn.access").addFilter(RedactNumbers())
