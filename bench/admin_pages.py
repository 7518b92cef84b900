"""Render times of the admin pages with 100,000 messages stored, beside bare SELECT floors.

    .venv/bin/python bench/admin_pages.py                       # SQLite in a temporary file
    .venv/bin/python bench/admin_pages.py --database-url postgresql://postgres@127.0.0.1/bench

The setup inserts the messages with one executemany per 5,000 rows (two tenants, spread over
30 days, mixed countries, senders and final statuses), then signs in to the admin pages through
the ASGI app in process (no sockets, so the figures are Herald's own work) and times, as the
median of interleaved rounds:

- the message log's first page (`/admin/messages`), beside its floor: the same 51 rows by a
  bare `SELECT ... ORDER BY created_at DESC, id DESC LIMIT 51`;
- the overview (`/admin/overview`, 14 days), beside its floor: a bare `SELECT` fetching the
  columns of every message in the window that the overview's aggregates read.

The goal is under 300 ms for each page. The PostgreSQL database is dropped and recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from herald.admin import router
from herald.api import ApiDeps, create_api
from herald.settings import Settings
from herald.storage.crypto import SecretBox, generate_secret_key
from herald.storage.engine import create_engine
from herald.storage.migrate import upgrade
from herald.storage.schema import messages

MESSAGES: Final = 100_000
CHUNK: Final = 5_000
DAYS: Final = 30
ROUNDS: Final = 15
ADMIN_KEY: Final = "bench-admin-key-0123456789"
NOW: Final = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
RECIPIENTS: Final = ("+3161234", "+4915112", "+4479111", "+1415555", "+3247012", "+3361234")
SENDERS: Final = ("+14155550100", "+31687654321", "Herald", None)
OUTCOMES: Final = ("delivered",) * 14 + ("read", "undelivered", "failed", "sent", "accepted")
_CSRF: Final = re.compile(r'name="csrf" value="([^"]+)"')


def _rows(tenants: list[str], rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(MESSAGES):
        created = NOW - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        status = rng.choice(OUTCOMES)
        rows.append(
            {
                "id": f"msg_{index:026d}",
                "tenant_id": tenants[index % len(tenants)],
                "channel": "sms",
                "to_address": rng.choice(RECIPIENTS) + f"{rng.randrange(10_000):04d}",
                "from_address": rng.choice(SENDERS),
                "body": "Your parcel arrives today between 10:00 and 12:00.",
                "encoding": "GSM-7",
                "segments": 1,
                "status": status,
                "purpose": "transactional",
                "metadata": {},
                "media_urls": [],
                "created_at": created,
                "updated_at": created,
                "provider_sid": None if status == "accepted" else f"SM{index:032x}",
                "error_code": 30003 if status == "undelivered" else None,
                "attempts": 1,
                "next_attempt_at": created if status == "accepted" else None,
            }
        )
    return rows


async def _fill(deps: ApiDeps) -> None:
    tenants = [(await deps.tenants.create(name, now=NOW)).id for name in ("acme", "globex")]
    rows = _rows(tenants, random.Random(6))
    async with deps.engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(messages), rows[start : start + CHUNK])


async def _median_ms(action: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        await action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def _page(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")


async def _select(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.connect() as connection:
        (await connection.execute(text(sql), params)).all()


async def run(database_url: str) -> list[tuple[str, float, str, float]]:
    """Fill the database, sign in, and time each page beside its floor."""
    settings = Settings(
        secret_key=generate_secret_key(), admin_key=ADMIN_KEY, database_url=database_url
    )
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        deps = ApiDeps.build(
            settings,
            engine,
            SecretBox(settings.secret_key),
            clock=lambda: NOW,
            worker_expected=False,
        )
        started = time.perf_counter()
        await _fill(deps)
        print(f"stored {MESSAGES:,} messages in {time.perf_counter() - started:.1f} s")
        app = create_api(deps, extra_routers=[router])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            form = await http.get("/admin/login")
            found = _CSRF.search(form.text)
            assert found is not None
            await http.post("/admin/login", data={"csrf": found.group(1), "key": ADMIN_KEY})
            since = datetime.combine(
                (NOW - timedelta(days=13)).date(), datetime.min.time(), tzinfo=UTC
            )
            window = (
                "SELECT created_at, status, channel, to_address, from_address, segments "
                "FROM messages WHERE created_at >= :since"
            )
            first_page = "SELECT * FROM messages ORDER BY created_at DESC, id DESC LIMIT 51"
            since_param = (
                since.replace(tzinfo=None).isoformat(sep=" ")
                if engine.dialect.name == "sqlite"
                else since
            )
            return [
                (
                    "message log, first page",
                    await _median_ms(lambda: _page(http, "/admin/messages")),
                    "SELECT of its 51 rows",
                    await _median_ms(lambda: _select(engine, first_page)),
                ),
                (
                    "overview, 14 days",
                    await _median_ms(lambda: _page(http, "/admin/overview")),
                    "SELECT of the window's rows",
                    await _median_ms(lambda: _select(engine, window, since=since_param)),
                ),
            ]
    finally:
        await engine.dispose()


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = arguments.database_url or f"sqlite:///{Path(directory) / 'bench.db'}"
        if url.startswith("postgres"):
            asyncio.run(_recreate(url))
        results = asyncio.run(run(url))
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"\n{backend}, {MESSAGES:,} messages, median of {ROUNDS} rounds\n")
    print("| page | render | floor | floor time | goal |")
    print("|---|---|---|---|---|")
    for name, page_ms, floor_name, floor_ms in results:
        verdict = "met" if page_ms < 300 else "missed"
        figures = f"{page_ms:.0f} ms | {floor_name} | {floor_ms:.0f} ms"
        print(f"| {name} | {figures} | < 300 ms: {verdict} |")


async def _recreate(url: str) -> None:
    import asyncpg  # noqa: PLC0415 - only needed for PostgreSQL

    base, _, name = url.rpartition("/")
    connection = await asyncpg.connect(f"{base}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
