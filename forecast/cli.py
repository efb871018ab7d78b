"""Command-line interface: parse arguments, call one public function, print or save.

No logic lives here. Errors a user can fix (bad data, bad config, an existing output,
an incompatible file) end the command with a one-line message and a non-zero exit code,
not a traceback. Outputs are never overwritten without ``--force``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from forecast.catalog import list_datasets, load_dataset
from forecast.config import FitConfig, SamplerConfig
from forecast.diagnostics import failures
from forecast.errors import (
    ConfigError,
    ConvergenceError,
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
        out.add_row(str(name), f"{row.r_hat:.3f}", f"{row.ess_bulk:.0f}", f"{row.ess_tail:.0f}")
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
    strict: bool = typer.Option(False, help="Exit non-zero (3) when diagnostics fail."),
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
        return run_fit(runs, config=config, strict=strict)

    result = _guard(work)
    console.print(_diagnostics_table(result.diagnostics))
    save(result, out, overwrite=True)
    from forecast.plots import plot_fit

    fig = plot_fit(result)
    write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
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


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
