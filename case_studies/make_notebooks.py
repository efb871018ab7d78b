"""Write the case-study notebooks from the cell sources below (outputs stripped).

The notebooks are generated so that they can be reviewed as code. Run from anywhere::

    python case_studies/make_notebooks.py

Each notebook starts with a cell tagged ``parameters`` holding ``FAST = False`` (the full
answer, default draws) and ``FIGURE_DIR`` (where its README figure is written). The tests
replace that cell with ``FAST = True`` and a temporary ``FIGURE_DIR`` and execute the
notebook with nbclient in this directory (see ``tests/test_case_studies.py``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

PARAMETERS = """\
FAST = False  # True: tiny draws, few bootstraps, small studies (what the tests run)
FIGURE_DIR = "figures"  # where this notebook writes its README figure
"""

#: Imports and settings every notebook's setup cell starts with.
SETUP_HEAD = """\
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

# arviz announces its 1.0 refactor on import; informational only.
warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")
from forecast import SamplerConfig  # noqa: E402
from forecast.errors import ConvergenceWarning  # noqa: E402
from forecast.units import CI_PROB  # noqa: E402

if FAST:
    # A few hundred draws cannot reach the production ESS threshold; that is expected here.
    warnings.simplefilter("ignore", ConvergenceWarning)
    SAMPLER = SamplerConfig(draws=150, tune=200, chains=2, progress=False)
else:
    SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)
"""

#: Helpers every setup cell ends with (after the notebook's own imports).
SETUP_TAIL = """
# forecast's plot modules select matplotlib's non-interactive Agg backend when imported;
# switch this notebook back to inline figures.
%matplotlib inline
Path(FIGURE_DIR).mkdir(parents=True, exist_ok=True)


def interval(draws, prob=CI_PROB):
    \"\"\"(lower, median, upper) of the equal-tailed ``prob`` interval of some draws.\"\"\"
    values = np.asarray(draws, dtype=float).ravel()
    return tuple(np.quantile(values, [(1 - prob) / 2, 0.5, (1 + prob) / 2]))


def show(fig, name=None):
    \"\"\"Display a figure once; with ``name``, also save it (small PNG) to FIGURE_DIR.\"\"\"
    if name is not None:
        fig.savefig(Path(FIGURE_DIR) / name, dpi=80, bbox_inches="tight")
    plt.close(fig)
    display(fig)
"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


def setup(imports: str):
    """The setup cell: common imports and settings, the notebook's own, then helpers."""
    return code(SETUP_HEAD + imports.rstrip("\n") + "\n" + SETUP_TAIL)


# ----------------------------------------------------------------------------- case 1
CASE_1 = [
    md(r"""
# 1. Chinchilla, replicated the Bayesian way

**Question.** Fitted to the 240 Chinchilla training runs with weak priors, does a Bayesian
posterior of $L(N, D) = E + A N^{-\alpha} + B D^{-\beta}$ agree with Hoffmann et al.'s
printed fit (2022, Approach 3) and with Epoch AI's refit of the same points (Besiroglu et
al. 2024)? How wide should the intervals on the allocation exponent really be, and how
many tokens per parameter does the posterior give a model at Chinchilla's compute?

Units: loss $L$ in nats/token, $N$ total parameters, $D$ training tokens, $C = 6ND$ FLOP.
"""),
    setup(
        """
import re

import xarray as xr

from forecast import allocate, fit, load_dataset, load_runs
from forecast.baseline import GRID, bootstrap_point, fit_point, predict_point
from forecast.plots import plot_allocation, plot_exponents
from models.laws import chinchilla

# The Epoch-style point fit starts L-BFGS-B from every point of Hoffmann's 4500-point grid;
# FAST uses every 50th start (the same optimum on these data) and fewer bootstraps.
STARTS, N_BOOTSTRAP = (GRID[::50], 200) if FAST else (GRID, 4000)
"""
    ),
    md("""
## The data

The 240 points are Epoch AI's digitisation of Hoffmann et al.'s Fig. 4 (the five
highest-loss points dropped, as Epoch did), with $D = C / 6N$. They have **no license
upstream**, so they are not part of the installed package: they live in the repository's
test data, `tests/data/chinchilla.csv` (see `tests/data/SOURCE.md`). This notebook reads
them from there, relative to `case_studies/`.
"""),
    code("""
runs = load_runs("../tests/data/chinchilla.csv")[["N", "D", "loss"]]
print(f"{len(runs)} runs; N {runs.N.min():.3g}-{runs.N.max():.3g} parameters, "
      f"D {runs.D.min():.3g}-{runs.D.max():.3g} tokens, "
      f"loss {runs.loss.min():.3f}-{runs.loss.max():.3f} nats/token")
"""),
    md("""
## The fit

One group, weak priors (`priors="weak"`), a normal likelihood on log loss. The diagnostics
table lists R-hat and effective sample sizes per parameter.
"""),
    code("""
result = fit(runs, priors="weak", sampler=SAMPLER, seed=11)
diag = result.diagnostics
print(f"divergences: {diag.attrs['divergences']}, max R-hat: {float(diag['r_hat'].max()):.3f}, "
      f"min bulk ESS: {float(diag['ess_bulk'].min()):.0f}, passed: {result.converged}")
diag.to_dataframe().round(3)
"""),
    md("""
## Posterior against the published fits

`published_fits` is a bundled table of published parameter sets with their sources. Epoch's
refit reports standard errors (from 4000 bootstrap resamples), drawn as ±1.96 SE.
"""),
    code("""
post = result.posterior
a_post = post["beta"] / (post["alpha"] + post["beta"])
draws = {
    "E": post["E"], "A": np.exp(post["log_A"]), "B": np.exp(post["log_B"]),
    "alpha": post["alpha"], "beta": post["beta"], "a": a_post,
}
units = {"E": "nats/token", "A": "nats/token x params^alpha", "B": "nats/token x tokens^beta",
         "alpha": "1", "beta": "1", "a": "1"}
published = load_dataset("published_fits")
fits = published.set_index("fit_id")
hoffmann, epoch = fits.loc["hoffmann2022_a3_rounded"], fits.loc["besiroglu2024"]
epoch_a_se = float(re.search(r"a=[0-9.]+ \\(se ([0-9.]+)\\)", epoch["extra"]).group(1))


def value(row, name):
    return row["beta"] / (row["alpha"] + row["beta"]) if name == "a" else float(row[name])


rows = []
for name, da in draws.items():
    lo, med, hi = interval(da)
    se = epoch_a_se if name == "a" else float(epoch[f"{name}_se"])
    h, e = value(hoffmann, name), value(epoch, name)
    rows.append({
        "parameter": name, "units": units[name], "posterior median": med,
        "90% lower": lo, "90% upper": hi,
        "Hoffmann 2022": h, "Hoffmann inside 90%": bool(lo <= h <= hi),
        "Epoch 2024": e, "Epoch 95% (+-1.96 SE)": f"{e - 1.96 * se:.4g} - {e + 1.96 * se:.4g}",
        "Epoch inside 90%": bool(lo <= e <= hi),
        "median inside Epoch 95%": bool(e - 1.96 * se <= med <= e + 1.96 * se),
    })
comparison = pd.DataFrame(rows).set_index("parameter")
comparison.style.format(precision=4)
"""),
    code("""
show(plot_exponents(result, published, ci_prob=CI_PROB), "01_chinchilla_bayesian.png")
"""),
    md("""
How well does each parameter set describe the 240 points? The RMS of the log-loss residuals
of Hoffmann's printed law against Epoch's refit and our posterior median curve:
"""),
    code("""
def point_params(A, B, E, alpha, beta):
    \"\"\"A parameter set in the layout of ``forecast.baseline.predict_point``.\"\"\"
    return xr.Dataset({"log_A": np.log(A), "log_B": np.log(B), "log_E": np.log(E),
                       "alpha": alpha, "beta": beta})


ours = {k: float(np.median(np.asarray(v))) for k, v in draws.items()}
keys = ("A", "B", "E", "alpha", "beta")
candidates = {
    "Hoffmann 2022 (printed)": point_params(*(hoffmann[k] for k in keys)),
    "Epoch 2024 refit": point_params(*(epoch[k] for k in keys)),
    "posterior median": point_params(*(ours[k] for k in keys)),
}
log_obs = np.log(runs["loss"].to_numpy())
residuals = {name: np.log(predict_point(p, runs.N, runs.D).values) - log_obs
             for name, p in candidates.items()}
rms = {name: float(np.sqrt(np.mean(r**2))) for name, r in residuals.items()}
mean_bias = float(np.mean(residuals["Hoffmann 2022 (printed)"]))
pd.DataFrame({"RMS log-loss residual (1)": rms,
              "mean log-loss residual (1)": {n: float(np.mean(r)) for n, r in residuals.items()}}
             ).round(4)
"""),
    md("""
## Why Hoffmann's intervals were too narrow

Hoffmann et al. print the allocation exponent $a = \\beta / (\\alpha + \\beta)$ (with
$N^* \\propto C^a$) as 0.46 with the interval [0.454, 0.455] (their Table 2, 10th-90th
percentiles). Below: the same 80% interval from our posterior, and from the Epoch-style
procedure (Huber-loss point fit, then bootstrap refits of resampled runs). Interval widths
shrink like $1/\\sqrt{n}$, so the ratio of widths says how many runs an interval as narrow
as Hoffmann's would need.
"""),
    code("""
match = re.search(r"a=beta/\\(alpha\\+beta\\)=([0-9.]+) \\[([0-9.]+),\\s*([0-9.]+)\\]",
                  hoffmann["extra"])
h_a, h_lo, h_hi = map(float, match.groups())
point = fit_point(runs, grid=STARTS)
boot = bootstrap_point(runs, n_bootstrap=N_BOOTSTRAP, seed=1, start=point)
a_boot = boot["beta"] / (boot["alpha"] + boot["beta"])
post_lo, _, post_hi = interval(a_post, 0.8)
boot_lo, _, boot_hi = interval(a_boot, 0.8)
widths = pd.DataFrame(
    {"lower": [h_lo, boot_lo, post_lo], "upper": [h_hi, boot_hi, post_hi]},
    index=["Hoffmann 2022 (printed)", f"Epoch-style bootstrap ({N_BOOTSTRAP} resamples)",
           "posterior (weak priors)"],
)
widths["width"] = widths["upper"] - widths["lower"]
width_ratio = (post_hi - post_lo) / (h_hi - h_lo)
runs_needed = len(runs) * width_ratio**2
widths.round(4)
"""),
    md("""
## Tokens per parameter at Chinchilla's compute

Every posterior draw has its own compute-optimal frontier (closed form, Hoffmann eq. 4);
`allocate` returns the posterior of $N^*$, $D^*$ and $D^*/N^*$ at a budget. Chinchilla
itself (70B parameters, 1.4T tokens) is in the bundled anchors table.
"""),
    code("""
anchors = load_dataset("published_fits", table="stock_anchors.csv")
text = anchors.loc[anchors["quantity"] == "Chinchilla model", "value"].iloc[0]
N_chin, D_chin, C_chin = (float(x) for x in re.findall(r"[0-9.]+e[+-]?[0-9]+", text))
at_chinchilla = allocate(result, C=C_chin)
tpp_lo, tpp_med, tpp_hi = interval(at_chinchilla["tokens_per_param"])
N_h, D_h = chinchilla.compute_optimal(C_chin, hoffmann["E"], hoffmann["A"], hoffmann["alpha"],
                                      hoffmann["B"], hoffmann["beta"], 6.0)
N_e, D_e = chinchilla.compute_optimal(C_chin, epoch["E"], epoch["A"], epoch["alpha"],
                                      epoch["B"], epoch["beta"], 6.0)
pd.Series({
    "posterior median (tokens/parameter)": tpp_med,
    "posterior 90% lower": tpp_lo, "posterior 90% upper": tpp_hi,
    "Hoffmann 2022 printed fit": float(D_h / N_h), "Epoch 2024 refit": float(D_e / N_e),
    "Chinchilla as trained": D_chin / N_chin,
}).round(1)
"""),
    code("""
frontier = allocate(result, C=np.geomspace(1e18, 1e26, 40))
show(plot_allocation(frontier, published=published, ci_prob=CI_PROB))
"""),
    md("## Answer"),
    code("""
inside = {k: int(sum(comparison.loc[p, f"{k} inside 90%"] for p in ("E", "alpha", "beta")))
          for k in ("Hoffmann", "Epoch")}
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
"""),
]

