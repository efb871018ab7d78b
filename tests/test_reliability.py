"""Reliability (issue 9): bad input fails loudly and located, results reproduce, nothing is lost.

* Generated tables with known defects (NaN, inf, zero and negative sizes, text in numeric
  columns, empty cells, duplicate rows, one-point groups, huge and tiny magnitudes, mixed
  units) through every loader: ``load_runs`` on CSV files and streams and on DataFrames,
  the frontier validator and ``load_dataset`` on tampered copies of the bundled data. Each
  test runs at least ``CASES`` generated cases and checks that count; every failure must be
  a ``DataError`` naming the column and the line (or row label) of every defect.
* The same data, config and seed give bit-identical posteriors in two processes.
* A save killed with SIGKILL mid-write leaves the previous file intact and loadable.
* Predictions on large grids are summarised in bounded memory.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import importlib.metadata
import io
import json
import math
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast import _idata, load, predict, predict_summary, save
from forecast.data import catalog
from forecast.data.published_models import validate_published_models
from forecast.data.runs import load_runs, validate_runs
from forecast.errors import ConfigError, DataError, IncompatibleFileError

#: The module (``forecast.predict`` as an attribute is the function of that name).
PREDICT = importlib.import_module("forecast.predict")
ROOT = Path(__file__).resolve().parents[1]
#: Generated cases each loader must run (issue 9 acceptance: >= 500 per loader in CI).
CASES = 500
#: Cases actually run, per test, printed at the end of the module (``pytest -s``).
RUN: Counter[str] = Counter()
#: How they ended (loaded, or rejected with a located DataError), per test.
OUTCOMES: dict[str, dict[str, int]] = {}

FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    if RUN:
        print("\ngenerated cases run: " + ", ".join(f"{k} {v}" for k, v in sorted(RUN.items())))
        for name, counts in OUTCOMES.items():
            print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


# ------------------------------------------------------------------ reading messages back


@dataclass
class Found:
    """One problem as the message lists it."""

    column: str | None
    labels: list[str]
    text: str


_BODY = re.compile(
    r"(?:column '(?P<column>[^']*)'(?:, )?)?"
    r"(?:(?:lines?|rows?) (?P<labels>[^()]*?)(?: and \d+ more)? \(\d+ of \d+\))?: (?P<text>.*)",
    re.S,
)


def found_problems(err: DataError) -> list[Found]:
    """Split a DataError message into the problems it lists."""
    message = str(err)
    prefix = f"{err.path}: "
    assert message.startswith(prefix), message
    body = message[len(prefix) :]
    bodies = body.split("\n  - ")[1:] if "\n  - " in body else [body]
    out = []
    for b in bodies:
        m = _BODY.match(b)
        assert m, b
        labels = [s.strip() for s in (m["labels"] or "").split(",") if s.strip()]
        out.append(Found(m["column"], labels, m["text"]))
    return out


def assert_located(err: DataError, defects: list[tuple[str | None, object]]) -> None:
    """Every defect (column or None for a row-level one, row label) is named in the message."""
    found = found_problems(err)
    for column, label in defects:
        hits = [f for f in found if f.column == column and str(label) in f.labels]
        assert hits, f"defect {column!r} at {label!r} not located in:\n{err}"
    assert err.column == found[0].column
    if found[0].labels:
        assert [str(r) for r in err.rows[:5]] == found[0].labels[:5]


# ------------------------------------------------------------------ generated runs tables

NUMERIC_OPTIONAL = ("unique_tokens", "loss_sd", "N_non_embedding", "checkpoint_fraction")
NUMERIC_OPTIONAL += ("bytes_per_token", "C")
LABELS = ("group", "run_id", "source", "other", "flag", "seed")  # the last three pass through


@dataclass
class Table:
    """A generated runs table (cells as Python objects) and the defects put into it."""

    columns: list[str]
    rows: list[list[object]]
    defects: list[tuple[str | None, int]] = field(default_factory=list)  # (column, row)


def _bad_value(kind: str, column: str, row: dict) -> object:
    value = row[column]
    return {
        "nan": math.nan,
        "empty": None,
        "inf": math.inf,
        "-inf": -math.inf,
        "negative": -abs(value) if value else -1.0,
        "zero": 0.0,
        "huge": "1e400",  # overflows to inf when parsed
        "text": "seven billion",
        "comma": "1,5",  # a decimal comma
        "unit": "7B",
        "bool": True,
    }[kind]


#: Defects of one cell: (kind, columns it applies to). Every one must be flagged.
CELL_DEFECTS = [
    (k, ("N", "D", "loss", *NUMERIC_OPTIONAL))
    for k in ("nan", "empty", "inf", "-inf", "negative", "huge", "text", "comma", "unit", "bool")
] + [("zero", ("N", "D", "loss", "unique_tokens", "N_non_embedding", "checkpoint_fraction"))]
#: Mixed units: plausible-looking numbers in the wrong unit.
UNIT_DEFECTS = {
    "N in billions": ("N", lambda r: 7.0),
    "D in millions": ("D", lambda r: r["N"] * 1e-5),
    "loss as perplexity": ("loss", lambda r: 33.1),
    "U above D": ("unique_tokens", lambda r: r["D"] * 2.0),
    "N_non_embedding above N": ("N_non_embedding", lambda r: r["N"] * 1.5),
    "fraction above 1": ("checkpoint_fraction", lambda r: 1.5),
}


@st.composite
def runs_tables(draw, *, group_checks: bool = False) -> Table:
    optional = draw(st.lists(st.sampled_from(NUMERIC_OPTIONAL + LABELS), unique=True))
    columns = ["N", "D", "loss", *optional]
    draw(st.randoms(use_true_random=False)).shuffle(columns)
    n_rows = draw(st.integers(1, 12))
    scale = draw(st.sampled_from([1.0, 1e-300, 1e300]))  # tiny and huge magnitudes
    gen = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))  # values: cheap to draw
    u = gen.uniform(size=(n_rows, 8)).tolist()  # Python floats
    rows = []
    for i in range(n_rows):
        N = 10.0 ** (3.5 + 0.7 * i + 0.6 * u[i][0])  # distinct: no chance duplicates
        D = N * 10.0 ** (-2.9 + 6.9 * u[i][1])
        row = {
            "N": N,
            "D": D,
            "loss": 1e-3 + 19.8 * u[i][2],
            "unique_tokens": D * max(u[i][3], 1e-3),
            "loss_sd": 0.5 * u[i][4],
            "N_non_embedding": N * max(u[i][5], 0.05),
            "checkpoint_fraction": max(u[i][6], 1e-3),
            "bytes_per_token": (0.5 + 7.5 * u[i][7]) * scale,
            "C": 6.0 * N * D,
            "group": ["a", "b", "007", "c4 val"][gen.integers(4)],
            "run_id": f"r{i}",
            "source": ["Hoffmann 2022, Table A9", "", "x"][gen.integers(3)],
            "other": ["x", 1, 2.5, None][gen.integers(4)],
            "flag": bool(gen.integers(2)),
            "seed": int(gen.integers(2**40)),
        }
        rows.append(row)
    table = Table(columns, [[r[c] for c in columns] for r in rows])
    kinds = draw(st.lists(st.sampled_from(["cell", "cell", "unit", "group"]), max_size=4))
    for choice in kinds:
        if choice == "group" and not (group_checks and "group" in columns):
            continue
        i = draw(st.integers(0, n_rows - 1))
        if choice == "group":  # a label of its own: a one-point group (checked with size 2)
            column, value = "group", f"solo{i}"
        elif choice == "unit":
            column, make = UNIT_DEFECTS[draw(st.sampled_from(sorted(UNIT_DEFECTS)))]
            value = make(rows[i])
        else:
            kind, allowed = draw(st.sampled_from(CELL_DEFECTS))
            column = draw(st.sampled_from(allowed))
            value = _bad_value(kind, column, rows[i])
        if column not in columns or any(r == i for _, r in table.defects):
            continue  # one defect per row keeps the expected messages unambiguous
        table.rows[i][columns.index(column)] = value
        table.defects.append((column, i))
    # exact duplicates of rows without a defect, appended at the end
    for _ in range(draw(st.integers(0, 2))):
        clean = [i for i in range(n_rows) if all(r != i for _, r in table.defects)]
        if clean:
            i = draw(st.sampled_from(clean))
            table.rows.append(list(table.rows[i]))
            table.defects.append((None, len(table.rows) - 1))
    return table


def _group_defects(table: Table) -> list[tuple[str, int]]:
    """One-point groups of the final table (generated labels can collide into one group)."""
    if "group" not in table.columns:
        return []
    k = table.columns.index("group")
    counts = Counter(r[k] for r in table.rows)
    return [("group", i) for i, r in enumerate(table.rows) if counts[r[k]] == 1]


def to_csv(table: Table, blank_before: frozenset[int] = frozenset()) -> str:
    """CSV text of the table, with a blank line before each row in ``blank_before``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for i, row in enumerate(table.rows):
        if i in blank_before:
            buffer.write("\n")
        writer.writerow(
            ["" if v is None else repr(float(v)) if isinstance(v, float) else v for v in row]
        )
    return buffer.getvalue()


