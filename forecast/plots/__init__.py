"""Figures. Each function takes result objects and returns a matplotlib ``Figure``.

Axes carry units (nats/token, parameters, tokens, FLOP); quantities that span orders of
magnitude are on log axes; legends say what a band is (e.g. "90% equal-tailed interval").
Nothing here calls ``plt.show()``.
"""

from forecast.plots.fit import (
    plot_allocation,
    plot_calibration,
    plot_exhaustion,
    plot_exponents,
    plot_fit,
    plot_forecast,
    plot_sbc,
    plot_sensitivity_heatmap,
    plot_suggestions,
    plot_tornado,
    plot_update,
)

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
