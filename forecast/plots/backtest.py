"""Calibration figures of a backtest: nominal vs empirical coverage, and PIT histograms.

Each function takes the Dataset returned by :func:`forecast.studies.backtest.backtest` and returns a
matplotlib ``Figure`` (re-exported by :mod:`forecast.plots`). Nothing here calls
``plt.show()``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Nominal central-interval probabilities at which the coverage curve is drawn.
_NOMINAL = np.linspace(0.0, 1.0, 41)


def _with_bands(result: xr.Dataset, models) -> list[str]:
    names = [str(m) for m in result["model"].values] if models is None else list(models)
    return [m for m in names if np.isfinite(result["pit"].sel(model=m).values).all()]


def empirical_coverage(pit: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    r"""Coverage of central intervals computed from PIT values.

    Parameters
    ----------
    pit : numpy.ndarray
        PIT values of the held-out runs, in [0, 1].
    nominal : numpy.ndarray
        Nominal probabilities of central intervals, in [0, 1].

    Returns
    -------
    numpy.ndarray
        For each nominal :math:`q`, the fraction of runs inside the central :math:`q`
        interval, i.e. with :math:`|\mathrm{PIT} - 1/2| \le q/2`.

    Examples
    --------
    >>> empirical_coverage(np.array([0.5, 0.7, 0.99]), np.array([0.5, 0.9, 1.0])).tolist()
    [0.6666666666666666, 0.6666666666666666, 1.0]
    """
    pit = np.asarray(pit, float)
    return (np.abs(pit[None, :] - 0.5) <= np.asarray(nominal)[:, None] / 2 + 1e-12).mean(1)


def plot_calibration(
    result: xr.Dataset, *, models=None, bins: int = 10, title: str | None = None
) -> Figure:
    """Plot nominal against empirical coverage and the PIT histogram of each model.

    Left: for each model with predictive bands, the fraction of held-out runs inside the
    central interval of each nominal probability (computed from PIT values; a calibrated
    model follows the diagonal, a curve below it means bands too narrow), with the 50, 80,
    90 and 95% levels marked. Right: PIT histograms (flat = calibrated; U-shaped = too
    narrow; hump = too wide; tilted = biased), with the uniform density as a dashed line.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`forecast.studies.backtest.backtest` (``pit`` along ``model``, ``run``).
    models : sequence of str, optional
        Models to show; default every model with bands (point forecasts have none).
    bins : int
        PIT histogram bins.
    title : str, optional
        Figure title; default the split and the numbers of fitted and held-out runs.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    names = _with_bands(result, models)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    left.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="calibrated")
    edges = np.linspace(0, 1, bins + 1)
    for i, name in enumerate(names):
        pit = result["pit"].sel(model=name).values
        colour = f"C{i}"
        lw = 2.8 if i == 0 else 1.4  # the first model (ours) on top of any it equals
        left.plot(_NOMINAL, empirical_coverage(pit, _NOMINAL), color=colour, lw=lw, label=name)
        marks = np.array([0.5, 0.8, 0.9, 0.95])
        left.plot(marks, empirical_coverage(pit, marks), "o", color=colour, ms=4)
        density, _ = np.histogram(pit, bins=edges, density=True)
        right.stairs(density, edges, color=colour, lw=lw, label=name)
    right.axhline(1.0, color="k", lw=0.8, ls="--", label="uniform (calibrated)")
    left.set_xlabel("nominal probability of central interval (1)")
    left.set_ylabel("fraction of held-out runs inside (1)")
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    left.legend(fontsize=7, loc="upper left")
    right.set_xlabel("PIT = predictive CDF at the observed loss (1)")
    right.set_ylabel("density (1)")
    right.set_xlim(0, 1)
    right.legend(fontsize=7, loc="upper center")
    attrs = result.attrs
    fig.suptitle(
        title
        or f"backtest {attrs.get('split', '')}: fit {attrs.get('n_train')} runs, "
        f"predict {attrs.get('n_test')} held-out runs",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
