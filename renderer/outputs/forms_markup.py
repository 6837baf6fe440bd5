"""A template's form as page markup: `render_form(form, t, messages=...)` -> escaped HTML.

Everything the recipient reads is a text key through `t` (their language): the title, each
label, an enum choice's label (the key ``<label key>_<choice>`` where the template defines it,
else the choice itself), the consent text, the submit button (``form_send``) and the thanks
paragraph. `form_messages(t)` gives the error messages (``form_error_<code>``, English defaults
where a key is missing), written on the ``<form>`` as ``data-msg-<code>`` so the server's no-JS
answer and the page's script show the same words. The shape (ids, ``data-tailor-*``) is the one
``assets/interactive/forms.js`` and ``renderer/api/form_page.py`` read::

    <form method="post" action="../../../forms/{id}" data-tailor-form="{id}" data-msg-...>
      <p class="form-error-summary" data-tailor-error-summary role="alert" hidden></p>
      <div class="field" data-tailor-field="{name}"> label, control, <p class="field-error"> </div>
      <input type="hidden" name="_view" value="">  <button type="submit">
    </form>
    <p class="form-thanks" id="form-{id}-thanks" tabindex="-1">

The action is relative to the page (``/r/{token}/{template}/{campaign}/{recipient}/index.html``),
so it reaches ``POST /r/{token}/forms/{id}`` without the page knowing its token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import Markup, escape

from renderer.errors import RenderError
from renderer.template.models import Form, FormField

Text = Callable[[str], str]
MESSAGE_CODES = ("required", "too_long", "email", "choice", "date", "checked", "consent", "summary")
DEFAULT_MESSAGES = {
    "required": "Please fill in this field.",
    "too_long": "This answer is too long.",
    "email": "Please enter a valid email address.",
    "choice": "Please choose one of the options.",
    "date": "Please enter a valid date.",
    "checked": "Please tick this box.",
    "consent": "Please give your consent to send this form.",
    "summary": "Please check the fields marked below.",
}
DEFAULT_SEND = "Send"
EMAIL_MAX_LENGTH = 254


def optional_text(t: Text, key: str, default: str) -> str:
    """The snippet `key` in the recipient's language, or `default` when the template has none."""
    try:
        return t(key)
    except RenderError:
        return default


def form_messages(t: Text) -> dict[str, str]:
    """Error code (and ``summary``) -> the message in the recipient's language."""
    return {code: optional_text(t, f"form_error_{code}", DEFAULT_MESSAGES[code]) for code in MESSAGE_CODES}


# The markup is built with f-strings and `escape` (not `Markup.format`, ~5x slower): every value
# that is not a literal of this module goes through `escape`.


def _attrs(pairs: Mapping[str, str | None]) -> str:
    """`` name="value"`` for each pair (value escaped); a None value is a bare attribute."""
    return "".join(
        f" {name}" if value is None else f' {name}="{escape(value)}"' for name, value in pairs.items()
    )


def _control(form: Form, name: str, field: FormField, t: Text) -> str:
    control_id = f"{form.id}-{name}"
    attrs: dict[str, str | None] = {
        "id": control_id,
        "name": name,
        "aria-describedby": f"{control_id}-error",
    }
    if field.required:
        attrs.update({"required": None, "aria-required": "true"})
    if field.type == "enum":
        assert field.choices is not None
        labels = {choice: optional_text(t, f"{field.label}_{choice}", choice) for choice in field.choices}
        options = ['<option value=""></option>'] + [
            f'<option value="{escape(choice)}">{escape(label)}</option>' for choice, label in labels.items()
        ]
        return f"<select{_attrs({**attrs, 'autocomplete': 'off'})}>\n" + "\n".join(options) + "\n</select>"
    if field.type in ("bool", "consent"):
        check = {"type": "checkbox", **attrs, "value": "on"}
        if field.type == "consent":
            assert field.version is not None
            check["data-consent-version"] = field.version
        return f"<input{_attrs(check)}>"
    if field.type == "email":
        typed = {"type": "email", **attrs, "maxlength": str(EMAIL_MAX_LENGTH), "autocomplete": "email"}
    elif field.type == "date":
        typed = {"type": "date", **attrs, "autocomplete": "off"}
    else:
        typed = {"type": "text", **attrs, "maxlength": str(field.max_length), "autocomplete": "off"}
    return f"<input{_attrs(typed)}>"


def _field(form: Form, name: str, field: FormField, t: Text) -> str:
    control_id = escape(f"{form.id}-{name}")
    label = f'<label for="{control_id}">{escape(t(field.label))}</label>'
    control = _control(form, name, field, t)
    error = (
        f'<p class="field-error" id="{control_id}-error" data-tailor-error-for="{escape(name)}" hidden></p>'
    )
    checkbox = field.type in ("bool", "consent")
    inner = [control, label] if checkbox else [label, control]
    classes = "field field-check" if checkbox else "field"
    return (
        f'<div class="{classes}" data-tailor-field="{escape(name)}">\n'
        + "\n".join([*inner, error])
        + "\n</div>"
    )


def render_form(form: Form, t: Text, *, messages: Mapping[str, str]) -> Markup:
    """The form's title, the form itself (every field labelled in the recipient's language, the
    messages on the ``<form>``) and its thanks paragraph, in one ``<div id="form-{id}">`` (what a
    call to action opening the form links to); every text escaped."""
    form_id, send = escape(form.id), optional_text(t, "form_send", DEFAULT_SEND)
    head = {
        "class": "tailor-form",
        "method": "post",
        "action": f"../../../forms/{form.id}",
        "data-tailor-form": form.id,
        **{f"data-msg-{code}": messages[code] for code in MESSAGE_CODES},
        "aria-labelledby": f"form-{form.id}-title",
        "novalidate": None,
    }
    parts = [
        f'<div class="tailor-form-block" id="form-{form_id}">',
        f'<h2 class="form-title" id="form-{form_id}-title">{escape(t(form.title))}</h2>',
        f"<form{_attrs(head)}>",
        '<p class="form-error-summary" data-tailor-error-summary role="alert" hidden></p>',
        *(_field(form, name, field, t) for name, field in form.fields.items()),
        '<input type="hidden" name="_view" value="">',
        f'<button type="submit" class="form-submit">{escape(send)}</button>',
        "</form>",
        f'<p class="form-thanks" id="form-{form_id}-thanks" tabindex="-1">{escape(t(form.thanks))}</p>',
        "</div>",
    ]
    return Markup("\n".join(parts))


def form_function(forms: Mapping[str, Form], t: Text) -> Callable[[str], Markup]:
    """The page's ``form(form_id)``: a declared form's markup; RenderError naming an undeclared
    one."""
    messages: dict[str, str] = {}

    def form(form_id: str) -> Markup:
        if form_id not in forms:
            raise RenderError(f"form({form_id!r}) is not declared in interactions.forms")
        if not messages:  # worked out once per page, only for a page that shows a form
            messages.update(form_messages(t))
        return render_form(forms[form_id], t, messages=messages)

    return form
