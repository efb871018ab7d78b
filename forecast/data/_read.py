"""Read a runs CSV into raw columns: the parsing half of :mod:`forecast.data.runs`.

This module turns a CSV path or an open file into a :class:`pandas.DataFrame` of raw
columns (numbers parsed by pandas, label columns kept as text) and keeps the bookkeeping
that lets :mod:`forecast.data.runs` name every problem by the line an editor shows: blank lines
are dropped but remembered, rows too long for the header and repeated header names are
recorded as problems instead of failing, and parse errors become one
:class:`~forecast.errors.DataError` naming the line.

Why a path is not read into memory first: a runs table of a million rows is ~60 MB of text,
and holding it as a Python string (and again as the ``StringIO`` pandas would read) costs
several times that. A path is therefore streamed twice in blocks, once to check that it is
non-empty UTF-8 (so a bad byte is reported with its line before any parsing) and once by
pandas' C parser; only the header line is read separately. An open file object is read
whole, as it may not be seekable. Both routes give the same table and the same messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.errors import DataError, format_rows

_BLOCK = 1 << 20  # bytes read at a time when streaming a file
_BOM = "\ufeff"


@dataclass(frozen=True)
class Problem:
    """One problem found; ``positions`` index rows (None for table-level problems)."""

    column: str | None
    positions: np.ndarray | None
    text: str
    lines: tuple[int, ...] = ()  # file lines of a problem found before parsing


@dataclass(frozen=True)
class Where:
    """How to name rows in messages: the file (or ``<DataFrame>``) and the row labels."""

    path: str
    labels: np.ndarray
    is_file: bool

    def rows(self, positions: np.ndarray) -> list:
        return self.labels[positions].tolist()

    def rows_text(self, positions: np.ndarray) -> str:
        text = format_rows(self.rows(positions), total=len(self.labels))
        return text if self.is_file else "row" + text[len("line") :]


def raise_problems(problems: Sequence[Problem], where: Where) -> None:
    """Raise one ``DataError`` listing every problem, each with its column and rows."""
    bodies = []
    for p in problems:
        parts = [f"column '{p.column}'"] if p.column is not None else []
        if p.positions is not None and len(p.positions):
            parts.append(where.rows_text(p.positions))
        bodies.append(f"{', '.join(parts)}: {p.text}" if parts else p.text)
    n = len(where.labels)
    if len(bodies) == 1:
        message = f"{where.path}: {bodies[0]}"
    else:
        listed = "\n".join(f"  - {b}" for b in bodies)
        message = f"{where.path}: {len(bodies)} problems in {n} row{'s' * (n != 1)}:\n{listed}"
    first = problems[0]
    rows = where.rows(first.positions) if first.positions is not None else first.lines
    column = None if first.column is None else str(first.column)
    raise DataError(message, path=where.path, column=column, rows=rows)


def quote_list(names: Sequence[object], limit: int = 20) -> str:
    """Quote names for a message, ``'N', 'D'`` …, at most ``limit`` of them."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(f"'{n}'" for n in list(names)[:limit]) + more if names else "no columns"


def mapping_problems(present: Sequence[object], mapping: Mapping[str, str]) -> list[Problem]:
    """Keys of ``columns=`` that name no column of the table."""
    text = "columns= maps '{}' to '{}', but the table has no column '{}'; it has {}."
    return [
        Problem(k, None, text.format(k, v, k, quote_list(present)))
        for k, v in mapping.items()
        if k not in set(present)
    ]


def _decode_error(
    shown: str, data: bytes, exc: UnicodeDecodeError, *, offset: int = 0, lines: int = 0
) -> DataError:
    """Locate a byte of ``data`` that is not UTF-8 in a ``DataError``.

    ``offset`` and ``lines`` count the bytes and newlines of the file before ``data[0]``.
    """
    at = exc.start
    line = lines + data.count(b"\n", 0, at) + 1
    byte = f"0x{data[at : at + 1].hex()}" if at < len(data) else "end of file"
    message = (
        f"{shown}: cannot read the file as UTF-8 text: line {line}, byte {offset + at + 1} "
        f"({byte}): {exc.reason}. Save it as UTF-8 CSV."
    )
    return DataError(message, path=shown, rows=(line,))


