r"""Read and validate training-run tables: the tidy *runs* schema every module consumes.

This module owns the contract between the data and the rest of the package. A runs table
is a :class:`pandas.DataFrame` with one row per training run (or per checkpoint of a run):

=======================  ========  ========================================================
column                   required  meaning, unit, constraint
=======================  ========  ========================================================
``N``                    yes       total parameters, embeddings included; > 0
``D``                    yes       training tokens seen, repeats included; > 0
``loss``                 yes       eval loss in nats/token (natural-log cross-entropy); <= 20
``group``                no        label for partial pooling (str)
``run_id``               no        identifier of the training run (str)
``unique_tokens``        no        unique tokens :math:`U` available; > 0, <= D
``loss_sd``              no        known measurement SD of ``loss``, nats/token; >= 0
``source``               no        citation of where the row came from (str)
``N_non_embedding``      no        parameters without embeddings; > 0, <= N
``corpus``               no        training corpus (str)
``eval_set``             no        evaluation set ``loss`` was measured on (str)
``tokenizer``            no        tokenizer name (str)
``family``               no        model family (str)
``checkpoint_fraction``  no        fraction of the planned tokens seen, in (0, 1]; 1 = end
``bytes_per_token``      no        UTF-8 bytes per token on the eval text; > 0
``C``                    no        training compute in FLOP, :math:`C = 6ND` (informational)
=======================  ========  ========================================================

Numeric columns come back as ``float64`` and label columns as strings; other columns are
passed through unchanged, after the schema columns. Numeric cells must all be present and
finite: an optional column is either filled in for every row or left out.

Why so strict: a scaling-law fit extrapolates over orders of magnitude, so one row in the
wrong unit (tokens in billions, loss in bits, a perplexity) silently moves the forecast.
Every check therefore runs over the whole table and all problems are reported together in
one :class:`~forecast.errors.DataError`, located by file, column and line (header = line 1,
as an editor shows the file), so the whole file can be fixed in one pass.

References
----------
.. [1] Hoffmann et al., "Training Compute-Optimal Large Language Models", 2022
   (arXiv:2203.15556): the N, D, loss parametrisation and :math:`C = 6ND`.
.. [2] Muennighoff et al., "Scaling Data-Constrained Language Models", 2023
   (arXiv:2305.16264): unique tokens :math:`U \le D` under repetition.
"""

from __future__ import annotations

import difflib
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from forecast.data._read import (
    Problem,
    Where,
    mapping_problems,
    quote_list,
    raise_problems,
    read_csv,
)
from forecast.errors import ConfigError, DataError
from forecast.units import D_ATTRS, LOSS_ATTRS, N_ATTRS

__all__ = ["load_runs", "validate_runs"]

#: Columns every runs table must have.
REQUIRED_COLUMNS = ("N", "D", "loss")
#: Optional label columns, returned as strings.
STRING_COLUMNS = ("group", "run_id", "source", "corpus", "eval_set", "tokenizer", "family")
#: Largest plausible loss, nats/token; above it the values are likely bits or perplexities.
MAX_LOSS = 20.0
_MIN_N = 1e3  # fewer parameters: N is likely in millions or billions
_MIN_D_PER_N = 1e-3  # fewer tokens per parameter: D is likely in millions or billions
_REL_TOL = 1e-9  # slack for unique_tokens <= D and N_non_embedding <= N
_FIX = (
    "Fix these cells (plain numbers such as 7e9, no units or thousands separators) or "
    "remove the rows."
)
_NA_TEXT = frozenset({"", "nan", "-nan", "na", "n/a", "#n/a", "null", "none", "<na>", "nat"})
_STR_DTYPE: object = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
_SCHEMA_ORDER = tuple(
    "N D loss group run_id unique_tokens loss_sd source N_non_embedding corpus eval_set "
    "tokenizer family checkpoint_fraction bytes_per_token C".split()
)
#: Spellings seen in public releases, offered as hints (never applied automatically).
_ALIASES = {
    "N": ("params", "parameters", "n_params", "num_params", "model_size", "Model Size"),
    "D": ("tokens", "n_tokens", "num_tokens", "training_tokens", "Training Tokens"),
    "loss": ("val_loss", "eval_loss", "validation_loss", "Loss", "final_loss"),
}


