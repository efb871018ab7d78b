"""What every CLI command shares: the typer app, the consoles, exit codes and helpers.

The commands live in :mod:`forecast.cli.fitting` (fit, inspect, datasets),
:mod:`forecast.cli.forecasting` (exhaustion, forecast, report) and
:mod:`forecast.cli.studies` (sensitivity, simulate, suggest, backtest); all register on the
one :data:`app` defined here; the commands that fit share :mod:`forecast.cli._fit_options`.
Errors a user can fix end a command with a one-line message and a non-zero exit code, not a
traceback (see :func:`_guard`); so does a bad option value: numeric options are parsed by
the validators below (finite, positive, in range), and the app's group prints any usage
error on one line (:class:`_OneLineErrors`).
Every table goes through :func:`_print_table`, which never cuts a name and also prints
CSV or JSON (``--format``).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from forecast.config import DEFAULT_MODEL, RECIPES
from forecast.data.catalog import load_dataset
from forecast.diagnostics import failures
from forecast.errors import (
    ConfigError,
    ConvergenceError,
    DataError,
    ExtrapolationWarning,
    IncompatibleFileError,
)
from forecast.extrapolation import text_from_attrs

#: Click's UsageError, raised for a bad option value (typer exports only its subclass
#: BadParameter; found by name so that it is the class of whichever click typer uses).
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class _OneLineErrors(TyperGroup):
    """The command group, with a usage error (a bad option value) printed as one line.

    Click would print the usage, a hint and a boxed message; a bad value is reported like
    every other error a user can fix: ``error: Invalid value for '--params': ...`` on one
    line of stderr, exit code 2.
    """

    def invoke(self, ctx):  # noqa: D102 - the group's invoke, with usage errors reformatted
        try:
            return super().invoke(ctx)
        except _UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `command` alone prints its help
                raise
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            _fail(f"{exc.format_message()} (see '{where} --help')", EXIT_INPUT)


app = typer.Typer(
    cls=_OneLineErrors,
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
LIKELIHOOD = typer.Option(
    DEFAULT_MODEL["likelihood"],
    help="normal | student_t (the default model: student_t with --discrepancy compute).",
)
SAMPLER = typer.Option("nutpie", help="nutpie | pymc")
DRAWS = typer.Option(
    None,
    min=1,
    help=(
        "Posterior draws per chain. Default: 1000, or 2000 thinned by 2 if R-hat or bulk ESS fails."
    ),
)
TUNE = typer.Option(1000, min=0)
CHAINS = typer.Option(4, min=1)
TARGET_ACCEPT = typer.Option(
    None,
    min=0.5,
    max=0.999,
    help=(
        "NUTS target acceptance rate in [0.5, 1). Default: by model (0.9 in the centre "
        "parametrisation, a divergent run redone at 0.99; 0.99 otherwise)."
    ),
)
SEED = typer.Option(0, min=0, help="Seed of every random draw (an integer >= 0).")


# ------------------------------------------------------------------ option values
def _number(
    unit: str, *, low: float = 0.0, high: float = math.inf, closed: bool = False
) -> Callable[[str], float]:
    """Parser of a float option: finite, above ``low`` (or equal when ``closed``), <= ``high``.

    Typer calls it on each value of the option (on every item of a list option); a bad
    value raises :class:`typer.BadParameter`, which names the option on one line.
    """
    above = f">= {low:g}" if closed else f"> {low:g}"
    wanted = f"a finite number {above}" + (f" and <= {high:g}" if high < math.inf else "")
    wanted += f" ({unit})" if unit else ""

    def parse(value) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        low_ok = number >= low if closed else number > low
        if not (math.isfinite(number) and low_ok and number <= high):
            raise typer.BadParameter(f"must be {wanted}; got {value!r}")
        return number

    return parse


def _choice(names: Sequence[str]) -> Callable[[str], str]:
    """Parser of an option that takes one of ``names``."""

    def parse(value) -> str:
        if str(value) not in names:
            raise typer.BadParameter(f"must be one of {', '.join(names)}; got {value!r}")
        return str(value)

    return parse


#: Model sizes, token counts, FLOP and ratios: all finite and > 0.
PARAMETERS = _number("parameters")
TOKENS = _number("tokens")
FLOP = _number("FLOP")
RATIO = _number("tokens per parameter")
LOSS = _number("nats/token")
CI_PROB = _number("probability", low=0.01, high=0.99, closed=True)
RECIPE = typer.Option(
    None,
    "--recipe",
    parser=_choice(sorted(RECIPES)),
    help=(
        "Fit an averaged posterior: a named recipe of component configs "
        f"({', '.join(sorted(RECIPES))}), each a change of the other options; "
        "excludes the options it sets (--likelihood, --discrepancy)."
    ),
)
DISCREPANCY = typer.Option(
    DEFAULT_MODEL["discrepancy"] or "none",
    "--discrepancy",
    parser=_choice(("compute", "none")),
    help=(
        "compute: noise SD grows with the distance in compute from the runs, so bands widen "
        "as a forecast extrapolates (default) | none. '--likelihood normal --discrepancy "
        "none' is the plain model."
    ),
)
WEIGHTS = typer.Option(
    "lfo",
    "--weights",
    parser=_choice(("lfo", "loo", "equal")),
    help="How a recipe's components are weighed: lfo | loo | equal.",
)

FORMATS = ("table", "csv", "json")
FORMAT = typer.Option(
    "table",
    "--format",
    parser=_choice(FORMATS),
    help=(
        "table: a table for people. csv or json (a list of records): the same rows, numbers "
        "unrounded, on stdout for programs; messages go to stderr."
    ),
)


def _fail(exc: BaseException | str, code: int) -> None:
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


def _print_extrapolation(attrs, fmt: str = "table") -> None:
    """Print how far a result extrapolates beyond the runs, and its warning (stderr).

    With ``--format csv|json`` the distance goes to stderr too, so stdout stays the table.
    """
    lines, messages = text_from_attrs(attrs)
    out = console if fmt == "table" else err_console
    if lines:
        out.print("[bold]extrapolation beyond the runs[/]")
        for line in lines:
            # wrapped at the terminal's width like the tables (no line beyond 80 columns)
            out.print("  " + escape(line), highlight=False)
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


def _print_diagnostics(table, fmt: str = "table") -> None:
    """Print a diagnostics table (:func:`forecast.diagnostics.diagnostics`) in ``fmt``."""
    frame = table.to_dataframe()
    frame = frame[~frame.index.str.startswith("log_")] if len(frame) > 40 else frame
    data = frame.rename_axis("parameter").reset_index()[
        ["parameter", "r_hat", "ess_bulk", "ess_tail"]
    ]
    cells = data.assign(
        r_hat=data["r_hat"].map("{:.3f}".format),
        ess_bulk=data["ess_bulk"].map("{:.0f}".format),
        ess_tail=data["ess_tail"].map("{:.0f}".format),
    )
    caption = (
        f"divergences: {table.attrs['divergences']}  |  min E-BFMI: {table.attrs['ebfmi_min']:.2f}"
        f"  |  {'PASSED' if table.attrs['passed'] else 'FAILED: ' + '; '.join(failures(table))}"
    )
    _print_table(
        data,
        fmt,
        cells=cells,
        title="sampler diagnostics",
        caption=caption,
        keys=["parameter"],
        right=["r_hat", "ess_bulk", "ess_tail"],
    )


# ------------------------------------------------------------------ tables
def _messages(fmt: str) -> Console:
    """Return the console for progress and messages: stdout for a table, else stderr."""
    return console if fmt == "table" else err_console


def _cell(value) -> str:
    """Format one value for a table cell: ``-`` for missing, 3 significant digits for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _widths(header: str, cells: pd.Series, *, wrap: bool) -> tuple[int, int]:
    """Return the columns a table column needs at least, and at most.

    At least its longest word if it may wrap, else its longest line; at most its longest
    line.
    """
    lines = [line for text in (header, *cells.astype(str)) for line in text.splitlines()]
    widest = max((cell_len(line) for line in lines), default=1)
    if not wrap:
        return widest, widest
    return max((cell_len(word) for line in lines for word in line.split()), default=1), widest


