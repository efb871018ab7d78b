"""Helpers shared by the figure modules: log-axis tick labels and posterior bands."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
from matplotlib.ticker import FuncFormatter  # noqa: E402


def _plain_log_ticks(ax) -> None:
    """Label a log-scaled loss axis 2, 3, 4 rather than 2x10^0 (losses span < 1 decade)."""
    ticks = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(ticks)
    ax.yaxis.set_minor_formatter(ticks)


def _band(draws, ci_prob: float):
    stacked = draws.stack(sample=("chain", "draw"))
    lo, hi = (1 - ci_prob) / 2, 1 - (1 - ci_prob) / 2
    q = stacked.quantile([lo, 0.5, hi], dim="sample")
    return q.isel(quantile=0).values, q.isel(quantile=1).values, q.isel(quantile=2).values
