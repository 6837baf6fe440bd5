"""Test and learn: what was decided for each recipient (``render_decisions``), which triggers each
recipient was shown (``trigger_exposures``, for frequency caps across campaigns), the variant key
of events and form submissions widened to text, and an index for per-variant reach.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

WHEN = sa.DateTime(timezone=True)
REACH = ["template", "campaign", "kind", "variant", "recipient_id", "value"]

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``render_decisions`` and ``trigger_exposures`` with their indexes, widen
    ``variant`` of ``engagement_events`` and ``form_submissions`` to Text (SQLite: a table copy in
    batch mode; PostgreSQL: varchar to text, no rewrite) and add ``ix_engagement_events_reach``."""
    op.create_table(
        "render_decisions",
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("recipient_id", sa.String(200), nullable=False),
        sa.Column("variant_key", sa.Text(), nullable=True),
        sa.Column("trace", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("render_seconds", sa.Double(), nullable=True),
        sa.Column("decided_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("template", "campaign", "recipient_id", name=op.f("pk_render_decisions")),
    )
    op.create_index(op.f("ix_render_decisions_recipient_id"), "render_decisions", ["recipient_id"])
    op.create_table(
        "trigger_exposures",
        sa.Column("recipient_id", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("campaign", sa.String(200), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("exposed_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("recipient_id", "trigger", "campaign", name=op.f("pk_trigger_exposures")),
    )
    op.create_index(op.f("ix_trigger_exposures_exposed_at"), "trigger_exposures", ["exposed_at"])
    for table in ("engagement_events", "form_submissions"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "variant", type_=sa.Text(), existing_type=sa.String(64), existing_nullable=True
            )
    op.create_index("ix_engagement_events_reach", "engagement_events", REACH)


def downgrade() -> None:
    """Drop the index and both tables, and narrow ``variant`` back to String(64) (longer keys
    are cut on PostgreSQL)."""
    op.drop_index("ix_engagement_events_reach", table_name="engagement_events")
    for table in ("form_submissions", "engagement_events"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "variant",
                type_=sa.String(64),
                existing_type=sa.Text(),
                existing_nullable=True,
                postgresql_using="left(variant, 64)",
            )
    op.drop_table("trigger_exposures")
    op.drop_table("render_decisions")
