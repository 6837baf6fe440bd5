"""Form submits over real HTTP: ``POST /r/{token}/forms/{id}`` (JSON and browser posts, messages
beside each field, the no-JS answer page, the origin check, limits), what a stored submit leaves
behind (the engagement event, the ``form.submitted`` webhook with ids only) and the export
``GET /campaigns/{id}/forms/{form_id}`` (JSON, CSV, formulas neutralised, scoped to the key)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fixture_api import (  # noqa: F401
    ApiServer,
    Receiver,
    csv_bytes,
    private_api,
    receiver_fixture,
    sample_rows,
    wait_for,
)

from renderer.api.form_guard import SUBMITS_PER_MINUTE
from renderer.api.keys import create_key
from renderer.jobs.store import JobStore, open_store

FORM = "preferences"


@pytest.fixture(scope="module", name="api")
def forms_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One API server for the module that may deliver webhooks to loopback receivers."""
    with private_api(tmp_path_factory.mktemp("api")) as running:
        yield running


@pytest.fixture(name="store")
def store_fixture(api: ApiServer) -> Iterator[JobStore]:
    """The server's job store, opened by the test."""
    store = open_store(api.settings.database_url)
    try:
        yield store
    finally:
        store.close()


@dataclass
class Page:
    """A recipient's rendered page: its final URL, its form's URL, the campaign segment."""

    url: str
    form_url: str
    campaign: str
    recipient_id: str
    html: str


def _page(api: ApiServer, recipient_id: str, locale: str = "en-US") -> Page:
    client = api.client()
    sample = client.get("/templates/bill-summary", params={"sample": locale}).json()["sample"]
    body = {"recipient": {**sample, "customer_id": recipient_id}, "outputs": ["microsite"]}
    made = client.post("/templates/bill-summary/renders", json=body)
    assert made.status_code == 200, made.text
    opened = client.get(made.json()["page_url"], follow_redirects=True)
    assert opened.status_code == 200
    url = str(opened.url)
    return Page(url, urljoin(url, f"../../../forms/{FORM}"), api.segment, recipient_id, opened.text)


def _post(api: ApiServer, url: str, *, origin: str | None = "own", **kwargs: Any) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if origin is not None:
        headers["Origin"] = api.url if origin == "own" else origin
    return api.client(key=None).post(url, headers=headers, **kwargs)


def _submits(store: JobStore, page: Page) -> list[Any]:
    return [
        record
        for record in store.forms.for_form("bill-summary", page.campaign, FORM)
        if record.recipient_id == page.recipient_id
    ]


