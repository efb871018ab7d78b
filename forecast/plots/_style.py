"""Helpers shared by the figure modules: log-axis tick labels and posterior bands."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
from matplotlib.ticker import FuncFormatter  # noqa: E402

from forecast.intervals import interval, median  # noqa: E402


def _plain_log_ticks(ax) -> None:
    """Label a log-scaled loss axis 2, 3, 4 rather than 2x10^0 (losses span < 1 decade)."""
    ticks = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(ticks)
    ax.yaxis.set_minor_formatter(ticks)


def _band(draws, ci_prob: float):
    """Lower bound, median and upper bound of ``draws`` over chain and draw (NaN skipped)."""
    lo, hi = interval(draws, ci_prob, skipna=True).transpose("ci_bound", ...).values
    return lo, median(draws, skipna=True).values, hi
