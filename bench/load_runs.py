"""Time and memory of loading and validating a runs table of 10^6 rows (issue 9: < 10 s).

Writes a synthetic CSV (N, D, loss, group, run_id, seed; Chinchilla-like losses) to a
temporary folder, then times ``load_runs`` on the path (streamed by pandas' C parser), on an
open file object (read whole) and on the resulting DataFrame (validation only).

Usage::

    python bench/load_runs.py [--rows 1000000]

Each measurement runs in a fresh process so that its peak RSS (``resource.getrusage``) is
its own. Timing is printed, never asserted: tests do not measure time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, sys, time
sys.path.insert(0, sys.argv[1])
from forecast.data.runs import load_runs
path, how = sys.argv[2], sys.argv[3]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if how == "dataframe":
    source = load_runs(path)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
if how == "path":
    runs = load_runs(path)
elif how == "file object":
    with open(path, "rb") as handle:
        runs = load_runs(handle)
else:
    runs = load_runs(source)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{how:>12}: {seconds:6.2f} s, {len(runs):,} rows, peak RSS {peak:6.0f} MiB "
      f"({peak - base:+.0f} MiB over {base:.0f} MiB before the call)")
"""


def write_runs(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    N = 10.0 ** rng.uniform(6, 11, rows)
    D = N * 10.0 ** rng.uniform(0, 3, rows)
    loss = 1.8 + 480.0 / N**0.35 + 2000.0 / D**0.37
    frame = pd.DataFrame(
        {
            "N": N,
            "D": D,
            "loss": loss * np.exp(rng.normal(0, 0.01, rows)),
            "group": rng.choice(["c4", "redpajama", "refinedweb"], rows),
            "run_id": [f"run{i}" for i in range(rows)],
            "seed": rng.integers(0, 2**31, rows),
        }
    )
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "runs.csv"
        write_runs(path, args.rows)
        size = path.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size:.0f} MiB of CSV; target: < 10 s to load and validate")
        for how in ("path", "file object", "dataframe"):
            subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(path), how], check=True)


if __name__ == "__main__":
    main()
