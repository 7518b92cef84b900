"""A pytest plugin: no secret and no full phone number in any log line, for the whole test run.

For the whole session a handler on the root logger sees every record at Herald's default level
(`HERALD_LOG_LEVEL`'s default, INFO), with libraries held to the levels `herald serve` holds
them to (`herald.cli.logs`), formatted as Herald prints it: the message with its arguments,
then any exception text. The multi-process tests' subprocesses run at that level too
(`HERALD_SCALEOUT_LOG_LEVEL` is set to it unless the caller chose one), and every `*.log` file
they leave in the test's `tmp_path` is read after the test. At the end of the session the run
fails if any line held one of:

- a full phone number: `+` (or `%2B`) and 8 to 15 digits; masked forms (`+1 628 •••• 0001`)
  are fine;
- a Herald API key (`hk_` and its 32 random characters), a Fernet key (`HERALD_SECRET_KEY`), a
  SendGrid API key, a 32-hex Twilio auth token, HTTP Basic or Bearer credentials, a password in
  a URL;
- any secret a `Settings` was built with during the session (auth token, secret key, admin key,
  the passwords of the database and Redis URLs), or that the emulator generated (API key
  secrets);
- a one-time code generated during the same test, by Herald's verification engine or by the
  emulator's Verify, as a run of digits of its own.

The report names the test (or `<session>` outside any test), the logger and the line.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar
from urllib.parse import urlsplit

import pytest

import herald.domain.otp
import herald.verification.service
from herald.cli import logs
from herald.emulator.verify_models import VerifyRuntime
from herald.emulator.wire import SidFactory
from herald.settings import Settings

DEFAULT_LEVEL: Final = logging.getLevelNamesMapping()[Settings.from_env({}).log_level.upper()]
"""The level Herald logs at when `HERALD_LOG_LEVEL` is not set."""

CLIENT_LOGGERS: Final = ("twilio.http_client",)
"""Loggers of clients only the tests use (the official twilio library, driving the emulator
as a Twilio customer would): not Herald's logs, so held to WARNING like httpx."""
OUTSIDE_TESTS: Final = "<session>"
_MIN_KNOWN_SECRET: Final = 8  # shorter values are test placeholders that match by chance
_REPORTED: Final = 50

PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("phone number", re.compile(r"(?:\+|%2[Bb])\d{8,15}(?!\d)")),
    ("Herald API key", re.compile(r"hk_[A-Za-z0-9_-]{32}")),
    ("Fernet secret key", re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=")),
    ("SendGrid API key", re.compile(r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("Twilio auth token", re.compile(r"(?<![A-Za-z0-9])[0-9a-f]{32}(?![A-Za-z0-9])")),
    ("HTTP credentials", re.compile(r"\b(?:Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{16,}")),
    ("password in a URL", re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]*:(?!•)[^\s/@]+@")),
)
"""What a secret or a full phone number looks like, whoever made it."""

# Lines a Herald process starts a record with: its own format, or uvicorn's.
_RECORD_START: Final = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )?(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)[: ]"
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True, slots=True)
class Leak:
    """One line that gave something away."""

    test: str
    logger: str
    kind: str
    line: str

    def __str__(self) -> str:
        return f"{self.test}\n    [{self.logger}] {self.kind}: {self.line}"


class Scanner:
    """Known secrets and codes, and what the scanned lines leaked."""

    def __init__(self, journal: Path | None = None) -> None:
        """`journal`: a file each leak is appended to as it is found (to watch a long run)."""
        self.test = OUTSIDE_TESTS
        self.lines = 0
        self.leaks: list[Leak] = []
        self.secrets: set[str] = set()
        self.codes: set[str] = set()  # generated during the current test
        self.journal = journal

    def start_test(self, nodeid: str) -> None:
        """Attribute what follows to the test `nodeid`; forget the previous test's codes."""
        self.test = nodeid
        self.codes.clear()

    def end_test(self) -> None:
        """What follows happens outside any test."""
        self.test = OUTSIDE_TESTS
        self.codes.clear()

    def know_secret(self, value: str) -> None:
        """Remember a secret; the password of a URL stands for the URL."""
        if "://" in value:
            value = urlsplit(value).password or ""
        if len(value) >= _MIN_KNOWN_SECRET:
            self.secrets.add(value)

    def know_code(self, code: str) -> None:
        """Remember a one-time code generated during the current test."""
        self.codes.add(code)

    def scan(self, text: str, logger: str) -> list[Leak]:
        """Record and return what each line of `text` leaks."""
        found: list[Leak] = []
        for line in text.splitlines():
            self.lines += 1
            found.extend(
                Leak(self.test, logger, kind, line.strip()[:300]) for kind in self.leaked(line)
            )
        self.leaks.extend(found)
        if found and self.journal is not None:
            with self.journal.open("a", encoding="utf-8") as journal:
                journal.writelines(f"{leak}\n" for leak in found)
        return found

    def leaked(self, line: str) -> list[str]:
        """The kinds of secret `line` gives away."""
        kinds = [kind for kind, pattern in PATTERNS if pattern.search(line)]
        if any(secret in line for secret in self.secrets):
            kinds.append("known secret")
        if self.codes and any(digits in self.codes for digits in re.findall(r"\d+", line)):
            kinds.append("one-time code")
        return kinds

    def scan_log_file(self, path: Path) -> None:
        """Scan the records of a subprocess's output; what it printed before logging is not."""
        scanning = False
        for line in path.read_text(errors="replace").splitlines():
            start = _RECORD_START.match(line)
            if start:
                # A record below the default level (the caller chose debug) is not judged,
                # nor are the lines that continue it.
                scanning = logging.getLevelNamesMapping()[start["level"]] >= DEFAULT_LEVEL
            if scanning:
                self.scan(line, path.name)

    def report(self) -> str:
        """The leaks, the first few in full."""
        shown = "\n".join(str(leak) for leak in self.leaks[:_REPORTED])
        more = len(self.leaks) - _REPORTED
        tail = f"\n... and {more} more" if more > 0 else ""
        return (
            f"{len(self.leaks)} log lines give away a secret or a full phone number "
            f"(of {self.lines} scanned):\n{shown}{tail}"
        )


