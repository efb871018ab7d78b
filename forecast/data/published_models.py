r"""Validate tables of kind ``"published_models"``: one row per published model.

A frontier-models table (e.g. the bundled ``epoch_notable`` dataset) lists trained models
with their size, training tokens and publication date, for trends such as the growth of
training datasets over calendar time:

====================  =========  =================================================
column                required   meaning, unit, constraint
====================  =========  =================================================
``model``             yes        model name (str, non-empty)
``date``              yes        publication date, ISO ``YYYY-MM-DD``, 1900-2100
``N``                 yes        total parameters; finite, > 0
``D``                 yes        training tokens seen, repeats included; finite, > 0
``year``              no         decimal year; finite
``dataset_tokens``    no         dataset size, tokens; finite, > 0
``epochs``            no         passes over the dataset; finite, > 0
``C``                 no         training compute, FLOP; > 0 where given (may be empty)
``C_ratio``           no         :math:`6ND/C`; > 0 where given (may be empty)
``frontier``          no         bool
``epochs_assumed``    no         bool
====================  =========  =================================================

Other columns (``organization``, ``confidence``, ``d_unit_rule``, ...) pass through as
strings. As in :func:`forecast.data.runs.validate_runs`, every check runs over the whole table
and all problems are raised together in one :class:`~forecast.errors.DataError`, because a
trend over orders of magnitude is moved by a single row in the wrong unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.data._read import Problem, Where, raise_problems
from forecast.errors import DataError

__all__ = ["validate_published_models"]

_REQUIRED = ("model", "date", "N", "D")
#: numeric column -> (unit, may be empty, must be > 0)
_NUMERIC = {
    "N": ("parameters", False, True),
    "D": ("tokens", False, True),
    "year": ("years", False, False),
    "dataset_tokens": ("tokens", False, True),
    "epochs": ("1", False, True),
    "C": ("FLOP", True, True),
    "C_ratio": ("1", True, True),
}
_BOOL = ("frontier", "epochs_assumed")
_TEXT = ("model", "organization", "confidence", "d_unit_rule")
_DATE_MIN = pd.Timestamp("1900-01-01")
_DATE_MAX = pd.Timestamp("2100-12-31")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _got(values) -> str:
    shown = [str(v) for v in list(values)[:5]]
    more = ", ..." if len(values) > 5 else ""
    return ", ".join(shown) + more


def _to_bool(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, ok) for a boolean-ish column: bool, 0/1, 'True'/'False'/'yes'/'no'."""
    values = np.zeros(len(series), dtype=bool)
    ok = np.zeros(len(series), dtype=bool)
    for i, v in enumerate(series.tolist()):
        if isinstance(v, (bool, np.bool_)):
            values[i], ok[i] = bool(v), True
        elif isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            values[i], ok[i] = bool(v), True
        elif isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
            values[i], ok[i] = v.strip().lower() in _TRUE, True
    return values, ok


