"""Time ``predict`` for 4000 posterior draws x 10,000 (N, D) points (target: < 1 s).

The 4000-draw posterior is built without sampling: 4 chains x 1000 draws of a one-group
Chinchilla fit, drawn around Besiroglu et al.'s (2024) point estimates. Timing is the
median of five calls after one warm-up call, as wall and as CPU time of this process.

Run: ``python bench/predict_speed.py``
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd
import xarray as xr

from forecast import FitConfig, predict
from forecast.fit import Fit, _idata

CHAINS, DRAWS, POINTS = 4, 1000, 10_000


def make_fit(seed: int = 0) -> Fit:
    """A Fit whose posterior holds 4 x 1000 draws (no sampler involved)."""
    rng = np.random.default_rng(seed)
    shape = (CHAINS, DRAWS, 1)
    centre = {"E": 1.817, "log_A": 6.178, "alpha": 0.348, "log_B": 7.643, "beta": 0.366}
    spread = {"E": 0.03, "log_A": 0.26, "alpha": 0.02, "log_B": 0.62, "beta": 0.02}
    data = {
        f"{name}_group": (
            ("chain", "draw", "group"),
            centre[name] + spread[name] * rng.standard_normal(shape),
        )
        for name in centre
    }
    data["sigma"] = (("chain", "draw", "group"), np.abs(0.01 + 0.002 * rng.standard_normal(shape)))
    posterior = xr.Dataset(
        data, coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS), "group": ["all"]}
    )
    runs = pd.DataFrame({"N": [1e8, 1e9], "D": [2e9, 2e10], "loss": [3.0, 2.5]})
    diagnostics = xr.Dataset(attrs={"passed": 1})
    return Fit(_idata.new({"posterior": posterior}), FitConfig(), runs, diagnostics)


def main() -> None:
    result = make_fit()
    rng = np.random.default_rng(1)
    N = 10 ** rng.uniform(8, 13, POINTS)
    D = 10 ** rng.uniform(9, 15, POINTS)
    predict(result, N, D)  # warm-up
    times, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = predict(result, N, D)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert out.shape == (CHAINS, DRAWS, POINTS)
    print(
        f"predict: {CHAINS * DRAWS} draws x {POINTS} points = {out.size:.2e} values; wall "
        f"median {statistics.median(times):.3f} s, min {min(times):.3f} s; CPU median "
        f"{statistics.median(cpu):.3f} s (target < 1 s; CPU time is what a busy machine "
        f"does not inflate)"
    )


if __name__ == "__main__":
    main()