# ----------------------------------------------------------------------------- case 2
CASE_2 = [
    md(r"""
# 2. Loss of a 10T-parameter model

**Question.** What loss will a model of $N = 10^{13}$ parameters (10T) reach, trained
compute-optimally or over-trained? How far is that from the entropy floor $E$ of the text,
and how much does another 10× of compute buy at that scale?

The fit is one hierarchical model of small training runs (Gadre et al. 2024 on three
corpora; the OLMo ladder) **and** published frontier families (GPT-3, OPT, OLMo-1, up to
175B parameters): every (dataset, corpus) is a group with its own floor and coefficients,
partially pooled, so the small runs and the large families inform the same exponents.
Units: loss nats/token, $N$ parameters, $D$ tokens, $C = 6ND$ FLOP.
"""),
    setup(
        """
from forecast import Scenario, fit, forecast
from forecast.joint import joint_runs
from forecast.plots import plot_fit
from forecast.report import forecast_figure, forecast_table, probability_table

N_TARGET = 1e13  # parameters
FORECAST_GROUP = "gpt3"  # the eval text of the forecast: GPT-3's validation set
"""
    ),
    md("## The joint runs table"),
    code("""
runs = joint_runs()
runs.groupby("group").agg(
    runs=("loss", "size"), eval_set=("eval_set", "first"),
    N_min=("N", "min"), N_max=("N", "max"), D_max=("D", "max"), loss_min=("loss", "min"),
).style.format({"N_min": "{:.3g}", "N_max": "{:.3g}", "D_max": "{:.3g}", "loss_min": "{:.3f}"})
"""),
    code("""
result = fit(runs, groups="group", sampler=SAMPLER, seed=3)
diag = result.diagnostics
print(f"{len(result.runs)} runs in {len(result.groups)} groups; divergences "
      f"{diag.attrs['divergences']}, max R-hat {float(diag['r_hat'].max()):.3f}, "
      f"min bulk ESS {float(diag['ess_bulk'].min()):.0f}")
show(plot_fit(result, ci_prob=CI_PROB))
"""),
    md("""
## Forecast at 10T parameters

Three scenarios: compute-optimal $D$ (per posterior draw), Hoffmann's 20 tokens/parameter
rule, and an over-trained model at 100 tokens/parameter. `loss` is the mean curve (the law
itself); `reducible_loss` is $L - E$; `frontier_return` is the loss drop bought by 10× more
compute along the compute-optimal frontier.
"""),
    code("""
SCENARIOS = [
    Scenario("compute_optimal"),
    Scenario("tokens_per_param", 20.0),
    Scenario("tokens_per_param", 100.0, name="over-trained, 100 tokens/param"),
]
summary = forecast(result, N=N_TARGET, scenarios=SCENARIOS, group=FORECAST_GROUP,
                   ci_prob=CI_PROB, seed=0)
forecast_table(summary)
"""),
    code("""
probability_table(summary).round(3)
"""),
    code("""
show(forecast_figure(result, summary, group=FORECAST_GROUP), "02_loss_at_10T.png")
"""),
    md("""
## Every group, and a new one

The same compute-optimal forecast on each group's own eval text, and for a **new group**
drawn from the population (an eval text not in the data): the floors differ between texts,
so the new group's interval is the widest.
"""),
    code("""
rows = {}
for group in [*result.groups, None]:
    s = forecast(result, N=N_TARGET, scenarios=[Scenario("compute_optimal")], group=group,
                 ci_prob=CI_PROB, seed=0).isel(scenario=0).sel(ci_prob=CI_PROB)
    lo, hi = s["loss_eti"].values
    rows[group or "new group"] = {
        "loss (nats/token)": float(s["loss"]), "90% lower": lo, "90% upper": hi,
        "L - E (nats/token)": float(s["reducible_loss"]),
        "dL per 10x C (nats/token)": float(s["frontier_return"]),
        "tokens/param": float(s["tokens_per_param"]),
    }
by_group = pd.DataFrame.from_dict(rows, orient="index")
by_group.round(4)
"""),
    md("## Answer"),
    code("""
point = summary.sel(ci_prob=CI_PROB)
co, over = point.isel(scenario=0), point.sel(scenario="over-trained, 100 tokens/param")
L_lo, L_hi = co["loss_eti"].values
R_lo, R_hi = co["reducible_loss_eti"].values
F_lo, F_hi = co["frontier_return_eti"].values
answer = (
    f"**Answer.** A {N_TARGET:.0e}-parameter model trained compute-optimally "
    f"(D = {float(co['D']):.2g} tokens, {float(co['tokens_per_param']):.0f} tokens/parameter, "
    f"C = {float(co['C']):.2g} FLOP) is forecast to reach {float(co['loss']):.3f} nats/token "
    f"(90%: {L_lo:.3f}-{L_hi:.3f}) on the {FORECAST_GROUP} validation text, "
    f"{float(co['reducible_loss']):.3f} nats/token (90%: {R_lo:.3f}-{R_hi:.3f}) above the "
    f"fitted entropy floor; at that scale 10x more compute buys only "
    f"{float(co['frontier_return']):.4f} nats/token (90%: {F_lo:.4f}-{F_hi:.4f}), and "
    f"over-training to 100 tokens/parameter gives {float(over['loss']):.3f} nats/token. "
    f"For a new eval text drawn from the population the compute-optimal forecast is "
    f"{by_group.loc['new group', 'loss (nats/token)']:.3f} nats/token "
    f"(90%: {by_group.loc['new group', '90% lower']:.3f}-"
    f"{by_group.loc['new group', '90% upper']:.3f})."
)
display(Markdown(answer))
"""),
]

