"""Figures of a sensitivity study: the tornado of axis effects and a two-axis heatmap.

Each function takes the study's Dataset (:mod:`forecast.studies.sensitivity`) and returns a
matplotlib ``Figure``; re-exported by :mod:`forecast.plots`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from forecast.units import CI_PROB  # noqa: E402


def _axis_label(value: str, units: str = "") -> str:
    if value == "inf":
        return "none"
    return f"{value} {units}" if units in ("FLOP",) else value


def plot_tornado(result, *, variable: str = "loss_median") -> Figure:
    """Tornado plot: how far each study axis moves a forecast, the others at baseline.

    One horizontal bar per axis spans the smallest to the largest value of ``variable``
    over that axis's values (labels at the ends name them); the largest effect is on top.
    The vertical line is the baseline configuration and, for the loss, the shaded band its
    posterior interval — a bar shorter than the band is a choice that matters less than
    the uncertainty the data leave.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`forecast.studies.sensitivity.sensitivity`.
    variable : str
        Scalar summary to rank axes by (default the loss median at ``N``, nats/token).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    import json

    from forecast.studies.sensitivity import axis_effects

    effects = axis_effects(result, variable=variable)
    n = effects.sizes["axis"]
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.6 * max(n, 1)))
    base = effects.attrs["baseline_value"]
    baseline = json.loads(result.attrs["baseline"])
    ci_name = variable.replace("_median", "_ci")
    if ci_name in result and variable.endswith("_median"):
        dims = [a for a in result[ci_name].dims if a in baseline]
        sel = {a: (np.inf if baseline[a] == "inf" else baseline[a]) for a in dims}
        lo_hi = result[ci_name].sel(sel)
        band = f"baseline {result.attrs.get('ci_prob', CI_PROB):.0%} equal-tailed interval"
        ax.axvspan(*np.asarray(lo_hi.values, float), color="0.85", zorder=0, label=band)
    for i, axis in enumerate(effects["axis"].values):
        row = effects.sel(axis=axis)
        y = n - 1 - i
        lo, hi = float(row["low"]), float(row["high"])
        if not np.isfinite(hi - lo):
            ax.text(base, y, "no result", va="center", ha="center", fontsize=8, color="tab:red")
            continue
        if hi - lo == 0:
            ax.text(
                base,
                y,
                f"  no change over {result.sizes[axis]} values",
                va="center",
                ha="left",
                fontsize=8,
                color="0.3",
            )
            continue
        units = result[axis].attrs.get("units", "")
        ax.barh(y, hi - lo, left=lo, height=0.55, color="tab:blue", alpha=0.8)
        ax.text(
            lo,
            y,
            _axis_label(row["low_value"].item(), units) + " ",
            va="center",
            ha="right",
            fontsize=8,
        )
        ax.text(
            hi,
            y,
            " " + _axis_label(row["high_value"].item(), units),
            va="center",
            ha="left",
            fontsize=8,
        )
    ax.axvline(base, color="k", lw=1, label=f"baseline ({base:.3f})")
    ax.set_yticks(range(n))
    ax.set_yticklabels(list(effects["axis"].values)[::-1])
    ax.set_ylim(-0.7, n - 0.3)
    lo_all = np.nanmin(np.r_[effects["low"].values, base])
    hi_all = np.nanmax(np.r_[effects["high"].values, base])
    pad = 0.25 * max(hi_all - lo_all, 1e-3)
    ax.set_xlim(min(ax.get_xlim()[0], lo_all - pad), max(ax.get_xlim()[1], hi_all + pad))
    units = effects.attrs.get("units", "")
    what = result[variable].attrs.get("long_name", variable)
    ax.set_xlabel(f"{what}\nposterior median ({units}); bars: range over each choice")
    ax.set_title(
        f"{result.attrs.get('title', 'sensitivity study')}: which choice moves the forecast most"
        "\n(each axis varied alone, the others at baseline)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_sensitivity_heatmap(
    result, *, x: str | None = None, y: str | None = None, variable: str = "loss_median"
) -> Figure:
    """Heat map of a forecast over two study axes, the other axes at baseline.

    Cells show ``variable`` with its value printed; configurations that failed or are not
    in the design are grey and marked. By default the two axes with the largest effect
    (see :func:`forecast.studies.sensitivity.axis_effects`) are shown.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`forecast.studies.sensitivity.sensitivity`.
    x, y : str, optional
        Axes on the horizontal and vertical; default the two largest effects.
    variable : str
        Scalar summary to show (default the loss median at ``N``, nats/token).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Raises
    ------
    ValueError
        Fewer than two axes, or ``x``/``y`` not axes of the study.
    """
    import json

    from forecast.studies.sensitivity import axis_effects

    ranked = [a for a in axis_effects(result, variable=variable)["axis"].values]
    ranked = [a for a in ranked if result.sizes[a] > 1] + [
        a for a in ranked if result.sizes[a] == 1
    ]
    x = x or next((a for a in ranked if a != y), None)
    y = y or next((a for a in ranked if a != x), None)
    if x is None or y is None or x == y or x not in result.dims or y not in result.dims:
        raise ValueError(f"need two different study axes; the study has {ranked}, got {x}, {y}")
    baseline = json.loads(result.attrs["baseline"])
    others = {
        a: (np.inf if baseline[a] == "inf" else baseline[a]) for a in ranked if a not in (x, y)
    }
    grid = result[variable].sel(others).transpose(y, x)
    status = result["status"].sel(others).transpose(y, x).values
    values = np.asarray(grid.values, float)
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * grid.sizes[x], 1.4 + 0.8 * grid.sizes[y]))
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, aspect="auto")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            text, colour = f"{value:.3f}", "w" if image.norm(value) < 0.6 else "k"
        else:
            text, colour = status[i, j] or "not in design", "k"
        ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(grid.sizes[x]), [_axis_label(str(v), "") for v in grid[x].values])
    ax.set_yticks(range(grid.sizes[y]), [_axis_label(str(v), "") for v in grid[y].values])
    for name, setter in ((x, ax.set_xlabel), (y, ax.set_ylabel)):
        unit = result[name].attrs.get("units", "")
        setter(name if unit in ("", "label", "1") else f"{name} ({unit})")
    units = result[variable].attrs.get("units", "")
    fig.colorbar(image, ax=ax, label=f"{variable} ({units})")
    what = result[variable].attrs.get("long_name", variable)
    ax.set_title(f"{what}\nposterior median; other choices at baseline", fontsize=8)
    fig.tight_layout()
    return fig
