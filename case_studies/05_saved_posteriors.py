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
# # 5. Working with saved posteriors
#
# **Question.** Once `scaling-forecast fit` has written a posterior to NetCDF, how do I open
# it (with ArviZ, and with the package's own checked loader), slice groups and draws with
# xarray, draw my own figure, and combine two posteriors?
#
# Two fits from the command line, of Gadre et al.'s runs on C4 validation with the three
# training corpora as groups: one with weak priors, one with the `besiroglu2024` preset,
# both with the CLI's default model (Student-t likelihood on log loss with the compute
# discrepancy; `--likelihood normal --discrepancy none` would fit the plain model).

# %%
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from _setup import hist_draws, interval, show, start
from IPython.display import Markdown, display

import forecast
from forecast import intervals
from forecast.units import CI_PROB

SAMPLER = start(FAST, FIGURE_DIR)

WORK = Path(tempfile.mkdtemp(prefix="saved-posteriors-"))  # where the CLI writes its files
_cli = Path(sys.executable).with_name("scaling-forecast")
CLI = str(_cli) if _cli.exists() else "scaling-forecast"
SAMPLER_ARGS = [
    "--draws",
    str(SAMPLER.draws),
    "--tune",
    str(SAMPLER.tune),
    "--chains",
    str(SAMPLER.chains),
]
if SAMPLER.target_accept is not None:  # FAST mode
    SAMPLER_ARGS += ["--target-accept", str(SAMPLER.target_accept)]

# %% [markdown]
# ## Two fits from the command line

# %%
# plain-text CLI output (Jupyter kernels force colour on for their child processes)
forced = ("FORCE_COLOR", "CLICOLOR_FORCE")
env = {k: v for k, v in os.environ.items() if k not in forced}
env.update(NO_COLOR="1", TERM="dumb", COLUMNS="100")
paths, running = {}, {}
for preset in ("weak", "besiroglu2024"):  # the two fits run at the same time
    paths[preset] = WORK / f"gadre_{preset}.nc"
    command = [
        CLI,
        "fit",
        "--dataset",
        "gadre2024",
        "--query",
        "eval_set == 'c4_val'",
        "--groups",
        "corpus",
        "--priors",
        preset,
        *SAMPLER_ARGS,
        "--seed",
        "1",
        "--out",
        str(paths[preset]),
        "--force",
    ]
    print("$ scaling-forecast", shlex.join(command[1:]))
    running[preset] = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
for preset, process in running.items():
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"scaling-forecast fit failed ({process.returncode}):\n{stderr}")
    print(f"--- {preset} ---\n{stdout}")
    print(*[line for line in stderr.splitlines() if line.startswith("warning:")], sep="\n")
{name: f"{path.stat().st_size / 1e6:.1f} MB" for name, path in paths.items()}

# %% [markdown]
# ## Open with ArviZ
#
# A saved fit is an ordinary ArviZ `InferenceData` NetCDF: groups `posterior`,
# `sample_stats`, `log_likelihood`, `log_prior`, `observed_data` and `fit_data` (the
# validated runs), with the config, versions and checksums in the root attributes.

# %%
idata = az.from_netcdf(paths["weak"])
print(idata.groups())
config = json.loads(idata.attrs["config"])
print({k: str(idata.attrs[k]) for k in ("package_version", "law", "seed", "config_hash")})
print(
    "priors:",
    config["priors"],
    "| groups column:",
    config["groups"],
    "| sampler:",
    config["sampler"]["draws"],
    "draws x",
    config["sampler"]["chains"],
    "chains",
)
idata.posterior["E_group"]

# %% [markdown]
# ## Open with the package's loader
#
# `forecast.load` checks the format version and recomputes the config hash, the data hash
# and the posterior checksum (an edited or truncated file raises `IncompatibleFileError`),
# and returns the same `Fit` object `fit` returns: ready for `predict`, `forecast`,
# `exhaustion` …

# %%
fits = {name: forecast.load(path) for name, path in paths.items()}
weak = fits["weak"]
same = bool(np.array_equal(idata.posterior["alpha"].values, weak.posterior["alpha"].values))
print(
    f"config {weak.config.config_hash}, {len(weak.runs)} runs, groups {weak.groups}, "
    f"converged {weak.converged}; identical draws via both loaders: {same}"
)
loss = forecast.predict(weak, N=4e8, D=8e9, group="c4")  # a 400M model on 20 tokens/param
lo, med, hi = interval(loss)
print(
    f"predicted loss of a 400M-parameter c4 model on 8e9 tokens: {med:.3f} nats/token "
    f"(90%: {lo:.3f}-{hi:.3f})"
)

# %% [markdown]
# ## Slice groups and draws with xarray

