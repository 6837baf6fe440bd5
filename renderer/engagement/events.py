"""The engagement event schema: what a recipient's page sends to ``POST /events``, the rules each
kind follows, and the pure step from an accepted batch to the rows the store keeps.

A batch is ``{"token": "<page token>", "events": [...]}``, 1 to ``event_batch_max`` events; an
event is ``{"id", "kind", "view", "at", "scene", "position", "target", "value"}``
(`ClientEvent`). `parse_batch` checks the shape, `check_batch` the per-kind rules against what
the template declares (`Declared`), and `to_records` turns the batch into `EventRecord`s. Every
refusal is an `EventError` whose issues name the event index and field (``events[3].target``),
never a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from renderer.errors import EventError, FieldIssue
from renderer.jobs.schema import EventRecord, RecipientLinkRecord
from renderer.outputs.registry import OUTPUT_KINDS, TemplateManifest

Kind = Literal[
    "page_view",
    "video_play",
    "video_progress",
    "video_pause",
    "chapter_jump",
    "cta_shown",
    "cta_click",
    "form_view",
    "form_submit",
    "chat_open",
    "pdf_download",
]
KINDS: tuple[str, ...] = get_args(Kind)
SERVER_KINDS = frozenset({"form_submit"})  # recorded by the server when it stores a submit
QUARTILES = (25.0, 50.0, 75.0, 100.0)  # video_progress values, in percent
# kind -> what its target names: a call to action, a form or a chapter (its scene id)
TARGETS: dict[str, str] = {
    "chapter_jump": "chapter",
    "cta_shown": "cta",
    "cta_click": "cta",
    "form_view": "form",
    "form_submit": "form",
    "chat_open": "cta",
}
_TARGET_NAMES = {"chapter": "chapter", "cta": "call to action", "form": "form"}
CLOCK_SKEW = timedelta(days=1)  # how far before its arrival an event's page clock may put it
ID = r"^[A-Za-z0-9_-]{8,64}$"  # client event ids and view ids: random, chosen by the page
REF = r"^[A-Za-z0-9_-]{1,64}$"  # scene, CTA, form ids: the template's own ids (SLUG)
MAX_AT_MS = 1e14  # epoch milliseconds: year 5138; any real clock is far below


class ClientEvent(BaseModel):
    """One event as the page sends it; `at` is the page's clock in epoch milliseconds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(pattern=ID, description="Chosen by the page, unique per event: a retry is harmless")
    kind: Kind
    view: str = Field(pattern=ID, description="One page load (random, per load)")
    at: float = Field(ge=0, le=MAX_AT_MS, description="The page's clock, epoch milliseconds")
    scene: str | None = Field(default=None, pattern=REF, description="The scene playing, if any")
    position: float | None = Field(default=None, ge=0, le=86_400, description="Playback position, s")
    target: str | None = Field(default=None, pattern=REF, description="A CTA, form or chapter id")
    value: float | None = Field(default=None, description="video_progress: 25, 50, 75 or 100")


