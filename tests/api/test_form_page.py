"""The no-JS answer's rewriter on its own: pure text in, text out. Everything it does not need to
change comes back byte for byte; errors, values and links are changed where the page says."""

from __future__ import annotations

import re

from renderer.api.form_page import absolute, page_messages, rewrite_page
from renderer.outputs.forms_markup import DEFAULT_MESSAGES

PAGE_URL = "/r/TOKEN/bill-summary/camp-1/C%2D7/index.html"
PAGE = """<!doctype html>
<html lang="de" dir="ltr">
<head>
<!-- a comment & an <unclosed tag -->
<link rel="stylesheet" href="../../_static/site.0123.css">
<script src="../../_static/forms.4567.js" defer></script>
<style>p > a { color: red; }</style>
</head>
<body>
<a class="skip" href="#main">Springen</a>
<IMG SRC="logo.png" srcset="logo.png 1x, ../img/logo@2x.png 2x" alt="Logo &amp; Co">
<video poster="poster.jpg" data-stream-url="video/index.m3u8" data-title="keep me"></video>
<a href="https://pay.example/x?a=1&amp;b=2">Pay</a> <a href="mailto:help@example.com">Mail</a>
<main id="main">
<form method="post" action="../../../forms/other" data-tailor-form="other" data-msg-required="Other!">
<input id="other-name" name="name" value="as it was">
<p data-tailor-error-for="name" hidden></p>
</form>
<form method="post" action="../../../forms/prefs" data-tailor-form="prefs"
      data-msg-required="Bitte ausfüllen." data-msg-choice="Bitte wählen." data-msg-summary="Bitte prüfen.">
<p class="form-error-summary" data-tailor-error-summary role="alert" hidden></p>
<div class="field" data-tailor-field="channel">
<label for="prefs-channel">Kanal</label>
<select id="prefs-channel" name="channel" aria-describedby="prefs-channel-error" required>
<option value=""></option>
<option value="email" selected>E-Mail</option>
<option value="phone">Telefon</option>
</select>
<p class="field-error" id="prefs-channel-error" data-tailor-error-for="channel" hidden>old text</p>
</div>
<div class="field" data-tailor-field="note">
<input type="text" id="prefs-note" name="note" aria-invalid="true" />
<p class="field-error" id="prefs-note-error" data-tailor-error-for="note" hidden></p>
</div>
<div class="field" data-tailor-field="when">
<input type="date" id="prefs-when" name="when">
<p class="field-error" id="prefs-when-error" data-tailor-error-for="when" hidden></p>
</div>
<div class="field" data-tailor-field="story">
<textarea id="prefs-story" name="story">draft</textarea>
</div>
<div class="field field-check" data-tailor-field="tips">
<input type="checkbox" id="prefs-tips" name="tips" value="on">
<input type="checkbox" id="prefs-news" name="news" value="on" checked>
</div>
<input type="hidden" name="_view" value="">
<button type="submit">Senden</button>
</form>
</main>
</body>
</html>
"""


def _rewrite(errors: dict[str, str], values: dict[str, str]) -> str:
    return rewrite_page(PAGE, page_url=PAGE_URL, form_id="prefs", errors=errors, values=values)


