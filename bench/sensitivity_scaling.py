"""Wall time of one 16-fit sensitivity study on a LocalCluster with 1 and with 2 workers.

Each worker is a single-threaded process that samples its fit's chains on one core, so on
a machine with at least two idle cores the speed-up should approach 2 (target >= 1.7x).
Both runs fit everything (no cache: ``out=None``) and include cluster start-up and each
worker's first import of PyMC, as a user would see them.

    python bench/sensitivity_scaling.py [--draws 300] [--tune 300] [--workers 1 2]

The load average at start and end is printed: other processes on the machine share the
cores, and a busy machine cannot show the speed-up. "Workers busy" (sum of fit times over
workers x wall time) separates the scheduling overhead from such contention: near 100%
means Dask kept every worker fitting, whatever the speed of one fit.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from forecast.studies.sensitivity import sensitivity
from models.laws import chinchilla


def synthetic_runs(seed: int = 0) -> pd.DataFrame:
    """30 runs: 2 groups x 3 sizes x 5 token multipliers, 1% lognormal noise."""
    gen = np.random.default_rng(seed)
    rows = []
    for group, floor in (("a", 1.8), ("b", 2.1)):
        for n in np.geomspace(3e7, 4e8, 3):
            for m in (5, 10, 20, 40, 80):
                mean = chinchilla.loss(n, m * n, floor, 480.0, 0.35, 2000.0, 0.37)
                loss = float(mean * np.exp(gen.normal(0, 0.01)))
                rows.append({"N": n, "D": m * n, "loss": loss, "group": group})
    return pd.DataFrame(rows)


def study(draws: int, tune: int) -> dict:
    """16 distinct fits: 4 prior scales x 2 likelihoods x 2 presets."""
    return {
        "name": "scaling-bench",
        "runs": synthetic_runs(),
        "groups": "group",
        "forecast_group": "a",
        "sampler": {"draws": draws, "tune": tune, "chains": 2},
        "axes": {
            "prior_scale": [1.0, 0.5, 2.0, 4.0],
            "likelihood": ["normal", "student_t"],
            "preset": ["weak", "besiroglu2024"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=300)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    spec = study(args.draws, args.tune)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    times = {}
    for n in args.workers:
        start = time.perf_counter()
        result = sensitivity(spec, n_workers=n)
        times[n] = time.perf_counter() - start
        ok = int((result["status"].values == "ok").sum())
        fits = result.attrs["n_fits_run"]
        mean_fit = float(result["fit_seconds"].mean())
        busy = float(result["fit_seconds"].sum()) / (n * times[n])
        print(
            f"{n} worker(s): {times[n]:7.1f} s wall for {fits} fits ({ok} ok); "
            f"mean fit {mean_fit:.1f} s (compile + sampling); "
            f"workers busy fitting {busy:.0%} of the wall time",
            flush=True,
        )
    if 1 in times and 2 in times:
        print(f"speed-up 2 vs 1 workers: {times[1] / times[2]:.2f}x (target >= 1.7x)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
