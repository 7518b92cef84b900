"""Index messages by creation time with the columns the admin overview groups by.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = ["created_at", "status", "channel", "segments", "from_address", "to_address"]


def upgrade() -> None:
    op.create_index("ix_messages_overview", "messages", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_messages_overview", table_name="messages")
