"""Pure: a template's data contract -> JSON Schema (draft 2020-12) of one recipient.

Types, required fields, defaults, enums, patterns, lengths and bounds map to standard keywords;
Tailor's own facts use extension keywords: ``x-tailor-type`` (the contract type, e.g. ``money``),
``x-personal`` (the field holds personal data) and, at the top, ``x-recipient-id``. Numbers that
must keep their precision (decimal, money) accept a JSON number or a decimal string; list fields
in a CSV file are JSON-encoded cells.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from renderer.template.models import Contract, FieldSpec, FieldType

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"

_BASE: dict[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.EMAIL: {"type": "string", "format": "email", "maxLength": 254},
    FieldType.URL: {"type": "string", "format": "uri", "maxLength": 2048, "pattern": "^https?://"},
    FieldType.INTEGER: {"type": "integer"},
    FieldType.DECIMAL: {"type": ["number", "string"], "pattern": DECIMAL_PATTERN},
    FieldType.MONEY: {"type": ["number", "string"], "pattern": DECIMAL_PATTERN},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.BOOL: {"type": "boolean"},
    FieldType.LOCALE: {"type": "string", "examples": ["en-US", "de-DE", "fa-IR"]},
    FieldType.CURRENCY: {"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["EUR", "USD"]},
    FieldType.ENUM: {"type": "string"},
    FieldType.LIST: {"type": "array"},
}


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON Schema of one field."""
    schema: dict[str, Any] = {**_BASE[spec.type], "x-tailor-type": spec.type.value}
    if spec.description:
        schema["description"] = spec.description
    if spec.max_length is not None:
        schema["maxLength"] = spec.max_length
    if spec.min_length is not None:
        schema["minLength"] = spec.min_length
    if spec.pattern is not None:
        schema["pattern"] = spec.pattern
    if spec.minimum is not None:
        schema["minimum"] = _number(spec.minimum)
    if spec.maximum is not None:
        schema["maximum"] = _number(spec.maximum)
    if spec.choices is not None:
        schema["enum"] = list(spec.choices)
    if spec.items is not None:
        schema["items"] = object_schema(spec.items)
    if spec.min_items is not None:
        schema["minItems"] = spec.min_items
    if spec.max_items is not None:
        schema["maxItems"] = spec.max_items
    if spec.default is not None:
        schema["default"] = _json_value(spec.default)
    if spec.personal:
        schema["x-personal"] = True
    return schema


def object_schema(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """An object whose properties are `fields`; unknown properties are allowed (and ignored)."""
    return {
        "type": "object",
        "properties": {name: field_schema(spec) for name, spec in fields.items()},
        "required": [name for name, spec in fields.items() if spec.required],
        "additionalProperties": True,
    }


def contract_schema(contract: Contract, title: str) -> dict[str, Any]:
    """The whole contract as a JSON Schema document titled `title`."""
    schema = {"$schema": DIALECT, "title": title, **object_schema(contract.fields)}
    schema["x-recipient-id"] = contract.recipient_id
    if contract.locale_field:
        schema["x-locale-field"] = contract.locale_field
    return schema
