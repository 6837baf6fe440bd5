"""The event schema as pure functions: a batch's shape, each kind's rules against the bill-summary
template's declared ids, clamping the page's clock, and messages that name index and field only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from renderer.engagement.events import (
    KINDS,
    ClientBatch,
    Declared,
    check_batch,
    declared_ids,
    form_submit_event,
    occurred_at,
    parse_batch,
    to_records,
)
from renderer.errors import EventError
from renderer.jobs.schema import RecipientLinkRecord
from renderer.outputs.template import Template

RECEIVED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AT = RECEIVED.timestamp() * 1000
LINK = RecipientLinkRecord("bill-summary", "spring", "C-1", RECEIVED + timedelta(days=30), RECEIVED)


def event(n: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid page_view event, with `fields` on top."""
    return {"id": f"event-{n:04d}", "kind": "page_view", "view": "view-0001", "at": AT, **fields}


def body(*events: dict[str, Any], token: str = "t" * 32) -> bytes:
    return json.dumps({"token": token, "events": list(events)}).encode()


@pytest.fixture(scope="module")
def declared(bill: Template) -> Declared:
    return declared_ids(bill.manifest)


def refusal(batch: bytes, declared: Declared | None = None) -> list[tuple[str, str]]:
    """(field, reason) of every issue the batch is refused for."""
    with pytest.raises(EventError) as caught:
        parsed = parse_batch(batch, 50)
        if declared is not None:
            check_batch(parsed, declared)
    return [(issue.field, issue.reason) for issue in caught.value.issues]


def test_the_bill_summary_declares_its_ctas_forms_chapters_and_scenes(declared: Declared) -> None:
    assert declared.ctas == {"pay-now", "switch-plan", "chat"}
    assert declared.forms == {"preferences"}
    assert {"amount", "greeting", "outro"} <= declared.chapters <= declared.scenes
    assert "intro" in declared.scenes and "intro" not in declared.chapters


def test_a_valid_batch_of_every_page_kind_passes(declared: Declared) -> None:
    events = [
        event(0),
        event(1, kind="video_play", scene="intro", position=0),
        event(2, kind="video_progress", value=25, scene="greeting", position=9.5),
        event(3, kind="video_pause", position=12.25, scene="amount"),
        event(4, kind="chapter_jump", target="amount"),
        event(5, kind="cta_shown", target="pay-now", scene="amount"),
        event(6, kind="cta_click", target="pay-now"),
        event(7, kind="form_view", target="preferences"),
        event(8, kind="chat_open", target="switch-plan"),
        event(9, kind="pdf_download"),
    ]
    batch = parse_batch(body(*events), 50)
    check_batch(batch, declared)
    assert {e.kind for e in batch.events} == set(KINDS) - {"form_submit"}


def test_shape_errors_name_the_event_index_and_field_never_the_value() -> None:
    secret = "ada.lovelace@example.com"
    issues = refusal(body(event(0), event(1, kind=secret), event(2, at=-5), event(3, id="short")))
    fields = [field for field, _ in issues]
    assert fields == ["events[1].kind", "events[2].at", "events[3].id"]
    assert all(secret not in reason for _, reason in issues)
    unknown = refusal(body(event(0, **{secret: 1})))
    assert unknown == [("events[0]", "has a field the event schema does not define")]
    assert refusal(b"{not json " + secret.encode()) == [("(body)", "is not a JSON object")]
    assert refusal(body())[0][0] == "events"
    assert refusal(body(*[event(n) for n in range(51)])) == [("events", "holds at most 50 events")]
    assert refusal(body(event(0, position=float("nan"))))[0][0] == "events[0].position"


@pytest.mark.parametrize(
    ("fields", "issue"),
    [
        ({"kind": "video_progress"}, ("value", "is required for video_progress: 25, 50, 75 or 100")),
        ({"kind": "video_progress", "value": 30}, ("value", "is required for video_progress: 25, 50, 75 or 100")),
        ({"kind": "video_play", "value": 25}, ("value", "is only sent with video_progress, not video_play")),
        ({"kind": "cta_click"}, ("target", "is required for cta_click")),
        ({"kind": "cta_click", "target": "buy-more"}, ("target", "is not a call to action this template declares")),
        ({"kind": "cta_shown", "target": "preferences"}, ("target", "is not a call to action this template declares")),
        ({"kind": "form_view", "target": "pay-now"}, ("target", "is not a form this template declares")),
        ({"kind": "chapter_jump", "target": "intro"}, ("target", "is not a chapter this template declares")),
        ({"kind": "chat_open"}, ("target", "is required for chat_open")),
        ({"kind": "page_view", "target": "pay-now"}, ("target", "is not sent with page_view")),
        ({"scene": "credits"}, ("scene", "is not a scene of this template's video")),
        ({"kind": "form_submit", "target": "preferences"}, ("kind", "form_submit is recorded by the server, never sent by a page")),
    ],
)  # fmt: skip
def test_kind_rules_and_undeclared_ids_are_refused(
    declared: Declared, fields: dict[str, Any], issue: tuple[str, str]
) -> None:
    field, reason = issue
    assert refusal(body(event(0), event(1, **fields)), declared) == [(f"events[1].{field}", reason)]


def test_the_page_clock_is_clamped_to_the_day_before_arrival() -> None:
    assert occurred_at(AT - 5000, RECEIVED) == RECEIVED - timedelta(seconds=5)
    assert occurred_at(AT + 3_600_000, RECEIVED) == RECEIVED  # a clock ahead: now
    assert occurred_at(0, RECEIVED) == RECEIVED - timedelta(days=1)  # 1970: a day back at most
    assert occurred_at(1e14, RECEIVED) == RECEIVED


def test_records_take_the_recipient_from_the_link_and_leave_the_variant_empty() -> None:
    batch = ClientBatch.model_validate_json(
        body(event(0, at=AT - 1000), event(1, kind="video_progress", value=50, scene="amount", position=20))
    )
    first, second = to_records(batch, LINK, RECEIVED)
    assert (first.template, first.campaign, first.recipient_id) == ("bill-summary", "spring", "C-1")
    assert first.occurred_at == RECEIVED - timedelta(seconds=1) and first.received_at == RECEIVED
    assert (second.kind, second.value, second.scene, second.position) == (
        "video_progress",
        50.0,
        "amount",
        20.0,
    )
    assert first.variant is None and second.view == "view-0001" and second.event_id == "event-0001"


def test_the_server_side_form_submit_event_is_keyed_by_the_submission() -> None:
    recorded = form_submit_event(
        ("bill-summary", "spring", "C-1"), "preferences", 7, view="view-0001", now=RECEIVED
    )
    assert (recorded.kind, recorded.target, recorded.event_id) == (
        "form_submit",
        "preferences",
        "form_submit-7",
    )
    assert recorded.occurred_at == recorded.received_at == RECEIVED