# ----------------------------------------------------------------------------- case 3
CASE_3 = [
    md(r"""
# 3. When do we run out of text?

**Question.** How many training tokens does a compute-optimal (or over-trained) 10T model
need, is that more than the stock of public human-generated text, what does repeating the
stock cost in loss, and in which year does the frontier's training-set size reach the
stock — compared with Villalobos et al. (2024): median 2028, between 2026 and 2032?

Ingredients, each a posterior or a prior:
* the law, fitted jointly to small runs and published frontier families (as in case
  study 2; small runs alone span too little of $N$ to pin the exponents that set the
  allocation at 10T), for a **new model family** drawn from the population: the
  compute-optimal $D^*(N)$ of every draw;
* the stock of text: lognormal prior from Villalobos et al. 2024 (median $3\times10^{14}$
  tokens, 90% interval $10^{14}$-$10^{15}$);
* the repeated-data penalty of Muennighoff et al. (2023) ($R_D^*$ from its prior);
* a Bayesian log-linear trend of frontier training-set size against publication date,
  fitted to Epoch AI's notable models.
"""),
    setup(
        """
import json

import xarray as xr

from forecast import allocate, exhaustion, fit, fit_dataset_trend, load_dataset
from forecast.exhaustion import DEFAULT_STOCK, VILLALOBOS_YEAR
from forecast.joint import joint_runs
from forecast.plots import plot_exhaustion
from forecast.trend import TREND_SAMPLER

N_TARGET = 1e13  # parameters
GROUP = None  # None: a new model family drawn from the population (or a group label)
TREND = SAMPLER if FAST else TREND_SAMPLER
"""
    ),
    code("""
result = fit(joint_runs(), groups="group", sampler=SAMPLER, seed=5)
notable = load_dataset("epoch_notable")
trend = fit_dataset_trend(notable, sampler=TREND, seed=0)
print(f"law: {len(result.runs)} runs, groups {result.groups}, converged {result.converged}")
t = trend.attrs
print(f"trend: {t['n_models']} {t['subset']} models since {t['since']:.0f}, growth "
      f"{t['growth_per_year_median']:.2f}x/year "
      f"(90%: {t['growth_per_year_lower']:.2f}-{t['growth_per_year_upper']:.2f})")
"""),
    md("""
## Tokens needed against the stock

The compute-optimal token count of every posterior draw, for model sizes from 1B to 100T
parameters, against the stock prior, with Epoch's notable language models for reference.
"""),
    code("""
sizes = np.geomspace(1e9, 1e14, 30)
need = allocate(result, N=sizes, group=GROUP)["D"]
q = need.quantile([(1 - CI_PROB) / 2, 0.5, (1 + CI_PROB) / 2], dim=("chain", "draw")).values
s_lo, s_hi = DEFAULT_STOCK.implied_interval(CI_PROB)
fig, ax = plt.subplots(figsize=(7.5, 4.8))
ax.fill_between(sizes, q[0], q[2], color="C0", alpha=0.25, lw=0,
                label=f"compute-optimal D*, {CI_PROB:.0%} equal-tailed interval")
ax.plot(sizes, q[1], color="C0", label="compute-optimal D*, posterior median")
ax.axhspan(s_lo, s_hi, color="0.5", alpha=0.2, lw=0,
           label=f"stock of human text, {CI_PROB:.0%} prior interval")
ax.axhline(DEFAULT_STOCK.median, color="0.3", ls="--", lw=1, label="stock, prior median")
lm = notable.dropna(subset=["N", "D"])
ax.scatter(lm["N"], lm["D"], s=10, c="C3", alpha=0.6, label="Epoch notable models (N, D)")
ax.axvline(N_TARGET, color="k", lw=0.8, ls=":")
ax.set(xscale="log", yscale="log", xlabel="model size N (parameters)",
       ylabel="training tokens D (tokens)",
       title=f"tokens needed vs the stock ({GROUP or 'new model family'})")
ax.legend(fontsize=8, loc="upper left")
show(fig)
"""),
    md("""
## Exhaustion at 10T parameters

Per scenario: tokens needed, $P(D > S)$, epochs over the stock $D/S$, the loss penalty of
repeating the stock instead of having fresh data, and the year the frontier trend reaches
the tokens needed. The exhaustion year itself is when the trend line reaches the stock.
"""),
    code("""
out = exhaustion(result, N=N_TARGET, trend=trend, group=GROUP, ci_prob=CI_PROB, seed=0)
cols = {}
for i, name in enumerate(out["scenario"].values):
    cell = {}
    for var, fmt in (("D_needed", ".3g"), ("epochs_needed", ".2f"),
                     ("loss_penalty", ".4f"), ("year_needed", ".1f")):
        lo, hi = out[f"{var}_ci"].isel(scenario=i).values
        cell[f"{var} ({out[var].attrs['units']})"] = (
            f"{float(out[f'{var}_median'].isel(scenario=i)):{fmt}} [{lo:{fmt}}, {hi:{fmt}}]")
    cell["P(D > stock)"] = f"{float(out['p_exhausted'].isel(scenario=i)):.3f}"
    cols[str(name)] = cell
pd.DataFrame(cols)
"""),
    code("""
show(plot_exhaustion(out), "03_running_out_of_text.png")
"""),
    md("""
The trend itself: frontier training-set sizes against publication date, the posterior of
the trend line, and the stock.
"""),
    code("""
years = np.linspace(2018, 2036, 60)
since_centre = xr.DataArray(years, dims="year") - trend.attrs["year_centre"]
line = trend["intercept"] + trend["slope"] * since_centre  # log10 tokens
band = (10.0 ** line).quantile([(1 - CI_PROB) / 2, 0.5, (1 + CI_PROB) / 2],
                               dim=("chain", "draw")).values
fig, ax = plt.subplots(figsize=(7.5, 4.5))
ax.scatter(trend["year"], trend["tokens"], s=14, c="C3", label="frontier models (Epoch AI)")
ax.fill_between(years, band[0], band[2], color="C0", alpha=0.25, lw=0,
                label=f"trend line, {CI_PROB:.0%} equal-tailed interval")
ax.plot(years, band[1], color="C0", label="trend line, posterior median")
ax.axhspan(s_lo, s_hi, color="0.5", alpha=0.2, lw=0,
           label=f"stock of human text, {CI_PROB:.0%} prior interval")
ax.axvspan(VILLALOBOS_YEAR["lower"], VILLALOBOS_YEAR["upper"], color="C1", alpha=0.12, lw=0,
           label=f"Villalobos et al. 2024, {VILLALOBOS_YEAR['interval']}")
ax.set(yscale="log", xlabel="publication date (year)", ylabel="training tokens D (tokens)",
       title="frontier training-set size against date")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend(fontsize=8, loc="upper left")
show(fig)
"""),
    md("## Answer"),
    code("""
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
"""),
]

