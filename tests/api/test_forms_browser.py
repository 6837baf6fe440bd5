"""The sample page's form in headless Chromium against the real API (uvicorn, SQLite, local
storage): without JavaScript (a plain post: the page comes back with the message beside the
field, then the thanks) and with it (``forms.js``: inline messages, focus, the thanks, the
``form_view`` event), in en-US and fa-IR, by keyboard alone. Every submit that lands is checked
in the job store.

Uses the system Chromium (/usr/bin/chromium); a browser is never downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_api import ApiServer, api_fixture  # noqa: F401

from renderer.jobs.store import open_store
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT
from tests.conftest import launch_chromium

pytestmark = pytest.mark.browser
FORM = "preferences"
LOCALES = {"en-US": "en", "fa-IR": "fa"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless system Chromium for the module, stopped afterwards."""
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def texts(api: ApiServer) -> dict[str, dict[str, str]]:
    """The sample template's text snippets by language."""
    return load_template("bill-summary", api.settings).manifest.text


def _page_url(api: ApiServer, recipient_id: str, locale: str) -> str:
    client = api.client()
    sample = client.get("/templates/bill-summary", params={"sample": locale}).json()["sample"]
    body = {"recipient": {**sample, "customer_id": recipient_id}, "outputs": ["microsite"]}
    made = client.post("/templates/bill-summary/renders", json=body)
    assert made.status_code == 200, made.text
    url: str = made.json()["page_url"]
    return url


def _stored(api: ApiServer, recipient_id: str) -> list[Any]:
    store = open_store(api.settings.database_url)
    try:
        submits = store.forms.for_form("bill-summary", api.segment, FORM)
        return [record for record in submits if record.recipient_id == recipient_id]
    finally:
        store.close()


