"""Pure: the text of a ``count-up`` animation part of the way through, from the final text alone.

The template formats the number for the recipient (``$1,234.56``, ``1.234,56 €``, ``۱٬۲۳۴``,
``₹12,34,567.00``); `count_text` finds that number in the string and writes a smaller value back
into the same skeleton: the same digit script, the same group and decimal separators at the same
places counted from the right (so Indian 2-digit groups stay), the same number of fraction digits,
no leading zeros and no group separator left without digits before it. Everything around the
number (currency symbols and words, bidi marks, spaces) is kept as it is.

A number is a run of decimal digits of one script (`unicodedata.decimal`) joined by single
separators (`SEPARATORS`), each with a digit on both sides. A text with several numbers counts the
one with the most digits (the first on a tie).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Characters that join digit groups in formatted numbers (Latin, Swiss, French, Arabic).
SEPARATORS = frozenset(",.'\u2019\u00a0\u202f\u2009\u066b\u066c")
# Separators that are only ever groupings (never a decimal point).
_GROUP_ONLY = frozenset("'\u2019\u00a0\u202f\u2009\u066c")
_DECIMAL_ONLY = frozenset("\u066b")


@dataclass(frozen=True)
class NumberSpan:
    """Where a number sits in a text and how it is written: `start`/`end` index the text,
    `groups` are the integer part's digit groups from the left with `group_marks` between them,
    `fraction` the digits after `decimal_mark` ("" for none), `zero` the script's digit zero."""

    start: int
    end: int
    groups: tuple[str, ...]
    group_marks: tuple[str, ...]
    decimal_mark: str
    fraction: str
    zero: int

    @property
    def minor_units(self) -> int:
        """The number in units of its last digit (1234.56 -> 123456)."""
        digits = "".join(self.groups) + self.fraction
        return int("".join(str(unicodedata.decimal(c)) for c in digits))


def _digit(char: str) -> int | None:
    return unicodedata.decimal(char, None)


def _joins(text: str, index: int) -> bool:
    """Whether `text[index]` is a separator with a digit after it (one before is given)."""
    return text[index] in SEPARATORS and index + 1 < len(text) and _digit(text[index + 1]) is not None


def _runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every run of digits joined by single separators between digits."""
    runs, index = [], 0
    while index < len(text):
        if _digit(text[index]) is None:
            index += 1
            continue
        start = index
        while index < len(text) and (_digit(text[index]) is not None or _joins(text, index)):
            index += 1
        runs.append((start, index))
    return runs


def _split(run: str) -> tuple[list[str], list[str]]:
    """The run's digit groups and the separators between them."""
    groups, marks, current = [], [], ""
    for char in run:
        if _digit(char) is None:
            groups.append(current)
            marks.append(char)
            current = ""
        else:
            current += char
    return [*groups, current], marks


def _has_fraction(groups: list[str], marks: list[str], decimal: str | None) -> bool:
    """Whether the last separator is the decimal point (`decimal`: the locale's, when known)."""
    if not marks or marks[-1] in _GROUP_ONLY:
        return False
    last = marks[-1]
    if last in _DECIMAL_ONLY or (len(marks) > 1 and last != marks[-2]):
        return True
    if len(marks) > 1:
        return False  # 1,234,567: all the same separator
    if decimal is not None:
        return last == decimal
    return len(groups[-1]) != 3  # 137.88 is a decimal; 1,234 most likely a grouping


def find_number(text: str, decimal: str | None = None) -> NumberSpan | None:
    """The number `count_text` counts in `text` (the run with the most digits, the first on a
    tie), or None when there is none; `decimal` is the locale's decimal separator, which settles
    ``1,234`` (a thousand and some in en, one and a bit in de) when it is the only separator."""
    best: NumberSpan | None = None
    for start, end in _runs(text):
        run = text[start:end]
        if len({_zero(c) for c in run if _digit(c) is not None}) > 1:
            continue  # digits of two scripts: not one number
        groups, marks = _split(run)
        fraction, decimal_mark = "", ""
        if _has_fraction(groups, marks, decimal):
            fraction, decimal_mark = groups.pop(), marks.pop()
        span = NumberSpan(start, end, tuple(groups), tuple(marks), decimal_mark, fraction, _zero(text[start]))
        if best is None or _count(span) > _count(best):
            best = span
    return best


def _zero(char: str) -> int:
    return ord(char) - unicodedata.decimal(char)


def _count(span: NumberSpan) -> int:
    return sum(map(len, span.groups)) + len(span.fraction)


def _write(span: NumberSpan, units: int) -> str:
    """`units` (in the span's minor units) written in the span's script, grouping and marks."""
    ascii_digits = str(units).rjust(len(span.fraction) + 1, "0")
    whole = ascii_digits[: len(ascii_digits) - len(span.fraction)] if span.fraction else ascii_digits
    fraction = ascii_digits[len(whole) :]
    sizes = [len(group) for group in span.groups]
    parts: list[str] = []
    rest = whole
    for position in range(len(sizes) - 1, -1, -1):  # group from the right, as the final text does
        size = len(rest) if position == 0 else sizes[position]
        parts.insert(0, rest[-size:])
        rest = rest[:-size]
        if not rest:
            break
        parts.insert(0, span.group_marks[position - 1])
    text = "".join(parts) + (span.decimal_mark + fraction if span.fraction else "")
    return "".join(chr(span.zero + int(c)) if c.isdigit() else c for c in text)


def count_text(final: str, progress: float, decimal: str | None = None) -> str:
    """`final` with its number (`find_number`) at `progress` (0..1) of its value, rounded to
    its own last digit: ``count_text("$1,234.56", 0.5) == "$617.28"``; `final` itself at 1 or
    when it holds no number."""
    span = find_number(final, decimal)
    if span is None or progress >= 1:
        return final
    units = round(span.minor_units * max(0.0, progress))
    return final[: span.start] + _write(span, units) + final[span.end :]