def _fill(low: dict, high: dict, room: int) -> dict:
    """Share ``room`` columns among the wrapping columns.

    Each gets its ``low``; the rest is handed out one column at a time to those below
    their ``high``.
    """
    widths = dict(low)
    room -= sum(low.values())
    while room > 0:
        hungry = [name for name in widths if widths[name] < high[name]]
        if not hungry:
            break
        for name in hungry[:room]:
            widths[name] += 1
        room -= min(room, len(hungry))
    return widths


def _print_table(
    data: pd.DataFrame,
    fmt: str,
    *,
    title: str,
    cells: pd.DataFrame | None = None,
    caption: str = "",
    keys: Sequence[str] = (),
    right: Sequence[str] = (),
    wrap: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> None:
    r"""Print a table: rich for people, or ``data`` as CSV / JSON records for programs.

    ``data`` holds the numbers (written whole under csv and json; ``pd.read_csv`` and
    ``pd.read_json(orient="records")`` read them back); ``cells`` holds the text shown in
    the table (default: ``data`` formatted by :func:`_cell`), with the same columns, whose
    names are the headers (``\n`` breaks a header). In the table, no cell is ever cut:

    - ``keys`` (names, e.g. a dataset or a scenario) are never shortened, are repeated in
      every split table, and wrap (at spaces) only if also in ``wrap``;
    - columns in ``wrap`` (prose, intervals) wrap at spaces, all others stay on one line;
    - when the table is wider than the terminal, the ``optional`` columns are left out, in
      that order, until it fits (the caption says which), and if it is still too wide its
      other columns are split into several tables, each repeating the ``keys``.
    """
    if fmt != "table":
        if fmt == "csv":
            text = data.to_csv(index=False)
        else:
            records = [
                {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
                for row in data.to_dict("records")
            ]
            text = json.dumps(records, default=str) + "\n"
        typer.echo(text, nl=False)
        return
    cells = data.map(_cell) if cells is None else cells
    sizes = {c: _widths(str(c), cells[c], wrap=c in wrap) for c in cells.columns}
    need = {c: low for c, (low, _) in sizes.items()}

    def width(columns) -> int:  # borders and one space of padding either side of each cell
        return sum(need[c] for c in columns) + 3 * len(columns) + 1

    limit = console.width
    columns = list(cells.columns)
    dropped = []
    for name in optional:
        if width(columns) <= limit:
            break
        columns.remove(name)
        dropped.append(" ".join(str(name).split()))
    others = [c for c in columns if c not in keys]
    chunks: list[list] = [[]]
    for name in others:
        if chunks[-1] and width([*keys, *chunks[-1], name]) > limit:
            chunks.append([])
        chunks[-1].append(name)
    for i, chunk in enumerate(chunks):
        table = Table(title=title if i == 0 else None)
        shown = [c for c in columns if c in keys or c in chunk]
        # Fixed widths for the wrapping columns, none below its longest word: left to
        # itself, rich narrows the widest column first, and would fold a long word.
        wrapping = [c for c in shown if c in wrap]
        fixed = width([c for c in shown if c not in wrap]) + 3 * len(wrapping)
        given = _fill(
            {c: need[c] for c in wrapping}, {c: sizes[c][1] for c in wrapping}, limit - fixed
        )
        for name in shown:
            table.add_column(
                str(name),
                justify="right" if name in right else "left",
                no_wrap=name not in wrap,
                overflow="fold",
                min_width=need[name],
                width=given.get(name),
            )
        for _, row in cells[shown].iterrows():
            table.add_row(*[Text(str(v)) for v in row])
        console.print(table)
    if dropped:
        caption += (
            f"{'; ' if caption else ''}left out at this width: {', '.join(dropped)} "
            "(widen the terminal, or use --format csv)"
        )
    if caption:
        console.print(Text(caption, style="italic"))


def _check_group(group: str | None, labels: list[str]) -> None:
    """Refuse a ``--group`` that is not a group of the fit (a ConfigError, one line)."""
    if group is not None and group not in labels:
        raise ConfigError(
            f"--group {group!r} is not a group of the fit; its groups are {', '.join(labels)}"
        )


def _runs_source(data: Path | None, dataset: str | None, query: str | None):
    if (data is None) == (dataset is None):
        raise ConfigError("give exactly one of DATA (a CSV path) or --dataset NAME")
    if data is not None:
        from forecast.data.runs import load_runs

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
    """Parse the comma-separated numbers of option ``--name``; each finite and > 0."""
    values = []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(
                f"--{name} must be comma-separated finite numbers > 0, got {item!r} in {text!r}"
            )
        values.append(value)
    return values


def _named_values(pairs: list[str]) -> dict[str, float]:
    """Parse ``--param NAME=VALUE`` pairs; each value a finite number."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not math.isfinite(number) or not name.strip():
            raise ConfigError(
                f"--param takes NAME=VALUE with a finite number (e.g. alpha=0.35), got {pair!r}"
            )
        out[name.strip()] = number
    return out
