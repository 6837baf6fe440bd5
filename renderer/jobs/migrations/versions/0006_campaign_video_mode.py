"""Campaigns and API render jobs remember their video mode (``on-play``: the video is rendered when
played; null: eager), so a resume or a background job renders the way it was asked.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``campaigns.video_mode`` and ``render_jobs.video_mode`` (String(16), null = eager)."""
    for table in ("campaigns", "render_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("video_mode", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    for table in ("render_jobs", "campaigns"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("video_mode")