@dataclass(frozen=True)
class _Numeric:
    """Hard bounds of one numeric column: ``x > 0`` (``>= 0`` if inclusive), ``x <= upper``."""

    unit: str
    fix: str
    inclusive: bool = False
    upper: float | None = None

    def bound_text(self) -> str:
        return f"in (0, {self.upper:g}]" if self.upper else (">= 0" if self.inclusive else "> 0")

    def invalid(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(values) | (values < 0 if self.inclusive else values <= 0)
            return bad | (values > self.upper) if self.upper is not None else bad


def _optional(unit: str, what: str, **bounds: object) -> _Numeric:
    return _Numeric(unit, f"Give {what} for every row, or drop the column.", **bounds)


#: Numeric schema columns in schema order, with their hard bounds.
NUMERIC_COLUMNS: dict[str, _Numeric] = {
    "N": _Numeric("total parameters", "Remove these rows or fix the values (total parameters)."),
    "D": _Numeric("training tokens", "Remove these rows or fix the values (tokens seen)."),
    "loss": _Numeric("nats/token", "Remove these rows or fix the units (nats/token)."),
    "unique_tokens": _optional("tokens", "the number of unique training tokens"),
    "loss_sd": _optional("nats/token", "the known measurement SD in nats/token", inclusive=True),
    "N_non_embedding": _optional("parameters", "the non-embedding parameter count"),
    "checkpoint_fraction": _optional(
        "fraction of planned tokens", "the fraction of planned tokens seen (1 = end)", upper=1.0
    ),
    "bytes_per_token": _optional("bytes/token", "the mean UTF-8 bytes per token"),
    "C": _optional("FLOP", "training compute in FLOP (C = 6ND)"),
}


def load_runs(
    source: str | os.PathLike[str] | io.IOBase | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    r"""Read a runs table from a CSV file or a DataFrame, validate it and return it tidy.

    Column names are mapped only through ``columns``; nothing is renamed by guesswork.
    Every check of :func:`validate_runs` runs over the whole table, and all problems are
    raised together in one :class:`~forecast.errors.DataError`.

    Parameters
    ----------
    source : str, os.PathLike, file object or pandas.DataFrame
        A CSV file (comma-separated, UTF-8, header on line 1), an open text or binary file
        object holding one, or a DataFrame. A DataFrame is never modified. Units: ``N`` in
        parameters, ``D`` in tokens, ``loss`` in nats/token (see the module docstring).
    columns : mapping of str to str, optional
        Renames applied before validation, ``{name in the source: schema name}``, e.g.
        ``{"params": "N", "tokens": "D"}``.

    Returns
    -------
    pandas.DataFrame
        A new table with a clean ``RangeIndex``: schema columns first (``N`` parameters,
        ``D`` tokens, ``loss`` nats/token, then the optional columns present) as ``float64``
        or strings, then any other columns unchanged. Blank lines of a CSV are skipped.

    Raises
    ------
    DataError
        If the file cannot be read or any check fails; ``.path``, ``.column`` and ``.rows``
        (line numbers, header = line 1; index labels for a DataFrame) locate the first
        problem and the message lists all of them.
    ConfigError
        If ``columns`` is not a mapping of strings to strings.

    Notes
    -----
    Besides :math:`N, D, L > 0` and :math:`0 < U \le D`, the checks of :func:`validate_runs`
    flag mixed units: :math:`N < 10^3`, :math:`D < N / 10^3` or :math:`L > 20`.

    References
    ----------
    .. [1] Hoffmann et al., "Training Compute-Optimal Large Language Models", 2022
       (arXiv:2203.15556), Section 3: runs described by N, D and final loss.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"params": [7e7, 4e8], "tokens": [1.4e9, 8e9], "loss": [3.4, 3.0]})
    >>> runs = load_runs(raw, columns={"params": "N", "tokens": "D"})
    >>> list(runs.columns), runs["N"].dtype.name
    (['N', 'D', 'loss'], 'float64')
    >>> load_runs(raw.assign(loss=[3.4, -1.0]), columns={"params": "N", "tokens": "D"})
    Traceback (most recent call last):
    ...
    forecast.errors.DataError: <DataFrame>: column 'loss', row 1 (1 of 2): loss must be a finite number > 0 (nats/token); got -1. Remove these rows or fix the units (nats/token).
    """  # noqa: E501
    mapping = _check_mapping(columns)
    if isinstance(source, pd.DataFrame):
        return _validate_frame(source, None, mapping, None, 1)
    frame, where, problems = read_csv(source, mapping, STRING_COLUMNS)
    return _validate(frame, where=where, group=None, min_group_size=1, problems=problems)


def validate_runs(
    df: pd.DataFrame,
    *,
    path: str | None = None,
    group: str | None = None,
    min_group_size: int = 1,
) -> pd.DataFrame:
    r"""Check a runs table against the schema and return it tidy; raise all problems at once.

    Checks: required columns present; at least one row; numbers, not text, in numeric
    columns, all finite and within the bounds of the module docstring; no exact duplicate
    rows; no mixed units (see Notes); with ``group``, the column exists, every label is
    non-empty and every group has at least ``min_group_size`` rows.

    Parameters
    ----------
    df : pandas.DataFrame
        Table with at least the columns ``N`` (parameters), ``D`` (tokens) and ``loss``
        (nats/token). Not modified.
    path : str, optional
        File the table was read from, named in messages. When given, row ``i`` (0-based)
        is reported as line ``i + 2`` of that file (header = line 1); otherwise rows are
        reported by index label under the name ``"<DataFrame>"``.
    group : str, optional
        Name of the grouping column to check (labels are converted to strings).
    min_group_size : int, default 1
        Smallest number of rows a group may have (count, >= 1).

    Returns
    -------
    pandas.DataFrame
        A new table with a ``RangeIndex``: schema columns as ``float64`` (``N`` parameters,
        ``D`` tokens, ``loss`` nats/token, ...) or strings, then other columns unchanged.

    Raises
    ------
    DataError
        Listing every problem; ``.column`` and ``.rows`` locate the first one.
    ConfigError
        If ``min_group_size`` is not an integer >= 1.

    Notes
    -----
    Rows where :math:`N < 10^3`, :math:`D < N / 10^3` or :math:`L > 20` are flagged as
    parameters or tokens given in millions/billions, or a loss in bits or a perplexity.

    References
    ----------
    .. [1] Muennighoff et al., "Scaling Data-Constrained Language Models", 2023
       (arXiv:2305.16264), Section 3: :math:`U \le D` under repetition.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"N": [7e7, 4e8, 4e8], "D": [1.4e9, 8e9, 8e9],
    ...                    "loss": [3.4, 3.0, 3.1], "group": ["a", "b", "b"]})
    >>> validate_runs(df, group="group")["group"].tolist()
    ['a', 'b', 'b']
    >>> validate_runs(df, path="runs.csv", group="group", min_group_size=2)
    Traceback (most recent call last):
    ...
    forecast.errors.DataError: runs.csv: column 'group', line 2 (1 of 3): groups with fewer than 2 rows: 'a' (1 row). Add runs to these groups, remove their rows, or lower min_group_size.
    """  # noqa: E501
    if not isinstance(df, pd.DataFrame):
        message = f"validate_runs expects a DataFrame, got {type(df).__name__}; use load_runs()."
        raise DataError(message, path=path)
    return _validate_frame(df, path, {}, group, min_group_size)


def _check_mapping(columns: Mapping[str, str] | None) -> dict[str, str]:
    if columns is None:
        return {}
    if isinstance(columns, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        return dict(columns)
    raise ConfigError(f"columns must map strings to strings {{source: schema}}; got {columns!r}.")


def _validate_frame(df: pd.DataFrame, path, mapping, group, min_size) -> pd.DataFrame:
    """Validate an in-memory frame; with ``path``, row i is reported as line i + 2."""
    if path is not None:
        where = Where(path, np.arange(2, len(df) + 2), is_file=True)
    else:
        where = Where("<DataFrame>", np.asarray(df.index, dtype=object), is_file=False)
    if isinstance(df.columns, pd.MultiIndex):
        raise_problems(
            [Problem(None, None, "multi-level column names; flatten them first.")], where
        )
    problems = mapping_problems(list(df.columns), mapping)
    frame = df.rename(columns=mapping) if mapping else df
    return _validate(frame, where=where, group=group, min_group_size=min_size, problems=problems)


def _to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(values, text)``: float64 values (NaN if missing) and a mask of non-numbers."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    dtype, n = series.dtype, len(series)
    kind = getattr(dtype, "kind", "O")
    if pd.api.types.is_bool_dtype(dtype) or kind in "mMcV":
        return np.full(n, np.nan), series.notna().to_numpy()
    if kind in "iuf":
        return series.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(n, dtype=bool)
    try:
        parsed = pd.to_numeric(series, errors="coerce")
    except (TypeError, ValueError, OverflowError):  # lists, or integers beyond float range
        parsed = pd.to_numeric(series.map(str, na_action="ignore"), errors="coerce")
    values = np.array(parsed, dtype=np.float64)
    text = ~series.isna().to_numpy() & np.isnan(values)
    if isinstance(dtype, np.dtype):  # object column: True/False are not numbers
        is_bool = np.fromiter((isinstance(v, (bool, np.bool_)) for v in series), bool, n)
        text |= is_bool
        values[is_bool] = np.nan
    if text.any():  # "nan", "NULL", "  " in a text column are missing values, not text
        idx = np.flatnonzero(text)
        text[idx[[str(v).strip().lower() in _NA_TEXT for v in series.iloc[idx]]]] = False
    return values, text


def _to_str(series: pd.Series) -> pd.Series:
    """Labels as strings, missing values kept as NaN; the index is reset."""
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA):
        series = series.astype(object).map(str, na_action="ignore").astype(_STR_DTYPE)
    return series.reset_index(drop=True)


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return format(float(value), ".6g")
    text = str(value) if isinstance(value, (int, np.integer)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _got(values: Sequence[object]) -> str:
    return ", ".join(_fmt(v) for v in list(values[:5])) + (", ..." if len(values) > 5 else "")


def _missing_hint(name: str, present: Sequence[str]) -> str:
    candidates = [c for c in present if c.lower() == name.lower()]
    candidates += [c for c in _ALIASES.get(name, ()) if c in present]
    candidates += difflib.get_close_matches(name, present, n=1, cutoff=0.75)
    if candidates:
        return f" Did you mean '{candidates[0]}'? Pass columns={{'{candidates[0]}': '{name}'}}."
    return f" Add it, or rename an existing column with columns={{'<name>': '{name}'}}."


#: Unit checks on values within their bounds: column, other column (or None), rule.
_UNIT_RULES = (
    ("N", None, lambda v: v["N"] < _MIN_N),
    ("D", "N", lambda v: v["D"] < v["N"] * _MIN_D_PER_N),
    ("loss", None, lambda v: v["loss"] > MAX_LOSS),
    ("unique_tokens", "D", lambda v: v["unique_tokens"] > v["D"] * (1.0 + _REL_TOL)),
    ("N_non_embedding", "N", lambda v: v["N_non_embedding"] > v["N"] * (1.0 + _REL_TOL)),
)
_UNIT_MESSAGES = {
    "N": f"N below {_MIN_N:g} parameters looks like a unit error; got {{got}}. Is N in "
    "millions or billions? Give N as a count of parameters (e.g. 7e9, not 7).",
    "D": "D is less than N/1000 (under 0.001 tokens per parameter), which looks like a unit "
    "error; got {got}. Is D in millions or billions of tokens? Give D as a count of tokens "
    "(e.g. 1.4e12, not 1400).",
    "loss": f"loss above {MAX_LOSS:g} nats/token is implausible; got {{got}}. Is it in bits "
    "(multiply by ln 2) or a perplexity (take its natural log)? Give loss in nats/token.",
    "unique_tokens": "unique_tokens must be <= D (a run cannot see more unique tokens than "
    "tokens); got {got}. Check that D counts repeated tokens and both are in tokens.",
    "N_non_embedding": "N_non_embedding must be <= N (N counts embeddings too); got {got}. "
    "Check that N is the total parameter count.",
}


def _value_problems(
    values: dict[str, np.ndarray], texts: dict[str, np.ndarray], raw: dict[object, pd.Series]
) -> list[Problem]:
    """Per-column checks (text, missing, bounds), then the cross-column unit checks."""
    found: list[tuple[str, np.ndarray, str]] = []
    ok: dict[str, np.ndarray] = {}
    for name, spec in NUMERIC_COLUMNS.items():
        if name not in values:
            continue
        v, is_text = values[name], texts[name]
        invalid = ~is_text & spec.invalid(v)
        ok[name] = ~is_text & ~invalid
        got = _got(raw[name].iloc[np.flatnonzero(is_text)[:6]].tolist())
        found.append((name, is_text, f"{name} must be a number ({spec.unit}); got {got}. {_FIX}"))
        got, bound = _got(v[np.flatnonzero(invalid)[:6]]), spec.bound_text()
        text = f"{name} must be a finite number {bound} ({spec.unit}); got {got}. {spec.fix}"
        found.append((name, invalid, text))
    for column, other, rule in _UNIT_RULES:
        if column not in ok or (other is not None and other not in ok):
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            mask = ok[column] & (ok[other] if other else True) & rule(values)
        pos = np.flatnonzero(mask)
        if other is None:
            got = _got(values[column][pos[:6]])
        else:
            v, w = values[column], values[other]
            got = "; ".join(f"{column} = {_fmt(v[i])} with {other} = {_fmt(w[i])}" for i in pos[:5])
            got += "; ..." if pos.size > 5 else ""
        found.append((column, mask, _UNIT_MESSAGES[column].format(got=got)))
    return [Problem(c, np.flatnonzero(m), t) for c, m, t in found if m.any()]


def _candidate_duplicates(out: pd.DataFrame) -> np.ndarray:
    """Positions of rows whose numbers repeat: a superset of the duplicated rows, found fast.

    Equal rows have equal numeric columns, so rows are first matched on a hash of the
    ``float64`` columns alone (pandas canonicalises -0.0 and NaN, so equal values hash
    equal): ~0.1 s for a million rows, where grouping by every column, labels included,
    takes seconds. Only these candidates are then compared exactly on all columns.
    """
    numeric = [c for c in out.columns if out[c].dtype == np.float64]
    try:
        hashes = pd.util.hash_pandas_object(out[numeric] if numeric else out, index=False)
    except (TypeError, ValueError):  # unhashable cells in pass-through columns
        return np.arange(len(out))
    return np.flatnonzero(hashes.duplicated(keep=False).to_numpy())


def _duplicate_problems(out: pd.DataFrame, where: Where) -> list[Problem]:
    if out.shape[1] == 0 or len(out) < 2:
        return []
    candidates = _candidate_duplicates(out)
    if candidates.size < 2:
        return []
    sub = out.iloc[candidates]
    try:
        keys = sub.groupby(list(sub.columns), dropna=False, sort=False).ngroup().to_numpy()
    except (TypeError, ValueError):  # unhashable cells in pass-through columns
        keys = sub.astype(str).groupby(list(sub.columns), sort=False).ngroup().to_numpy()
    first = np.unique(keys, return_index=True)[1]  # ngroup numbers groups 0..k-1
    repeats = np.flatnonzero(first[keys] != np.arange(len(sub)))
    if not repeats.size:
        return []
    pos, earlier = candidates[repeats], candidates[first[keys[repeats]]]
    label = "line" if where.is_file else "row"
    pairs = "; ".join(
        f"{label} {where.labels[i]} repeats {label} {where.labels[j]}"
        for i, j in zip(pos[:5], earlier[:5], strict=True)
    )
    text = (
        f"exact duplicates of earlier rows ({pairs}{'; ...' if pos.size > 5 else ''}). Remove "
        "the repeated rows (or give them distinct run_id values if they are separate runs)."
    )
    return [Problem(None, pos, text)]


def _group_problems(
    group: str, labels: pd.Series | None, present: Sequence[object], min_size: int
) -> list[Problem]:
    if labels is None:
        text = (
            f"the group column '{group}' is not in the table; it has {quote_list(present)}. "
            "Pass the name of an existing column as group."
        )
        return [Problem(group, None, text)]
    empty = labels.isna().to_numpy() | (labels.fillna("").str.strip() == "").to_numpy()
    text = "group labels must be non-empty; give every row a group label or remove these rows."
    problems = [Problem(group, np.flatnonzero(empty), text)] if empty.any() else []
    counts = labels[~empty].value_counts(sort=False)
    small = counts[counts < min_size].sort_index()
    if len(small):
        listed = ", ".join(f"'{k}' ({c} row{'s' * (c != 1)})" for k, c in small.iloc[:5].items())
        more = f" and {len(small) - 5} more" if len(small) > 5 else ""
        text = (
            f"groups with fewer than {min_size} rows: {listed}{more}. Add runs to these groups, "
            "remove their rows, or lower min_group_size."
        )
        rows = np.flatnonzero(labels.isin(small.index).to_numpy() & ~empty)
        problems.append(Problem(group, rows, text))
    return problems


def _validate(
    frame: pd.DataFrame,
    *,
    where: Where,
    group: str | None,
    min_group_size: int,
    problems: list[Problem],
) -> pd.DataFrame:
    size = min_group_size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ConfigError(f"min_group_size must be an integer >= 1; got {size!r}.")
    if group is not None and not isinstance(group, str):
        raise ConfigError(f"group must be a column name (str) or None; got {group!r}.")
    columns = list(frame.columns)
    # the first column of each name is used; a parsed CSV never repeats names (pandas
    # renames them and read_csv reports them), a DataFrame may
    raw = {c: frame.iloc[:, columns.index(c)] for c in dict.fromkeys(columns)}
    for name, count in Counter(columns).items():
        if count > 1:
            text = f"the table has {count} columns named '{name}'; keep one column per name."
            problems.append(Problem(str(name), None, text))
    present = [str(c) for c in raw]
    for name in (c for c in REQUIRED_COLUMNS if c not in raw):
        text = f"required column '{name}' is missing; the table has {quote_list(present)}."
        problems.append(Problem(name, None, text + _missing_hint(name, present)))
    n_rows = len(frame)
    if n_rows == 0:
        text = "the table has no rows (only a header?); add at least one training run."
        problems.append(Problem(None, None, text))
    values, text_mask = {}, {}
    for name in NUMERIC_COLUMNS:
        if name in raw:
            values[name], text_mask[name] = _to_float(raw[name])
    labels = {c: _to_str(s) for c, s in raw.items() if c in STRING_COLUMNS or c == group}
    if n_rows:
        problems.extend(_value_problems(values, text_mask, raw))
    data: dict[object, object] = {c: values.get(c, labels.get(c)) for c in _SCHEMA_ORDER}
    data = {c: v for c, v in data.items() if v is not None}
    for name, series in raw.items():
        if name not in data:
            data[name] = labels[name] if name in labels else series.reset_index(drop=True)
    out = pd.DataFrame(data, index=pd.RangeIndex(n_rows))
    problems.extend(_duplicate_problems(out, where))
    if group is not None:
        problems.extend(_group_problems(group, labels.get(group), present, min_group_size))
    if problems:
        raise_problems(problems, where)
    return out


def runs_dataset(runs: pd.DataFrame) -> xr.Dataset:
    """Convert the runs table to an ``xr.Dataset`` along ``run`` (stored in saved files).

    Text columns are stored as strings, with missing text as ``""``.
    """
    data = {}
    for col in runs.columns:
        series = runs[col]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            data[col] = ("run", series.to_numpy(dtype=float))
        else:
            data[col] = (
                "run",
                series.astype(object).where(series.notna(), "").astype(str).to_numpy(),
            )
    ds = xr.Dataset(data, coords={"run": np.arange(len(runs))})
    for name, attrs in (("N", N_ATTRS), ("D", D_ATTRS), ("loss", LOSS_ATTRS)):
        ds[name].attrs.update(attrs)
    return ds


def runs_from_dataset(ds: xr.Dataset) -> pd.DataFrame:
    """Inverse of :func:`runs_dataset`: the runs table stored in a saved fit."""
    frame = pd.DataFrame({name: ds[name].values for name in ds.data_vars})
    for col in frame.columns:
        if frame[col].dtype.kind in "OSU" or pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].astype(str)
    return frame