def expected_frame(table: Table) -> pd.DataFrame:
    frame = pd.DataFrame(table.rows, columns=table.columns)
    for c in frame.columns:
        if c in ("N", "D", "loss", *NUMERIC_OPTIONAL):
            frame[c] = frame[c].astype(float)
    return frame


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@pytest.mark.slow
def test_load_runs_csv_generated(scratch):
    """CSV files (path, streamed) and the same text as a stream: located errors, same outcome."""
    outcomes = Counter()

    @FUZZ
    @given(table=runs_tables(), blanks=st.frozensets(st.integers(0, 13), max_size=3))
    def run(table: Table, blanks: frozenset[int]) -> None:
        RUN["load_runs(csv)"] += 1
        text = to_csv(table, blanks)
        line = [i + 2 + sum(b <= i for b in blanks) for i in range(len(table.rows))]
        path = scratch / "runs.csv"
        path.write_text(text, encoding="utf-8")
        stream = io.StringIO(text)
        stream.name = str(path)
        results = []
        for source in (path, stream):
            try:
                results.append(load_runs(source))
            except DataError as err:
                results.append(err)
        by_path, by_stream = results
        if not table.defects:
            assert isinstance(by_path, pd.DataFrame), by_path
            want = expected_frame(table)
            for c in ("N", "D", "loss", *NUMERIC_OPTIONAL):
                if c in want:
                    np.testing.assert_array_equal(by_path[c].to_numpy(), want[c].to_numpy())
            pd.testing.assert_frame_equal(by_path, by_stream)
            if blanks:  # blank lines are skipped and change nothing, not even dtypes
                pd.testing.assert_frame_equal(by_path, load_runs(io.StringIO(to_csv(table))))
            outcomes["valid"] += 1
            return
        assert isinstance(by_path, DataError), f"accepted a table with {table.defects}"
        assert by_path.path == str(path)
        assert_located(by_path, [(c, line[i]) for c, i in table.defects])  # header = line 1
        assert isinstance(by_stream, DataError) and str(by_stream) == str(by_path)
        outcomes["rejected"] += 1

    run()
    OUTCOMES["load_runs(csv)"] = dict(outcomes)
    assert RUN["load_runs(csv)"] >= CASES
    assert outcomes["valid"] >= 50 and outcomes["rejected"] >= 200, outcomes


