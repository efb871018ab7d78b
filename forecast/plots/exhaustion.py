"""Figure of data exhaustion: tokens needed against the stock of text, and the year.

:func:`plot_exhaustion` also shows the year the largest models' training sets reach the
stock when the result has one. Re-exported by :mod:`forecast.plots`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from forecast.intervals import eti  # noqa: E402


def plot_exhaustion(result, *, bins: int = 50) -> Figure:
    """Plot tokens needed against the stock, and when the largest models' training sets reach it.

    Left: the distributions of training tokens needed by a model of ``N`` parameters, one
    per scenario (a vertical line when a scenario fixes D), against the stock prior, on a
    log token axis (density per decade; draws beyond the axis are counted in its end bins),
    with the stock's equal-tailed interval shaded. Right (when the result
    has a trend): the posterior of the exhaustion year with its median and interval, and
    Villalobos et al.'s (2024) median 2028 and 2026-2032 interval marked.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`forecast.exhaustion.exhaustion`.
    bins : int
        Histogram bins per panel.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    import json

    ci_prob = float(result.attrs["ci_prob"])
    has_year = "exhaustion_year" in result
    fig, axes = plt.subplots(1, 2 if has_year else 1, figsize=(12 if has_year else 6.5, 4.6))
    axes = np.atleast_1d(axes)
    ax = axes[0]
    stock = result["stock"].values.ravel()
    needed = result["D_needed"].transpose("scenario", ...).values
    needed = needed.reshape(result.sizes["scenario"], -1)
    finite = np.concatenate([stock, needed[np.isfinite(needed)]])
    lo, hi = eti(finite, 0.98)[1]  # axis range: the central 98% of the draws
    edges = np.geomspace(lo / 3, hi * 3, bins + 1)
    width = np.diff(np.log10(edges))

    def per_decade(values):
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        return counts / (len(values) * width)

    ax.stairs(
        per_decade(stock), edges, fill=True, color="0.75", label="stock of human text (prior)"
    )
    s_lo, s_hi = result["stock_ci"].values
    ax.axvspan(s_lo, s_hi, color="0.5", alpha=0.15, lw=0, label=f"stock {ci_prob:.0%} interval")
    colours = plt.get_cmap("tab10")
    for i, name in enumerate(result["scenario"].values):
        values = needed[i]
        p = float(result["p_exhausted"].values[i])
        label = f"{name}: P(D > stock) = {p:.2f}"
        if np.ptp(values) <= 1e-9 * values[0]:
            ax.axvline(values[0], color=colours(i), lw=2, ls="--", label=label)
        else:
            ax.stairs(per_decade(values), edges, color=colours(i), lw=1.6, label=label)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.45)
    ax.set_xscale("log")
    ax.set_xlabel("training tokens D (tokens)")
    ax.set_ylabel("density (per decade of tokens)")
    ax.set_title(f"tokens needed by a model of N = {result.attrs['N']:.3g} parameters")
    ax.legend(fontsize=8, loc="upper left")
    if has_year:
        ax = axes[1]
        year = result["exhaustion_year"].values.ravel()
        year = year[np.isfinite(year)]
        span = eti(year, 0.99)[1] + np.array([-1.0, 1.0])  # axis range, central 99%
        ax.hist(year, bins=bins, range=tuple(span), density=True, color="tab:blue", alpha=0.6)
        y_lo, y_hi = result["exhaustion_year_ci"].values
        ax.axvspan(y_lo, y_hi, color="tab:blue", alpha=0.12, lw=0)
        ax.axvline(float(result["exhaustion_year_median"]), color="tab:blue", lw=2)
        ref = json.loads(result.attrs["villalobos_year"])
        ax.axvspan(
            ref["lower"], ref["upper"], facecolor="none", edgecolor="tab:red", hatch="//", alpha=0.3
        )
        ax.axvline(ref["median"], color="tab:red", lw=2, ls="--")
        growth = float(result["growth_per_year_median"])
        handles = [
            Patch(color="tab:blue", alpha=0.6, label="posterior of exhaustion year"),
            plt.Line2D([], [], color="tab:blue", lw=2, label="posterior median"),
            Patch(color="tab:blue", alpha=0.12, label=f"{ci_prob:.0%} equal-tailed interval"),
            plt.Line2D(
                [], [], color="tab:red", ls="--", lw=2, label="Villalobos et al. 2024 median"
            ),
            Patch(
                facecolor="none",
                edgecolor="tab:red",
                hatch="//",
                alpha=0.3,
                label=f"Villalobos et al. 2024 {ref['interval']} "
                f"({ref['lower']:.0f}-{ref['upper']:.0f})",
            ),
        ]
        ax.set_ylim(0, ax.get_ylim()[1] * 1.5)
        ax.legend(handles=handles, fontsize=8, loc="upper left", ncol=2)
        ax.set_xlabel("year the largest models' training-set trend reaches the stock (year)")
        ax.set_ylabel("density (per year)")
        ax.set_title(
            f"trend of {result.attrs.get('trend_quantity', 'D')} "
            f"({result.attrs.get('trend_subset', '')} models): {growth:.2f}x per year"
        )
    fig.tight_layout()
    return fig