# ----------------------------------------------------------------------------- case 4
CASE_4 = [
    md(r"""
# 4. How much does it depend on my assumptions?

**Question.** The 10T-parameter loss forecast and the probability of running out of text
rest on choices: the prior preset, how wide the priors are, the law form, the likelihood,
which corpora are fitted, a compute cutoff, the stock of text, the FLOP convention. Which
of them move the answer, and by more or less than the posterior's own uncertainty?

The study is `studies/gadre_c4.toml` (Gadre et al.'s runs on C4 validation; forecast for
the `c4` corpus at $N = 10^{13}$ parameters, compute-optimal $D$): the baseline, then each
axis varied alone (a one-at-a-time design, what a tornado plot needs). Every configuration
is fitted on a Dask `LocalCluster`; configurations that differ only in the stock or the
FLOP convention share one fit. FAST mode keeps two prior presets and the three stocks
(two fits).
"""),
    setup(
        """
import json
import logging
import tomllib

from distributed import Client, LocalCluster

from forecast.plots import plot_tornado
from forecast.sensitivity import sensitivity
from forecast.study import axis_effects, load_study, plan

STUDY_FILE = "studies/gadre_c4.toml"
N_WORKERS = 2
"""
    ),
    code("""
with open(STUDY_FILE, "rb") as handle:
    spec = tomllib.load(handle)
if FAST:
    spec["axes"] = {"preset": spec["axes"]["preset"][:2], "stock": spec["axes"]["stock"]}
    spec["sampler"] = {"draws": 150, "tune": 200, "chains": 2}
    spec["exhaustion_year"] = False
study = load_study(spec)
configurations = plan(study)
print(f"{len(configurations)} configurations, "
      f"{len({c.fit_key for c in configurations if not c.error})} distinct fits")
pd.DataFrame([{**c.values, "fit": c.fit_key[:8], "error": c.error} for c in configurations])
"""),
    code("""
cluster = LocalCluster(n_workers=N_WORKERS, threads_per_worker=1, processes=True,
                       dashboard_address=":0")
client = Client(cluster)
try:
    result = sensitivity(study, client=client)
finally:
    logging.getLogger("distributed").setLevel(logging.ERROR)  # quiet worker shutdown
    client.close()
    cluster.close()
print(f"{result.attrs['n_configurations']} configurations, {result.attrs['n_fits_run']} fits, "
      f"{result.attrs['n_failed']} failed")
"""),
    md("""
## Which choices matter

`axis_effects` gives, for each axis, the smallest and largest forecast over its values with
the other axes at baseline: the bars of the tornado plot. The grey band is the baseline's
90% posterior interval: a bar shorter than the band is a choice that matters less than the
uncertainty the data leave.
"""),
    code("""
effects = axis_effects(result, variable="loss_median")
effects.to_dataframe().round(4)
"""),
    code("""
show(plot_tornado(result, variable="loss_median"), "04_sensitivity.png")
"""),
    code("""
p_effects = axis_effects(result, variable="p_exhausted")
show(plot_tornado(result, variable="p_exhausted"))
p_effects.to_dataframe().round(3)
"""),
    md("""
Prior sensitivity without refitting: power-scaling the prior (and the likelihood) of the
baseline fit by importance weighting (Kallioinen et al. 2024); values above 0.05 flag a
parameter whose posterior the prior (or the data) noticeably shapes.
"""),
    code("""
base = {a: (np.inf if v == "inf" else v)
        for a, v in json.loads(result.attrs["baseline"]).items()
        if a in result.dims}
pd.DataFrame({
    "prior": result["prior_sensitivity"].sel(base).to_series(),
    "likelihood": result["likelihood_sensitivity"].sel(base).to_series(),
}).round(3)
"""),
    md("## Answer"),
    code("""
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
"""),
]

# ----------------------------------------------------------------------------- case 5
CASE_5 = [
    md(r"""
# 5. Working with saved posteriors

**Question.** Once `scaling-forecast fit` has written a posterior to NetCDF, how do I open
it (with ArviZ, and with the package's own checked loader), slice groups and draws with
xarray, draw my own figure, and combine two posteriors?

Two fits from the command line, of Gadre et al.'s runs on C4 validation with the three
training corpora as groups: one with weak priors, one with the `besiroglu2024` preset.
"""),
    setup(
        """
import json
import os
import shlex
import subprocess
import sys
import tempfile

import arviz as az
import xarray as xr

import forecast

WORK = Path(tempfile.mkdtemp(prefix="saved-posteriors-"))  # where the CLI writes its files
_cli = Path(sys.executable).with_name("scaling-forecast")
CLI = str(_cli) if _cli.exists() else "scaling-forecast"
SAMPLER_ARGS = ["--draws", str(SAMPLER.draws), "--tune", str(SAMPLER.tune),
                "--chains", str(SAMPLER.chains)]
"""
    ),
    md("## Two fits from the command line"),
    code("""
# plain-text CLI output (Jupyter kernels force colour on for their child processes)
forced = ("FORCE_COLOR", "CLICOLOR_FORCE")
env = {k: v for k, v in os.environ.items() if k not in forced}
env.update(NO_COLOR="1", TERM="dumb", COLUMNS="100")
paths, running = {}, {}
for preset in ("weak", "besiroglu2024"):  # the two fits run at the same time
    paths[preset] = WORK / f"gadre_{preset}.nc"
    command = [CLI, "fit", "--dataset", "gadre2024", "--query", "eval_set == 'c4_val'",
               "--groups", "corpus", "--priors", preset, *SAMPLER_ARGS, "--seed", "1",
               "--out", str(paths[preset]), "--force"]
    print("$ scaling-forecast", shlex.join(command[1:]))
    running[preset] = subprocess.Popen(command, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
for preset, process in running.items():
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"scaling-forecast fit failed ({process.returncode}):\\n{stderr}")
    print(f"--- {preset} ---\\n{stdout}")
    print(*[line for line in stderr.splitlines() if line.startswith("warning:")], sep="\\n")
{name: f"{path.stat().st_size / 1e6:.1f} MB" for name, path in paths.items()}
"""),
    md("""
## Open with ArviZ

A saved fit is an ordinary ArviZ `InferenceData` NetCDF: groups `posterior`,
`sample_stats`, `log_likelihood`, `log_prior`, `observed_data` and `fit_data` (the
validated runs), with the config, versions and checksums in the root attributes.
"""),
    code("""
idata = az.from_netcdf(paths["weak"])
print(idata.groups())
config = json.loads(idata.attrs["config"])
print({k: str(idata.attrs[k]) for k in ("package_version", "law", "seed", "config_hash")})
print("priors:", config["priors"], "| groups column:", config["groups"],
      "| sampler:", config["sampler"]["draws"], "draws x", config["sampler"]["chains"], "chains")
idata.posterior["E_group"]
"""),
    md("""
## Open with the package's loader

`forecast.load` checks the format version and recomputes the config hash, the data hash
and the posterior checksum (an edited or truncated file raises `IncompatibleFileError`),
and returns the same `Fit` object `fit` returns: ready for `predict`, `forecast`,
`exhaustion` …
"""),
    code("""
fits = {name: forecast.load(path) for name, path in paths.items()}
weak = fits["weak"]
same = bool(np.array_equal(idata.posterior["alpha"].values, weak.posterior["alpha"].values))
print(f"config {weak.config.config_hash}, {len(weak.runs)} runs, groups {weak.groups}, "
      f"converged {weak.converged}; identical draws via both loaders: {same}")
loss = forecast.predict(weak, N=4e8, D=8e9, group="c4")  # a 400M model on 20 tokens/param
lo, med, hi = interval(loss)
print(f"predicted loss of a 400M-parameter c4 model on 8e9 tokens: {med:.3f} nats/token "
      f"(90%: {lo:.3f}-{hi:.3f})")
"""),
    md("## Slice groups and draws with xarray"),
    code("""
post = idata.posterior
c4_floor = post["E_group"].sel(group="c4")  # one group: dims (chain, draw)
first_chain = post["alpha"].sel(chain=0)  # one chain
thinned = post[["E", "alpha", "beta"]].isel(draw=slice(None, None, 5))  # every 5th draw
late = post["beta"].where(post["draw"] >= post.sizes["draw"] // 2, drop=True)  # 2nd half
by_group = post["E_group"].quantile([0.05, 0.5, 0.95], dim=("chain", "draw"))
divergent = int(idata.sample_stats["diverging"].sum())
print(f"c4 floor draws {dict(c4_floor.sizes)}, thinned {dict(thinned.sizes)}, "
      f"second half {dict(late.sizes)}, divergent transitions: {divergent}")
by_group.to_pandas().round(3)
"""),
    md("""
## Combine two posteriors

Stack the two fits' draws of $\\alpha$ along a new `preset` dimension to compare them, then
pool the draws of both (equal weights) into one sample: a mixture of the two analyses.
"""),
    code("""
alphas = xr.concat([f.posterior["alpha"] for f in fits.values()],
                   dim=pd.Index(list(fits), name="preset"))
hdis = az.hdi(alphas.to_dataset(name="alpha"), hdi_prob=CI_PROB)["alpha"]
pooled = alphas.stack(sample=("preset", "chain", "draw")).values
pooled_hdi = az.hdi(pooled, hdi_prob=CI_PROB)
table = pd.DataFrame({
    "median": alphas.median(("chain", "draw")).to_series(),
    "90% HDI lower": hdis.sel(hdi="lower").to_series(),
    "90% HDI upper": hdis.sel(hdi="higher").to_series(),
})
table.loc["both, pooled"] = [float(np.median(pooled)), *pooled_hdi]
table.round(4)
"""),
    code("""
floors = xr.concat([f.posterior["E_group"] for f in fits.values()],
                   dim=pd.Index(list(fits), name="preset"))
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for j, group in enumerate(floors["group"].values):
    for preset, ls in zip(floors["preset"].values, ("-", "--"), strict=True):
        x = floors.sel(group=group, preset=preset).values.ravel()
        left.hist(x, bins=40, density=True, histtype="step", ls=ls, color=f"C{j}",
                  label=f"{group}, {preset} priors")
left.set(xlabel="irreducible loss E of each corpus (nats/token)",
         ylabel="posterior density (per nats/token)", title="floor per training corpus")
left.legend(fontsize=7)
for i, preset in enumerate(alphas["preset"].values):
    right.hist(alphas.sel(preset=preset).values.ravel(), bins=40, density=True, alpha=0.45,
               color=f"C{i}", label=f"{preset} priors")
right.hist(pooled, bins=40, density=True, histtype="step", color="k", lw=1.5,
           label="both, pooled draws")
for i, preset in enumerate(alphas["preset"].values):
    lo, hi = hdis.sel(preset=preset).values
    right.plot([lo, hi], [-0.3 - 0.5 * i] * 2, color=f"C{i}", lw=3)
right.plot(pooled_hdi, [-0.3 - 0.5 * alphas.sizes["preset"]] * 2, color="k", lw=3,
           label=f"{CI_PROB:.0%} HDI (bars below zero)")
right.set(xlabel="parameter exponent alpha (1)", ylabel="posterior density (1)",
          title="alpha from two saved posteriors, and pooled")
right.legend(fontsize=7)
fig.tight_layout()
show(fig, "05_saved_posteriors.png")
"""),
    md("## Answer"),
    code("""
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
"""),
]

