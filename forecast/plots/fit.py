"""Figures. Each function takes result objects and returns a matplotlib ``Figure``.

Axes carry units (nats/token, parameters, tokens, FLOP); quantities that span orders of
magnitude are on log axes; legends say what a band is (e.g. "90% equal-tailed interval").
Nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from forecast.fit import Fit  # noqa: E402
from forecast.predict import predict  # noqa: E402
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN  # noqa: E402


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


def plot_fit(result: Fit, *, ci_prob: float = CI_PROB, max_groups: int = 6) -> Figure:
    """Plot the data against the fitted law, one panel per group (up to ``max_groups``).

    Each panel shows loss (nats/token) against training compute C = 6ND (FLOP) on log
    axes, the observed runs coloured by model size, and for each distinct model size
    the posterior median of the mean curve with its equal-tailed ``ci_prob`` band. One
    colour bar, on a log scale shared by every panel, reads model size N (parameters).

    Parameters
    ----------
    result : Fit
        A fitted result.
    ci_prob : float
        Probability of the plotted band.
    max_groups : int
        Most groups shown (the largest by number of runs).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    runs = result.runs
    col = result.config.groups
    labels = result.groups
    if col is not None:
        counts = runs[col].astype(str).value_counts()
        labels = [g for g in counts.index if g in labels][:max_groups]
    shown = runs if col is None else runs[runs[col].astype(str).isin(labels)]
    n = len(labels)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols + 1.0, 4.2 * nrows), squeeze=False, layout="constrained"
    )
    cmap = plt.get_cmap("viridis")
    # One colour scale for every panel, so that one colour bar reads N everywhere.
    low, high = float(shown["N"].min()), float(shown["N"].max())
    norm = LogNorm(vmin=low, vmax=high if high > low else low * 10)
    for ax, label in zip(axes.flat, labels, strict=False):
        sub = runs if col is None else runs[runs[col].astype(str) == label]
        sizes = np.sort(sub["N"].unique())
        group = label if len(result.groups) > 1 else None
        for size in sizes[:: max(1, len(sizes) // 8)]:
            pts = sub[sub["N"] == size]
            d_grid = np.geomspace(pts["D"].min() / 1.5, pts["D"].max() * 1.5, 40)
            draws = predict(result, np.full_like(d_grid, size), d_grid, group=group)
            lo, med, hi = _band(draws, ci_prob)
            c = FLOP_PER_PARAM_TOKEN * size * d_grid
            colour = cmap(norm(size))
            ax.fill_between(c, lo, hi, color=colour, alpha=0.25, lw=0)
            ax.plot(c, med, color=colour, lw=1.2)
        ax.scatter(
            FLOP_PER_PARAM_TOKEN * sub["N"] * sub["D"],
            sub["loss"],
            c=sub["N"].to_numpy(float),
            cmap=cmap,
            norm=norm,
            s=14,
            edgecolor="k",
            linewidth=0.3,
            zorder=3,
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel("training compute C = 6ND (FLOP)")
        ax.set_ylabel("loss (nats/token)")
        ax.set_title(f"{col}={label}" if col else f"{result.config.law} fit")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    bar = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(bar, ax=list(axes.flat[:n]), label="model size N (parameters)", shrink=0.9)
    handles = [
        Line2D([], [], marker="o", ls="", color="grey", label="observed runs (colour: N)"),
        Line2D([], [], color="grey", label="posterior median, mean curve"),
        Patch(color="grey", alpha=0.3, label=f"{ci_prob:.0%} equal-tailed interval"),
    ]
    axes.flat[0].legend(handles=handles, fontsize=8, loc="upper right")
    return fig


# ------------------------------------------------------------------ data exhaustion
def plot_exhaustion(result, *, bins: int = 50) -> Figure:
    """Plot tokens needed against the stock, and the year the frontier reaches the stock.

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
    needed = result["D_needed"].values.reshape(result.sizes["scenario"], -1)
    finite = np.concatenate([stock, needed[np.isfinite(needed)]])
    lo, hi = np.quantile(finite, [0.01, 0.99])
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
        span = np.quantile(year, [0.005, 0.995]) + np.array([-1.0, 1.0])
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
        ax.set_xlabel("year the frontier training-set trend reaches the stock (year)")
        ax.set_ylabel("density (per year)")
        ax.set_title(
            f"trend of {result.attrs.get('trend_quantity', 'D')} "
            f"({result.attrs.get('trend_subset', '')} models): {growth:.2f}x per year"
        )
    fig.tight_layout()
    return fig


# --- sensitivity studies: tornado plot and heat map (forecast.studies.sensitivity) ---
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


# ------------------------------------------------------------------ forecasts and allocation


def plot_forecast(frontier, summary, *, runs=None) -> Figure:
    """Plot loss against compute: the data, the compute-optimal frontier and the forecasts.

    The frontier is the posterior median of the compute-optimal loss (mean curve) with its
    equal-tailed band; each forecast scenario is a point at its median compute and loss, with
    equal-tailed error bars in both, at the interval probability ``summary.attrs["ci_prob"]``.

    Parameters
    ----------
    frontier : xarray.Dataset
        :func:`forecast.allocation.allocate` result for a 1-D grid of budgets ``C``.
    summary : xarray.Dataset
        :func:`forecast.scenarios.forecast` result.
    runs : pandas.DataFrame, optional
        Observed runs (columns ``N``, ``D``, ``loss``), drawn at :math:`C = kND`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (log-log axes: FLOP, nats/token).
    """
    ci_prob = float(summary.attrs["ci_prob"])
    k = float(frontier.attrs["flop_per_param_token"])
    fig, ax = plt.subplots(figsize=(8, 5.2))
    if runs is not None:
        ax.scatter(k * runs["N"] * runs["D"], runs["loss"], s=9, c="0.55", label="observed runs")
    grid = frontier["C"].median(("chain", "draw")).values
    lo, med, hi = _band(frontier["loss"], ci_prob)
    ax.fill_between(
        grid, lo, hi, color="C0", alpha=0.2, lw=0, label=f"{ci_prob:.0%} equal-tailed interval"
    )
    ax.plot(grid, med, color="C0", label="compute-optimal frontier, posterior median")
    for i, name in enumerate(summary["scenario"].values):
        point = summary.sel(scenario=name, ci_prob=ci_prob)
        c, loss = float(point["C"]), float(point["loss"])
        c_lo, c_hi = point["C_eti"].values
        l_lo, l_hi = point["loss_eti"].values
        ax.errorbar(
            c,
            loss,
            xerr=[[max(c - c_lo, 0)], [max(c_hi - c, 0)]],
            yerr=[[max(loss - l_lo, 0)], [max(l_hi - loss, 0)]],
            fmt="os^Dv<>"[i % 7],
            color=f"C{i + 1}",
            capsize=3,
            label=f"{name}: median, {ci_prob:.0%} ETI",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel(f"training compute C = {k:g}ND (FLOP)")
    ax.set_ylabel("loss, mean curve (nats/token)")
    ax.set_title(
        f"forecast at N = {summary.attrs['N']:.3g} parameters ({summary.attrs['law']}, "
        f"{summary.attrs['group']})",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


#: Parameters plotted by :func:`plot_exponents`, per law.
EXPONENT_PANELS = {
    "chinchilla": ("E", "alpha", "beta", "a"),
    "chinchilla_broken": ("E", "alpha", "beta", "alpha_ratio", "beta_ratio"),
    "data_constrained": ("E", "alpha", "beta", "a"),
    "kaplan": ("alpha_N", "alpha_D"),
    "kaplan_floor": ("E", "alpha_N", "alpha_D"),
}
#: Published fits drawn for comparison (``fit_id`` of the ``published_fits`` dataset).
PUBLISHED_SHOWN = {
    "hoffmann2022_a3_rounded": "tab:orange",
    "besiroglu2024": "tab:red",
    "muennighoff2023_c4_tied": "tab:purple",
    "kaplan2020_LND": "tab:brown",
}
_PANEL_LABELS = {
    "E": "irreducible loss E (nats/token)",
    "alpha": "parameter exponent alpha",
    "beta": "data exponent beta",
    "a": "allocation exponent a = beta/(alpha+beta), N* ~ C^a",
    "alpha_ratio": "alpha above / below the break",
    "beta_ratio": "beta above / below the break",
    "alpha_N": "parameter exponent alpha_N",
    "alpha_D": "data exponent alpha_D",
}


def _published(published, name: str) -> list[tuple[str, float, float]]:
    """(fit_id, value, standard error or nan) of parameter ``name`` in the published fits."""
    import re

    rows = []
    for _, row in published[published["fit_id"].isin(list(PUBLISHED_SHOWN))].iterrows():
        if name == "a" and np.isfinite(row.get("alpha", np.nan)):
            rows.append((row["fit_id"], row["beta"] / (row["alpha"] + row["beta"]), np.nan))
        elif name in ("E", "alpha", "beta") and np.isfinite(row.get(name, np.nan)):
            rows.append((row["fit_id"], float(row[name]), float(row.get(f"{name}_se", np.nan))))
        elif name in ("alpha_N", "alpha_D"):
            match = re.search(rf"\b{name}=([0-9.]+)", str(row.get("extra", "")))
            if match:
                rows.append((row["fit_id"], float(match.group(1)), np.nan))
    return rows


def plot_exponents(result: Fit, published, *, ci_prob: float = CI_PROB) -> Figure:
    """Plot the posterior of the exponents and the floor against published fits.

    Each panel is the posterior density (histogram) of a population-level parameter with
    its equal-tailed interval shaded; published point fits are vertical lines, with their
    95% interval (±1.96 SE) hatched where the paper gives a standard error.

    Parameters
    ----------
    result : Fit
        A fitted result.
    published : pandas.DataFrame
        Published fits, ``load_dataset("published_fits")`` (columns ``fit_id``, ``E``,
        ``alpha``, ``beta``, ``*_se``, ``extra``).
    ci_prob : float
        Probability of the shaded interval.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    names = EXPONENT_PANELS.get(result.config.law, ())
    post = result.posterior
    ncols = 2 if len(names) == 4 else min(len(names), 3)
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.3 * nrows + 0.9), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_axis_off()
    legend = {}
    for ax, name in zip(axes.flat, names, strict=False):
        if name == "a":
            draws = (post["beta"] / (post["alpha"] + post["beta"])).values.ravel()
        else:
            draws = post[name].values.ravel()
        lo, hi = np.quantile(draws, [(1 - ci_prob) / 2, (1 + ci_prob) / 2])
        ax.hist(draws, bins=50, density=True, color="C0", alpha=0.6, label="posterior")
        ax.axvspan(lo, hi, color="C0", alpha=0.12, label=f"{ci_prob:.0%} equal-tailed interval")
        for fit_id, value, se in _published(published, name):
            colour = PUBLISHED_SHOWN[fit_id]
            ax.axvline(value, color=colour, ls="--", lw=1.2, label=f"{fit_id} (point fit)")
            ax.annotate(
                f"{value:.3g}",
                (value, 1),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                color=colour,
                rotation=90,
                va="top",
                ha="right",
            )
            if np.isfinite(se):
                ax.axvspan(
                    value - 1.96 * se,
                    value + 1.96 * se,
                    color=colour,
                    alpha=0.1,
                    hatch="//",
                    label=f"{fit_id} 95% (±1.96 SE)",
                )
        ax.set_xlabel(_PANEL_LABELS[name])
        ax.set_ylabel("posterior density (1/unit of x)")
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label.split(" (")[0], handle)
    fig.suptitle(f"{result.config.law}: population-level posterior vs published fits", fontsize=10)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.1 if nrows > 1 else 0.16, 1, 1))
    return fig


