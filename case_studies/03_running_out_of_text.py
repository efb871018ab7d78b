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
# # 3. When do we run out of text?
#
# **Question.** How many training tokens does a compute-optimal (or over-trained) 10T model
# need, is that more than the stock of public human-generated text, what does repeating the
# stock cost in loss, and in which year does the frontier's training-set size reach the
# stock — compared with Villalobos et al. (2024): median 2028, between 2026 and 2032?
#
# Ingredients, each a posterior or a prior:
# * the law, fitted jointly to small runs and published families of large models (as in case
#   study 2; small runs alone span too little of $N$ to pin the exponents that set the
#   allocation at 10T; the default Student-t likelihood with the compute discrepancy), for
#   a **new model family** drawn from the population: the compute-optimal $D^*(N)$ of every
#   draw;
# * the stock of text: lognormal prior from Villalobos et al. 2024 (median $3\times10^{14}$
#   tokens, 90% interval $10^{14}$-$10^{15}$);
# * the repeated-data penalty of Muennighoff et al. (2023) ($R_D^*$ from its prior);
# * a Bayesian log-linear trend of frontier training-set size against publication date,
#   fitted to Epoch AI's notable models.

# %%
import dataclasses
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from _setup import show, start
from IPython.display import Markdown, display

from forecast import allocate, exhaustion, fit, fit_dataset_trend, load_dataset
from forecast.data.joint import joint_runs
from forecast.dataset_trend import TREND_SAMPLER
from forecast.exhaustion import DEFAULT_STOCK, VILLALOBOS_YEAR
from forecast.intervals import interval, median
from forecast.plots import plot_exhaustion
from forecast.units import CI_PROB

SAMPLER = start(FAST, FIGURE_DIR)
# The joint fit (7 groups, every parameter varying by group) mixes slowly along the
# between-group scales: 4 x 1000 draws left R-hat above 1.01 on a few of them.
JOINT_SAMPLER = SAMPLER if FAST else dataclasses.replace(SAMPLER, draws=2000)

N_TARGET = 1e13  # parameters
GROUP = None  # None: a new model family drawn from the population (or a group label)
TREND = SAMPLER if FAST else TREND_SAMPLER

# %%
result = fit(joint_runs(), groups="group", sampler=JOINT_SAMPLER, seed=5)
notable = load_dataset("epoch_notable")
trend = fit_dataset_trend(notable, sampler=TREND, seed=0)
print(f"law: {len(result.runs)} runs, groups {result.groups}, converged {result.converged}")
t = trend.attrs
print(
    f"trend: {t['n_models']} {t['subset']} models since {t['since']:.0f}, growth "
    f"{t['growth_per_year_median']:.2f}x/year "
    f"(90%: {t['growth_per_year_lower']:.2f}-{t['growth_per_year_upper']:.2f})"
)

# %% [markdown]
# ## Tokens needed against the stock
#
# The compute-optimal token count of every posterior draw, for model sizes from 1B to 100T
# parameters, against the stock prior, with Epoch's notable language models for reference.

# %%
sizes = np.geomspace(1e9, 1e14, 30)
need = allocate(result, N=sizes, group=GROUP)["D"]
s_lo, s_hi = DEFAULT_STOCK.implied_interval(CI_PROB)


def band_against_stock(ax, x, draws, what):
    """The median and equal-tailed interval of ``draws`` along ``x``, and the stock prior."""
    lo, hi = interval(draws, CI_PROB, skipna=True).transpose("ci_bound", ...).values
    label = f"{what}, {CI_PROB:.0%} equal-tailed interval"
    ax.fill_between(x, lo, hi, color="C0", alpha=0.25, lw=0, label=label)
    ax.plot(x, median(draws, skipna=True).values, color="C0", label=f"{what}, posterior median")
    label = f"stock of human text, {CI_PROB:.0%} prior interval"
    ax.axhspan(s_lo, s_hi, color="0.5", alpha=0.2, lw=0, label=label)


