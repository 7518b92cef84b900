"""Private PostgreSQL and Redis servers that a reliability test may stop and start at will.

The shared servers at 127.0.0.1:5432 and :6379 serve every other test, so a fault scenario
never touches them: it runs its own `postgres` (initdb into a temporary directory, `pg_ctl` on
a free port) or `redis-server` (a subprocess on a free port), all on 127.0.0.1.

    with private_postgres() as pg:           # initdb + start; stopped and removed after
        url = pg.create_database("herald")   # postgresql://postgres@127.0.0.1:PORT/herald
        pg.stop(); pg.start(); pg.restart()

    with private_redis() as server:          # redis-server, no persistence
        server.url                           # redis://127.0.0.1:PORT/0
        server.stop(); server.start()

When the binaries are missing the test is skipped with the reason on a laptop, and fails under
`CI=true`, like the backends of tests/conftest.py.
PostgreSQL runs as the `postgres` user when the tests run as root (it refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, NoReturn

import pytest

from tests.conftest import IN_CI
from tests.gateway.gateway_helpers import free_port

START_SECONDS: Final = 30.0


def _unavailable(what: str) -> NoReturn:
    """Skip the test (fail it under `CI=true`): `what` is missing."""
    message = f"{what}; install it to run the reliability tests"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: backends must not be skipped)", pytrace=False)
    pytest.skip(message)


def _postgres_bindir() -> Path:
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    _unavailable("PostgreSQL's initdb and pg_ctl are not installed")


def _wait_for_port(port: int, within: float = START_SECONDS) -> None:
    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {within} s")
        time.sleep(0.05)


class PrivatePostgres:
    """A PostgreSQL server of the test's own, in `directory`, on `port`."""

    def __init__(self, bindir: Path, directory: Path, port: int) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        command: Sequence[str] = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(  # noqa: S603 - fixed PostgreSQL binaries
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        """Create the cluster: trust authentication, user `postgres`."""
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    @property
    def url(self) -> str:
        """The maintenance database's URL."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.directory}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=200",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        log = self.directory / "postgres.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-o", options, "-w", "start")
        _wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop it the way an operator's restart does (`fast`: sessions are disconnected;
        `immediate`: as if it crashed)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop, then start again."""
        self.stop()
        self.start()

    def running(self) -> bool:
        """Whether the server's postmaster is up."""
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        self._run(
            "psql",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres"),
            *("-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{name}"'),
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL; stopped and its files removed afterwards."""
    bindir = _postgres_bindir()
    # Not under pytest's tmp_path: its parents are private to root, and the postgres user
    # must reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="herald-pg-"))
    server = PrivatePostgres(bindir, directory, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


class PrivateRedis:
    """A `redis-server` of the test's own on `port`, without persistence."""

    def __init__(self, binary: str, port: int, directory: Path) -> None:
        self.binary = binary
        self.port = port
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Database 0 of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (empty) and return once it accepts connections."""
        log = (self.directory / "redis.log").open("ab")
        with log:
            self._process = subprocess.Popen(  # noqa: S603 - the installed redis-server
                [
                    self.binary,
                    *("--port", str(self.port)),
                    *("--bind", "127.0.0.1"),
                    *("--save", ""),
                    *("--appendonly", "no"),
                    *("--daemonize", "no"),
                    *("--dir", str(self.directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for_port(self.port)

    def stop(self) -> None:
        """Stop it (SIGTERM) and wait until it is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop, then start again (empty)."""
        self.stop()
        self.start()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A started private Redis; stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server is not installed")
    directory = Path(tempfile.mkdtemp(prefix="herald-redis-"))
    server = PrivateRedis(binary, free_port(), directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
