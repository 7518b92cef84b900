"""`herald serve` as a separate process, in sandbox, for tests that need real HTTP.

    with herald_serve(tmp_path / "home", database_url) as herald:
        herald.url        # http://127.0.0.1:PORT
        herald.api_key    # the sandbox tenant's key, read from the banner

The sandbox migrates the database, starts the emulator and creates the tenant and its key, so
the process is exactly what a user runs. `--no-worker` keeps it to the API and webhook intake
(and `/readyz` does not wait for a worker heartbeat). Everything it printed is in `output()`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tests.gateway.gateway_helpers import free_port

STARTUP_SECONDS: Final = 60.0


@dataclass(frozen=True)
class ServedHerald:
    """A running `herald serve` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    @property
    def api_key(self) -> str:
        """The sandbox tenant's API key, from the banner."""
        for line in self.output().splitlines():
            if line.strip().startswith("API key"):
                return line.split()[-1]
        raise AssertionError(f"herald serve printed no API key:\n{self.output()}")


@contextlib.contextmanager
def herald_serve(home: Path, database_url: str, **env: str) -> Iterator[ServedHerald]:
    """`herald serve --no-worker` in sandbox on free ports; killed (if need be) afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    environment.update(
        HERALD_HOME=str(home),
        HERALD_DATABASE_URL=database_url,
        HERALD_EMULATOR_PORT=str(free_port()),
        HERALD_LOG_LEVEL="warning",
        **env,
    )
    log = home / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - Herald's own entry point
            [sys.executable, "-m", "herald", "serve", "--no-worker", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    served = ServedHerald(process, port, log)
    try:
        _wait_until_up(served)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(served: ServedHerald) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError(f"herald serve exited:\n{served.output()}")
        if "Stop with Ctrl+C" in served.output():
            try:
                with urllib.request.urlopen(f"{served.url}/healthz", timeout=5):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.2)
    raise AssertionError(f"herald serve did not start in {STARTUP_SECONDS:g} s:\n{served.output()}")
