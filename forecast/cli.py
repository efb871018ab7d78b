"""Command-line interface: parse arguments, call one public function, print or save.

No logic lives here. Errors a user can fix (bad data, bad config, an existing output,
an incompatible file) end the command with a one-line message and a non-zero exit code,
not a traceback. Outputs are never overwritten without ``--force``.

This module is the entry point (``scaling-forecast``) and holds the commands that fit a
posterior and read one: fit, inspect, datasets, exhaustion, forecast and report. The app,
the consoles and the shared helpers live in :mod:`forecast._cli_common`; the planning and
study commands (sensitivity, simulate, suggest, backtest) in :mod:`forecast.cli_studies`,
imported here so that they register.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from forecast._cli_common import (  # noqa: F401  (helpers stay importable from forecast.cli)
    CHAINS,
    DATA,
    DATASET,
    DRAWS,
    EXIT_CONVERGENCE,
    EXIT_INPUT,
    GROUPS,
    LAW,
    LIKELIHOOD,
    POOLED,
    PRIORS,
    SAMPLER,
    SEED,
    TUNE,
    _check_outputs,
    _diagnostics_table,
    _fail,
    _fit_config,
    _floats,
    _guard,
    _named_values,
    _print_extrapolation,
    _quiet_extrapolation,
    _runs_source,
    app,
    console,
    err_console,
)
from forecast.catalog import list_datasets, load_dataset
from forecast.diagnostics import failures
from forecast.errors import ConvergenceError, ConvergenceWarning
from forecast.fit import fit as run_fit
from forecast.io import load, save, write_atomic


@app.command("fit")
def fit_command(
    data: Path = DATA,
    dataset: str = DATASET,
    query: str = typer.Option(
        None, help="pandas query selecting runs, e.g. \"eval_set == 'c4_val'\"."
    ),
    law: str = LAW,
    priors: str = PRIORS,
    groups: str = GROUPS,
    pooled: str = POOLED,
    likelihood: str = LIKELIHOOD,
    sampler: str = SAMPLER,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int = SEED,
    out: Path = typer.Option(Path("fit.nc"), help="NetCDF posterior to write."),
    figure: Path = typer.Option(None, help="Figure to write (default: OUT with .png)."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    strict: bool = typer.Option(
        False, help="When diagnostics fail, write nothing and exit 3 (default: warn)."
    ),
) -> None:
    """Fit a hierarchical scaling law; write the posterior (NetCDF) and a figure."""
    figure = figure or out.with_suffix(".png")
    _check_outputs([out, figure], force)

    def work():
        runs = _runs_source(data, dataset, query)
        config = _fit_config(
            law=law,
            priors=priors,
            groups=groups,
            pooled=pooled,
            likelihood=likelihood,
            seed=seed,
            sampler=sampler,
            draws=draws,
            tune=tune,
            chains=chains,
        )
        console.print(
            f"fitting {len(runs)} runs, law={law}, priors={priors}, groups={groups or '-'}"
        )
        with warnings.catch_warnings():
            # reported below, with the diagnostics table, as one line
            warnings.simplefilter("ignore", ConvergenceWarning)
            return run_fit(runs, config=config, strict=False)

    result = _guard(work)
    console.print(_diagnostics_table(result.diagnostics))
    if not result.converged:
        problem = ConvergenceError(
            "sampler diagnostics failed: " + "; ".join(failures(result.diagnostics))
        )
        if strict:  # a posterior that failed its diagnostics is not written
            _fail(problem, EXIT_CONVERGENCE)
        err_console.print(f"[bold yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)
    _check_outputs([out, figure], force)  # again: they may have appeared while sampling
    _guard(lambda: save(result, out, overwrite=force))
    import matplotlib.pyplot as plt

    from forecast.plots import plot_fit

    fig = plot_fit(result)
    write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    console.print(f"wrote {out} and {figure}")


@app.command("inspect")
def inspect_command(posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`.")):
    """Show the config, versions and diagnostics stored in a saved fit."""
    result = _guard(lambda: load(posterior))
    console.print_json(json.dumps(result.config.to_dict()))
    console.print(f"runs: {len(result.runs)}  groups: {', '.join(result.groups)}")
    console.print(_diagnostics_table(result.diagnostics))


@app.command("datasets")
def datasets_command() -> None:
    """List the bundled datasets with rows, groups, N and D ranges and license."""
    frame = _guard(list_datasets)
    table = Table(title="bundled datasets")
    for column in frame.columns:
        table.add_column(str(column))
    for _, row in frame.iterrows():
        table.add_row(
            *["-" if pd.isna(v) else f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
        )
    console.print(table)


def _exhaustion_cell(result, name: str, fmt: str, index=None) -> str:
    """Format ``<name>_median [lower, upper]`` of an exhaustion result for a table cell."""
    median, ci = result[f"{name}_median"], result[f"{name}_ci"]
    if index is not None:
        median, ci = median.isel(scenario=index), ci.isel(scenario=index)
    lo, hi = ci.values
    return f"{float(median):{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


@app.command("exhaustion")
def exhaustion_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    params: float = typer.Option(1e13, "--params", help="Model size N (parameters)."),
    stock_median: float = typer.Option(3e14, help="Median stock of usable text (tokens)."),
    stock_low: float = typer.Option(1e14, help="Lower end of the stock's 90% interval (tokens)."),
    stock_high: float = typer.Option(1e15, help="Upper end of the stock's 90% interval (tokens)."),
    tokens_per_param: list[float] = typer.Option(
        [20.0, 100.0], "--tokens-per-param", help="Fixed-ratio scenarios (repeatable)."
    ),
    trend: bool = typer.Option(
        True, "--trend/--no-trend", help="Fit the dataset-size trend (epoch_notable) for years."
    ),
    group: str = typer.Option(None, help="Group of the fit (default: a new group)."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("exhaustion.nc"), help="NetCDF result to write."),
    figure: Path = typer.Option(None, help="Figure to write (default: OUT with .png)."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Compare the tokens a model of N parameters needs with the stock of human text."""
    from forecast import _idata
    from forecast.exhaustion import StockPrior, exhaustion
    from forecast.trend import fit_dataset_trend

    figure = figure or out.with_suffix(".png")
    _check_outputs([out, figure], force)

    def work():
        result = load(posterior)
        stock = StockPrior(median=stock_median, lower=stock_low, upper=stock_high, ci_prob=0.9)
        scenarios = {"compute_optimal": "compute_optimal"}
        scenarios.update({f"{r:g}_tokens_per_param": float(r) for r in tokens_per_param})
        fitted = None
        if trend:
            console.print("fitting the frontier dataset-size trend (epoch_notable) ...")
            fitted = fit_dataset_trend(load_dataset("epoch_notable"), seed=seed)
        return exhaustion(
            result, N=params, stock=stock, scenarios=scenarios, trend=fitted, group=group, seed=seed
        )

    ds = _guard(lambda: _quiet_extrapolation(work))
    table = Table(title=f"data exhaustion, N = {params:.3g} parameters")
    columns = ["scenario", "tokens needed", "P(exhausted)", "epochs over stock", "loss penalty"]
    years = "year_needed" in ds
    for column in columns + (["year needed"] if years else []):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for i, name in enumerate(ds["scenario"].values):
        row = [
            str(name),
            _exhaustion_cell(ds, "D_needed", ".3g", i),
            f"{float(ds['p_exhausted'][i]):.3f}",
            _exhaustion_cell(ds, "epochs_needed", ".3g", i),
            _exhaustion_cell(ds, "loss_penalty", ".2g", i),
        ]
        table.add_row(*row + ([_exhaustion_cell(ds, "year_needed", ".1f", i)] if years else []))
    caption = (
        f"median [{ds.attrs['ci_prob']:.0%} interval]; "
        f"stock {_exhaustion_cell(ds, 'stock', '.3g')} tokens"
    )
    if "exhaustion_year" in ds:
        caption += (
            f"; frontier reaches the stock in {_exhaustion_cell(ds, 'exhaustion_year', '.1f')}"
            f"; growth {_exhaustion_cell(ds, 'growth_per_year', '.2f')}x/yr"
        )
    table.caption = caption
    console.print(table)
    _print_extrapolation(ds.attrs)
    write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(ds, tmp))
    from forecast.plots import plot_exhaustion

    fig = plot_exhaustion(ds)
    write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    console.print(f"wrote {out} and {figure}")


