"""Campaigns remember how their data file is written (delimiter, encoding), so a resume reads it
the same way; rejects keep the recipient id of a row (when the contract says it is not personal).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``campaigns.source_format`` (JSON, null = comma and UTF-8) and ``rejects.recipient_id``."""
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("source_format", sa.JSON(), nullable=True))
    with op.batch_alter_table("rejects") as batch:
        batch.add_column(sa.Column("recipient_id", sa.String(200), nullable=True))


def downgrade() -> None:
    """Drop ``campaigns.source_format`` and ``rejects.recipient_id``."""
    with op.batch_alter_table("rejects") as batch:
        batch.drop_column("recipient_id")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("source_format")
