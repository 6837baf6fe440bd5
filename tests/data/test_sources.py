"""Streaming CSV/JSONL readers: BOM, CRLF, quoted newlines, and broken rows that do not stop reading."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from renderer.data.sources import BadRow, RawRow, RecipientSource, RejectsWriter, neutralise
from renderer.errors import SourceError


def _read(path: Path) -> list[RawRow | BadRow]:
    with RecipientSource(path) as source:
        return list(source)


def test_csv_with_bom_crlf_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b'\xef\xbb\xbfid,name,note\r\nA,"Ann",plain\r\nB,"Bob ""B""","two\r\nlines"\r\nC,\xc3\x87a\xc4\x9flar,x\r\n'
    )
    rows = _read(path)
    assert [type(r) for r in rows] == [RawRow, RawRow, RawRow]
    assert [r.number for r in rows] == [2, 3, 5]  # a row's number is the line it starts on
    assert rows[1].values == {"id": "B", "name": 'Bob "B"', "note": "two\r\nlines"}
    assert rows[2].values["name"] == "Çağlar"


def test_csv_broken_rows_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"id,name\n"
        b"A,Ann\n"
        b"B,Bo\x00b\n"  # NUL byte
        b"C,\xff\xfeoops\n"  # not UTF-8
        b"D,Dan,extra\n"  # too many values
        b"E\n"  # too few values
        b"\n"  # blank lines are skipped
        b"F,Fay\n"
        b'G,"unterminated\n'
    )
    rows = _read(path)
    summary = [(r.number, r.reason if isinstance(r, BadRow) else r.values["id"]) for r in rows]
    assert summary[0] == (2, "A")
    assert summary[1] == (3, "contains a NUL byte")
    assert summary[2] == (4, "is not valid UTF-8 text")
    assert summary[3] == (5, "has 3 values but the header has 2 columns")
    assert summary[4] == (6, "has 1 values but the header has 2 columns")
    assert summary[5] == (8, "F")
    assert len(summary) == 7 and isinstance(rows[6], BadRow)
    for row in rows:
        if isinstance(row, BadRow):
            assert "oops" not in row.reason and "Dan" not in row.reason


def test_csv_header_problems_stop_early(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match=r"empty\.csv: the file is empty"):
        _read(empty)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,name,id\n1,a,1\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"dup.csv, row 1: duplicate columns: id"):
        _read(dup)


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unsupported file type"):
        RecipientSource(tmp_path / "x.xlsx")
    with pytest.raises(SourceError, match="cannot open"):
        RecipientSource(tmp_path / "missing.csv")


def test_jsonl_rows_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id": "A"}\n\n[1, 2]\n{"id": \n\xff\xfe\n{"id": "B", "items": [{"x": 1}]}\n')
    rows = _read(path)
    assert [(r.number, type(r).__name__) for r in rows] == [
        (1, "RawRow"),
        (3, "BadRow"),
        (4, "BadRow"),
        (5, "BadRow"),
        (6, "RawRow"),
    ]
    assert rows[1].reason == "is not a JSON object"  # type: ignore[union-attr]
    assert rows[2].reason.startswith("invalid JSON")  # type: ignore[union-attr]
    assert rows[3].reason == "is not valid UTF-8 text"  # type: ignore[union-attr]


def test_progress_counts_bytes(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("id,name\n" + "".join(f"{i},name{i}\n" for i in range(50_000)), encoding="utf-8")
    with RecipientSource(path) as source:
        seen = 0
        for _ in source:
            seen += 1
            if seen == 10:
                assert 0 < source.bytes_read < source.total_bytes  # streamed, not read whole
        assert source.bytes_read == source.total_bytes
    assert seen == 50_000


def test_rejects_writer_neutralises_formulas() -> None:
    buffer = io.StringIO()
    writer = RejectsWriter(buffer)
    writer.write(3, "name", "is required", "=HYPERLINK(1)")
    assert buffer.getvalue().splitlines() == [
        "row,recipient_id,field,reason",
        "3,'=HYPERLINK(1),name,is required",
    ]
    assert neutralise("@SUM") == "'@SUM" and neutralise("ok") == "ok"


def test_an_unbalanced_quote_reports_the_lines_it_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('id,items\nA,"[1]"\nB,"oops\nC,"[2]"\nD,"[3]"\n', encoding="utf-8")
    rows = _read(path)
    assert isinstance(rows[1], BadRow)
    assert rows[1].number == 3 and "spanning lines 3-4" in rows[1].reason
    assert [r.values["id"] for r in rows if isinstance(r, RawRow)] == ["A", "D"]


def test_an_oversized_jsonl_line_is_skipped_without_loading_it(tmp_path: Path) -> None:
    from renderer.data.sources import MAX_LINE_BYTES

    path = tmp_path / "r.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"id": "A"}\n{"id": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}\n{"id": "B"}\n')
    rows = _read(path)
    assert [(r.number, type(r).__name__) for r in rows] == [(1, "RawRow"), (2, "BadRow"), (3, "RawRow")]
