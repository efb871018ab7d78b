"""Check suggest_runs' cheap update against full refits on the Gadre small runs (issue 10).

For the top candidates of ``suggest_runs`` on the Gadre et al. (2024) runs evaluated on
C4 (``eval_set == "c4_val"``, grouped by training corpus, target: the loss of a
10T-parameter C4 model at compute-optimal D), simulate K outcomes of each candidate from
the posterior predictive, then

* cheap: reweight the existing draws by each outcome's likelihood (what suggest_runs does);
* full: refit the model with the candidate run appended, once per outcome (NUTS, the
  model compiled once per candidate and re-sampled per outcome);

and compare the expected variance reductions. Acceptance: within 30% for the top 3.

Run: python bench/suggest_check.py [--budget 1e21] [--outcomes 4] [--rank-by per_flop]
     [--cache base.nc]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import FitConfig, SamplerConfig, fit, load, load_dataset, save
from forecast.data.joint import SHARED_EXPONENTS_POOLED
from forecast.errors import ConvergenceWarning
from forecast.fit import Fit, _idata, sample_replicates
from forecast.studies.design import (
    append_runs,
    candidate_predictive,
    reweighted_variances,
    suggest_runs,
    target_draws,
)

GROUP = "c4"


def base_fit(cache: Path | None, draws: int) -> Fit:
    if cache is not None and cache.exists():
        return load(cache)
    runs = load_dataset("gadre2024").query("eval_set == 'c4_val'").reset_index(drop=True)
    config = FitConfig(
        groups="corpus",
        pooled=SHARED_EXPONENTS_POOLED,  # the acceptance design: exponents shared
        sampler=SamplerConfig(draws=draws, tune=1000, chains=4, progress=False),
        seed=11,
    )
    start = time.perf_counter()
    result = fit(runs, config=config)
    print(f"base fit: {len(runs)} runs, {time.perf_counter() - start:.0f} s", flush=True)
    if cache is not None:
        save(result, cache, overwrite=True)
    return result


def variance_and_se(draws) -> tuple[float, float]:
    """Variance of (chain, draw) draws and its Monte Carlo SE (ESS of squared deviations)."""
    t = draws.transpose("chain", "draw").values
    z = (t - t.mean()) ** 2
    ess = float(_idata.ess(xr.Dataset({"z": (("chain", "draw"), z)}), "bulk")["z"])
    return float(z.mean()), float(z.std() / np.sqrt(ess))


def full_variances(base: Fit, row: pd.Series, outcomes: np.ndarray, seed: int) -> list:
    """Posterior variance of the target after refitting with the candidate and each outcome."""
    old = base.runs
    extra = {
        "N": float(row["N"]),
        "D": float(row["D"]),
        "loss": float(np.exp(outcomes[0])),
        "corpus": GROUP,
        "eval_set": "c4_val",
        "run_id": "candidate",
        "source": "simulated",
    }
    table = append_runs(old, [extra], group_column=base.config.groups)
    observed = [np.r_[np.log(old["loss"].to_numpy(float)), y] for y in outcomes]
    config = base.config.replace(seed=seed)
    out = []
    for posterior, diag in sample_replicates(table, observed, config=config):
        refit = Fit(
            idata=_idata.new({"posterior": posterior}), config=config, runs=table, diagnostics=diag
        )
        out.append(variance_and_se(target_draws(refit, group=GROUP)))
        print(
            f"    refit: var {out[-1][0]:.3e} +- {out[-1][1]:.1e}, "
            f"divergences {diag.attrs['divergences']}, "
            f"max R-hat {np.nanmax(diag['r_hat'].values):.3f}",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=1e21)
    parser.add_argument("--outcomes", type=int, default=3)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--rank-by", default="per_flop")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    base = base_fit(args.cache, args.draws)
    d = base.diagnostics
    print(
        f"base: divergences {d.attrs['divergences']}, max R-hat {float(d['r_hat'].max()):.3f}, "
        f"min ESS {float(d['ess_bulk'].min()):.0f}"
    )
    start = time.perf_counter()
    ranked = suggest_runs(
        base, args.budget, group=GROUP, n_outcomes=1024, rank_by=args.rank_by, seed=0
    )
    print(f"suggest_runs: {len(ranked['run'])} candidates in {time.perf_counter() - start:.2f} s")
    cols = ["C", "N", "D", "relative_reduction", "ess_median", "method"]
    print(ranked.to_dataframe()[cols].head(8).to_string())
    T_da = target_draws(base, group=GROUP)
    T = T_da.values.ravel()
    var0, se0 = variance_and_se(T_da)
    print(
        f"target now: median {np.median(T):.4f} nats/token, sd {np.sqrt(var0):.4f} "
        f"(MC SE of the variance {se0 / var0:.1%})"
    )
    rng = np.random.default_rng(2024)
    top = ranked.isel(run=slice(0, args.top)).to_dataframe().reset_index()
    cands = top[["N", "D"]]
    mean, sd, nu = candidate_predictive(base, cands, group=GROUP)
    rows = []
    for i, row in top.iterrows():
        source = rng.integers(T.size, size=args.outcomes)
        y = mean[i, source] + sd[i, source] * rng.standard_normal(args.outcomes)
        cheap, ess = reweighted_variances(T, mean[i], sd[i], nu, y, source)
        print(f"candidate {i + 1}: N={row.N:.3g} D={row.D:.3g} C={row.C:.3g}", flush=True)
        start = time.perf_counter()
        full = full_variances(base, row, y, seed=100 + i)
        seconds = time.perf_counter() - start
        red_cheap = var0 - float(np.mean(cheap))
        red_full = var0 - float(np.mean([v for v, _ in full]))
        se_full = float(np.sqrt(se0**2 + np.mean([e**2 for _, e in full]) / len(full)))
        rel_err = abs(red_cheap - red_full) / abs(red_full)
        rows.append(
            {
                "candidate": i + 1,
                "N": row.N,
                "D": row.D,
                "C": row.C,
                "suggest_rel_reduction": float(row.relative_reduction),
                "cheap_rel_reduction": red_cheap / var0,
                "full_rel_reduction": red_full / var0,
                "full_mc_se": se_full / var0,
                "rel_difference": rel_err,
                "ess_min": float(np.min(ess)),
                "refit_seconds": seconds,
            }
        )
        print(
            f"    cheap {red_cheap / var0:.3f}  full {red_full / var0:.3f} "
            f"(MC SE {se_full / var0:.3f})  diff {rel_err:.2f}"
        )
    table = pd.DataFrame(rows)
    print("\nrelative reductions of the target's variance (same simulated outcomes):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    ok = (table["rel_difference"] <= 0.30).all()
    verdict = "PASS" if ok else "FAIL"
    print(f"\nacceptance (cheap within 30% of full for the top {args.top}): {verdict}")


if __name__ == "__main__":
    main()
