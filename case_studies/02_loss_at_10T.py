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
# # 2. Loss of a 10T-parameter model
#
# **Question.** What loss will a model of $N = 10^{13}$ parameters (10T) reach, trained
# compute-optimally or over-trained? How far is that from the entropy floor $E$ of the text,
# and how much does another 10× of compute buy at that scale?
#
# The fit is one hierarchical model of small training runs (Gadre et al. 2024 on three
# corpora; the OLMo ladder) **and** published families of large models (GPT-3, OPT, OLMo-1, up to
# 175B parameters): every (dataset, corpus) is a group with its own floor and coefficients,
# partially pooled, so the small runs and the large families inform the same exponents.
# Around the law, the package's default model: a Student-t likelihood on log loss with the
# compute discrepancy (a noise SD that grows with the distance in compute from the data's
# centre).
# Units: loss nats/token, $N$ parameters, $D$ tokens, $C = 6ND$ FLOP.

# %%
import dataclasses

import pandas as pd
from _setup import fit_summary, show, start
from IPython.display import Markdown, display

from forecast import Scenario, fit, forecast
from forecast.data.joint import joint_runs
from forecast.plots import plot_fit
from forecast.report import forecast_figure, forecast_table, probability_table
from forecast.units import CI_PROB

SAMPLER = start(FAST, FIGURE_DIR)
# The joint fit (7 groups, every parameter varying by group) mixes slowly along the
# between-group scales: 4 x 1000 draws left R-hat above 1.01 on a few of them.
JOINT_SAMPLER = SAMPLER if FAST else dataclasses.replace(SAMPLER, draws=2000)

N_TARGET = 1e13  # parameters
FORECAST_GROUP = "gpt3"  # the eval text of the forecast: GPT-3's validation set

# %% [markdown]
# ## The joint runs table

# %%
runs = joint_runs()
runs.groupby("group").agg(
    runs=("loss", "size"),
    eval_set=("eval_set", "first"),
    N_min=("N", "min"),
    N_max=("N", "max"),
    D_max=("D", "max"),
    loss_min=("loss", "min"),
).style.format({"N_min": "{:.3g}", "N_max": "{:.3g}", "D_max": "{:.3g}", "loss_min": "{:.3f}"})

# %%
result = fit(runs, groups="group", sampler=JOINT_SAMPLER, seed=3)
print(fit_summary(result))
show(plot_fit(result, ci_prob=CI_PROB))

# %% [markdown]
# ## Forecast at 10T parameters
#
# Three scenarios: compute-optimal $D$ (per posterior draw), Hoffmann's 20 tokens/parameter
# rule, and an over-trained model at 100 tokens/parameter. `loss` is the mean curve (the law
# itself); `reducible_loss` is $L - E$; `frontier_return` is the loss drop bought by 10× more
# compute along the compute-optimal frontier.

# %%
SCENARIOS = [
    Scenario("compute_optimal"),
    Scenario("tokens_per_param", 20.0),
    Scenario("tokens_per_param", 100.0, name="over-trained, 100 tokens/param"),
]
summary = forecast(
    result, N=N_TARGET, scenarios=SCENARIOS, group=FORECAST_GROUP, ci_prob=CI_PROB, seed=0
)
forecast_table(summary)

# %%
probability_table(summary).round(3)

# %%
show(forecast_figure(result, summary, group=FORECAST_GROUP), "02_loss_at_10T.png")

# %% [markdown]
# ## Every group, and a new one
#
# The same compute-optimal forecast on each group's own eval text, and for a **new group**
# drawn from the population (an eval text not in the data): the floors differ between texts,
# so the new group's interval is the widest.

# %%
rows = {}
for group in [*result.groups, None]:
    s = (
        forecast(
            result,
            N=N_TARGET,
            scenarios=[Scenario("compute_optimal")],
            group=group,
            ci_prob=CI_PROB,
            seed=0,
        )
        .isel(scenario=0)
        .sel(ci_prob=CI_PROB)
    )
    lo, hi = s["loss_ci"].values
    rows[group or "new group"] = {
        "loss (nats/token)": float(s["loss_median"]),
        "90% lower": lo,
        "90% upper": hi,
        "L - E (nats/token)": float(s["reducible_loss_median"]),
        "dL per 10x C (nats/token)": float(s["frontier_return_median"]),
        "tokens/param": float(s["tokens_per_param_median"]),
    }
by_group = pd.DataFrame.from_dict(rows, orient="index")
by_group.round(4)

# %% [markdown]
# ## Answer

# %%
point = summary.sel(ci_prob=CI_PROB)
co, over = point.isel(scenario=0), point.sel(scenario="over-trained, 100 tokens/param")
L_lo, L_hi = co["loss_ci"].values
R_lo, R_hi = co["reducible_loss_ci"].values
F_lo, F_hi = co["frontier_return_ci"].values
answer = (
    f"**Answer.** A {N_TARGET:.0e}-parameter model trained compute-optimally "
    f"(D = {float(co['D_median']):.2g} tokens, "
    f"{float(co['tokens_per_param_median']):.0f} tokens/parameter, "
    f"C = {float(co['C_median']):.2g} FLOP) is forecast to reach "
    f"{float(co['loss_median']):.3f} nats/token "
    f"(90%: {L_lo:.3f}-{L_hi:.3f}) on the {FORECAST_GROUP} validation text, "
    f"{float(co['reducible_loss_median']):.3f} nats/token (90%: {R_lo:.3f}-{R_hi:.3f}) above the "
    f"fitted entropy floor; at that scale 10x more compute buys only "
    f"{float(co['frontier_return_median']):.4f} nats/token (90%: {F_lo:.4f}-{F_hi:.4f}), and "
    f"over-training to 100 tokens/parameter gives {float(over['loss_median']):.3f} nats/token. "
    f"For a new eval text drawn from the population the compute-optimal forecast is "
    f"{by_group.loc['new group', 'loss (nats/token)']:.3f} nats/token "
    f"(90%: {by_group.loc['new group', '90% lower']:.3f}-"
    f"{by_group.loc['new group', '90% upper']:.3f})."
)
display(Markdown(answer))