@pytest.mark.slow
def test_load_runs_dataframe_generated():
    """DataFrames with arbitrary index labels, through load_runs and validate_runs(group=)."""
    outcomes = Counter()

    @FUZZ
    @given(
        table=runs_tables(group_checks=True),
        group_check=st.booleans(),
        numeric=st.booleans(),
        start=st.integers(-50, 50),
    )
    def run(table: Table, group_check: bool, numeric: bool, start: int) -> None:
        RUN["load_runs(DataFrame)"] += 1
        frame = pd.DataFrame(table.rows, columns=table.columns, dtype=object)
        if numeric:  # numeric columns as float64 where every cell is a real number
            for c in [c for c in frame.columns if c in ("N", "D", "loss", *NUMERIC_OPTIONAL)]:
                cells = frame[c].tolist()
                if all(type(v) in (int, float) for v in cells):
                    frame[c] = np.array(cells, dtype=float)
        labels = [start + 3 * k for k in range(len(frame))][::-1]  # descending, not 0..n-1
        frame.index = labels
        before = frame.copy(deep=True)
        defects = [(c, labels[i]) for c, i in table.defects if c != "group"]
        try:
            if group_check and "group" in frame.columns:
                defects += [(c, labels[i]) for c, i in _group_defects(table)]
                out = validate_runs(frame, group="group", min_group_size=2)
            else:
                out = load_runs(frame)
        except DataError as err:
            assert defects, f"rejected a clean table:\n{err}"
            assert err.path == "<DataFrame>"
            assert_located(err, defects)
            outcomes["rejected"] += 1
        else:
            assert not defects, f"accepted a table with {defects}"
            assert isinstance(out.index, pd.RangeIndex)
            np.testing.assert_array_equal(out["N"].to_numpy(), frame["N"].to_numpy(float))
            outcomes["valid"] += 1
        pd.testing.assert_frame_equal(frame, before)  # never mutated

    run()
    OUTCOMES["load_runs(DataFrame)"] = dict(outcomes)
    assert RUN["load_runs(DataFrame)"] >= CASES
    assert outcomes["valid"] >= 50 and outcomes["rejected"] >= 200, outcomes


# ------------------------------------------------------------------ the frontier validator

