"""Command-line interface: parse arguments, call one public function, print or save.

No logic lives here. Errors a user can fix (bad data, bad config, an existing output,
an incompatible file) end the command with a one-line message and a non-zero exit code,
not a traceback. Outputs are never overwritten without ``--force``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forecast.catalog import list_datasets, load_dataset
from forecast.config import FitConfig, SamplerConfig
from forecast.diagnostics import failures
from forecast.errors import (
    ConfigError,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    IncompatibleFileError,
)
from forecast.fit import fit as run_fit
from forecast.io import load, save, write_atomic

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bayesian forecasting of neural scaling laws.",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Exit codes: 2 = bad input or config, 3 = sampler diagnostics failed under --strict.
EXIT_INPUT, EXIT_CONVERGENCE = 2, 3
_USER_ERRORS = (DataError, ConfigError, IncompatibleFileError, FileExistsError, FileNotFoundError)


def _fail(exc: BaseException, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _guard(call):
    try:
        return call()
    except _USER_ERRORS as exc:
        _fail(exc, EXIT_INPUT)
    except ConvergenceError as exc:
        _fail(exc, EXIT_CONVERGENCE)


def _check_outputs(paths: list[Path], force: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        _fail(FileExistsError(f"{', '.join(existing)} exists; pass --force to replace"), EXIT_INPUT)


def _diagnostics_table(table) -> Table:
    out = Table(title="sampler diagnostics", show_lines=False)
    for column in ("parameter", "r_hat", "ess_bulk", "ess_tail"):
        out.add_column(column, justify="left" if column == "parameter" else "right")
    frame = table.to_dataframe()
    frame = frame[~frame.index.str.startswith("log_")] if len(frame) > 40 else frame
    for name, row in frame.iterrows():
        values = (f"{row.r_hat:.3f}", f"{row.ess_bulk:.0f}", f"{row.ess_tail:.0f}")
        out.add_row(escape(str(name)), *values)
    out.caption = (
        f"divergences: {table.attrs['divergences']}  |  min E-BFMI: {table.attrs['ebfmi_min']:.2f}"
        f"  |  {'PASSED' if table.attrs['passed'] else 'FAILED: ' + '; '.join(failures(table))}"
    )
    return out


def _runs_source(data: Path | None, dataset: str | None, query: str | None):
    if (data is None) == (dataset is None):
        raise ConfigError("give exactly one of DATA (a CSV path) or --dataset NAME")
    if data is not None:
        from forecast.data import load_runs

        runs = load_runs(data)
    else:
        runs = load_dataset(dataset)
    if query:
        try:
            runs = runs.query(query).reset_index(drop=True)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ConfigError(f"--query {query!r} is not a valid pandas query: {exc}") from exc
        if runs.empty:
            raise ConfigError(f"--query {query!r} selects no runs")
    return runs


@app.command("fit")
def fit_command(
    data: Path = typer.Argument(None, help="CSV of runs (columns N, D, loss, ...)."),
    dataset: str = typer.Option(None, "--dataset", help="A bundled dataset (see `datasets`)."),
    query: str = typer.Option(
        None, help="pandas query selecting runs, e.g. \"eval_set == 'c4_val'\"."
    ),
    law: str = typer.Option("chinchilla", help="Law form."),
    priors: str = typer.Option("weak", help="Prior preset."),
    groups: str = typer.Option(None, help="Column whose values are the groups."),
    likelihood: str = typer.Option("normal", help="normal | student_t"),
    sampler: str = typer.Option("nutpie", help="nutpie | pymc"),
    draws: int = typer.Option(1000, min=1),
    tune: int = typer.Option(1000, min=0),
    chains: int = typer.Option(4, min=1),
    seed: int = typer.Option(0),
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
        config = FitConfig(
            law=law,
            priors=priors,
            groups=groups,
            likelihood=likelihood,
            sampler=SamplerConfig(sampler=sampler, draws=draws, tune=tune, chains=chains),
            seed=seed,
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
        table.add_row(*[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row])
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

    ds = _guard(work)
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
    write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(ds, tmp))
    from forecast.plots import plot_exhaustion

    fig = plot_exhaustion(ds)
    write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    console.print(f"wrote {out} and {figure}")


@app.command("sensitivity")
def sensitivity_command(
    study: Path = typer.Argument(..., help="Study file (.toml, .yaml/.yml or .json)."),
    scheduler: str = typer.Option(
        None, help="Address of a running dask scheduler, e.g. tcp://10.0.0.5:8786."
    ),
    workers: int = typer.Option(
        None, min=1, help="Workers of the LocalCluster used without --scheduler (default: cores)."
    ),
    out: Path = typer.Option(None, help="Output directory (default: ./sensitivity-<name>)."),
    force: bool = typer.Option(
        False, help="Replace existing study.nc / tornado.png / heatmap.png."
    ),
    refit: bool = typer.Option(False, help="Refit configurations cached in OUT."),
) -> None:
    """Fit every configuration of a sensitivity study on Dask; write study.nc and figures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecast.plots import plot_sensitivity_heatmap, plot_tornado
    from forecast.sensitivity import STUDY_FILE, axis_effects, sensitivity
    from forecast.study import load_study

    spec = _guard(lambda: load_study(study))
    out = out or Path(f"sensitivity-{spec.name}")
    figures = {"tornado": out / "tornado.png", "heatmap": out / "heatmap.png"}
    _check_outputs([out / STUDY_FILE, *figures.values()], force)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as bar:
        job = bar.add_task("configurations", total=None)

        def report(done: int, total: int, label: str) -> None:
            bar.update(job, completed=done, total=total, description=f"configurations [{label}]")

        try:
            result = _guard(
                lambda: sensitivity(
                    spec,
                    out=out,
                    client=scheduler,
                    n_workers=workers,
                    refit=refit,
                    progress=report,
                )
            )
        except (OSError, TimeoutError) as exc:  # no scheduler at --scheduler
            _fail(exc, EXIT_INPUT)
    console.print(
        f"{result.attrs['n_configurations']} configurations: {result.attrs['n_fits_run']} fits "
        f"run, {result.attrs['n_reused']} reused, {result.attrs['n_failed']} failed"
    )
    effects = axis_effects(result)
    table = Table(title=f"{effects.attrs['long_name']}: posterior median, by choice")
    for column in ("axis", "lowest", "highest", f"range ({effects.attrs['units']})"):
        table.add_column(column)
    for axis in effects["axis"].values:
        row = effects.sel(axis=axis)
        table.add_row(
            str(axis),
            f"{float(row['low']):.4f} ({row['low_value'].item()})",
            f"{float(row['high']):.4f} ({row['high_value'].item()})",
            f"{float(row['range']):.4f}",
        )
    console.print(table)
    failed = result["status"].values == "failed"
    for message in sorted(set(result["error"].values[failed])):
        err_console.print(f"[bold red]failed configuration:[/] {message}", highlight=False)
    fig = plot_tornado(result)
    write_atomic(figures["tornado"], lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    if len([d for d in result["status"].dims if result.sizes[d] > 1]) >= 2:
        heat = plot_sensitivity_heatmap(result)
        write_atomic(figures["heatmap"], lambda tmp: heat.savefig(tmp, dpi=120, format="png"))
    console.print(f"wrote {out / STUDY_FILE} and figures in {out}")


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

    result, summary = _guard(work)
    for table in rich_tables(summary):
        console.print(table)
    if out is not None:
        write_atomic(out, lambda tmp: _idata.dataset_to_netcdf(summary, tmp))
        console.print(f"wrote {out}")
    if figure is not None:
        from forecast.report import forecast_figure

        fig = forecast_figure(result, summary, group=group)
        write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        console.print(f"wrote {figure}")


@app.command("report")
def report_command(
    data: Path = typer.Argument(None, help="CSV of runs (columns N, D, loss, ...)."),
    dataset: str = typer.Option(None, "--dataset", help="A bundled dataset (see `datasets`)."),
    query: str = typer.Option(None, help="pandas query selecting runs."),
    groups: str = typer.Option(None, help="Column whose values are the groups."),
    law: str = typer.Option("chinchilla", help="Law form."),
    priors: str = typer.Option("weak", help="Prior preset."),
    likelihood: str = typer.Option("normal", help="normal | student_t"),
    sampler: str = typer.Option("nutpie", help="nutpie | pymc"),
    draws: int = typer.Option(1000, min=1),
    tune: int = typer.Option(1000, min=0),
    chains: int = typer.Option(4, min=1),
    seed: int = typer.Option(0),
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
            config = FitConfig(
                law=law,
                priors=priors,
                groups=groups,
                likelihood=likelihood,
                sampler=SamplerConfig(
                    sampler=sampler, draws=draws, tune=tune, chains=chains, progress=False
                ),
                seed=seed,
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

        made = _guard(work)
        bar.update(task, completed=1, total=1, description="done")
    console.print(_diagnostics_table(made.fit.diagnostics))
    for table in rich_tables(made.forecast):
        console.print(table)
    console.print(f"wrote {made.files['report']} and {len(made.files) - 1} files in {out}")


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--{name} must be comma-separated numbers, got {text!r}") from None


def _named_values(pairs: list[str]) -> dict[str, float]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or number is None or not name.strip():
            raise ConfigError(f"--param takes NAME=VALUE (e.g. alpha=0.35), got {pair!r}")
        out[name.strip()] = number
    return out


@app.command("simulate")
def simulate_command(
    law: str = typer.Option("chinchilla", help="Law form."),
    param: list[str] = typer.Option(
        None, "--param", help="NAME=VALUE (repeatable); default Besiroglu 2024's Chinchilla fit."
    ),
    sizes: str = typer.Option("3e7,1e8,3e8,1e9", help="Model sizes N (comma-separated)."),
    tokens_per_param: str = typer.Option("5,10,20,40,80", help="D/N ratios (comma-separated)."),
    design: Path = typer.Option(None, help="CSV of N, D[, group, unique_tokens] (no ladder)."),
    noise: str = typer.Option("normal", help="normal | student_t (on log loss)."),
    sigma: float = typer.Option(0.01, min=0.0, help="Noise SD on log loss."),
    nu: float = typer.Option(4.0, help="Student-t degrees of freedom."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("simulated.csv"), help="CSV of runs to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Simulate training runs from a known law (a ladder of sizes x tokens/param, or a CSV)."""
    import pandas as pd

    from forecast.simulate import BESIROGLU_2024, ladder, simulate

    _check_outputs([out], force)

    def work():
        params = _named_values(param) if param else dict(BESIROGLU_2024)
        plan = (
            pd.read_csv(design)
            if design is not None
            else ladder(_floats(sizes, "sizes"), _floats(tokens_per_param, "tokens-per-param"))
        )
        return simulate(law, params, plan, noise=noise, sigma=sigma, nu=nu, seed=seed)

    runs = _guard(work)
    write_atomic(out, lambda tmp: runs.to_csv(tmp, index=False, float_format="%.10g"))
    console.print(f"wrote {len(runs)} simulated runs ({law}, sigma={sigma:g}) to {out}")


@app.command("suggest")
def suggest_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    budget: float = typer.Option(..., "--budget", help="Largest run compute C = 6ND (FLOP)."),
    group: str = typer.Option(None, help="Group of the new runs (required if several)."),
    target: str = typer.Option("loss", help="loss | E | alpha | beta"),
    target_n: float = typer.Option(1e13, "--target-n", help="N (parameters) of the loss target."),
    rank_by: str = typer.Option("per_flop", help="per_flop | reduction"),
    outcomes: int = typer.Option(256, min=2, help="Simulated outcomes per candidate."),
    top: int = typer.Option(10, min=1, help="Rows to print."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(None, help="CSV of all ranked candidates."),
    figure: Path = typer.Option(None, help="Figure (PNG) of the candidates."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Rank candidate runs by expected reduction of the forecast's variance per FLOP."""
    from forecast.design import suggest_runs

    _check_outputs([p for p in (out, figure) if p is not None], force)
    result = _guard(lambda: load(posterior))
    ranked = _guard(
        lambda: suggest_runs(
            result,
            budget,
            group=group,
            target=target,
            target_N=target_n,
            n_outcomes=outcomes,
            rank_by=rank_by,
            seed=seed,
        )
    )
    frame = ranked.to_dataframe().reset_index(drop=True)
    table = Table(title=f"next runs for: {ranked.attrs['target']} (group {ranked.attrs['group']})")
    for column in ("rank", "N", "D", "C (FLOP)", "tokens/param", "var. reduction", "SD after"):
        table.add_column(column, justify="right")
    table.add_column("ESS (median)", justify="right")
    for _, row in frame.head(top).iterrows():
        table.add_row(
            str(int(row["rank"])),
            f"{row.N:.3g}",
            f"{row.D:.3g}",
            f"{row.C:.3g}",
            f"{row.D / row.N:.3g}",
            f"{row.relative_reduction:.1%}",
            f"{row.expected_sd:.4g}",
            f"{row.ess_median:.0f}" + (" (linear)" if row.method == "linear" else ""),
        )
    table.caption = (
        f"current SD {ranked.attrs['current_variance'] ** 0.5:.4g} {ranked.attrs['target_units']}; "
        f"ranked by {ranked.attrs['rank_by']}; {ranked.attrs['n_outcomes']} simulated outcomes"
    )
    console.print(table)
    if out is not None:
        write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))
    if figure is not None:
        from forecast.plots import plot_suggestions

        fig = plot_suggestions(ranked, runs=result.runs)
        write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    written = [str(p) for p in (out, figure) if p is not None]
    if written:
        console.print(f"wrote {' and '.join(written)}")


@app.command("backtest")
def backtest_command(
    data: Path = typer.Argument(None, help="CSV of runs (columns N, D, loss, ...)."),
    dataset: str = typer.Option(None, "--dataset", help="A bundled dataset (see `datasets`)."),
    query: str = typer.Option(None, help="pandas query selecting the runs that take part."),
    split: str = typer.Option(..., help="Runs to fit, e.g. 'C<1e20', 'N<=1.6e8', 'C<=q0.667'."),
    law: str = typer.Option("chinchilla"),
    priors: str = typer.Option("weak"),
    groups: str = typer.Option(None),
    likelihood: str = typer.Option("student_t", help="normal | student_t"),
    discrepancy: str = typer.Option("compute", help="compute | none"),
    draws: int = typer.Option(1000, min=1),
    n_bootstrap: int = typer.Option(4000, min=0, help="Bootstrap refits of the baseline."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("backtest.nc"), help="NetCDF of scores (and OUT.png) to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Fit the runs selected by --split, predict the rest; print coverage, error and CRPS."""
    from forecast._idata import dataset_to_netcdf
    from forecast.backtest import backtest
    from forecast.plots import plot_calibration

    _check_outputs([out, out.with_suffix(".png")], force)
    options = {"law": law, "priors": priors, "groups": groups, "likelihood": likelihood}
    sampler = SamplerConfig(draws=draws, tune=draws)
    disc = None if discrepancy == "none" else discrepancy
    config = _guard(lambda: FitConfig(**options, sampler=sampler, seed=seed, discrepancy=disc))
    runs = _guard(lambda: _runs_source(data, dataset, query))
    result = _guard(lambda: backtest(runs, split=split, config=config, n_bootstrap=n_bootstrap))
    summary = result[[v for v in result.data_vars if result[v].dims == ("model",)]]
    console.print(summary.to_dataframe().to_string(float_format=lambda v: f"{v:.4f}"))
    write_atomic(out, lambda tmp: dataset_to_netcdf(result, tmp))
    fig = plot_calibration(result)
    write_atomic(out.with_suffix(".png"), lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    console.print(f"wrote {out} and {out.with_suffix('.png')}")


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