class ClientBatch(BaseModel):
    """What one ``POST /events`` carries: the page's token and its events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=1, max_length=200, description="The page's link token")
    events: list[ClientEvent] = Field(min_length=1)


@dataclass(frozen=True)
class Declared:
    """The ids a template declares that events may name."""

    ctas: frozenset[str]
    forms: frozenset[str]
    chapters: frozenset[str]  # chapter scene ids
    scenes: frozenset[str]  # every scene of the template's video (none without a video)

    def of(self, what: str) -> frozenset[str]:
        """The ids of one target family (``cta``, ``form`` or ``chapter``)."""
        return {"cta": self.ctas, "form": self.forms, "chapter": self.chapters}[what]


def declared_ids(manifest: TemplateManifest) -> Declared:
    """The CTA, form, chapter and scene ids `manifest` declares (scenes: every output's anchors)."""
    section = manifest.interactions
    offered = manifest.outputs.offered()
    scenes = {
        anchor for name in offered for anchor in OUTPUT_KINDS[name].anchors(getattr(manifest.outputs, name))
    }
    return Declared(
        ctas=frozenset(cta.id for cta in section.ctas),
        forms=frozenset(form.id for form in section.forms),
        chapters=frozenset(chapter.scene for chapter in section.chapters),
        scenes=frozenset(scenes),
    )


def _field(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a path: ``("events", 3, "kind")`` -> ``events[3].kind``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(body)"


def _issue(error: Any) -> FieldIssue:
    """One pydantic error as a FieldIssue; an unknown field is named by where it sits, since its
    name is whatever the client wrote."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return FieldIssue(_field(loc[:-1]), "has a field the event schema does not define")
    return FieldIssue(_field(loc), str(error["msg"]))


def parse_batch(body: bytes, max_events: int) -> ClientBatch:
    """The batch in a JSON body, shape-checked (types, patterns, ranges, unknown fields); an
    EventError naming each broken field otherwise, or the body when it is not JSON at all."""
    try:
        batch = ClientBatch.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise EventError([FieldIssue("(body)", "is not a JSON object")]) from None
        raise EventError([_issue(error) for error in errors[:10]]) from None
    if len(batch.events) > max_events:
        raise EventError([FieldIssue("events", f"holds at most {max_events} events")])
    return batch


def _issues(index: int, event: ClientEvent, declared: Declared) -> Iterator[FieldIssue]:
    where = f"events[{index}]"
    if event.kind in SERVER_KINDS:
        yield FieldIssue(f"{where}.kind", f"{event.kind} is recorded by the server, never sent by a page")
        return
    if event.kind == "video_progress":
        if event.value not in QUARTILES:
            yield FieldIssue(f"{where}.value", "is required for video_progress: 25, 50, 75 or 100")
    elif event.value is not None:
        yield FieldIssue(f"{where}.value", f"is only sent with video_progress, not {event.kind}")
    family = TARGETS.get(event.kind)
    if family is None and event.target is not None:
        yield FieldIssue(f"{where}.target", f"is not sent with {event.kind}")
    elif family is not None and event.target is None:
        yield FieldIssue(f"{where}.target", f"is required for {event.kind}")
    elif family is not None and event.target not in declared.of(family):
        yield FieldIssue(f"{where}.target", f"is not a {_TARGET_NAMES[family]} this template declares")
    if event.scene is not None and event.scene not in declared.scenes:
        yield FieldIssue(f"{where}.scene", "is not a scene of this template's video")


def check_batch(batch: ClientBatch, declared: Declared) -> None:
    """Refuse (EventError) a batch in which any event breaks its kind's rules: video_progress
    carries a quartile and only it carries a value; chapter_jump, cta_shown, cta_click,
    form_view and chat_open carry a target the template declares and other kinds none; a scene
    is one of the video's; a page never sends form_submit. Names at most 10 issues."""
    issues = [issue for index, event in enumerate(batch.events) for issue in _issues(index, event, declared)]
    if issues:
        raise EventError(issues[:10])


def occurred_at(at_ms: float, received: datetime) -> datetime:
    """The page's clock `at_ms` clamped to [`received` - `CLOCK_SKEW`, `received`] (a page
    clock that is wrong, or forged, never moves an event outside the day before its arrival)."""
    return _clamp(at_ms, received.timestamp() * 1000)


def _clamp(at_ms: float, latest_ms: float) -> datetime:
    earliest_ms = latest_ms - CLOCK_SKEW.total_seconds() * 1000
    return datetime.fromtimestamp(min(max(at_ms, earliest_ms), latest_ms) / 1000, UTC)


def to_records(batch: ClientBatch, link: RecipientLinkRecord, received: datetime) -> list[EventRecord]:
    """The store's rows of an accepted batch: template, campaign and recipient from the link,
    `occurred_at` clamped (`occurred_at`), variant unset (test and learn fills it). Pure."""
    latest_ms = received.timestamp() * 1000
    return [
        EventRecord(
            template=link.template,
            campaign=link.campaign,
            recipient_id=link.recipient_id,
            event_id=event.id,
            view=event.view,
            kind=event.kind,
            scene=event.scene,
            target=event.target,
            value=event.value,
            position=event.position,
            variant=None,
            occurred_at=_clamp(event.at, latest_ms),
            received_at=received,
        )
        for event in batch.events
    ]


def form_submit_event(
    recipient: tuple[str, str, str],
    form_id: str,
    submission_id: int,
    *,
    view: str | None,
    now: datetime,
    variant: str | None = None,
) -> EventRecord:
    """The ``form_submit`` event the server records beside a stored submit of (template,
    campaign, recipient id): its event id derives from the submission id, so recording it twice
    stores it once."""
    template, campaign, recipient_id = recipient
    return EventRecord(
        template=template,
        campaign=campaign,
        recipient_id=recipient_id,
        event_id=f"form_submit-{submission_id}",
        view=view,
        kind="form_submit",
        scene=None,
        target=form_id,
        value=None,
        position=None,
        variant=variant,
        occurred_at=now,
        received_at=now,
    )
