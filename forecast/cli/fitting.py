"""CLI commands that fit a posterior or list the data: fit, inspect and datasets.

Conventions (no logic here, one-line errors, ``--force``): :mod:`forecast.cli`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import typer

from forecast.averaged import Stack
from forecast.cli._common import (
    DATA,
    DATASET,
    EXIT_CONVERGENCE,
    FORMAT,
    GROUPS,
    LAW,
    POOLED,
    PRIORS,
    _check_outputs,
    _fail,
    _guard,
    _messages,
    _print_table,
    _runs_source,
    app,
    console,
    err_console,
)
from forecast.cli._fit_options import (
    _check_recipe,
    _command_fit_config,
    _describe,
    _failures,
    _print_result,
    fit_options,
)
from forecast.config import RECIPES
from forecast.data.catalog import list_datasets
from forecast.errors import ConvergenceError, ConvergenceWarning
from forecast.fit import fit as run_fit
from forecast.io import load, save, write_atomic
from forecast.studies.stacking import fit_averaged


@app.command("fit")
@fit_options(after="pooled")
def fit_command(
    ctx: typer.Context,
    data: Path = DATA,
    dataset: str = DATASET,
    query: str = typer.Option(
        None, help="pandas query selecting runs, e.g. \"eval_set == 'c4_val'\"."
    ),
    law: str = LAW,
    priors: str = PRIORS,
    groups: str = GROUPS,
    pooled: str = POOLED,
    out: Path = typer.Option(Path("fit.nc"), help="NetCDF posterior to write."),
    figure: Path = typer.Option(None, help="Figure to write (default: OUT with .png)."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    strict: bool = typer.Option(
        False, help="When diagnostics fail, write nothing and exit 3 (default: warn)."
    ),
    fmt: str = FORMAT,
    **fit,
) -> None:
    """Fit a hierarchical scaling law; write the posterior (NetCDF) and a figure.

    Prints the sampler diagnostics (``--format csv|json``: as data on stdout). With
    ``--recipe`` it fits every component of the recipe, weighs them (``--weights``) and
    writes the averaged posterior, all components in one file.
    """
    options = dict(locals())
    recipe, weights, seed = fit["recipe"], fit["weights"], fit["seed"]
    say = _messages(fmt)
    figure = figure or out.with_suffix(".png")
    _check_outputs([out, figure], force)
    _guard(lambda: _check_recipe(ctx, recipe))

    def work():
        runs = _runs_source(data, dataset, query)
        config = _command_fit_config(options)
        say.print(f"fitting {len(runs)} runs, law={law}, priors={priors}, groups={groups or '-'}")
        if recipe is not None:
            say.print(
                f"recipe {recipe}: components {', '.join(RECIPES[recipe])}, weights {weights}"
            )
        with warnings.catch_warnings():
            # reported below, with the diagnostics table, as one line
            warnings.simplefilter("ignore", ConvergenceWarning)
            if recipe is not None:
                return fit_averaged(runs, recipe, base=config, weights=weights, seed=seed)
            return run_fit(runs, config=config, strict=False)

    result = _guard(work)
    _print_result(result, fmt)
    if not result.converged:
        problem = ConvergenceError("sampler diagnostics failed: " + "; ".join(_failures(result)))
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
    say.print(f"made {_describe(result)}", highlight=False)
    say.print(f"wrote {out} and {figure}")


@app.command("inspect")
def inspect_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    fmt: str = FORMAT,
):
    """Show the config, versions and diagnostics stored in a saved fit.

    A saved averaged posterior shows every component's config, its weight and its
    diagnostics. ``--format csv|json`` prints the diagnostics table only, as data.
    """
    result = _guard(lambda: load(posterior))
    _messages(fmt).print(f"read {_describe(result)} from {posterior}", highlight=False)
    if fmt == "table":
        if isinstance(result, Stack):
            configs = {n: f.config.to_dict() for n, f in result.components.items()}
            console.print_json(json.dumps(configs))
        else:
            console.print_json(json.dumps(result.config.to_dict()))
        console.print(f"runs: {len(result.runs)}  groups: {', '.join(result.groups)}")
    _print_result(result, fmt)


def _span(low: float, high: float) -> str:
    """Format a range in two significant digits, ``7.1e6–8.7e9``; ``-`` if missing."""
    if pd.isna(low) or pd.isna(high):
        return "-"

    def compact(value: float) -> str:
        mantissa, _, exponent = f"{value:.2g}".partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent else mantissa

    return f"{compact(low)}\N{EN DASH}{compact(high)}"


@app.command("datasets")
def datasets_command(fmt: str = FORMAT) -> None:
    """List the bundled datasets with rows, groups, N and D ranges and license."""
    frame = _guard(list_datasets)
    cells = pd.DataFrame(
        {
            "name": frame["name"],
            "kind": frame["kind"],
            "rows": frame["rows"].astype(str),
            "groups": frame["groups"].astype(str),
            "group\ncolumn": frame["default_group"].fillna("-"),
            "N (parameters)": [_span(*v) for v in frame[["N_min", "N_max"]].values],
            "D (tokens)": [_span(*v) for v in frame[["D_min", "D_max"]].values],
            "license": frame["license"],
            "title": frame["title"],
        }
    )
    _print_table(
        frame,
        fmt,
        cells=cells,
        title="bundled datasets",
        caption="load one with --dataset NAME",
        keys=["name"],
        right=["rows", "groups"],
        wrap=["license", "title"],
        optional=["title", "group\ncolumn", "kind", "D (tokens)"],
    )