def plot_allocation(frontier, *, published=None, ci_prob: float = CI_PROB) -> Figure:
    """Plot the compute-optimal allocation against compute, with equal-tailed bands.

    Left: :math:`N^*` (parameters) and :math:`D^*` (tokens) against C. Right: tokens per
    parameter :math:`D^*/N^*`, with Hoffmann et al.'s rule of thumb (20) and the frontiers
    of published Chinchilla-form fits when ``published`` is given.

    Parameters
    ----------
    frontier : xarray.Dataset
        :func:`forecast.allocation.allocate` result for a 1-D grid of budgets ``C``.
    published : pandas.DataFrame, optional
        ``load_dataset("published_fits")``; rows with ``A``, ``B``, ``alpha``, ``beta``.
    ci_prob : float
        Probability of the bands.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (log-log axes).
    """
    from models.laws import chinchilla

    k = float(frontier.attrs["flop_per_param_token"])
    grid = frontier["C"].median(("chain", "draw")).values
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    for name, colour, unit in (("N", "C0", "parameters"), ("D", "C1", "tokens")):
        lo, med, hi = _band(frontier[name], ci_prob)
        left.fill_between(
            grid,
            lo,
            hi,
            color=colour,
            alpha=0.2,
            lw=0,
            label=f"{name}* {ci_prob:.0%} equal-tailed interval",
        )
        left.plot(grid, med, color=colour, label=f"{name}* ({unit}), posterior median")
    lo, med, hi = _band(frontier["tokens_per_param"], ci_prob)
    right.fill_between(
        grid, lo, hi, color="C2", alpha=0.2, lw=0, label=f"{ci_prob:.0%} equal-tailed interval"
    )
    right.plot(grid, med, color="C2", label="posterior median")
    right.axhline(20, color="k", ls=":", lw=1, label="20 tokens/param (Hoffmann et al. 2022)")
    rows = [] if published is None else published[published["fit_id"].isin(list(PUBLISHED_SHOWN))]
    rows = rows if published is None else rows.dropna(subset=["A", "B", "alpha", "beta"])
    for _, row in rows.iterrows() if len(rows) else []:
        N_opt, D_opt = chinchilla.compute_optimal(
            grid, row["E"], row["A"], row["alpha"], row["B"], row["beta"], k
        )
        label = f"{row['fit_id']} (point fit)"
        right.plot(
            grid, D_opt / N_opt, ls="--", lw=1, color=PUBLISHED_SHOWN[row["fit_id"]], label=label
        )
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"training compute C = {k:g}ND (FLOP)")
        ax.legend(fontsize=7)
    left.set_ylabel("N* (parameters), D* (tokens)")
    right.set_ylabel("tokens per parameter D*/N* (tokens/parameter)")
    fig.suptitle(
        f"compute-optimal allocation ({frontier.attrs['law']}, {frontier.attrs['group']})",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


# Figures in their own modules (size limit): backtest calibration (nominal vs empirical
# coverage, PIT histograms); simulation and experiment design.
from forecast.plots.backtest import plot_calibration  # noqa: E402, F401
from forecast.plots.design import plot_sbc, plot_suggestions, plot_update  # noqa: E402, F401
