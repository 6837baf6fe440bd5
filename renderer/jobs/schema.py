"""The job store's tables (SQLAlchemy 2 typed declarative); the records read from them are in
`renderer.jobs.records` (and importable from here).

`Base.metadata` is what ``migrations/versions`` must build: a test compares the two. Every
timestamp is a timezone-aware UTC ``datetime`` (`UTCDateTime` restores the zone that SQLite
drops). Records are frozen dataclasses whose field names are the columns they copy, so callers
never hold a live ORM object or a session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry

from renderer.jobs.records import (
    ApiKeyRecord,
    CampaignRecord,
    ClaimRecord,
    DecisionRecord,
    DecisionTally,
    DeliveryRecord,
    EventRecord,
    FormSubmissionRecord,
    RecipientLinkRecord,
    RejectRecord,
    RenderJobRecord,
    RowRecord,
    WebhookRecord,
)

# the records are defined in renderer.jobs.records; importing them from here keeps working
__all__ = [
    "BIG_ID",
    "CAMPAIGN_STATUSES",
    "DELIVERY_STATUSES",
    "JOB_STATUSES",
    "NAMING",
    "ROW_STATUSES",
    "ApiKey",
    "ApiKeyRecord",
    "Base",
    "Campaign",
    "CampaignRecord",
    "CampaignRow",
    "ClaimRecord",
    "DecisionRecord",
    "DecisionTally",
    "DeliveryRecord",
    "EngagementEvent",
    "EventRecord",
    "FormSubmission",
    "FormSubmissionRecord",
    "RecipientLink",
    "RecipientLinkRecord",
    "Reject",
    "RejectRecord",
    "RenderClaim",
    "RenderDecision",
    "RenderJob",
    "RenderJobRecord",
    "RowRecord",
    "TriggerExposure",
    "UTCDateTime",
    "Webhook",
    "WebhookDelivery",
    "WebhookRecord",
]

CAMPAIGN_STATUSES = ("pending", "running", "cancelled", "done", "failed")
ROW_STATUSES = ("pending", "queued", "rendering", "done", "failed", "quarantined")
JOB_STATUSES = ("queued", "rendering", "done", "failed")
DELIVERY_STATUSES = ("pending", "delivered", "dead")

# 64-bit ids for the tables that grow with every page view; SQLite autoincrements only an
# INTEGER PRIMARY KEY (its INTEGER is 64-bit already)
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("job store timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints predictably."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={
            datetime: UTCDateTime(),
            str: String(200),
            list[str]: JSON(none_as_null=True),
            dict[str, Any]: JSON(none_as_null=True),
            dict[str, str]: JSON(none_as_null=True),
        },
    )


def _status_check(statuses: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{status}'" for status in statuses)
    return CheckConstraint(f"status IN ({listed})", name="status")


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str]
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (_status_check(CAMPAIGN_STATUSES),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    template: Mapped[str]
    outputs: Mapped[list[str]]
    source_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(unique=True)
    api_key_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("api_keys.id"))
    total: Mapped[int | None]
    rejected: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    source_format: Mapped[dict[str, str] | None]  # delimiter, encoding; None: comma and UTF-8
    video_mode: Mapped[str | None] = mapped_column(String(16))  # "on-play"; None: eager


class CampaignRow(Base):
    __tablename__ = "campaign_rows"
    __table_args__ = (
        _status_check(ROW_STATUSES),
        UniqueConstraint("campaign_id", "recipient_id"),
        # (campaign_id, status) lookups; `row` last so a one-row update whose planner picks this
        # index over the primary key (PostgreSQL without statistics) is still a point lookup
        Index(None, "campaign_id", "status", "row"),
    )
    campaign_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    recipient_id: Mapped[str] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, str] | None]
    updated_at: Mapped[datetime]


class Reject(Base):
    __tablename__ = "rejects"
    campaign_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    field: Mapped[str] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    recipient_id: Mapped[str | None]  # only when the contract says the id is not personal


class RenderJob(Base):
    __tablename__ = "render_jobs"
    __table_args__ = (_status_check(JOB_STATUSES),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    template: Mapped[str]
    recipient_id: Mapped[str] = mapped_column(index=True)
    outputs: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, str] | None]
    webhook_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    api_key_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("api_keys.id"))
    video_mode: Mapped[str | None] = mapped_column(String(16))  # "on-play"; None: eager


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]]
    created_at: Mapped[datetime]
    api_key_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("api_keys.id"))


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (_status_check(DELIVERY_STATUSES), Index(None, "status", "next_attempt_at"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(32), ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class RecipientLink(Base):
    __tablename__ = "recipient_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    template: Mapped[str]
    campaign: Mapped[str]
    recipient_id: Mapped[str] = mapped_column(index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # LinkStore.purge_expired
    created_at: Mapped[datetime]


class EngagementEvent(Base):
    """One event a recipient's page sent (``POST /events``), counted once per client event id."""

    __tablename__ = "engagement_events"
    __table_args__ = (
        UniqueConstraint("template", "campaign", "recipient_id", "event_id"),
        Index(None, "template", "campaign", "id"),  # EventStore.for_campaign pages by id
        # EventStore.reach_by_variant: distinct recipients per (kind, variant) from the index alone
        Index(
            "ix_engagement_events_reach", "template", "campaign", "kind", "variant", "recipient_id", "value"
        ),
    )
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    template: Mapped[str]
    campaign: Mapped[str]
    recipient_id: Mapped[str] = mapped_column(index=True)
    event_id: Mapped[str] = mapped_column(String(64))  # chosen by the page: a retry is harmless
    view: Mapped[str | None] = mapped_column(String(64))  # one page load (random, per load)
    kind: Mapped[str] = mapped_column(String(20))
    scene: Mapped[str | None] = mapped_column(String(64))  # the scene playing when it happened
    target: Mapped[str | None] = mapped_column(String(64))  # a CTA, form or chapter (scene) id
    value: Mapped[float | None]  # video_progress: the quartile (25, 50, 75, 100)
    position: Mapped[float | None]  # playback position in seconds when it happened
    variant: Mapped[str | None] = mapped_column(Text)  # the recipient's variant key (test and learn)
    occurred_at: Mapped[datetime]  # the page's clock, clamped to the receive time
    received_at: Mapped[datetime] = mapped_column(index=True)  # retention purges by it


