"""Joint hierarchical fit of small runs + large-model families vs small runs alone.

Prints the pooled alpha/beta posteriors of both fits and the diagnostics (issue 4).
Design as in the Gadre acceptance fit: the exponents are shared by every group (a property
of architecture and optimiser), while the floor E and the coefficients log A, log B are
partially pooled (properties of the text, tokenizer and eval set); 2000 tuning steps.

Run: python bench/joint_fit.py
"""

from __future__ import annotations

import time

import numpy as np

from forecast import FitConfig, SamplerConfig, fit
from forecast.data.joint import SHARED_EXPONENTS_POOLED, SMALL_RUNS, joint_runs

#: Partially pooled parameters; alpha and beta are shared across groups.
POOLED = SHARED_EXPONENTS_POOLED


def summary(result, name):
    post = result.posterior
    d = result.diagnostics
    print(f"\n== {name}: {len(result.runs)} runs, groups {result.groups}")
    for p in ("alpha", "beta"):
        x = post[p].values.ravel()
        lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
        print(f"  {p}: median {med:.3f}, 90% interval ({lo:.3f}, {hi:.3f}), sd {x.std():.3f}")
    print(
        f"  divergences {d.attrs['divergences']}, max R-hat {float(d['r_hat'].max()):.4f}, "
        f"min bulk ESS {float(d['ess_bulk'].min()):.0f}, passed {bool(d.attrs['passed'])}"
    )


def main():
    sampler = SamplerConfig(draws=1000, tune=2000, chains=4, progress=False)
    config = FitConfig(groups="group", pooled=POOLED, sampler=sampler, seed=3)
    for name, runs in (
        ("small runs only (Gadre + OLMo ladder)", joint_runs(small=SMALL_RUNS, frontier={})),
        ("joint (+ GPT-3, OPT, OLMo-1)", joint_runs()),
    ):
        start = time.perf_counter()
        result = fit(runs, config=config)
        summary(result, name)
        print(f"  wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
