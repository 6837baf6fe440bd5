"""The error tree of Tailor: every error names *what* failed and *where*, never a personal value.

TailorError
├── TemplateError            a template folder is broken (names the file and, when known, the line)
│   └── AssetError           an asset is missing, outside the template, or unsafe to load
├── DataError                recipient data does not satisfy the contract
│   ├── RowError             one recipient row failed (names the row number and the field issues)
│   └── SourceError          a data file cannot be read as CSV/JSONL (names the file and row)
├── RenderError              an output could not be produced (names template, output and recipient row)
│   └── RenderTimeout        a render exceeded its time limit
├── EventError               a batch of engagement events is refused (names event index and field)
├── StorageError             the storage backend refused a key or an operation
└── ServiceUnavailable       the broker or job store cannot be reached right now (retry later)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TailorError(Exception):
    """Base of every error Tailor raises on purpose."""


class TemplateError(TailorError):
    """A template (manifest, entry file, expression or sample) is invalid.

    The message always starts with the file (and line when known) so an editor can jump to it.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        self.detail = message
        where = file or "<template>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[type[TemplateError], tuple[str, str | None, int | None]]:
        # pickled intact from a render process (file and line kept, the message not prefixed twice)
        return type(self), (self.detail, self.file, self.line)


def template_message(exc: TemplateError, templates_dir: Path | None = None) -> str:
    """A template fault's message for clients: the file relative to the templates folder and the
    line (``bill-summary/pdf/bill.html:18: ...``); an absolute server path is never shown."""
    if exc.file is None:
        return exc.detail
    file = Path(exc.file)
    if file.is_absolute():
        base = templates_dir.resolve() if templates_dir else None
        if base is None or base not in file.parents:
            return exc.detail
        return str(TemplateError(exc.detail, file.relative_to(base).as_posix(), exc.line))
    return str(exc)


class AssetError(TemplateError):
    """An asset is missing, outside the allowed folders, too large, or of a refused kind."""


class DataError(TailorError):
    """Recipient data does not satisfy a template's data contract."""


@dataclass(frozen=True)
class FieldIssue:
    """One broken rule on one field: `field` is a dotted path such as ``line_items.2.amount``."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class RowError(DataError):
    """A recipient row failed validation; carries every field issue, never the offending values."""

    def __init__(self, issues: list[FieldIssue], *, row: int | None = None) -> None:
        self.issues = issues
        self.row = row
        prefix = f"row {row}: " if row is not None else ""
        super().__init__(prefix + "; ".join(str(issue) for issue in issues))


class SourceError(DataError):
    """A data file cannot be read (encoding, syntax, missing header); names the file and row."""

    def __init__(self, message: str, *, file: str, row: int | None = None) -> None:
        self.file = file
        self.row = row
        where = f"{file}, row {row}" if row is not None else file
        super().__init__(f"{where}: {message}")


class RenderError(TailorError):
    """An output failed to render for one recipient."""


class RenderTimeout(RenderError):
    """A render ran past its time limit and was stopped."""


class EventError(TailorError):
    """A batch of engagement events (``POST /events``) breaks the event schema or names what the
    template does not declare; carries every issue (``events[3].target``), never a value."""

    def __init__(self, issues: list[FieldIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


class StorageError(TailorError):
    """A storage key was refused or the backend failed."""


class ServiceUnavailable(TailorError):
    """A backing service (Celery broker, job store) cannot be reached; the API answers 503 with
    Retry-After. The message names the service, never credentials from its URL."""

    def __init__(self, message: str, *, service: str, retry_after_s: int = 5) -> None:
        self.service = service
        self.retry_after_s = retry_after_s
        super().__init__(message)
