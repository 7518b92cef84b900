"""A batch of accepted messages in one PostgreSQL statement.

Accepting a message writes its row, its idempotency record, the first entry of its history,
its `message.status_changed` event and that event's deliveries, after checking the recipient's
opt-out. Statement by statement that is six statements per batch, each with its parameters
processed row by row. On PostgreSQL one statement does it all: each column of the batch travels
as one array, `unnest` turns the arrays back into rows, and data-modifying `WITH` clauses write
every table from them, after taking each tenant's event lock (`order_tenant_events`). The
statement's text never changes with the batch's size, so it is
prepared once per connection.

The rows are the same as those of the statement-by-statement path (SQLite's), which the storage
tests check on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from herald.domain.records import HistorySource
from herald.storage.dialect import EVENTS_LOCK_PREFIX
from herald.storage.events import MESSAGE_STATUS_CHANGED

# Each batch column: its name and its PostgreSQL array type. JSON travels as text; None as
# JSON's null, as SQLAlchemy's JSON type stores it.
_COLUMNS: Final = (
    ("id", "varchar[]"),
    ("tenant_id", "varchar[]"),
    ("channel", "varchar[]"),
    ("to_address", "varchar[]"),
    ("from_address", "varchar[]"),
    ("body", "text[]"),
    ("encoding", "varchar[]"),
    ("segments", "integer[]"),
    ("status", "varchar[]"),
    ("purpose", "varchar[]"),
    ("metadata", "text[]"),
    ("template", "varchar[]"),
    ("template_variables", "text[]"),
    ("content_sid", "varchar[]"),
    ("content_variables", "text[]"),
    ("media_urls", "text[]"),
    ("send_at", "timestamptz[]"),
    ("created_at", "timestamptz[]"),
    ("next_attempt_at", "timestamptz[]"),
    ("idempotency_key", "varchar[]"),
    ("fingerprint", "varchar[]"),
    ("opt_out_address", "varchar[]"),
    ("event_public_id", "varchar[]"),
    ("event_payload", "text[]"),
)
JSON_COLUMNS: Final = frozenset(
    {"metadata", "template_variables", "content_variables", "media_urls", "event_payload"}
)

_UNNEST: Final = ", ".join(f"CAST(:{name} AS {array})" for name, array in _COLUMNS)
_NAMES: Final = ", ".join(name for name, _ in _COLUMNS)

ACCEPT_BATCH: Final = text(f"""
WITH batch AS (
    SELECT * FROM unnest({_UNNEST}) WITH ORDINALITY AS b({_NAMES}, position)
), locked AS (
    -- `order_tenant_events` for every tenant of the batch, in order, before any event id
    -- is taken: `appended` reads this first.
    SELECT pg_advisory_xact_lock(hashtextextended(:events_lock || tenant_id, 0)) AS held
    FROM (SELECT DISTINCT tenant_id FROM batch ORDER BY tenant_id) AS tenants
), wanted AS (
    SELECT * FROM batch
    WHERE opt_out_address IS NULL OR NOT EXISTS (
        SELECT 1 FROM opt_outs AS o
        WHERE o.tenant_id = batch.tenant_id AND o.channel = batch.channel
            AND o.address = batch.opt_out_address AND o.opted_out
    )
), stored AS (
    INSERT INTO messages (
        id, tenant_id, channel, to_address, from_address, body, encoding, segments, status,
        purpose, metadata, template, template_variables, content_sid, content_variables,
        media_urls, send_at, created_at, updated_at, attempts, next_attempt_at, idempotency_key
    )
    SELECT
        id, tenant_id, channel, to_address, from_address, body, encoding, segments, status,
        purpose, CAST(metadata AS json), template, CAST(template_variables AS json),
        content_sid, CAST(content_variables AS json), CAST(media_urls AS json), send_at,
        created_at, created_at, 0, next_attempt_at, idempotency_key
    FROM wanted
    RETURNING id
), keys AS (
    INSERT INTO idempotency_keys (tenant_id, key, fingerprint, message_id, created_at)
    SELECT tenant_id, idempotency_key, fingerprint, id, created_at
    FROM wanted WHERE idempotency_key IS NOT NULL
), history AS (
    INSERT INTO message_status_history (
        message_id, status, source, occurred_at, recorded_at, applied
    )
    SELECT id, status, :source, created_at, created_at, true FROM wanted
), appended AS (
    INSERT INTO events (public_id, tenant_id, type, payload, created_at)
    SELECT event_public_id, tenant_id, :event_type, CAST(event_payload AS json), created_at
    FROM wanted WHERE (SELECT count(*) FROM locked) > 0 ORDER BY position
    RETURNING id, tenant_id, created_at
), deliveries AS (
    INSERT INTO event_deliveries (event_id, endpoint_id, attempts, next_attempt_at, created_at)
    SELECT appended.id, endpoint.id, 0, appended.created_at, appended.created_at
    FROM appended JOIN webhook_endpoints AS endpoint ON endpoint.tenant_id = appended.tenant_id
    WHERE endpoint.disabled_at IS NULL
        AND (endpoint.event_types = '' OR strpos(endpoint.event_types, :event_type_item) > 0)
)
SELECT id FROM stored
""")  # noqa: S608 - column names and types from the constant above; values are bound


_CONSTANTS: Final = {
    "source": HistorySource.API.value,
    "event_type": MESSAGE_STATUS_CHANGED,
    "event_type_item": f",{MESSAGE_STATUS_CHANGED},",
    "events_lock": EVENTS_LOCK_PREFIX,
}
# The statement as the driver takes it (`$1`, `$2`...), and the parameters in that order.
_COMPILED: Final = ACCEPT_BATCH.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
_DRIVER_SQL: Final = _COMPILED.string
_PARAMETERS: Final = tuple(_COMPILED.positiontup or ())


async def accept_batch(
    connection: AsyncConnection | asyncpg.Connection, rows: Sequence[dict[str, Any]]
) -> set[str]:
    """Write every row (a message's columns, `fingerprint`, `opt_out_address`, and its event's
    `event_public_id` and `event_payload`); the ids of those written, that is, of all rows but
    those whose `opt_out_address` has opted out of their channel.

    `connection` is SQLAlchemy's, in its transaction, or asyncpg's own, outside any: the
    statement is then its own transaction. A batch of the group commit skips SQLAlchemy, whose
    handling of a statement and its result costs more than the driver's execution of it."""
    values: dict[str, Any] = {
        name: [_json_text(row[name]) for row in rows]
        if name in JSON_COLUMNS
        else [row[name] for row in rows]
        for name, _ in _COLUMNS
    }
    values.update(_CONSTANTS)
    arguments = tuple(values[name] for name in _PARAMETERS)
    if isinstance(connection, AsyncConnection):
        result = await connection.exec_driver_sql(_DRIVER_SQL, arguments)
        return {message_id for (message_id,) in result}
    return {record[0] for record in await connection.fetch(_DRIVER_SQL, *arguments)}


def _json_text(value: Any) -> str:
    """`value` as JSON; most messages have no metadata, variables or media, spelt here."""
    if value is None:
        return "null"
    if not value and isinstance(value, dict | list):
        return "[]" if isinstance(value, list) else "{}"
    return json.dumps(value)
