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
# # 7. Which small run should I train next?
#
# **Question.** I have a planned ladder of small training runs and a forecast of the loss of
# a 10T-parameter model from it. Within a budget of $10^{21}$ FLOP, which one extra run would
# narrow that forecast most per FLOP spent, and by how much does the forecast actually
# narrow once the run is trained and added?
#
# The ladder here is **simulated** from a known law (Besiroglu et al.'s 2024 refit of
# Chinchilla, with 1% noise on the loss), so that the run we "train" next can be simulated
# from the same law, and the true loss at 10T is known. With your own ladder, fit your runs
# table instead and train the suggested run for real.
#
# Units: loss $L$ in nats/token, $N$ total parameters, $D$ training tokens, $C = 6ND$ FLOP.

# %%
import warnings

import numpy as np
import pandas as pd
from _setup import show, start
from IPython.display import Markdown, display

from forecast import (
    Scenario,
    WeightCollapseWarning,
    fit,
    forecast,
    ladder,
    simulate,
    suggest_runs,
    update,
)
from forecast.plots import plot_suggestions, plot_update
from forecast.studies.design import target_draws
from forecast.studies.simulate import BESIROGLU_2024
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN
from models.laws import chinchilla

SAMPLER = start(FAST, FIGURE_DIR)

N_TARGET = 1e13  # parameters: the model whose loss we forecast
BUDGET = 1e21  # FLOP: the most the next run may cost
TRUTH = BESIROGLU_2024  # the law the runs are simulated from (E, A, alpha, B, beta)
NOISE = 0.01  # run-to-run noise, standard deviation of log loss (about 1% of the loss)
if FAST:
    # 300 draws are too few to reweight for the most informative candidates; suggest_runs
    # then scores them by the linear-Gaussian update (column `method`), as expected here.
    warnings.simplefilter("ignore", WeightCollapseWarning)

# %% [markdown]
# ## The planned ladder
#
# Four model sizes from 20M to 400M parameters, each trained at 5, 20 and 80 tokens per
# parameter: 12 runs, the largest costing under $10^{20}$ FLOP. `ladder` builds the design,
# `simulate` draws a loss for each run from the law plus noise on log loss.

# %%
design = ladder(np.geomspace(2e7, 4e8, 4), [5, 20, 80])
runs = simulate("chinchilla", TRUTH, design, sigma=NOISE, seed=1)
runs.assign(C=FLOP_PER_PARAM_TOKEN * runs["N"] * runs["D"], tokens_per_param=runs["D"] / runs["N"])[
    ["N", "D", "tokens_per_param", "C", "loss"]
].style.format(
    {"N": "{:.3g}", "D": "{:.3g}", "tokens_per_param": "{:.0f}", "C": "{:.3g}", "loss": "{:.3f}"}
)

# %%
result = fit(runs, sampler=SAMPLER, seed=7)
diag = result.diagnostics
print(
    f"{len(result.runs)} runs; divergences {diag.attrs['divergences']}, "
    f"max R-hat {float(diag['r_hat'].max()):.3f}, "
    f"min bulk ESS {float(diag['ess_bulk'].min()):.0f}"
)

# %% [markdown]
# ## The forecast today
#
# The loss of a $10^{13}$-parameter model trained on its compute-optimal number of tokens
# (each posterior draw its own $D^*$), on the mean curve of the law. The law that simulated
# the runs gives the true value: $D^* = G^{-1} (N/G)^{\alpha/\beta}$ with
# $G = (\alpha A / \beta B)^{1/(\alpha+\beta)}$ (Hoffmann et al. 2022, eq. 4). The fit
# is the package's default model, a Student-t likelihood on log loss with the compute
# discrepancy, although the simulated noise is normal and the law is exact: the model does
# not know that.

