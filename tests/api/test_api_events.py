"""``POST /events`` and ``GET /r/{token}/position`` over real HTTP against a real SQLite store: each
event counted once, refusals that store nothing and name index and field only, size and rate limits,
no cookies, no CORS, nothing cached; erasure takes a recipient's events and submissions."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fixture_api import ApiServer, api_fixture, make_api_fixture  # noqa: F401
from sqlalchemy import func, select

from renderer.jobs.schema import EngagementEvent
from renderer.jobs.store import JobStore, open_store

NOW_MS = time.time() * 1000


@pytest.fixture(name="store")
def store_fixture(api: ApiServer) -> Iterator[JobStore]:
    """The server's own job store, opened beside it."""
    opened = open_store(api.settings.database_url)
    yield opened
    opened.close()


def link(store: JobStore, recipient: str, campaign: str = "spring", **options: Any) -> str:
    """A live page token of a bill-summary recipient (or one that expired, with `now` in the past)."""
    return store.links.create(
        "bill-summary", campaign, recipient, ttl_s=options.pop("ttl_s", 3600), **options
    )


def event(n: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"ev-{n:06d}", "kind": "page_view", "view": "view-0001", "at": NOW_MS, **fields}


def post(api: ApiServer, token: str, *events: dict[str, Any], **options: Any) -> httpx.Response:
    client = api.client(key=None)
    return client.post("/events", json={"token": token, "events": list(events)}, **options)


def stored(store: JobStore, recipient: str | None = None) -> int:
    query = select(func.count()).select_from(EngagementEvent)
    if recipient is not None:
        query = query.where(EngagementEvent.recipient_id == recipient)
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_retried_batch_is_counted_once(api: ApiServer, store: JobStore) -> None:
    token = link(store, "E-RETRY")
    batch = [
        event(1),
        event(2, kind="video_play", scene="intro", position=0),
        event(3, kind="cta_shown", target="pay-now"),
    ]
    first = post(api, token, *batch)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 3, "duplicates": 0}
    again = post(api, token, *batch, event(4, kind="video_progress", value=25, scene="greeting"))
    assert again.json() == {"accepted": 1, "duplicates": 3}
    assert stored(store, "E-RETRY") == 4
    assert store.events.count("bill-summary", "spring") >= 4


def test_the_position_is_the_latest_by_the_page_clock_whatever_the_arrival(
    api: ApiServer, store: JobStore
) -> None:
    token = link(store, "E-POSITION")
    client = api.client(key=None)
    answer = client.get(f"/r/{token}/position")
    assert answer.status_code == 200 and answer.json() == {"position": None}
    later = event(1, kind="video_pause", scene="amount", position=31.5, at=NOW_MS - 1000)
    earlier = event(2, kind="video_pause", scene="greeting", position=8.0, at=NOW_MS - 60_000)
    assert post(api, token, later).status_code == 202
    assert post(api, token, earlier, event(3)).status_code == 202  # arrives last, happened first
    answer = client.get(f"/r/{token}/position")
    assert answer.json() == {"position": 31.5}
    assert answer.headers["cache-control"] == "no-store" and "set-cookie" not in answer.headers
    assert client.get("/r/unknown-token-0000000000/position").status_code == 404


