"""Render claims: one render per storage object across threads and processes (``ClaimStore``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

WHEN = sa.DateTime(timezone=True)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``render_claims`` (a storage key, its holder and lease end) with its expiry index."""
    op.create_table(
        "render_claims",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_render_claims")),
    )
    op.create_index(op.f("ix_render_claims_expires_at"), "render_claims", ["expires_at"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("render_claims")
