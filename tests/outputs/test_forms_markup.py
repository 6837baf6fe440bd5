"""A form's page markup: the exact shape the page's script and the server's no-JS answer read,
every text through the recipient's language (messages in fa and de from the sample template),
and the sample page rendering its preference form."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from renderer.errors import RenderError
from renderer.outputs.forms_markup import DEFAULT_MESSAGES, form_function, form_messages, render_form
from renderer.outputs.template import Template
from renderer.template.models import Form
from renderer.template.resolve import resolve

FORM = Form.model_validate(
    {
        "id": "survey",
        "title": "s_title",
        "thanks": "s_thanks",
        "fields": {
            "colour": {"type": "enum", "choices": ["red", "blue"], "required": True, "label": "s_colour"},
            "mail": {"type": "email", "label": "s_mail"},
            "visit": {"type": "date", "label": "s_visit"},
            "note": {"type": "string", "max_length": 12, "label": "s_note"},
            "news": {"type": "bool", "label": "s_news"},
            "terms": {"type": "consent", "version": "v3", "required": True, "label": "s_terms"},
        },
    }
)
TEXTS = {
    "s_title": "Tell us",
    "s_thanks": "Thanks & bye",
    "s_colour": "Colour",
    "s_colour_red": "Red <3",
    "s_mail": "Email",
    "s_visit": "Visit on",
    "s_note": "Note",
    "s_news": "News",
    "s_terms": 'I agree to the "terms"',
    "form_error_required": "Needed.",
    "form_send": "Go",
}

EXPECTED = """<div class="tailor-form-block" id="form-survey">
<h2 class="form-title" id="form-survey-title">Tell us</h2>
<form class="tailor-form" method="post" action="../../../forms/survey" data-tailor-form="survey" \
data-msg-required="Needed." data-msg-too_long="This answer is too long." \
data-msg-email="Please enter a valid email address." data-msg-choice="Please choose one of the options." \
data-msg-date="Please enter a valid date." data-msg-checked="Please tick this box." \
data-msg-consent="Please give your consent to send this form." \
data-msg-summary="Please check the fields marked below." aria-labelledby="form-survey-title" novalidate>
<p class="form-error-summary" data-tailor-error-summary role="alert" hidden></p>
<div class="field" data-tailor-field="colour">
<label for="survey-colour">Colour</label>
<select id="survey-colour" name="colour" aria-describedby="survey-colour-error" required aria-required="true" \
autocomplete="off">
<option value=""></option>
<option value="red">Red &lt;3</option>
<option value="blue">blue</option>
</select>
<p class="field-error" id="survey-colour-error" data-tailor-error-for="colour" hidden></p>
</div>
<div class="field" data-tailor-field="mail">
<label for="survey-mail">Email</label>
<input type="email" id="survey-mail" name="mail" aria-describedby="survey-mail-error" maxlength="254" \
autocomplete="email">
<p class="field-error" id="survey-mail-error" data-tailor-error-for="mail" hidden></p>
</div>
<div class="field" data-tailor-field="visit">
<label for="survey-visit">Visit on</label>
<input type="date" id="survey-visit" name="visit" aria-describedby="survey-visit-error" autocomplete="off">
<p class="field-error" id="survey-visit-error" data-tailor-error-for="visit" hidden></p>
</div>
<div class="field" data-tailor-field="note">
<label for="survey-note">Note</label>
<input type="text" id="survey-note" name="note" aria-describedby="survey-note-error" maxlength="12" \
autocomplete="off">
<p class="field-error" id="survey-note-error" data-tailor-error-for="note" hidden></p>
</div>
<div class="field field-check" data-tailor-field="news">
<input type="checkbox" id="survey-news" name="news" aria-describedby="survey-news-error" value="on">
<label for="survey-news">News</label>
<p class="field-error" id="survey-news-error" data-tailor-error-for="news" hidden></p>
</div>
<div class="field field-check" data-tailor-field="terms">
<input type="checkbox" id="survey-terms" name="terms" aria-describedby="survey-terms-error" required \
aria-required="true" value="on" data-consent-version="v3">
<label for="survey-terms">I agree to the &#34;terms&#34;</label>
<p class="field-error" id="survey-terms-error" data-tailor-error-for="terms" hidden></p>
</div>
<input type="hidden" name="_view" value="">
<button type="submit" class="form-submit">Go</button>
</form>
<p class="form-thanks" id="form-survey-thanks" tabindex="-1">Thanks &amp; bye</p>
</div>"""


def _t(texts: dict[str, str]) -> Callable[[str], str]:
    def t(key: str) -> str:
        if key not in texts:
            raise RenderError(f"text {key!r} is not defined")
        return texts[key]

    return t


def test_the_markup_is_exactly_the_shared_shape() -> None:
    t = _t(TEXTS)
    assert str(render_form(FORM, t, messages=form_messages(t))) == EXPECTED


def test_messages_default_to_english_and_the_send_label_too() -> None:
    t = _t({key: value for key, value in TEXTS.items() if not key.startswith("form_")})
    assert form_messages(t) == DEFAULT_MESSAGES
    html = str(render_form(FORM, t, messages=form_messages(t)))
    assert '<button type="submit" class="form-submit">Send</button>' in html


def test_a_label_key_a_template_lacks_is_a_render_error() -> None:
    t = _t({key: value for key, value in TEXTS.items() if key != "s_mail"})
    with pytest.raises(RenderError, match="s_mail"):
        render_form(FORM, t, messages=DEFAULT_MESSAGES)
    with pytest.raises(RenderError, match=r"form\('nope'\) is not declared"):
        form_function({"survey": FORM}, _t(TEXTS))("nope")


@pytest.mark.parametrize(
    ("locale", "required", "summary", "email"),
    [
        ("fa-IR", "لطفاً این بخش را پر کنید.", "لطفاً بخش‌های مشخص‌شده را بررسی کنید.", "ایمیل"),
        ("de-DE", "Bitte füllen Sie dieses Feld aus.", "Bitte prüfen Sie die markierten Felder.", "E-Mail"),
    ],
)
def test_the_sample_form_speaks_the_recipients_language(
    bill: Template, locale: str, required: str, summary: str, email: str
) -> None:
    spec = resolve(bill, bill.validator.validate(bill.samples[locale]))
    t = spec.context["t"]
    form = bill.manifest.interactions.forms[0]
    html = str(form_function({form.id: form}, t)(form.id))
    assert f'data-msg-required="{required}"' in html and f'data-msg-summary="{summary}"' in html
    assert f'<option value="email">{email}</option>' in html  # f_channel_email
    assert f'<label for="preferences-channel">{t("f_channel")}</label>' in html
    assert 'data-consent-version="2026-12"' in html
    assert f'<p class="form-thanks" id="form-preferences-thanks" tabindex="-1">{t("form_thanks")}</p>' in html
    messages = form_messages(t)
    assert all(messages[code] != DEFAULT_MESSAGES[code] for code in DEFAULT_MESSAGES)  # all six languages


@pytest.mark.parametrize("locale", ["de-DE", "en-US", "fa-IR", "id-ID", "it-IT", "tr-TR"])
def test_every_sample_page_carries_the_form_after_the_line_items(
    rendered_samples: dict[str, Path], locale: str
) -> None:
    html = (rendered_samples[locale] / "index.html").read_text(encoding="utf-8")
    items, form = (
        html.index('id="items-title"'),
        html.index('<section class="card form-card" aria-labelledby="form-preferences-title">'),
    )
    assert items < form < html.index('id="usage-title"')
    # the form's own block carries the id a call to action links to (#form-preferences), once
    assert html.count('id="form-preferences"') == 1
    assert html.index('<div class="tailor-form-block" id="form-preferences">') > form
    assert re.search(r'<link rel="stylesheet" href="\.\./\.\./_static/forms\.[0-9a-f]{16}\.css">', html)
    assert re.search(r'<script src="\.\./\.\./_static/forms\.[0-9a-f]{16}\.js" defer></script>', html)
    assert html.count("data-tailor-form=") == 1
