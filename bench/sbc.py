"""Simulation-based calibration of the Chinchilla fit on planned ladders (issue 10).

For a ladder of 30-100 runs, repeat: draw (E, A, alpha, B, beta, sigma) from the prior,
simulate the ladder with ``forecast.studies.simulate``, fit, and rank the true alpha, beta and E
among the posterior draws. Prints, per parameter, the coverage of the 90% equal-tailed
intervals (acceptance: 80-98% of replicates), the rank histogram (uniform when
inference is calibrated) and a chi-square test of uniformity.

Replicates run in chunks (one model compile per chunk) so partial results print as
they come. Prior draws whose simulated losses leave (1, 10) nats/token are skipped; the
ranks stay uniform because the rejection depends only on the data (see
``forecast.studies.simulate``). Runs with different ``--seed`` simulate disjoint replicates, so
their results can be pooled.

Run: python bench/sbc.py [--design 30|60|100] [--replicates 40] [--priors weak] [--seed 0]
Records: ``bench/results/sbc_*.txt``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats

from forecast import FitConfig, SamplerConfig
from forecast.errors import ConvergenceWarning
from forecast.studies.simulate import ladder, sbc

#: Ladders: model sizes (parameters) x tokens per parameter.
DESIGNS = {
    30: (np.geomspace(3e7, 1e9, 6), [5, 10, 20, 40, 80]),
    60: (np.geomspace(1e7, 3e9, 10), [4, 12, 36, 108, 324, 972][:6]),
    100: (np.geomspace(1e7, 3e9, 10), np.geomspace(4, 400, 10)),
}


#: Chunk ``k`` of a run with ``--seed s`` simulates with seed ``s * stride + k``.
CHUNK_SEED_STRIDE = 10_000


def report(ds: xr.Dataset, bins: int = 10) -> None:
    L = ds.attrs["max_rank"]
    n = ds.sizes["replicate"]
    print(
        f"\n{n} replicates, ranks among L = {L} draws, {ds.attrs['rejected']} prior draws skipped"
    )
    print(
        f"divergent transitions in {int((ds['divergences'] > 0).sum())} replicates; "
        f"max R-hat > 1.01 in {int((ds['r_hat_max'] > 1.01).sum())}; "
        f"sampled again twice as long (R-hat or ESS failed first) in "
        f"{int((ds['long_run_draws'] > 0).sum())}"
    )
    edges = np.linspace(0, L + 1, bins + 1)
    for p in ds["parameter"].values:
        ranks = ds["rank"].sel(parameter=p).values
        counts, _ = np.histogram(ranks, bins=edges)
        chi2 = stats.chisquare(counts)
        cov = float(ds["coverage"].sel(parameter=p))
        covered = int(ds["covered"].sel(parameter=p).sum())
        print(
            f"  {p:>5}: 90% interval coverage {cov:.1%} ({covered}/{n}); rank histogram "
            f"{counts.tolist()}; chi-square uniformity p = {chi2.pvalue:.2f}"
        )
    clean = (ds["divergences"] == 0) & (ds["r_hat_max"] <= 1.01)
    if clean.any():
        sub = ds["covered"].sel(replicate=clean)
        text = ", ".join(
            f"{p} {float(sub.sel(parameter=p).mean()):.0%}" for p in sub.parameter.values
        )
        print(f"  coverage in the {int(clean.sum())} replicates without sampler warnings: {text}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--design", type=int, default=30, choices=sorted(DESIGNS))
    parser.add_argument("--replicates", type=int, default=40)
    parser.add_argument("--chunk", type=int, default=10)
    parser.add_argument("--priors", default="weak")
    parser.add_argument(
        "--draws",
        type=int,
        default=None,
        help="per chain; default: the package's (1000, or 2000 thinned by 2 if R-hat or "
        "bulk ESS fails)",
    )
    parser.add_argument("--tune", type=int, default=None, help="default: --draws or the package's")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-accept", type=float, default=None, help="default: by model")
    parser.add_argument("--low-rank", action="store_true", help="low-rank mass matrix")
    parser.add_argument("--out", type=Path, default=None, help="NetCDF of the SBC results")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    sizes, ratios = DESIGNS[args.design]
    design = ladder(sizes, ratios)
    config = FitConfig(
        priors=args.priors,
        sampler=SamplerConfig(
            draws=args.draws,
            tune=args.tune or args.draws or SamplerConfig.tune,
            chains=args.chains,
            progress=False,
            target_accept=args.target_accept,
            low_rank_mass_matrix=args.low_rank,
        ),
    )
    sampler = config.sampler
    print(
        f"design: {len(design)} runs, N {sizes.min():.2g}-{sizes.max():.2g}, "
        f"tokens/param {min(ratios):g}-{max(ratios):g}; priors {args.priors}; "
        f"{args.chains} chains x {args.draws or 'the default'} draws "
        f"({sampler.tune} tuning); "
        f"target_accept {sampler.target_accept or 'by model'}, "
        f"low-rank mass matrix {sampler.low_rank_mass_matrix}"
    )
    parts = []
    done = 0
    chunk = 0
    while done < args.replicates:
        k = min(args.chunk, args.replicates - done)
        start = time.perf_counter()
        part = sbc(
            design,
            config=config,
            replicates=k,
            loss_range=(1.0, 10.0),
            # chunks of one run differ; runs with different --seed share no chunk
            seed=args.seed * CHUNK_SEED_STRIDE + chunk,
        )
        chunk += 1
        part = part.assign_coords(replicate=np.arange(done, done + k))
        parts.append(part)
        done += k
        print(f"chunk of {k}: {time.perf_counter() - start:.0f} s", flush=True)
        merged = xr.concat([p.drop_vars("coverage") for p in parts], dim="replicate")
        merged["coverage"] = merged["covered"].mean("replicate")
        merged.attrs["rejected"] = sum(p.attrs["rejected"] for p in parts)
        report(merged)
    if args.out is not None:
        merged.to_netcdf(args.out)


if __name__ == "__main__":
    main()
