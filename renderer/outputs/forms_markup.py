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

from markupsafe import Markup

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


def _attrs(pairs: Mapping[str, str | None]) -> Markup:
    """`` name="value"`` for each pair (value escaped); a None value is a bare attribute."""
    return Markup("").join(
        Markup(" {}").format(name) if value is None else Markup(' {}="{}"').format(name, value)
        for name, value in pairs.items()
    )


def _control(form: Form, name: str, field: FormField, t: Text) -> Markup:
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
        options = [Markup('<option value=""></option>')] + [
            Markup('<option value="{}">{}</option>').format(
                choice, optional_text(t, f"{field.label}_{choice}", choice)
            )
            for choice in field.choices
        ]
        return Markup("<select{}>\n{}\n</select>").format(
            _attrs({**attrs, "autocomplete": "off"}), Markup("\n").join(options)
        )
    if field.type in ("bool", "consent"):
        check = {"type": "checkbox", **attrs, "value": "on"}
        if field.type == "consent":
            assert field.version is not None
            check["data-consent-version"] = field.version
        return Markup("<input{}>").format(_attrs(check))
    if field.type == "email":
        typed = {"type": "email", **attrs, "maxlength": str(EMAIL_MAX_LENGTH), "autocomplete": "email"}
    elif field.type == "date":
        typed = {"type": "date", **attrs, "autocomplete": "off"}
    else:
        typed = {"type": "text", **attrs, "maxlength": str(field.max_length), "autocomplete": "off"}
    return Markup("<input{}>").format(_attrs(typed))


def _field(form: Form, name: str, field: FormField, t: Text) -> Markup:
    control_id = f"{form.id}-{name}"
    label = Markup('<label for="{}">{}</label>').format(control_id, t(field.label))
    control = _control(form, name, field, t)
    error = Markup('<p class="field-error" id="{}-error" data-tailor-error-for="{}" hidden></p>').format(
        control_id, name
    )
    checkbox = field.type in ("bool", "consent")
    inner = [control, label] if checkbox else [label, control]
    return Markup('<div class="{}" data-tailor-field="{}">\n{}\n</div>').format(
        "field field-check" if checkbox else "field", name, Markup("\n").join([*inner, error])
    )


def render_form(form: Form, t: Text, *, messages: Mapping[str, str]) -> Markup:
    """The form's title, the form itself (every field labelled in the recipient's language, the
    messages on the ``<form>``) and its thanks paragraph, in one ``<div id="form-{id}">`` (what a
    call to action opening the form links to); every text escaped."""
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
        Markup('<div class="tailor-form-block" id="form-{}">').format(form.id),
        Markup('<h2 class="form-title" id="form-{}-title">{}</h2>').format(form.id, t(form.title)),
        Markup("<form{}>").format(_attrs(head)),
        Markup('<p class="form-error-summary" data-tailor-error-summary role="alert" hidden></p>'),
        *(_field(form, name, field, t) for name, field in form.fields.items()),
        Markup('<input type="hidden" name="_view" value="">'),
        Markup('<button type="submit" class="form-submit">{}</button>').format(
            optional_text(t, "form_send", DEFAULT_SEND)
        ),
        Markup("</form>"),
        Markup('<p class="form-thanks" id="form-{}-thanks" tabindex="-1">{}</p>').format(
            form.id, t(form.thanks)
        ),
        Markup("</div>"),
    ]
    return Markup("\n").join(parts)


def form_function(forms: Mapping[str, Form], t: Text) -> Callable[[str], Markup]:
    """The page's ``form(form_id)``: a declared form's markup; RenderError naming an undeclared
    one."""
    messages = form_messages(t)

    def form(form_id: str) -> Markup:
        if form_id not in forms:
            raise RenderError(f"form({form_id!r}) is not declared in interactions.forms")
        return render_form(forms[form_id], t, messages=messages)

    return form
