"""The pre-flight check on a small template built to fail each check once (cut text, a character
no font covers, pale text, a narration longer than its scene, a ``javascript:`` link), and on a
clean example template; never a recipient's personal value in what it reports."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fixture_preflight import CUNEIFORM, PERSONAL, SAMPLE, write_card
from fixture_studio import StudioServer

from renderer.outputs.kind import RenderOptions
from renderer.outputs.template import Template
from renderer.outputs.video.text import font_file
from renderer.preview.findings import Finding, PreflightReport, estimate_cost
from renderer.preview.preflight import preflight, preflight_recipients
from renderer.preview.preflight_links import html_links, url_scheme
from renderer.preview.preflight_video import contrast_ratio, font_coverage
from renderer.settings import Settings
from renderer.storage import MemoryStorage

FAST = RenderOptions(tts_engine="fake", draft=True)


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Template:
    return write_card(tmp_path_factory.mktemp("card"), settings)


@pytest.fixture(scope="module")
def report(card: Template) -> PreflightReport:
    return preflight(card, preflight_recipients(card, 0), MemoryStorage(), FAST, video=False, workers=2)


def _found(report: PreflightReport, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def _assert_no_personal_values(report: PreflightReport, values: tuple[str, ...]) -> None:
    shown = json.dumps(report.to_json(), ensure_ascii=False)
    for value in values:
        assert value not in shown


def test_cut_text_is_an_error_naming_scene_layer_and_line(card: Template, report: PreflightReport) -> None:
    (cut,) = _found(report, "text-fit")
    assert (cut.severity, cut.recipient, cut.where) == ("error", "en-US", "scene crowded, layer 0 (text)")
    assert "200x40 box even at min_size 20 px" in cut.message
    assert (cut.file, cut.line) == ("template.yaml", card.lines["scene.crowded.layers.0"])


def test_a_character_the_font_lacks_is_a_glyphs_error(card: Template, report: PreflightReport) -> None:
    from fontTools.ttLib import TTFont

    path = font_file("Noto Sans", False)
    with TTFont(path, lazy=True) as font:  # the chosen character really is missing from the font
        assert ord(CUNEIFORM) not in font.getBestCmap() and ord("H") in font.getBestCmap()
    assert ord(CUNEIFORM) not in font_coverage(path)
    (missing,) = _found(report, "glyphs")
    assert (missing.severity, missing.where) == ("error", "scene crowded, layer 1 (text)")
    assert "U+12000" in missing.message and missing.line == card.lines["scene.crowded.layers.1"]


def test_contrast_is_measured_on_the_composed_frame(report: PreflightReport) -> None:
    found = {f.where: f for f in _found(report, "contrast")}
    # pale grey on white fails outright, mid grey is below AA for small text; black on white and
    # white on the dark panel (over a white background: the frame, not the YAML, decides) pass
    assert set(found) == {"scene crowded, layer 2 (text)", "scene crowded, layer 3 (text)"}
    pale, grey = found["scene crowded, layer 2 (text)"], found["scene crowded, layer 3 (text)"]
    assert pale.severity == "error" and "1.36:1" in pale.message and "#ffffff behind it" in pale.message
    assert grey.severity == "warning" and "3.54:1" in grey.message and "needs 4.5:1" in grey.message


def test_a_narration_longer_than_its_fixed_scene_is_an_error(card: Template, report: PreflightReport) -> None:
    (long,) = _found(report, "narration")
    assert (long.severity, long.where) == ("error", "scene talk (narration)")
    assert "lasts 1 s" in long.message and long.line == card.lines["scene.talk"]


def test_only_the_javascript_link_is_flagged_naming_element_not_url(report: PreflightReport) -> None:
    (link,) = _found(report, "link")
    assert (link.severity, link.where, link.file) == ("error", "microsite: <a href> #3", "page.html")
    assert "link #3 (<a href>)" in link.message and "'javascript:' scheme" in link.message


def test_no_personal_value_appears_and_the_cost_has_no_video(report: PreflightReport) -> None:
    _assert_no_personal_values(report, PERSONAL)
    assert report.recipients == 1 and {f.recipient for f in report.findings} == {"en-US"}
    assert report.cost is not None and set(report.cost.per_output_cold) == {"microsite"}
    assert [f.severity for f in report.findings] == sorted(
        (f.severity for f in report.findings), key=lambda s: s != "error"
    )


def test_a_recipient_that_fails_to_validate_is_a_finding_and_the_rest_go_on(card: Template) -> None:
    broken = {key: value for key, value in SAMPLE.items() if key != "first_name"}
    recipients = [("broken", broken), ("en-US", dict(SAMPLE))]
    found = preflight(card, recipients, MemoryStorage(), FAST, video=False).findings
    (failed,) = [f for f in found if f.recipient == "broken"]
    assert (failed.check, failed.severity, failed.where) == ("render", "error", "data")
    assert "first_name" in failed.message
    assert {f.check for f in found if f.recipient == "en-US"} >= {"text-fit", "glyphs", "link"}


def test_synthetic_recipients_follow_the_samples(bill: Template) -> None:
    recipients = preflight_recipients(bill, 3)
    assert [label for label, _ in recipients] == [
        *sorted(bill.samples),
        "synthetic #1",
        "synthetic #2",
        "synthetic #3",
    ]
    assert preflight_recipients(bill, 3) == recipients  # deterministic


def test_the_clean_example_template_has_no_errors(bill: Template) -> None:
    raw = bill.samples["de-DE"]
    result = preflight(bill, [("de-DE", raw)], MemoryStorage(), FAST, video=False)
    assert [f for f in result.findings if f.severity == "error"] == []
    _assert_no_personal_values(result, (str(raw["first_name"]), str(raw["email"])))
    assert result.cost is not None and set(result.cost.per_output_cold) == {"microsite", "pdf"}


@pytest.mark.video
def test_the_video_is_rendered_and_timed_cold_then_warm(card: Template) -> None:
    recipients = preflight_recipients(card, 2)
    result = preflight(card, recipients, MemoryStorage(), FAST, campaign_size=100, workers=2)
    cost = result.cost
    assert cost is not None and set(cost.per_output_cold) == {"microsite", "video"}
    assert cost.per_output_cold["video"] > 0 and cost.per_output_warm["video"] > 0
    expected = sum(cost.per_output_cold.values()) + 99 * cost.per_recipient_s / 2
    assert cost.campaign_s == pytest.approx(expected)
    assert {f.recipient for f in result.findings} == {"en-US", "synthetic #1", "synthetic #2"}
    _assert_no_personal_values(result, PERSONAL)


def test_the_cost_estimate_formula() -> None:
    cold = {"microsite": 1.0, "video": 5.0}
    warm = [
        {"microsite": 0.1, "video": 2.0},
        {"microsite": 0.3, "video": 4.0},
        {"microsite": 0.2, "video": 3.0},
    ]
    cost = estimate_cost([cold, *warm], campaign_size=1001, workers=4)
    assert cost is not None
    assert cost.per_output_warm == {"microsite": 0.2, "video": 3.0}
    assert cost.per_recipient_s == pytest.approx(3.2)
    assert cost.campaign_s == pytest.approx(6.0 + 1000 * 3.2 / 4)
    assert estimate_cost([], 10, 1) is None


def test_link_schemes_are_read_as_a_browser_reads_them() -> None:
    assert url_scheme("java\tscript:alert(1)") == "javascript"
    assert url_scheme("  JavaScript:void(0)") == "javascript"
    assert [url_scheme(u) for u in ("bill.pdf", "#details", "//cdn.example", "data:text/html,x")] == [
        "",
        "",
        "",
        "data",
    ]
    html = '<a href="&#106;avascript:x">a</a><area href="ftp://h/f"><form action="file:///etc"></form>'
    assert [(tag, url_scheme(url)) for tag, _, url in html_links(html)] == [
        ("a", "javascript"),
        ("area", "ftp"),
        ("form", "file"),
    ]


def test_wcag_contrast_ratio() -> None:
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio((10, 20, 30), (10, 20, 30)) == 1.0


def test_the_studio_refuses_a_preflight_out_of_bounds(make_studio: Callable[..., StudioServer]) -> None:
    """(The report itself is read in the studio's browser test, on the test template.)"""
    server = make_studio("bill-summary", watch=False)
    for body in ({"synthetic": -1}, {"synthetic": 201}, {"campaign_size": "many"}, {"synthetic": True}):
        response = server.client.post("/api/preflight", json=body)
        assert response.status_code == 400 and "must be a whole number" in response.json()["error"]
