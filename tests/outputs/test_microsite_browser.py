"""Drive the rendered bill-summary microsites in headless Chromium.

Every sample is opened from disk (file:// URL, exactly as a recipient's folder is laid out in
storage) and checked for personalisation, locale direction, interactivity, styling,
accessibility (axe-core) and mobile layout.

Uses the system Chromium (/usr/bin/chromium); a browser is never downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from renderer.outputs.template import Template
from renderer.settings import PROJECT_ROOT
from tests.conftest import launch_chromium

pytestmark = pytest.mark.browser

AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
LOCALES = ["de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"]  # the bill-summary samples
RTL_LOCALES = {"fa-IR"}
BRAND_BLUE = "rgb(11, 61, 145)"  # --brand: #0b3d91 in site.css
DESKTOP = {"width": 1280, "height": 900}
MOBILE = {"width": 375, "height": 740}


@dataclass
class Problems:
    """Everything that went wrong while a page loaded and ran."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return bool(self.console_errors or self.page_errors or self.failed_requests)

    def __str__(self) -> str:
        return json.dumps(
            {
                "console errors": self.console_errors,
                "page errors": self.page_errors,
                "failed requests": self.failed_requests,
            },
            indent=2,
            ensure_ascii=False,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless system Chromium for the module, stopped afterwards."""
    with launch_chromium() as chromium:
        yield chromium


OpenPage = Callable[..., tuple[Any, Problems]]


@pytest.fixture
def open_microsite(browser: Any, rendered_samples: dict[str, Path]) -> Iterator[OpenPage]:
    """Open a sample's microsite in a fresh context; returns (page, problems collected so far).

    `bypass_csp=True` is only for tests that must inject tooling (axe-core) as an inline
    script; tests checking console errors keep the page's Content-Security-Policy enforced.
    """
    contexts: list[Any] = []

    def _open(
        locale: str, *, viewport: dict[str, int] = DESKTOP, bypass_csp: bool = False
    ) -> tuple[Any, Problems]:
        context = browser.new_context(viewport=viewport, bypass_csp=bypass_csp, reduced_motion="reduce")
        contexts.append(context)
        page = context.new_page()
        problems = Problems()
        page.on(
            "console",
            lambda msg: (
                problems.console_errors.append(f"{msg.text} @ {msg.location}")
                if msg.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
        page.on(
            "requestfailed",
            lambda req: problems.failed_requests.append(f"{req.url}: {req.failure}"),
        )
        index = rendered_samples[locale] / "index.html"
        assert index.is_file(), f"{locale}: {index} was not rendered"
        page.goto(index.as_uri(), wait_until="load")
        return page, problems

    yield _open
    for context in contexts:
        context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_microsite_renders_personalised_and_styled(
    locale: str, bill: Template, open_microsite: OpenPage, artifacts: Path
) -> None:
    page, problems = open_microsite(locale)
    page.screenshot(path=str(artifacts / f"microsite-{locale}.png"), full_page=True)

    first_name = bill.samples[locale]["first_name"]
    h1 = page.locator("h1")
    assert h1.count() == 1
    assert first_name in h1.inner_text(), f"{locale}: {first_name!r} not in h1"

    amount = page.locator("[data-testid=amount-due]").inner_text().strip()
    assert amount, f"{locale}: amount due is empty"
    total = page.locator(".total span").last.inner_text().strip()
    assert amount == total, f"{locale}: amount due {amount!r} != total row {total!r}"

    html = page.locator("html")
    assert html.get_attribute("lang") == locale
    assert html.get_attribute("dir") == ("rtl" if locale in RTL_LOCALES else "ltr")

    # The stylesheet (relative ../../_static/ link) really applied.
    hero_bg = page.locator(".hero").evaluate("el => getComputedStyle(el).backgroundColor")
    assert hero_bg == BRAND_BLUE, f"{locale}: site.css not applied (hero background {hero_bg})"
    # The logo (also linked relatively) loaded.
    assert page.locator("img.logo").evaluate("img => img.complete && img.naturalWidth > 0")

    page.wait_for_load_state("networkidle")
    assert not problems.any(), f"{locale}: problems while loading the page:\n{problems}"


@pytest.mark.parametrize("locale", LOCALES)
def test_line_items_expand(locale: str, open_microsite: OpenPage) -> None:
    page, problems = open_microsite(locale)
    items = page.locator("details.item")
    assert items.count() >= 1
    assert page.locator("details.item[open]").count() == 0, "line items start collapsed"

    first = items.first
    detail = first.locator(".detail")
    assert not detail.is_visible()
    first.locator("summary").click()
    assert first.evaluate("d => d.open") is True
    assert page.locator("details.item[open]").count() == 1
    detail.wait_for(state="visible")

    toggle = page.locator("[data-expand-all]")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert page.locator("details.item[open]").count() == items.count()
    assert toggle.get_attribute("aria-pressed") == "true"
    for i in range(items.count()):
        assert items.nth(i).locator(".detail").is_visible(), f"{locale}: item {i} not shown"

    assert not problems.any(), f"{locale}: problems while using the page:\n{problems}"


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `npm ci` in {PROJECT_ROOT}"
    return AXE_JS.read_text(encoding="utf-8")


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v.get('helpUrl', '')}>")
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    target {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_serious_accessibility_violations(locale: str, open_microsite: OpenPage, axe_source: str) -> None:
    # The page's CSP forbids inline scripts, so only this context bypasses it to inject axe.
    page, _ = open_microsite(locale, bypass_csp=True)
    page.add_script_tag(content=axe_source)
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{locale}: serious/critical axe violations:\n{_describe(bad)}"

    # Expanded line items must pass too.
    page.locator("[data-expand-all]").click()
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{locale} (expanded): serious/critical axe violations:\n{_describe(bad)}"


@pytest.mark.parametrize("locale", ["en-US", "fa-IR"])
def test_mobile_viewport_has_no_horizontal_overflow(
    locale: str, open_microsite: OpenPage, artifacts: Path
) -> None:
    page, problems = open_microsite(locale, viewport=MOBILE)
    page.screenshot(path=str(artifacts / f"microsite-{locale}-mobile.png"), full_page=True)
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= MOBILE["width"] + 1, (
        f"{locale}: page is {scroll_width}px wide on a {MOBILE['width']}px screen"
    )
    assert not problems.any(), f"{locale}: problems while loading the page:\n{problems}"
