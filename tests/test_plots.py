"""Figures: what a reader needs to decode them is on the figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from forecast.plots import plot_fit


def test_fit_figure_has_one_log_colour_bar_for_N(small_fit):
    fig = plot_fit(small_fit)
    try:
        bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        assert len(bars) == 1
        bar = bars[0]
        assert bar.get_ylabel() == "model size N (parameters)"
        assert bar.get_yscale() == "log"
        runs = small_fit.runs
        np.testing.assert_allclose(bar.get_ylim(), (runs["N"].min(), runs["N"].max()))
        # every panel's points use that one scale: the same N has the same colour
        panels = [ax for ax in fig.axes if ax.get_visible() and ax is not bar]
        assert len(panels) == 2
        colours = []
        for ax in panels:
            points = ax.collections[-1]
            assert points.norm is panels[0].collections[-1].norm
            colours.append(points.to_rgba(np.asarray(runs["N"].max()).reshape(1))[0])
        np.testing.assert_allclose(colours[0], colours[1])
        np.testing.assert_allclose(colours[0], plt.get_cmap("viridis")(1.0))
    finally:
        plt.close(fig)