def test_a_json_submit_is_stored_recorded_and_exported(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-JSON")
    view = "view-0123456789"
    answer = _post(
        api,
        page.form_url,
        json={"channel": "phone", "callback_time": "after 6 pm", "tips_by_email": True, "_view": view},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "stored" and isinstance(body["submission"], int)
    assert answer.headers["cache-control"] == "no-store"
    assert "form-action" in answer.headers["content-security-policy"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    [stored] = _submits(store, page)
    assert stored.id == body["submission"]
    assert stored.answers == {
        "channel": "phone",
        "callback_time": "after 6 pm",
        "tips_by_email": {"given": True, "version": "2026-12"},
    }
    events = [
        e
        for e in store.events.for_campaign("bill-summary", page.campaign)
        if e.recipient_id == page.recipient_id
    ]
    assert [(e.kind, e.target, e.view, e.event_id) for e in events] == [
        ("form_submit", FORM, view, f"form_submit-{stored.id}")
    ]
    exported = api.client().get(f"/campaigns/{page.campaign}/forms/{FORM}", params={"format": "json"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/json")
    rows = [row for row in exported.json() if row["recipient_id"] == page.recipient_id]
    assert rows == [
        {
            "submission_id": stored.id,
            "recipient_id": page.recipient_id,
            "submitted_at": stored.submitted_at.isoformat(),
            "channel": "phone",
            "callback_time": "after 6 pm",
            "tips_by_email.given": True,
            "tips_by_email.version": "2026-12",
        }
    ]
    as_csv = api.client().get(f"/campaigns/{page.campaign}/forms/{FORM}", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(table[0]) == [
        "submission_id", "recipient_id", "submitted_at", "channel", "callback_time",
        "tips_by_email.given", "tips_by_email.version",
    ]  # fmt: skip
    [row] = [row for row in table if row["recipient_id"] == page.recipient_id]
    assert (row["channel"], row["tips_by_email.given"], row["tips_by_email.version"]) == (
        "phone",
        "true",
        "2026-12",
    )


def test_a_browser_post_lands_on_the_thanks(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-POST")
    answer = _post(api, page.form_url, data={"channel": "post", "callback_time": "", "_view": ""})
    assert answer.status_code == 303, answer.text
    assert urljoin(page.form_url, answer.headers["location"]) == f"{page.url}#form-{FORM}-thanks"
    assert answer.headers["cache-control"] == "no-store"
    [stored] = _submits(store, page)
    assert stored.answers == {
        "channel": "post",
        "callback_time": None,
        "tips_by_email": {"given": False, "version": "2026-12"},
    }
    [event] = [
        e
        for e in store.events.for_campaign("bill-summary", page.campaign)
        if e.recipient_id == page.recipient_id
    ]
    assert event.view is None  # no script filled _view


def test_bad_values_get_the_pages_own_messages_in_its_language(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-FA", "fa-IR")
    answer = _post(
        api, page.form_url, json={"channel": "fax", "callback_time": "x" * 41, "tips_by_email": "perhaps"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json() == {
        "errors": {
            "channel": {"code": "choice", "message": "لطفاً یکی از گزینه‌ها را انتخاب کنید."},
            "callback_time": {"code": "too_long", "message": "این پاسخ بیش از حد طولانی است."},
            "tips_by_email": {"code": "consent", "message": "برای ارسال فرم، لطفاً رضایت خود را اعلام کنید."},
        }
    }
    missing = _post(api, page.form_url, json={})
    assert missing.json()["errors"] == {
        "channel": {"code": "required", "message": "لطفاً این بخش را پر کنید."}
    }
    assert _submits(store, page) == []


def test_the_no_js_answer_is_the_page_with_errors_values_and_absolute_links(
    api: ApiServer, store: JobStore
) -> None:
    page = _page(api, "C-FORM-NOJS", "de-DE")
    sent = {"channel": "", "callback_time": 'abends "spät" <b>', "tips_by_email": "on", "_view": ""}
    answer = _post(api, page.form_url, data=sent)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    html = answer.text
    assert re.search(
        r'<p class="field-error" id="preferences-channel-error" data-tailor-error-for="channel">'
        r"Bitte füllen Sie dieses Feld aus\.</p>",
        html,
    )
    assert '<p class="form-error-summary" data-tailor-error-summary role="alert">Bitte prüfen Sie' in html
    assert re.search(r'<select id="preferences-channel"[^>]* aria-invalid="true"', html)
    assert 'value="abends &quot;spät&quot; &lt;b&gt;"' in html
    assert re.search(r'<input type="checkbox" id="preferences-tips_by_email"[^>]* checked', html)
    assert 'data-tailor-error-for="callback_time" hidden' in html  # only wrong fields show a message
    refs = re.findall(r'(?:href|src|action)="([^"]*)"', html)
    assert refs and all(ref.startswith(("/", "#", "https:", "tel:", "data:")) for ref in refs), refs
    form_action = re.search(r'<form[^>]* action="([^"]*)"', html)
    assert form_action and urljoin(page.url, form_action[1]) == page.form_url
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]*)"', html)
    for href in stylesheets:  # the links work from the answer's own URL
        assert api.client(key=None).get(urljoin(page.form_url, href)).status_code == 200
    # everything else is the stored page as it was
    assert html.count("\n") == page.html.count("\n")
    assert _submits(store, page) == []


def test_a_submit_from_elsewhere_is_refused_and_nothing_stored(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-CSRF")
    good = {"channel": "email"}
    for origin, headers in [
        (None, {}),
        ("https://evil.example", {}),
        ("null", {}),
        ("null", {"Sec-Fetch-Site": "cross-site"}),
        ("own", {"Sec-Fetch-Site": "cross-site"}),
        ("https://a:xyz", {}),  # malformed origins: refused, not a server error
        ("https://a:99999", {}),
        ("https://[::1", {}),
    ]:
        refused = _post(api, page.form_url, origin=origin, data=good, headers=headers)
        assert refused.status_code == 403, (origin, headers, refused.text)
        assert refused.json()["error"]["code"] == "origin_refused"
    assert _submits(store, page) == []
    # a page sent with Referrer-Policy: no-referrer posts Origin: null; the browser vouches for it
    vouched = _post(api, page.form_url, origin="null", data=good, headers={"Sec-Fetch-Site": "same-origin"})
    assert vouched.status_code == 303
    assert len(_submits(store, page)) == 1


def test_tokens_forms_bodies_and_rates(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-LIMITS")
    token = page.url.split("/r/", 1)[1].split("/", 1)[0]
    assert _post(api, f"{api.url}/r/{'x' * 32}/forms/{FORM}", json={}).status_code == 404
    assert (
        _post(api, page.form_url.replace(FORM, "survey"), json={}).json()["error"]["code"] == "form_not_found"
    )
    expired = store.links.create(
        "bill-summary", page.campaign, page.recipient_id, 60, datetime.now(UTC) - timedelta(hours=2)
    )
    assert _post(api, f"{api.url}/r/{expired}/forms/{FORM}", json={}).status_code == 410
    text = _post(api, page.form_url, content=b"channel=email", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    huge = _post(api, page.form_url, data={"callback_time": "x" * 70_000})
    assert huge.status_code == 413
    assert (
        _post(api, page.form_url, content=b"[1]", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    nested = _post(api, page.form_url, content=b"[" * 60_000, headers={"Content-Type": "application/json"})
    assert nested.status_code == 400 and nested.json()["error"]["code"] == "invalid_body"
    answers = [
        _post(api, page.form_url, json={"channel": "email"}).status_code for _ in range(SUBMITS_PER_MINUTE)
    ]
    assert 429 in answers  # the refused posts above counted too
    limited = _post(api, f"{api.url}/r/{token}/forms/{FORM}", json={"channel": "email"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    other = _page(api, "C-FORM-LIMITS-2")  # another page's token is counted on its own
    assert _post(api, other.form_url, json={"channel": "email"}).status_code == 201


def test_formulas_are_neutralised_in_csv_and_exact_in_json(api: ApiServer) -> None:
    page = _page(api, "C-FORM-FORMULA")
    formula = '=HYPERLINK("https://evil.example","x")'
    assert _post(api, page.form_url, json={"channel": "email", "callback_time": formula}).status_code == 201
    exported = api.client().get(f"/campaigns/{page.campaign}/forms/{FORM}", params={"format": "csv"})
    [row] = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["recipient_id"] == page.recipient_id]
    assert row["callback_time"] == "'" + formula
    as_json = api.client().get(f"/campaigns/{page.campaign}/forms/{FORM}")
    [item] = [r for r in as_json.json() if r["recipient_id"] == page.recipient_id]
    assert item["callback_time"] == formula


def test_the_export_is_scoped_to_the_key(api: ApiServer) -> None:
    other = api.client(key=create_key(api.settings, "other-forms"))
    assert other.get(f"/campaigns/{api.segment}/forms/{FORM}").status_code == 404
    assert api.client(key=None).get(f"/campaigns/{api.segment}/forms/{FORM}").status_code == 401
    mine = api.client()
    assert mine.get(f"/campaigns/{api.segment}/forms/survey").json()["error"]["code"] == "form_not_found"
    assert (
        mine.get(f"/campaigns/{api.segment}/forms/{FORM}", params={"template": "bill-summary"}).status_code
        == 200
    )
    assert mine.get(f"/campaigns/no-such-campaign/forms/{FORM}").status_code == 404
    # the API's one-off renders: "api" or "api-<own key id>"; another key's id is unknown
    short, full = (mine.get(f"/campaigns/{name}/forms/{FORM}") for name in ("api", api.segment))
    assert short.status_code == full.status_code == 200 and short.json() == full.json()
    assert f'filename="{api.segment}-{FORM}.json"' in short.headers["content-disposition"]
    other_id = api.segment.replace("api-", "", 1)
    assert other.get(f"/campaigns/{api.segment}/forms/{FORM}").status_code == 404
    assert mine.get(f"/campaigns/api-not-{other_id}/forms/{FORM}").status_code == 404
    theirs = other.get(f"/campaigns/api/forms/{FORM}")  # their own API renders: none submitted
    assert theirs.status_code == 200 and theirs.json() == []


def test_the_webhook_carries_ids_and_no_answers(api: ApiServer, receiver: Receiver) -> None:
    hooked = api.client().post("/webhooks", json={"url": receiver.url, "events": ["form.submitted"]})
    assert hooked.status_code == 201, hooked.text
    page = _page(api, "C-FORM-HOOK")
    secret_answer = "call me at 0176 5550123"
    stored = _post(api, page.form_url, json={"channel": "phone", "callback_time": secret_answer})
    assert stored.status_code == 201
    wait_for(lambda: receiver.requests, timeout_s=30)
    headers, raw = receiver.requests[0]
    assert headers["tailor-event"] == "form.submitted"
    assert secret_answer.encode() not in raw and b"phone" not in raw
    data = json.loads(raw)["data"]
    assert set(data) == {
        "template",
        "campaign_id",
        "recipient_id",
        "form_id",
        "submission_id",
        "submitted_at",
    }
    assert (data["template"], data["campaign_id"], data["recipient_id"], data["form_id"]) == (
        "bill-summary",
        page.campaign,
        page.recipient_id,
        FORM,
    )
    assert data["submission_id"] == stored.json()["submission"]


@pytest.mark.slow
def test_a_campaigns_submits_are_exported_by_campaign_id(api: ApiServer) -> None:
    rows = sample_rows(api.settings, 1, seed=11)
    files = {"file": ("one.csv", csv_bytes(rows), "text/csv")}
    created = api.client().post(
        "/campaigns", data={"template": "bill-summary", "outputs": "microsite"}, files=files
    )
    assert created.status_code == 201, created.text
    campaign = created.json()["id"]
    wait_for(lambda: api.client().get(f"/campaigns/{campaign}").json()["status"] == "done", timeout_s=120)
    [result] = [
        json.loads(line)
        for line in api.client()
        .get(f"/campaigns/{campaign}/results", params={"links": "true"})
        .text.splitlines()
    ]
    opened = api.client(key=None).get(result["page_url"], follow_redirects=True)
    form_url = urljoin(str(opened.url), f"../../../forms/{FORM}")
    assert _post(api, form_url, data={"channel": "email"}).status_code == 303
    exported = api.client().get(f"/campaigns/{campaign}/forms/{FORM}").json()
    assert [(row["recipient_id"], row["channel"]) for row in exported] == [(result["recipient_id"], "email")]
    other = api.client(key=create_key(api.settings, "other-campaign-forms"))
    assert other.get(f"/campaigns/{campaign}/forms/{FORM}").status_code == 404


def test_opening_the_answers_url_leads_back_to_the_form(api: ApiServer) -> None:
    page = _page(api, "C-FORM-GET")
    opened = api.client(key=None).get(page.form_url)
    assert opened.status_code == 303 and opened.headers["cache-control"] == "no-store"
    assert urljoin(page.form_url, opened.headers["location"]) == f"{page.url}#form-{FORM}"
    assert api.client(key=None).get(page.form_url.replace(FORM, "survey")).status_code == 404


def test_a_submit_and_its_event_carry_the_recipients_decided_variant(api: ApiServer, store: JobStore) -> None:
    page = _page(api, "C-FORM-VARIANT")  # its render recorded a real decision: replaced by a key of its own
    store.decisions.record(
        "bill-summary", page.campaign, page.recipient_id, "headline=only_this_test", {"version": 1}
    )
    answer = _post(api, page.form_url, json={"channel": "email", "variant": "headline=plain"})
    assert answer.status_code == 201, answer.text
    [stored] = _submits(store, page)
    assert stored.variant == "headline=only_this_test"
    events = [
        e
        for e in store.events.for_campaign("bill-summary", page.campaign)
        if e.recipient_id == page.recipient_id and e.kind == "form_submit"
    ]
    assert [e.variant for e in events] == ["headline=only_this_test"]
    assert (
        store.events.reach_by_variant("bill-summary", page.campaign)["headline=only_this_test"][
            "form_submits"
        ]
        == 1
    )