# ----------------------------------------------------------------------------- case 6
CASE_6 = [
    md(r"""
# 6. Does it extrapolate?

**Question.** A forecast at 10T parameters extrapolates far beyond the runs it was fitted
on. Fitted only on the **smaller** models of a ladder, do the posterior predictive
intervals contain the losses of the **larger**, held-out models as often as they claim?
And how do the bands of the usual point fit with bootstrap (Hoffmann / Epoch procedure)
compare?

Two backtests on bundled data:
* Gadre et al. (2024), C4 validation, three corpora as groups: fit $N < 4\times10^8$
  (11M-154M parameters), predict the 411M models (over-trained up to 640 tokens/param);
* the OLMo model ladder, C4, final checkpoints: fit $N < 2\times10^9$ (190M-1.3B), predict
  the 3.2B models.

Scores per held-out run: PIT (predictive CDF at the observed loss), hits of the central
50/80/90/95% intervals, relative error of the median, CRPS (nats/token). FAST mode skips
the bootstrap baseline (its 4500-start grid search per group dominates the run time).
"""),
    setup(
        """
import xarray as xr

from forecast import FitConfig, load_dataset
from forecast.backtest import backtest
from forecast.backtest_plots import plot_calibration
from forecast.joint import select_checkpoints

N_BOOTSTRAP = 0 if FAST else 4000
"""
    ),
    code("""
gadre = load_dataset("gadre2024").query("eval_set == 'c4_val'").reset_index(drop=True)
ladder = select_checkpoints(load_dataset("olmo_ladder").query("eval_set == 'c4_en'"))
backtests = {
    "Gadre et al. 2024 (411M held out)": backtest(
        gadre, split="N<4e8", config=FitConfig(groups="corpus", sampler=SAMPLER, seed=2),
        n_bootstrap=N_BOOTSTRAP, published=(), seed=0),
    "OLMo ladder (3.2B held out)": backtest(
        ladder, split="N<2e9", config=FitConfig(sampler=SAMPLER, seed=2),
        n_bootstrap=N_BOOTSTRAP, published=(), seed=0),
}
for name, bt in backtests.items():
    print(f"{name}: fitted {bt.attrs['n_train']} runs, held out {bt.attrs['n_test']}; "
          f"divergences {bt.attrs['divergences']}, max R-hat {bt.attrs['max_r_hat']}")
"""),
    md("## Scores"),
    code("""
columns = ["coverage_50", "coverage_80", "coverage_90", "coverage_95", "median_abs_rel_err",
           "mean_width_90", "mean_crps"]
scores = pd.concat({name: bt[columns].to_dataframe() for name, bt in backtests.items()},
                   names=["backtest"])
scores.round(3)
"""),
    code("""
for name, bt in backtests.items():
    show(plot_calibration(bt, title=f"{name}: fit {bt.attrs['n_train']} smaller runs, "
                                    f"predict {bt.attrs['n_test']} larger"))
"""),
    md("""
Both backtests together: the PIT values of every held-out run of the two ladders, for the
methods both have.
"""),
    code("""
models = sorted(set.intersection(*(set(map(str, bt["model"].values))
                                   for bt in backtests.values())))
keep = ["pit", "hit_50", "hit_90", "rel_err", "width_90"]
pooled = xr.concat([bt[keep].sel(model=models).reset_coords(drop=True)
                    for bt in backtests.values()], dim="run")
n_held = pooled.sizes["run"]
show(plot_calibration(pooled, title=f"two ladders: {n_held} held-out larger runs"),
     "06_backtests.png")
"""),
    md("## Answer"),
    code("""
coverage = pooled[["hit_50", "hit_90"]].mean("run")
err = float(abs(pooled["rel_err"].sel(model="ours")).median())
width = float(pooled["width_90"].sel(model="ours").mean())
if "bootstrap" in models:
    baseline = (f"the point fit's bootstrap bands contained "
                f"{float(coverage['hit_90'].sel(model='bootstrap')):.0%} at 90% "
                f"({float(coverage['hit_90'].sel(model='bootstrap+noise')):.0%} with its "
                f"residual noise added)")
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
"""),
]

