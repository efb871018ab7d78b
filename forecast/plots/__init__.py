"""Figures. Each function takes result objects and returns a matplotlib ``Figure``.

Axes carry units (nats/token, parameters, tokens, FLOP); quantities that span orders of
magnitude are on log axes; legends say what a band is (e.g. "90% equal-tailed interval").
Nothing here calls ``plt.show()``. One module per subject: :mod:`~forecast.plots.fit`
(runs and posterior), :mod:`~forecast.plots.forecast` (frontier and allocation),
:mod:`~forecast.plots.exhaustion`, :mod:`~forecast.plots.sensitivity`,
:mod:`~forecast.plots.backtest` (calibration) and :mod:`~forecast.plots.design`
(simulation and experiment design); this package re-exports every ``plot_*`` function.
"""

from forecast.plots.backtest import plot_calibration
from forecast.plots.design import plot_sbc, plot_suggestions, plot_update
from forecast.plots.exhaustion import plot_exhaustion
from forecast.plots.fit import plot_exponents, plot_fit
from forecast.plots.forecast import plot_allocation, plot_forecast
from forecast.plots.sensitivity import plot_sensitivity_heatmap, plot_tornado

__all__ = [
    "plot_allocation",
    "plot_calibration",
    "plot_exhaustion",
    "plot_exponents",
    "plot_fit",
    "plot_forecast",
    "plot_sbc",
    "plot_sensitivity_heatmap",
    "plot_suggestions",
    "plot_tornado",
    "plot_update",
]