fig, ax = plt.subplots(figsize=(7.5, 4.8))
band_against_stock(ax, sizes, need, "compute-optimal D*")
ax.axhline(DEFAULT_STOCK.median, color="0.3", ls="--", lw=1, label="stock, prior median")
lm = notable.dropna(subset=["N", "D"])
ax.scatter(lm["N"], lm["D"], s=10, c="C3", alpha=0.6, label="Epoch notable models (N, D)")
ax.axvline(N_TARGET, color="k", lw=0.8, ls=":")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="model size N (parameters)",
    ylabel="training tokens D (tokens)",
    title=f"tokens needed vs the stock ({GROUP or 'new model family'})",
)
ax.legend(fontsize=8, loc="upper left")
show(fig)

# %% [markdown]
# ## Exhaustion at 10T parameters
#
# Per scenario: tokens needed, $P(D > S)$, epochs over the stock $D/S$, the loss penalty of
# repeating the stock instead of having fresh data, and the year the frontier trend reaches
# the tokens needed. The exhaustion year itself is when the trend line reaches the stock.

# %%
out = exhaustion(result, N=N_TARGET, trend=trend, group=GROUP, ci_prob=CI_PROB, seed=0)
cols = {}
for i, name in enumerate(out["scenario"].values):
    cell = {}
    for var, fmt in (
        ("D_needed", ".3g"),
        ("epochs_needed", ".2f"),
        ("loss_penalty", ".4f"),
        ("year_needed", ".1f"),
    ):
        lo, hi = out[f"{var}_ci"].isel(scenario=i).values
        cell[f"{var} ({out[var].attrs['units']})"] = (
            f"{float(out[f'{var}_median'].isel(scenario=i)):{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
        )
    cell["P(D > stock)"] = f"{float(out['p_exhausted'].isel(scenario=i)):.3f}"
    cols[str(name)] = cell
pd.DataFrame(cols)

# %%
show(plot_exhaustion(out), "03_running_out_of_text.png")

# %% [markdown]
# The trend itself: frontier training-set sizes against publication date, the posterior of
# the trend line, and the stock.

# %%
years = np.linspace(2018, 2036, 60)
since_centre = xr.DataArray(years, dims="year") - trend.attrs["year_centre"]
line = trend["intercept"] + trend["slope"] * since_centre  # log10 tokens
fig, ax = plt.subplots(figsize=(7.5, 4.5))
ax.scatter(trend["year"], trend["tokens"], s=14, c="C3", label="largest models (Epoch AI)")
band_against_stock(ax, years, 10.0**line, "trend line")
ax.axvspan(
    VILLALOBOS_YEAR["lower"],
    VILLALOBOS_YEAR["upper"],
    color="C1",
    alpha=0.12,
    lw=0,
    label=f"Villalobos et al. 2024, {VILLALOBOS_YEAR['interval']}",
)
ax.set(
    yscale="log",
    xlabel="publication date (year)",
    ylabel="training tokens D (tokens)",
    title="frontier training-set size against date",
)
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend(fontsize=8, loc="upper left")
show(fig)

# %% [markdown]
# ## Answer

# %%
co, over = out.sel(scenario="compute_optimal"), out.sel(scenario="100_tokens_per_param")
D_lo, D_hi = co["D_needed_ci"].values
y_lo, y_hi = out["exhaustion_year_ci"].values
year = float(out["exhaustion_year_median"])
ref = json.loads(out.attrs["villalobos_year"])
overlap = max(0.0, min(y_hi, ref["upper"]) - max(y_lo, ref["lower"]))
answer = (
    f"**Answer.** A {N_TARGET:.0e}-parameter model trained compute-optimally needs "
    f"{float(co['D_needed_median']):.2g} tokens (90%: {D_lo:.2g}-{D_hi:.2g}), more than the "
    f"stock of public human text (prior median {DEFAULT_STOCK.median:.1e} tokens) with "
    f"probability {float(co['p_exhausted']):.2f}; over-trained to 100 tokens/parameter the "
    f"probability is {float(over['p_exhausted']):.2f}, and repeating the stock instead of "
    f"fresh data then costs {float(over['loss_penalty_mean']):.4f} nats/token on average. "
    f"The frontier training-set trend ({float(out['growth_per_year_median']):.2f}x per year) "
    f"reaches the stock in {year:.0f} (90%: {y_lo:.0f}-{y_hi:.0f}), against Villalobos et "
    f"al.'s median {ref['median']:.0f} ({ref['lower']:.0f}-{ref['upper']:.0f}); the two "
    f"intervals overlap by {overlap:.1f} years."
)
display(Markdown(answer))