def validate_published_models(df: pd.DataFrame, path: str | None = None) -> pd.DataFrame:
    r"""Check a frontier-models table and return it typed; raise all problems at once.

    The checks: required columns ``model``, ``date``, ``N``, ``D`` present; at least one
    row; ``model`` non-empty; ``date`` an ISO date ``YYYY-MM-DD`` between 1900 and 2100;
    ``N`` and ``D`` finite and > 0; the optional numeric columns finite (``C`` and
    ``C_ratio`` may be empty) and > 0 where required; ``frontier`` and ``epochs_assumed``
    boolean.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, e.g. ``pandas.read_csv`` of a bundled ``runs.csv``; ``N`` in
        parameters, ``D`` in tokens seen, ``C`` in FLOP. Not modified.
    path : str, optional
        File the table was read from, named in messages. When given, row ``i`` (0-based)
        is reported as line ``i + 2`` of that file (header = line 1); otherwise rows are
        reported by index label under the name ``"<DataFrame>"``.

    Returns
    -------
    pandas.DataFrame
        A new table with a ``RangeIndex`` and the same columns: ``date`` as
        ``datetime64``, numeric columns as ``float64`` (``N`` parameters, ``D`` tokens,
        ``C`` FLOP, empty cells NaN), boolean columns as ``bool``, text columns as ``str``.

    Raises
    ------
    DataError
        Listing every problem; ``.path``, ``.column`` and ``.rows`` (line numbers, or
        index labels for an in-memory table) locate the first one.

    Notes
    -----
    Training tokens seen are the dataset size times the number of passes over it,

    .. math:: D = D_\text{dataset} \times \text{epochs},

    and the optional ``C_ratio`` column compares them with the reported compute through
    :math:`6ND/C`; the validator checks only that each column is in range, not this
    identity (mixture-of-experts models have :math:`6ND/C > 1` with total ``N``).

    References
    ----------
    .. [1] Epoch AI, "Data on Notable AI Models", 2025 (CC BY 4.0): the source of the
       bundled ``epoch_notable`` table.
    .. [2] Villalobos et al., "Will we run out of data? Limits of LLM scaling based on
       human-generated data", 2024 (arXiv:2211.04325): dataset-size trends over time.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"model": ["Chinchilla", "Llama 2-70B"],
    ...                    "date": ["2022-03-29", "2023-07-18"],
    ...                    "N": [7e10, 7e10], "D": [1.4e12, 2e12]})
    >>> validate_published_models(df)["date"].dt.year.tolist()
    [2022, 2023]
    >>> validate_published_models(df.assign(D=[1.4e12, -1.0]), path="runs.csv")
    Traceback (most recent call last):
    ...
    forecast.errors.DataError: runs.csv: column 'D', line 3 (1 of 2): D must be a finite number > 0 (tokens); got -1.0. Remove these rows or fix the units.
    """  # noqa: E501
    shown = path if path is not None else "<DataFrame>"
    if not isinstance(df, pd.DataFrame):
        raise DataError(
            f"validate_published_models expects a pandas DataFrame; got {type(df).__name__}.",
            path=shown,
        )
    labels = (np.arange(len(df)) + 2) if path is not None else np.asarray(df.index)
    problems: list[Problem] = []

    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        problems.append(
            Problem(
                missing[0],
                None,
                f"missing required column(s) {', '.join(repr(c) for c in missing)}; a "
                f"frontier-models table needs {', '.join(repr(c) for c in _REQUIRED)}.",
            )
        )
    if len(df) == 0:
        problems.append(Problem(None, None, "the table has no rows."))

    out = df.reset_index(drop=True).copy()
    for col in (c for c in _TEXT if c in out.columns):
        text = out[col].astype("string").fillna("").str.strip()
        if col == "model":
            bad = np.flatnonzero((text == "").to_numpy())
            if bad.size:
                problems.append(Problem(col, bad, "model name must be non-empty."))
        out[col] = text.astype(str)

    if "date" in out.columns:
        raw = out["date"]
        parsed = pd.to_datetime(raw.astype("string"), format="%Y-%m-%d", errors="coerce")
        bad_mask = parsed.isna() | (parsed < _DATE_MIN) | (parsed > _DATE_MAX)
        bad = np.flatnonzero(bad_mask.to_numpy())
        if bad.size:
            problems.append(
                Problem(
                    "date",
                    bad,
                    "date must be an ISO date YYYY-MM-DD between 1900 and 2100; got "
                    f"{_got(raw.iloc[bad].tolist())}. Fix the dates or remove these rows.",
                )
            )
        out["date"] = parsed

    for col, (unit, may_be_empty, positive) in _NUMERIC.items():
        if col not in out.columns:
            continue
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        present = out[col].notna().to_numpy()
        empty_ok = may_be_empty & ~present
        bad_mask = ~np.isfinite(values) & ~empty_ok
        if positive:
            bad_mask |= np.isfinite(values) & (values <= 0)
        bad = np.flatnonzero(bad_mask)
        if bad.size:
            rule = "a finite number > 0" if positive else "a finite number"
            if may_be_empty:
                rule += " or empty"
            problems.append(
                Problem(
                    col,
                    bad,
                    f"{col} must be {rule} ({unit}); got {_got(out[col].iloc[bad].tolist())}. "
                    "Remove these rows or fix the units.",
                )
            )
        out[col] = values

    for col in (c for c in _BOOL if c in out.columns):
        values, ok = _to_bool(out[col])
        bad = np.flatnonzero(~ok)
        if bad.size:
            problems.append(
                Problem(
                    col,
                    bad,
                    f"{col} must be True or False; got {_got(out[col].iloc[bad].tolist())}.",
                )
            )
        out[col] = values

    if problems:
        raise_problems(problems, Where(shown, labels, is_file=path is not None))
    return out
