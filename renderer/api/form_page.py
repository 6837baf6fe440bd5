"""The no-JavaScript answer to a wrong form submit: the recipient's own page, rewritten.

`rewrite_page(html, page_url=..., form_id=..., errors=..., values=...)` is pure: it streams the
stored ``index.html`` through the stdlib `HTMLParser` and passes every byte through verbatim
except what it must change:

* every relative URL (``href``, ``src``, ``action``, ``poster``, ``srcset`` and attributes ending in
  ``-url``) made absolute against `page_url`, the page's real path: the answer is served at
  ``/r/{token}/forms/{id}``, where the page's relative links would break (and ``<base>`` is
  forbidden by the page's CSP); ``#fragment`` links stay as they are;
* inside ``<form data-tailor-form="{form_id}">``: each wrong field's error paragraph
  (``data-tailor-error-for``) filled with the page's own message for its code (the form's
  ``data-msg-<code>``, in the recipient's language) and un-hidden; its control marked
  ``aria-invalid="true"`` (the first one ``autofocus``, so the browser lands on it); the submitted
  values put back (``value``, the ``selected`` option, ``checked`` boxes); the summary
  (``data-tailor-error-summary``) filled with ``data-msg-summary`` and un-hidden.

`page_messages(html, form_id)` reads the same messages, for the JSON answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
from urllib.parse import urljoin

from renderer.outputs.forms_markup import DEFAULT_MESSAGES

Attrs = list[tuple[str, str | None]]
URL_ATTRS = frozenset({"href", "src", "action", "poster"})
_UNCHECKED = {"", "off", "false", "0", "no"}
_VALUE_LESS = {"checkbox", "radio", "hidden", "submit", "button", "reset", "image", "file", "password"}
_SRCSET_ITEM = re.compile(r"^(\s*)(\S+)(.*)$", re.S)


def absolute(url: str, page_url: str) -> str:
    """`url` resolved against `page_url`; a ``#fragment`` (same document) is left as it is."""
    return url if url.startswith("#") else urljoin(page_url, url.strip())


def _srcset(value: str, page_url: str) -> str:
    items = []
    for item in value.split(","):
        match = _SRCSET_ITEM.match(item)
        items.append(f"{match[1]}{absolute(match[2], page_url)}{match[3]}" if match else item)
    return ",".join(items)


def _start_tag(tag: str, attrs: Attrs, closed: bool) -> str:
    parts = [tag] + [name if value is None else f'{name}="{escape(value)}"' for name, value in attrs]
    return "<" + " ".join(parts) + (" />" if closed else ">")


