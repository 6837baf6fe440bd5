"""Streaming readers for recipient files (CSV, JSONL) that keep row numbers, and the rejects report.

Files are read incrementally and never loaded whole. CSV: UTF-8 with or without BOM (or the
`SourceFormat`'s encoding), comma-delimited (or its delimiter), CRLF or LF, quoted newlines; row
numbers are those a spreadsheet shows (the header is row 1). JSONL: one object per line; row
numbers are line numbers. A broken row becomes a `BadRow`, and reading goes on; a file that
looks written with another delimiter or encoding is refused whole, in one message (`dialect.py`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from renderer.data.dialect import SourceFormat, guess_delimiter, sniff_encoding
from renderer.errors import SourceError

MAX_FIELD_BYTES = 1 << 20
MAX_LINE_BYTES = 4 * MAX_FIELD_BYTES
_SURROGATES = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class RawRow:
    """A row as read from the file: column name -> value (CSV values are strings)."""

    number: int
    values: dict[str, Any]


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read; `reason` never contains the row's content."""

    number: int
    reason: str


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and counts the bytes handed out, for progress bars."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


class RecipientSource:
    """An open recipient file; iterate it for `RawRow`/`BadRow` items in file order."""

    def __init__(self, path: Path, source_format: SourceFormat | None = None) -> None:
        self.path = Path(path)
        self.format = source_format or SourceFormat()
        suffix = self.path.suffix.lower()
        if suffix not in (".csv", ".jsonl", ".ndjson"):
            raise SourceError("unsupported file type (use .csv or .jsonl)", file=str(self.path))
        self.kind = "csv" if suffix == ".csv" else "jsonl"
        try:
            self.total_bytes = self.path.stat().st_size
            self._counter = _CountingReader(self.path.open("rb"))
        except OSError as exc:
            raise SourceError(f"cannot open: {exc.strerror}", file=str(self.path)) from None
        self.columns: list[str] | None = None

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (read-ahead included), for progress."""
        return self._counter.bytes_read

    def __enter__(self) -> RecipientSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying file."""
        self._counter.close()

    def __iter__(self) -> Iterator[RawRow | BadRow]:
        return self._iter_csv() if self.kind == "csv" else self._iter_jsonl()

    def read_header(self) -> list[str]:
        """Read and check the CSV header (unique, non-empty column names); JSONL has none.
        SourceError (row 1) naming every problem at once when the file looks written with
        another delimiter or encoding than the ones set (`dialect.py`)."""
        problems: list[str] = []
        if self.columns is None and self.format.encoding is None:
            problems += filter(None, [sniff_encoding(self.path)])
        if self.kind != "csv":
            if problems:
                raise SourceError("; ".join(problems), file=str(self.path), row=1)
            return []
        if self.columns is None:
            header = self._first_row()
            if self.format.delimiter is None:
                problems += filter(None, [guess_delimiter(header)])
            if problems:
                raise SourceError("; ".join(problems), file=str(self.path), row=1)
            if any(not name or _SURROGATES.search(name) or "\x00" in name for name in header):
                message = f"the header has an empty or non-{self.format.encoding_name} column name"
                raise SourceError(message, file=str(self.path), row=1)
            duplicates = sorted({name for name in header if header.count(name) > 1})
            if duplicates:
                raise SourceError(f"duplicate columns: {', '.join(duplicates)}", file=str(self.path), row=1)
            self.columns = header
        return self.columns

    def _first_row(self) -> list[str]:
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, 1 << 16),
            encoding=self.format.text_encoding,
            errors="surrogateescape",
            newline="",
        )
        self._reader = csv.reader(self._text, strict=True, delimiter=self.format.delimiter or ",")
        try:
            header = next(self._reader)
        except StopIteration:
            raise SourceError("the file is empty (no header row)", file=str(self.path)) from None
        except csv.Error as exc:
            raise SourceError(f"unreadable header: {exc}", file=str(self.path), row=1) from None
        return [name.strip() for name in header]

    def _iter_csv(self) -> Iterator[RawRow | BadRow]:
        columns = self.read_header()
        width = len(columns)
        while True:
            number = self._reader.line_num + 1
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                reason = f"malformed CSV ({str(exc).split(':')[0]})"
                last = self._reader.line_num
                if last > number:  # an unbalanced quote swallowed the lines up to here
                    reason += f" spanning lines {number}-{last}; rows on those lines were not read"
                yield BadRow(number, reason)
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            bad = _bad_text(values, self.format.encoding_name)
            if bad:
                yield BadRow(number, bad)
            elif len(values) != width:
                yield BadRow(number, f"has {len(values)} values but the header has {width} columns")
            else:
                yield RawRow(number, dict(zip(columns, values, strict=True)))

    def _iter_jsonl(self) -> Iterator[RawRow | BadRow]:
        buffered = io.BufferedReader(self._counter, 1 << 16)
        number = 0
        while line := buffered.readline(MAX_LINE_BYTES):
            number += 1
            if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := buffered.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # skip the rest of an oversized line without holding it in memory
                yield BadRow(number, f"line is longer than {MAX_LINE_BYTES >> 20} MiB")
                continue
            row = self._jsonl_row(number, line)
            if row is not None:
                yield row

    def _jsonl_row(self, number: int, line: bytes) -> RawRow | BadRow | None:
        """One JSONL line as a row, a BadRow, or None for a blank line."""
        encoding = self.format.text_encoding
        try:
            text = line.decode(encoding if number == 1 or encoding != "utf-8-sig" else "utf-8")
        except UnicodeDecodeError:
            return BadRow(number, f"is not valid {self.format.encoding_name} text")
        if "\x00" in text:
            return BadRow(number, "contains a NUL byte")
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return BadRow(number, f"invalid JSON ({exc.msg} at column {exc.colno})")
        if not isinstance(value, dict):
            return BadRow(number, "is not a JSON object")
        return RawRow(number, value)


def _bad_text(values: list[str], encoding: str) -> str | None:
    for value in values:
        if "\x00" in value:
            return "contains a NUL byte"
        if _SURROGATES.search(value):
            return f"is not valid {encoding} text"
        if len(value) > MAX_FIELD_BYTES:
            return "has a value larger than 1 MiB"
    return None


csv.field_size_limit(MAX_FIELD_BYTES * 4)


REJECT_COLUMNS = ("row", "recipient_id", "field", "reason")


class RejectsWriter:
    """Writes ``rejects.csv``: one line per broken rule, with the row number and field."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(REJECT_COLUMNS)
        self.count = 0

    def write(self, row: int, field: str, reason: str, recipient_id: str = "") -> None:
        """Append one reject line; values starting with = + - @ are neutralised for spreadsheets."""
        self._writer.writerow([row, neutralise(recipient_id), field, neutralise(reason)])
        self.count += 1


def neutralise(cell: str) -> str:
    """Prefix a quote to cells a spreadsheet would run as a formula (CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
