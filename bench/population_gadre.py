"""Gadre small runs under ``weak`` and ``population``: tokens/param at 1e13 parameters.

Fits the bundled Gadre et al. runs with N <= 1.6e8 (eval ``c4_val``, groups = corpus,
Chinchilla law) under each prior and prints the 5/50/95% quantiles of alpha, beta, E and of
the compute-optimal tokens/param at N = 1e13 for a new corpus, next to the published
compute-optimal ratios implied by the table (D/N at N = 1e13 from each full fit).

Run: ``python bench/population_gadre.py [--quick]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from forecast import SamplerConfig, allocate, fit, load_dataset
from forecast.errors import ConvergenceWarning


def published_ratios() -> dict[str, float]:
    """D_opt/N_opt at N = 1e13 of each nats/token full fit (law optimum at fixed C=6ND)."""
    fits = load_dataset("published_fits").dropna(subset=["A", "B", "alpha", "beta"])
    out = {}
    for _, r in fits.iterrows():
        # optimum: alpha A N^-alpha = beta B D^-beta  ->  D = (beta B N^alpha / (alpha A))^(1/beta)
        n = 1e13
        d = (r.beta * r.B * n**r.alpha / (r.alpha * r.A)) ** (1 / r.beta)
        out[r.fit_id] = d / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 300 if args.quick else 1000
    sampler = SamplerConfig(draws=n, tune=n, chains=2 if args.quick else 4, progress=False)
    gadre = load_dataset("gadre2024").query("eval_set == 'c4_val' and N <= 1.6e8")
    runs = gadre[["N", "D", "loss", "corpus"]].reset_index(drop=True)
    for priors in ("weak", "population"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = fit(runs, priors=priors, groups="corpus", sampler=sampler, seed=1)
            alloc = allocate(res, N=1e13, seed=0)
        post = res.posterior
        print(f"\npriors={priors} ({len(runs)} runs)")
        for name in ("alpha", "beta", "E"):
            q = np.quantile(np.asarray(post[name]), [0.05, 0.5, 0.95])
            print(f"  {name:6s} 5/50/95%: {q[0]:.4g} {q[1]:.4g} {q[2]:.4g}")
        q = np.quantile(np.asarray(alloc["tokens_per_param"]), [0.05, 0.5, 0.95])
        print(f"  tokens/param at N=1e13, 5/50/95%: {q[0]:.4g} {q[1]:.4g} {q[2]:.4g}")
    ratios = published_ratios()
    print("\npublished full fits, D/N at N=1e13:")
    for k, v in ratios.items():
        print(f"  {k}: {v:.4g}")
    print(f"range: {min(ratios.values()):.4g} - {max(ratios.values()):.4g}")


if __name__ == "__main__":
    main()
