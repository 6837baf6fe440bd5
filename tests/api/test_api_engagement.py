"""``GET /campaigns/{id}/engagement`` over real HTTP on a real SQLite store: the seeded events
(tests/fixture_engagement.py, on the sample template's scenes) measured as JSON and CSV, the
pages delivered read from the campaign's rows and from the key's API renders, and keys that
only see their own campaigns. Every expected number is worked out by hand."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401
from fixture_engagement import BILL_SCENES, seeded_events, shuffled_with_duplicates

from renderer.api.keys import create_key
from renderer.jobs.schema import EventRecord
from renderer.jobs.store import JobStore, open_store


@pytest.fixture(scope="module", name="store")
def store_fixture(api: ApiServer) -> Iterator[JobStore]:
    store = open_store(api.settings.database_url)
    yield store
    store.close()


def _key_id(store: JobStore, key: str) -> str:
    record = store.keys.verify(key)
    assert record is not None
    return record.id


def _extra(event: EventRecord, event_id: str, **changes: Any) -> EventRecord:
    return EventRecord(**{**event.__dict__, "event_id": event_id, **changes})


@pytest.fixture(scope="module", name="campaign")
def campaign_fixture(api: ApiServer, store: JobStore) -> str:
    """The key's campaign: R1-R7 done with a microsite (D = 7), R8 done with a PDF only, R9
    failed; the seeded events twice over in shuffled batches, plus R2's ``=cmd`` CTA shown."""
    record, _ = store.campaigns.create(
        "bill-summary", ["microsite", "pdf"], "uploads/x.csv", api_key_id=_key_id(store, api.key)
    )
    store.rows.add(record.id, [(n, f"R{n}") for n in range(1, 10)])
    for n in range(1, 9):
        outputs = {"pdf": f"bill-summary/{record.id}/R{n}/bill.pdf"}
        if n <= 7:
            outputs["microsite"] = f"bill-summary/{record.id}/R{n}/index.html"
        assert store.rows.finish(record.id, n, outputs)
    store.rows.fail(record.id, 9, "pdf output: failed", max_attempts=3)
    events = seeded_events(campaign=record.id, scenes=BILL_SCENES)
    shown = _extra(events[16], "x-cmd", kind="cta_shown", target="=cmd")  # R2's v2
    for batch in shuffled_with_duplicates([*events, shown]):
        store.events.add(batch)
    return record.id


def _rows(text: str) -> dict[tuple[str, str, str], list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["metric", "variant", "target", "numerator", "denominator", "value"]
    table = {(m, v, t): rest for m, v, t, *rest in rows[1:]}
    assert len(table) == len(rows) - 1  # one row per metric, variant and target
    return table


def test_json_has_the_hand_computed_metrics(api: ApiServer, campaign: str) -> None:
    response = api.client().get(f"/campaigns/{campaign}/engagement")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["template"], body["campaign"]) == ("bill-summary", campaign)
    m = body["overall"]
    assert (m["delivered"], m["page_views"]) == (7, 8)
    assert m["page_view_rate"] == {"numerator": 5, "denominator": 7, "value": 5 / 7}
    assert m["video_play_rate"] == {"numerator": 4, "denominator": 5, "value": 0.8}
    assert m["average_percentage_viewed"] == {"numerator": 175, "denominator": 400, "value": 0.4375}
    assert m["completion_rate"] == {"numerator": 1, "denominator": 4, "value": 0.25}
    # the sample's eight scenes; furthest: R1 outro, R3 intro, R4 tips-plus; R5 unplaced
    still = [(s["scene"], s["still_watching"]["numerator"]) for s in m["drop_off"]]
    assert still == [
        ("intro", 3), ("greeting", 2), ("amount", 2), ("usage", 2),
        ("tips-basic", 2), ("tips-plus", 2), ("tips-green", 1), ("outro", 1),
    ]  # fmt: skip
    assert [s["stopped_in"]["numerator"] for s in m["drop_off"]] == [1, 0, 0, 0, 0, 1, 0, 1]
    assert {s["still_watching"]["denominator"] for s in m["drop_off"]} == {4}
    jumps = {c["chapter"]: c["jumps"] for c in m["chapter_jumps"]["chapters"]}
    assert jumps == {
        "greeting": 0,
        "amount": 1,
        "usage": 0,
        "tips-basic": 0,
        "tips-plus": 2,
        "tips-green": 0,
        "outro": 0,
    }
    ctas = {c["cta"]: c for c in m["ctas"]}
    assert list(ctas) == ["pay-now", "switch-plan", "chat", "=cmd"]
    assert ctas["pay-now"]["click_rate"] == {"numerator": 1, "denominator": 3, "value": 1 / 3}
    assert ctas["=cmd"]["view_rate"] == {"numerator": 1, "denominator": 8, "value": 0.125}
    assert m["forms"][0]["submit_rate"] == {"numerator": 2, "denominator": 3, "value": 2 / 3}
    assert m["funnel"] == {
        "delivered": 7, "viewed": 5, "played": 4, "completed": 1, "cta_clicked": 3, "form_submitted": 3,
    }  # fmt: skip
    # no variant is assigned at render yet: every delivered page is outside any experiment
    none, b = body["variants"]
    assert (none["variant"], none["delivered"], none["page_view_rate"]["value"]) == (None, 7, 3 / 7)
    assert (b["variant"], b["delivered"], b["page_view_rate"]) == (
        "B",
        None,
        {"numerator": 2, "denominator": None, "value": None},
    )
    assert b["video_play_rate"] == {"numerator": 2, "denominator": 2, "value": 1.0}


