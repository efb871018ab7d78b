"""Catalogue of the datasets bundled with the package: discover, verify and load them.

Each bundled dataset is a folder ``forecast/_data/<name>/`` holding ``runs.csv`` (or,
for table kinds, the CSV files listed in its metadata), ``SOURCE.md`` (origin, license,
transformation), ``LICENSE`` (the upstream notice) and ``meta.json``::

    {"name", "title", "kind": "runs" | "published_models" | ..., "license", "citation",
     "default_group": column name or null, "group_columns": [...], "rows": int,
     "files": {"runs.csv": "<sha256 hex>", ...}}

Folders are discovered at run time through :mod:`importlib.resources`, so the catalogue
works from a source checkout and from an installed wheel alike, and adding a dataset needs
no code change. Every load recomputes the SHA-256 of each listed file and compares it with
``meta.json``: a bundled table that was edited by hand or corrupted is refused rather than
silently fitted. How a table is parsed and validated depends on its ``kind``: kind
``"runs"`` goes through :func:`forecast.data.runs.load_runs`; every other kind is checksummed
and parsed only, until it gets its own validator (one function in ``_KIND_LOADERS``).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from forecast.data.published_models import validate_published_models
from forecast.data.runs import load_runs, validate_runs
from forecast.errors import ConfigError, DataError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["list_datasets", "load_dataset"]

_TABLE = "runs.csv"
_META = "meta.json"
_META_KEYS = ("name", "title", "kind", "license", "citation", "default_group", "files", "rows")


def _data_root() -> Traversable:
    """Return the folder holding one sub-folder per bundled dataset."""
    return resources.files("forecast").joinpath("_data")


def _dataset_names() -> list[str]:
    root = _data_root()
    if not root.is_dir():
        return []
    return sorted(
        entry.name for entry in root.iterdir() if entry.is_dir() and entry.joinpath(_META).is_file()
    )


def _read_meta(name: str) -> dict:
    shown = f"{name}/{_META}"
    try:
        meta = json.loads(_data_root().joinpath(name).joinpath(_META).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{shown}: cannot read the dataset metadata: {exc}.", path=shown) from exc
    if not isinstance(meta, dict):
        raise DataError(f"{shown}: expected a JSON object.", path=shown)
    missing = [key for key in _META_KEYS if key not in meta]
    if missing:
        raise DataError(
            f"{shown}: metadata is missing {', '.join(repr(k) for k in missing)}.", path=shown
        )
    if meta["name"] != name:
        raise DataError(
            f"{shown}: metadata names the dataset {meta['name']!r} but its folder is {name!r}.",
            path=shown,
        )
    files = meta["files"]
    if not isinstance(files, dict) or not files:
        raise DataError(f"{shown}: 'files' must map each table file to its sha256.", path=shown)
    return meta


def _main_table(meta: Mapping) -> str:
    """Name the file load_dataset returns: ``runs.csv``, else the first file listed."""
    return _TABLE if _TABLE in meta["files"] else next(iter(meta["files"]))


def _verified_bytes(name: str, fname: str, expected: str) -> bytes:
    """Read one bundled file and check it against its recorded SHA-256."""
    shown = f"{name}/{fname}"
    try:
        data = _data_root().joinpath(name).joinpath(fname).read_bytes()
    except OSError as exc:
        raise DataError(
            f"{shown}: file listed in {name}/{_META} is missing or unreadable ({exc}). "
            "Reinstall the package.",
            path=shown,
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{shown}: sha256 mismatch: {name}/{_META} records {expected}, the file has "
            f"{actual}. The bundled file was modified or corrupted; reinstall the package "
            "or rebuild the dataset with its script under scripts/datasets/.",
            path=shown,
        )
    return data


def _load_runs_kind(data: bytes, shown: str, meta: Mapping) -> pd.DataFrame:
    """Kind ``"runs"``: the tidy runs schema, validated by :func:`forecast.data.runs.load_runs`."""
    buffer = io.BytesIO(data)
    buffer.name = shown
    runs = load_runs(buffer)
    group = meta.get("default_group")
    if group is not None:
        runs = validate_runs(runs, path=shown, group=group)
    return runs


def _load_table_kind(data: bytes, shown: str, meta: Mapping) -> pd.DataFrame:
    """Any kind without its own validator: parse the CSV (checksum already verified)."""
    try:
        return pd.read_csv(io.BytesIO(data), encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{shown}: cannot parse the CSV file: {exc}.", path=shown) from exc


def _load_published_models_kind(data: bytes, shown: str, meta: Mapping) -> pd.DataFrame:
    """Kind ``"published_models"``: published models with N, D and date, validated."""
    return validate_published_models(_load_table_kind(data, shown, meta), path=shown)


#: How each dataset kind is parsed and validated: ``loader(bytes, shown_path, meta)``.
#: Kinds not listed (e.g. ``"table"``) are parsed by ``_load_table_kind``; giving a kind
#: its own validator is one function added here.
_KIND_LOADERS: dict[str, Callable[[bytes, str, Mapping], pd.DataFrame]] = {
    "runs": _load_runs_kind,
    "published_models": _load_published_models_kind,
}


def load_dataset(name: str, *, table: str | None = None) -> pd.DataFrame:
    r"""Load a bundled dataset after checking its files against their SHA-256.

    Parameters
    ----------
    name : str
        Dataset name, the folder under ``forecast/_data`` (see :func:`list_datasets`).
    table : str, optional
        Which file of a multi-file dataset to return, e.g. ``"stock_anchors.csv"`` of
        ``published_fits``; one of the files listed in its ``meta.json``. ``None`` (default)
        returns the main table: ``runs.csv``, else the first file listed. Every listed
        file is checksummed whichever is returned; the kind's validator applies to the
        main table, other files are parsed only.

    Returns
    -------
    pandas.DataFrame
        For kind ``"runs"``, the tidy runs table of :func:`forecast.data.runs.load_runs`
        (``N`` parameters, ``D`` tokens, ``loss`` nats/token, ...), RangeIndex. For other
        kinds, the parsed ``runs.csv``, or the first file listed in ``meta.json`` when
        there is none (see the dataset's ``SOURCE.md`` for its columns and units); with
        ``table``, that file.

    Raises
    ------
    ConfigError
        If no bundled dataset has this name, or ``table`` is not one of its files; the
        message lists the valid names.
    DataError
        If a listed file is missing, its SHA-256 differs from ``meta.json``, the metadata
        is malformed, the row count differs from ``meta["rows"]``, or the table fails
        validation; the message names the file.

    Notes
    -----
    Integrity is checked by recomputing

    .. math:: h = \operatorname{SHA256}(\text{file bytes})

    for every file in ``meta["files"]`` and comparing it with the recorded hex digest.

    References
    ----------
    .. [1] Gadre et al., "Language models scale reliably with over-training and on
       downstream tasks", 2024 (arXiv:2403.08540): the ``gadre2024`` dataset.

    Examples
    --------
    >>> runs = load_dataset("gadre2024")
    >>> c4 = runs[runs["eval_set"] == "c4_val"]
    >>> len(runs), len(c4), sorted(c4["corpus"].unique())
    (760, 95, ['c4', 'redpajama', 'refinedweb'])
    >>> anchors = load_dataset("published_fits", table="stock_anchors.csv")
    >>> float(anchors.loc[0, "value"])
    300000000000000.0
    """
    names = _dataset_names()
    if not isinstance(name, str) or name not in names:
        raise ConfigError(
            f"unknown dataset {name!r}; bundled datasets: "
            f"{', '.join(repr(n) for n in names) or '(none found)'}."
        )
    meta = _read_meta(name)
    payload = {
        fname: _verified_bytes(name, fname, str(digest)) for fname, digest in meta["files"].items()
    }
    main = _main_table(meta)
    if table is None:
        table = main
    elif table not in payload:
        raise ConfigError(
            f"dataset {name!r} has no table {table!r}; its tables: "
            f"{', '.join(repr(f) for f in payload)}."
        )
    shown = f"{name}/{table}"
    if table == main:
        loader = _KIND_LOADERS.get(str(meta["kind"]), _load_table_kind)
        expected = meta["rows"]
    else:
        loader = _load_table_kind
        expected = (meta.get("file_rows") or {}).get(table)
    frame = loader(payload[table], shown, meta)
    if expected is not None and len(frame) != expected:
        raise DataError(
            f"{shown}: has {len(frame)} rows but {name}/{_META} records {expected}.",
            path=shown,
        )
    return frame


def _range(table: pd.DataFrame, column: str) -> tuple[float, float]:
    if column not in table.columns:
        return (np.nan, np.nan)
    values = pd.to_numeric(table[column], errors="coerce")
    return (float(values.min()), float(values.max()))


def list_datasets() -> pd.DataFrame:
    r"""List the bundled datasets, one row each, after loading and verifying every one.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``title``, ``kind``, ``rows``, ``groups`` (number of distinct
        labels in the ``default_group`` column; 1 when the dataset has none),
        ``default_group``, ``N_min``/``N_max`` (parameters), ``D_min``/``D_max``
        (tokens; NaN when the table has no such column) and ``license``; sorted by
        name, RangeIndex.

    Raises
    ------
    DataError
        If a bundled dataset fails its checksum or validation (see :func:`load_dataset`).

    Notes
    -----
    Ranges are :math:`[\min_i N_i, \max_i N_i]` and :math:`[\min_i D_i, \max_i D_i]` over
    all rows, every eval set included.

    References
    ----------
    .. [1] Gadre et al., "Language models scale reliably with over-training and on
       downstream tasks", 2024 (arXiv:2403.08540).

    Examples
    --------
    >>> table = list_datasets().set_index("name")
    >>> str(table.loc["gadre2024", "kind"]), int(table.loc["gadre2024", "rows"])
    ('runs', 760)
    """
    rows = []
    for name in _dataset_names():
        table = load_dataset(name)
        meta = _read_meta(name)
        group = meta["default_group"]
        n_min, n_max = _range(table, "N")
        d_min, d_max = _range(table, "D")
        rows.append(
            {
                "name": name,
                "title": str(meta["title"]),
                "kind": str(meta["kind"]),
                "rows": int(len(table)),
                "groups": int(table[group].nunique()) if group in table.columns else 1,
                "default_group": group,
                "N_min": n_min,
                "N_max": n_max,
                "D_min": d_min,
                "D_max": d_max,
                "license": str(meta["license"]),
            }
        )
    columns = [
        "name",
        "title",
        "kind",
        "rows",
        "groups",
        "default_group",
        "N_min",
        "N_max",
        "D_min",
        "D_max",
        "license",
    ]
    return pd.DataFrame(rows, columns=columns)
