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
# # 1. Chinchilla, replicated the Bayesian way
#
# **Question.** Fitted to the 240 Chinchilla training runs with weak priors, does a Bayesian
# posterior of $L(N, D) = E + A N^{-\alpha} + B D^{-\beta}$ agree with Hoffmann et al.'s
# printed fit (2022, Approach 3) and with Epoch AI's refit of the same points (Besiroglu et
# al. 2024)? How wide should the intervals on the allocation exponent really be, and how
# many tokens per parameter does the posterior give a model at Chinchilla's compute?
#
# Units: loss $L$ in nats/token, $N$ total parameters, $D$ training tokens, $C = 6ND$ FLOP.

# %%
import re

import numpy as np
import pandas as pd
import xarray as xr
from _setup import fit_summary, interval, show, start
from IPython.display import Markdown, display

from forecast import allocate, fit, load_dataset, load_runs
from forecast.plots import plot_allocation, plot_exponents
from forecast.studies.baseline import GRID, bootstrap_point, fit_point, predict_point
from forecast.units import CI_PROB
from models.laws import chinchilla

SAMPLER = start(FAST, FIGURE_DIR)

# The Epoch-style point fit starts L-BFGS-B from every point of Hoffmann's 4500-point grid;
# FAST uses every 50th start (the same optimum on these data) and fewer bootstraps.
STARTS, N_BOOTSTRAP = (GRID[::50], 200) if FAST else (GRID, 4000)

# %% [markdown]
# ## The data
#
# The 240 points are Epoch AI's digitisation of Hoffmann et al.'s Fig. 4 (the five
# highest-loss points dropped, as Epoch did), with $D = C / 6N$. They have **no license
# upstream**, so they are not part of the installed package: they live in the repository's
# test data, `tests/data/chinchilla.csv` (see `tests/data/SOURCE.md`). This notebook reads
# them from there, relative to `case_studies/`.

# %%
runs = load_runs("../tests/data/chinchilla.csv")[["N", "D", "loss"]]
print(
    f"{len(runs)} runs; N {runs.N.min():.3g}-{runs.N.max():.3g} parameters, "
    f"D {runs.D.min():.3g}-{runs.D.max():.3g} tokens, "
    f"loss {runs.loss.min():.3f}-{runs.loss.max():.3f} nats/token"
)

# %% [markdown]
# ## The fit
#
# One group, weak priors (`priors="weak"`), and the package's default model: a Student-t
# likelihood on log loss (degrees of freedom $\nu$ fitted) whose scale
# $\sqrt{\sigma^2 + \tau^2 d^2}$ adds a model-discrepancy SD $\tau$ per decade $d$ of compute
# from the centre of the data (`likelihood="student_t", discrepancy="compute"`). The plain
# model, a normal likelihood without the discrepancy, is `FitConfig(**PLAIN_MODEL)`
# (`forecast.config.PLAIN_MODEL`). The diagnostics table lists R-hat and effective sample
# sizes per parameter.

# %%
result = fit(runs, priors="weak", sampler=SAMPLER, seed=11)
print(fit_summary(result))
result.diagnostics.to_dataframe().round(3)

# %% [markdown]
# ## Posterior against the published fits
#
# `published_fits` is a bundled table of published parameter sets with their sources. Epoch's
# refit reports standard errors (from 4000 bootstrap resamples), drawn as ±1.96 SE.

# %%
post = result.posterior
a_post = post["beta"] / (post["alpha"] + post["beta"])
draws = {
    "E": post["E"],
    "A": np.exp(post["log_A"]),
    "B": np.exp(post["log_B"]),
    "alpha": post["alpha"],
    "beta": post["beta"],
    "a": a_post,
}
units = {
    "E": "nats/token",
    "A": "nats/token x params^alpha",
    "B": "nats/token x tokens^beta",
    "alpha": "1",
    "beta": "1",
    "a": "1",
}
published = load_dataset("published_fits")
fits = published.set_index("fit_id")
hoffmann, epoch = fits.loc["hoffmann2022_a3_rounded"], fits.loc["besiroglu2024"]
epoch_a_se = float(re.search(r"a=[0-9.]+ \(se ([0-9.]+)\)", epoch["extra"]).group(1))


def value(row, name):
    return row["beta"] / (row["alpha"] + row["beta"]) if name == "a" else float(row[name])