# %%
post = idata.posterior
c4_floor = post["E_group"].sel(group="c4")  # one group: dims (chain, draw)
first_chain = post["alpha"].sel(chain=0)  # one chain
thinned = post[["E", "alpha", "beta"]].isel(draw=slice(None, None, 5))  # every 5th draw
late = post["beta"].where(post["draw"] >= post.sizes["draw"] // 2, drop=True)  # 2nd half
by_group = intervals.summarise_draws(post["E_group"], CI_PROB, name="E_group")  # median, interval
divergent = int(idata.sample_stats["diverging"].sum())
print(
    f"c4 floor draws {dict(c4_floor.sizes)}, thinned {dict(thinned.sizes)}, "
    f"second half {dict(late.sizes)}, divergent transitions: {divergent}"
)
by_group["E_group_ci"].to_pandas().assign(median=by_group["E_group_median"].to_pandas()).round(3)

# %% [markdown]
# ## Combine two posteriors
#
# Stack the two fits' draws of $\alpha$ along a new `preset` dimension to compare them, then
# pool the draws of both (equal weights) into one sample: a mixture of the two analyses.

# %%
alphas = xr.concat(
    [f.posterior["alpha"] for f in fits.values()], dim=pd.Index(list(fits), name="preset")
)
hdis = intervals.interval(alphas, CI_PROB, kind="hdi")  # arviz's HDI, dims (preset, ci_bound)
pooled_draws = alphas.stack(sample=("preset", "chain", "draw"))
pooled, pooled_hdi = (
    pooled_draws.values,
    intervals.interval(pooled_draws, CI_PROB, kind="hdi").values,
)
table = pd.DataFrame(
    {
        "median": alphas.median(("chain", "draw")).to_series(),
        "90% HDI lower": hdis.sel(ci_bound="lower").to_series(),
        "90% HDI upper": hdis.sel(ci_bound="upper").to_series(),
    }
)
table.loc["both, pooled"] = [float(np.median(pooled)), *pooled_hdi]
table.round(4)

# %%
floors = xr.concat(
    [f.posterior["E_group"] for f in fits.values()], dim=pd.Index(list(fits), name="preset")
)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for j, group in enumerate(floors["group"].values):
    for preset, ls in zip(floors["preset"].values, ("-", "--"), strict=True):
        hist_draws(
            left,
            floors.sel(group=group, preset=preset),
            ls=ls,
            color=f"C{j}",
            label=f"{group}, {preset} priors",
        )
left.set(
    xlabel="irreducible loss E of each corpus (nats/token)",
    ylabel="posterior density (per nats/token)",
    title="floor per training corpus",
)
left.legend(fontsize=7)
for i, preset in enumerate(alphas["preset"].values):
    hist_draws(
        right,
        alphas.sel(preset=preset),
        filled=True,
        alpha=0.45,
        color=f"C{i}",
        label=f"{preset} priors",
    )
hist_draws(right, pooled, color="k", lw=1.5, label="both, pooled draws")
for i, preset in enumerate(alphas["preset"].values):
    lo, hi = hdis.sel(preset=preset).values
    right.plot([lo, hi], [-0.3 - 0.5 * i] * 2, color=f"C{i}", lw=3)
right.plot(
    pooled_hdi,
    [-0.3 - 0.5 * alphas.sizes["preset"]] * 2,
    color="k",
    lw=3,
    label=f"{CI_PROB:.0%} HDI (bars below zero)",
)
right.set(
    xlabel="parameter exponent alpha (1)",
    ylabel="posterior density (1)",
    title="alpha from two saved posteriors, and pooled",
)
right.legend(fontsize=7)
fig.tight_layout()
show(fig, "05_saved_posteriors.png")

# %% [markdown]
# ## Answer

# %%
weak_m, bes_m = (float(alphas.sel(preset=p).median()) for p in fits)
E_lo, E_med, E_hi = interval(floors.sel(preset="weak", group="c4"))
answer = (
    f"**Answer.** The two posteriors written by `scaling-forecast fit` "
    f"({len(weak.runs)} runs each) reopen with `az.from_netcdf` and with `forecast.load` "
    f"(identical draws: {same}); their alpha medians are {weak_m:.3f} (weak priors, 90% HDI "
    f"{table.iloc[0, 1]:.3f}-{table.iloc[0, 2]:.3f}) and {bes_m:.3f} (besiroglu2024, "
    f"{table.iloc[1, 1]:.3f}-{table.iloc[1, 2]:.3f}), the equal-weight pool of both has "
    f"median {float(np.median(pooled)):.3f} (90% HDI {pooled_hdi[0]:.3f}-{pooled_hdi[1]:.3f}), "
    f"and the floor of the c4 corpus is E = {E_med:.2f} nats/token "
    f"(90%: {E_lo:.2f}-{E_hi:.2f}) under weak priors."
)
display(Markdown(answer))
