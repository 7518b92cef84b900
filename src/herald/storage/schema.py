"""Herald's tables, as SQLAlchemy Core, identical on SQLite and PostgreSQL.

Times are stored in UTC: `timestamptz` on PostgreSQL; on SQLite, which has no time zones,
fixed-width ISO text in UTC, which compares correctly as text. `UtcDateTime` refuses naive
datetimes on the way in and returns aware UTC datetimes on the way out, on both backends.

The Alembic migrations in `migrations/versions/` must produce exactly this metadata; a test
compares them on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

# Stable constraint names, so that later migrations can refer to them on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An auto-incrementing 64-bit key; on SQLite only INTEGER PRIMARY KEY is the rowid alias.
SerialKey = BigInteger().with_variant(Integer(), "sqlite")

ID = 40  # length of a prefixed id (`msg_` + 26) with room for longer prefixes
SID = 64  # a provider identifier (Twilio SIDs are 34 characters)
ADDRESS = 64  # `whatsapp:+` and up to 15 digits, or an alphanumeric sender


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Herald stores aware datetimes only; got naive {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - the signature SQLAlchemy calls
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created() -> Column[datetime]:
    return Column("created_at", UtcDateTime(), nullable=False)


tenants = Table(
    "tenants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("twilio_account_sid", String(SID)),
    Column("twilio_key_sid", String(SID)),
    Column("twilio_secret_encrypted", Text),
    Column("default_sender", String(ADDRESS)),
    Column("default_region", String(2)),
    Column("messaging_service_sid", String(SID)),
    Column("opt_out_reply", Text),
    Column("opt_in_reply", Text),
    Column("help_reply", Text),
    Column("keyword_additions", JSON, nullable=False),
    Column("templates", JSON, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=False),
    _created(),
    Column("revoked_at", UtcDateTime()),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("to_address", String(ADDRESS), nullable=False),
    Column("from_address", String(ADDRESS)),
    Column("body", Text),
    Column("encoding", String(16)),
    Column("segments", Integer),
    Column("status", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("template", String(100)),
    Column("template_variables", JSON),
    Column("content_sid", String(SID)),
    Column("content_variables", JSON),
    Column("media_urls", JSON, nullable=False),
    Column("send_at", UtcDateTime()),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("provider_sid", String(SID)),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime()),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UtcDateTime()),
    Column("idempotency_key", String(255)),
    # Reconciliation (storage/reconcile.py): when Twilio was last asked about a handed-over
    # message still in a non-final status, and when it may be asked next.
    Column("reconciled_at", UtcDateTime()),
    Column("reconcile_at", UtcDateTime()),
    # Listing a tenant's messages newest first, optionally by status or recipient.
    Index(None, "tenant_id", "created_at", "id"),
    Index(None, "tenant_id", "status", "created_at"),
    Index(None, "tenant_id", "to_address", "created_at"),
    # Status callbacks find their message by the provider's SID.
    Index(None, "provider_sid"),
)

# The admin overview and the cross-tenant message log: a time window, read from the index
# alone (it holds every column the overview groups by, so no table row is visited).
Index(
    "ix_messages_overview",
    messages.c.created_at,
    messages.c.status,
    messages.c.channel,
    messages.c.segments,
    messages.c.from_address,
    messages.c.to_address,
)

# Claiming due messages: only the rows still waiting to be sent are indexed.
_WAITING = messages.c.status.in_(["accepted", "scheduled"])
Index(
    "ix_messages_due",
    messages.c.next_attempt_at,
    sqlite_where=_WAITING,
    postgresql_where=_WAITING,
)

# Reconciling messages stuck with the provider: only those in a non-final status after the
# hand-over are indexed, by the time of their last status change.
_UNSETTLED = messages.c.status.in_(["queued", "sending", "sent"])
Index(
    "ix_messages_unsettled",
    messages.c.updated_at,
    sqlite_where=_UNSETTLED,
    postgresql_where=_UNSETTLED,
)

message_status_history = Table(
    "message_status_history",
    metadata,
    Column("id", SerialKey, primary_key=True, autoincrement=True),
    Column("message_id", String(ID), ForeignKey("messages.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider_status", String(32)),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("source", String(16), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("applied", Boolean, nullable=False),
    Index(None, "message_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("message_id", String(ID), ForeignKey("messages.id"), nullable=False),
    _created(),
    PrimaryKeyConstraint("tenant_id", "key"),
    Index(None, "created_at"),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(ADDRESS), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("keyword", String(64)),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "channel", "address"),
    Index(None, "tenant_id", "updated_at"),
)

opt_out_history = Table(
    "opt_out_history",
    metadata,
    Column("id", SerialKey, primary_key=True, autoincrement=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(ADDRESS), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("keyword", String(64)),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "tenant_id", "channel", "address", "id"),
)

whatsapp_windows = Table(
    "whatsapp_windows",
    metadata,
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("business_address", String(ADDRESS), nullable=False),
    Column("customer_address", String(ADDRESS), nullable=False),
    Column("last_inbound_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("tenant_id", "business_address", "customer_address"),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("provider_sid", String(SID), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("from_address", String(ADDRESS), nullable=False),
    Column("to_address", String(ADDRESS), nullable=False),
    Column("body", Text, nullable=False),
    Column("num_media", Integer, nullable=False),
    Column("media", JSON, nullable=False),
    Column("keyword_kind", String(16), nullable=False),
    Column("keyword", String(64)),
    Column("keyword_language", String(8)),
    Column("received_at", UtcDateTime(), nullable=False),
    Index(None, "tenant_id", "received_at", "id"),
)

webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Index(None, "received_at"),
)

events = Table(
    "events",
    metadata,
    # The polling cursor: never reused, hence AUTOINCREMENT on SQLite.
    Column("id", SerialKey, primary_key=True, autoincrement=True),
    Column("public_id", String(ID), nullable=False, unique=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    _created(),
    Index(None, "tenant_id", "id"),
    sqlite_autoincrement=True,
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    # "" for every type, else ",type,type," so that one LIKE finds the endpoints for a type on
    # both backends, inside the INSERT ... SELECT that fans an event out.
    Column("event_types", Text, nullable=False),
    _created(),
    Column("disabled_at", UtcDateTime()),
    Index(None, "tenant_id", "disabled_at"),
)

event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("id", SerialKey, primary_key=True, autoincrement=True),
    Column("event_id", SerialKey, ForeignKey("events.id"), nullable=False),
    Column("endpoint_id", String(ID), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime()),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", UtcDateTime()),
    Column("given_up_at", UtcDateTime()),
    _created(),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UtcDateTime()),
    UniqueConstraint("event_id", "endpoint_id"),
    # Pending deliveries keep a next attempt; finished ones set it to NULL and leave the index.
    Index("ix_event_deliveries_due", "next_attempt_at"),
    Index(None, "endpoint_id"),
)

worker_heartbeats = Table(
    "worker_heartbeats",
    metadata,
    Column("worker_id", String(100), primary_key=True),
    Column("seen_at", UtcDateTime(), nullable=False),
)

verification_settings = Table(
    "verification_settings",
    metadata,
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), primary_key=True),
    Column("engine", String(16), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("verify_service_sid", String(SID)),
    Column("updated_at", UtcDateTime(), nullable=False),
)

verifications = Table(
    "verifications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(ID), ForeignKey("tenants.id"), nullable=False),
    Column("engine", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("to_address", String(ADDRESS), nullable=False),
    Column("status", String(24), nullable=False),
    # HMAC-SHA256 of the code (builtin engine only); the code itself is never stored.
    Column("code_hash", String(64)),
    Column("checks", Integer, nullable=False),
    Column("sends", Integer, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("provider_sid", String(SID)),
    Column("message_id", String(ID)),
    _created(),
    Column("updated_at", UtcDateTime(), nullable=False),
    # A check by number finds the tenant's open verification of that number.
    Index(None, "tenant_id", "to_address", "status"),
)

verification_throttles = Table(
    "verification_throttles",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("window_started_at", UtcDateTime(), nullable=False),
    Column("count", Integer, nullable=False),
)
