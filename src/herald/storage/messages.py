"""Messages as the API sees them: accept into the outbox, read, list, cancel.

Accepting a message is one transaction: the message row, its idempotency record, the first
entry of its history and its `message.status_changed` event commit together or not at all.
Once it has committed, the message is in the outbox and survives any crash; the worker
(`outbox.py`) takes it from there.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from herald.domain.lifecycle import Status
from herald.domain.phone import Channel
from herald.domain.records import (
    Accepted,
    HistorySource,
    MessageFilter,
    MessageRecord,
    NewMessage,
    Page,
    Purpose,
    StatusChange,
)
from herald.errors import (
    Conflict,
    IdempotencyConflict,
    InvalidInput,
    RecipientOptedOut,
    StorageError,
)
from herald.storage import ids
from herald.storage.accept_batch import accept_batch
from herald.storage.dialect import (
    in_write_transaction,
    is_postgresql,
    snapshot_read,
    write_transaction,
)
from herald.storage.group_commit import GroupCommit
from herald.storage.history import (
    NewHistoryEntry,
    append_histories,
    append_history,
    emit_accepted,
    emit_status_changed,
    message_from_row,
    read_history,
    status_changed_payload,
)
from herald.storage.optouts import opted_out_among
from herald.storage.schema import idempotency_keys, messages

MAX_PAGE: Final = 200
_WAITING: Final = (Status.ACCEPTED.value, Status.SCHEDULED.value)


# What the driver raises when the connection, not the statement, failed (the server went away,
# or was shut down or restarted under it).
_CONNECTION_LOST: Final = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


class MessageRepository:
    """The API's view of the outbox; every read and change is scoped to one tenant."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._accepts = GroupCommit(self._accept_many, self._accept_one)

    async def accept(
        self,
        tenant_id: str,
        message: NewMessage,
        *,
        now: datetime,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        opt_out_address: str | None = None,
    ) -> Accepted:
        """Commit `message` to the outbox, or return the message this key already created.

        With `opt_out_address` (the recipient's E.164 number), the recipient's opt-out of the
        message's channel is read in the transaction that commits it, and an opted-out
        recipient raises `RecipientOptedOut` with nothing stored.

        With an `idempotency_key`, `fingerprint` (the SHA-256 of the canonical request) must be
        given: the same key with the same fingerprint returns the original message
        (`created=False`); with another fingerprint it raises `IdempotencyConflict`. Two
        concurrent requests with one key create one message: the loser of the race hits the
        unique key, rolls back, and answers like a replay.
        """
        if idempotency_key is not None and not fingerprint:
            raise InvalidInput("An idempotency key needs the request's fingerprint.")
        if idempotency_key is not None:
            replay = await self._replay(tenant_id, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        acceptance = _Acceptance(
            tenant_id, message, now, idempotency_key, fingerprint, opt_out_address
        )
        if in_write_transaction():
            accepted = await self._accept_one(acceptance)  # the caller's transaction holds the lock
        else:
            accepted = await self._accepts.submit(acceptance)
        if accepted is None:
            raise RecipientOptedOut(
                f"The recipient has opted out of {message.channel.value} messages; nothing stored."
            )
        return accepted

    async def _accept_one(self, acceptance: _Acceptance) -> Accepted | None:
        tenant_id, key, fingerprint = (
            acceptance.tenant_id,
            acceptance.idempotency_key,
            acceptance.fingerprint,
        )
        try:
            async with write_transaction(self._engine) as connection:
                if key is not None:
                    replay = await self._replay(tenant_id, key, fingerprint, connection)
                    if replay is not None:
                        return replay
                [accepted] = await _accept_all(connection, [acceptance])
                return accepted
        except IntegrityError as exc:
            if key is not None:
                replay = await self._replay(tenant_id, key, fingerprint)
                if replay is not None:
                    return replay
            raise StorageError(f"Could not store the message: {exc.orig}") from exc

    async def _accept_many(self, batch: Sequence[_Acceptance]) -> list[Accepted | None]:
        # A key used twice, or already used, fails the batch; each is then accepted alone.
        if self._engine.dialect.name != "postgresql":
            async with write_transaction(self._engine) as connection:
                return await _accept_all(connection, batch)
        # One statement (`accept_batch`), on the driver's connection: the engine's connections
        # commit each statement on its own, and a statement is atomic, so no BEGIN or COMMIT.
        async with self._engine.connect() as connection:
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            try:
                return await _accept_all(driver, batch)
            except Exception as exc:
                if driver.is_closed() or isinstance(exc, _CONNECTION_LOST):
                    # SQLAlchemy did not see this fail: it would pool the dead connection again.
                    await connection.invalidate()
                raise

    async def replay(self, tenant_id: str, key: str, fingerprint: str) -> Accepted | None:
        """The message `key` already created (`created=False`), or None if the key is unused.

        Raises `IdempotencyConflict` when the key was used with another fingerprint. The API
        asks before checking the request again, so a replay is answered even when the rules
        would now refuse the request (the recipient opted out since, say).
        """
        return await self._replay(tenant_id, key, fingerprint)

    async def _replay(
        self,
        tenant_id: str,
        key: str,
        fingerprint: str | None,
        connection: AsyncConnection | None = None,
    ) -> Accepted | None:
        query = (
            select(idempotency_keys.c.fingerprint, messages)
            .join(messages, messages.c.id == idempotency_keys.c.message_id)
            .where(idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key)
        )
        if connection is None:
            async with self._engine.connect() as own:
                row = (await own.execute(query)).first()
        else:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"The Idempotency-Key {key!r} was used for a different request (message "
                f"{row.id}); send the same request again, or use a new key for a new message.",
                message_id=row.id,
            )
        return Accepted(message=message_from_row(row), created=False)

    async def get(self, tenant_id: str, message_id: str) -> MessageRecord | None:
        """The tenant's message with this id; another tenant's message is None, as if absent."""
        query = select(messages).where(
            messages.c.id == message_id, messages.c.tenant_id == tenant_id
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else message_from_row(row)

    async def detail(
        self, tenant_id: str, message_id: str
    ) -> tuple[MessageRecord, list[StatusChange]] | None:
        """The tenant's message and its history, oldest first, as of one moment; None if the
        tenant has no such message.

        Read in one snapshot: read apart, a status report committed in between would give a
        status that the history contradicts (`sent`, with `delivered` applied in the history).
        """
        query = select(messages).where(
            messages.c.id == message_id, messages.c.tenant_id == tenant_id
        )
        async with snapshot_read(self._engine) as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            return message_from_row(row), await read_history(connection, message_id)

    async def history(self, tenant_id: str, message_id: str) -> list[StatusChange] | None:
        """The message's history, oldest first; None if the tenant has no such message."""
        async with self._engine.connect() as connection:
            owner = await connection.scalar(
                select(messages.c.tenant_id).where(messages.c.id == message_id)
            )
            if owner != tenant_id:
                return None
            return await read_history(connection, message_id)

    async def list(
        self,
        tenant_id: str,
        filters: MessageFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[MessageRecord]:
        """The tenant's messages, newest first, `limit` at a time.

        Pass a page's `next_cursor` to get the next page; the cursor is opaque to callers.
        Messages created after the first page was read do not shift later pages.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}; got {limit}.")
        filters = filters or MessageFilter()
        m = messages.c
        query = select(messages).where(m.tenant_id == tenant_id)
        if filters.status is not None:
            query = query.where(m.status == filters.status.value)
        if filters.channel is not None:
            query = query.where(m.channel == filters.channel.value)
        if filters.to is not None:
            query = query.where(m.to_address == filters.to)
        if filters.created_from is not None:
            query = query.where(m.created_at >= filters.created_from)
        if filters.created_to is not None:
            query = query.where(m.created_at <= filters.created_to)
        if cursor is not None:
            created, last_id = _decode_cursor(cursor)
            query = query.where(
                or_(m.created_at < created, and_(m.created_at == created, m.id < last_id))
            )
        query = query.order_by(m.created_at.desc(), m.id.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            records = [message_from_row(row) for row in await connection.execute(query)]
        more = len(records) > limit
        records = records[:limit]
        following = _encode_cursor(records[-1]) if more else None
        return Page(items=tuple(records), next_cursor=following)

    async def cancel(
        self, tenant_id: str, message_id: str, *, now: datetime
    ) -> MessageRecord | None:
        """Cancel a message no worker has started sending; None if the tenant has no such message.

        Raises `Conflict` when the message is already with the provider, finished, or held by
        a worker right now.
        """
        m = messages.c
        async with write_transaction(self._engine) as connection:
            row = (
                await connection.execute(
                    select(messages)
                    .where(m.id == message_id, m.tenant_id == tenant_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                return None
            before = message_from_row(row)
            leased = before.lease_expires_at is not None and before.lease_expires_at > now
            if before.status.value not in _WAITING or leased:
                state = "being sent" if leased else before.status.value
                raise Conflict(
                    f"Message {message_id} is {state} and can no longer be canceled: only "
                    "accepted or scheduled messages that no worker holds can be."
                )
            result = await connection.execute(
                update(messages)
                .where(m.id == message_id)
                .values(
                    status=Status.CANCELED.value,
                    next_attempt_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
                .returning(*messages.c)
            )
            record = message_from_row(result.one())
            await append_history(
                connection,
                message_id=message_id,
                status=Status.CANCELED,
                source=HistorySource.API,
                occurred_at=now,
                recorded_at=now,
                applied=True,
            )
            await emit_status_changed(
                connection, record, previous=before.status, occurred_at=now, now=now
            )
            return record

    async def count_by_status(self, tenant_id: str | None = None) -> dict[Status, int]:
        """How many messages are in each status (of one tenant, or of all)."""
        query = select(messages.c.status, func.count()).group_by(messages.c.status)
        if tenant_id is not None:
            query = query.where(messages.c.tenant_id == tenant_id)
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return {Status(status): count for status, count in rows}


@dataclasses.dataclass(frozen=True, slots=True)
class _Acceptance:
    """One message to accept, as `MessageRepository.accept` was asked."""

    tenant_id: str
    message: NewMessage
    now: datetime
    idempotency_key: str | None
    fingerprint: str | None
    opt_out_address: str | None

    def opt_out_key(self) -> tuple[str, Channel, str] | None:
        """What to look up in the opt-outs, if the caller asked."""
        if self.opt_out_address is None:
            return None
        return (self.tenant_id, self.message.channel, self.opt_out_address)


async def _accept_all(
    connection: AsyncConnection | asyncpg.Connection, batch: Sequence[_Acceptance]
) -> list[Accepted | None]:
    """Insert the messages, their keys, first history entries and events (on PostgreSQL
    through SQLAlchemy's connection or the driver's own).

    None in place of an acceptance whose recipient has opted out (nothing stored for it)."""
    rows = [_message_values(each) for each in batch]
    records = [_accepted_record(row) for row in rows]
    if isinstance(connection, AsyncConnection) and not is_postgresql(connection):
        stored = await _insert_each(connection, batch, rows, records)
    else:
        stored = await _insert_postgresql(connection, batch, rows, records)
    return [
        Accepted(message=record, created=True) if record.id in stored else None
        for record in records
    ]


async def _insert_postgresql(
    connection: AsyncConnection | asyncpg.Connection,
    batch: Sequence[_Acceptance],
    rows: Sequence[dict[str, Any]],
    records: Sequence[MessageRecord],
) -> set[str]:
    """Everything in one statement (`accept_batch`); the ids of the messages stored."""
    return await accept_batch(
        connection,
        [
            {
                **row,
                "fingerprint": each.fingerprint,
                "opt_out_address": each.opt_out_address,
                "event_public_id": ids.new_id(ids.EVENT, record.created_at),
                "event_payload": status_changed_payload(record, None, record.created_at),
            }
            for each, row, record in zip(batch, rows, records, strict=True)
        ],
    )


async def _insert_each(
    connection: AsyncConnection,
    batch: Sequence[_Acceptance],
    rows: Sequence[dict[str, Any]],
    records: Sequence[MessageRecord],
) -> set[str]:
    """A statement per table; the ids of the messages stored (not those opted out)."""
    checks = [each.opt_out_key() for each in batch]
    opted_out = await opted_out_among(connection, [key for key in checks if key is not None])
    wanted = [
        (each, row, record)
        for each, row, record, key in zip(batch, rows, records, checks, strict=True)
        if key is None or key not in opted_out
    ]
    if not wanted:
        return set()
    await connection.execute(insert(messages), [row for _, row, _ in wanted])
    keys = [
        {
            "tenant_id": record.tenant_id,
            "key": each.idempotency_key,
            "fingerprint": each.fingerprint,
            "message_id": record.id,
            "created_at": each.now,
        }
        for each, _, record in wanted
        if each.idempotency_key is not None
    ]
    if keys:
        await connection.execute(insert(idempotency_keys), keys)
    await append_histories(
        connection,
        [
            NewHistoryEntry(
                message_id=record.id,
                status=record.status,
                source=HistorySource.API,
                occurred_at=each.now,
                recorded_at=each.now,
                applied=True,
            )
            for each, _, record in wanted
        ],
    )
    await emit_accepted(connection, [record for _, _, record in wanted])
    return {record.id for _, _, record in wanted}


def _accepted_record(row: dict[str, Any]) -> MessageRecord:
    """The message as its row stores it (what reading it back would give)."""
    return MessageRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        channel=Channel(row["channel"]),
        to=row["to_address"],
        from_=row["from_address"],
        body=row["body"],
        encoding=row["encoding"],
        segments=row["segments"],
        status=Status(row["status"]),
        purpose=Purpose(row["purpose"]),
        metadata=row["metadata"],
        template=row["template"],
        template_variables=row["template_variables"],
        content_sid=row["content_sid"],
        content_variables=row["content_variables"],
        media_urls=tuple(row["media_urls"]),
        send_at=row["send_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        provider_sid=None,
        error_code=None,
        error_message=None,
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        lease_owner=None,
        lease_expires_at=None,
        idempotency_key=row["idempotency_key"],
    )


def _message_values(acceptance: _Acceptance) -> dict[str, Any]:
    message = acceptance.message
    # In UTC, as the database gives times back.
    now = acceptance.now.astimezone(UTC)
    send_at = None if message.send_at is None else message.send_at.astimezone(UTC)
    scheduled = send_at is not None and send_at > now
    return {
        "id": ids.new_id(ids.MESSAGE, now),
        "tenant_id": acceptance.tenant_id,
        "channel": message.channel.value,
        "to_address": message.to,
        "from_address": message.from_,
        "body": message.body,
        "encoding": message.encoding,
        "segments": message.segments,
        "status": (Status.SCHEDULED if scheduled else Status.ACCEPTED).value,
        "purpose": message.purpose.value,
        "metadata": dict(message.metadata),
        "template": message.template,
        "template_variables": _json_or_none(message.template_variables),
        "content_sid": message.content_sid,
        "content_variables": _json_or_none(message.content_variables),
        "media_urls": list(message.media_urls),
        "send_at": send_at,
        "created_at": now,
        "updated_at": now,
        "attempts": 0,
        "next_attempt_at": send_at if scheduled else now,
        "idempotency_key": acceptance.idempotency_key,
    }


def _json_or_none(value: Any) -> Any:
    return None if value is None else dict(value)


def _encode_cursor(record: MessageRecord) -> str:
    raw = f"{record.created_at.isoformat()}|{record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_text, _, last_id = raw.partition("|")
        created = datetime.fromisoformat(created_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        created, last_id = datetime.min.replace(tzinfo=UTC), ""
    if not last_id or created.tzinfo is None:
        raise InvalidInput(
            "The cursor is not one Herald issued; pass the `next_cursor` of the previous page "
            "unchanged, or leave it out to start from the newest message."
        )
    return created, last_id