rows = []
for name, da in draws.items():
    lo, med, hi = interval(da)
    se = epoch_a_se if name == "a" else float(epoch[f"{name}_se"])
    h, e = value(hoffmann, name), value(epoch, name)
    rows.append(
        {
            "parameter": name,
            "units": units[name],
            "posterior median": med,
            "90% lower": lo,
            "90% upper": hi,
            "Hoffmann 2022": h,
            "Hoffmann inside 90%": bool(lo <= h <= hi),
            "Epoch 2024": e,
            "Epoch 95% (+-1.96 SE)": f"{e - 1.96 * se:.4g} - {e + 1.96 * se:.4g}",
            "Epoch inside 90%": bool(lo <= e <= hi),
            "median inside Epoch 95%": bool(e - 1.96 * se <= med <= e + 1.96 * se),
        }
    )
comparison = pd.DataFrame(rows).set_index("parameter")
comparison.style.format(precision=4)

# %%
show(plot_exponents(result, published, ci_prob=CI_PROB), "01_chinchilla_bayesian.png")


# %% [markdown]
# How well does each parameter set describe the 240 points? The RMS of the log-loss residuals
# of Hoffmann's printed law against Epoch's refit and our posterior median curve:


# %%
def point_params(A, B, E, alpha, beta):
    """A parameter set in the layout of ``forecast.studies.baseline.predict_point``."""
    return xr.Dataset(
        {"log_A": np.log(A), "log_B": np.log(B), "log_E": np.log(E), "alpha": alpha, "beta": beta}
    )


ours = {k: float(np.median(np.asarray(v))) for k, v in draws.items()}
keys = ("A", "B", "E", "alpha", "beta")
candidates = {
    "Hoffmann 2022 (printed)": point_params(*(hoffmann[k] for k in keys)),
    "Epoch 2024 refit": point_params(*(epoch[k] for k in keys)),
    "posterior median": point_params(*(ours[k] for k in keys)),
}
log_obs = np.log(runs["loss"].to_numpy())
residuals = {
    name: np.log(predict_point(p, runs.N, runs.D).values) - log_obs
    for name, p in candidates.items()
}
rms = {name: float(np.sqrt(np.mean(r**2))) for name, r in residuals.items()}
mean_bias = float(np.mean(residuals["Hoffmann 2022 (printed)"]))
pd.DataFrame(
    {
        "RMS log-loss residual (1)": rms,
        "mean log-loss residual (1)": {n: float(np.mean(r)) for n, r in residuals.items()},
    }
).round(4)

# %% [markdown]
# ## Why Hoffmann's intervals were too narrow
#
# Hoffmann et al. print the allocation exponent $a = \beta / (\alpha + \beta)$ (with
# $N^* \propto C^a$) as 0.46 with the interval [0.454, 0.455] (their Table 2, 10th-90th
# percentiles). Below: the same 80% interval from our posterior, and from the Epoch-style
# procedure (Huber-loss point fit, then bootstrap refits of resampled runs). Interval widths
# shrink like $1/\sqrt{n}$, so the ratio of widths says how many runs an interval as narrow
# as Hoffmann's would need.

# %%
match = re.search(r"a=beta/\(alpha\+beta\)=([0-9.]+) \[([0-9.]+),\s*([0-9.]+)\]", hoffmann["extra"])
h_a, h_lo, h_hi = map(float, match.groups())
point = fit_point(runs, grid=STARTS)
boot = bootstrap_point(runs, n_bootstrap=N_BOOTSTRAP, seed=1, start=point)
a_boot = boot["beta"] / (boot["alpha"] + boot["beta"])
post_lo, _, post_hi = interval(a_post, 0.8)
boot_lo, _, boot_hi = interval(a_boot, 0.8)
widths = pd.DataFrame(
    {"lower": [h_lo, boot_lo, post_lo], "upper": [h_hi, boot_hi, post_hi]},
    index=[
        "Hoffmann 2022 (printed)",
        f"Epoch-style bootstrap ({N_BOOTSTRAP} resamples)",
        "posterior (weak priors)",
    ],
)
widths["width"] = widths["upper"] - widths["lower"]
width_ratio = (post_hi - post_lo) / (h_hi - h_lo)
runs_needed = len(runs) * width_ratio**2
widths.round(4)

