"""Over a live API: a render's decisions in its answer and at GET /renders/{id}; events carry the
recipient's variant key; GET /campaigns/{id}/report counts them per arm; the page and its CSS."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from fixture_api import ApiServer, api_fixture  # noqa: F401

NOW_MS = time.time() * 1000


def _samples(api: ApiServer) -> list[dict[str, Any]]:
    client = api.client()
    names = client.get("/templates/bill-summary").json()["samples"]
    return [client.get("/templates/bill-summary", params={"sample": n}).json()["sample"] for n in names]


def test_renders_report_their_decisions_and_the_report_counts_events_per_arm(api: ApiServer) -> None:
    client, anonymous = api.client(), api.client(key=None)
    arms: Counter[str] = Counter()
    viewed: Counter[str] = Counter()
    for n, recipient in enumerate(_samples(api)):
        answer = client.post("/templates/bill-summary/renders", json={"recipient": recipient})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        trace = body["decisions"]
        assert {t["id"] for t in trace["triggers"]} == {"late_payment", "usage_up", "paperless_offer"}
        assert body["variant_key"] == trace["variant_key"] and body["variant_key"].startswith("headline=")
        assert recipient["first_name"] not in json.dumps(trace) and recipient["email"] not in json.dumps(
            trace
        )
        assert client.get(f"/renders/{body['id']}").json()["decisions"] == trace
        arm = body["variant_key"].removeprefix("headline=")
        arms[arm] += 1
        if n % 2 == 0:  # every other recipient opens the page
            token = body["page_url"].rsplit("/r/", 1)[1].strip("/")
            event = {"id": f"event-{n:06d}", "kind": "page_view", "view": f"view-{n:06d}", "at": NOW_MS}
            sent = anonymous.post("/events", json={"token": token, "events": [event]})
            assert sent.status_code in (200, 202), sent.text
            viewed[arm] += 1

    report = client.get("/campaigns/api/report", params={"template": "bill-summary"})
    assert report.status_code == 200, report.text
    (headline,) = report.json()["experiments"]
    assert headline["experiment"] == "headline"
    by_arm = {a["arm"]: a for a in headline["arms"]}
    for arm, count in arms.items():
        assert by_arm[arm]["recipients"] == by_arm[arm]["rendered"] == count
        views = {m["metric"]: m["count"] for m in by_arm[arm]["metrics"]}["page_views"]
        assert views == viewed[arm], (arm, views, viewed)

    page = client.get("/campaigns/api/report.html", params={"template": "bill-summary"})
    assert page.status_code == 200 and "headline" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    css = anonymous.get("/report-assets/experiments.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/campaigns/nope/report").status_code == 404
    assert anonymous.get("/campaigns/api/report", params={"template": "bill-summary"}).status_code == 401