BAD_DATES = ["2023/01/05", "05-01-2023", "2023-13-01", "1899-12-31", "2101-01-01", "", "soon"]
FRONTIER_DEFECTS = {
    "date": BAD_DATES,
    "N": [None, 0, -7e9, math.inf, "70B", "nan"],
    "D": [None, 0.0, -1.4e12, -math.inf, "1.4T"],
    "year": [math.nan, math.inf, "2023ish"],
    "dataset_tokens": [0, -1.0, "lots"],
    "epochs": [0, -2.0, None],
    "C": [-1e24, 0, math.inf, "1e24 FLOP"],
    "C_ratio": [-0.5, 0],
    "frontier": ["maybe", 2, "yes please"],
    "epochs_assumed": ["unknown", -1],
    "model": ["", "   ", None],
}


@st.composite
def frontier_tables(draw) -> Table:
    optional = draw(st.lists(st.sampled_from(list(FRONTIER_DEFECTS)[3:] + ["organization"])))
    columns = ["model", "date", "N", "D", *dict.fromkeys(o for o in optional if o != "model")]
    gen = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows = []
    for i in range(draw(st.integers(1, 10))):
        N = 10.0 ** float(gen.uniform(6, 13))
        epochs = float(gen.uniform(0.1, 10))
        cells = {
            "model": f"model-{i}",
            "date": f"{gen.integers(1950, 2031)}-{gen.integers(1, 13):02d}-"
            f"{gen.integers(1, 29):02d}",
            "N": N,
            "D": N * 20 * epochs,
            "year": float(gen.uniform(1950, 2031)),
            "dataset_tokens": N * 20,
            "epochs": epochs,
            "C": [None, 6.0 * N * N * 20 * epochs][gen.integers(2)],
            "C_ratio": [None, 1.0, 3.2][gen.integers(3)],
            "frontier": [True, False, "True", "false", 1, 0, "yes"][gen.integers(7)],
            "epochs_assumed": [True, False, "True", "False"][gen.integers(4)],
            "organization": ["DeepMind", "", None, "Meta, FAIR"][gen.integers(4)],
        }
        rows.append([cells[c] for c in columns])
    table = Table(columns, rows)
    for _ in range(draw(st.integers(0, 3))):
        column = draw(st.sampled_from(columns))
        if column == "organization":
            continue
        i = draw(st.integers(0, len(rows) - 1))
        if any(r == i for _, r in table.defects):
            continue
        table.rows[i][columns.index(column)] = draw(st.sampled_from(FRONTIER_DEFECTS[column]))
        table.defects.append((column, i))
    return table


@pytest.mark.slow
def test_validate_published_models_generated():
    """In-memory tables (row labels) and the same table read from CSV text (line numbers)."""
    outcomes = Counter()

    @FUZZ
    @given(table=frontier_tables(), via_csv=st.booleans())
    def run(table: Table, via_csv: bool) -> None:
        RUN["validate_published_models"] += 1
        if via_csv:
            frame = pd.read_csv(io.StringIO(to_csv(table)))
            path, labels = "runs.csv", [i + 2 for i in range(len(table.rows))]
        else:
            frame = pd.DataFrame(table.rows, columns=table.columns)
            path, labels = None, list(range(len(table.rows)))
        try:
            out = validate_published_models(frame, path=path)
        except DataError as err:
            assert table.defects, f"rejected a clean table:\n{err}"
            assert err.path == (path or "<DataFrame>")
            assert_located(err, [(c, labels[i]) for c, i in table.defects])
            outcomes["rejected"] += 1
        else:
            assert not table.defects, f"accepted a table with {table.defects}"
            assert out["N"].dtype == np.float64 and out["date"].dtype.kind == "M"
            outcomes["valid"] += 1

    run()
    OUTCOMES["validate_published_models"] = dict(outcomes)
    assert RUN["validate_published_models"] >= CASES
    assert outcomes["valid"] >= 50 and outcomes["rejected"] >= 200, outcomes


# ------------------------------------------------------------------ tampered bundled datasets

BUNDLE = resources.files("forecast").joinpath("_data")
NAMES = sorted(e.name for e in BUNDLE.iterdir() if e.is_dir() and e.joinpath("meta.json").is_file())
TAMPERING = [
    "flip_byte",
    "truncate",
    "resign_cell",
    "resign_cut_lines",
    "resign_blank_line",
    "meta_garbage",
    "meta_missing_key",
    "meta_wrong_rows",
    "meta_wrong_name",
    "delete_table",
    "resign_noop",
]
CELL_TAMPERING = ["nan", "-1", "0", "inf", "1e400", "seven", ""]


