"""What every CLI command shares: the typer app, the consoles, exit codes and helpers.

The commands live in :mod:`forecast.cli` (fit, inspect, datasets, exhaustion, forecast,
report) and :mod:`forecast.cli_studies` (sensitivity, simulate, suggest, backtest); both
register on the one :data:`app` defined here. Errors a user can fix end a command with a
one-line message and a non-zero exit code, not a traceback (see :func:`_guard`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forecast.catalog import load_dataset
from forecast.config import FitConfig, SamplerConfig
from forecast.diagnostics import failures
from forecast.errors import (
    ConfigError,
    ConvergenceError,
    DataError,
    ExtrapolationWarning,
    IncompatibleFileError,
)
from forecast.extrapolation import text_from_attrs

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Bayesian forecasting of neural scaling laws.",
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _main() -> None:
    """Bayesian forecasting of neural scaling laws."""
    # Rich fixes a console's width from COLUMNS when the console is created (at import);
    # read it again on every invocation so that a caller's COLUMNS applies.
    for each in (console, err_console):
        each.width = None  # size from the terminal, or from COLUMNS when it is set


#: Exit codes: 2 = bad input or config, 3 = sampler diagnostics failed under --strict.
EXIT_INPUT, EXIT_CONVERGENCE = 2, 3
_USER_ERRORS = (DataError, ConfigError, IncompatibleFileError, FileExistsError, FileNotFoundError)

# Options shared word for word by the commands that fit (typer copies each one per command).
DATA = typer.Argument(None, help="CSV of runs (columns N, D, loss, ...).")
DATASET = typer.Option(None, "--dataset", help="A bundled dataset (see `datasets`).")
LAW = typer.Option("chinchilla", help="Law form.")
PRIORS = typer.Option("weak", help="Prior preset.")
GROUPS = typer.Option(None, help="Column whose values are the groups.")
POOLED = typer.Option(
    None,
    help=(
        "Comma-separated parameters partially pooled across groups (e.g. E,log_A,log_B); "
        "the rest are shared by all groups. Default: all pooled."
    ),
)
LIKELIHOOD = typer.Option("normal", help="normal | student_t")
SAMPLER = typer.Option("nutpie", help="nutpie | pymc")
DRAWS = typer.Option(1000, min=1)
TUNE = typer.Option(1000, min=0)
CHAINS = typer.Option(4, min=1)
SEED = typer.Option(0)


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


def _quiet_extrapolation(call):
    """Run ``call`` with :class:`ExtrapolationWarning` silenced.

    The command prints the distance and the warning itself, from the result's attrs
    (:func:`_print_extrapolation`), instead of Python's warning line with a source line.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return call()


def _print_extrapolation(attrs) -> None:
    """Print how far a result extrapolates beyond the runs, and its warning (stderr)."""
    lines, messages = text_from_attrs(attrs)
    if lines:
        console.print("[bold]extrapolation beyond the runs[/]")
        for line in lines:
            console.print("  " + escape(line), highlight=False, soft_wrap=True)
    for message in messages:
        err_console.print(
            f"[bold yellow]ExtrapolationWarning:[/] {escape(message)}",
            highlight=False,
            soft_wrap=True,
        )


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


def _fit_config(
    *,
    law: str,
    priors: str,
    groups: str | None,
    pooled: str | None,
    likelihood: str,
    seed: int,
    sampler: str = "nutpie",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    progress: bool = True,
    discrepancy: str | None = None,
) -> FitConfig:
    """Build the :class:`FitConfig` of a command that fits from its fit options.

    ``pooled`` is the ``--pooled`` text: comma-separated parameter names that vary by
    group, the others shared by all groups; ``None`` pools every parameter. Sharing some
    parameters is there because pooling all of them can be too much for few runs per
    group: on the Gadre et al. small runs with 3 corpus groups, pooling every parameter
    gave 1-3 divergent transitions at target_accept 0.99, while sharing the exponents
    (``--pooled E,log_A,log_B``) gave none and distinct floors per corpus.

    Raises
    ------
    ConfigError
        An empty ``--pooled``, a name that is not a parameter of the law, or any other
        invalid option (``FitConfig`` and ``SamplerConfig`` validate them).
    """
    names = None
    if pooled is not None:
        names = tuple(name.strip() for name in pooled.split(",") if name.strip())
        if not names:
            raise ConfigError(
                f"--pooled {pooled!r} names no parameter; omit it to pool every parameter"
            )
    return FitConfig(
        law=law,
        priors=priors,
        groups=groups,
        likelihood=likelihood,
        pooled=names,
        sampler=SamplerConfig(
            sampler=sampler, draws=draws, tune=tune, chains=chains, progress=progress
        ),
        seed=seed,
        discrepancy=discrepancy,
    )
