"""`herald serve --processes N`: more HTTP processes on the one port, to use more cores.

The first process binds the port and starts N - 1 others (`herald serve --no-worker`), each
handed a listening socket. On Linux each process gets a socket of its own on the port
(`SO_REUSEPORT`), and the kernel spreads new connections evenly among them; sharing one socket,
whichever process woke first took every connection of a burst, so that the clients that keep
their connections open (proxies, load balancers, busy applications) all landed on one process.
Elsewhere the processes share one socket. The first process also runs the worker (unless
`--no-worker`) and prints the banner. SIGINT or SIGTERM
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
from collections.abc import Sequence
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


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets for the processes serving `host:port`, inheritable: one each on Linux
    (`SO_REUSEPORT`), else one shared by all. `ConfigurationError` if the port is taken."""
    if not _SPREADS_CONNECTIONS:
        sock = _bound(host, port, reuse_port=False)
        return [sock] * count
    # SO_REUSEPORT would also let this join a port another Herald holds with it: make sure the
    # port is free first.
    if port:
        _bound(host, port, reuse_port=False, listen=False).close()
    first = _bound(host, port, reuse_port=True)
    port = first.getsockname()[1]
    return [first, *(_bound(host, port, reuse_port=True) for _ in range(count - 1))]


# Linux hashes each new connection to one of the sockets sharing a port; other systems give
# every connection to one of them.
_SPREADS_CONNECTIONS: Final = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _bound(host: str, port: int, *, reuse_port: bool, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


class ExtraProcesses:
    """The `herald serve --no-worker` processes sharing the first process's socket."""

    def __init__(self, sockets: Sequence[socket.socket], *, own: socket.socket) -> None:
        self._sockets = list(sockets)
        self._own = own
        self._children: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        """Start one per socket; each inherits this process's environment and its socket."""
        for sock in self._sockets:
            fd = sock.fileno()
            argv = [sys.executable, "-m", "herald", "serve", "--no-worker", INHERIT_OPTION, str(fd)]
            self._children.append(subprocess.Popen(argv, pass_fds=(fd,)))  # noqa: S603
        for sock in self._sockets:
            if sock is not self._own:
                # Its process holds it now; kept open here, connections the kernel queued on
                # it would wait for ever once that process is gone.
                sock.close()

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
