"""The plain records the job store hands out: frozen dataclasses whose field names are the columns
they copy (`renderer.jobs.schema`), so callers never hold a live ORM object or a session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CampaignRecord:
    """One campaign; ``total``/``rejected`` stay None until validation has streamed the file."""

    id: str
    template: str
    outputs: tuple[str, ...]
    source_key: str
    status: str
    idempotency_key: str | None
    api_key_id: str | None
    total: int | None
    rejected: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    source_format: dict[str, str] | None = None  # delimiter, encoding; None: comma and UTF-8
    video_mode: str | None = None  # "on-play": the video is rendered when played; None: eager


@dataclass(frozen=True)
class RowRecord:
    """One recipient row of a campaign, as `RowStore.results` streams it."""

    row: int
    recipient_id: str
    status: str
    outputs: dict[str, str] | None
    error: str | None


@dataclass(frozen=True)
class RejectRecord:
    """One field of one data-file row that validation refused."""

    row: int
    field: str
    reason: str
    recipient_id: str | None = None  # only when the contract says the id is not personal


@dataclass(frozen=True)
class RenderJobRecord:
    """One recipient rendered through the API (e.g. a video answered with 202)."""

    id: str
    template: str
    recipient_id: str
    outputs: tuple[str, ...]
    status: str
    error: str | None
    result: dict[str, str] | None
    webhook_url: str | None
    created_at: datetime
    updated_at: datetime
    api_key_id: str | None
    video_mode: str | None = None  # "on-play": the video is rendered when played; None: eager


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key without its secret (only its hash is stored)."""

    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class WebhookRecord:
    """A webhook subscription; ``secret`` signs each delivery (HMAC)."""

    id: str
    url: str
    secret: str
    events: tuple[str, ...]
    created_at: datetime
    api_key_id: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    """One event waiting in (or gone through) the webhook outbox."""

    id: str
    webhook_id: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True)
class RecipientLinkRecord:
    """What a recipient's page link points at."""

    template: str
    campaign: str
    recipient_id: str
    expires_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class EventRecord:
    """One stored engagement event."""

    template: str
    campaign: str
    recipient_id: str
    event_id: str
    view: str | None
    kind: str
    scene: str | None
    target: str | None
    value: float | None
    position: float | None
    variant: str | None
    occurred_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class FormSubmissionRecord:
    """One stored form submit."""

    id: int
    template: str
    campaign: str
    recipient_id: str
    form_id: str
    answers: dict[str, Any]
    variant: str | None
    submitted_at: datetime


@dataclass(frozen=True)
class ClaimRecord:
    """The holder of one render claim and the end of its lease."""

    key: str
    owner: str
    expires_at: datetime


@dataclass(frozen=True)
class DecisionRecord:
    """What test and learn decided for one recipient of one campaign: the variant key (None: the
    template has no experiments), the decision trace (ids, versions, reasons; no personal value),
    the seconds its outputs took to render (None until they are stored) and when it was decided."""

    template: str
    campaign: str
    recipient_id: str
    variant_key: str | None
    trace: dict[str, Any]
    render_seconds: float | None
    decided_at: datetime


@dataclass(frozen=True)
class DecisionTally:
    """One variant key's recipients in a campaign: how many were decided, how many of those have
    their outputs stored, and the render seconds those spent (0.0 when none)."""

    recipients: int
    rendered: int
    render_seconds: float