def test_unknown_forged_and_expired_tokens_store_nothing(api: ApiServer, store: JobStore) -> None:
    expired = link(store, "E-EXPIRED", ttl_s=60, now=datetime.now(UTC) - timedelta(hours=1))
    before = stored(store)
    for token, status in (("forged-token-000000000000000000", 404), ("x", 404), (expired, 410)):
        answer = post(api, token, event(1), event(2))
        assert answer.status_code == status, answer.text
        assert answer.headers["cache-control"] == "no-store"
    assert api.client(key=None).get(f"/r/{expired}/position").status_code == 410
    assert stored(store) == before


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(api: ApiServer, store: JobStore) -> None:
    token = link(store, "E-BIG")
    big = json.dumps({"token": token, "events": [event(1, pad="x" * 20_000)]}).encode()
    client = api.client(key=None)
    declared = client.post("/events", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    streamed = client.post("/events", content=chunks(), headers={"Content-Type": "text/plain"})
    assert streamed.status_code == 413
    assert stored(store, "E-BIG") == 0


def test_a_malformed_batch_names_the_event_index_and_field_never_the_value(
    api: ApiServer, store: JobStore
) -> None:
    token = link(store, "E-BAD")
    secret = "ada@example.com"
    answer = post(api, token, event(1), event(2, kind=secret), event(3, position=-4))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_events" and error["field"] == "events[1].kind"
    assert [issue["field"] for issue in error["issues"]] == ["events[1].kind", "events[2].position"]
    assert secret not in answer.text
    answer = api.client(key=None).post(
        "/events", content=b"{" + secret.encode(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and secret not in answer.text
    assert stored(store, "E-BAD") == 0


def test_kinds_and_targets_the_template_does_not_declare_are_refused(api: ApiServer, store: JobStore) -> None:
    token = link(store, "E-UNDECLARED")
    for bad, field in (
        (event(2, kind="cta_click", target="buy-now"), "events[1].target"),
        (event(2, kind="form_view", target="survey"), "events[1].target"),
        (event(2, kind="chapter_jump", target="credits"), "events[1].target"),
        (event(2, scene="credits"), "events[1].scene"),
        (event(2, kind="form_submit", target="preferences"), "events[1].kind"),
        (event(2, kind="video_progress", value=33), "events[1].value"),
    ):
        answer = post(api, token, event(1), bad)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
    assert stored(store, "E-UNDECLARED") == 0


def test_send_beacon_text_plain_is_taken_and_no_cookie_or_cors_header_is_sent(
    api: ApiServer, store: JobStore
) -> None:
    token = link(store, "E-BEACON")
    body = json.dumps({"token": token, "events": [event(1)]})
    client = api.client(key=None)
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://elsewhere.example"}
    answer = client.post("/events", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "set-cookie" not in answer.headers
    assert not any(name.startswith("access-control-") for name in answer.headers)
    assert client.options("/events", headers={"Origin": "https://elsewhere.example"}).status_code == 405
    refused = client.post(
        "/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert refused.status_code == 415
    assert stored(store, "E-BEACON") == 1


def _value(text: str, series: str) -> float:
    found = re.search(re.escape(series) + r" (\S+)\n", text)
    assert found, f"{series} not in the exposition"
    return float(found.group(1))


def test_metrics_count_accepted_duplicate_and_refused_events(api: ApiServer, store: JobStore) -> None:
    token = link(store, "E-METRICS")
    scrape = api.client(key=None).get
    before = scrape("/metrics").text
    post(api, token, event(1), event(2))
    post(api, token, event(2), event(3))
    post(api, "forged-token-000000000000000000", event(1), event(2), event(3))
    after = scrape("/metrics").text
    for series, grew in (
        ('tailor_engagement_events_total{outcome="accepted"}', 3),
        ('tailor_engagement_events_total{outcome="duplicate"}', 1),
        ('tailor_engagement_events_refused_total{reason="unknown_token"}', 3),
    ):
        assert _value(after, series) - _value(before, series) == grew, series
    assert 'route="/events"' in after and token not in after


def test_a_flooding_token_gets_429_while_another_token_gets_202(make_api: Any) -> None:
    api = make_api(event_token_burst=40, event_token_rate=0.001)
    store = open_store(api.settings.database_url)
    try:
        flood, calm = link(store, "E-FLOOD"), link(store, "E-CALM")
        answers = [post(api, flood, *[event(n * 20 + i) for i in range(20)]) for n in range(5)]
        assert [a.status_code for a in answers] == [202, 202, 429, 429, 429]  # counted in events: 40
        limited = answers[2]
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1000  # 20 events at 1 per 1000 s
        assert post(api, calm, *[event(i) for i in range(20)]).status_code == 202
        assert stored(store, "E-FLOOD") == 40 and stored(store, "E-CALM") == 20
    finally:
        store.close()


def test_one_address_is_limited_across_tokens(make_api: Any) -> None:
    api = make_api(event_address_burst=30, event_address_rate=0.001)
    store = open_store(api.settings.database_url)
    try:
        tokens = [link(store, f"E-NAT-{n}") for n in range(4)]
        office = {"X-Forwarded-For": "198.51.100.7"}  # uvicorn trusts it from 127.0.0.1 (a proxy)
        answers = [post(api, token, *[event(i) for i in range(10)], headers=office) for token in tokens]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        elsewhere = post(
            api, tokens[3], *[event(i) for i in range(10)], headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert elsewhere.status_code == 202
        client = api.client(key=None)
        junk = {"Content-Type": "application/json"}
        unread = client.post("/events", content=b"not json", headers={**junk, **office})
        assert unread.status_code == 429  # refused before its body was read (a 422 otherwise)
        assert int(unread.headers["retry-after"]) >= 1 and unread.headers["cache-control"] == "no-store"
        read = client.post("/events", content=b"not json", headers={**junk, "X-Forwarded-For": "203.0.113.9"})
        assert read.status_code == 422
    finally:
        store.close()


def test_erasing_a_recipient_takes_their_events_and_submissions_in_the_callers_campaigns(
    api: ApiServer, store: JobStore
) -> None:
    own = link(store, "E-ERASE", campaign=api.segment)
    cli = link(store, "E-ERASE", campaign="cli-campaign")  # a CLI campaign: no key owns it
    assert post(api, own, event(1), event(2)).status_code == 202
    assert post(api, cli, event(1)).status_code == 202
    store.forms.add(("bill-summary", api.segment, "E-ERASE"), "preferences", {"channel": "email"})
    erased = api.client().delete("/recipients/E-ERASE")
    assert erased.status_code == 200, erased.text
    assert store.events.count("bill-summary", api.segment) == 0
    assert store.events.count("bill-summary", "cli-campaign") == 1  # not the caller's to erase
    assert [*store.forms.for_form("bill-summary", api.segment, "preferences")] == []
    assert post(api, own, event(3)).status_code == 404  # the link went with them


def test_events_carry_the_recipients_decided_variant_never_the_pages(api: ApiServer, store: JobStore) -> None:
    decided, undecided = (
        link(store, "E-VARIANT", campaign="tl-spring"),
        link(store, "E-NONE", campaign="tl-spring"),
    )
    store.decisions.record(
        "bill-summary", "tl-spring", "E-VARIANT", "headline=warm;intro=holdout", {"version": 1}
    )
    store.decisions.record(
        "bill-summary", "tl-autumn", "E-NONE", "headline=plain", {"version": 1}
    )  # elsewhere
    assert post(api, decided, event(1), event(2, kind="cta_click", target="pay-now")).status_code == 202
    assert post(api, undecided, event(1)).status_code == 202
    forged = post(api, decided, event(3, variant="headline=plain"))
    assert forged.status_code == 422  # a page has no say in its variant
    assert forged.json()["error"]["field"] == "events[0]"  # an unknown field: named by the event
    stored = {
        (e.recipient_id, e.event_id): e.variant
        for e in store.events.for_campaign("bill-summary", "tl-spring")
    }
    assert stored == {
        ("E-VARIANT", "ev-000001"): "headline=warm;intro=holdout",
        ("E-VARIANT", "ev-000002"): "headline=warm;intro=holdout",
        ("E-NONE", "ev-000001"): None,
    }
    reach = store.events.reach_by_variant("bill-summary", "tl-spring")
    assert reach["headline=warm;intro=holdout"]["page_views"] == 1
    assert reach["headline=warm;intro=holdout"]["cta_clicks"] == 1
    assert reach[None]["page_views"] == 1
