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
# # 6. Does it extrapolate?
#
# **Question.** A forecast at 10T parameters extrapolates far beyond the runs it was fitted
# on. Fitted only on the **smaller** models of a ladder, do the posterior predictive
# intervals contain the losses of the **larger**, held-out models as often as they claim?
# And how do the bands of the usual point fit with bootstrap (Hoffmann / Epoch procedure)
# compare?
#
# Two backtests on bundled data:
# * Gadre et al. (2024), C4 validation, three corpora as groups: fit $N < 4\times10^8$
#   (11M-154M parameters), predict the 411M models (over-trained up to 640 tokens/param);
# * the OLMo model ladder, C4, final checkpoints: fit $N < 2\times10^9$ (190M-1.3B), predict
#   the 3.2B models.
#
# Our model is the package's default, `FitConfig()`: a Student-t likelihood on log loss
# with the compute discrepancy, an SD $\tau$ per decade of compute from the centre of the
# fitted runs added to the noise SD in quadrature, so its bands widen as the held-out runs
# get further from the fitted ones. (The plain model, a normal likelihood without the
# discrepancy, would be `FitConfig(**PLAIN_MODEL)`; it is not run here.)
#
# Scores per held-out run: PIT (predictive CDF at the observed loss), hits of the central
# 50/80/90/95% intervals, relative error of the median, CRPS (nats/token). FAST mode skips
# the bootstrap baseline (its 4500-start grid search per group dominates the run time).

# %%
import pandas as pd
import xarray as xr
from _setup import show, start
from IPython.display import Markdown, display

from forecast import FitConfig, load_dataset
from forecast.data.joint import select_checkpoints
from forecast.plots.backtest import plot_calibration
from forecast.studies.backtest import backtest

SAMPLER = start(FAST, FIGURE_DIR)

N_BOOTSTRAP = 0 if FAST else 4000

# %%
gadre = load_dataset("gadre2024").query("eval_set == 'c4_val'").reset_index(drop=True)
ladder = select_checkpoints(load_dataset("olmo_ladder").query("eval_set == 'c4_en'"))
backtests = {
    "Gadre et al. 2024 (411M held out)": backtest(
        gadre,
        split="N<4e8",
        config=FitConfig(groups="corpus", sampler=SAMPLER, seed=2),
        n_bootstrap=N_BOOTSTRAP,
        published=(),
        seed=0,
    ),
    "OLMo ladder (3.2B held out)": backtest(
        ladder,
        split="N<2e9",
        config=FitConfig(sampler=SAMPLER, seed=2),
        n_bootstrap=N_BOOTSTRAP,
        published=(),
        seed=0,
    ),
}
for name, bt in backtests.items():
    print(
        f"{name}: fitted {bt.attrs['n_train']} runs, held out {bt.attrs['n_test']}; "
        f"divergences {bt.attrs['divergences']}, max R-hat {bt.attrs['max_r_hat']}"
    )

# %% [markdown]
# ## Scores

# %%
columns = [
    "coverage_50",
    "coverage_80",
    "coverage_90",
    "coverage_95",
    "median_abs_rel_err",
    "mean_width_90",
    "mean_crps",
]
scores = pd.concat(
    {name: bt[columns].to_dataframe() for name, bt in backtests.items()}, names=["backtest"]
)
scores.round(3)

# %%
for name, bt in backtests.items():
    show(
        plot_calibration(
            bt,
            title=f"{name}: fit {bt.attrs['n_train']} smaller runs, "
            f"predict {bt.attrs['n_test']} larger",
        )
    )

# %% [markdown]
# Both backtests together: the PIT values of every held-out run of the two ladders, for the
# methods both have.

# %%
models = sorted(set.intersection(*(set(map(str, bt["model"].values)) for bt in backtests.values())))
keep = ["pit", "hit_50", "hit_90", "rel_err", "width_90"]
pooled = xr.concat(
    [bt[keep].sel(model=models).reset_coords(drop=True) for bt in backtests.values()], dim="run"
)
n_held = pooled.sizes["run"]
show(
    plot_calibration(pooled, title=f"two ladders: {n_held} held-out larger runs"),
    "06_backtests.png",
)

# %% [markdown]
# ## Answer

# %%
coverage = pooled[["hit_50", "hit_90"]].mean("run")
err = float(abs(pooled["rel_err"].sel(model="ours")).median())
width = float(pooled["width_90"].sel(model="ours").mean())
if "bootstrap" in models:
    baseline = (
        f"the point fit's bootstrap bands contained "
        f"{float(coverage['hit_90'].sel(model='bootstrap')):.0%} at 90% "
        f"({float(coverage['hit_90'].sel(model='bootstrap+noise')):.0%} with its "
        f"residual noise added)"
    )
else:
    baseline = "the bootstrap baseline was not run (FAST mode)"
parts = ", ".join(f"{bt.attrs['n_test']} in {name}" for name, bt in backtests.items())
answer = (
    f"**Answer.** Fitted only on smaller models and asked for the losses of {n_held} larger "
    f"held-out runs ({parts}), our 90% posterior predictive intervals contained "
    f"{float(coverage['hit_90'].sel(model='ours')):.0%} of the observed losses and the 50% "
    f"intervals {float(coverage['hit_50'].sel(model='ours')):.0%}; the 90% intervals were "
    f"{100 * width:.2f}% of the loss wide on average and the median absolute error was "
    f"{100 * err:.2f}% of the loss; {baseline}."
)
display(Markdown(answer))
