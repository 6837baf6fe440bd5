"""A form's stored submits as rows, streamed as CSV or a JSON array a page at a time.

One row per submit: ``submission_id``, ``recipient_id``, ``submitted_at`` and each field of the
form in its declared order; a consent field is two columns, ``<name>.given`` and
``<name>.version`` (the version of the consent text agreed to). CSV cells a spreadsheet would
run as a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first) get a leading
apostrophe; JSON keeps every value exact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from renderer.data.sources import neutralise
from renderer.jobs.schema import FormSubmissionRecord
from renderer.template.models import Form

FORMATS = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}
ROWS_PER_CHUNK = 500


def columns(form: Form) -> list[str]:
    """The export's header for `form`."""
    fields: list[str] = []
    for name, field in form.fields.items():
        fields.extend([f"{name}.given", f"{name}.version"] if field.type == "consent" else [name])
    return ["submission_id", "recipient_id", "submitted_at", *fields]


def submission_row(form: Form, record: FormSubmissionRecord) -> dict[str, Any]:
    """One submit as `columns`' values (a field the submit lacks: None)."""
    row: dict[str, Any] = {
        "submission_id": record.id,
        "recipient_id": record.recipient_id,
        "submitted_at": record.submitted_at.isoformat(),
    }
    for name, field in form.fields.items():
        answer = record.answers.get(name)
        if field.type == "consent":
            consent = answer if isinstance(answer, dict) else {}
            row[f"{name}.given"] = consent.get("given")
            row[f"{name}.version"] = consent.get("version")
        else:
            row[name] = answer
    return row


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return neutralise(value) if isinstance(value, str) else value


def csv_chunks(form: Form, records: Iterable[FormSubmissionRecord]) -> Iterator[str]:
    """The export as CSV text, a header and then `ROWS_PER_CHUNK` rows per chunk."""
    header = columns(form)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for count, record in enumerate(records, 1):
        row = submission_row(form, record)
        writer.writerow([_cell(row[name]) for name in header])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(form: Form, records: Iterable[FormSubmissionRecord]) -> Iterator[str]:
    """The export as one JSON array of row objects, `ROWS_PER_CHUNK` rows per chunk."""
    lines: list[str] = []
    separator = "[\n"
    for record in records:
        lines.append(separator + json.dumps(submission_row(form, record), ensure_ascii=False))
        separator = ",\n"
        if len(lines) >= ROWS_PER_CHUNK:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines) + ("[]\n" if separator == "[\n" else "\n]\n")