# ----------------------------------------------------------------------------- case 7
CASE_7 = [
    md(r"""
# 7. Which small run should I train next?

**Question.** I have a planned ladder of small training runs and a forecast of the loss of
a 10T-parameter model from it. Within a budget of $10^{21}$ FLOP, which one extra run would
narrow that forecast most per FLOP spent, and by how much does the forecast actually
narrow once the run is trained and added?

The ladder here is **simulated** from a known law (Besiroglu et al.'s 2024 refit of
Chinchilla, with 1% noise on the loss), so that the run we "train" next can be simulated
from the same law, and the true loss at 10T is known. With your own ladder, fit your runs
table instead and train the suggested run for real.

Units: loss $L$ in nats/token, $N$ total parameters, $D$ training tokens, $C = 6ND$ FLOP.
"""),
    setup(
        """
from forecast import (Scenario, WeightCollapseWarning, fit, forecast, ladder, simulate,
                      suggest_runs, update)
from forecast.design import target_draws
from forecast.plots import plot_suggestions, plot_update
from forecast.simulate import BESIROGLU_2024
from forecast.units import FLOP_PER_PARAM_TOKEN
from models.laws import chinchilla

N_TARGET = 1e13  # parameters: the model whose loss we forecast
BUDGET = 1e21  # FLOP: the most the next run may cost
TRUTH = BESIROGLU_2024  # the law the runs are simulated from (E, A, alpha, B, beta)
NOISE = 0.01  # run-to-run noise, standard deviation of log loss (about 1% of the loss)
if FAST:
    # 300 draws are too few to reweight for the most informative candidates; suggest_runs
    # then scores them by the linear-Gaussian update (column `method`), as expected here.
    warnings.simplefilter("ignore", WeightCollapseWarning)
"""
    ),
    md("""
## The planned ladder

Four model sizes from 20M to 400M parameters, each trained at 5, 20 and 80 tokens per
parameter: 12 runs, the largest costing under $10^{20}$ FLOP. `ladder` builds the design,
`simulate` draws a loss for each run from the law plus noise on log loss.
"""),
    code("""
design = ladder(np.geomspace(2e7, 4e8, 4), [5, 20, 80])
runs = simulate("chinchilla", TRUTH, design, sigma=NOISE, seed=1)
runs.assign(C=FLOP_PER_PARAM_TOKEN * runs["N"] * runs["D"],
            tokens_per_param=runs["D"] / runs["N"])[
    ["N", "D", "tokens_per_param", "C", "loss"]
].style.format({"N": "{:.3g}", "D": "{:.3g}", "tokens_per_param": "{:.0f}", "C": "{:.3g}",
                "loss": "{:.3f}"})
"""),
    code("""
result = fit(runs, sampler=SAMPLER, seed=7)
diag = result.diagnostics
print(f"{len(result.runs)} runs; divergences {diag.attrs['divergences']}, "
      f"max R-hat {float(diag['r_hat'].max()):.3f}, "
      f"min bulk ESS {float(diag['ess_bulk'].min()):.0f}")
"""),
    md("""
## The forecast today

The loss of a $10^{13}$-parameter model trained on its compute-optimal number of tokens
(each posterior draw its own $D^*$), on the mean curve of the law. The law that simulated
the runs gives the true value: $D^* = G^{-1} (N/G)^{\\alpha/\\beta}$ with
$G = (\\alpha A / \\beta B)^{1/(\\alpha+\\beta)}$ (Hoffmann et al. 2022, eq. 4).
"""),
    code("""
G = (TRUTH["alpha"] * TRUTH["A"] / (TRUTH["beta"] * TRUTH["B"])) ** (
    1 / (TRUTH["alpha"] + TRUTH["beta"]))
D_true = (N_TARGET / G) ** (TRUTH["alpha"] / TRUTH["beta"]) / G
L_true = float(chinchilla.loss(N_TARGET, D_true, TRUTH["E"], TRUTH["A"], TRUTH["alpha"],
                               TRUTH["B"], TRUTH["beta"]))


def forecast_row(res):
    \"\"\"Median, 90% interval and SD of the compute-optimal loss at N_TARGET.\"\"\"
    s = forecast(res, N=N_TARGET, scenarios=[Scenario("compute_optimal")], ci_prob=CI_PROB,
                 seed=0).isel(scenario=0).sel(ci_prob=CI_PROB)
    lo, hi = s["loss_eti"].values
    return {"median (nats/token)": float(s["loss"]), "90% lower": lo, "90% upper": hi,
            "90% width": hi - lo, "posterior SD": float(target_draws(res, N=N_TARGET).std()),
            "D* median (tokens)": float(s["D"])}


before = forecast_row(result)
print(f"true loss at N = {N_TARGET:.0e}: {L_true:.4f} nats/token (D* = {D_true:.3g} tokens)")
pd.Series(before).to_frame("ladder only").T.round(4)
"""),
    md("""
## Which run next?

`suggest_runs` scores candidate runs within the budget: by default 30 runs at compute
$C \\in \\{1, 10^{-0.5}, \\dots, 10^{-2}\\} \\times$ budget and 5-160 tokens per parameter.
For each candidate it simulates outcomes from the posterior predictive and reweights
today's draws by each outcome's likelihood: the average drop of the 10T forecast's
posterior variance is the **expected variance reduction**; divided by the run's FLOP, it
ranks the candidates (no refit per candidate). `method` says whether the importance
reweighting was trusted or the linear-Gaussian update was used instead.
"""),
    code("""
ranked = suggest_runs(result, BUDGET, target_N=N_TARGET, seed=0)
top = ranked.isel(run=0)  # the suggested next run
table = ranked.to_dataframe().assign(tokens_per_param=lambda t: t["D"] / t["N"])
table = table[["rank", "N", "D", "tokens_per_param", "C", "reduction_per_flop",
               "relative_reduction", "expected_sd", "method"]].set_index("rank")
print(f"{len(table)} candidates; today's posterior SD of the target "
      f"{np.sqrt(ranked.attrs['current_variance']):.4f} {ranked.attrs['target_units']}; "
      f"reduction_per_flop in {ranked['reduction_per_flop'].attrs['units']}")
table.head(10).style.format({
    "N": "{:.3g}", "D": "{:.3g}", "tokens_per_param": "{:.0f}", "C": "{:.3g}",
    "reduction_per_flop": "{:.3g}", "relative_reduction": "{:.1%}", "expected_sd": "{:.4f}",
})
"""),
    code("""
show(plot_suggestions(ranked, runs=runs))
"""),
    md("""
Ranking by reduction per FLOP tends to favour cheaper runs. If the whole budget can go
into one run, `rank_by="reduction"` gives the most informative run regardless of cost:
"""),
    code("""
biggest = suggest_runs(result, BUDGET, target_N=N_TARGET, rank_by="reduction", seed=0).isel(run=0)
for label, row in (("best per FLOP", top), ("largest reduction", biggest)):
    print(f"{label}: N = {float(row['N']):.3g} parameters, D = {float(row['D']):.3g} tokens, "
          f"C = {float(row['C']):.2g} FLOP, expected variance reduction "
          f"{float(row['relative_reduction']):.0%}")
"""),
    md("""
## "Training" the suggested run

We cannot train a model here, so the top run's loss is **simulated** from the same known
law and noise as the ladder (a new noise seed): it plays the run you would now train.
`update` appends it to the runs and refits with the same configuration.
"""),
    code("""
N_next, D_next, C_next = (float(top[k]) for k in ("N", "D", "C"))
new_run = simulate("chinchilla", TRUTH, [{"N": N_next, "D": D_next}], sigma=NOISE,
                   seed=2).assign(run_id="next-run")
after_fit = update(result, new_run)
diag = after_fit.diagnostics
print(f"simulated loss of the new run: {float(new_run['loss'].iloc[0]):.4f} nats/token; "
      f"refit on {len(after_fit.runs)} runs, divergences {diag.attrs['divergences']}, "
      f"max R-hat {float(diag['r_hat'].max()):.3f}")
"""),
    md("## The forecast before and after"),
    code("""
after = forecast_row(after_fit)
expected_sd = float(top["expected_sd"])
print(f"posterior SD after the run, as suggest_runs expected it: {expected_sd:.4f} nats/token")
pd.DataFrame({"ladder only": before, "ladder + suggested run": after}).T.round(4)
"""),
    code("""
fig = plot_update(result, after_fit, N=N_TARGET, ci_prob=CI_PROB)
ax_loss, ax_frontier = fig.axes
ax_loss.axvline(L_true, color="k", ls="--", lw=1.2,
                label=f"true loss {L_true:.3f} (simulating law)")
ax_loss.legend(fontsize=8)
C_range = ax_frontier.get_xlim()
C_grid = np.geomspace(*C_range, 100)
N_opt, D_opt = chinchilla.compute_optimal(C_grid, TRUTH["E"], TRUTH["A"], TRUTH["alpha"],
                                          TRUTH["B"], TRUTH["beta"], FLOP_PER_PARAM_TOKEN)
ax_frontier.plot(C_grid, chinchilla.loss(N_opt, D_opt, TRUTH["E"], TRUTH["A"], TRUTH["alpha"],
                                         TRUTH["B"], TRUTH["beta"]),
                 color="k", ls="--", lw=1, label="true frontier (simulating law)")
ax_frontier.set_xlim(C_range)
ax_frontier.set_title("simulated ladder and the suggested run", fontsize=10)
ax_frontier.legend(fontsize=8)
show(fig, "07_next_run.png")
"""),
    md("## Answer"),
    code("""
verb = "narrows" if after["90% width"] < before["90% width"] else "widens"
inside = [row["90% lower"] <= L_true <= row["90% upper"] for row in (before, after)]
truth = {(True, True): "inside both intervals", (False, False): "outside both intervals",
         (True, False): "inside the interval before the run only",
         (False, True): "inside the interval after the run only"}[tuple(inside)]
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
"""),
]

