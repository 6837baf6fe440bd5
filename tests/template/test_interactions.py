"""The ``interactions:`` section: chapters, calls to action and forms are validated with the rest
of the manifest, and every mistake is named with its key and ``template.yaml`` line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from renderer.errors import TemplateError
from renderer.outputs.load import load_template
from renderer.settings import PROJECT_ROOT, Settings
from renderer.template.models import CallToAction, FormField

SOURCE = PROJECT_ROOT / "templates" / "bill-summary"


def _load_with(tmp_path: Path, settings: Settings, old: str, new: str) -> TemplateError:
    root = tmp_path / "bill-summary"
    shutil.copytree(SOURCE, root)
    manifest = root / "template.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert old in text, old
    manifest.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(root, settings)
    return caught.value


def _line(needle: str) -> int:
    lines = (SOURCE / "template.yaml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_the_sample_declares_chapters_ctas_and_a_consent_form(bill) -> None:  # type: ignore[no-untyped-def]
    section = bill.manifest.interactions
    assert [c.scene for c in section.chapters][:3] == ["greeting", "amount", "usage"]
    pay, switch, chat = section.ctas
    assert (chat.chat, chat.scenes, section.chat and section.chat.context) == (
        True,
        ["outro"],
        ["plan", "locale"],
    )
    assert (pay.id, pay.scenes, pay.form) == ("pay-now", ["amount"], None)
    assert (switch.form, switch.href) == ("preferences", None)
    consent = section.forms[0].fields["tips_by_email"]
    assert (consent.type, consent.version) == ("consent", "2026-12")
    assert "cta.pay-now.href" in bill.texts["_page"]  # compiled like every manifest snippet


CASES = [
    (
        "{scene: usage, title: ch_usage}",
        "{scene: no-such-scene, title: ch_usage}",
        "chapter scene 'no-such-scene' is not a video scene",
        "{scene: usage",
    ),
    (
        "{scene: usage, title: ch_usage}",
        "{scene: usage, title: ch_nowhere}",
        "text key 'ch_nowhere' is not defined in text.en",
        "{scene: usage",
    ),
    (
        "form: preferences, scenes",
        "form: nosuch, scenes",
        "opens form 'nosuch', which is not declared",
        "id: switch-plan",
    ),
    ('href: "{{ pay_url }}"', 'href: "{{ invoice_link }}"', "invoice_link", "id: pay-now"),
    (
        'href: "{{ pay_url }}", scenes: [amount]',
        'href: "{{ pay_url }}", form: preferences, scenes: [amount]',
        "exactly one action",
        "id: pay-now",
    ),
    (
        "{type: string, max_length: 40, label: f_callback}",
        "{type: wish, label: f_callback}",
        "callback_time.type",
        "callback_time:",
    ),
    (
        '{type: consent, version: "2026-12", label: f_consent}',
        "{type: consent, label: f_consent}",
        "'version'",
        "tips_by_email:",
    ),
    (
        "- {id: pay-now",
        "- {id: switch-plan",
        "call-to-action ids must be unique; repeated: switch-plan",
        "ctas:",
    ),
    (
        "context: [plan, locale]",
        "context: [plan, first_name]",
        "chat context 'first_name' reads a personal field",
        "chat: {url",
    ),
    (
        "context: [plan, locale]",
        "context: [plan, amount_due]",  # a computed value of the personal line items
        "chat context 'amount_due' reads a personal field",
        "chat: {url",
    ),
    (
        "context: [plan, locale]",
        "context: [plan, mood]",
        "chat context 'mood' is not a contract field",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {url: "https://chat.example.com/x", script: "https://w.example.com/w.js"',
        "either at a 'url' or by a widget 'script'",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "http://w.example.com/w.js"',
        "interactions.chat.script",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "https://*/w.js"',  # else the CSP would allow script-src https://*
        "interactions.chat.script",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "https://w.example.com;script-src/w.js"',
        "interactions.chat.script",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "https://user@w.example.com/w.js"',
        "interactions.chat.script",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        "chat: {script: \"https://w.example.com 'unsafe-inline'/w.js\"",
        "interactions.chat.script",
        "chat: {url",
    ),
    (
        'chat: {url: "https://chat.example.com/tailor-energy"',
        'chat: {script: "https://w.example.com:99999/w.js"',
        "interactions.chat.script: the chat widget 'script' must be an https URL on a host name",
        "chat: {url",
    ),
    (
        '  chat: {url: "https://chat.example.com/tailor-energy", context: [plan, locale]}\n',
        "",
        "opens the chat, but interactions.chat is not declared",
        "{id: chat,",
    ),
]


@pytest.mark.parametrize(("old", "new", "words", "near"), CASES, ids=[case[2][:40] for case in CASES])
def test_each_mistake_names_its_key_and_line(
    tmp_path: Path, settings: Settings, old: str, new: str, words: str, near: str
) -> None:
    error = _load_with(tmp_path, settings, old, new)
    assert words in str(error)
    assert error.file is not None and error.file.endswith("template.yaml")
    assert error.line is not None and abs(error.line - _line(near)) <= 2, (error.line, _line(near))


def test_a_cta_shows_during_scenes_or_a_time_range_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        CallToAction.model_validate(
            {"id": "x", "label": "pay", "href": "/", "scenes": ["a"], "start": 1, "end": 2}
        )
    with pytest.raises(ValueError, match="'start' comes before 'end'"):
        CallToAction.model_validate({"id": "x", "label": "pay", "href": "/", "start": 3, "end": 2})
    page_only = CallToAction.model_validate({"id": "x", "label": "pay", "href": "/"})
    assert (page_only.scenes, page_only.start) == ([], None)
    with pytest.raises(ValueError, match="'choices'"):
        FormField.model_validate({"type": "enum", "label": "x"})