def _scan_path(path: str | os.PathLike[str], shown: str) -> bool:
    """Stream a file once: raise on a non-UTF-8 byte; return whether it has any non-space."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    content, offset, lines, first = False, 0, 0, True
    try:
        with open(path, "rb") as handle:
            while True:
                block = handle.read(_BLOCK)
                pending = decoder.getstate()[0]  # the start of a character split by blocks
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    data, start = pending + block, offset - len(pending)
                    raise _decode_error(shown, data, exc, offset=start, lines=lines) from exc
                if not content:
                    content = bool((text.removeprefix(_BOM) if first else text).strip())
                first = first and not text
                if not block:
                    return content
                offset, lines = offset + len(block), lines + block.count(b"\n")
    except FileNotFoundError as exc:
        raise DataError(f"{shown}: file not found.", path=shown) from exc
    except OSError as exc:
        raise DataError(f"{shown}: cannot read the file ({exc}).", path=shown) from exc


def _read_text(source: object, shown: str) -> str:
    """Read the whole text of an open file object (text or binary)."""
    try:
        raw: object = source.read()  # type: ignore[attr-defined]
    except OSError as exc:
        raise DataError(f"{shown}: cannot read the file ({exc}).", path=shown) from exc
    if isinstance(raw, (bytes, bytearray)):
        data = bytes(raw)
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _decode_error(shown, data, exc) from exc
    if not isinstance(raw, str):
        raise DataError(f"{shown}: reading returned {type(raw).__name__}, not text.", path=shown)
    return raw


def _lines(text: str) -> Iterator[str]:
    """Yield the lines of ``text`` split on newlines only, as ``io.StringIO`` does, lazily."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _long_lines(lines, n_fields: int) -> list[int]:
    """Line numbers (1-based, as in the file) with more fields than the header."""
    reader = csv.reader(lines)
    try:
        return [reader.line_num for record in reader if len(record) > n_fields]
    except csv.Error:
        return []


