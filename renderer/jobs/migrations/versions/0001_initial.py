"""The job store's first schema: campaigns, rows, rejects, render jobs, keys, webhooks, links.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(32)
NAME = sa.String(200)
STATUS = sa.String(16)
WHEN = sa.DateTime(timezone=True)


def _status(table: str, *statuses: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{status}'" for status in statuses)
    return sa.CheckConstraint(f"status IN ({listed})", name=op.f(f"ck_{table}_status"))


def _api_key_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["api_key_id"], ["api_keys.id"], name=op.f(f"fk_{table}_api_key_id_api_keys")
    )


def upgrade() -> None:
    """Create every table of the job store."""
    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", ID, nullable=False),
        sa.Column("template", NAME, nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("idempotency_key", NAME, nullable=True),
        sa.Column("api_key_id", ID, nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("rejected", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        _status("campaigns", "pending", "running", "cancelled", "done", "failed"),
        _api_key_fk("campaigns"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_campaigns_idempotency_key")),
    )
    op.create_table(
        "campaign_rows",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("row", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recipient_id", NAME, nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outputs", sa.JSON(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        _status("campaign_rows", "pending", "queued", "rendering", "done", "failed", "quarantined"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_rows_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "row", name=op.f("pk_campaign_rows")),
        sa.UniqueConstraint(
            "campaign_id", "recipient_id", name=op.f("uq_campaign_rows_campaign_id_recipient_id")
        ),
    )
    op.create_index(
        op.f("ix_campaign_rows_campaign_id_status_row"), "campaign_rows", ["campaign_id", "status", "row"]
    )
    op.create_index(op.f("ix_campaign_rows_recipient_id"), "campaign_rows", ["recipient_id"])
    op.create_table(
        "rejects",
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("row", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("field", NAME, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_rejects_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "row", "field", name=op.f("pk_rejects")),
    )
    op.create_table(
        "render_jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("template", NAME, nullable=False),
        sa.Column("recipient_id", NAME, nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("api_key_id", ID, nullable=True),
        _status("render_jobs", "queued", "rendering", "done", "failed"),
        _api_key_fk("render_jobs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_render_jobs")),
    )
    op.create_index(op.f("ix_render_jobs_recipient_id"), "render_jobs", ["recipient_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", ID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("api_key_id", ID, nullable=True),
        _api_key_fk("webhooks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("webhook_id", ID, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        _status("webhook_deliveries", "pending", "delivered", "dead"),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status_next_attempt_at"),
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "recipient_links",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("template", NAME, nullable=False),
        sa.Column("campaign", NAME, nullable=False),
        sa.Column("recipient_id", NAME, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_recipient_links")),
    )
    op.create_index(op.f("ix_recipient_links_recipient_id"), "recipient_links", ["recipient_id"])


def downgrade() -> None:
    """Drop every table of the job store."""
    for table in (
        "recipient_links",
        "webhook_deliveries",
        "webhooks",
        "render_jobs",
        "rejects",
        "campaign_rows",
        "campaigns",
        "api_keys",
    ):
        op.drop_table(table)