# %%
G = (TRUTH["alpha"] * TRUTH["A"] / (TRUTH["beta"] * TRUTH["B"])) ** (
    1 / (TRUTH["alpha"] + TRUTH["beta"])
)
D_true = (N_TARGET / G) ** (TRUTH["alpha"] / TRUTH["beta"]) / G
L_true = float(
    chinchilla.loss(
        N_TARGET, D_true, TRUTH["E"], TRUTH["A"], TRUTH["alpha"], TRUTH["B"], TRUTH["beta"]
    )
)


def forecast_row(res):
    """Median, 90% interval and SD of the compute-optimal loss at N_TARGET."""
    s = (
        forecast(res, N=N_TARGET, scenarios=[Scenario("compute_optimal")], ci_prob=CI_PROB, seed=0)
        .isel(scenario=0)
        .sel(ci_prob=CI_PROB)
    )
    lo, hi = s["loss_ci"].values
    return {
        "median (nats/token)": float(s["loss_median"]),
        "90% lower": lo,
        "90% upper": hi,
        "90% width": hi - lo,
        "posterior SD": float(target_draws(res, N=N_TARGET).std()),
        "D* median (tokens)": float(s["D_median"]),
    }


before = forecast_row(result)
print(f"true loss at N = {N_TARGET:.0e}: {L_true:.4f} nats/token (D* = {D_true:.3g} tokens)")
pd.Series(before).to_frame("ladder only").T.round(4)

# %% [markdown]
# ## Which run next?
#
# `suggest_runs` scores candidate runs within the budget: by default 30 runs at compute
# $C \in \{1, 10^{-0.5}, \dots, 10^{-2}\} \times$ budget and 5-160 tokens per parameter.
# For each candidate it simulates outcomes from the posterior predictive and reweights
# today's draws by each outcome's likelihood: the average drop of the 10T forecast's
# posterior variance is the **expected variance reduction**; divided by the run's FLOP, it
# ranks the candidates (no refit per candidate). `method` says whether the importance
# reweighting was trusted or the linear-Gaussian update was used instead.

# %%
ranked = suggest_runs(result, BUDGET, target_N=N_TARGET, seed=0)
top = ranked.isel(run=0)  # the suggested next run
table = ranked.to_dataframe().assign(tokens_per_param=lambda t: t["D"] / t["N"])
table = table[
    [
        "rank",
        "N",
        "D",
        "tokens_per_param",
        "C",
        "reduction_per_flop",
        "relative_reduction",
        "expected_sd",
        "method",
    ]
].set_index("rank")
print(
    f"{len(table)} candidates; today's posterior SD of the target "
    f"{np.sqrt(ranked.attrs['current_variance']):.4f} {ranked.attrs['target_units']}; "
    f"reduction_per_flop in {ranked['reduction_per_flop'].attrs['units']}"
)
table.head(10).style.format(
    {
        "N": "{:.3g}",
        "D": "{:.3g}",
        "tokens_per_param": "{:.0f}",
        "C": "{:.3g}",
        "reduction_per_flop": "{:.3g}",
        "relative_reduction": "{:.1%}",
        "expected_sd": "{:.4f}",
    }
)

# %%
show(plot_suggestions(ranked, runs=runs))

# %% [markdown]
# Ranking by reduction per FLOP tends to favour cheaper runs. If the whole budget can go
# into one run, `rank_by="reduction"` gives the most informative run regardless of cost:

# %%
biggest = suggest_runs(result, BUDGET, target_N=N_TARGET, rank_by="reduction", seed=0).isel(run=0)
for label, row in (("best per FLOP", top), ("largest reduction", biggest)):
    print(
        f"{label}: N = {float(row['N']):.3g} parameters, D = {float(row['D']):.3g} tokens, "
        f"C = {float(row['C']):.2g} FLOP, expected variance reduction "
        f"{float(row['relative_reduction']):.0%}"
    )

# %% [markdown]
# ## "Training" the suggested run
#
# We cannot train a model here, so the top run's loss is **simulated** from the same known
# law and noise as the ladder (a new noise seed): it plays the run you would now train.
# `update` appends it to the runs and refits with the same configuration.

