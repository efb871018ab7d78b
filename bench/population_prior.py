"""Leave-one-family-out validation of the ``"population"`` prior (issue 18, item 3).

For each family with small and large runs: rebuild the population prior without that family
(its published fits and its run summary both left out), fit its smallest runs under that
prior, ``weak`` and ``besiroglu2024`` (Chinchilla law, one group, the package's default model
:data:`forecast.config.DEFAULT_MODEL`: Student-t likelihood with the compute discrepancy, the
model a user's ``fit`` gets), predict its largest runs, and score them with
:func:`forecast.studies.backtest.backtest`. The family summaries behind the prior are fitted
with the same model. Splits are fixed here, before any run (those of ``bench/backtest.py``
where it has one, else the smallest two thirds): no held-out run chooses a prior setting.

Prints per family the meta-model's divergences, the fits' divergences and the posterior
median [90% interval] of the discrepancy SD ``tau`` and the Student-t ``nu`` of the fit under
the population prior; then per family and pooled (over all held-out runs, and the mean over
families): 90% coverage, mean 90% width (relative to the loss) and median |relative error|.

Run: ``python bench/population_prior.py [--quick] [--model default|plain] [--only FAM ...]``
(``--quick``: 2 chains x 300 draws for every fit and the meta-model; ``--model plain``: the
foundation's model :data:`forecast.config.PLAIN_MODEL`, Normal likelihood without
discrepancy, for the fits and the summaries, for comparison). ``--summaries FILE`` reuses
(or writes) the family summaries of ``scripts/build_population_prior.py --summaries FILE``;
they must have been fitted with the same model.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# this checkout's package and scripts, not whichever copy the environment has installed
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "scripts")]

from build_population_prior import families, summaries  # noqa: E402

from forecast import FitConfig, SamplerConfig  # noqa: E402
from forecast.config import DEFAULT_MODEL, PLAIN_MODEL  # noqa: E402
from forecast.errors import ConvergenceWarning  # noqa: E402
from forecast.population import build_population, observations  # noqa: E402
from forecast.studies.backtest import backtest  # noqa: E402

#: Split of each family (fit = True side).
SPLITS = {
    "chinchilla": "C<1e20",
    "gadre_c4": "N<=1.6e8",
    "gadre_redpajama": "N<=1.6e8",
    "gadre_refinedweb": "N<=1.6e8",
    "olmo_ladder": "N<=2e9",
    "datablations": "C<=q0.6667",
    "gpt3": "N<=q0.6667",
    "opt": "N<=q0.6667",
    "olmo1": "N<2e9",  # two sizes only (1.2B, 6.9B): a quantile split keeps every run
}
PRESET_NAMES = ("population", "weak", "besiroglu2024")
MODELS = {"default": DEFAULT_MODEL, "plain": PLAIN_MODEL}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--summaries", type=Path)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--model", choices=sorted(MODELS), default="default")
    args = parser.parse_args()
    n = 300 if args.quick else 1000
    chains = 2 if args.quick else 4
    sampler = SamplerConfig(draws=n, tune=n, chains=chains, progress=False)
    fit_model = MODELS[args.model]
    print(f"model {args.model}: {fit_model}", flush=True)
    summ = summaries(args.summaries, model=fit_model)
    fams = families()
    per_run, rows = [], []
    for fam, split in SPLITS.items():
        if args.only and fam not in args.only:
            continue
        start = time.perf_counter()
        law_priors, info = build_population(
            observations(summ, exclude=[fam]), draws=n, tune=n, chains=chains, seed=0
        )
        base = {"law": "chinchilla", "sampler": sampler, "seed": 1, **fit_model}
        configs = {
            "population": FitConfig(**base, priors="weak", prior_overrides=law_priors),
            "weak": FitConfig(**base, priors="weak"),
            "besiroglu2024": FitConfig(**base, priors="besiroglu2024"),
        }
        runs = fams[fam][["N", "D", "loss"] + (["loss_sd"] if "loss_sd" in fams[fam] else [])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = backtest(runs, split=split, config=configs, n_bootstrap=0, published=())
        for model in PRESET_NAMES:
            r = res.sel(model=model)
            hit, width, err = (np.asarray(r[v]) for v in ("hit_90", "width_90", "rel_err"))
            per_run.append(
                pd.DataFrame(
                    {
                        "family": fam,
                        "model": model,
                        "hit": hit,
                        "width": width,
                        "abs_err": np.abs(err),
                    }
                )
            )
            rows.append(
                (
                    fam,
                    model,
                    int(res.attrs["n_train"]),
                    int(res.attrs["n_test"]),
                    hit.mean(),
                    width.mean(),
                    np.median(np.abs(err)),
                )
            )
        noise = ", ".join(
            f"{k} {res.attrs[f'posterior_{k}']}"
            for k in ("tau", "nu")
            if f"posterior_{k}" in res.attrs
        )
        print(
            f"{fam}: split {split}, {res.attrs['n_train']} fit / {res.attrs['n_test']} held "
            f"out, meta-model divergences {info['divergences']}, fit divergences "
            f"{res.attrs['divergences']}, population fit {noise or 'no tau/nu'}, priors "
            + ", ".join(f"{k} {dict(v.params)}" for k, v in law_priors.items())
            + f", {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    table = pd.DataFrame(
        rows, columns=["family", "prior", "n_fit", "n_test", "cov90", "width90", "med|err|"]
    )
    pd.set_option("display.width", 140)
    print("\nPer family:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    allr = pd.concat(per_run)
    pooled = allr.groupby("model").agg(
        cov90=("hit", "mean"),
        width90=("width", "mean"),
        med_err=("abs_err", "median"),
        runs=("hit", "size"),
    )
    print("\nPooled over all held-out runs:")
    print(pooled.loc[list(PRESET_NAMES)].to_string(float_format=lambda v: f"{v:.4f}"))
    fam_mean = table.groupby("prior")[["cov90", "width90", "med|err|"]].mean()
    print("\nMean over families (each family weighs the same):")
    print(fam_mean.loc[list(PRESET_NAMES)].to_string(float_format=lambda v: f"{v:.4f}"))
    w = pooled["width90"]
    print(
        f"\nwidth90 population / weak = {w['population'] / w['weak']:.3f} (pooled), "
        f"{fam_mean.loc['population', 'width90'] / fam_mean.loc['weak', 'width90']:.3f} "
        "(family mean)"
    )
    print(
        "\nHow narrow can bands about these medians be? A run is inside a central band about "
        "its median when its relative error is within the half-width. Covering a share q "
        "of the runs with bands of one width needs 2 x the q-quantile of |err|; an oracle "
        "that knew every error and gave each covered run exactly its |err| needs a mean "
        "width of 2 x (sum of the smallest q*n errors) / n."
    )
    for model in PRESET_NAMES:
        errors = np.sort(allr.loc[allr["model"] == model, "abs_err"].to_numpy())
        cells = []
        for q in (0.85, 0.90):
            k = int(np.ceil(q * errors.size))
            cells.append(
                f"cover {q:.0%}: one width {2 * np.quantile(errors, q):.4f}, oracle mean width "
                f"{2 * errors[:k].sum() / errors.size:.4f}"
            )
        print(f"  {model}: " + "; ".join(cells) + f" (mean width90 now {w[model]:.4f})")
    print(f"  0.7 x weak's mean width90: {0.7 * w['weak']:.4f}")
    print(
        "\nBetween the two: one width per family (every run of a family gets the same band, "
        "as a model that knew each family's error scale but not each run's error would "
        "give), chosen with hindsight to reach the coverage at the least mean width:"
    )
    for model in PRESET_NAMES:
        mine = allr[allr["model"] == model]
        errors = [g["abs_err"].to_numpy() for _, g in mine.groupby("family")]
        cells = [f"cover {q:.0%}: {per_family_width_bound(errors, q):.4f}" for q in (0.85, 0.90)]
        print(f"  {model}: " + "; ".join(cells))


def per_family_width_bound(errors: list[np.ndarray], q: float) -> float:
    """Least mean width of bands of one width per family that cover a share ``q`` of runs.

    A family whose band has width ``2 e`` covers its runs with ``|err| <= e``; so a family
    covering its ``k`` smallest errors pays ``n_f * 2 * e_(k)``. Dynamic programming over
    the number of runs covered gives the cheapest choice of ``k`` per family.
    """
    n = sum(e.size for e in errors)
    need = int(np.ceil(q * n))
    best = np.full(n + 1, np.inf)  # least total width (sum over runs) covering j runs
    best[0] = 0.0
    for e in errors:
        e = np.sort(e)
        cost = np.concatenate([[0.0], 2 * e * e.size])  # covering its k smallest: k = 0..n_f
        new = np.full(n + 1, np.inf)
        for k, c in enumerate(cost):
            new[k:] = np.minimum(new[k:], best[: n + 1 - k] + c)
        best = new
    return float(best[need:].min() / n)


if __name__ == "__main__":
    main()
