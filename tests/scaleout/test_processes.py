"""`herald serve --processes N`: HTTP processes sharing one port, stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from herald.cli.processes import check_processes
from herald.errors import ConfigurationError
from herald.settings import Settings
from tests.scaleout.cluster import Cluster, wait_for

REQUESTS = 300


def children(pid: int) -> list[int]:
    """The processes `pid` started."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    return [int(each) for each in text.split()]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime: clock ticks of 1/100 s


def gone(pid: int) -> bool:
    """Whether no process `pid` exists any more (its parent has reaped it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def post_on_fresh_connections(cluster: Cluster, api: str, count: int) -> list[int]:
    """POST `count` sends, each on a new connection (so the kernel picks a process for each)."""
    headers = {"Authorization": f"Bearer {cluster.api_key}"}
    connector = aiohttp.TCPConnector(force_close=True)
    statuses = []
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:

        async def send(index: int) -> None:
            payload = {"channel": "sms", "to": f"+1415555{index:04d}", "body": f"hello {index}"}
            async with http.post(f"{api}/v1/messages", json=payload) as response:
                statuses.append(response.status)

        for start in range(0, count, 10):
            await asyncio.gather(*(send(i) for i in range(start, min(start + 10, count))))
    return statuses


@pytest.mark.postgres
async def test_two_processes_share_the_port_and_stop_together(cluster: Cluster) -> None:
    """Both processes answer requests; SIGTERM to the first stops both, exit status 0."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=1000)
    api = await cluster.start_api(processes=2)
    first = cluster.last_started
    [extra] = children(first.pid)
    before = cpu_seconds(extra)
    statuses = await post_on_fresh_connections(cluster, api, REQUESTS)
    assert statuses == [202] * REQUESTS
    # The extra process served part of them: an idle one uses next to no CPU.
    assert cpu_seconds(extra) - before >= 0.02, cluster.logs()
    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 60) == 0, cluster.logs()
    assert gone(extra)


def established(pid: int, port: int) -> int:
    """Connections to local `port` that process `pid` holds, read from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = str(fd.readlink())
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                count += 1
    return count


@pytest.mark.postgres
async def test_kept_open_connections_are_spread_over_the_processes(cluster: Cluster) -> None:
    """Sixteen clients that open their connections at once and keep them: each process holds
    some of them (sharing one socket, the first to wake took them all)."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=1000)
    api = await cluster.start_api(processes=2)
    first = cluster.last_started
    [extra] = children(first.pid)
    port = int(api.rsplit(":", 1)[1])
    headers = {"Authorization": f"Bearer {cluster.api_key}"}
    connector = aiohttp.TCPConnector(limit=16)
    held: list[tuple[int, int]] = []
    async with aiohttp.ClientSession(headers=headers, connector=connector) as http:

        async def client(number: int) -> None:
            for index in range(5):
                payload = {"channel": "sms", "to": f"+14155{number:02d}{index:04d}", "body": "hi"}
                async with http.post(f"{api}/v1/messages", json=payload) as response:
                    assert response.status == 202

        await asyncio.gather(*(client(number) for number in range(16)))
        held.append((established(first.pid, port), established(extra, port)))
    [(by_first, by_extra)] = held
    assert by_first > 0
    assert by_extra > 0
    first.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait, 60) == 0, cluster.logs()


@pytest.mark.postgres
async def test_an_extra_process_that_dies_stops_herald_with_status_1(cluster: Cluster) -> None:
    """A supervisor must see the failure: the first process stops and exits 1."""
    await cluster.start_emulator()
    await cluster.prepare(senders=1, rate=1000)
    await cluster.start_api(processes=2)
    first = cluster.last_started
    [extra] = children(first.pid)
    Cluster.kill_pid(extra)

    async def exited() -> bool:
        return first.poll() is not None

    await wait_for(exited, within=30)
    assert first.returncode == 1
    assert "An HTTP process exited by itself" in cluster.logs()


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (Settings(database_url="postgresql://h/db"), "needs Twilio credentials"),
        (
            Settings(
                database_url="sqlite:///herald.db",
                twilio_account_sid="AC" + "1" * 32,
                twilio_auth_token="x" * 32,
            ),
            "needs PostgreSQL",
        ),
    ],
)
def test_several_processes_are_refused_where_they_cannot_share(
    settings: Settings, says: str
) -> None:
    """The sandbox and SQLite run in one process; the refusal says what to change."""
    check_processes(settings, 1)
    with pytest.raises(ConfigurationError, match=says):
        check_processes(settings, 2)
    with pytest.raises(ConfigurationError, match="at least 1"):
        check_processes(settings, 0)