def _tag(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found, pattern
    return found[0]


def test_errors_are_shown_beside_their_fields_in_the_pages_words() -> None:
    html = _rewrite({"channel": "choice", "when": "date"}, {"channel": "fax", "when": "31.02."})
    assert (
        '<p class="field-error" id="prefs-channel-error" data-tailor-error-for="channel">Bitte wählen.</p>'
        in html
    )
    assert "old text" not in html
    # a code the page has no message for reads the English default
    assert f'data-tailor-error-for="when">{DEFAULT_MESSAGES["date"]}</p>' in html
    assert '<p class="form-error-summary" data-tailor-error-summary role="alert">Bitte prüfen.</p>' in html
    assert '<p class="field-error" id="prefs-note-error" data-tailor-error-for="note" hidden></p>' in html
    select = _tag(html, r"<select [^>]*>")
    assert 'aria-invalid="true"' in select and "autofocus" in select  # the first wrong field
    when = _tag(html, r'<input type="date"[^>]*>')
    assert 'aria-invalid="true"' in when and "autofocus" not in when
    assert "aria-invalid" not in _tag(html, r'<input type="text"[^>]*>')  # right now: no longer marked
    # the other form on the page is left alone
    assert '<p data-tailor-error-for="name" hidden></p>' in html and 'value="as it was"' in html


def test_the_submitted_values_are_put_back_escaped() -> None:
    html = _rewrite(
        {"note": "required"},
        {"channel": "phone", "note": 'a "b" <c> & d', "tips": "on", "story": "</textarea><b>x", "_view": "v"},
    )
    assert '<option value="phone" selected>' in html and '<option value="email">' in html
    assert '<option value="">' in html
    assert 'value="a &quot;b&quot; &lt;c&gt; &amp; d" />' in _tag(html, r'<input type="text"[^>]*>')
    assert "checked" in _tag(html, r'<input type="checkbox" id="prefs-tips"[^>]*>')
    assert "checked" not in _tag(html, r'<input type="checkbox" id="prefs-news"[^>]*>')  # unticked
    assert '<textarea id="prefs-story" name="story">&lt;/textarea&gt;&lt;b&gt;x</textarea>' in html
    assert '<input type="hidden" name="_view" value="">' in html  # never filled from the post


def test_relative_urls_become_absolute_and_everything_else_is_verbatim() -> None:
    html = _rewrite({"channel": "required"}, {})
    assert '<link rel="stylesheet" href="/r/TOKEN/bill-summary/_static/site.0123.css">' in html
    assert '<script src="/r/TOKEN/bill-summary/_static/forms.4567.js" defer></script>' in html
    assert 'src="/r/TOKEN/bill-summary/camp-1/C%2D7/logo.png"' in html
    assert (
        'srcset="/r/TOKEN/bill-summary/camp-1/C%2D7/logo.png 1x, /r/TOKEN/bill-summary/camp-1/img/logo@2x.png 2x"'
        in html
    )
    assert 'poster="/r/TOKEN/bill-summary/camp-1/C%2D7/poster.jpg"' in html
    assert (
        'data-stream-url="/r/TOKEN/bill-summary/camp-1/C%2D7/video/index.m3u8" data-title="keep me"' in html
    )
    assert 'action="/r/TOKEN/forms/prefs"' in html and 'action="/r/TOKEN/forms/other"' in html
    assert '<a class="skip" href="#main">' in html  # the same document
    assert (
        '<a href="https://pay.example/x?a=1&amp;b=2">Pay</a> <a href="mailto:help@example.com">Mail</a>'
        in html
    )
    assert 'alt="Logo &amp; Co"' in html
    # every line the rewriter had no reason to touch is the page's own, byte for byte
    changed = re.compile(
        r"href=|src=|action=|poster=|data-msg-|hidden|<select|<option|<input|<textarea", re.I
    )
    untouched = [line for line in PAGE.splitlines() if not changed.search(line)]
    assert len(untouched) > 20
    rewritten = html.splitlines()
    assert all(line in rewritten for line in untouched)
    assert "<!-- a comment & an <unclosed tag -->" in html and "<style>p > a { color: red; }</style>" in html


def test_without_errors_only_links_change() -> None:
    html = rewrite_page(PAGE, page_url=PAGE_URL, form_id="prefs", errors={}, values={})
    assert html.count("hidden") == PAGE.count("hidden")
    assert 'data-msg-summary="Bitte prüfen.">' in html


def test_page_messages_and_absolute() -> None:
    messages = page_messages(PAGE, "prefs")
    assert messages["required"] == "Bitte ausfüllen." and messages["choice"] == "Bitte wählen."
    assert messages["email"] == DEFAULT_MESSAGES["email"]
    assert page_messages(PAGE, "missing") == DEFAULT_MESSAGES
    assert absolute("#x", PAGE_URL) == "#x"
    assert absolute("", PAGE_URL) == PAGE_URL
    assert absolute("//cdn.example/x", PAGE_URL) == "//cdn.example/x"
