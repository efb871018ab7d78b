"""The end-to-end report: fit, forecast, figures and a markdown summary in one directory.

:func:`report` runs the whole job on one runs table — the fit (:func:`forecast.fit.fit`),
the scenario forecast at N (:func:`forecast.scenarios.forecast`), the compute-optimal
frontier (:func:`forecast.allocation.allocate`), data exhaustion when the law supports it
(:func:`forecast.exhaustion.exhaustion`), the figures — and writes them next to a
``report.md`` that links everything. Every file is written atomically; nothing is
overwritten without ``overwrite=True``. :func:`forecast_table` formats a forecast summary
for the CLI and the markdown.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _idata
from forecast.allocation import allocate
from forecast.averaged import Stack, group_column_of
from forecast.config import FitConfig
from forecast.data.catalog import load_dataset
from forecast.diagnostics import failures
from forecast.errors import ConfigError, ExtrapolationWarning
from forecast.extrapolation import text_from_attrs
from forecast.fit import Fit, fit, package_versions
from forecast.intervals import ci_name
from forecast.io import save, write_atomic
from forecast.scenarios import Scenario, forecast
from forecast.studies.stacking import fit_averaged
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN
from models.build import OFFSET_PREFIXES

#: Steps reported to the ``progress`` callback, in order.
REPORT_STEPS = ("fitting", "forecasting", "data exhaustion", "drawing figures", "writing")
#: Files a report writes (key -> file name in the output directory).
REPORT_FILES = {
    "report": "report.md",
    "posterior": "posterior.nc",
    "forecast": "forecast.nc",
    "exhaustion": "exhaustion.nc",
    "fit_figure": "fit.png",
    "forecast_figure": "forecast.png",
    "exponents_figure": "exponents.png",
    "allocation_figure": "allocation.png",
    "exhaustion_figure": "exhaustion.png",
}
#: Budgets on the frontier curve of the figures.
FRONTIER_POINTS = 60
_COLUMNS = {
    "N": ("N (parameters)", ".3g"),
    "D": ("D (tokens)", ".3g"),
    "tokens_per_param": ("tokens/param", ".3g"),
    "C": ("C (FLOP)", ".3g"),
    "loss": ("loss, mean curve (nats/token)", ".3f"),
    "loss_new_run": ("loss, one new run (nats/token)", ".3f"),
    "reducible_loss": ("L - E (nats/token)", ".3f"),
    "frontier_return": ("dL per 10x C on frontier", ".4f"),
    "data_return": ("dL per 10x D at fixed N", ".4f"),
}


@dataclass(frozen=True)
class Report:
    """What :func:`report` made.

    Attributes
    ----------
    fit : Fit or Stack
        The fitted posterior (a :class:`forecast.averaged.Stack` for a recipe).
    forecast : xarray.Dataset
        The forecast summary (:func:`forecast.scenarios.forecast`).
    files : mapping of str to Path
        Written files by key of :data:`REPORT_FILES` (exhaustion files only when made).
    """

    fit: Fit | Stack
    forecast: xr.Dataset
    files: Mapping[str, Path]


def _median_and_bounds(point: xr.Dataset, var: str, ci_kind: str) -> tuple[float, ...]:
    """Median, lower and upper bound of ``var`` in one scenario at one ``ci_prob``."""
    lo, hi = point[ci_name(var, ci_kind)].sel(ci_bound=["lower", "upper"]).values
    return float(point[f"{var}_median"]), float(lo), float(hi)


def forecast_table(summary: xr.Dataset, *, ci_kind: str = "eti") -> pd.DataFrame:
    """Format a forecast summary as text cells ``median [lower, upper]``, one row per scenario.

    Parameters
    ----------
    summary : xarray.Dataset
        Output of :func:`forecast.scenarios.forecast`.
    ci_kind : {"eti", "hdi"}
        Interval kind shown; the probability is ``summary.attrs["ci_prob"]``. Equal-tailed
        by default: N, D, C and tokens/param span decades, and an ETI transforms with the
        quantity (the HDI of D is not the HDI of D/N times N).

    Returns
    -------
    pandas.DataFrame
        Index ``scenario``; columns name their units.
    """
    prob = float(summary.attrs["ci_prob"])
    rows = {}
    for name in summary["scenario"].values:
        point = summary.sel(scenario=name, ci_prob=prob)
        cells = {}
        for var, (label, fmt) in _COLUMNS.items():
            median, lo, hi = _median_and_bounds(point, var, ci_kind)
            if np.isclose(lo, hi, rtol=1e-9) and np.isclose(lo, median, rtol=1e-9):
                cells[label] = f"{median:{fmt}}"
            else:
                cells[label] = f"{median:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
        rows[str(name)] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "scenario"
    return frame


def probability_table(summary: xr.Dataset) -> pd.DataFrame:
    """Return P(mean-curve loss < x) per scenario (rows) and threshold x (columns)."""
    p = summary["p_loss_below"]
    return pd.DataFrame(
        p.values,
        index=pd.Index([str(s) for s in p["scenario"].values], name="scenario"),
        columns=[f"P(L < {x:g})" for x in p["threshold"].values],
    )


def forecast_frame(summary: xr.Dataset, *, ci_kind: str = "eti") -> pd.DataFrame:
    """Return a forecast summary as numbers, one row per scenario, for CSV or JSON output.

    Parameters
    ----------
    summary : xarray.Dataset
        Output of :func:`forecast.scenarios.forecast`.
    ci_kind : {"eti", "hdi"}
        Interval kind, at probability ``summary.attrs["ci_prob"]``.

    Returns
    -------
    pandas.DataFrame
        Column ``scenario``; for each quantity ``<name>`` of :func:`forecast_table`
        (``N``, ``D``, ``tokens_per_param``, ``C``, ``loss``, ...: the quantity names of
        ``summary``, in its units) ``<name>_median``, ``<name>_lower`` and
        ``<name>_upper``; then
        ``p_loss_below_<x>``, P(mean-curve loss < x nats/token), per threshold x.
    """
    prob = float(summary.attrs["ci_prob"])
    rows = []
    for name in summary["scenario"].values:
        point = summary.sel(scenario=name, ci_prob=prob)
        row = {"scenario": str(name)}
        for var in _COLUMNS:
            median, lo, hi = _median_and_bounds(point, var, ci_kind)
            row.update({f"{var}_median": median, f"{var}_lower": lo, f"{var}_upper": hi})
        p = point["p_loss_below"]
        for x, value in zip(p["threshold"].values, p.values, strict=True):
            row[f"p_loss_below_{x:g}"] = float(value)
        rows.append(row)
    return pd.DataFrame(rows)


def forecast_figure(result: Fit | Stack, summary: xr.Dataset, *, group: str | None = None):
    """Loss-vs-compute figure of a forecast: runs, frontier band, scenario points.

    Parameters
    ----------
    result : Fit or Stack
        The fit (or averaged posterior) the forecast came from (its runs are drawn).
    summary : xarray.Dataset
        Output of :func:`forecast.scenarios.forecast` for ``result``.
    group : str, optional
        The group the forecast used (``None`` = new group: every run is drawn).

    Returns
    -------
    matplotlib.figure.Figure
        See :func:`forecast.plots.plot_forecast`.
    """
    from forecast.plots import plot_forecast

    frontier = _frontier(result, summary, group)
    runs, column = result.runs, group_column_of(result)
    if group is not None and column is not None:
        runs = runs[runs[column].astype(str) == group]
    return plot_forecast(frontier, summary, runs=runs)


def _frontier(result: Fit | Stack, summary: xr.Dataset, group: str | None) -> xr.Dataset:
    k = float(summary.attrs["flop_per_param_token"])
    runs_C = k * result.runs["N"] * result.runs["D"]
    top = np.nanmax(summary["C_ci"].sel(ci_prob=max(summary["ci_prob"].values)).values)
    top = max(float(top), float(runs_C.max())) * 3.0
    grid = np.geomspace(float(runs_C.min()) / 2.0, top, FRONTIER_POINTS)
    seed = int(summary.attrs["seed"])
    with warnings.catch_warnings():  # a plotting grid; the forecast itself warns
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return allocate(result, C=grid, group=group, flop_per_param_token=k, seed=seed)


def _markdown(frame: pd.DataFrame) -> str:
    """Format a frame as a markdown pipe table (no extra dependency)."""
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)


def _diagnostics_frame(table: xr.Dataset) -> pd.DataFrame:
    frame = table.to_dataframe()
    if len(frame) > 40:
        frame = frame[~frame.index.str.startswith(("log_", *OFFSET_PREFIXES))]
    return frame.map(lambda v: f"{v:.3f}" if abs(v) < 10 else f"{v:.0f}")


def _exhaustion_section(result: Fit | Stack, N: float, group: str | None, seed: int):
    """(dataset or None, markdown lines) for data exhaustion; a hook when unsupported."""
    try:
        from forecast.exhaustion import exhaustion
    except ImportError:
        return None, ["Data exhaustion: `forecast.exhaustion` is not available here."]
    try:
        ds = exhaustion(result, N=N, group=group, seed=seed)
    except ConfigError as exc:
        return None, [f"Data exhaustion was not computed: {exc}"]
    rows = {}
    for i, name in enumerate(ds["scenario"].values):
        cells = {"P(tokens needed > stock)": f"{float(ds['p_exhausted'][i]):.3f}"}
        for var, label, fmt in (
            ("D_needed", "tokens needed", ".3g"),
            ("epochs_needed", "epochs over the stock", ".3g"),
            ("loss_penalty", "loss penalty (nats/token)", ".2g"),
        ):
            lo, hi = ds[f"{var}_ci"].isel(scenario=i).values
            cells[label] = f"{float(ds[f'{var}_median'][i]):{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
        rows[str(name)] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "scenario"
    lo, hi = ds["stock_ci"].values
    lines = [
        f"Stock of usable human text (prior): median {float(ds['stock_median']):.3g} tokens, "
        f"{ds.attrs['ci_prob']:.0%} interval [{lo:.3g}, {hi:.3g}]. Intervals are "
        f"{ds.attrs['ci_kind'].upper()}s.",
        "",
        _markdown(frame),
    ]
    return ds, lines


def _extrapolation_lines(summary: xr.Dataset, exhausted: xr.Dataset | None):
    """(markdown lines, warning messages) of the forecast's and exhaustion's distance."""
    lines, messages = text_from_attrs(summary.attrs)
    out = [
        "Distance of each query beyond the runs, in decades (log10; + above the largest "
        "run, - below the smallest, 0 inside), from the posterior medians; compute "
        f"C = {float(summary.attrs['flop_per_param_token']):g}·N·D.",
        "",
        *(f"- {line}" for line in lines),
    ]
    if exhausted is not None:
        more_lines, more = text_from_attrs(exhausted.attrs)
        out += ["", "Data exhaustion at the same N:", "", *(f"- {line}" for line in more_lines[1:])]
        messages = messages or more  # the same check at the same N: keep one wording
    if messages:
        out += ["", *(f"> **ExtrapolationWarning:** {m}\n" for m in messages)]
    else:
        out += [
            "",
            "No extrapolation warning: the compute-optimal tokens/param stays within the "
            "runs' and the published fits' range, with an interval narrower than 1.5 decades.",
        ]
    return out, messages


def _check_free(paths: Sequence[Path], overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)} exists; pass overwrite=True (--force)")


def _save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


def report(
    runs: pd.DataFrame | str | Path,
    out_dir: str | Path,
    *,
    config: FitConfig = FitConfig(),
    recipe: str | Mapping[str, FitConfig] | None = None,
    weights: str | Mapping[str, float] = "lfo",
    N: float = 1e13,
    scenarios: Sequence[Scenario | Mapping] | None = None,
    group: str | None = None,
    ci_prob: float = CI_PROB,
    flop_per_param_token: float = FLOP_PER_PARAM_TOKEN,
    source: str = "",
    overwrite: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> Report:
    """Fit, forecast, draw and write a markdown report with its NetCDF files and figures.

    Parameters
    ----------
    runs : pandas.DataFrame or path
        Runs in the tidy schema (``N`` parameters, ``D`` tokens, ``loss`` nats/token).
    out_dir : str or Path
        Output directory (created); files are named as in :data:`REPORT_FILES`.
    config : FitConfig
        Law, priors, grouping, likelihood, sampler and seed of the fit (with ``recipe``:
        the base every component changes).
    recipe : str or mapping of str to FitConfig, optional
        Fit an averaged posterior instead (:func:`forecast.studies.stacking.fit_averaged`): a
        recipe of :data:`forecast.config.RECIPES` applied to ``config``, or the component
        configs. report.md then names the components, their weights and how the weights
        were obtained, gives each component's diagnostics, and the forecasts, exhaustion
        and figures are those of the mixture.
    weights : {"lfo", "loo", "equal"} or mapping of str to float
        How a recipe's components are weighed (see :func:`fit_averaged`).
    N : float
        Total parameters of the forecast model.
    scenarios : sequence of Scenario or mapping, optional
        Forecast scenarios; default compute-optimal, 20 and 100 tokens/param.
    group : str, optional
        Group to forecast; ``None`` = a new group from the population.
    ci_prob : float
        Headline interval probability of the tables and figures.
    flop_per_param_token : float
        FLOP per parameter per token, :math:`k` in :math:`C = k N D`.
    source : str
        Where the runs came from (dataset name, file, query), printed in the report.
    overwrite : bool
        Replace existing files.
    progress : callable, optional
        Called as ``progress(step_index, n_steps, description)`` before each step of
        :data:`REPORT_STEPS`.

    Returns
    -------
    Report
        The fit, the forecast summary and the written files.

    Warns
    -----
    ExtrapolationWarning
        Once, when the forecast or the exhaustion result leaves the evidence (see
        :mod:`forecast.extrapolation`); report.md has the same text in its section
        "Extrapolation beyond the runs".

    Raises
    ------
    FileExistsError
        An output exists and ``overwrite`` is false (checked before any work).
    DataError
        Invalid runs.
    ConfigError
        Invalid config or scenarios.
    """
    out = Path(out_dir)
    paths = {key: out / name for key, name in REPORT_FILES.items()}
    _check_free(list(paths.values()), overwrite)

    def step(name: str) -> None:
        if progress is not None:
            progress(REPORT_STEPS.index(name), len(REPORT_STEPS), name)

    step("fitting")
    if recipe is None:
        result = fit(runs, config=config)
    else:
        base = config if isinstance(recipe, str) else None
        result = fit_averaged(runs, recipe, base=base, weights=weights, seed=config.seed)
    step("forecasting")
    with warnings.catch_warnings():  # one warning for the whole report, issued below
        warnings.simplefilter("ignore", ExtrapolationWarning)
        summary = forecast(
            result,
            N=N,
            scenarios=scenarios,
            group=group,
            ci_prob=ci_prob,
            flop_per_param_token=flop_per_param_token,
            seed=config.seed,
        )
        step("data exhaustion")
        exhausted, exhaustion_lines = _exhaustion_section(result, N, group, config.seed)
    reach = _extrapolation_lines(summary, exhausted)
    step("drawing figures")
    from forecast.plots import plot_allocation, plot_exponents, plot_fit

    published = load_dataset("published_fits")
    frontier = _frontier(result, summary, group)
    figures = {
        "fit_figure": plot_fit(result, ci_prob=ci_prob),
        "forecast_figure": forecast_figure(result, summary, group=group),
        "exponents_figure": plot_exponents(result, published, ci_prob=ci_prob),
        "allocation_figure": plot_allocation(frontier, published=published, ci_prob=ci_prob),
    }
    if exhausted is not None:
        from forecast.plots import plot_exhaustion

        figures["exhaustion_figure"] = plot_exhaustion(exhausted)
    step("writing")
    written = {key: _save_figure(fig, paths[key]) for key, fig in figures.items()}
    written["posterior"] = save(result, paths["posterior"], overwrite=True)
    written["forecast"] = write_atomic(
        paths["forecast"], lambda tmp: _idata.dataset_to_netcdf(summary, tmp)
    )
    if exhausted is not None:
        written["exhaustion"] = write_atomic(
            paths["exhaustion"], lambda tmp: _idata.dataset_to_netcdf(exhausted, tmp)
        )
    text = _report_text(
        result, summary, exhaustion_lines, written, source=source, frontier=frontier, reach=reach
    )
    written["report"] = write_atomic(paths["report"], lambda tmp: Path(tmp).write_text(text))
    if reach[1]:
        warnings.warn("\n".join(reach[1]), ExtrapolationWarning, stacklevel=2)
    return Report(fit=result, forecast=summary, files=written)


def _fit_text(result: Fit, posterior: str) -> str:
    """One sentence: law, sampler, priors, groups, likelihood, draws, seed, config hash."""
    config = result.config
    return (
        f"law `{config.law}` (sampler {_idata.attrs(result.idata).get('sampler_used')}), "
        f"priors `{config.priors if isinstance(config.priors, str) else 'custom'}`, "
        f"groups `{config.groups}` (partially pooled: "
        f"{', '.join(config.pooled_params) if len(result.groups) > 1 else '-'}), "
        f"likelihood `{config.likelihood}`, discrepancy `{config.discrepancy or '-'}`, "
        f"{result.posterior.sizes['chain']} chains × {result.posterior.sizes['draw']} draws, "
        f"seed {config.seed}, "
        f"config hash `{config.config_hash}`. Posterior: [`{posterior}`]({posterior})."
    )


def _diagnostics_lines(diag: xr.Dataset) -> list[str]:
    problems = failures(diag)
    verdict = "PASSED" if not problems else "FAILED: " + "; ".join(problems)
    return [
        f"Divergences: {diag.attrs['divergences']}; min E-BFMI: {diag.attrs['ebfmi_min']:.2f}; "
        f"**{verdict}**.",
        "",
        _markdown(_diagnostics_frame(diag)),
        "",
    ]


_METHODS = {
    "lfo": "leave-future-out stacking on the runs (fit on the lower two thirds along {column}, "
    "scored on the rest)",
    "loo": "PSIS-LOO stacking",
    "equal": "equal weights",
    "given": "weights given by the user",
}


def _fit_lines(result: Fit | Stack, posterior: str) -> list[str]:
    """Return the fit paragraph and the diagnostics section, of a fit or a stack."""
    if not isinstance(result, Stack):
        return [
            "Fit: " + _fit_text(result, posterior),
            "",
            "## Sampler diagnostics",
            "",
            *_diagnostics_lines(result.diagnostics),
        ]
    how = _METHODS[result.method].format(column=result.scores.attrs.get("column", "C"))
    rows = {}
    for (name, part), w in zip(result.components.items(), result.weights.values, strict=True):
        cells = {"weight": f"{w:.3f}"}
        for var in ("elpd_lfo", "elpd_loo"):
            if var in result.scores:
                cells[var] = f"{float(result.scores[var].sel(component=name)):.2f}"
        cells["likelihood"], cells["discrepancy"] = (
            part.config.likelihood,
            str(part.config.discrepancy or "-"),
        )
        cells["diagnostics"] = "PASSED" if part.converged else "FAILED"
        rows[name] = cells
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("component")
    lines = [
        f"Fit: an **averaged posterior** (stack) of {len(rows)} component fits of the same runs, "
        f"weighed by {how} (method `{result.method}`). Every forecast, probability, "
        "exhaustion result and figure below is that of the mixture: each posterior draw is "
        f"taken from one component, in proportion to its weight (seed {result.seed}). "
        f"All components are in one file: [`{posterior}`]({posterior}).",
        "",
        _markdown(table),
        "",
        "## Sampler diagnostics",
        "",
    ]
    for name, part in result.components.items():
        lines += [f"### Component `{name}`", "", _fit_text(part, posterior), ""]
        lines += _diagnostics_lines(part.diagnostics)
    return lines


def _report_text(result, summary, exhaustion_lines, files, *, source, frontier, reach) -> str:
    runs = result.runs
    prob = float(summary.attrs["ci_prob"])
    k = float(summary.attrs["flop_per_param_token"])
    slope = np.polyfit(
        np.log(frontier["C"].median(("chain", "draw")).values),
        np.log(frontier["N"].median(("chain", "draw")).values),
        1,
    )[0]

    def link(key: str, caption: str) -> list[str]:
        return [f"![{caption}]({files[key].name})", ""] if key in files else []

    groups = ", ".join(result.groups)
    law = summary.attrs["law"]
    kind = "averaged posterior" if isinstance(result, Stack) else "fit"
    if isinstance(result, Stack):
        configs = {n: f.config.to_dict() for n, f in result.components.items()}
        weights = {n: float(w) for n, w in zip(result.names, result.weights.values, strict=True)}
        provenance = {"components": configs, "weights": weights, "method": result.method}
    else:
        provenance = {"config": result.config.to_dict()}
    lines = [
        f"# Scaling-law forecast ({kind}): {law} law, N = {summary.attrs['N']:.3g} parameters",
        "",
        f"Data: {source or 'runs table'} — {len(runs)} runs, groups: {groups}; "
        f"N {runs['N'].min():.3g}–{runs['N'].max():.3g} parameters, "
        f"D {runs['D'].min():.3g}–{runs['D'].max():.3g} tokens, "
        f"loss {runs['loss'].min():.3f}–{runs['loss'].max():.3f} nats/token.",
        "",
        *_fit_lines(result, files["posterior"].name),
        *link("fit_figure", "data and fitted law"),
        "## Forecast",
        "",
        f"Forecast for {summary.attrs['group']} (`group=None` draws a new group from the "
        f"population). Cells: posterior median [{prob:.0%} equal-tailed interval]. "
        "`loss, mean curve` is the law itself; `one new run` adds the fitted run-to-run noise. C = "
        f"{k:g}·N·D FLOP. Returns are the loss drop per 10× compute along the "
        "compute-optimal frontier at the scenario's compute, and per 10× tokens at fixed N "
        f"(diminishing returns). Full summaries (median, 50/80/90/95% ETI and HDI): "
        f"[`{files['forecast'].name}`]({files['forecast'].name}).",
        "",
        _markdown(forecast_table(summary)),
        "",
        "Probability that the mean-curve loss is below a threshold (nats/token):",
        "",
        _markdown(probability_table(summary).map(lambda v: f"{v:.3f}")),
        "",
        *link("forecast_figure", "loss against compute with the forecast"),
        "## Extrapolation beyond the runs",
        "",
        *reach[0],
        "",
        "## Compute-optimal allocation",
        "",
        f"Along the posterior-median frontier, N* grows as C^{slope:.3f} over the plotted "
        "range (Hoffmann et al. 2022 report 0.46–0.50; Besiroglu et al. 2024 0.51).",
        "",
        *link("allocation_figure", "compute-optimal allocation"),
        "## Posterior against published fits",
        "",
        *link("exponents_figure", "exponents and floor against published fits"),
        "## Data exhaustion",
        "",
        *exhaustion_lines,
        "",
        *link("exhaustion_figure", "tokens needed against the stock of human text"),
        "## Reproducibility",
        "",
        "```json",
        json.dumps({**provenance, "versions": package_versions()}, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)
