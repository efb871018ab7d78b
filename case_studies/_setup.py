"""Shared setup of the case-study notebooks, imported by each notebook's setup cell.

The notebooks run with ``case_studies/`` as the working directory, so ``import _setup``
finds this file. Importing it silences ArviZ's informational refactor notice before
``forecast`` (and so ArviZ) is imported; :func:`start` then applies the notebook's
``FAST`` and ``FIGURE_DIR`` parameters and returns the sampler settings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython import get_ipython
from IPython.display import display

# arviz announces its 1.0 refactor on import; informational only.
warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")
from forecast import SamplerConfig  # noqa: E402
from forecast.errors import ConvergenceWarning  # noqa: E402
from forecast.intervals import eti  # noqa: E402
from forecast.units import CI_PROB  # noqa: E402

__all__ = ["interval", "show", "start"]

#: Where :func:`show` saves figures; set by :func:`start`.
_figure_dir = Path("figures")


def start(fast: bool, figure_dir: str | Path) -> SamplerConfig:
    """Apply a notebook's parameters; return its sampler settings.

    Parameters
    ----------
    fast : bool
        ``True``: tiny draws (2 chains x 150 after 200 tuning steps), convergence warnings
        silenced because a few hundred draws cannot reach the production ESS threshold.
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
        return SamplerConfig(draws=150, tune=200, chains=2, progress=False)
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
