"""Wall time of a Bayesian fit against the Epoch-style point fit with bootstrap (issue 3).

Measured in one run, one after the other, on the same machine:

1. the flat Chinchilla fit on the 240 Epoch-replication runs: ``fit`` with nutpie,
   4 chains x 1000 draws (1000 tuning steps), including model compilation, sampling,
   the pointwise log-likelihood and diagnostics;
2. the Epoch-style baseline on the same runs: Huber (delta = 1e-3) on log loss, L-BFGS-B
   from each of Hoffmann's 4500 grid starts keeping the best, then 4000 bootstrap refits
   (:mod:`forecast.baseline`); and the ratio of the two (target: Bayesian >= 5x faster);
3. a 3-group hierarchical fit of the Gadre et al. small runs, each corpus evaluated on its
   own Paloma subset, with the design of ``tests/test_acceptance.py`` (exponents shared,
   floor and coefficients partially pooled; target: <= 60 s on 2 cores).

The flat fit is also timed with ``SamplerConfig(low_rank_mass_matrix=True)``, which adapts
to the correlation of E, A and alpha (fewer leapfrog steps per draw).

The machine's load average is printed with the times: other processes on a shared machine
slow every number down, and the ratio less than the absolute times.

Run: ``python bench/fit_speed.py``
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from pathlib import Path

import pandas as pd

from forecast import FitConfig, SamplerConfig, fit, load_dataset
from forecast.baseline import bootstrap_point, fit_point
from forecast.joint import SHARED_EXPONENTS_POOLED

HERE = Path(__file__).resolve().parent
SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)
#: The acceptance design (tests/test_acceptance.py): exponents shared, E/log A/log B pooled.
HIERARCHICAL = FitConfig(
    groups="corpus",
    pooled=SHARED_EXPONENTS_POOLED,
    sampler=SamplerConfig(draws=1000, tune=2000, chains=4, progress=False),
    seed=5,
)
IN_DISTRIBUTION = {
    "c4": "paloma_c4_en",
    "redpajama": "paloma_redpajama",
    "refinedweb": "paloma_refinedweb",
}


def timed(label: str, call):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        value = call()
    seconds = time.perf_counter() - start
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{label:<58s} {seconds:8.1f} s   (load average {load:.1f})", flush=True)
    return value, seconds


def print_diagnostics(result, suffix: str = "") -> None:
    """One line: divergences, worst R-hat and bulk ESS, compilation and sampling times."""
    diag = result.diagnostics
    print(
        f"    divergences {diag.attrs['divergences']}, max R-hat "
        f"{float(diag['r_hat'].max()):.4f}, min bulk ESS {float(diag['ess_bulk'].min()):.0f}, "
        f"model compilation {result.idata.attrs['compile_seconds']:.1f} s, "
        f"sampling {result.idata.attrs['sampling_seconds']:.1f} s{suffix}"
    )


def main() -> None:
    print(f"cores: {os.cpu_count()}")
    runs = pd.read_csv(HERE.parent / "tests" / "data" / "chinchilla.csv")[["N", "D", "loss"]]
    flat, t_bayes = timed(
        "flat Chinchilla fit (nutpie, 4 chains x 1000 draws)",
        lambda: fit(runs, sampler=SAMPLER, seed=11),
    )
    print_diagnostics(flat)
    low_rank = dataclasses.replace(SAMPLER, low_rank_mass_matrix=True)
    fast, t_fast = timed(
        "  same fit, low-rank mass matrix (SamplerConfig option)",
        lambda: fit(runs, sampler=low_rank, seed=11),
    )
    print_diagnostics(fast)
    point, t_grid = timed(
        "Epoch-style point fit (L-BFGS-B from 4500 starts)", lambda: fit_point(runs)
    )
    _, t_boot = timed(
        "  + 4000 bootstrap refits (from the full-data optimum)",
        lambda: bootstrap_point(runs, n_bootstrap=4000, seed=0, start=point),
    )
    t_epoch = t_grid + t_boot
    print(f"{'Epoch-style baseline total':<58s} {t_epoch:8.1f} s")
    print(f"ratio baseline / Bayesian (default sampler): {t_epoch / t_bayes:.1f}x (target >= 5x)")
    print(f"ratio baseline / Bayesian (low-rank mass matrix): {t_epoch / t_fast:.1f}x")
    gadre = load_dataset("gadre2024")
    gadre = gadre[gadre["eval_set"] == gadre["corpus"].map(IN_DISTRIBUTION)].reset_index(drop=True)
    hier, t_hier = timed(
        f"3-group hierarchical fit ({len(gadre)} runs, 4 x 1000, tune 2000)",
        lambda: fit(gadre, config=HIERARCHICAL),
    )
    print_diagnostics(hier, f"; target <= 60 s: {'met' if t_hier <= 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
