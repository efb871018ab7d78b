# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
FAST = False  # True: tiny draws, few bootstraps, small studies (what the tests run)
FIGURE_DIR = "figures"  # where this notebook writes its README figure

# %% [markdown]
# # 4. How much does it depend on my assumptions?
#
# **Question.** The 10T-parameter loss forecast and the probability of running out of text
# rest on choices: the prior preset, how wide the priors are, the law form, the likelihood,
# the model discrepancy, which corpora are fitted, a compute cutoff, the stock of text, the
# FLOP convention. Which of them move the answer, and by more or less than the posterior's
# own uncertainty?
#
# The study is `studies/gadre_c4.toml` (Gadre et al.'s runs on C4 validation; forecast for
# the `c4` corpus at $N = 10^{13}$ parameters, compute-optimal $D$): the baseline, then each
# axis varied alone (a one-at-a-time design, what a tornado plot needs). The baseline is
# the package's default model: a Student-t likelihood on log loss with the compute
# discrepancy (an SD $\tau$ per decade of compute from the data's centre, added to the noise
# SD in quadrature); the `likelihood` axis swaps in a normal likelihood and the
# `discrepancy` axis drops the discrepancy (both together would be the plain model,
# `FitConfig(**PLAIN_MODEL)`, which a one-at-a-time design does not fit). Every configuration
# is fitted on a Dask `LocalCluster`; configurations that differ only in the stock or the
# FLOP convention share one fit. FAST mode keeps two prior presets and the three stocks
# (two fits).

# %%
import json
import logging

import numpy as np
import pandas as pd
import tomllib
from _setup import show, start
from distributed import Client, LocalCluster
from IPython.display import Markdown, display

from forecast.plots import plot_tornado
from forecast.studies.sensitivity import sensitivity
from forecast.studies.sensitivity_plan import axis_effects, load_study, plan

SAMPLER = start(FAST, FIGURE_DIR)

STUDY_FILE = "studies/gadre_c4.toml"
N_WORKERS = 2

# %%
with open(STUDY_FILE, "rb") as handle:
    spec = tomllib.load(handle)
if FAST:
    spec["axes"] = {"preset": spec["axes"]["preset"][:2], "stock": spec["axes"]["stock"]}
    spec["sampler"] = {k: getattr(SAMPLER, k) for k in ("draws", "tune", "chains", "target_accept")}
    spec["exhaustion_year"] = False
study = load_study(spec)
configurations = plan(study)
print(
    f"{len(configurations)} configurations, "
    f"{len({c.fit_key for c in configurations if not c.error})} distinct fits"
)
pd.DataFrame([{**c.values, "fit": c.fit_key[:8], "error": c.error} for c in configurations])

# %%
cluster = LocalCluster(
    n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=":0"
)
client = Client(cluster)
try:
    result = sensitivity(study, client=client)
finally:
    logging.getLogger("distributed").setLevel(logging.ERROR)  # quiet worker shutdown
    client.close()
    cluster.close()
print(
    f"{result.attrs['n_configurations']} configurations, {result.attrs['n_fits_run']} fits, "
    f"{result.attrs['n_failed']} failed"
)

# %% [markdown]
# ## Which choices matter
#
# `axis_effects` gives, for each axis, the smallest and largest forecast over its values with
# the other axes at baseline: the bars of the tornado plot. The grey band is the baseline's
# 90% posterior interval: a bar shorter than the band is a choice that matters less than the
# uncertainty the data leave.

# %%
effects = axis_effects(result, variable="loss_median")
effects.to_dataframe().round(4)

# %%
show(plot_tornado(result, variable="loss_median"), "04_sensitivity.png")

# %%
p_effects = axis_effects(result, variable="p_exhausted")
show(plot_tornado(result, variable="p_exhausted"))
p_effects.to_dataframe().round(3)

# %% [markdown]
# Prior sensitivity without refitting: power-scaling the prior (and the likelihood) of the
# baseline fit by importance weighting (Kallioinen et al. 2024); values above 0.05 flag a
# parameter whose posterior the prior (or the data) noticeably shapes.

# %%
base = {
    a: (np.inf if v == "inf" else v)
    for a, v in json.loads(result.attrs["baseline"]).items()
    if a in result.dims
}
pd.DataFrame(
    {
        "prior": result["prior_sensitivity"].sel(base).to_series(),
        "likelihood": result["likelihood_sensitivity"].sel(base).to_series(),
    }
).round(3)

# %% [markdown]
# ## Answer

# %%
top, ptop = effects.isel(axis=0), p_effects.isel(axis=0)


def label(value):
    return "none" if str(value) == "inf" else str(value)


lo, hi = result["loss_ci"].sel(base).values
answer = (
    f"**Answer.** Of the {effects.sizes['axis']} choices varied, "
    f"`{str(top['axis'].values)}` moves the 10T-parameter loss forecast most: from "
    f"{float(top['low']):.3f} ({label(top['low_value'].values)}) to {float(top['high']):.3f} "
    f"nats/token ({label(top['high_value'].values)}), a range of {float(top['range']):.3f}, "
    f"against a baseline forecast of {effects.attrs['baseline_value']:.3f} whose 90% interval is "
    f"{hi - lo:.3f} nats/token wide; the probability that the compute-optimal token count "
    f"exceeds the stock of text moves most with `{str(ptop['axis'].values)}` "
    f"({float(ptop['low']):.2f} to {float(ptop['high']):.2f}, baseline "
    f"{p_effects.attrs['baseline_value']:.2f})."
)
display(Markdown(answer))
