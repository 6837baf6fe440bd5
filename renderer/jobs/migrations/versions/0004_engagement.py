"""Engagement events sent by recipients' pages and the answers of their forms.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

WHEN = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY, 64-bit

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``engagement_events`` and ``form_submissions`` with their indexes."""
    op.create_table(
        "engagement_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("recipient_id", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("view", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("scene", sa.String(64), nullable=True),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("position", sa.Double(), nullable=True),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
        sa.UniqueConstraint(
            "template",
            "campaign",
            "recipient_id",
            "event_id",
            name=op.f("uq_engagement_events_template_campaign_recipient_id_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_engagement_events_template_campaign_id"),
        "engagement_events",
        ["template", "campaign", "id"],
    )
    op.create_index(op.f("ix_engagement_events_recipient_id"), "engagement_events", ["recipient_id"])
    op.create_index(op.f("ix_engagement_events_received_at"), "engagement_events", ["received_at"])
    op.create_table(
        "form_submissions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("recipient_id", sa.String(200), nullable=False),
        sa.Column("form_id", sa.String(64), nullable=False),
        sa.Column("answers", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("submitted_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submissions")),
    )
    op.create_index(
        op.f("ix_form_submissions_template_campaign_form_id_id"),
        "form_submissions",
        ["template", "campaign", "form_id", "id"],
    )
    op.create_index(op.f("ix_form_submissions_recipient_id"), "form_submissions", ["recipient_id"])
    op.create_index(op.f("ix_form_submissions_submitted_at"), "form_submissions", ["submitted_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("form_submissions")
    op.drop_table("engagement_events")
