"""Remember when each handed-over message was last reconciled with Twilio, and index the
messages still in a non-final status by their last status change.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

UNSETTLED = sa.text("status IN ('queued', 'sending', 'sent')")


def upgrade() -> None:
    op.add_column("messages", sa.Column("reconciled_at", sa.DateTime(timezone=True)))
    op.add_column("messages", sa.Column("reconcile_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_messages_unsettled",
        "messages",
        ["updated_at"],
        sqlite_where=UNSETTLED,
        postgresql_where=UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unsettled", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reconcile_at")
        batch.drop_column("reconciled_at")
