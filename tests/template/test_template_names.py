"""Names a template reads are checked before anything renders: a misspelt merge field in an
entry file, or an unknown field in a `when` no sample reaches, is named with its file and line
by `tailor validate`; a misspelt attribute found while rendering, and a missing video asset, too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from broken import broken_copy, edit, line_of, run_cli

from renderer.errors import TemplateError
from renderer.outputs.load import load_template
from renderer.settings import Settings

INTRO_LOGO = 'src: "@assets/brand/logo-white.png", box: {x: 492, y: 250'


def _validate(root: Path) -> str:
    result = run_cli("validate", str(root))
    assert result.returncode == 1, result.stdout
    assert "unexpected" not in result.stdout and "UndefinedError" not in result.stdout, result.stdout
    return result.stdout


def test_a_misspelt_merge_field_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    entry = root / "pdf" / "bill.html"
    edit(entry, "{{ first_name }} {{ last_name }}", "{{ frist_name }} {{ last_name }}")
    output = _validate(root)
    assert f"{entry}:{line_of(entry, 'frist_name')}: unknown variable 'frist_name'" in output


def test_an_unknown_field_in_a_when_no_sample_reaches_is_found(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, "when: \"plan == 'green'\"", "when: \"plan == 'gold' and vip_level > 2\"")
    output = _validate(root)
    line = line_of(manifest, "vip_level")
    assert f"{manifest}:{line}: scene.tips-green.when: unknown variable 'vip_level'" in output


def test_a_computed_value_may_only_read_those_declared_before_it(tmp_path: Path, settings: Settings) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, 'went_up: "change_ratio > 0"', 'went_up: "period_days > 0"')
    with pytest.raises(TemplateError) as caught:
        load_template(root, settings)
    assert (caught.value.file, caught.value.line) == (str(manifest), line_of(manifest, "went_up:"))
    assert "computed.went_up: unknown variable 'period_days'" in caught.value.detail


@pytest.mark.pdf
def test_a_misspelt_attribute_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    entry = root / "pdf" / "bill.html"
    edit(entry, "{{ item.amount | money }}", "{{ item.amout | money }}")
    output = _validate(root)
    line = line_of(entry, "item.amout")
    assert f"bill-summary/pdf/bill.html:{line}: pdf output: undefined attribute or key 'amout'" in output


def test_a_missing_video_asset_names_the_layer_line_in_template_yaml(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, INTRO_LOGO, INTRO_LOGO.replace("logo-white", "logo-whte"))
    output = _validate(root)
    line = line_of(manifest, "logo-whte")
    assert (
        f"{manifest}:{line}: scene.intro.layers.0: asset '@assets/brand/logo-whte.png' does not exist"
        in output
    )


def test_a_data_chosen_missing_asset_names_the_layer_and_not_the_value(tmp_path: Path) -> None:
    root = broken_copy(tmp_path)
    manifest = root / "template.yaml"
    edit(manifest, INTRO_LOGO, INTRO_LOGO.replace("logo-white.png", "{{ first_name }}.png"))
    output = _validate(root)
    line = line_of(manifest, "{{ first_name }}.png")
    expected = f"bill-summary/template.yaml:{line}: scene.intro.layers.0: asset '@assets/brand/{{{{ first_name }}}}.png'"
    assert expected in output and "<template>" not in output
    for sample in (root / "samples").glob("*.json"):  # no sample's first name shows
        assert f"{json.loads(sample.read_text(encoding='utf-8'))['first_name']}.png" not in output


def test_a_name_the_template_tests_with_is_defined_is_not_reported(
    tmp_path: Path, settings: Settings
) -> None:
    root = broken_copy(tmp_path)
    entry = root / "pdf" / "bill.html"
    edit(entry, "</body>", "{% if nickname is defined %}<p>{{ nickname }}</p>{% endif %}</body>")
    load_template(root, settings)
    edit(entry, "</body>", "<p>{{ nickname }}</p></body>")  # outside the test as well: still fine
    load_template(root, settings)
    edit(entry, "</body>", "<p>{{ nick_name }}</p></body>")
    with pytest.raises(TemplateError, match="unknown variable 'nick_name'"):
        load_template(root, settings)
