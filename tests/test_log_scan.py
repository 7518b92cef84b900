"""The log scan (tests/log_scan.py) finds what must not be logged, and fails a run that logs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from herald.storage.crypto import generate_secret_key
from tests.log_scan import leaks_in

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("sent to +16282000001", "phone number"),
        ("GET /Messages.json?To=%2B16282000001", "phone number"),
        ("inbound from whatsapp:+31612345678", "phone number"),
        ("key hk_" + "A1b2" * 8 + " created", "Herald API key"),
        ("auth token 7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e", "Twilio auth token"),
        ("Authorization: Basic QUM1YzVjNWM6N2U3ZTdlN2U=", "HTTP credentials"),
        ("Authorization: Bearer hk_abcdefghijklmnop", "HTTP credentials"),
        (
            "SendGrid key SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "SendGrid API key",
        ),
        ("connecting to postgresql://herald:hunter2@db/herald", "password in a URL"),
    ],
)
def test_each_kind_of_leak_is_found(line: str, kind: str) -> None:
    """A secret or a full number, in any of its usual forms, is reported as what it is."""
    assert kind in leaks_in([line])


def test_a_fernet_key_is_found() -> None:
    """`HERALD_SECRET_KEY` is recognised by its form, whoever generated it."""
    assert "Fernet secret key" in leaks_in([f"key {generate_secret_key()}"])


@pytest.mark.parametrize(
    "line",
    [
        "sent to +16•••0001",
        "sender +12345 (a short code)",
        "message SM" + "0" * 32 + " adopted",
        "key prefix hk_A1b2C3d4",
        "connecting to postgresql://herald:•••••@db/herald",
        "worker vm:2345:d37a2304 started",
    ],
)
def test_masked_numbers_sids_and_key_prefixes_are_not_leaks(line: str) -> None:
    """What Herald logs on purpose (masked numbers, SIDs, key prefixes) passes."""
    assert leaks_in([line]) == []


def test_known_secrets_and_codes_are_found_as_they_are() -> None:
    """A secret seen in a `Settings`, and a code generated in the test, match exactly."""
    secret = "an-admin-key-of-any-form"
    assert leaks_in([f"admin key {secret}"], secrets=[secret]) == ["known secret"]
    assert leaks_in(["your code is 482913"], codes=["482913"]) == ["one-time code"]
    assert leaks_in(["port 4829131"], codes=["482913"]) == []


def run_pytest(directory: Path, test_source: str) -> subprocess.CompletedProcess[str]:
    """Run pytest with the log scan on one test file written into `directory`."""
    (directory / "test_subject.py").write_text(textwrap.dedent(test_source), encoding="utf-8")
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HERALD_LOG_SCAN_JOURNAL", None)
    return subprocess.run(  # noqa: S603 - the test runner on a file of our own
        [
            sys.executable,
            *("-m", "pytest", "-p", "tests.log_scan", "-p", "no:cacheprovider"),
            *("-c", str(directory / "pytest.ini"), "--rootdir", str(directory)),
            *("--basetemp", str(directory / "inner"), str(directory / "test_subject.py")),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_a_run_that_logs_a_leak_fails_and_names_the_test_and_line(tmp_path: Path) -> None:
    """Every test passing is not enough: one leaking log line fails the run, and is named."""
    result = run_pytest(
        tmp_path,
        """
        import logging
        from pathlib import Path

        from herald.domain import otp

        def test_quiet():
            logging.getLogger("herald.worker").info("message %s to %s", "m1", "+16•••0001")
            logging.getLogger("herald.worker").debug("below INFO: %s", "+16282000003")

        def test_leaky():
            logging.getLogger("herald.webhooks").info("inbound from %s", "+16282000001")

        def test_code():
            code = otp.generate_code(8)
            logging.getLogger("herald.verification").info("code %s sent", code)

        def test_subprocess_log(tmp_path: Path):
            (tmp_path / "worker-1.log").write_text(
                "banner +16282000009 printed before logging starts\\n"
                "2026-11-27 17:00:00,000 DEBUG herald.worker: to +16282000004\\n"
                "2026-11-27 17:00:00,000 WARNING herald.worker: to +16282000002\\n"
            )
        """,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    assert "3 log lines give away a secret or a full phone number" in result.stdout
    assert "test_subject.py::test_leaky" in result.stdout
    assert "[herald.webhooks] phone number: INFO herald.webhooks: inbound from +16282000001" in (
        result.stdout
    )
    assert "test_subject.py::test_code\n    [herald.verification] one-time code" in result.stdout
    assert "[worker-1.log] phone number" in result.stdout
    assert "+16282000009" not in result.stdout
    assert "+16282000004" not in result.stdout