def test_csv_has_one_row_per_metric_with_formulas_neutralised(api: ApiServer, campaign: str) -> None:
    for response in (
        api.client().get(f"/campaigns/{campaign}/engagement", params={"format": "csv"}),
        api.client().get(f"/campaigns/{campaign}/engagement", headers={"Accept": "text/csv"}),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert f'filename="{campaign}-engagement.csv"' in response.headers["content-disposition"]
        rows = _rows(response.text)
        assert rows["pages_delivered", "(all)", ""] == ["7", "", "7"]
        assert rows["page_view_rate", "(all)", ""] == ["5", "7", str(5 / 7)]
        assert rows["completion_rate", "(none)", ""] == ["1", "2", "0.5"]
        assert rows["average_percentage_viewed", "(all)", ""] == ["175", "400", "0.4375"]  # a share
        assert rows["cta_view_rate", "(all)", "'=cmd"] == ["1", "8", "0.125"]
        assert ("cta_view_rate", "(all)", "=cmd") not in rows
        assert rows["cta_click_rate", "(all)", "'=cmd"] == ["0", "1", "0.0"]
        assert rows["page_view_rate", "B", ""] == ["2", "", ""]  # unknown denominator: null
        assert rows["drop_off_still_watching", "(all)", "tips-green"] == ["1", "4", "0.25"]
        assert rows["form_submits_without_view", "(all)", "preferences"] == ["1", "", "1"]
        assert rows["funnel", "(all)", "cta_clicked"] == ["3", "", "3"]
    json_anyway = api.client().get(
        f"/campaigns/{campaign}/engagement", params={"format": "json"}, headers={"Accept": "text/csv"}
    )
    assert json_anyway.headers["content-type"] == "application/json"


def test_a_key_reads_only_its_own_campaigns(api: ApiServer, campaign: str) -> None:
    other = api.client(key=create_key(api.settings, "other"))
    for client, path in [
        (other, f"/campaigns/{campaign}/engagement"),  # someone else's
        (api.client(), "/campaigns/nope/engagement"),  # no such campaign
    ]:
        for params in ({}, {"format": "csv"}):
            refused = client.get(path, params=params)
            assert refused.status_code == 404, refused.text
            assert refused.json()["error"]["code"] == "campaign_not_found"
    assert api.client(key=None).get(f"/campaigns/{campaign}/engagement").status_code == 401


def test_api_renders_count_the_keys_done_render_jobs(api: ApiServer, store: JobStore) -> None:
    other = create_key(api.settings, "renders-other")
    mine, theirs = _key_id(store, api.key), _key_id(store, other)
    for recipient, outputs, key in [
        ("R1", ["microsite"], mine), ("R1", ["microsite", "pdf"], mine), ("R2", ["microsite"], mine),
        ("R3", ["pdf"], mine), ("R4", ["microsite"], theirs), ("R5", ["microsite"], None),
    ]:  # fmt: skip
        job = store.render_jobs.create("bill-summary", recipient, outputs, api_key_id=key)
        assert store.render_jobs.finish(
            job.id, {name: f"bill-summary/x/{recipient}/{name}" for name in outputs}
        )
    store.render_jobs.create("bill-summary", "R6", ["microsite"], api_key_id=mine)  # still queued
    page_views = [e for e in seeded_events(campaign=f"api-{mine}") if e.kind == "page_view"]
    store.events.add(page_views[:2])  # R1 viewed the page twice (v1a, v1b)
    response = api.client().get("/campaigns/api/engagement", params={"template": "bill-summary"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["campaign"] == f"api-{mine}"
    # delivered: R1 (twice) and R2 with a microsite: 2; R3 had a PDF only, R4 is another key's
    assert body["overall"]["page_view_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert body["overall"]["page_views"] == 2
    theirs_body = api.client(key=other).get("/campaigns/api/engagement?template=bill-summary").json()
    assert theirs_body["overall"]["delivered"] == 1 and theirs_body["overall"]["page_views"] == 0
    spelled = api.client().get(f"/campaigns/api-{mine}/engagement", params={"template": "bill-summary"})
    assert spelled.status_code == 200 and spelled.json() == body  # api-<own key id> names them too
    csv_name = api.client().get(f"/campaigns/api-{mine}/engagement?template=bill-summary&format=csv")
    assert f'filename="api-{mine}-engagement.csv"' in csv_name.headers["content-disposition"]
    for path in (f"/campaigns/api-{theirs}/engagement", "/campaigns/api-nope/engagement"):
        refused = api.client().get(path, params={"template": "bill-summary"})  # another key's
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "campaign_not_found"
    for spelling in ("api", f"api-{mine}"):
        missing = api.client().get(f"/campaigns/{spelling}/engagement")
        assert missing.status_code == 422 and missing.json()["error"]["field"] == "template"
    unknown = api.client().get("/campaigns/api/engagement", params={"template": "no-such"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "template_not_found"
