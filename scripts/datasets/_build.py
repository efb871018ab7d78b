"""Shared helpers for the dataset build scripts in this folder (not part of the package).

Every build script reads a raw copy from ``--shared DIR`` (the directory that holds the
raw dataset folders, e.g. ``olmo_ladder_bhagia2024/``) and writes one bundled dataset
folder ``<--out DIR>/<name>/`` with ``runs.csv`` (or other table files), ``SOURCE.md``,
``LICENSE`` and ``meta.json``. Output is deterministic: the same input gives the same
bytes. Files are written to a temporary file in the target directory and moved into
place with ``os.replace``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
#: Default output root: the package's bundled-data folder.
DEFAULT_OUT = HERE.parents[1] / "forecast" / "_data"
APACHE_2_0_TEXT = (HERE / "APACHE-2.0.txt").read_text(encoding="utf-8")

MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def parse_args(doc: str) -> tuple[Path, Path]:
    """Parse ``--shared DIR`` (required) and ``--out DIR`` (default: forecast/_data)."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument(
        "--shared",
        required=True,
        type=Path,
        help="directory holding the raw dataset folders (e.g. olmo_ladder_bhagia2024/)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output root; the dataset is written to OUT/<name>/ (default: forecast/_data)",
    )
    args = parser.parse_args()
    return args.shared, args.out


def round_sig(x, digits: int = 6):
    """Round to ``digits`` significant digits (NaN passes through), elementwise."""
    arr = np.asarray(x, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr) & (arr != 0)
    mag = np.floor(np.log10(np.abs(arr[ok])))
    scale = 10.0 ** (digits - 1 - mag)
    out[ok] = np.round(arr[ok] * scale) / scale
    out[np.isfinite(arr) & (arr == 0)] = 0.0
    # Re-parse through the shortest decimal repr so the CSV shows e.g. 2.63199, not
    # 2.6319900000000003.
    flat = [float(f"{v:.{digits}g}") if np.isfinite(v) else v for v in out.ravel()]
    res = np.asarray(flat, dtype=float).reshape(arr.shape)
    return float(res) if res.ndim == 0 else res


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder + os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; package data must be world-readable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def csv_bytes(df: pd.DataFrame) -> bytes:
    """Serialise a table deterministically: UTF-8, ``\\n`` line ends, no index."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def write_dataset(
    out_root: Path,
    name: str,
    *,
    tables: dict[str, pd.DataFrame | bytes],
    title: str,
    license_name: str,
    citation: str,
    source_md: str,
    license_text: str,
    kind: str = "runs",
    default_group: str | None = None,
    group_columns: tuple[str, ...] = ("group",),
) -> dict[str, str]:
    """Write ``out_root/name/`` with the tables, SOURCE.md, LICENSE and meta.json.

    meta.json holds ``name``, ``title``, ``kind``, ``license`` (``license_name``),
    ``citation``, ``default_group`` and ``group_columns``, in that order, then ``rows``
    (the row count of ``runs.csv``, or of the first table when there is none),
    ``file_rows`` (every table's row count, when there is more than one table) and
    ``files`` (the SHA-256 of each table file).
    A table given as ``bytes`` is written unchanged (byte copy; its row count is the number
    of lines minus the header).
    Returns the ``files`` mapping.
    """
    folder = out_root / name
    files: dict[str, str] = {}
    rows: dict[str, int] = {}
    for fname, table in tables.items():
        if isinstance(table, bytes):
            data = table
            rows[fname] = len(pd.read_csv(io.BytesIO(data)))
        else:
            data = csv_bytes(table)
            rows[fname] = len(table)
        atomic_write(folder / fname, data)
        files[fname] = sha256_bytes(data)
    meta = {
        "name": name,
        "title": title,
        "kind": kind,
        "license": license_name,
        "citation": citation,
        "default_group": default_group,
        "group_columns": list(group_columns),
        "rows": rows.get("runs.csv", next(iter(rows.values()))),
    }
    if len(rows) > 1:
        meta["file_rows"] = rows
    meta["files"] = files
    atomic_write(folder / "meta.json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    atomic_write(folder / "SOURCE.md", source_md.encode("utf-8"))
    atomic_write(folder / "LICENSE", license_text.encode("utf-8"))
    return files


def colpret_license(changes: str) -> str:
    """LICENSE text for data taken from IBM/ColPret (MIT, IBM 2024).

    ``changes`` continues the line ``... Estimation". Changes: `` and carries its own line
    breaks; it says what the build script changed.
    """
    return (
        "Data from IBM/ColPret (https://github.com/IBM/ColPret), data release of\n"
        '"A Hitchhiker\'s Guide to Scaling Law Estimation". Changes: '
        + changes
        + "\n\nMIT License\n\nCopyright (c) 2024 International Business Machines\n\n"
        + MIT_TEXT
    )


def apache_license(repo: str, changes: str) -> str:
    """LICENSE text for data derived from the Apache-2.0 GitHub repository ``repo``.

    ``repo`` is ``owner/name``; ``changes`` is one line saying what the build script changed.
    The full Apache License 2.0 text follows.
    """
    return (
        f"Data derived from {repo} (https://github.com/{repo}),\n"
        "licensed under the Apache License, Version 2.0 (full text below).\n"
        f"Changes: {changes}\n\n" + APACHE_2_0_TEXT
    )


def columns_table(rows: list[tuple[str, str, str]]) -> str:
    """Markdown table ``| column | unit | meaning |`` from (column, unit, meaning) tuples."""
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| {c} | {u} | {m} |" for c, u, m in rows]
    return "\n".join(lines)


def md_table(df: pd.DataFrame) -> str:
    """A small GitHub-markdown table (no external dependency), values as printed by str()."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:.6g}"
    return str(v).replace("|", "/").replace("\n", " ")


def residual_sd(groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, int]:
    """Pooled residual SD of ``y`` around a straight line in ``log(x)``, per group.

    Each group is ``(x, y)``; a line ``y = a + b log x`` is fitted by least squares to each
    group with at least 3 points, and the residual sums of squares are pooled with
    ``n - 2`` degrees of freedom per group. Returns ``(sd, dof)``.
    """
    rss = 0.0
    dof = 0
    for x, y in groups:
        if len(x) < 3:
            continue
        design = np.column_stack([np.ones(len(x)), np.log(x)])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        rss += float(np.sum((y - design @ coef) ** 2))
        dof += len(x) - 2
    return math.sqrt(rss / dof), dof


def thin_by_fraction(fraction: np.ndarray, lo: float, k: int) -> np.ndarray:
    """Indices of at most ``k`` checkpoints with fraction >= ``lo``, spread evenly.

    When at most ``k`` checkpoints are eligible, all are kept. Otherwise targets are ``k``
    evenly spaced fractions from ``lo`` to 1; each picks the nearest
    eligible checkpoint (ties to the later one); duplicates are dropped. The checkpoint
    with the largest fraction (the end of training) is always kept.
    """
    fraction = np.asarray(fraction, dtype=float)
    eligible = np.flatnonzero(fraction >= lo - 1e-12)
    if eligible.size <= k:
        return eligible[np.argsort(fraction[eligible], kind="stable")]
    chosen = {int(eligible[np.argmax(fraction[eligible])])}
    for target in np.linspace(lo, 1.0, k):
        dist = np.abs(fraction[eligible] - target)
        best = eligible[dist == dist.min()]
        chosen.add(int(best.max()))
    chosen_arr = np.array(sorted(chosen, key=lambda i: (fraction[i], i)))
    return chosen_arr[-k:] if chosen_arr.size > k else chosen_arr
