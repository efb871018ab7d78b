"""Figures for simulation and experiment design; re-exported by :mod:`forecast.plots`.

Each function takes result objects and returns a matplotlib ``Figure``: the forecast
before and after new runs (:func:`plot_update`), the ranked candidate runs
(:func:`plot_suggestions`) and SBC rank histograms (:func:`plot_sbc`). They live apart
from :mod:`forecast.plots` only to keep each module short.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
from scipy import stats  # noqa: E402

from forecast.averaged import Stack, group_column_of  # noqa: E402
from forecast.fit import Fit  # noqa: E402
from forecast.intervals import eti  # noqa: E402
from forecast.studies.design import frontier_draws, target_draws  # noqa: E402
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN  # noqa: E402

__all__ = ["plot_sbc", "plot_suggestions", "plot_update"]


def plot_update(
    before: Fit | Stack,
    after: Fit | Stack,
    *,
    N: float = 1e13,
    group: str | None = None,
    ci_prob: float = CI_PROB,
) -> Figure:
    r"""Show how new runs narrowed the forecast: the loss at ``N`` before and after.

    Left: the posterior of the mean-curve loss at ``N`` parameters and compute-optimal D
    (:func:`forecast.studies.design.target_draws`) before and after, with medians and equal-tailed
    ``ci_prob`` intervals. Right: loss (nats/token) against compute C (FLOP) along the
    compute-optimal frontier, bands before and after, out to the compute of the
    ``N``-parameter model; runs of the group as points, the new ones highlighted.

    Parameters
    ----------
    before : Fit or Stack
        The fit without the new runs (an averaged posterior: its mixture draws).
    after : Fit or Stack
        The fit with them (e.g. from :func:`forecast.studies.design.update`).
    N : float
        Model size of the forecast, parameters.
    group : str, optional
        Group of the forecast; required for multi-group fits.
    ci_prob : float
        Probability of the equal-tailed intervals.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels.
    """
    fig, (ax_d, ax_c) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"before": "tab:grey", "after": "tab:blue"}
    targets = {}
    for label, res in (("before", before), ("after", after)):
        t = target_draws(res, N=N, group=group)
        targets[label] = t
        v = t.values.ravel()
        med, (lo, hi) = eti(v, ci_prob)
        ax_d.hist(v, bins=40, density=True, alpha=0.45, color=colours[label], label=None)
        ax_d.axvline(med, color=colours[label], lw=1.5)
        ax_d.axvspan(lo, hi, color=colours[label], alpha=0.08)
        ax_d.plot(
            [], [], color=colours[label], lw=6, alpha=0.5,
            label=f"{label}: median {med:.3f}, {ci_prob:.0%} ETI [{lo:.3f}, {hi:.3f}]",
        )  # fmt: skip
    ax_d.set_xlabel(f"loss at N = {N:.3g} parameters, compute-optimal D (nats/token)")
    ax_d.set_ylabel("posterior density (per nats/token)")
    ax_d.legend(fontsize=8)
    runs = after.runs
    col = group_column_of(after)
    g = targets["after"].attrs["group"]
    sub = runs if col is None else runs[runs[col].astype(str) == g]
    n_old = len(before.runs)
    c_runs = FLOP_PER_PARAM_TOKEN * sub["N"] * sub["D"]
    D_target = 20.0 * N
    c_grid = np.geomspace(c_runs.min() / 2, FLOP_PER_PARAM_TOKEN * N * D_target, 60)
    for label, res in (("before", before), ("after", after)):
        med, bounds = eti(frontier_draws(res, c_grid, group=group).values, ci_prob, axis=(0, 1))
        lo, hi = bounds[:, 0], bounds[:, 1]
        ax_c.fill_between(c_grid, lo, hi, color=colours[label], alpha=0.25, lw=0)
        ax_c.plot(c_grid, med, color=colours[label], lw=1.2, label=f"{label} ({ci_prob:.0%} band)")
    new = sub.index >= n_old
    ax_c.scatter(c_runs[~new], sub["loss"][~new], s=10, color="k", label="runs", zorder=3)
    ax_c.scatter(
        c_runs[new], sub["loss"][new], s=60, marker="*", color="tab:red", label="new runs", zorder=4
    )
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax_c.yaxis.set_major_formatter(plain)
    ax_c.yaxis.set_minor_formatter(plain)
    ax_c.set_xlabel("training compute C = 6ND (FLOP)")
    ax_c.set_ylabel("loss on the compute-optimal frontier (nats/token)")
    ax_c.set_title(f"group {g}", fontsize=10)
    ax_c.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_suggestions(
    suggestions: xr.Dataset, *, runs: pd.DataFrame | None = None, top: int = 3
) -> Figure:
    """Map candidate runs in (N, D), coloured by expected variance reduction.

    Parameters
    ----------
    suggestions : xarray.Dataset
        Output of :func:`forecast.studies.design.suggest_runs`.
    runs : pandas.DataFrame, optional
        Existing runs (``N`` parameters, ``D`` tokens) drawn as grey points.
    top : int
        Number of best-ranked candidates to label.

    Returns
    -------
    matplotlib.figure.Figure
        Parameters (x, log) against tokens (y, log), iso-FLOP lines at the candidates'
        compute, colour = relative variance reduction of the target (unit 1).
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    N, D = suggestions["N"].values, suggestions["D"].values
    if runs is not None:
        ax.scatter(runs["N"], runs["D"], s=8, color="0.6", label="existing runs")
    n_line = np.geomspace(min(N.min(), *(runs["N"] if runs is not None else [])) / 2, N.max() * 2)
    for c in np.unique(suggestions["C"].values):
        ax.plot(n_line, c / (FLOP_PER_PARAM_TOKEN * n_line), color="0.85", lw=0.8, zorder=0)
    sc = ax.scatter(N, D, c=suggestions["relative_reduction"].values, cmap="viridis", s=40)
    for i in range(min(top, N.size)):
        ax.annotate(f"#{i + 1}", (N[i], D[i]), xytext=(4, 4), textcoords="offset points")
    fig.colorbar(sc, ax=ax, label="expected variance reduction / current variance (1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("training tokens D")
    ax.set_title(
        f"candidates ranked by {suggestions.attrs.get('rank_by', 'per_flop')}", fontsize=10
    )
    if runs is not None:
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_sbc(result: xr.Dataset, *, bins: int = 10) -> Figure:
    """Plot SBC rank histograms with the band a uniform histogram stays in 99% of the time.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`forecast.simulate.sbc`.
    bins : int
        Histogram bins over the ranks 0..L.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter, titled with the coverage of the interval.
    """
    params = list(result["parameter"].values)
    L = int(result.attrs["max_rank"])
    n = result.sizes["replicate"]
    fig, axes = plt.subplots(1, len(params), figsize=(3.6 * len(params), 3.2), squeeze=False)
    edges = np.linspace(0, L + 1, bins + 1)
    lo, hi = stats.binom.ppf([0.005, 0.995], n, 1 / bins)
    for ax, p in zip(axes.flat, params, strict=True):
        ax.axhspan(lo, hi, color="0.85", label="99% band if uniform")
        ax.hist(result["rank"].sel(parameter=p).values, bins=edges, color="tab:blue", alpha=0.8)
        cov = float(result["coverage"].sel(parameter=p))
        ax.set_title(f"{p}: {result.attrs['ci_prob']:.0%} coverage {cov:.0%}", fontsize=10)
        ax.set_xlabel(f"rank of the truth among {L} draws")
        ax.set_ylabel("replicates")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
