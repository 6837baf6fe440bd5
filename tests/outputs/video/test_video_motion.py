"""The content animations ``grow`` and ``count-up``, pure: the number a count-up shows part of the
way in every locale's format, the progress `layer_state` gives them, and the manifest rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from broken import broken_copy, edit, line_of

from renderer.errors import TemplateError
from renderer.outputs.load import load_template
from renderer.outputs.video.countup import count_text, find_number
from renderer.outputs.video.layers.base import ResolvedLayer
from renderer.outputs.video.layers.chart import ChartLayer
from renderer.outputs.video.layers.motion import LayerState, layer_state
from renderer.outputs.video.layers.text import TextLayer
from renderer.settings import Settings
from renderer.template import locale as loc

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("locale", "currency", "half", "start"),
    [
        ("en-US", "USD", "$617,283.94", "$0.00"),
        ("de-DE", "EUR", f"617.283,94{NBSP}€", f"0,00{NBSP}€"),
        ("fr-FR", "EUR", f"617{NNBSP}283,94{NBSP}€", f"0,00{NBSP}€"),
        ("en-IN", "INR", "₹6,17,283.94", "₹0.00"),
        ("hi-IN", "INR", "₹6,17,283.94", "₹0.00"),
        ("fa-IR", "IRR", f"\u200eریال{NBSP}۶۱۷٬۲۸۴", f"\u200eریال{NBSP}۰"),
        ("ar-EG", "EGP", f"\u200f٦١٧٬٢٨٣٫٩٤{NBSP}ج.م.\u200f", f"\u200f٠٫٠٠{NBSP}ج.م.\u200f"),
        ("id-ID", "IDR", "Rp617.284", "Rp0"),
    ],
)
def test_money_counts_in_its_own_format(locale: str, currency: str, half: str, start: str) -> None:
    final = loc.format_money(1234567.89, currency, locale)
    decimal = loc.decimal_symbol(locale)
    assert count_text(final, 0.5, decimal) == half
    assert count_text(final, 0.0, decimal) == start
    assert count_text(final, 1.0, decimal) == final
    assert count_text(final, 1 - 1e-10, decimal) == final, "rounded to its last digit"


def test_grouping_shrinks_without_orphan_separators_or_leading_zeros() -> None:
    assert count_text("$1,234,567.00", 0.0005) == "$617.28"
    assert count_text("₹12,34,567", 0.05) == "₹61,728", "Indian groups of two stay"
    assert count_text("₹12,34,567", 0.5) == "₹6,17,284"
    assert count_text("1'234'567 CHF", 0.001) == "1'235 CHF"
    assert count_text("0.45 kWh", 0.5) == "0.22 kWh", "the fraction digits stay; half to even"
    assert count_text("۱۲٬۳۴۵٬۶۷۸", 0.1) == "۱٬۲۳۴٬۵۶۸", "Persian digits and separator"


def test_which_number_is_counted() -> None:
    assert count_text("3 bills, 1,204 kWh", 0.5) == "3 bills, 602 kWh", "the one with most digits"
    assert count_text("12 of 34", 0.5) == "6 of 34", "the first on a tie"
    assert count_text("No number here", 0.5) == "No number here"
    assert count_text("1,234", 0.5) == "617", "one separator before 3 digits: a grouping"
    assert count_text("1,234", 0.5, ",") == "0,617", "unless it is the locale's decimal point"
    assert count_text("137.88", 0.5) == "68.94"
    assert find_number("1२3") is None, "digits of two scripts are not one number"
    span = find_number("total: 1.234.567,8 €")
    assert span is not None and (span.groups, span.fraction, span.decimal_mark) == (
        ("1", "234", "567"),
        "8",
        ",",
    )


def _layer(model: type[TextLayer] | type[ChartLayer], **fields: object) -> ResolvedLayer:
    spec = model.model_validate({"box": {"x": 0, "y": 0, "w": 200, "h": 100}, **fields})
    return ResolvedLayer(spec, {"text": "$12.00"})


def test_a_content_animation_sets_progress_then_leaves_the_plain_state() -> None:
    layer = _layer(TextLayer, type="text", text="x", start=0.5, enter={"kind": "count-up", "duration": 1.0})
    assert not layer_state(layer, 0.4, 5.0).visible
    states = [layer_state(layer, 0.5 + k / 30, 5.0) for k in range(30)]
    progress = [s.progress for s in states if s.progress is not None]
    assert progress[0] == 0.0 and all(0 <= p < 1 for p in progress)
    assert progress == sorted(set(progress)) and len(progress) >= 27, "rises every frame"
    assert states[len(progress) :] == [LayerState(True)] * (30 - len(progress)), "done once it rounds to 1"
    assert progress[15] == pytest.approx(1 - 0.5**3, abs=1e-4), "eased out like the others"
    assert all(s.opacity == 1 and s.dx == s.dy == 0 and s.scale == 1 for s in states)
    assert layer_state(layer, 1.5, 5.0) == LayerState(True), "over: the plain shown state"
    faint = _layer(TextLayer, type="text", text="x", opacity=0.5, enter={"kind": "count-up"})
    assert layer_state(faint, 0.1, 5.0) == LayerState(True, opacity=0.5, progress=0.488)


def test_other_animations_have_no_progress() -> None:
    for kind in ("fade", "slide-left", "scale", "none"):
        layer = _layer(TextLayer, type="text", text="x", enter={"kind": kind, "duration": 1.0})
        assert layer_state(layer, 0.5, 5.0).progress is None


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "box: {x: 492, y: 250, w: 296, h: 64}, enter: {kind: fade",
            "box: {x: 492, y: 250, w: 296, h: 64}, enter: {kind: grow",
            "x: 492, y: 250",
            "scene.intro.layers.0: a image layer cannot play the grow animation",
        ),
        (
            'kwh, colour: "#0b3d91", box: {x: 100, y: 170, w: 1080, h: 480}, enter: {kind: grow',
            'kwh, colour: "#0b3d91", box: {x: 100, y: 170, w: 1080, h: 480}, enter: {kind: count-up',
            "data: usage_history",
            "scene.usage.layers.1: a chart layer cannot play the count-up animation",
        ),
        (
            "text: \"{{ t('usage') }}\", box: {x: 100, y: 60, w: 1080, h: 80}",
            'text: "Your usage", enter: {kind: count-up}, box: {x: 100, y: 60, w: 1080, h: 80}',
            'text: "Your usage", enter',
            "scene.usage.layers.0: a count-up text needs a number to count, and this text has none",
        ),
        (
            '{x: 140, y: 440, w: 1000, h: 70}, size: 40, min_size: 22, colour: "#1d2633", align: center, start: 0.4, enter: {kind: slide-up, duration: 0.5}}\n        fallback',
            '{x: 140, y: 440, w: 1000, h: 70}, size: 40, min_size: 22, colour: "#1d2633", align: center, start: 0.4, exit: {kind: count-up}}\n        fallback',
            "start: 0.4, exit: {kind: count-up}",
            "scene.amount.layers.2: count-up is an enter animation only",
        ),
    ],
    ids=["grow-on-image", "count-up-on-chart", "count-up-without-number", "count-up-as-exit"],
)
def test_an_animation_a_layer_cannot_play_is_a_template_error(
    tmp_path: Path, settings: Settings, old: str, new: str, needle: str, message: str
) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, old, new)
    with pytest.raises(TemplateError) as caught:
        load_template(root, settings)
    error = caught.value
    assert (error.file, error.line) == (str(manifest), line_of(manifest, needle))
    assert message in str(error) and "bill-summary/template.yaml" in str(error)


def test_a_static_text_with_a_number_may_count_up() -> None:
    from renderer.outputs.video.layers import layer_kind

    layer = TextLayer.model_validate(
        {
            "type": "text",
            "text": "100 %",
            "box": {"x": 0, "y": 0, "w": 9, "h": 9},
            "enter": {"kind": "count-up"},
        }
    )
    assert layer_kind(layer).animation_problem(layer, "count-up") is None