@pytest.fixture(scope="module")
def originals():
    return {name: catalog.load_dataset(name) for name in NAMES}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_load_dataset_tampered_generated(scratch, originals):
    outcomes = Counter()

    @FUZZ
    @given(
        name=st.sampled_from(NAMES),
        how=st.sampled_from(TAMPERING),
        where=st.floats(0.0, 1.0),
        cell=st.sampled_from(CELL_TAMPERING),
    )
    def run(name: str, how: str, where: float, cell: str) -> None:
        RUN["load_dataset(tampered)"] += 1
        root = scratch / "bundle"
        shutil.rmtree(root, ignore_errors=True)
        folder = root / name
        folder.mkdir(parents=True)
        for entry in BUNDLE.joinpath(name).iterdir():
            if entry.is_file():
                (folder / entry.name).write_bytes(entry.read_bytes())
        meta = json.loads((folder / "meta.json").read_text())
        main = "runs.csv" if "runs.csv" in meta["files"] else next(iter(meta["files"]))
        table = folder / main
        data = table.read_bytes()
        lines = data.split(b"\n")
        body = [k for k in range(1, len(lines)) if lines[k].strip()]
        k = body[min(int(where * len(body)), len(body) - 1)]  # a data line
        expect, column, line = "data", None, None
        if how == "flip_byte":
            pos = min(int(where * len(data)), len(data) - 1)
            table.write_bytes(data[:pos] + bytes([data[pos] ^ 0x5A]) + data[pos + 1 :])
            expect = "sha256"
        elif how == "truncate":
            table.write_bytes(data[: int(where * (len(data) - 1))])
            expect = "sha256"
        elif how.startswith("resign"):
            if how == "resign_cell":
                header = next(csv.reader([lines[0].decode()]))
                fields = next(csv.reader([lines[k].decode()]))
                numeric = [j for j, c in enumerate(header) if c.strip() in ("N", "D", "loss")]
                if numeric and len(fields) == len(header):
                    j = numeric[int(where * len(numeric)) % len(numeric)]
                    fields[j], column, line = cell, header[j].strip(), k + 1
                    buffer = io.StringIO()
                    csv.writer(buffer, lineterminator="").writerow(fields)
                    lines[k] = buffer.getvalue().encode()
            elif how == "resign_cut_lines":
                lines = lines[:k]
            elif how == "resign_blank_line":
                lines.insert(k, b"")
            new = b"\n".join(lines)
            table.write_bytes(new)
            meta["files"][main] = _sha(new)
            (folder / "meta.json").write_text(json.dumps(meta))
            changed = how != "resign_cell" or column is not None
            expect = "data" if changed and how not in ("resign_noop", "resign_blank_line") else "ok"
        elif how == "meta_garbage":
            (folder / "meta.json").write_bytes(data[: int(where * 200)] + b"\x00{")
            expect = "meta"
        elif how == "meta_missing_key":
            key = sorted(meta)[int(where * len(meta)) % len(meta)]
            meta.pop(key)
            (folder / "meta.json").write_text(json.dumps(meta))
            expect = "meta" if key in catalog._META_KEYS else "ok"
        elif how == "meta_wrong_rows":
            meta["rows"] += 1 + int(where * 10)
            (folder / "meta.json").write_text(json.dumps(meta))
            expect = "rows"
        elif how == "meta_wrong_name":
            meta["name"] = name + "_copy"
            (folder / "meta.json").write_text(json.dumps(meta))
            expect = "meta"
        elif how == "delete_table":
            table.unlink()
            expect = "missing"
        with mock.patch.object(catalog, "_data_root", lambda: root):
            try:
                out = catalog.load_dataset(name)
            except DataError as err:
                outcomes[f"{how}: DataError"] += 1
                assert expect != "ok", f"{how} of {name} rejected:\n{err}"
                assert err.path.startswith(f"{name}/"), err.path
                if expect == "sha256":
                    assert "sha256 mismatch" in str(err) and err.path == f"{name}/{main}"
                elif expect == "meta":
                    assert err.path == f"{name}/meta.json"
                elif expect == "missing":
                    assert "missing or unreadable" in str(err)
                elif expect == "rows":
                    assert "rows but" in str(err)
                elif column is not None and meta["kind"] != "table":
                    assert_located(err, [(column, line)])
            except ConfigError as err:
                # meta.json so broken the folder is not a dataset any more
                outcomes[f"{how}: ConfigError"] += 1
                assert expect == "meta" and "unknown dataset" in str(err), err
            else:
                outcomes[f"{how}: loaded"] += 1
                if expect == "ok":
                    pd.testing.assert_frame_equal(out, originals[name])
                else:
                    # only an unvalidated kind may load edited (but re-signed) content
                    assert expect == "data" and meta["kind"] == "table", (how, name)

    run()
    OUTCOMES["load_dataset(tampered)"] = dict(outcomes)
    assert RUN["load_dataset(tampered)"] >= CASES
    rejected = sum(v for k, v in outcomes.items() if not k.endswith("loaded"))
    assert rejected >= 250, outcomes


