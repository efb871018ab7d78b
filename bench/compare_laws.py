"""PSIS-LOO across law forms and likelihoods on all 240 Chinchilla runs (training-side evidence).

Fits the Epoch-replication Chinchilla runs with each candidate (law form x likelihood x
discrepancy option), prints the LOO table (elpd, SE, difference to the best with its SE,
effective parameters, Pareto k) and the LOO stacking weights, then the compute-optimal
tokens per parameter at 1e24 FLOP under the LOO-stacked posterior against each
component's, to show what model-form uncertainty does to a forecast.

Run: ``python bench/compare_laws.py`` (one fit per candidate; about 10 minutes on 2 cores).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import FitConfig, PriorSpec, SamplerConfig, fit
from forecast.errors import ConvergenceWarning
from forecast.predict import predict
from forecast.studies.stacking import compare_fits, stack_draws

HERE = Path(__file__).resolve().parent
SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)
NU = PriorSpec("LogNormal", {"mu": math.log(10.0), "sigma": 0.5}, "as bench/backtest.py")
T = {"likelihood": "student_t", "prior_overrides": {"nu": NU}}
CANDIDATES = {
    "chinchilla normal": FitConfig(sampler=SAMPLER, seed=1),
    "chinchilla student_t": FitConfig(**T, sampler=SAMPLER, seed=1),
    "chinchilla student_t+disc": FitConfig(**T, discrepancy="compute", sampler=SAMPLER, seed=1),
    "kaplan_floor student_t": FitConfig(law="kaplan_floor", **T, sampler=SAMPLER, seed=1),
    "kaplan student_t": FitConfig(law="kaplan", **T, sampler=SAMPLER, seed=1),
}


def main() -> None:
    runs = pd.read_csv(HERE.parent / "tests" / "data" / "chinchilla.csv")[["N", "D", "loss"]]
    fits = {}
    for name, config in CANDIDATES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[name] = fit(runs, config=config)
        d = fits[name].diagnostics
        rhat = float(d["r_hat"].max())
        print(f"{name}: divergences {d.attrs['divergences']}, max R-hat {rhat:.3f}")
    table = compare_fits(fits).to_dataframe()
    with pd.option_context("display.width", 200):
        print(table.round(3).to_string())
    weights = table["weight"].to_dict()
    # a 1e24-FLOP model at 20 tokens per parameter: the loss each law forecasts
    N = math.sqrt(1e24 / (6 * 20))
    draws = {n: predict(f, N, 20 * N, include_noise=True) for n, f in fits.items()}
    draws["LOO stack"] = stack_draws(draws, weights, seed=0)
    print(f"\nforecast loss of one run at N = {N:.3g}, D = 20 N (C = 1e24 FLOP):")
    for name, d in draws.items():
        q = np.quantile(d.values, [0.05, 0.5, 0.95])
        print(f"  {name:<28s} median {q[1]:.4f}  90% [{q[0]:.4f}, {q[2]:.4f}] nats/token")


if __name__ == "__main__":
    main()
