"""Logging for every process (CLI, API, pool and Celery workers): the stdlib `logging`, plain text
or one JSON object per line (``TAILOR_LOG_FORMAT=json``), with the request, campaign or job it is
about.

The context travels in `contextvars` (`bind`): the API binds ``request_id`` per request, workers
bind ``campaign_id`` per chunk and ``job_id`` per render job; a `logging.Filter` copies them
onto every record. Why no library (structlog, python-json-logger): one small formatter covers
it, and third-party loggers (uvicorn, Celery) go through the same root handler unchanged.

No personal values: Tailor's own messages name ids, fields and error types, never values; the
JSON formatter writes an exception as its type only (``exc_type``), never its message or
traceback, which may quote a recipient's data.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

CONTEXT_KEYS = ("request_id", "campaign_id", "job_id")
_CONTEXT: dict[str, contextvars.ContextVar[str | None]] = {
    key: contextvars.ContextVar(f"tailor_{key}", default=None) for key in CONTEXT_KEYS
}
_HANDLER_NAME = "tailor"
# Libraries whose INFO lines are their own progress, not the operator's: every job store open
# would log its migration context, every PDF WeasyPrint's seven layout steps (errors still pass,
# and document.py reads WeasyPrint's image errors from its logger).
QUIET = ("alembic", "weasyprint", "fontTools")


@contextmanager
def bind(**values: str | None) -> Iterator[None]:
    """Attach ``request_id``/``campaign_id``/``job_id`` to every record logged in this block
    (this thread or task only); the previous values come back afterwards."""
    tokens = [(_CONTEXT[key], _CONTEXT[key].set(value)) for key, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current(key: str) -> str | None:
    """The bound value of a context key (None when unbound)."""
    return _CONTEXT[key].get()


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (as attributes named like the keys)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: it only adds attributes."""
        for key, var in _CONTEXT.items():
            if getattr(record, key, None) is None:
                setattr(record, key, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the bound context
    keys that are set, and ``exc_type`` for an exception (its type only)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [context] message``, for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of text (an exception as its type only, like JSON)."""
        context = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if getattr(record, k, None))
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        where = f"{record.name} [{context}]" if context else record.name
        text = f"{when} {record.levelname:7} {where} {record.getMessage()}"
        if record.exc_info and record.exc_info[0] is not None:
            text += f" ({record.exc_info[0].__name__})"
        return text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner swaps it; a
    stream captured at configuration time may be closed by then)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure_logging(log_format: str = "text", level: str = "INFO") -> logging.Handler:
    """Send every logger's records to stderr through one root handler in `log_format` (``text``
    or ``json``), with the bound context; calling it again replaces that handler (idempotent)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler
