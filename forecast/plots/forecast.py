"""Figures of a forecast: loss along the compute-optimal frontier; the split of compute.

:func:`plot_forecast` draws the loss along the frontier, :func:`plot_allocation` the
allocation of compute between parameters and tokens. Each takes result objects and returns
a matplotlib ``Figure``; re-exported by :mod:`forecast.plots`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from forecast.plots._style import _band, _plain_log_ticks  # noqa: E402
from forecast.plots.fit import PUBLISHED_SHOWN  # noqa: E402
from forecast.units import CI_PROB  # noqa: E402


def plot_forecast(frontier, summary, *, runs=None) -> Figure:
    """Plot loss against compute: the data, the compute-optimal frontier and the forecasts.

    The frontier is the posterior median of the compute-optimal loss (mean curve) with its
    equal-tailed band; each forecast scenario is a point at its median compute and loss, with
    equal-tailed error bars in both, at the interval probability ``summary.attrs["ci_prob"]``.

    Parameters
    ----------
    frontier : xarray.Dataset
        :func:`forecast.allocation.allocate` result for a 1-D grid of budgets ``C``.
    summary : xarray.Dataset
        :func:`forecast.scenarios.forecast` result.
    runs : pandas.DataFrame, optional
        Observed runs (columns ``N``, ``D``, ``loss``), drawn at :math:`C = kND`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (log-log axes: FLOP, nats/token).
    """
    ci_prob = float(summary.attrs["ci_prob"])
    k = float(frontier.attrs["flop_per_param_token"])
    fig, ax = plt.subplots(figsize=(8, 5.2))
    if runs is not None:
        ax.scatter(k * runs["N"] * runs["D"], runs["loss"], s=9, c="0.55", label="observed runs")
    grid = frontier["C"].median(("chain", "draw")).values
    lo, med, hi = _band(frontier["loss"], ci_prob)
    ax.fill_between(
        grid, lo, hi, color="C0", alpha=0.2, lw=0, label=f"{ci_prob:.0%} equal-tailed interval"
    )
    ax.plot(grid, med, color="C0", label="compute-optimal frontier, posterior median")
    for i, name in enumerate(summary["scenario"].values):
        point = summary.sel(scenario=name, ci_prob=ci_prob)
        c, loss = float(point["C_median"]), float(point["loss_median"])
        c_lo, c_hi = point["C_ci"].values
        l_lo, l_hi = point["loss_ci"].values
        ax.errorbar(
            c,
            loss,
            xerr=[[max(c - c_lo, 0)], [max(c_hi - c, 0)]],
            yerr=[[max(loss - l_lo, 0)], [max(l_hi - loss, 0)]],
            fmt="os^Dv<>"[i % 7],
            color=f"C{i + 1}",
            capsize=3,
            label=f"{name}: median, {ci_prob:.0%} ETI",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel(f"training compute C = {k:g}ND (FLOP)")
    ax.set_ylabel("loss, mean curve (nats/token)")
    ax.set_title(
        f"forecast at N = {summary.attrs['N']:.3g} parameters ({summary.attrs['law']}, "
        f"{summary.attrs['group']})",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_allocation(frontier, *, published=None, ci_prob: float = CI_PROB) -> Figure:
    """Plot the compute-optimal allocation against compute, with equal-tailed bands.

    Left: :math:`N^*` (parameters) and :math:`D^*` (tokens) against C. Right: tokens per
    parameter :math:`D^*/N^*`, with Hoffmann et al.'s rule of thumb (20) and the frontiers
    of published Chinchilla-form fits when ``published`` is given.

    Parameters
    ----------
    frontier : xarray.Dataset
        :func:`forecast.allocation.allocate` result for a 1-D grid of budgets ``C``.
    published : pandas.DataFrame, optional
        ``load_dataset("published_fits")``; rows with ``A``, ``B``, ``alpha``, ``beta``.
    ci_prob : float
        Probability of the bands.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (log-log axes).
    """
    from models.laws import chinchilla

    k = float(frontier.attrs["flop_per_param_token"])
    grid = frontier["C"].median(("chain", "draw")).values
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    for name, colour, unit in (("N", "C0", "parameters"), ("D", "C1", "tokens")):
        lo, med, hi = _band(frontier[name], ci_prob)
        left.fill_between(
            grid,
            lo,
            hi,
            color=colour,
            alpha=0.2,
            lw=0,
            label=f"{name}* {ci_prob:.0%} equal-tailed interval",
        )
        left.plot(grid, med, color=colour, label=f"{name}* ({unit}), posterior median")
    lo, med, hi = _band(frontier["tokens_per_param"], ci_prob)
    right.fill_between(
        grid, lo, hi, color="C2", alpha=0.2, lw=0, label=f"{ci_prob:.0%} equal-tailed interval"
    )
    right.plot(grid, med, color="C2", label="posterior median")
    right.axhline(20, color="k", ls=":", lw=1, label="20 tokens/param (Hoffmann et al. 2022)")
    rows = [] if published is None else published[published["fit_id"].isin(list(PUBLISHED_SHOWN))]
    rows = rows if published is None else rows.dropna(subset=["A", "B", "alpha", "beta"])
    for _, row in rows.iterrows() if len(rows) else []:
        N_opt, D_opt = chinchilla.compute_optimal(
            grid, row["E"], row["A"], row["alpha"], row["B"], row["beta"], k
        )
        label = f"{row['fit_id']} (point fit)"
        right.plot(
            grid, D_opt / N_opt, ls="--", lw=1, color=PUBLISHED_SHOWN[row["fit_id"]], label=label
        )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"training compute C = {k:g}ND (FLOP)")
        ax.legend(fontsize=7)
    left.set_ylabel("N* (parameters), D* (tokens)")
    right.set_ylabel("tokens per parameter D*/N* (tokens/parameter)")
    fig.suptitle(
        f"compute-optimal allocation ({frontier.attrs['law']}, {frontier.attrs['group']})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