def _context(browser: Any, locale: str, **options: Any) -> Any:
    return browser.new_context(locale=locale, reduced_motion="reduce", **options)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_without_javascript_the_page_answers_with_the_message_then_the_thanks(
    api: ApiServer, browser: Any, texts: dict[str, dict[str, str]], locale: str
) -> None:
    words = texts[LOCALES[locale]]
    recipient_id = f"C-NOJS-{locale}"
    context = _context(browser, locale, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(_page_url(api, recipient_id, locale))
        page.fill("#preferences-callback_time", "18:00")
        page.click(".form-submit")  # channel left empty: required
        error = page.locator("#preferences-channel-error")
        error.wait_for(state="visible")
        assert error.inner_text() == words["form_error_required"]
        assert page.url.endswith(f"/forms/{FORM}")
        assert page.locator("#preferences-channel").get_attribute("aria-invalid") == "true"
        assert page.input_value("#preferences-callback_time") == "18:00"  # put back
        assert page.locator("[data-tailor-error-summary]").inner_text() == words["form_error_summary"]
        box = error.bounding_box()
        field = page.locator('[data-tailor-field="channel"]').bounding_box()
        assert box and field and field["y"] <= box["y"] <= field["y"] + field["height"]  # beside it
        assert page.locator("html").get_attribute("dir") == ("rtl" if locale == "fa-IR" else "ltr")
        assert _stored(api, recipient_id) == []

        page.select_option("#preferences-channel", "phone")
        page.check("#preferences-tips_by_email")
        page.click(".form-submit")
        thanks = page.locator(f"#form-{FORM}-thanks")
        thanks.wait_for(state="visible")
        assert page.url.endswith(f"/index.html#form-{FORM}-thanks")
        assert thanks.inner_text() == words["form_thanks"]
        assert not page.locator("form[data-tailor-form]").is_visible()  # the thanks replaces it
    finally:
        context.close()
    [stored] = _stored(api, recipient_id)
    assert stored.answers == {
        "channel": "phone",
        "callback_time": "18:00",
        "tips_by_email": {"given": True, "version": "2026-12"},
    }


def _tab_to(page: Any, element_id: str, most: int = 80) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


@pytest.mark.parametrize("locale", list(LOCALES))
def test_with_javascript_the_form_answers_in_place_by_keyboard_alone(
    api: ApiServer, browser: Any, texts: dict[str, dict[str, str]], locale: str
) -> None:
    words = texts[LOCALES[locale]]
    recipient_id = f"C-JS-{locale}"
    context = _context(browser, locale)
    beacons: list[dict[str, Any]] = []
    csp_errors: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "console",
            lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )

        def beacon(
            route: Any,
        ) -> None:  # seen (Playwright shows a beacon's body only when routed), then sent on
            beacons.append(json.loads(route.request.post_data or "{}"))
            route.continue_()

        page.route("**/events", beacon)
        page.goto(_page_url(api, recipient_id, locale))
        loaded_at = page.url
        _tab_to(page, "preferences-channel")
        page.keyboard.press("Tab")
        assert _focused(page) == "preferences-callback_time"
        page.keyboard.type("after 6 pm")
        page.keyboard.press("Tab")
        assert _focused(page) == "preferences-tips_by_email"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.type") == "submit"
        page.keyboard.press("Enter")  # channel still empty
        error = page.locator("#preferences-channel-error")
        error.wait_for(state="visible")
        assert error.inner_text() == words["form_error_required"]
        assert _focused(page) == "preferences-channel"  # the first wrong field
        assert page.url == loaded_at  # no page load
        assert _stored(api, recipient_id) == []

        page.keyboard.press("ArrowDown")  # the first choice: email
        assert page.input_value("#preferences-channel") == "email"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Space")  # tick the consent
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        thanks = page.locator(f"#form-{FORM}-thanks")
        thanks.wait_for(state="visible")
        assert thanks.inner_text() == words["form_thanks"]
        assert _focused(page) == f"form-{FORM}-thanks"
        assert not error.is_visible() and not page.locator("form[data-tailor-form]").is_visible()
        view = page.evaluate("document.documentElement.getAttribute('data-tailor-view')")
        page.evaluate("window.tailorEvents.flush()")  # the page's batched events, sent now
        page.wait_for_timeout(300)
    finally:
        context.close()
    assert csp_errors == []
    [stored] = _stored(api, recipient_id)
    assert stored.answers == {
        "channel": "email",
        "callback_time": "after 6 pm",
        "tips_by_email": {"given": True, "version": "2026-12"},
    }
    views = [
        event for beacon in beacons for event in beacon.get("events", []) if event["kind"] == "form_view"
    ]
    assert [(event["target"], event["view"]) for event in views] == [(FORM, view)]
    store = open_store(api.settings.database_url)
    try:
        events = [
            e
            for e in store.events.for_campaign("bill-summary", api.segment)
            if e.recipient_id == recipient_id
        ]
    finally:
        store.close()
    assert [(e.kind, e.view) for e in events if e.kind == "form_submit"] == [("form_submit", view)]


AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _axe(page: Any, axe_source: str, label: str) -> None:
    page.add_script_tag(content=axe_source)
    results = page.evaluate(
        "() => axe.run({include: [['#form-preferences']]}, {resultTypes: ['violations']})"
    )
    found = [(v["id"], v["impact"], [node["target"] for node in v["nodes"]]) for v in results["violations"]]
    assert found == [], f"{label}: axe violations in the form: {found}"


@pytest.mark.parametrize("locale", list(LOCALES))
def test_the_form_and_both_error_states_pass_axe(
    api: ApiServer, browser: Any, locale: str, artifacts: Path
) -> None:
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `npm ci` in {PROJECT_ROOT}"
    axe_source = AXE_JS.read_text(encoding="utf-8")
    # only this context bypasses the page's CSP, to inject axe-core as an inline script
    context = _context(browser, locale, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(_page_url(api, f"C-AXE-{locale}", locale))
        _axe(page, axe_source, f"{locale}, blank")
        page.click(".form-submit")  # inline (forms.js): the channel's message
        page.locator("#preferences-channel-error").wait_for(state="visible")
        _axe(page, axe_source, f"{locale}, inline errors")
        page.locator("#form-preferences").screenshot(path=str(artifacts / f"form-{locale}-errors.png"))
        with page.expect_navigation():  # the plain post, as without JavaScript
            page.evaluate(
                "HTMLFormElement.prototype.submit.call(document.querySelector('form[data-tailor-form]'))"
            )
        assert page.url.endswith(f"/forms/{FORM}")
        assert page.locator("#preferences-channel-error").is_visible()
        _axe(page, axe_source, f"{locale}, the no-JS answer")
    finally:
        context.close()