class _Rewriter(HTMLParser):
    """Feeds on the page; `out` collects it rewritten (see the module docstring)."""

    def __init__(self, source: str, page_url: str, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source, self.page_url, self.form_id = source, page_url, form_id
        self.line_starts = [0] + [i + 1 for i, char in enumerate(source) if char == "\n"]
        self.out: list[str] = []
        self.cursor = 0  # source before it has been written (or replaced)
        self.dropping: str | None = None  # the element whose content is being replaced
        self.in_form = False
        self.messages: dict[str, str] = dict(DEFAULT_MESSAGES)
        self.errors: Mapping[str, str] = {}
        self.values: Mapping[str, str] = {}
        self.select: str | None = None
        self.focused = False

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _replace(self, text: str, *, drop_content_of: str | None = None) -> None:
        """Write the source up to this tag, then `text` instead of the tag."""
        start = self._offset()
        raw = self.get_starttag_text() or ""
        self.out.append(self.source[self.cursor : start])
        self.out.append(text)
        self.cursor = start + len(raw)
        self.dropping = drop_content_of

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        """Rewrite the tag where it needs it; otherwise leave it verbatim."""
        self._tag(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: Attrs) -> None:
        """As `handle_starttag`, for ``<tag ... />``."""
        self._tag(tag, attrs, closed=True)

    def handle_endtag(self, tag: str) -> None:
        """Close the replaced content, the form or a select."""
        if self.dropping is not None:
            if tag != self.dropping:
                return
            self.cursor = self._offset()  # the old content is gone
            self.dropping = None
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None

    def close_out(self) -> str:
        """The rewritten page, once everything was fed."""
        self.close()
        self.out.append(self.source[self.cursor :])
        return "".join(self.out)

    def _tag(self, tag: str, attrs: Attrs, closed: bool) -> None:
        if self.dropping is not None:
            return
        names = dict(attrs)
        if tag == "form" and names.get("data-tailor-form") == self.form_id:
            self.in_form = True
            self.messages.update(
                {name[9:]: value or "" for name, value in attrs if name.startswith("data-msg-")}
            )
        changed, content = self._links(attrs), None
        if self.in_form:
            changed, content = self._form_part(tag, changed)
        if content is not None:
            self._replace(_start_tag(tag, changed, closed) + escape(content), drop_content_of=tag)
        elif changed != attrs:
            self._replace(_start_tag(tag, changed, closed))

    def _links(self, attrs: Attrs) -> Attrs:
        def fixed(name: str, value: str | None) -> str | None:
            if value is None:
                return None
            if name in URL_ATTRS or name.endswith("-url"):
                return absolute(value, self.page_url)
            return _srcset(value, self.page_url) if name == "srcset" else value

        return [(name, fixed(name, value)) for name, value in attrs]

    def _form_part(self, tag: str, attrs: Attrs) -> tuple[Attrs, str | None]:
        """(attributes, new content or None) of a tag inside the form."""
        names = dict(attrs)
        if "data-tailor-error-summary" in names and self.errors:
            return _without(attrs, "hidden"), self.messages.get("summary", DEFAULT_MESSAGES["summary"])
        field = names.get("data-tailor-error-for")
        if field is not None and field in self.errors:
            code = self.errors[field]
            return _without(attrs, "hidden"), self.messages.get(code, DEFAULT_MESSAGES.get(code, ""))
        name = names.get("name")
        if tag == "option" and self.select is not None:
            chosen = names.get("value") == self.values.get(self.select, "")
            return _set(attrs, "selected", None, chosen), None
        if tag in ("input", "select", "textarea") and name and name != "_view":
            return self._control(tag, attrs, name)
        return attrs, None

    def _control(self, tag: str, attrs: Attrs, name: str) -> tuple[Attrs, str | None]:
        wrong = name in self.errors
        attrs = _set(attrs, "aria-invalid", "true", wrong)
        if wrong and not self.focused:
            self.focused = True
            attrs = _set(attrs, "autofocus", None)
        submitted = self.values.get(name, "")
        kind = (dict(attrs).get("type") or "text").lower()
        if tag == "select":
            self.select = name
        elif tag == "textarea":
            return attrs, submitted
        elif kind == "checkbox":
            attrs = _set(attrs, "checked", None, submitted.strip().lower() not in _UNCHECKED)
        elif kind == "radio":
            attrs = _set(attrs, "checked", None, dict(attrs).get("value") == submitted)
        elif kind not in _VALUE_LESS:
            attrs = _set(attrs, "value", submitted)
        return attrs, None


def _without(attrs: Attrs, name: str) -> Attrs:
    return [(key, value) for key, value in attrs if key != name]


def _set(attrs: Attrs, name: str, value: str | None, on: bool = True) -> Attrs:
    """`attrs` with `name` set to `value` (None: a bare attribute) in place where it was, else at
    the end; without `name` when not `on`."""
    if not on:
        return _without(attrs, name)
    if any(key == name for key, _ in attrs):
        return [(key, value if key == name else old) for key, old in attrs]
    return [*attrs, (name, value)]


def rewrite_page(
    html: str, *, page_url: str, form_id: str, errors: Mapping[str, str], values: Mapping[str, str]
) -> str:
    """The page with `form_id`'s errors shown (`errors`: field -> error code), the submitted
    `values` put back and every relative URL made absolute against `page_url`; everything
    else verbatim."""
    parser = _Rewriter(html, page_url, form_id)
    parser.errors, parser.values = errors, values
    parser.feed(html)
    return parser.close_out()


class _Messages(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.messages: dict[str, str] = dict(DEFAULT_MESSAGES)

    def handle_starttag(self, tag: str, attrs: Attrs) -> None:
        if tag == "form" and dict(attrs).get("data-tailor-form") == self.form_id:
            self.messages.update(
                {name[9:]: value or "" for name, value in attrs if name.startswith("data-msg-")}
            )


def page_messages(html: str, form_id: str) -> dict[str, str]:
    """Error code (and ``summary``) -> the message the page writes on `form_id`'s ``<form>``;
    English defaults for any it does not."""
    parser = _Messages(form_id)
    parser.feed(html)
    parser.close()
    return parser.messages
