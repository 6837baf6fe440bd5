"""Request and response bodies of the API (pydantic), as OpenAPI shows them at ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, WithJsonSchema

from renderer.outputs.registry import OUTPUT_KINDS

Event = Literal[
    "render.completed", "render.failed", "campaign.completed", "campaign.failed", "form.submitted"
]
# Checked against the template (unknown or not offered: 422 invalid_outputs); at least one.
OutputName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(OUTPUT_KINDS)})]
Outputs = Annotated[list[OutputName], Field(min_length=1)]
VideoMode = Literal["eager", "on-play"]
VIDEO_DOC = (
    "eager: the video is rendered now; on-play: the page, PDF, poster, thumbnail and captions now, "
    "the video when it is played (needs the video output: 422 otherwise)"
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a message without personal values, where when known."""

    code: str
    message: str
    field: str | None = None
    row: int | None = None
    issues: list[dict[str, str]] | None = None


class ErrorOut(BaseModel):
    """Every error answer has this shape."""

    error: ErrorDetail


class TemplateSummary(BaseModel):
    """A template and the outputs it offers."""

    name: str
    title: str
    version: str
    description: str
    outputs: list[str]


class TemplateDetail(TemplateSummary):
    """A template with its data contract as JSON Schema and a (fictional) sample recipient."""

    recipient_id_field: str
    contract: dict[str, Any] = Field(description="JSON Schema (2020-12) of one recipient")
    samples: list[str]
    sample: dict[str, Any] | None = None


class RenderRequest(_Body):
    """One recipient to render now (microsite, PDF) or as a job (when video is asked for)."""

    recipient: dict[str, Any] = Field(
        description="One recipient, valid for the template's contract (GET /templates/{name})"
    )
    outputs: Outputs | None = Field(default=None, description="Default: every output except video")
    webhook_url: HttpUrl | None = Field(default=None, description="Told when the render finishes")
    video: VideoMode = Field(default="eager", description=VIDEO_DOC)


class RenderOut(BaseModel):
    """A render and, once done, where to see it."""

    id: str
    status: str
    template: str
    recipient_id: str
    outputs: list[str]
    video: VideoMode = "eager"
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    status_url: str
    page_url: str | None = Field(default=None, description="The recipient's page, /r/{token}")
    links: dict[str, str] | None = Field(default=None, description="Output -> direct link")
    page_expires_at: datetime | None = None
    links_expire_at: datetime | None = None
    webhook_secret: str | None = Field(
        default=None, description="Signs deliveries to webhook_url; shown once"
    )
    variant_key: str | None = Field(default=None, description="The recipient's arms: exp=arm;exp=arm")
    decisions: dict[str, Any] | None = Field(
        default=None,
        description="Why this recipient got this: triggers evaluated (fired or why not, versions),"
        " slot winners, experiment arms; ids and reasons only, never a personal value",
    )


class CampaignCreate(_Body):
    """A campaign over a data file already in storage."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "template": "bill-summary",
                    "outputs": ["microsite", "pdf"],
                    "source": "_uploads/october/r.csv",
                }
            ]
        },
    )

    template: str
    outputs: Outputs | None = Field(default=None, description="Default: every output except video")
    source: str = Field(description="s3://bucket/key in the configured bucket, or a storage key")
    video: VideoMode = Field(default="eager", description=VIDEO_DOC)


class CampaignOut(BaseModel):
    """A campaign's progress."""

    id: str
    template: str
    outputs: list[str]
    video: VideoMode = Field(description="eager, or on-play: videos are rendered when played")
    status: str
    total: int | None
    rows: int
    done: int
    rejected: int
    failed: int
    quarantined: int
    pending: int
    rate_per_s: float
    eta_s: float | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    results_url: str
    rejects_url: str


class WebhookCreate(_Body):
    """A URL to tell about events; deliveries are signed with `secret` (generated when absent)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://hooks.example.com/tailor", "events": ["render.completed"]}]
        },
    )

    url: HttpUrl = Field(description="A public https or http URL (private addresses: 422 unless allowed)")
    events: list[Event] | None = Field(default=None, min_length=1, description="Default: every event")
    secret: str | None = Field(default=None, min_length=16, max_length=200)


class WebhookListed(BaseModel):
    """A registered webhook, as listed (its secret is never shown again)."""

    id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookOut(WebhookListed):
    """A registered webhook; `secret` is shown only in the answer that created it."""

    secret: str


class ErasureOut(BaseModel):
    """What erasing a recipient removed."""

    recipient_id: str
    stored_keys: int = Field(description="Output keys the job store held for the recipient")
    folders: int = Field(description="Recipient folders emptied in storage")
    objects_deleted: int
