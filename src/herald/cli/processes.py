"""`herald serve --processes N`: more HTTP processes on the one port, to use more cores.

The first process binds the port and starts N - 1 others (`herald serve --no-worker`), each
handed the listening socket; the kernel gives each new connection to one of them. The first
process also runs the worker (unless `--no-worker`) and prints the banner. SIGINT or SIGTERM
to it stops them all, each finishing the requests it has in progress. If one of the others
exits by itself, the first stops the rest and exits with status 1, so that whatever supervises
Herald (systemd, a container runtime) can start it again. An extra process whose first process
is gone stops by itself.

Several processes share PostgreSQL: they cannot share a SQLite file's single writer, nor run
the sandbox's in-process emulator, and are refused there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from typing import Final

from herald.errors import ConfigurationError
from herald.settings import Settings

logger = logging.getLogger("herald.serve")

INHERIT_OPTION: Final = "--inherit-socket"
"""The hidden option that tells an extra process which file descriptor to serve on."""
STOP_SECONDS: Final = 30.0
"""How long the extra processes get to finish their requests after SIGTERM."""
_PARENT_POLL_SECONDS: Final = 1.0


def check_processes(settings: Settings, processes: int) -> None:
    """`ConfigurationError` unless `processes` HTTP processes can share this deployment."""
    if processes < 1:
        raise ConfigurationError("--processes (HERALD_PROCESSES) must be at least 1.")
    if processes == 1:
        return
    if settings.sandbox:
        raise ConfigurationError(
            "--processes above 1 needs Twilio credentials: the sandbox's emulator runs inside "
            "one process. Set HERALD_TWILIO_ACCOUNT_SID and HERALD_TWILIO_AUTH_TOKEN, or serve "
            "one process."
        )
    if not settings.database_url.startswith(("postgresql", "postgres")):
        raise ConfigurationError(
            "--processes above 1 needs PostgreSQL (HERALD_DATABASE_URL=postgresql://...): "
            "processes cannot share SQLite's single writer."
        )


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on `host:port`, inheritable by the extra processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


class ExtraProcesses:
    """The `herald serve --no-worker` processes sharing the first process's socket."""

    def __init__(self, count: int, sock: socket.socket) -> None:
        self._count = count
        self._socket = sock
        self._children: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start them; each inherits this process's environment and the socket."""
        fd = self._socket.fileno()
        argv = [sys.executable, "-m", "herald", "serve", "--no-worker", INHERIT_OPTION, str(fd)]
        for _ in range(self._count):
            self._children.append(subprocess.Popen(argv, pass_fds=(fd,)))  # noqa: S603

    async def exited(self) -> int:
        """Wait until one of them exits by itself; its exit status."""
        while True:
            for child in self._children:
                code = child.poll()
                if code is not None:
                    logger.error("HTTP process %d exited with status %d", child.pid, code)
                    return code
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """SIGTERM each still running, wait for them to finish, SIGKILL what is left."""
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self._children:
            try:
                await asyncio.to_thread(child.wait, STOP_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "HTTP process %d did not stop in %.0f s; killed", child.pid, STOP_SECONDS
                )
                child.kill()
                await asyncio.to_thread(child.wait)
        self._children.clear()


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket an extra process was handed."""
    try:
        return socket.socket(fileno=fd)
    except OSError as exc:
        raise ConfigurationError(f"{INHERIT_OPTION} {fd} is no open socket: {exc}.") from None


async def watch_parent(parent: int, stop: asyncio.Event) -> None:
    """Set `stop` once the process that started this one is gone."""
    while not stop.is_set():
        if os.getppid() != parent:
            logger.warning("the first Herald process is gone; stopping")
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), _PARENT_POLL_SECONDS)
