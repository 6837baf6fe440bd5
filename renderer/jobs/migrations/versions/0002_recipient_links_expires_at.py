"""Index recipient links by expiry, so purging expired links reads only what it deletes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``ix_recipient_links_expires_at``."""
    op.create_index(op.f("ix_recipient_links_expires_at"), "recipient_links", ["expires_at"])


def downgrade() -> None:
    """Drop ``ix_recipient_links_expires_at``."""
    op.drop_index(op.f("ix_recipient_links_expires_at"), table_name="recipient_links")
