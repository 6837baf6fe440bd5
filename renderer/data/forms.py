"""A form's declared fields turned into a validating model: what a recipient submits, checked on
the server before anything is stored.

`FormValidator(form).validate(values)` takes what a browser posts (every value a string; an
unchecked checkbox absent) or a JSON body, and returns the typed answers: ``str``, ``date``,
``bool``, and for a ``consent`` field ``{"given": bool, "version": "<consent text version>"}``
so a stored answer always says which wording was agreed to. A problem raises `RowError` whose
issues (`FormIssue`) name each field, the rule it broke in words and as one of `ERROR_CODES`
(what the page shows a localized message for), never the value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError, create_model

from renderer.data.contract import EMAIL_PATTERN
from renderer.errors import FieldIssue, RowError
from renderer.template.models import Form, FormField

ErrorCode = Literal["required", "too_long", "email", "choice", "date", "checked", "consent"]
ERROR_CODES: tuple[ErrorCode, ...] = get_args(ErrorCode)
_CHECKED = {"on", "true", "1", "yes"}
# a value of the wrong shape (a JSON list for a string...) reads as the rule of its field's type
_TYPE_CODE: dict[str, ErrorCode] = {
    "string": "required",
    "email": "email",
    "enum": "choice",
    "date": "date",
    "bool": "checked",
    "consent": "consent",
}


@dataclass(frozen=True)
class FormIssue(FieldIssue):
    """One wrong field of a submit: `reason` in words, `code` (one of `ERROR_CODES`) for the page's
    localized message."""

    code: ErrorCode = "required"


_UNCHECKED = {"off", "false", "0", "no", ""}


def _checkbox(value: Any) -> Any:
    """A checkbox as a browser posts it (``on`` when ticked, nothing when not) or a JSON bool."""
    if isinstance(value, str):
        if value.strip().lower() in _CHECKED:
            return True
        if value.strip().lower() in _UNCHECKED:
            return False
    return value


class _Answers(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _annotation(field: FormField) -> Any:
    if field.type == "string":
        return Annotated[str, StringConstraints(max_length=field.max_length)]
    if field.type == "email":
        return Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
    if field.type == "enum":
        assert field.choices is not None
        return Literal[tuple(field.choices)]
    if field.type == "date":
        return dt.date
    return Annotated[bool, BeforeValidator(_checkbox)]  # bool, consent


def _code(error: Any, field: FormField | None) -> ErrorCode:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "string_too_long":
        return "too_long"
    if kind == "string_pattern_mismatch":
        return "email"
    if kind == "literal_error":
        return "choice"
    if kind.startswith("date"):
        return "date"
    return _TYPE_CODE[field.type] if field is not None else "required"


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "string_too_long":
        return f"is longer than {error['ctx']['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "is not a valid email address"
    if kind == "literal_error":
        return f"should be one of: {error['ctx']['expected']}"
    if kind.startswith("date"):
        return "is not a valid date (YYYY-MM-DD)"
    if kind.startswith("bool"):
        return "should be checked or not"
    return str(error["msg"]).replace("Input should be", "should be")


class FormValidator:
    """Validates submissions of one form; build once per template, reuse for every submit."""

    def __init__(self, form: Form) -> None:
        self.form = form
        definitions: dict[str, Any] = {}
        for name, field in form.fields.items():
            checkbox = field.type in ("bool", "consent")
            # an unticked checkbox is posted as nothing: False, never "missing"
            default = False if checkbox else (... if field.required else None)
            annotation = _annotation(field)
            definitions[name] = (annotation if checkbox or field.required else annotation | None, default)
        self._model = create_model(f"Form_{form.id}".replace("-", "_"), __base__=_Answers, **definitions)

    def validate(self, values: dict[str, Any]) -> dict[str, Any]:
        """The typed answers, or RowError naming every field that is wrong (never its value)."""
        cleaned = {
            name: value
            for name, value in values.items()
            if name in self.form.fields and not (isinstance(value, str) and not value.strip())
        }
        issues = self._unticked(cleaned)
        try:
            answers = self._model.model_validate(cleaned).model_dump()
        except ValidationError as exc:
            for error in exc.errors(include_input=False, include_url=False):
                name = str(error["loc"][0]) if error["loc"] else "(form)"
                code = _code(error, self.form.fields.get(name))
                issues.append(FormIssue(name, _reason(error), code))
            raise RowError(sorted(issues, key=self._order)) from None
        if issues:
            raise RowError(issues)
        for name, field in self.form.fields.items():
            if field.type == "consent":
                answers[name] = {"given": answers[name], "version": field.version}
        return answers

    def _unticked(self, cleaned: dict[str, Any]) -> list[FieldIssue]:
        """Required checkboxes left unticked (a required consent must be given)."""
        return [
            FormIssue(name, "must be given to send this form", "consent")
            if field.type == "consent"
            else FormIssue(name, "must be checked", "checked")
            for name, field in self.form.fields.items()
            if field.type in ("bool", "consent")
            and field.required
            and _checkbox(cleaned.get(name)) is not True
        ]

    def _order(self, issue: FieldIssue) -> int:
        names = list(self.form.fields)
        return names.index(issue.field) if issue.field in names else len(names)


def issue_codes(error: RowError) -> dict[str, ErrorCode]:
    """Field name -> the code of its first issue, in the form's field order (a field may break
    two rules at once; the page shows one message per field)."""
    codes: dict[str, ErrorCode] = {}
    for issue in error.issues:
        code = issue.code if isinstance(issue, FormIssue) else "required"
        codes.setdefault(issue.field, code)
    return codes


def stored_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """`validate`'s answers as JSON values (a date as ``YYYY-MM-DD``), as they are stored."""
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value for name, value in answers.items()
    }
