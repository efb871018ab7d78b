"""Figures. Each function takes result objects and returns a matplotlib ``Figure``.

Axes carry units (nats/token, parameters, tokens, FLOP); quantities that span orders of
magnitude are on log axes; legends say what a band is (e.g. "90% equal-tailed interval").
Nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from forecast.fit import Fit  # noqa: E402
from forecast.predict import predict  # noqa: E402
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN  # noqa: E402


def _band(draws, ci_prob: float):
    stacked = draws.stack(sample=("chain", "draw"))
    lo, hi = (1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2
    q = stacked.quantile([lo, 0.5, hi], dim="sample")
    return q.isel(quantile=0).values, q.isel(quantile=1).values, q.isel(quantile=2).values


def plot_fit(result: Fit, *, ci_prob: float = CI_PROB, max_groups: int = 6) -> Figure:
    """Plot the data against the fitted law, one panel per group (up to ``max_groups``).

    Each panel shows loss (nats/token) against training compute C = 6ND (FLOP) on log
    axes, the observed runs coloured by model size, and for each distinct model size
    the posterior median of the mean curve with its equal-tailed ``ci_prob`` band.

    Parameters
    ----------
    result : Fit
        A fitted result.
    ci_prob : float
        Probability of the plotted band.
    max_groups : int
        Most groups shown (the largest by number of runs).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    runs = result.runs
    col = result.config.groups
    labels = result.groups
    if col is not None:
        counts = runs[col].astype(str).value_counts()
        labels = [g for g in counts.index if g in labels][:max_groups]
    n = len(labels)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.2 * nrows), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, label in zip(axes.flat, labels, strict=False):
        sub = runs if col is None else runs[runs[col].astype(str) == label]
        sizes = np.sort(sub["N"].unique())
        log_n = np.log10(sizes)
        span = (log_n.max() - log_n.min()) or 1.0
        group = label if len(result.groups) > 1 else None
        for size in sizes[:: max(1, len(sizes) // 8)]:
            pts = sub[sub["N"] == size]
            d_grid = np.geomspace(pts["D"].min() / 1.5, pts["D"].max() * 1.5, 40)
            draws = predict(result, np.full_like(d_grid, size), d_grid, group=group)
            lo, med, hi = _band(draws, ci_prob)
            c = FLOP_PER_PARAM_TOKEN * size * d_grid
            colour = cmap((np.log10(size) - log_n.min()) / span)
            ax.fill_between(c, lo, hi, color=colour, alpha=0.25, lw=0)
            ax.plot(c, med, color=colour, lw=1.2)
        ax.scatter(
            FLOP_PER_PARAM_TOKEN * sub["N"] * sub["D"],
            sub["loss"],
            c=[cmap((np.log10(v) - log_n.min()) / span) for v in sub["N"]],
            s=14,
            edgecolor="k",
            linewidth=0.3,
            zorder=3,
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training compute C = 6ND (FLOP)")
        ax.set_ylabel("loss (nats/token)")
        ax.set_title(f"{col}={label}" if col else f"{result.config.law} fit")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], marker="o", ls="", color="grey", label="observed runs (colour: N)"),
        Line2D([], [], color="grey", label="posterior median, mean curve"),
        Patch(color="grey", alpha=0.3, label=f"{ci_prob:.0%} equal-tailed interval"),
    ]
    axes.flat[0].legend(handles=handles, fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