# %%
N_next, D_next, C_next = (float(top[k]) for k in ("N", "D", "C"))
new_run = simulate("chinchilla", TRUTH, [{"N": N_next, "D": D_next}], sigma=NOISE, seed=2).assign(
    run_id="next-run"
)
after_fit = update(result, new_run)
diag = after_fit.diagnostics
print(
    f"simulated loss of the new run: {float(new_run['loss'].iloc[0]):.4f} nats/token; "
    f"refit on {len(after_fit.runs)} runs, divergences {diag.attrs['divergences']}, "
    f"max R-hat {float(diag['r_hat'].max()):.3f}"
)

# %% [markdown]
# ## The forecast before and after

# %%
after = forecast_row(after_fit)
expected_sd = float(top["expected_sd"])
print(f"posterior SD after the run, as suggest_runs expected it: {expected_sd:.4f} nats/token")
pd.DataFrame({"ladder only": before, "ladder + suggested run": after}).T.round(4)

# %%
fig = plot_update(result, after_fit, N=N_TARGET, ci_prob=CI_PROB)
ax_loss, ax_frontier = fig.axes
ax_loss.axvline(
    L_true, color="k", ls="--", lw=1.2, label=f"true loss {L_true:.3f} (simulating law)"
)
ax_loss.legend(fontsize=8)
C_range = ax_frontier.get_xlim()
C_grid = np.geomspace(*C_range, 100)
N_opt, D_opt = chinchilla.compute_optimal(
    C_grid, TRUTH["E"], TRUTH["A"], TRUTH["alpha"], TRUTH["B"], TRUTH["beta"], FLOP_PER_PARAM_TOKEN
)
ax_frontier.plot(
    C_grid,
    chinchilla.loss(
        N_opt, D_opt, TRUTH["E"], TRUTH["A"], TRUTH["alpha"], TRUTH["B"], TRUTH["beta"]
    ),
    color="k",
    ls="--",
    lw=1,
    label="true frontier (simulating law)",
)
ax_frontier.set_xlim(C_range)
ax_frontier.set_title("simulated ladder and the suggested run", fontsize=10)
ax_frontier.legend(fontsize=8)
show(fig, "07_next_run.png")

# %% [markdown]
# ## Answer

# %%
verb = "narrows" if after["90% width"] < before["90% width"] else "widens"
inside = [row["90% lower"] <= L_true <= row["90% upper"] for row in (before, after)]
truth = {
    (True, True): "inside both intervals",
    (False, False): "outside both intervals",
    (True, False): "inside the interval before the run only",
    (False, True): "inside the interval after the run only",
}[tuple(inside)]
answer = (
    f"**Answer.** Of {ranked.sizes['run']} candidate runs within {BUDGET:.0e} FLOP, the "
    f"suggested next run is N = {N_next:.2g} parameters, D = {D_next:.2g} tokens "
    f"({C_next:.2g} FLOP, {D_next / N_next:.0f} tokens/parameter): the largest expected "
    f"reduction of the forecast's variance per FLOP, "
    f"{float(top['relative_reduction']):.0%} of today's variance. Adding its (simulated) "
    f"loss {verb} the 90% interval of the 10T-parameter loss from "
    f"{before['90% lower']:.3f}-{before['90% upper']:.3f} to "
    f"{after['90% lower']:.3f}-{after['90% upper']:.3f} nats/token (width "
    f"{before['90% width']:.3f} to {after['90% width']:.3f}); its posterior SD went from "
    f"{before['posterior SD']:.4f} to {after['posterior SD']:.4f} nats/token, against "
    f"{expected_sd:.4f} expected by `suggest_runs`, and the true loss of the simulating law, "
    f"{L_true:.3f} nats/token, lies {truth}."
)
display(Markdown(answer))
