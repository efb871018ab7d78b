"""The foundation's acceptance fits on real data (slow; they run in CI)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast import FitConfig, SamplerConfig, fit, load_dataset
from forecast.data.joint import SHARED_EXPONENTS_POOLED

#: Besiroglu et al. 2024 95% bootstrap intervals (published_fits.csv).
BESIROGLU_95 = {"E": (1.769, 1.871), "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}


@pytest.mark.slow
def test_chinchilla_weak_priors_match_besiroglu(chinchilla_runs):
    result = fit(
        chinchilla_runs[["N", "D", "loss"]],
        priors="weak",
        sampler=SamplerConfig(draws=1000, tune=1000, chains=4, progress=False),
        seed=11,
    )
    post = result.posterior
    for name, (lo, hi) in BESIROGLU_95.items():
        median = float(post[name].median())
        print(f"{name}: posterior median {median:.4f}, Besiroglu 95% ({lo}, {hi})")
        assert lo < median < hi, name
    diag = result.diagnostics
    print(diag.to_dataframe().to_string(), diag.attrs["divergences"])
    assert diag.attrs["divergences"] == 0
    assert float(diag["r_hat"].max()) <= 1.01
    assert float(diag["ess_bulk"].min()) >= 400
    assert result.converged


#: Each corpus evaluated on held-out text of its own distribution (Paloma subsets), so the
#: floor of each group is the entropy of a different text.
IN_DISTRIBUTION = {
    "c4": "paloma_c4_en",
    "redpajama": "paloma_redpajama",
    "refinedweb": "paloma_refinedweb",
}


@pytest.mark.slow
def test_gadre_hierarchical_three_corpora():
    """Three corpora, each on its own held-out text: exponents shared, floors per corpus.

    Exponents are a property of the architecture and optimiser; floors and coefficients
    of the text (issue 4), so ``pooled`` lists E, log A and log B. With every
    parameter partially pooled, runs of <= 412M parameters leave the floors' 90%
    intervals overlapping (measured: differences (-0.87, 0.04) at best).
    """
    runs = load_dataset("gadre2024")
    runs = runs[runs["eval_set"] == runs["corpus"].map(IN_DISTRIBUTION)].reset_index(drop=True)
    result = fit(
        runs,
        config=FitConfig(
            groups="corpus",
            pooled=SHARED_EXPONENTS_POOLED,
            # The default model (Student-t, compute discrepancy), whose centre
            # parametrisation samples this design in 37.7 s (plain model: 93 s at 0.99).
            # Longer warm-up: with 1000 tuning steps max R-hat was 1.0103 at this seed.
            sampler=SamplerConfig(draws=1000, tune=2000, chains=4, progress=False),
            seed=5,
        ),
    )
    diag = result.diagnostics
    print(diag.to_dataframe().to_string(), diag.attrs)
    assert result.groups == sorted(runs["corpus"].unique()) and len(result.groups) == 3
    assert diag.attrs["divergences"] == 0
    assert float(diag["r_hat"].max()) <= 1.01
    assert float(diag["ess_bulk"].min()) >= 400
    floors = result.posterior["E_group"]
    print(floors.quantile([0.05, 0.5, 0.95], dim=("chain", "draw")).to_pandas())
    groups = list(floors["group"].values)
    distinct = []
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            diff = (floors.sel(group=a) - floors.sel(group=b)).values.ravel()
            lo, hi = np.quantile(diff, [0.05, 0.95])
            print(f"E[{a}] - E[{b}]: 90% interval ({lo:.3f}, {hi:.3f})")
            distinct.append(lo > 0 or hi < 0)
    # distinct floors: every pair's 90% interval of the difference excludes zero
    assert all(distinct), "group floors are not distinguishable"
