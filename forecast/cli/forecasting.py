"""CLI commands that read a posterior: exhaustion, forecast and report.

Registered on the app of :mod:`forecast.cli._common`, by the rules of :mod:`forecast.cli`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from forecast.cli._common import (
    CI_PROB,
    DATA,
    DATASET,
    FLOP,
    FORMAT,
    GROUPS,
    LAW,
    LOSS,
    PARAMETERS,
    POOLED,
    PRIORS,
    RATIO,
    SEED,
    TOKENS,
    _check_group,
    _check_outputs,
    _guard,
    _messages,
    _number,
    _print_extrapolation,
    _print_table,
    _quiet_extrapolation,
    _runs_source,
    app,
)
from forecast.cli._fit_options import (
    _check_recipe,
    _command_fit_config,
    _describe,
    _print_result,
    fit_options,
)
from forecast.data.catalog import load_dataset
from forecast.fit import group_labels
from forecast.io import load, write_atomic


def _exhaustion_cell(result, name: str, fmt: str, index=None) -> str:
    """Format ``<name>_median [lower, upper]`` of an exhaustion result for a table cell."""
    median, ci = result[f"{name}_median"], result[f"{name}_ci"]
    if index is not None:
        median, ci = median.isel(scenario=index), ci.isel(scenario=index)
    lo, hi = ci.values
    return f"{float(median):{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


#: Columns of the exhaustion table: result variable, header, number format.
_EXHAUSTION_COLUMNS = [
    ("D_needed", "tokens needed", ".3g"),
    ("epochs_needed", "epochs over\nstock", ".3g"),
    ("loss_penalty", "loss penalty\n(nats/token)", ".2g"),
    ("year_needed", "year needed", ".1f"),
]


def _print_exhaustion(ds, fmt: str) -> None:
    """Print an exhaustion result, one row per scenario: median [interval] of each quantity."""
    columns = [c for c in _EXHAUSTION_COLUMNS if f"{c[0]}_median" in ds]
    data = pd.DataFrame({"scenario": [str(s) for s in ds["scenario"].values]})
    cells = data.copy()
    data["p_exhausted"] = ds["p_exhausted"].values
    cells["P(exhausted)"] = [f"{v:.3f}" for v in ds["p_exhausted"].values]
    for name, header, number in columns:
        data[f"{name}_median"] = ds[f"{name}_median"].values
        for bound in ("lower", "upper"):
            data[f"{name}_{bound}"] = ds[f"{name}_ci"].sel(ci_bound=bound).values
        cells[header] = [
            _exhaustion_cell(ds, name, number, i).replace(" [", "\n[") for i in range(len(data))
        ]
    caption = (
        f"median [{ds.attrs['ci_prob']:.0%} interval]; "
        f"stock {_exhaustion_cell(ds, 'stock', '.3g')} tokens"
    )
    if "exhaustion_year" in ds:
        caption += (
            "; largest models' training sets reach the stock in "
            f"{_exhaustion_cell(ds, 'exhaustion_year', '.1f')}"
            f"; growth {_exhaustion_cell(ds, 'growth_per_year', '.2f')}x/yr"
        )
    _print_table(
        data,
        fmt,
        cells=cells,
        title=f"data exhaustion, N = {float(ds.attrs['N']):.3g} parameters",
        caption=caption,
        keys=["scenario"],
        right=[c for c in cells.columns if c != "scenario"],
        wrap=[header for _, header, _ in columns],
    )


@app.command("exhaustion")
def exhaustion_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    params: float = typer.Option(
        1e13, "--params", parser=PARAMETERS, help="Model size N (parameters)."
    ),
    stock_median: float = typer.Option(
        3e14, parser=TOKENS, help="Median stock of usable text (tokens)."
    ),
    stock_low: float = typer.Option(
        1e14, parser=TOKENS, help="Lower end of the stock's 90% interval (tokens)."
    ),
    stock_high: float = typer.Option(
        1e15, parser=TOKENS, help="Upper end of the stock's 90% interval (tokens)."
    ),
    tokens_per_param: list[float] = typer.Option(
        [20.0, 100.0],
        "--tokens-per-param",
        parser=RATIO,
        help="Fixed-ratio scenarios (repeatable).",
    ),
    trend: bool = typer.Option(
        True, "--trend/--no-trend", help="Fit the dataset-size trend (epoch_notable) for years."
    ),
    group: str = typer.Option(None, help="Group of the fit (default: a new group)."),
    seed: int = SEED,
    out: Path = typer.Option(Path("exhaustion.nc"), help="NetCDF result to write."),
    figure: Path = typer.Option(None, help="Figure to write (default: OUT with .png)."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    fmt: str = FORMAT,
) -> None:
    """Compare the tokens a model of N parameters needs with the stock of human text."""
    from forecast import _idata
    from forecast.dataset_trend import fit_dataset_trend
    from forecast.exhaustion import StockPrior, exhaustion

    say = _messages(fmt)
    figure = figure or out.with_suffix(".png")
    _check_outputs([out, figure], force)

    def work():
        result = load(posterior)
        say.print(f"read {_describe(result)} from {posterior}", highlight=False)
        _check_group(group, result.groups)
        stock = StockPrior(median=stock_median, lower=stock_low, upper=stock_high, ci_prob=0.9)
        scenarios = {"compute_optimal": "compute_optimal"}
        scenarios.update({f"{r:g}_tokens_per_param": float(r) for r in tokens_per_param})
        fitted = None
        if trend:
            say.print("fitting the frontier dataset-size trend (epoch_notable) ...")
            fitted = fit_dataset_trend(load_dataset("epoch_notable"), seed=seed)
        return exhaustion(
            result, N=params, stock=stock, scenarios=scenarios, trend=fitted, group=group, seed=seed
        )

    ds = _guard(lambda: _quiet_extrapolation(work))
    _print_exhaustion(ds, fmt)
    _print_extrapolation(ds.attrs, fmt)
    write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(ds, tmp))
    from forecast.plots import plot_exhaustion

    fig = plot_exhaustion(ds)
    write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    say.print(f"wrote {out} and {figure}")


def _print_forecast(summary, fmt: str) -> None:
    """Print a forecast: quantities x scenarios and P(loss < x), or its numbers as data."""
    from forecast.report import forecast_frame, forecast_table, probability_table

    title = (
        f"forecast at N = {summary.attrs['N']:.3g} parameters ({summary.attrs['law']}, "
        f"{summary.attrs['group']})"
    )
    if fmt != "table":
        _print_table(forecast_frame(summary), fmt, title=title)
        return
    main = forecast_table(summary).T.rename_axis("quantity").reset_index()
    main = main.map(lambda v: str(v).replace(" [", "\n["))
    scenarios = list(main.columns[1:])
    _print_table(
        main,
        fmt,
        title=title,
        caption=(
            f"posterior median [{summary.attrs['ci_prob']:.0%} equal-tailed interval]; loss = mean "
            f"curve; C = {summary.attrs['flop_per_param_token']:g}ND; dL = loss drop per 10x"
        ),
        keys=["quantity"],
        right=scenarios,
        wrap=["quantity", *scenarios],
    )
    probs = probability_table(summary).map("{:.3f}".format).reset_index()
    _print_table(
        probs,
        fmt,
        title="P(mean-curve loss < x), x in nats/token",
        keys=["scenario"],
        right=list(probs.columns[1:]),
    )


@app.command("forecast")
def forecast_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    params: float = typer.Option(
        1e13, "--params", parser=PARAMETERS, help="Model size N (parameters)."
    ),
    tokens_per_param: list[float] = typer.Option(
        None,
        "--tokens-per-param",
        parser=RATIO,
        help="Tokens-per-parameter scenarios (repeatable).",
    ),
    tokens: list[float] = typer.Option(
        None, "--tokens", parser=TOKENS, help="D (tokens) scenarios at N."
    ),
    compute: list[float] = typer.Option(
        None, "--compute", parser=FLOP, help="C (FLOP) scenarios at N."
    ),
    budget: list[float] = typer.Option(
        None,
        "--budget",
        parser=FLOP,
        help="C (FLOP) allocated compute-optimally, N free (repeatable).",
    ),
    group: str = typer.Option(None, help="Group of the fit (default: a new group)."),
    ci_prob: float = typer.Option(0.9, parser=CI_PROB, help="Interval probability, 0.01 to 0.99."),
    threshold: list[float] = typer.Option(
        None,
        "--threshold",
        parser=LOSS,
        help="Loss x (nats/token) for P(loss < x) (repeatable).",
    ),
    flop_per_param_token: float = typer.Option(
        6.0, parser=_number("FLOP per parameter and token"), help="k in C = k N D."
    ),
    seed: int = SEED,
    out: Path = typer.Option(None, help="NetCDF summary to write."),
    figure: Path = typer.Option(None, help="Loss-vs-compute figure (PNG) to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    fmt: str = FORMAT,
) -> None:
    """Forecast loss, tokens and compute at N for compute-optimal and fixed-ratio scenarios.

    Without scenario options: compute-optimal, 20 and 100 tokens/param.
    """
    from forecast import _idata
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
        _check_group(group, result.groups)
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
    say = _messages(fmt)
    say.print(f"read {_describe(result)} from {posterior}", highlight=False)
    _print_forecast(summary, fmt)
    _print_extrapolation(summary.attrs, fmt)
    if out is not None:
        write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(summary, tmp))
        say.print(f"wrote {out}")
    if figure is not None:
        from forecast.report import forecast_figure

        fig = _quiet_extrapolation(lambda: forecast_figure(result, summary, group=group))
        write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        say.print(f"wrote {figure}")


@app.command("report")
@fit_options(after="priors")
def report_command(
    ctx: typer.Context,
    data: Path = DATA,
    dataset: str = DATASET,
    query: str = typer.Option(None, help="pandas query selecting runs."),
    groups: str = GROUPS,
    pooled: str = POOLED,
    law: str = LAW,
    priors: str = PRIORS,
    params: float = typer.Option(
        1e13, "--params", parser=PARAMETERS, help="Model size N (parameters)."
    ),
    tokens_per_param: list[float] = typer.Option(
        [20.0, 100.0], "--tokens-per-param", parser=RATIO, help="Tokens-per-parameter scenarios."
    ),
    group: str = typer.Option(None, help="Group to forecast (default: a new group)."),
    ci_prob: float = typer.Option(0.9, parser=CI_PROB, help="Interval probability, 0.01 to 0.99."),
    out: Path = typer.Option(Path("report"), "--out", help="Output directory."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    fmt: str = FORMAT,
    **fit,
) -> None:
    """Fit, forecast, draw figures and write report.md, the posterior and the forecast.

    Prints the diagnostics and the forecast (``--format csv|json``: the forecast as data;
    the diagnostics are in report.md). ``--recipe`` reports an averaged posterior.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    options = dict(locals())
    recipe, weights = fit["recipe"], fit["weights"]
    from forecast.report import report
    from forecast.scenarios import Scenario

    say = _messages(fmt)
    _guard(lambda: _check_recipe(ctx, recipe))
    scenarios = [Scenario("compute_optimal")]
    scenarios += [Scenario("tokens_per_param", r) for r in tokens_per_param]
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
    with Progress(*columns, TimeElapsedColumn(), console=say) as bar:
        task = bar.add_task("reading runs", total=1)

        def step(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, total=total, description=name)

        def work():
            runs = _runs_source(data, dataset, query)
            config = _command_fit_config(options, progress=False)
            _check_group(group, group_labels(runs, config))  # before fitting, not after
            where = f"dataset {dataset}" if dataset else str(data)
            return report(
                runs,
                out,
                config=config,
                recipe=recipe,
                weights=weights,
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
    if fmt == "table":
        say.print(f"made {_describe(made.fit)}", highlight=False)
        _print_result(made.fit, fmt)
    _print_forecast(made.forecast, fmt)
    _print_extrapolation(made.forecast.attrs, fmt)
    say.print(f"wrote {made.files['report']} and {len(made.files) - 1} files in {out}")


# Registers sensitivity, simulate, suggest and backtest; imported last so that
# `scaling-forecast --help` lists them after the commands above.