@app.command("forecast")
def forecast_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    params: float = typer.Option(1e13, "--params", help="Model size N (parameters)."),
    tokens_per_param: list[float] = typer.Option(
        None, "--tokens-per-param", help="Tokens-per-parameter scenarios (repeatable)."
    ),
    tokens: list[float] = typer.Option(None, "--tokens", help="D (tokens) scenarios at N."),
    compute: list[float] = typer.Option(None, "--compute", help="C (FLOP) scenarios at N."),
    budget: list[float] = typer.Option(
        None, "--budget", help="C (FLOP) allocated compute-optimally, N free (repeatable)."
    ),
    group: str = typer.Option(None, help="Group of the fit (default: a new group)."),
    ci_prob: float = typer.Option(0.9, min=0.01, max=0.99, help="Interval probability."),
    threshold: list[float] = typer.Option(
        None, "--threshold", help="Loss x (nats/token) for P(loss < x) (repeatable)."
    ),
    flop_per_param_token: float = typer.Option(6.0, help="k in C = k N D."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(None, help="NetCDF summary to write."),
    figure: Path = typer.Option(None, help="Loss-vs-compute figure (PNG) to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Forecast loss, tokens and compute at N for compute-optimal and fixed-ratio scenarios.

    Without scenario options: compute-optimal, 20 and 100 tokens/param.
    """
    from forecast import _idata
    from forecast.report import rich_tables
    from forecast.scenarios import Scenario, forecast

    _check_outputs([p for p in (out, figure) if p is not None], force)
    given = tokens_per_param or tokens or compute or budget
    ratios = tokens_per_param or ([] if given else [20.0, 100.0])
    scenarios = [Scenario("compute_optimal")]
    scenarios += [Scenario("tokens_per_param", r) for r in ratios]
    scenarios += [Scenario("D", d) for d in tokens or []]
    scenarios += [Scenario("C", c) for c in compute or []]
    scenarios += [Scenario("budget", c) for c in budget or []]

    def work():
        result = load(posterior)
        summary = forecast(
            result,
            N=params,
            scenarios=scenarios,
            group=group,
            ci_prob=ci_prob,
            thresholds=threshold or None,
            flop_per_param_token=flop_per_param_token,
            seed=seed,
        )
        return result, summary

    result, summary = _guard(lambda: _quiet_extrapolation(work))
    for table in rich_tables(summary):
        console.print(table)
    _print_extrapolation(summary.attrs)
    if out is not None:
        write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(summary, tmp))
        console.print(f"wrote {out}")
    if figure is not None:
        from forecast.report import forecast_figure

        fig = _quiet_extrapolation(lambda: forecast_figure(result, summary, group=group))
        write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        console.print(f"wrote {figure}")


@app.command("report")
def report_command(
    data: Path = DATA,
    dataset: str = DATASET,
    query: str = typer.Option(None, help="pandas query selecting runs."),
    groups: str = GROUPS,
    pooled: str = POOLED,
    law: str = LAW,
    priors: str = PRIORS,
    likelihood: str = LIKELIHOOD,
    sampler: str = SAMPLER,
    draws: int = DRAWS,
    tune: int = TUNE,
    chains: int = CHAINS,
    seed: int = SEED,
    params: float = typer.Option(1e13, "--params", help="Model size N (parameters)."),
    tokens_per_param: list[float] = typer.Option(
        [20.0, 100.0], "--tokens-per-param", help="Tokens-per-parameter scenarios."
    ),
    group: str = typer.Option(None, help="Group to forecast (default: a new group)."),
    ci_prob: float = typer.Option(0.9, min=0.01, max=0.99, help="Interval probability."),
    out: Path = typer.Option(Path("report"), "--out", help="Output directory."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Fit, forecast, draw figures and write report.md, the posterior and the forecast."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from forecast.report import report, rich_tables
    from forecast.scenarios import Scenario

    scenarios = [Scenario("compute_optimal")]
    scenarios += [Scenario("tokens_per_param", r) for r in tokens_per_param]
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("reading runs", total=1)

        def step(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        def work():
            runs = _runs_source(data, dataset, query)
            config = _fit_config(
                law=law,
                priors=priors,
                groups=groups,
                pooled=pooled,
                likelihood=likelihood,
                seed=seed,
                sampler=sampler,
                draws=draws,
                tune=tune,
                chains=chains,
                progress=False,
            )
            where = f"dataset {dataset}" if dataset else str(data)
            return report(
                runs,
                out,
                config=config,
                N=params,
                scenarios=scenarios,
                group=group,
                ci_prob=ci_prob,
                source=where + (f", query `{query}`" if query else ""),
                overwrite=force,
                progress=step,
            )

        made = _guard(lambda: _quiet_extrapolation(work))
        bar.update(task, completed=1, total=1, description="done")
    console.print(_diagnostics_table(made.fit.diagnostics))
    for table in rich_tables(made.forecast):
        console.print(table)
    _print_extrapolation(made.forecast.attrs)
    console.print(f"wrote {made.files['report']} and {len(made.files) - 1} files in {out}")


# Registers sensitivity, simulate, suggest and backtest; imported last so that
# `scaling-forecast --help` lists them after the commands above.
from forecast import cli_studies  # noqa: E402, F401


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
