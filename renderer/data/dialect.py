"""How a recipient file is written: its delimiter and text encoding (`SourceFormat`), and the
checks that tell a user, in one message, that a file is not what the defaults expect.

The defaults are a comma and UTF-8 (with or without BOM). `sniff_encoding` reads the first MiB
of the raw bytes: lines that UTF-8 cannot decode, while no line holds valid non-ASCII UTF-8,
mean a legacy single-byte encoding (a spreadsheet's "CSV" export on Windows is Windows-1252).
`guess_delimiter` looks at a header read as one column. Neither guesses silently: the caller
refuses the file with the option to set (``--delimiter``/``--encoding``, API form fields
``delimiter``/``encoding``). Messages name lines and characters, never a value.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 1 << 20
DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}
ALIASES = {"tab": "\t", "\\t": "\t"}
HINT = "(CLI --{option} {value}, API form field {option})"


@dataclass(frozen=True)
class SourceFormat:
    """A file's delimiter (CSV only) and encoding; None means the default (``,`` and UTF-8)."""

    delimiter: str | None = None
    encoding: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter is not None:
            object.__setattr__(self, "delimiter", ALIASES.get(self.delimiter, self.delimiter))
            if len(self.delimiter) != 1 or self.delimiter in '"\r\n' or self.delimiter.isalnum():
                raise ValueError("delimiter must be one character (not a letter, digit, quote or newline)")
        if self.encoding is not None:
            try:
                name = codecs.lookup(self.encoding).name
            except LookupError:
                raise ValueError(f"unknown encoding {self.encoding!r}") from None
            object.__setattr__(self, "encoding", name)

    @property
    def text_encoding(self) -> str:
        """The codec to read text with (UTF-8 skips a BOM)."""
        return "utf-8-sig" if self.encoding in (None, "utf-8") else str(self.encoding)

    @property
    def encoding_name(self) -> str:
        """The encoding as messages name it."""
        return "UTF-8" if self.encoding in (None, "utf-8") else str(self.encoding)

    def as_dict(self) -> dict[str, str]:
        """The options that differ from the defaults (stored with a campaign for its resume)."""
        found = {"delimiter": self.delimiter, "encoding": self.encoding}
        return {key: value for key, value in found.items() if value is not None}


def sniff_encoding(path: Path) -> str | None:
    """A message when the file's first MiB looks like a legacy encoding rather than UTF-8; None
    when it is UTF-8 (or mixed: a few broken rows are reported row by row)."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    lines = sample.split(b"\n")
    if len(sample) == SNIFF_BYTES:
        lines = lines[:-1]  # cut mid-line
    bad: list[int] = []
    for number, line in enumerate(lines, 1):
        try:
            if not line.decode("utf-8").isascii():
                return None  # real UTF-8 text here: broken lines are the rows' own problems
        except UnicodeDecodeError:
            bad.append(number)
    if len(bad) < 2:
        return None
    hint = HINT.format(option="encoding", value="cp1252")
    return (
        f"the file is not UTF-8: {len(bad)} of the first {len(lines)} lines (the first at line "
        f"{bad[0]}) hold bytes UTF-8 cannot decode; it looks like Windows-1252, so set the "
        f"encoding {hint}"
    )


def guess_delimiter(header: list[str]) -> str | None:
    """A message when a header read as one column holds another common delimiter; else None."""
    if len(header) != 1:
        return None
    counts = {mark: header[0].count(mark) for mark in DELIMITERS}
    mark, count = max(counts.items(), key=lambda item: item[1])
    if not count:
        return None
    name = DELIMITERS[mark]
    hint = HINT.format(option="delimiter", value=name)
    return (
        f"the header is one column holding {count} {name}: the file looks {name}-delimited, "
        f"so set the delimiter {hint}"
    )
