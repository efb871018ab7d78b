"""Shared setup of the case-study notebooks, imported by each notebook's setup cell.

The notebooks run with ``case_studies/`` as the working directory, so ``import _setup``
finds this file. Importing it silences ArviZ's informational refactor notice before
``forecast`` (and so ArviZ) is imported; :func:`start` then applies the notebook's
``FAST`` and ``FIGURE_DIR`` parameters and returns the sampler settings. The other helpers
are the pieces several notebooks repeat: a fit's diagnostics line, posterior bands and
their plot, histograms of draws.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from IPython import get_ipython
from IPython.display import display

# arviz announces its 1.0 refactor on import, once a day; informational only (the message
# starts with a newline, which ".*" does not cross).
warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor")
from forecast import SamplerConfig  # noqa: E402
from forecast.errors import ConvergenceWarning  # noqa: E402
from forecast.intervals import eti  # noqa: E402
from forecast.units import CI_PROB  # noqa: E402

__all__ = [
    "CI_PROB",
    "fit_summary",
    "hist_draws",
    "interval",
    "plot_band",
    "quantile_band",
    "show",
    "start",
]

#: Where :func:`show` saves figures; set by :func:`start`.
_figure_dir = Path("figures")


def start(fast: bool, figure_dir: str | Path) -> SamplerConfig:
    """Apply a notebook's parameters; return its sampler settings.

    Parameters
    ----------
    fast : bool
        ``True``: tiny draws (2 chains x 150 after 200 tuning steps) at target_accept 0.8
        (not the model's 0.9 or 0.99, and no rerun of a divergent fit), convergence
        warnings silenced: a FAST run checks that the notebook runs, not its posterior,
        and a few hundred draws cannot reach the production ESS threshold anyway.
        ``False``: 4 chains x 1000 after 1000 tuning steps.
    figure_dir : str or Path
        Directory :func:`show` writes the README figure to (created).

    Returns
    -------
    SamplerConfig
        The NUTS settings of the notebook's fits.
    """
    global _figure_dir
    _figure_dir = Path(figure_dir)
    _figure_dir.mkdir(parents=True, exist_ok=True)
    # forecast's plot modules select matplotlib's non-interactive Agg backend when
    # imported; switch the notebook back to inline figures (after those imports).
    shell = get_ipython()
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")
    if fast:
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SamplerConfig(draws=150, tune=200, chains=2, target_accept=0.8, progress=False)
    return SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)


def interval(draws, prob: float = CI_PROB) -> tuple[float, float, float]:
    """(lower, median, upper) of the equal-tailed ``prob`` interval of some draws."""
    med, (lo, hi) = eti(np.asarray(draws, dtype=float).ravel(), prob)
    return float(lo), float(med), float(hi)


def median_and_bounds(summary, name: str):
    """(median, lower, upper) DataArrays of ``<name>_median`` and ``<name>_ci`` in a summary."""
    ci = summary[f"{name}_ci"]
    return summary[f"{name}_median"], ci.sel(ci_bound="lower"), ci.sel(ci_bound="upper")


def show(fig, name: str | None = None) -> None:
    """Display a figure once; with ``name``, also save it (small PNG) to the figure dir."""
    if name is not None:
        fig.savefig(_figure_dir / name, dpi=80, bbox_inches="tight")
    plt.close(fig)
    display(fig)


def fit_summary(result) -> str:
    """One line on a fit: runs (and groups), divergences, max R-hat, min bulk ESS, converged."""
    diag = result.diagnostics
    groups = f" in {len(result.groups)} groups" if len(result.groups) > 1 else ""
    return (
        f"{len(result.runs)} runs{groups}; divergences {diag.attrs['divergences']}, "
        f"max R-hat {float(diag['r_hat'].max()):.3f}, "
        f"min bulk ESS {float(diag['ess_bulk'].min()):.0f}, converged {result.converged}"
    )


def quantile_band(draws, prob: float = CI_PROB) -> np.ndarray:
    """Lower, median and upper of the equal-tailed ``prob`` interval, stacked on axis 0.

    ``draws`` is a DataArray with dims ``chain`` and ``draw`` (reduced over both) or an
    array of draws along axis 0; the result has the remaining shape after a leading 3.
    """
    if isinstance(draws, xr.DataArray):
        values, axis = draws.transpose("chain", "draw", ...).values, (0, 1)
    else:
        values, axis = np.asarray(draws, dtype=float), 0
    med, bounds = eti(values, prob, axis=axis)
    return np.stack([bounds[..., 0], med, bounds[..., 1]])


def plot_band(
    ax,
    x,
    band,
    name: str,
    *,
    color: str = "C0",
    alpha: float = 0.25,
    median: bool = True,
    label: str | None = None,
    prob: float = CI_PROB,
) -> None:
    """Shade a :func:`quantile_band` between its bounds and draw its median line.

    The labels are ``"<name>, 90% equal-tailed interval"`` (or ``label``) and
    ``"<name>, posterior median"``; ``median=False`` draws the shade only.
    """
    if label is None:
        label = f"{name}, {prob:.0%} equal-tailed interval"
    ax.fill_between(x, band[0], band[2], color=color, alpha=alpha, lw=0, label=label)
    if median:
        ax.plot(x, band[1], color=color, label=f"{name}, posterior median")


def hist_draws(ax, draws, *, bins=40, filled: bool = False, **style) -> None:
    """Density histogram of all draws (flattened): a step outline, or ``filled`` bars.

    ``style`` goes to :meth:`matplotlib.axes.Axes.hist` (``color``, ``label``, ``ls`` …).
    """
    values = np.asarray(draws, dtype=float).ravel()
    style.setdefault("histtype", "bar" if filled else "step")
    ax.hist(values, bins=bins, density=True, **style)