class ScanHandler(logging.Handler):
    """Formats each record as Herald's processes print it and hands it to the scanner."""

    def __init__(self, scanner: Scanner) -> None:
        super().__init__(DEFAULT_LEVEL)
        self.scanner = scanner
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not a leak
            text = f"{record.msg} {record.args}"
        self.scanner.scan(text, record.name)


def _recording(function: Callable[P, R], remember: Callable[[R], None]) -> Callable[P, R]:
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = function(*args, **kwargs)
        remember(result)
        return result

    return wrapper


def _watch_sources(scanner: Scanner) -> Iterator[tuple[Any, str, Any]]:
    """Wrap what makes secrets and codes so that the scanner learns each value it returns;
    yields (owner, attribute, original) to put back."""
    originals: list[tuple[Any, str, Any]] = [
        (herald.domain.otp, "generate_code", scanner.know_code),
        (herald.verification.service, "generate_code", scanner.know_code),
        (VerifyRuntime, "new_code", scanner.know_code),
        (SidFactory, "secret", scanner.know_secret),
    ]
    for owner, name, remember in originals:
        original = getattr(owner, name)
        setattr(owner, name, _recording(original, remember))
        yield owner, name, original
    post_init = Settings.__post_init__

    def remembering_post_init(settings: Settings) -> None:
        post_init(settings)
        for field in dataclasses.fields(settings):
            if field.metadata["secret"] or field.name == "database_url":
                scanner.know_secret(str(getattr(settings, field.name)))

    Settings.__post_init__ = remembering_post_init  # type: ignore[method-assign,assignment]
    yield Settings, "__post_init__", post_init


class LogScanPlugin:
    """The pytest side: install the handler, follow the tests, read subprocess logs, judge."""

    def __init__(self) -> None:
        journal = os.environ.get("HERALD_LOG_SCAN_JOURNAL", "")
        self.scanner = Scanner(Path(journal) if journal else None)
        self.handler = ScanHandler(self.scanner)
        self._restore: list[tuple[Any, str, Any]] = []
        self._root_level = logging.NOTSET
        self._library_levels: dict[str, int] = {}

    def pytest_sessionstart(self) -> None:
        root = logging.getLogger()
        self._root_level = root.level
        # `herald serve` calls basicConfig(level=INFO): records at INFO exist in production,
        # so they must exist here to be scanned.
        root.setLevel(min(root.level, DEFAULT_LEVEL) or DEFAULT_LEVEL)
        root.addHandler(self.handler)
        # ... and as `herald serve` configures them (herald.cli.logs), libraries included.
        quieted = [*logs.QUIETED, *CLIENT_LOGGERS]
        self._library_levels = {name: logging.getLogger(name).level for name in quieted}
        logs.quiet_libraries()
        for name in CLIENT_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._restore = list(_watch_sources(self.scanner))
        os.environ.setdefault(
            "HERALD_SCALEOUT_LOG_LEVEL", logging.getLevelName(DEFAULT_LEVEL).lower()
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.scanner.start_test(item.nodeid)
        try:
            return (yield)
        finally:
            self.scanner.end_test()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            yield
        finally:
            tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
            if isinstance(tmp_path, Path):
                for log in sorted(tmp_path.glob("*.log")):
                    self.scanner.scan_log_file(log)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        logging.getLogger().removeHandler(self.handler)
        logging.getLogger().setLevel(self._root_level)
        for name, level in self._library_levels.items():
            logging.getLogger(name).setLevel(level)
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        if self.scanner.leaks and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.scanner.leaks:
            terminalreporter.section("secrets and phone numbers in logs", sep="=", red=True)
            terminalreporter.line(self.scanner.report())
        else:
            terminalreporter.line(
                f"log scan: {self.scanner.lines} log lines at "
                f"{logging.getLevelName(DEFAULT_LEVEL)}, no secret or full phone number"
            )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LogScanPlugin(), "herald-log-scan")


def leaks_in(
    lines: Iterable[str], *, secrets: Iterable[str] = (), codes: Iterable[str] = ()
) -> list[str]:
    """The kinds of leak in `lines`, given known `secrets` and `codes` (for direct checks)."""
    scanner = Scanner()
    for secret in secrets:
        scanner.know_secret(secret)
    for code in codes:
        scanner.know_code(code)
    return [leak.kind for line in lines for leak in scanner.scan(line, "test")]
