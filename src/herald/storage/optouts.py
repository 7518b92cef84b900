"""Opt-outs: who does not want a tenant's messages on a channel, and how that changed.

The current state is one row per (tenant, channel, address); every change is also appended to
`opt_out_history` (the ledger a compliance officer reads) and, when the state flips, announced
with an `opt_out.changed` event, all in one transaction. Addresses are E.164 numbers; the
channel says whether they are SMS or WhatsApp.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, bindparam, delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.events import opt_out_changed_data
from herald.domain.phone import Channel
from herald.domain.records import OptOut, OptOutChange, OptOutSource
from herald.errors import InvalidInput
from herald.storage.dialect import upsert, write_transaction
from herald.storage.events import OPT_OUT_CHANGED, append_event
from herald.storage.schema import opt_out_history, opt_outs

MAX_PAGE = 500


class OptOutRepository:
    """Reads and records a tenant's opt-outs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant_id: str, channel: Channel, address: str) -> OptOut | None:
        """The recorded state for `address`, or None if it never opted out or in."""
        async with self._engine.connect() as connection:
            row = await _select_one(connection, tenant_id, channel, address)
        return None if row is None else _opt_out(row)

    async def is_opted_out(self, tenant_id: str, channel: Channel, address: str) -> bool:
        """Whether sending to `address` on `channel` is refused for this tenant."""
        found = await self.get(tenant_id, channel, address)
        return found is not None and found.opted_out

    async def set(
        self,
        tenant_id: str,
        channel: Channel,
        address: str,
        *,
        opted_out: bool,
        source: OptOutSource,
        now: datetime,
        keyword: str | None = None,
    ) -> OptOut:
        """Record an opt-out (or, with `opted_out=False`, an opt-in) for `address`."""
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "channel": channel.value,
            "address": address,
            "opted_out": opted_out,
            "source": source.value,
            "keyword": keyword,
            "updated_at": now,
        }
        async with write_transaction(self._engine) as connection:
            before = await _select_one(connection, tenant_id, channel, address, for_update=True)
            await connection.execute(
                upsert(connection, opt_outs, values, key=["tenant_id", "channel", "address"])
            )
            was_opted_out = before is not None and bool(before.opted_out)
            await _record_change(connection, values, announce=was_opted_out != opted_out)
        return _opt_out_values(values)

    async def delete(
        self,
        tenant_id: str,
        channel: Channel,
        address: str,
        *,
        source: OptOutSource,
        now: datetime,
    ) -> bool:
        """Lift and forget the opt-out of `address`; False if none was recorded."""
        async with write_transaction(self._engine) as connection:
            result = await connection.execute(
                delete(opt_outs)
                .where(
                    opt_outs.c.tenant_id == tenant_id,
                    opt_outs.c.channel == channel.value,
                    opt_outs.c.address == address,
                )
                .returning(opt_outs.c.opted_out)
            )
            was = result.first()
            if was is None:
                return False
            values = {
                "tenant_id": tenant_id,
                "channel": channel.value,
                "address": address,
                "opted_out": False,
                "source": source.value,
                "keyword": None,
                "updated_at": now,
            }
            await _record_change(connection, values, announce=bool(was.opted_out))
            return True

    async def history(self, tenant_id: str, channel: Channel, address: str) -> list[OptOutChange]:
        """Every recorded change for `address`, oldest first."""
        h = opt_out_history.c
        query = (
            select(opt_out_history)
            .where(h.tenant_id == tenant_id, h.channel == channel.value, h.address == address)
            .order_by(h.id)
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [
                OptOutChange(
                    id=row.id,
                    tenant_id=row.tenant_id,
                    channel=Channel(row.channel),
                    address=row.address,
                    opted_out=row.opted_out,
                    source=OptOutSource(row.source),
                    keyword=row.keyword,
                    occurred_at=row.occurred_at,
                )
                for row in rows
            ]

    async def list(
        self,
        tenant_id: str,
        *,
        channel: Channel | None = None,
        opted_out: bool | None = True,
        limit: int = 100,
    ) -> list[OptOut]:
        """The tenant's recorded states, most recently changed first (opted out only, default)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}; got {limit}.")
        query = select(opt_outs).where(opt_outs.c.tenant_id == tenant_id)
        if channel is not None:
            query = query.where(opt_outs.c.channel == channel.value)
        if opted_out is not None:
            query = query.where(opt_outs.c.opted_out == opted_out)
        query = query.order_by(opt_outs.c.updated_at.desc(), opt_outs.c.address).limit(limit)
        async with self._engine.connect() as connection:
            return [_opt_out(row) for row in await connection.execute(query)]


# Every send asks this: built once, so that only its parameters change.
_SELECT_ONE: Final = select(opt_outs).where(
    opt_outs.c.tenant_id == bindparam("tenant_id"),
    opt_outs.c.channel == bindparam("channel"),
    opt_outs.c.address == bindparam("address"),
)


_SELECT_ONE_FOR_UPDATE: Final = _SELECT_ONE.with_for_update()


async def opted_out_among(
    connection: AsyncConnection, wanted: Iterable[tuple[str, Channel, str]]
) -> set[tuple[str, Channel, str]]:
    """Which of the (tenant id, channel, E.164 address) triples are opted out: one statement."""
    keys = {(tenant_id, channel.value, address) for tenant_id, channel, address in wanted}
    if not keys:
        return set()
    rows = await connection.execute(_OPTED_OUT_AMONG, {"keys": sorted(keys)})
    return {(row.tenant_id, Channel(row.channel), row.address) for row in rows}


# Built once, as every accept batch runs it: only the list of keys changes.
_OPTED_OUT_AMONG: Final = select(
    opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address
).where(
    tuple_(opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address).in_(
        bindparam("keys", expanding=True)
    ),
    opt_outs.c.opted_out,
)


async def _select_one(
    connection: AsyncConnection,
    tenant_id: str,
    channel: Channel,
    address: str,
    *,
    for_update: bool = False,
) -> Row[Any] | None:
    parameters = {"tenant_id": tenant_id, "channel": channel.value, "address": address}
    query = _SELECT_ONE_FOR_UPDATE if for_update else _SELECT_ONE
    return (await connection.execute(query, parameters)).first()


async def _record_change(
    connection: AsyncConnection, values: dict[str, Any], *, announce: bool
) -> None:
    history = {key: value for key, value in values.items() if key != "updated_at"}
    await connection.execute(
        insert(opt_out_history).values(**history, occurred_at=values["updated_at"])
    )
    if announce:
        await append_event(
            connection,
            tenant_id=values["tenant_id"],
            type_=OPT_OUT_CHANGED,
            payload=opt_out_changed_data(
                channel=Channel(values["channel"]),
                address=values["address"],
                opted_out=values["opted_out"],
                source=OptOutSource(values["source"]),
                changed_at=values["updated_at"],
                keyword=values["keyword"],
            ),
            now=values["updated_at"],
        )


def _opt_out_values(values: dict[str, Any]) -> OptOut:
    return OptOut(
        tenant_id=values["tenant_id"],
        channel=Channel(values["channel"]),
        address=values["address"],
        opted_out=values["opted_out"],
        source=OptOutSource(values["source"]),
        keyword=values["keyword"],
        updated_at=values["updated_at"],
    )


def _opt_out(row: Row[Any]) -> OptOut:
    return _opt_out_values(dict(row._mapping))  # noqa: SLF001 - Row's public mapping view
