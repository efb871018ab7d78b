"""Typed errors of the package.

Every error that reaches a user names where the problem is: ``DataError`` carries the
file (``path``), the ``column`` and the ``rows`` (line numbers as the file shows them,
header on line 1; for an in-memory DataFrame, its index labels), so programs can react
without parsing the message.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from models.errors import ConfigError

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "ExtrapolationWarning",
    "IncompatibleFileError",
]

MAX_LISTED_ROWS = 5


def format_rows(rows: Sequence[object], total: int | None = None) -> str:
    """Format row labels as ``"lines 14, 87 (2 of 240)"``, listing at most five.

    Parameters
    ----------
    rows : sequence
        Row labels (line numbers or index labels).
    total : int, optional
        Number of rows in the table, shown as ``(k of total)``.

    Returns
    -------
    str
        The rows as text, with ``"and N more"`` past the fifth.

    Examples
    --------
    >>> format_rows([2, 3, 4, 5, 6, 7, 9], total=100)
    'lines 2, 3, 4, 5, 6 and 2 more (7 of 100)'
    """
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:MAX_LISTED_ROWS])
    more = f" and {len(rows) - MAX_LISTED_ROWS} more" if len(rows) > MAX_LISTED_ROWS else ""
    word = "line" if len(rows) == 1 else "lines"
    count = f" ({len(rows)} of {total})" if total is not None else ""
    return f"{word} {shown}{more}{count}"


class DataError(ValueError):
    """Invalid input data, located by file, column and rows.

    Parameters
    ----------
    message : str
        What is wrong, what was found and how to fix it.
    path : str, optional
        File the data came from (``"<DataFrame>"`` for in-memory input).
    column : str, optional
        Offending column.
    rows : sequence of int, optional
        Offending rows: line numbers as the file shows them (header = line 1).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        column: str | None = None,
        rows: Sequence[int] = (),
    ) -> None:
        self.path = path
        self.column = column
        self.rows = tuple(rows)
        super().__init__(message)

    def __reduce__(self):
        # keyword-only fields: pickle (a child process's error) keeps them
        fields = {"path": self.path, "column": self.column, "rows": self.rows}
        return functools.partial(type(self), **fields), self.args


class IncompatibleFileError(ValueError):
    """A saved file does not match what was asked for (format, law, config or checksum)."""


class ConvergenceWarning(UserWarning):
    """The sampler failed a diagnostic threshold (R-hat, ESS, divergences, E-BFMI)."""


class ConvergenceError(RuntimeError):
    """Raised instead of ``ConvergenceWarning`` when a fit is run with ``strict=True``."""


class ExtrapolationWarning(UserWarning):
    """A forecast implies a quantity far outside what the runs and the published fits span.

    Raised by :func:`forecast.forecast`, :func:`forecast.allocate`,
    :func:`forecast.exhaustion` and :func:`forecast.report.report`; the message names the
    parameters that drive it and the fix (see :mod:`forecast.extrapolation`).
    """