# %% [markdown]
# ## Tokens per parameter at Chinchilla's compute
#
# Every posterior draw has its own compute-optimal frontier (closed form, Hoffmann eq. 4);
# `allocate` returns the posterior of $N^*$, $D^*$ and $D^*/N^*$ at a budget. Chinchilla
# itself (70B parameters, 1.4T tokens) is in the bundled anchors table.

# %%
anchors = load_dataset("published_fits", table="stock_anchors.csv")
text = anchors.loc[anchors["quantity"] == "Chinchilla model", "value"].iloc[0]
N_chin, D_chin, C_chin = (float(x) for x in re.findall(r"[0-9.]+e[+-]?[0-9]+", text))
at_chinchilla = allocate(result, C=C_chin)
tpp_lo, tpp_med, tpp_hi = interval(at_chinchilla["tokens_per_param"])
N_h, D_h = chinchilla.compute_optimal(
    C_chin, hoffmann["E"], hoffmann["A"], hoffmann["alpha"], hoffmann["B"], hoffmann["beta"], 6.0
)
N_e, D_e = chinchilla.compute_optimal(
    C_chin, epoch["E"], epoch["A"], epoch["alpha"], epoch["B"], epoch["beta"], 6.0
)
pd.Series(
    {
        "posterior median (tokens/parameter)": tpp_med,
        "posterior 90% lower": tpp_lo,
        "posterior 90% upper": tpp_hi,
        "Hoffmann 2022 printed fit": float(D_h / N_h),
        "Epoch 2024 refit": float(D_e / N_e),
        "Chinchilla as trained": D_chin / N_chin,
    }
).round(1)

# %%
frontier = allocate(result, C=np.geomspace(1e18, 1e26, 40))
show(plot_allocation(frontier, published=published, ci_prob=CI_PROB))

# %% [markdown]
# ## Answer

# %%
inside = {
    k: int(sum(comparison.loc[p, f"{k} inside 90%"] for p in ("E", "alpha", "beta")))
    for k in ("Hoffmann", "Epoch")
}
in_epoch = int(comparison.loc[["E", "alpha", "beta"], "median inside Epoch 95%"].sum())
E_lo, E_med, E_hi = interval(post["E"])
al_lo, al_med, al_hi = interval(post["alpha"])
be_lo, be_med, be_hi = interval(post["beta"])
answer = (
    f"**Answer.** Fitted with weak priors to the {len(runs)} Chinchilla runs, the posterior "
    f"medians are E = {E_med:.3f} nats/token (90%: {E_lo:.3f}-{E_hi:.3f}), "
    f"alpha = {al_med:.3f} ({al_lo:.3f}-{al_hi:.3f}) and beta = {be_med:.3f} "
    f"({be_lo:.3f}-{be_hi:.3f}): {inside['Epoch']} of Epoch's 3 refit values "
    f"(E = {epoch['E']:.3f}, alpha = {epoch['alpha']:.3f}, beta = {epoch['beta']:.3f}) and "
    f"{inside['Hoffmann']} of Hoffmann's 3 printed values (E = {hoffmann['E']:.2f}, "
    f"alpha = {hoffmann['alpha']:.2f}, beta = {hoffmann['beta']:.2f}) lie inside our 90% "
    f"intervals (while {in_epoch} of our 3 medians lie inside Epoch's 95% bootstrap "
    f"intervals), and Hoffmann's printed law {'over' if mean_bias > 0 else 'under'}-predicts "
    f"the losses by {100 * abs(mean_bias):.1f}% on average (RMS log residual "
    f"{rms['Hoffmann 2022 (printed)']:.4f}, against {rms['posterior median']:.4f} for our "
    f"median curve). "
    f"The allocation exponent a has an 80% interval {post_lo:.3f}-{post_hi:.3f}, "
    f"{width_ratio:.0f} times wider than Hoffmann's printed {h_lo:.3f}-{h_hi:.3f}; an interval "
    f"that narrow would need about {float(f'{runs_needed:.2g}'):,.0f} runs, not {len(runs)}. "
    f"At Chinchilla's {C_chin:.3g} FLOP the compute-optimal model gets {tpp_med:.1f} "
    f"tokens/parameter (90%: {tpp_lo:.1f}-{tpp_hi:.1f}), against {D_chin / N_chin:.0f} for "
    f"Chinchilla as trained and {float(D_h / N_h):.1f} under Hoffmann's printed fit."
)
display(Markdown(answer))