# ----------------------------------------------------------------------------- case 8
CASE_8 = [
    md(r"""
# 8. Do the laws hold across generations?

**Question.** Training recipes improve: data filtering, architectures, optimisers. Do runs
from different generations (GPT-3 2020, OPT 2022, the datablations C4 runs 2023, OLMo-1,
Gadre et al.'s three corpora and the OLMo ladder 2024) follow **one** scaling law, shifted
by one number per recipe? How large are those shifts, what rate of progress do they imply
against Ho et al. (2024, arXiv:2403.05812: the compute needed for a fixed loss halves
about every 8 months, 95% interval about 5-14 months), and what does two more years of
progress do to the forecast for a 10T-parameter model?

**The model** (`forecast.fit_generations`, math in `models/generations.py`). Recipe $k$
has an effective-compute multiplier $m_k$ against the reference recipe (the datablations
single-epoch C4 runs, $m = 1$): its runs behave like reference runs with
$N_\mathrm{eff} = m_k^{a} N$ and $D_\mathrm{eff} = m_k^{b} D$, $a = \beta/(\alpha+\beta)$,
$b = \alpha/(\alpha+\beta)$, so

$$L_k(N, D) = E + m_k^{-\gamma}\left(A N^{-\alpha} + B D^{-\beta}\right),\qquad
\gamma = \frac{\alpha\beta}{\alpha+\beta},$$

and on the compute-optimal frontier recipe $k$ reaches at compute $C$ the loss the
reference reaches at $m_k C$. The multipliers scatter around a trend in time,
$\log m_k = r\,(t_k - t_\mathrm{ref}) + \sigma_m z_k$; the compute for a fixed loss halves
every $h = 12 \ln 2 / r$ months. The prior on $r$ is Ho et al.'s halving time
(`trend="ho2024"`); a flat prior on $r$ (`trend="flat"`, Normal(0, 3) per year, allowing
no progress or regress) shows what the data say alone.

Units: loss in nats per GPT-2 token on the C4 validation text (other tokenizers are
converted with the bundled `tokenizer_bytes` ratios, themselves uncertain parameters),
$N$ parameters, $D$ GPT-2 tokens, $C = 6ND$ FLOP, halving time in months.
"""),
    setup(
        """
from forecast import SamplerConfig
from forecast.generations import (GENERATION_SAMPLER, RECIPES, fit_generations,
                                  forecast_with_progress, generation_data, generation_runs,
                                  generation_summary, recipe_pinning)
from models.generations import generation_log_loss, halving_months

N_TARGET = 1e13  # parameters
YEARS_AHEAD = 2.0  # years of recipe progress beyond the newest recipe in the data
HO = {"median": 8.0, "lower": 5.0, "upper": 14.0}  # Ho et al. 2024, months, 95% interval
# Two chains x 500 draws (the package default for this model) keep a fit near a minute.
GEN_SAMPLER = (SamplerConfig(draws=150, tune=300, chains=2, progress=False) if FAST
               else GENERATION_SAMPLER)
"""
    ),
    md("""
## The recipes

The last checkpoint of each run. The four C4 evaluations (`shared_eval`) share the floor
$E$ and the reducible amplitude, so their multipliers are read from their losses; GPT-3
and OPT were evaluated on their own validation texts, so their floor and amplitude are
free and their multipliers can only come from the trend.
"""),
    code("""
runs = generation_runs()
recipes = runs.groupby("recipe", sort=False).agg(
    year=("year", "first"), dataset=("dataset", "first"), eval_set=("eval_set", "first"),
    tokenizer=("tokenizer", "first"), shared_eval=("shared_eval", "first"),
    runs=("loss", "size"), N_min=("N", "min"), N_max=("N", "max"),
)
recipes["dated by"] = [RECIPES[r][4] for r in recipes.index]
recipes.style.format({"year": "{:.1f}", "N_min": "{:.3g}", "N_max": "{:.3g}"})
"""),
    md("""
## Two fits: Ho et al.'s prior and a flat trend prior

The same model and data, differing only in the prior of the trend rate $r$: the gap
between the two posteriors is the prior's influence.
"""),
    code("""
posts = {
    "Ho prior": fit_generations(runs, trend="ho2024", sampler=GEN_SAMPLER, seed=0),
    "flat prior": fit_generations(runs, trend="flat", sampler=GEN_SAMPLER, seed=0),
}
for name, post in posts.items():
    a = post.attrs
    print(f"{name}: {a['n_runs']} runs; divergences {a['divergences']}, "
          f"max R-hat {a['r_hat_max']:.3f}, min bulk ESS {a['ess_bulk_min']:.0f}")
"""),
    md("""
## Does one law fit every recipe?

The residuals of the observed log losses about the posterior median of the fitted curve
(each run in its own tokenizer's units), per recipe, and the per-dataset scatter $\\sigma$
the model inferred: a law that holds across generations leaves residuals of the order of
the run-to-run noise.
"""),
    code("""
data = generation_data(runs)


def residuals(post):
    \"\"\"Observed minus posterior-median log loss of every run (1).\"\"\"
    flat = post.stack(sample=("chain", "draw")).transpose("sample", ...)
    params = {k: flat[k].values[:, None] for k in ("E", "log_A", "alpha", "log_B", "beta")}
    log_m = flat["log_multiplier"].sel(recipe=list(data.recipes)).values[:, data.recipe]
    log_ratio = flat["log_ratio"].sel(tokenizer=list(data.tokenizers)).values[:, data.tokenizer]
    log_floor = flat["log_floor"].sel(eval=list(data.evals)).values[:, data.eval_set]
    log_amp = flat["log_amplitude"].sel(eval=list(data.evals)).values[:, data.eval_set]
    pred = generation_log_loss(data.log_N, data.log_D, params, log_m, log_ratio=log_ratio,
                               log_floor=log_floor, log_amplitude=log_amp)
    return data.log_loss - np.median(pred, axis=0)


resid = residuals(posts["Ho prior"])
sigma = posts["Ho prior"]["sigma"].median(("chain", "draw"))
fit_check = pd.DataFrame({"recipe": runs["recipe"], "dataset": runs["dataset"], "r": resid})
fit_check = fit_check.groupby("recipe", sort=False).agg(
    dataset=("dataset", "first"), runs=("r", "size"),
    rms_residual=("r", lambda r: float(np.sqrt(np.mean(r**2)))),
    max_abs_residual=("r", lambda r: float(np.max(np.abs(r)))),
)
fit_check["sigma (dataset, median)"] = [float(sigma.sel(dataset=d)) for d in fit_check["dataset"]]
rms_all = float(np.sqrt(np.mean(resid**2)))
print(f"all {len(resid)} runs: RMS log-loss residual {rms_all:.4f} (about {100 * rms_all:.1f}% "
      "of the loss)")
fit_check.round(4)
"""),
    md("""
## The multipliers and the implied halving time

Medians and 90% equal-tailed intervals. `generation_summary` takes the halving-time bounds
from the rate's bounds ($h = 12 \\ln 2 / r$ is monotone; `inf` where the rate bound is
$\\le 0$, i.e. no progress). Ho et al. give a 95% interval, so the halving time is shown at
95% as well.
"""),
    code("""
summaries = {name: generation_summary(post, ci_prob=CI_PROB) for name, post in posts.items()}
summaries95 = {name: generation_summary(post, ci_prob=0.95) for name, post in posts.items()}


def fmt(stat, digits=3):
    \"\"\"'median [lower, upper]' of a (stat,) DataArray.\"\"\"
    v = [float(stat.sel(stat=s)) for s in ("median", "lower", "upper")]
    return f"{v[0]:.{digits}g} [{v[1]:.{digits}g}, {v[2]:.{digits}g}]"


table = pd.DataFrame({
    f"m, {name} ({CI_PROB:.0%})": [fmt(s["multiplier"].sel(recipe=r)) for r in s["recipe"].values]
    for name, s in summaries.items()
}, index=summaries["Ho prior"]["recipe"].values)
table.insert(0, "year", summaries["Ho prior"]["year"].values)
table
"""),
    code("""
halving = pd.DataFrame({
    name: {
        f"halving time, months ({CI_PROB:.0%})": fmt(summaries[name]["halving_months"]),
        "halving time, months (95%)": fmt(summaries95[name]["halving_months"]),
        "rate r, 1/year (90%)": fmt(summaries[name]["rate"]),
        "P(r > 0)": f"{float(summaries[name]['p_rate_positive']):.3f}",
        "sigma_m, median (1)": f"{float(posts[name]['sigma_m'].median()):.2f}",
    }
    for name in posts
})
halving["Ho et al. 2024"] = [
    "", f"{HO['median']:.0f} [{HO['lower']:.0f}, {HO['upper']:.0f}]",
    f"{12 * np.log(2) / HO['median']:.3g}", "", ""]
halving
"""),
    code("""
fig, (ax_m, ax_h) = plt.subplots(1, 2, figsize=(11, 4.3),
                                 gridspec_kw={"width_ratios": [1.4, 1]})
ref = posts["Ho prior"].attrs["reference"]
t_ref = float(posts["Ho prior"]["year"].sel(recipe=ref))
years = np.linspace(2020.0, 2025.3, 50)
rate = posts["Ho prior"]["rate"].values.ravel()
band = np.exp(np.outer(rate, years - t_ref))
q = np.quantile(band, [(1 - CI_PROB) / 2, 0.5, (1 + CI_PROB) / 2], axis=0)
ax_m.fill_between(years, q[0], q[2], color="C0", alpha=0.12, lw=0,
                  label=f"trend, Ho prior ({CI_PROB:.0%})")
ax_m.plot(years, np.exp(12 * np.log(2) / HO["median"] * (years - t_ref)), "k--", lw=1,
          label="Ho et al.: halving every 8 months")
shared = recipes["shared_eval"]
for i, (name, s) in enumerate(summaries.items()):
    m = s["multiplier"]
    x = s["year"].values + (i - 0.5) * 0.09
    med, lo, hi = (m.sel(stat=k).values for k in ("median", "lower", "upper"))
    for own, marker in ((True, "o"), (False, "s")):
        sel = (shared.loc[s["recipe"].values].values == own)
        ax_m.errorbar(x[sel], med[sel], yerr=[med[sel] - lo[sel], hi[sel] - med[sel]],
                      fmt=marker, color=f"C{i}", mfc=f"C{i}" if own else "white", ms=5,
                      capsize=2, lw=1,
                      label=f"{name}: " + ("C4 eval" if own else "own eval (trend only)"))
nudge = {"gadre:c4": 4, "gadre:refinedweb": -3, "gadre:redpajama": -10}  # points, readable
for r, yr, med in zip(s["recipe"].values, s["year"].values,
                      summaries["Ho prior"]["multiplier"].sel(stat="median").values):
    ax_m.annotate(r, (yr, med), xytext=(6, nudge.get(r, -3)), textcoords="offset points",
                  fontsize=7)
ax_m.set(yscale="log", xlabel="recipe date (year)",
         ylabel=f"effective-compute multiplier vs {ref} (1)",
         title=f"recipe multipliers, median and {CI_PROB:.0%} interval")
ax_m.legend(fontsize=7, loc="upper left")
bins = np.geomspace(1, 200, 50)
for i, (name, post) in enumerate(posts.items()):
    r = post["rate"].values.ravel()
    h = halving_months(r)
    ax_h.hist(h[np.isfinite(h)], bins=bins, density=True, histtype="step", color=f"C{i}",
              lw=1.5, label=f"{name} (P(no progress) = {np.mean(r <= 0):.2f})")
ax_h.axvspan(HO["lower"], HO["upper"], color="0.5", alpha=0.2, lw=0,
             label="Ho et al. 95% interval")
ax_h.axvline(HO["median"], color="k", ls="--", lw=1, label="Ho et al. median (8 months)")
ax_h.set(xscale="log", xlabel="halving time of compute for a fixed loss (months)",
         ylabel="posterior density (1/month)", title="implied halving time")
ax_h.legend(fontsize=7)
fig.tight_layout()
show(fig, "08_generations.png")
"""),
    md("""
## Which data pin each recipe?

`recipe_pinning` compares each multiplier's posterior SD (of $\\log m$) with the SD the
trend and the recipe scatter alone give at that date: a recipe whose runs inform its
multiplier narrows it well below the trend-only width. Shown for the Ho-prior fit.
"""),
    code("""
pinning = recipe_pinning(runs, posts["Ho prior"])
pinning.style.format({"N_min": "{:.3g}", "N_max": "{:.3g}", "D_min": "{:.3g}",
                      "D_max": "{:.3g}", "sd_log_m": "{:.2f}", "sd_log_m_trend_only": "{:.2f}"})
"""),
    md("""
## The 10T forecast, with and without two years of progress

`forecast_with_progress` gives, for a $10^{13}$-parameter model trained on its
compute-optimal number of tokens, the loss with the newest recipe in the data (`+0 yr`)
and with a recipe $k$ years newer, whose multiplier is that recipe's times $e^{rk}$ with a
fresh recipe scatter. For a fixed $N$ the compute-optimal token count does not change with
$m$ (the multiplier cancels); what changes is the loss, and the tokens the newer recipe
needs to reach the `+0 yr` loss (`tokens_same_loss`), against the stock of human text
($3\\times10^{14}$ tokens, Villalobos et al. 2024).
"""),
    code("""
forecasts = {name: forecast_with_progress(post, N=N_TARGET, years_ahead=(0.0, YEARS_AHEAD),
                                          ci_prob=CI_PROB, seed=0)
             for name, post in posts.items()}
rows = {}
for name, fc in forecasts.items():
    for scenario in fc["scenario"].values:
        f = fc.sel(scenario=scenario)
        rows[(name, f"{scenario} ({fc.attrs['base']})")] = {
            "loss, nats/GPT-2 token": fmt(f["loss"], 4),
            "D, tokens": fmt(f["D"]), "C, FLOP": fmt(f["C"]),
            "multiplier": fmt(f["multiplier"]),
            "tokens for the +0 yr loss": fmt(f["tokens_same_loss"]),
            "P(those tokens > stock)": f"{float(f['p_tokens_above_stock']):.2f}",
        }
pd.DataFrame(rows).T
"""),
    md("""
## Caveats

* **GPT-3 and OPT are pinned by the prior only.** They were evaluated on their own
  validation texts, so their floor and amplitude are free parameters confounded with the
  multiplier: their values above are the trend at their date plus the recipe scatter, not
  a measurement (the pinning table says so; compare their widths under the two priors).
* **The tokenizer ratio of dolma2 (the OLMo ladder) is an assumption.** No published C4
  bytes-per-token figure was found; the prior 1.05 ± 0.05 is stated as such in
  `tokenizer_bytes/SOURCE.md`, and the OLMo ladder's multiplier, the largest and the one
  the trend leans on most, inherits its width. A measured ratio would narrow it.
* **OLMo-1 has three points**, all far over-trained (1-7B parameters on 2-3T tokens):
  its multiplier is barely narrower than the trend alone.
* The dates are publication dates, not training dates; the trend is fitted to eight
  recipes over four and a half years, and the recipe scatter $\\sigma_m$ is about as large as
  a few years of trend, so one recipe can be far off the line.
* The loss is in nats per GPT-2 token on C4, not on GPT-3's validation text as in case
  study 2, so the two 10T forecasts are not directly comparable.
"""),
    md("## Answer"),
    code("""
s_ho, s_flat = summaries["Ho prior"], summaries["flat prior"]
h_flat = summaries95["flat prior"]["halving_months"]
h_ho = summaries95["Ho prior"]["halving_months"]
hf, hf_lo, hf_hi = (float(h_flat.sel(stat=k)) for k in ("median", "lower", "upper"))
hh, hh_lo, hh_hi = (float(h_ho.sel(stat=k)) for k in ("median", "lower", "upper"))
upper_text = f"{hf_hi:.0f} months" if np.isfinite(hf_hi) else "no progress at all"
consistent = ("consistent with" if hf_lo <= HO["median"] <= hf_hi
              else "inconsistent with")
c4 = [r for r in s_ho["recipe"].values if shared[r] and r != ref]
m_c4 = s_ho["multiplier"].sel(recipe=c4, stat="median")
lo_r, hi_r = str(m_c4.idxmin().values), str(m_c4.idxmax().values)
m_hi = s_ho["multiplier"].sel(recipe=hi_r)
worst = fit_check["rms_residual"].idxmax()
fc = forecasts["Ho prior"]
L0, L2 = (fc["loss"].isel(scenario=i) for i in (0, 1))
tokens_ratio = float(fc["tokens_same_loss"].isel(scenario=1).sel(stat="median")
                     / fc["tokens_same_loss"].isel(scenario=0).sel(stat="median"))
sigma_m = float(posts["Ho prior"]["sigma_m"].median())
rms_range = (fit_check["rms_residual"].min(), fit_check["rms_residual"].max())
answer = (
    f"**Answer.** Partly. A single Chinchilla law (shared exponents and C4 floor) with one "
    f"effective-compute multiplier per recipe fits the {len(runs)} runs of {len(recipes)} "
    f"recipes dated {recipes['year'].min():.1f}-{recipes['year'].max():.1f} with an RMS "
    f"log-loss residual of {rms_all:.4f} ({rms_range[0]:.4f}-{rms_range[1]:.4f} per recipe, "
    f"largest for {worst}), but the recipes do not line up on a smooth trend: against the "
    f"2023 {ref} recipe the C4-evaluated multipliers run from "
    f"{float(m_c4.sel(recipe=lo_r)):.2f} ({lo_r}) to {float(m_hi.sel(stat='median')):.1f} "
    f"({hi_r}, 90%: {float(m_hi.sel(stat='lower')):.1f}-{float(m_hi.sel(stat='upper')):.1f}), "
    f"scattering about the trend by a factor {np.exp(sigma_m):.1f} at one SD "
    f"(sigma_m = {sigma_m:.2f}). With a flat trend prior the data imply a halving time of "
    f"{hf:.1f} months (95%: {hf_lo:.1f} months to {upper_text}), {consistent} Ho et al.'s "
    f"about 8 months (95%: about 5-14) but far less precise; with Ho's prior it is "
    f"{hh:.1f} months ({hh_lo:.1f}-{hh_hi:.1f}). A 10T-parameter model trained "
    f"compute-optimally with the {fc.attrs['base']} recipe is forecast at "
    f"{float(L0.sel(stat='median')):.3f} nats per GPT-2 token on C4 "
    f"(90%: {float(L0.sel(stat='lower')):.3f}-{float(L0.sel(stat='upper')):.3f}), and at "
    f"{float(L2.sel(stat='median')):.3f} ({float(L2.sel(stat='lower')):.3f}-"
    f"{float(L2.sel(stat='upper')):.3f}) with {YEARS_AHEAD:.0f} more years of progress, "
    f"a recipe that would reach the first loss on {tokens_ratio:.2f} times the tokens."
)
display(Markdown(answer))
"""),
]

NOTEBOOKS = {
    "01_chinchilla_bayesian": CASE_1,
    "02_loss_at_10T": CASE_2,
    "03_running_out_of_text": CASE_3,
    "04_sensitivity": CASE_4,
    "05_saved_posteriors": CASE_5,
    "06_backtests": CASE_6,
    "07_next_run": CASE_7,
    "08_generations": CASE_8,
}


def build(stem: str, cells: list) -> nbformat.NotebookNode:
    """Assemble one notebook: the tagged parameters cell, then ``cells``, stable cell ids."""
    parameters = new_code_cell(PARAMETERS.strip("\n"), metadata={"tags": ["parameters"]})
    nb = new_notebook(
        cells=[parameters, *cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{stem.replace('_', '-')}-{i:02d}"
    return nb


def main() -> None:
    """Write every notebook next to this script."""
    for stem, cells in NOTEBOOKS.items():
        nb = build(stem, cells)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / f"{stem}.ipynb")
        print(f"wrote {stem}.ipynb ({len(nb.cells)} cells)")


if __name__ == "__main__":
    main()