def _first_record(source: object, text: str) -> list[str]:
    """Split the header as the csv module does (repeated names kept, BOM removed)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8-sig", newline="\n") as handle:
            return next(csv.reader(handle), [])
    return next(csv.reader(_lines(text.removeprefix(_BOM))), [])


def _too_long(source: object, text: str, n_fields: int) -> list[int]:
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8-sig", newline="\n") as handle:
            return _long_lines(handle, n_fields)
    return _long_lines(_lines(text.removeprefix(_BOM)), n_fields)


def _parse(source: object, text: str, as_text: set[str], *, skip_blank_lines: bool):
    return pd.read_csv(
        source if isinstance(source, (str, os.PathLike)) else io.StringIO(text),
        encoding="utf-8",
        skip_blank_lines=skip_blank_lines,
        index_col=False,  # extra fields warn instead of becoming an index
        low_memory=False,
        dtype=dict.fromkeys(as_text, str),
    )


def _retyped(
    frame: pd.DataFrame, source: object, text: str, as_text: set[str], mapping: Mapping
) -> pd.DataFrame:
    """Parse again without blank lines, so that they do not change the column types.

    Kept as rows of NaN, a blank line turns a column of booleans into objects and one of
    integers into floats. Parsed without them, the columns get the types the same file
    without blank lines gives. Used only when the rows and columns agree one to one
    (rows of empty cells such as ``,,`` are dropped as blank but pandas keeps them).
    """
    with warnings.catch_warnings():
        # the first parse recorded these and they are reported once, as problems
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        try:
            again = _parse(source, text, as_text, skip_blank_lines=True)
        except (csv.Error, ValueError, TypeError, OverflowError, MemoryError, OSError):
            return frame
    again = again.rename(columns=mapping) if mapping else again
    if again.shape != frame.shape or list(again.columns) != list(frame.columns):
        return frame
    again.index = frame.index
    return again


def read_csv(
    source: object, mapping: Mapping[str, str], text_columns: Sequence[str]
) -> tuple[pd.DataFrame, Where, list[Problem]]:
    """Parse a CSV into raw columns: numbers parsed by pandas, label columns kept as text.

    Parameters
    ----------
    source : str, os.PathLike or file object
        A CSV path (streamed) or an open text or binary file (read whole).
    mapping : mapping of str to str
        The ``columns=`` renames, applied to the parsed header.
    text_columns : sequence of str
        Schema names of label columns, read as strings (``"007"`` stays ``"007"``).

    Returns
    -------
    tuple
        The frame (blank lines dropped, columns renamed), where its rows are in the file
        (line numbers, header = line 1) and the problems found while parsing.

    Raises
    ------
    DataError
        The file is missing, unreadable, not UTF-8, empty or not parseable as CSV.
    """
    is_path = isinstance(source, (str, os.PathLike))
    shown = os.fspath(source) if is_path else getattr(source, "name", None)  # type: ignore
    shown = shown if isinstance(shown, str) else "<stream>"
    if not is_path and not hasattr(source, "read"):
        kind = type(source).__name__
        message = f"cannot read runs from a {kind}; pass a CSV path, file object or DataFrame."
        raise DataError(message, path=shown)
    if is_path:
        has_content, text = _scan_path(source, shown), ""  # type: ignore[arg-type]
    else:
        text = _read_text(source, shown)
        has_content = bool(text.removeprefix(_BOM).strip())
    if not has_content:
        message = f"{shown}: the file is empty; expected a header naming at least N, D, loss."
        raise DataError(message, path=shown)

    as_text = {c for c in text_columns if c not in mapping.values()}
    as_text |= {k for k, v in mapping.items() if v in text_columns}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            names = _first_record(source, text)  # raw header, repeats kept
            # keep blank lines (as rows of NaN) so positions map to file lines
            frame = _parse(source, text, as_text, skip_blank_lines=False)
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{shown}: no columns found (blank first line?).", path=shown) from exc
        except pd.errors.ParserError as exc:
            match = re.search(r"line (\d+)", str(exc))
            rows = (int(match.group(1)),) if match else ()
            where, why = format_rows(rows) if rows else "the file", str(exc).strip()
            message = f"{shown}: {where} cannot be parsed as CSV: {why}. Check commas and quotes."
            raise DataError(message, path=shown, rows=rows) from exc
        except (csv.Error, ValueError, TypeError, OverflowError, MemoryError, OSError) as exc:
            raise DataError(f"{shown}: cannot parse the CSV file: {exc}.", path=shown) from exc
    problems: list[Problem] = []
    for warning in caught:
        if not issubclass(warning.category, (pd.errors.ParserWarning, pd.errors.DtypeWarning)):
            warnings.warn(warning.message, warning.category, stacklevel=3)
            continue
        long = _too_long(source, text, len(names))
        where = f"{format_rows(long, total=len(frame))}: " if long else ""
        message = f"{where}more fields than the header has names ({len(names)}); check "
        message += "the delimiter, quoting and trailing commas."
        problems.append(Problem(None, None, message, lines=tuple(long)))
    problems.extend(mapping_problems(names, mapping))
    for name, count in Counter(mapping.get(n, n) for n in names).items():
        if count > 1:
            after = " (after applying columns=)" if mapping else ""
            message = f"the header names '{name}' {count} times{after}; keep one column per name."
            problems.append(Problem(name, None, message))
    frame = frame.rename(columns=mapping) if mapping else frame
    lines_of_rows = np.arange(2, len(frame) + 2)
    if frame.shape[1]:
        blank = frame.isna().all(axis=1).to_numpy()
        if blank.any():
            frame, lines_of_rows = frame.loc[~blank], lines_of_rows[~blank]
            frame = _retyped(frame, source, text, as_text, mapping)
    return frame, Where(shown, lines_of_rows, is_file=True), problems
