"""`herald serve` as a user runs it: a real process, in sandbox, on free ports."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.gateway_helpers import free_port

STARTUP_SECONDS = 30


class Serving:
    """A running `herald serve` process and what it printed."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, emulator_port: int) -> None:
        self.process = process
        self.port = port
        self.emulator_port = emulator_port
        self._output = b""

    def read_until(self, marker: str, timeout: float = STARTUP_SECONDS) -> None:
        """Collect what the process prints until a line contains `marker`."""
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        selector = selectors.DefaultSelector()
        selector.register(descriptor, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while marker not in self.printed:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                pytest.fail(f"herald serve printed no {marker!r}:\n{self.printed}")
            chunk = os.read(descriptor, 65536)
            if not chunk:
                pytest.fail(f"herald serve exited:\n{self.printed}")
            self._output += chunk
        selector.close()

    @property
    def printed(self) -> str:
        """Everything printed so far."""
        return self._output.decode("utf-8", "replace")

    @property
    def api_key(self) -> str:
        """The key the banner printed."""
        line = next(
            line for line in self.printed.splitlines() if line.strip().startswith("API key")
        )
        return line.split()[-1]


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[Serving]:
    """`herald serve` in sandbox with a fresh HERALD_HOME, stopped (forcibly if need be) after."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_HOME"] = str(tmp_path / "home")
    port, emulator_port = free_port(), free_port()
    process = subprocess.Popen(  # noqa: S603 - Herald's own entry point
        [sys.executable, "-m", "herald", "serve", "--port", str(port)],
        env={**env, "HERALD_EMULATOR_PORT": str(emulator_port), "HERALD_LOG_LEVEL": "warning"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = Serving(process, port, emulator_port)
    try:
        running.read_until("Stop with Ctrl+C")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _request(url: str, *, key: str | None = None, body: object = None) -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - local http
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local http
        return response.status, json.loads(response.read())


def test_serve_prints_the_key_docs_and_emulator(serving: Serving) -> None:
    """The banner names the API key, the docs URL and the emulator URL."""
    printed = serving.printed
    assert serving.api_key.startswith("hk_")
    assert f"http://127.0.0.1:{serving.port}/docs" in printed
    assert f"http://127.0.0.1:{serving.emulator_port}" in printed
    assert "curl -X POST" in printed


def test_serve_answers_health_and_accepts_a_message(serving: Serving) -> None:
    """Over real HTTP: /healthz answers, and a message is accepted with 202."""
    base = f"http://127.0.0.1:{serving.port}"
    assert _request(f"{base}/healthz") == (200, {"status": "ok"})
    status, message = _request(
        f"{base}/v1/messages",
        key=serving.api_key,
        body={"channel": "sms", "to": "+14155552671", "body": "Hello from Herald"},
    )
    assert status == 202
    assert isinstance(message, dict)
    assert message["status"] == "accepted"


def test_sigterm_stops_serve_cleanly(serving: Serving) -> None:
    """SIGTERM ends the process with status 0 within a few seconds, saying it stopped."""
    serving.process.send_signal(signal.SIGTERM)
    assert serving.process.wait(timeout=10) == 0
    serving.read_until("Herald stopped.", timeout=5)
    assert "Traceback" not in serving.printed