def test_generated_case_counts():
    """Read by the report: how many cases each loader ran (each test checks its own count)."""
    for name, count in RUN.items():
        assert count >= CASES, (name, count)


# ------------------------------------------------------------------ reproducible across processes

FIT_CHILD = """
import sys, warnings
import numpy as np, pandas as pd
from forecast import SamplerConfig, fit, save
from forecast.errors import ConvergenceWarning
rng = np.random.default_rng(3)
N = np.array([1e7, 3e7, 1e8, 3e8, 1e9, 1e7, 1e8, 1e9])
D = N * np.array([20, 20, 20, 20, 20, 100, 100, 100])
loss = (1.8 + 480 / N**0.35 + 2000 / D**0.37) * np.exp(rng.normal(0, 0.01, N.size))
runs = pd.DataFrame({"N": N, "D": D, "loss": loss})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sampler = SamplerConfig(draws=100, tune=150, chains=2, progress=False)
    result = fit(runs, sampler=sampler, seed=11)
save(result, sys.argv[1])
from forecast.compiled import _MODELS
(entry,) = _MODELS.values()
c = entry["compiled"]
print("callbacks loaded:", c.compiled_logp_func._cache_hits + c.compiled_expand_func._cache_hits)
"""


def _child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.mark.slow
def test_same_seed_gives_bit_identical_posteriors_in_two_processes(tmp_path):
    """Two processes with different hash seeds, the first on an empty pytensor disk cache.

    The first compiles every numba function afresh (a machine's first fit), the second
    loads them from the cache the first wrote, nutpie's two C callbacks included: with
    pytensor's fast-math flags the two log densities differed in the last bits and so did
    the draws.
    """
    paths = [tmp_path / "a.nc", tmp_path / "b.nc"]
    flags = f"base_compiledir={tmp_path / 'pytensor'}"
    for k, path in enumerate(paths):  # one after the other: cold cache, then warm
        child = subprocess.run(
            [sys.executable, "-c", FIT_CHILD, str(path)],
            env=_child_env(PYTHONHASHSEED=str(k), PYTENSOR_FLAGS=flags),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert child.returncode == 0, child.stderr[-3000:]
        assert f"callbacks loaded: {2 * k}" in child.stdout, child.stdout[-2000:]
    a, b = (load(p) for p in paths)
    groups = ("posterior", "sample_stats", "log_likelihood", "log_prior")
    for group in groups:
        ga, gb = _idata.group(a.idata, group), _idata.group(b.idata, group)
        assert sorted(ga.data_vars) == sorted(gb.data_vars)
        for name in ga.data_vars:
            x, y = ga[name].values, gb[name].values
            assert x.dtype == y.dtype and x.shape == y.shape, (group, name)
            assert x.tobytes() == y.tobytes(), f"{group}/{name} differs between processes"
    attrs_a, attrs_b = _idata.attrs(a.idata), _idata.attrs(b.idata)
    for key in ("posterior_sha256", "config_hash", "data_hash", "seed", "versions"):
        assert attrs_a[key] == attrs_b[key], key
    assert a.posterior["alpha"].std() > 0  # a real posterior, not a constant
    check_provenance(attrs_a, seed=11)


def check_provenance(attrs: dict, *, seed: int) -> None:
    """The seed and the versions of every library that shapes a posterior are in the file."""
    assert int(attrs["seed"]) == seed
    assert json.loads(attrs["config"])["seed"] == seed
    versions = json.loads(attrs["versions"])
    for package in ("pymc", "pytensor", "nutpie", "arviz", "numpy", "xarray"):
        assert versions[package] == importlib.metadata.version(package), package
    assert attrs["package_version"] == importlib.metadata.version("scaling-forecast")


def test_every_saved_file_records_seed_and_versions(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    check_provenance(_idata.attrs(load(path).idata), seed=small_fit.config.seed)


# ------------------------------------------------------------------ nothing lost on SIGKILL

KILL_CHILD = """
import sys, time
from pathlib import Path
from forecast import _idata
from forecast.io import load, save
source, target, mode = sys.argv[1:4]
result = load(source)
write = _idata.to_netcdf
def stalled(idata, path):
    write(idata, path)
    if mode == "half":  # half a file on disk, as when killed inside the HDF5 writer
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
    print("IN_WRITE", path, flush=True)
    time.sleep(600)
_idata.to_netcdf = stalled
save(result, target, overwrite=True)
print("SAVED", flush=True)
"""


def _wait_for(child: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], 1.0)
        if ready:
            line = child.stdout.readline()
            if line.startswith(marker):
                return line.split(maxsplit=1)[1].strip()
            if not line and child.poll() is not None:
                break
    child.kill()
    raise AssertionError(f"child never reached {marker}: {child.stderr.read()[-3000:]}")


@pytest.mark.slow
def test_save_killed_mid_write_leaves_previous_file_intact(small_fit, tmp_path):
    source = save(small_fit, tmp_path / "source.nc")
    cases = {  # target -> (mode, whether a previous file exists)
        tmp_path / "half" / "fit.nc": ("half", True),
        tmp_path / "whole" / "fit.nc": ("whole", True),
        tmp_path / "new" / "fit.nc": ("half", False),
    }
    before = {}
    for target, (_, exists) in cases.items():
        target.parent.mkdir()
        if exists:
            shutil.copy(source, target)
            before[target] = target.read_bytes()
    children = {
        target: subprocess.Popen(
            [sys.executable, "-c", KILL_CHILD, str(source), str(target), mode],
            env=_child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target, (mode, _) in cases.items()
    }
    for target, child in children.items():
        tmp = Path(_wait_for(child, "IN_WRITE", timeout=300))
        assert tmp.parent == target.parent and tmp.exists()  # the write is under way
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == -signal.SIGKILL
        if target in before:  # byte for byte the previous file, and it loads
            assert target.read_bytes() == before[target]
            again = load(target)
            np.testing.assert_array_equal(
                again.posterior["alpha"].values, small_fit.posterior["alpha"].values
            )
        else:  # nothing at all at the target path
            assert not target.exists()
        # what is left is the hidden temporary file, never a partial file under the name
        leftovers = sorted(p.name for p in target.parent.iterdir() if p != target)
        assert leftovers == [tmp.name] and tmp.name.startswith(f".{target.name}.")
        assert tmp.name.endswith(".tmp")
        if cases[target][0] == "half":  # and the half-written one is refused on load
            with pytest.raises(IncompatibleFileError, match="cannot be read"):
                load(tmp)


def test_saved_files_get_ordinary_permissions(small_fit, tmp_path):
    """mkstemp makes 0o600 files; a saved fit gets what a plain write would (or the old mode)."""
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    path = save(small_fit, tmp_path / "fit.nc")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    path.chmod(0o640)
    save(small_fit, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


# ------------------------------------------------------------------ large grids, bounded memory


def _quantiles(draws, ci_prob):
    probs = [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2]
    return draws.quantile(probs, dim=("chain", "draw")).values


@pytest.mark.parametrize("group", ["a", None])
def test_summary_equals_summarised_draws(small_fit, monkeypatch, group):
    N = np.geomspace(1e3, 1e16, 301)
    D = np.geomspace(1e16, 1e3, 301)
    monkeypatch.setattr(PREDICT, "SUMMARY_CHUNK_VALUES", 7 * 400)  # 7 points a block
    summary = predict_summary(small_fit, N, D, group=group, ci_prob=0.8, seed=5)
    want = _quantiles(predict(small_fit, N, D, group=group, seed=5), 0.8)
    np.testing.assert_allclose(summary["loss_median"].values, want[1], rtol=1e-14, atol=0)
    ci = summary["loss_ci"]
    assert ci.dims == ("point", "ci_bound") and list(ci["ci_bound"].values) == ["lower", "upper"]
    np.testing.assert_allclose(ci.sel(ci_bound="lower").values, want[0], rtol=1e-14, atol=0)
    np.testing.assert_allclose(ci.sel(ci_bound="upper").values, want[2], rtol=1e-14, atol=0)
    assert summary.attrs["ci_kind"] == "eti" and summary.attrs["ci_prob"] == 0.8
    for key in ("package_version", "config_hash", "seed", "law"):
        assert key in summary.attrs
    assert summary["loss_median"].attrs["units"] == "nats/token"
    assert summary["N"].attrs["units"] == "parameters" and summary["D"].attrs["units"] == "tokens"


def test_summary_with_noise_does_not_depend_on_block_size(small_fit, monkeypatch):
    N = np.geomspace(3e7, 1e9, 50)  # the range of the data, where the mean curve is sharp
    one = predict_summary(small_fit, N, 20 * N, group="a", include_noise=True, seed=2)
    monkeypatch.setattr(PREDICT, "SUMMARY_CHUNK_VALUES", 3 * 400)
    blocks = predict_summary(small_fit, N, 20 * N, group="a", include_noise=True, seed=2)
    np.testing.assert_array_equal(one["loss_ci"].values, blocks["loss_ci"].values)
    mean = predict_summary(small_fit, N, 20 * N, group="a", seed=2)
    width = one["loss_ci"].diff("ci_bound")
    assert np.all(width > mean["loss_ci"].diff("ci_bound"))  # noise widens the band
    assert one.attrs["curve"].startswith("loss of one new run")


def test_summary_of_a_2d_grid_keeps_its_dims(small_fit):
    N = xr.DataArray(np.geomspace(1e8, 1e11, 4), dims="n")
    D = xr.DataArray(np.geomspace(1e9, 1e13, 3), dims="d")
    summary = predict_summary(small_fit, N, D, group="b")
    assert summary["loss_median"].dims == ("n", "d")
    assert summary["loss_ci"].dims == ("n", "d", "ci_bound")
    assert np.all(summary["loss_ci"].sel(ci_bound="lower") <= summary["loss_median"])
    assert np.all(summary["loss_median"] <= summary["loss_ci"].sel(ci_bound="upper"))


@pytest.mark.parametrize("ci_prob", [0.0, 1.0, 1.5, -0.1, True, "0.9"])
def test_summary_rejects_bad_ci_prob(small_fit, ci_prob):
    with pytest.raises(ValueError, match="ci_prob"):
        predict_summary(small_fit, 1e9, 2e10, ci_prob=ci_prob)


def _traced_peak(call) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_summary_memory_does_not_grow_with_the_grid(small_fit, monkeypatch):
    # Blocks of 400k values (3.2 MB) instead of 4M, so that a small grid shows the bound.
    monkeypatch.setattr(PREDICT, "SUMMARY_CHUNK_VALUES", 400_000)
    block_bytes = 8 * 400_000
    draws_size = 8 * 400 * 50_000  # 160 MB of draws predict() would hold
    draws_growth = 8 * 400 * 45_000  # 144 MB more draws for the 45,000 more points
    # One thread: the peak is then a property of the grid alone. With several, how many
    # blocks are alive at once depends on timing (a 5-block grid on 4 threads peaked 8-18 MB
    # below a 50-block one), which is the per-thread bound checked below, not growth.
    monkeypatch.setattr(PREDICT, "PREDICT_THREADS", 1)
    peaks = {}
    for n_points in (5_000, 50_000):
        N = np.geomspace(1e8, 1e12, n_points)
        peaks[n_points] = _traced_peak(lambda N=N: predict_summary(small_fit, N, 20 * N))
    # The result and the grid grow with the points (about 2.2 MB here). Holding the draws
    # would add 144 MB.
    assert peaks[50_000] - peaks[5_000] < draws_growth / 20, peaks
    # The documented bound: about five blocks per thread, plus the output (3 x 50,000 values).
    N = np.geomspace(1e8, 1e12, 50_000)
    for threads in (1, 4):
        monkeypatch.setattr(PREDICT, "PREDICT_THREADS", threads)
        peak = _traced_peak(lambda: predict_summary(small_fit, N, 20 * N))
        assert peak < threads * 5 * block_bytes + 8 * 3 * 50_000 * 4, (threads, peak)
        assert peak < draws_size / 2, (threads, peak)


def test_predict_refuses_draws_that_would_not_fit(small_fit, monkeypatch):
    monkeypatch.setattr(PREDICT, "MAX_DRAWS_BYTES", 8 * 400 * 1000)
    predict(small_fit, np.full(1000, 1e9), 2e10)  # exactly at the limit: fine
    with pytest.raises(ValueError, match="predict_summary"):
        predict(small_fit, np.full(1001, 1e9), 2e10)


def test_arviz_daily_notice_is_filtered_on_a_fresh_machine(tmp_path):
    """arviz's once-a-day refactor notice (it starts with a newline) is matched by our filters.

    On a new machine (an empty cache directory, where arviz keeps the day it last warned)
    importing ``forecast`` under ``-W error::FutureWarning`` must succeed, and the regexes of
    pyproject's pytest filter and of the case studies' setup must match the notice.
    """
    tomllib = pytest.importorskip("tomllib")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = (
        "import json, warnings\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    import arviz\n"
        "print(json.dumps([str(w.message) for w in seen if w.category is FutureWarning]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    notices = [m for m in json.loads(out.stdout) if "ArviZ is undergoing" in m]
    if not notices:
        pytest.skip("this arviz does not announce a refactor")
    notice = notices[0]
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    ini_regexes = [f.split(":")[1] for f in ini["filterwarnings"] if "ArviZ" in f]
    setup = (ROOT / "case_studies" / "_setup.py").read_text()
    setup_regexes = re.findall(r'message=r"([^"]*ArviZ[^"]*)"', setup)
    regexes = [*ini_regexes, *setup_regexes, _idata.ARVIZ_NOTICE]
    assert len(regexes) == 3
    for regex in regexes:
        assert re.compile(regex, re.I).match(notice), f"{regex!r} does not match {notice!r}"
    shutil.rmtree(tmp_path / "arviz")  # warn again: the import below is the day's first
    subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", "import forecast"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
