"""Figures of a fit: the runs with the posterior curves; the exponents against published fits.

Each function takes result objects and returns a matplotlib ``Figure``; re-exported by
:mod:`forecast.plots`.
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

from forecast.averaged import Stack, group_column_of, law_of, posterior_of  # noqa: E402
from forecast.fit import Fit  # noqa: E402
from forecast.intervals import eti  # noqa: E402
from forecast.plots._style import _band, _plain_log_ticks  # noqa: E402
from forecast.predict import predict  # noqa: E402
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN  # noqa: E402

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


def plot_fit(result: Fit | Stack, *, ci_prob: float = CI_PROB, max_groups: int = 6) -> Figure:
    """Plot the data against the fitted law, one panel per group (up to ``max_groups``).

    Each panel shows loss (nats/token) against training compute C = 6ND (FLOP) on log
    axes, the observed runs coloured by model size, and for each distinct model size
    the posterior median of the mean curve with its equal-tailed ``ci_prob`` band. One
    colour bar, on a log scale shared by every panel, reads model size N (parameters).

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (bands of its mixture draws).
    ci_prob : float
        Probability of the plotted band.
    max_groups : int
        Most groups shown (the largest by number of runs).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    runs, labels, col = result.runs, result.groups, group_column_of(result)
    law = "averaged" if isinstance(result, Stack) else result.config.law
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
        ax.set_title(f"{col}={label}" if col else f"{law} fit")
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


def plot_exponents(result: Fit | Stack, published, *, ci_prob: float = CI_PROB) -> Figure:
    """Plot the posterior of the exponents and the floor against published fits.

    Each panel is the posterior density (histogram) of a population-level parameter with
    its equal-tailed interval shaded; published point fits are vertical lines, with their
    95% interval (±1.96 SE) hatched where the paper gives a standard error.

    Parameters
    ----------
    result : Fit or Stack
        A fit, or an averaged posterior (its components' draws mixed; same law).
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
    law = law_of(result, purpose="plot_exponents")
    names = EXPONENT_PANELS.get(law, ())
    wanted = (set(names) - {"a"}) | ({"alpha", "beta"} if "a" in names else set())
    post = posterior_of(result, sorted(wanted), purpose="plot_exponents")  # a stack's: mixed
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
        lo, hi = eti(draws, ci_prob)[1]
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
    fig.suptitle(f"{law}: population-level posterior vs published fits", fontsize=10)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.1 if nrows > 1 else 0.16, 1, 1))
    return fig
