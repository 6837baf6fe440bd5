"""A template's data contract turned into a validating model, with per-field errors.

`build_validator(contract)` compiles the contract once; `RecipientValidator.validate(row)`
returns a plain dict (Decimal, date, str, bool, lists of dicts) or raises `RowError` whose
issues name each field and the rule it broke, never the value that broke it.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)

from renderer.errors import FieldIssue, RowError
from renderer.template.locale import parse_locale
from renderer.template.models import DEFAULT_MAX_LENGTH, Contract, FieldSpec, FieldType

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[^@\s<>\"']{{1,64}}@{_LABEL}(?:\.{_LABEL})+$"


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def _check_locale(value: str) -> str:
    try:
        parsed = parse_locale(value)
    except ValueError:
        raise ValueError("is not a known locale (use a tag such as de-DE)") from None
    return str(parsed)


def _check_currency(value: str) -> str:
    code = value.strip().upper()
    if code not in _currencies():
        raise ValueError("is not an ISO 4217 currency code")
    return code


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _check_url(value: str) -> str:
    try:
        return str(_HTTP_URL.validate_python(value))
    except ValidationError:
        raise ValueError("is not a valid http(s) URL") from None


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def _annotation(spec: FieldSpec, path: str) -> Any:
    kind = spec.type
    if kind in (FieldType.STRING, FieldType.EMAIL):
        pattern = EMAIL_PATTERN if kind is FieldType.EMAIL else spec.pattern
        max_length = spec.max_length or (254 if kind is FieldType.EMAIL else DEFAULT_MAX_LENGTH)
        return Annotated[
            str,
            StringConstraints(min_length=spec.min_length, max_length=max_length, pattern=pattern),
        ]
    if kind is FieldType.URL:
        return Annotated[str, StringConstraints(max_length=2048), AfterValidator(_check_url)]
    if kind is FieldType.INTEGER:
        return Annotated[int, Field(ge=spec.minimum, le=spec.maximum)]
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        return Annotated[
            Decimal,
            Field(
                ge=spec.minimum,
                le=spec.maximum,
                max_digits=18,
                decimal_places=6,
                allow_inf_nan=False,
            ),
        ]
    if kind is FieldType.DATE:
        return dt.date
    if kind is FieldType.BOOL:
        return bool
    if kind is FieldType.LOCALE:
        return Annotated[str, AfterValidator(_check_locale)]
    if kind is FieldType.CURRENCY:
        return Annotated[str, AfterValidator(_check_currency)]
    if kind is FieldType.ENUM:
        assert spec.choices is not None
        return Literal[tuple(spec.choices)]
    assert spec.items is not None
    item_model = _model(spec.items, path)
    return Annotated[list[item_model], Field(min_length=spec.min_items, max_length=spec.max_items)]  # type: ignore[valid-type]


def _model(fields: dict[str, FieldSpec], path: str) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for name, spec in fields.items():
        annotation = _annotation(spec, f"{path}.{name}")
        if spec.required:
            definitions[name] = (annotation, ...)
        else:
            definitions[name] = (annotation | None, spec.default)
    return create_model(f"Row_{path}".replace(".", "_"), __base__=_Row, **definitions)


_REASONS = {
    "missing": "is required",
    "string_pattern_mismatch": "does not match the required pattern",
    "literal_error": "should be one of the allowed choices",
}


def _reason(error: Any, spec: FieldSpec | None) -> str:
    kind = error["type"]
    spec_type = spec.type if spec else None
    if kind == "string_too_long" and spec_type is FieldType.STRING and spec and spec.max_length is None:
        return (
            f"is longer than {DEFAULT_MAX_LENGTH:,} characters, the limit of a string field without "
            "max_length (set max_length in the contract to allow more)"
        )
    if kind == "string_pattern_mismatch" and spec_type is FieldType.EMAIL:
        return "is not a valid email address"
    if kind == "literal_error":
        return f"should be one of: {error['ctx']['expected']}"
    if kind in _REASONS:
        return _REASONS[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    return message.replace("Input should be", "should be")


def _spec_at(fields: dict[str, FieldSpec], loc: tuple[Any, ...]) -> FieldSpec | None:
    spec: FieldSpec | None = None
    current: dict[str, FieldSpec] | None = fields
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None or part not in current:
            return spec
        spec = current[part]
        current = spec.items
    return spec


def _blank_to_missing(row: dict[str, Any], fields: dict[str, FieldSpec]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        spec = fields.get(key)
        if spec is not None and spec.type is FieldType.LIST and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = _NotJson()
        cleaned[key] = value
    return cleaned


class _NotJson:
    """Marks a list cell that is not JSON, so the error says so instead of 'should be a list'."""


class RecipientValidator:
    """Validates rows against one contract; build once per template, reuse for every row."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._model = _model(contract.fields, "recipient")

    def validate(self, row: dict[str, Any], *, row_number: int | None = None) -> dict[str, Any]:
        """Return the typed recipient dict, or raise RowError naming every broken field."""
        cleaned = _blank_to_missing(row, self.contract.fields)
        not_json = [k for k, v in cleaned.items() if isinstance(v, _NotJson)]
        if not_json:
            issues = [FieldIssue(k, "is not a valid JSON list") for k in not_json]
            raise RowError(issues, row=row_number)
        try:
            return self._model.model_validate(cleaned).model_dump()
        except ValidationError as exc:
            issues = []
            for error in exc.errors(include_input=False, include_url=False):
                loc = tuple(error["loc"])
                spec = _spec_at(self.contract.fields, loc)
                field = ".".join(str(part) for part in loc) or "(row)"
                issues.append(FieldIssue(field, _reason(error, spec)))
            raise RowError(issues, row=row_number) from None

    def json_schema(self) -> dict[str, Any]:
        """The contract as JSON Schema (for the API and editors)."""
        return self._model.model_json_schema()


def recipient_id_of(recipient: dict[str, Any], contract: Contract) -> str:
    """The recipient id as text (integers are rendered in decimal)."""
    return str(recipient[contract.recipient_id])
