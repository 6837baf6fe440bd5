"""Of several problems in one template, `load_template` names the same one first as it always
has: entries compile before any is linted, the PDF's files are linted before the microsite's,
static files are checked before any expression compiles, names are checked in the order the
manifest is written (computed values, texts, then scene by scene), and video assets last."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from renderer.errors import AssetError, TemplateError
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT, Settings

SOURCE = PROJECT_ROOT / "templates" / "bill-summary"
Y = "template.yaml"
UNKNOWN_WHEN = ("when: \"plan == 'basic'\"", "when: \"nosuch_b == 'basic'\"")
HOSTILE_IMG = ("</body>", '<img src="http://127.0.0.1/x.png"></body>')

CASES = {
    "a PDF entry's broken Jinja before the microsite's refused URL": (
        [("microsite/index.html", *HOSTILE_IMG), ("pdf/bill.html", "</body>", "{% if %}</body>")],
        ("pdf/bill.html", "broken Jinja"),
    ),
    "the PDF's refused URL before the microsite's": (
        [("microsite/index.html", *HOSTILE_IMG), ("pdf/bill.html", *HOSTILE_IMG)],
        ("pdf/bill.html", "refused"),
    ),
    "a missing static file before a broken computed expression": (
        [
            (Y, "      - microsite/bill.js\n", "      - microsite/missing.js\n"),
            (
                Y,
                "amount_due: \"line_items | sum(attribute='amount')\"",
                "amount_due: \"line_items | sum(attribute='amount'\"",
            ),
        ],
        (Y, "missing.js"),
    ),
    "an unknown name in a computed value before a missing music file": (
        [
            (Y, 'music: "@assets/music/calm-bed.ogg"', 'music: "@assets/music/missing.ogg"'),
            (
                Y,
                'period_days: "(period_end - period_start).days + 1"',
                'period_days: "(nosuch_c - period_start).days + 1"',
            ),
        ],
        (Y, "computed.period_days"),
    ),
    "an unknown name in a text snippet before one in a scene's when": (
        [
            (
                Y,
                'greeting: "Hi {{ first_name }}, here is your bill"',
                'greeting: "Hi {{ nosuch_a }}, here is your bill"',
            ),
            (Y, *UNKNOWN_WHEN),
        ],
        (Y, "text.en.greeting"),
    ),
    "the first scene's layer text before a later scene's when": (
        [(Y, "text: \"{{ t('v_intro') }}\"", 'text: "{{ nosuch_d }}"'), (Y, *UNKNOWN_WHEN)],
        (Y, "scenes.0.layers.1.text"),
    ),
}


def _broken(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    root = tmp_path / "bill-summary"
    shutil.copytree(SOURCE, root)
    for rel, old, new in edits:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_the_first_problem_named_stays_the_same(case: str, tmp_path: Path, settings: Settings) -> None:
    edits, (file, words) = CASES[case]
    with pytest.raises((TemplateError, AssetError)) as caught:
        load_template(_broken(tmp_path, edits), settings)
    assert (caught.value.file or "").endswith(file), str(caught.value)
    assert words in str(caught.value)
    assert caught.value.line is not None or file.endswith(".html")