class FormSubmission(Base):
    """One validated submit of a template's form by a recipient (every submit is kept)."""

    __tablename__ = "form_submissions"
    __table_args__ = (Index(None, "template", "campaign", "form_id", "id"),)
    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    template: Mapped[str]
    campaign: Mapped[str]
    recipient_id: Mapped[str] = mapped_column(index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]]  # typed answers; a consent is {"given": bool, "version": str}
    variant: Mapped[str | None] = mapped_column(Text)  # the recipient's variant key (test and learn)
    submitted_at: Mapped[datetime] = mapped_column(index=True)


class RenderClaim(Base):
    """Who is rendering one storage object now, until when (`ClaimStore`): at most one row per
    key, so at most one live holder."""

    __tablename__ = "render_claims"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # a storage key (content hash)
    owner: Mapped[str] = mapped_column(String(64))  # random, one per caller
    expires_at: Mapped[datetime] = mapped_column(index=True)  # the lease end; ClaimStore.purge_expired


class RenderDecision(Base):
    """What test and learn decided for one recipient of one campaign (`DecisionStore`): one row
    per (template, campaign, recipient), replaced by a re-render."""

    __tablename__ = "render_decisions"
    template: Mapped[str] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(primary_key=True)
    recipient_id: Mapped[str] = mapped_column(primary_key=True, index=True)  # erasure
    variant_key: Mapped[str | None] = mapped_column(Text)  # "exp=arm;..." sorted; None: no experiment
    trace: Mapped[dict[str, Any]]  # ids, versions and reasons only, never a personal value
    render_seconds: Mapped[float | None]  # set once the outputs are stored
    decided_at: Mapped[datetime]


class TriggerExposure(Base):
    """A trigger shown to a recipient by one campaign (`ExposureStore`), what frequency caps
    count across campaigns: at most one row per (recipient, trigger, campaign)."""

    __tablename__ = "trigger_exposures"
    recipient_id: Mapped[str] = mapped_column(primary_key=True)  # the key's first column: history, erasure
    trigger: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign: Mapped[str] = mapped_column(primary_key=True)
    template: Mapped[str]
    exposed_at: Mapped[datetime] = mapped_column(index=True)  # retention purges by it
