"""Peak memory of predict_summary on a 10^6-point grid with 4000 posterior draws.

The draws themselves would be 4000 x 10^6 x 8 bytes = 32 GB; the summary must stay under
4 GiB. The posterior is synthetic (4 chains x 1000 draws of the Chinchilla parameters around
the Besiroglu et al. 2024 fit), so the benchmark needs no sampler and runs anywhere.

Usage::

    python bench/memory_predict.py [--points 1000000] [--draws 1000] [--chains 4]

Prints the peak resident set size (``resource.getrusage``) before and after, the peak of
memory traced by ``tracemalloc`` during the call (numpy reports its buffers to it) and the
wall time. Run it in a fresh process: ``ru_maxrss`` is a high-water mark for the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecast import _idata  # noqa: E402
from forecast.config import FitConfig  # noqa: E402
from forecast.fit import Fit  # noqa: E402
from forecast.predict import MAX_DRAWS_BYTES, predict, predict_summary  # noqa: E402

LIMIT = 4 * 2**30  # the acceptance bound of issue 9, bytes


def synthetic_fit(chains: int, draws: int, seed: int = 0) -> Fit:
    """A one-group Chinchilla Fit with Gaussian draws around the Besiroglu et al. values."""
    rng = np.random.default_rng(seed)
    centre = {"E": 1.82, "log_A": np.log(482.0), "alpha": 0.348, "log_B": np.log(2085.0)}
    centre["beta"] = 0.366
    sd = {"E": 0.03, "log_A": 0.26, "alpha": 0.015, "log_B": 0.6, "beta": 0.02}
    data = {}
    for name, mu in centre.items():
        values = mu + sd[name] * rng.standard_normal((chains, draws, 1))
        data[f"{name}_group"] = (("chain", "draw", "group"), values)
        data[name] = (("chain", "draw"), values[..., 0])
    sigma = np.abs(rng.normal(0.01, 0.002, (chains, draws, 1)))
    data["sigma"] = (("chain", "draw", "group"), sigma)
    posterior = xr.Dataset(
        data, coords={"chain": np.arange(chains), "draw": np.arange(draws), "group": ["all"]}
    )
    runs = pd.DataFrame({"N": [1e8, 1e9], "D": [2e9, 2e10], "loss": [3.0, 2.6]})
    idata = _idata.new({"posterior": posterior})
    return Fit(idata=idata, config=FitConfig(), runs=runs, diagnostics=xr.Dataset())


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--noise", action="store_true", help="include observation noise")
    args = parser.parse_args()

    result = synthetic_fit(args.chains, args.draws)
    n_draws = args.chains * args.draws
    N = np.geomspace(1e8, 1e13, args.points)
    D = 20.0 * N
    full = 8 * n_draws * args.points
    print(f"grid: {args.points:,} points x {n_draws:,} draws; full draws array {full / 1e9:.1f} GB")
    if full > MAX_DRAWS_BYTES:
        try:
            predict(result, N, D)
        except ValueError as exc:
            print(f"predict refuses: {exc}")

    rss_before = _rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    summary = predict_summary(result, N, D, include_noise=args.noise)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = _rss_mib()

    median = summary["loss_median"].values
    print(f"predict_summary: {seconds:.1f} s")
    print(f"peak RSS of the process: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after")
    print(f"peak traced by tracemalloc during the call: {traced_peak / 2**20:.0f} MiB")
    size = summary.nbytes / 2**20
    print(f"output: {size:.0f} MiB; median loss {median.min():.4f}..{median.max():.4f} nats/token")
    ok = rss_after * 2**20 < LIMIT
    print(f"{'PASS' if ok else 'FAIL'}: peak RSS {rss_after / 1024:.2f} GiB vs limit 4 GiB")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
