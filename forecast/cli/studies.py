"""CLI commands that plan and study fits: sensitivity, simulate, suggest and backtest.

They register on the app of :mod:`forecast.cli._common`; :mod:`forecast.cli`, the entry
point, imports this module so they are part of ``scaling-forecast``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from forecast.cli._common import (
    DATA,
    DATASET,
    DISCREPANCY,
    EXIT_INPUT,
    FLOP,
    FORMAT,
    LIKELIHOOD,
    PARAMETERS,
    POOLED,
    SEED,
    _check_outputs,
    _fail,
    _floats,
    _guard,
    _messages,
    _named_values,
    _number,
    _print_table,
    _runs_source,
    app,
    err_console,
)
from forecast.cli._fit_options import _fit_config
from forecast.io import load, write_atomic


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
    fmt: str = FORMAT,
) -> None:
    """Fit every configuration of a sensitivity study on Dask; write study.nc and figures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from forecast.plots import plot_sensitivity_heatmap, plot_tornado
    from forecast.studies.sensitivity import STUDY_FILE, axis_effects, sensitivity
    from forecast.studies.sensitivity_plan import load_study

    say = _messages(fmt)
    spec = _guard(lambda: load_study(study))
    out = out or Path(f"sensitivity-{spec.name}")
    figures = {"tornado": out / "tornado.png", "heatmap": out / "heatmap.png"}
    _check_outputs([out / STUDY_FILE, *figures.values()], force)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=say, transient=False) as bar:
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
    say.print(
        f"{result.attrs['n_configurations']} configurations: {result.attrs['n_fits_run']} fits "
        f"run, {result.attrs['n_reused']} reused, {result.attrs['n_failed']} failed"
    )
    effects = axis_effects(result)
    units = effects.attrs["units"]
    data = pd.DataFrame(
        {
            "axis": [str(a) for a in effects["axis"].values],
            "lowest": effects["low"].values,
            "lowest_choice": [str(v) for v in effects["low_value"].values],
            "highest": effects["high"].values,
            "highest_choice": [str(v) for v in effects["high_value"].values],
            "range": effects["range"].values,
        }
    )
    cells = pd.DataFrame(
        {
            "axis": data["axis"],
            "lowest": [f"{v:.4f} ({c})" for v, c in data[["lowest", "lowest_choice"]].values],
            "highest": [f"{v:.4f} ({c})" for v, c in data[["highest", "highest_choice"]].values],
            f"range\n({units})": data["range"].map("{:.4f}".format),
        }
    )
    _print_table(
        data,
        fmt,
        cells=cells,
        title=f"{effects.attrs['long_name']}: posterior median, by choice",
        keys=["axis"],
        right=[f"range\n({units})"],
        wrap=["lowest", "highest"],
    )
    failed = result["status"].values == "failed"
    for message in sorted(set(result["error"].values[failed])):
        err_console.print(f"[bold red]failed configuration:[/] {message}", highlight=False)
    fig = plot_tornado(result)
    write_atomic(figures["tornado"], lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    if len([d for d in result["status"].dims if result.sizes[d] > 1]) >= 2:
        heat = plot_sensitivity_heatmap(result)
        write_atomic(figures["heatmap"], lambda tmp: heat.savefig(tmp, dpi=120, format="png"))
    say.print(f"wrote {out / STUDY_FILE} and figures in {out}")


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
    sigma: float = typer.Option(
        0.01, parser=_number("SD of log loss", closed=True), help="Noise SD on log loss."
    ),
    nu: float = typer.Option(
        4.0, parser=_number("degrees of freedom"), help="Student-t degrees of freedom."
    ),
    seed: int = SEED,
    out: Path = typer.Option(Path("simulated.csv"), help="CSV of runs to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
) -> None:
    """Simulate training runs from a known law (a ladder of sizes x tokens/param, or a CSV)."""
    from forecast.studies.simulate import BESIROGLU_2024, ladder, simulate

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
    _messages("table").print(f"wrote {len(runs)} simulated runs ({law}, sigma={sigma:g}) to {out}")


@app.command("suggest")
def suggest_command(
    posterior: Path = typer.Argument(..., help="A NetCDF written by `fit`."),
    budget: float = typer.Option(
        ..., "--budget", parser=FLOP, help="Largest run compute C = 6ND (FLOP)."
    ),
    group: str = typer.Option(None, help="Group of the new runs (required if several)."),
    target: str = typer.Option("loss", help="loss | E | alpha | beta"),
    target_n: float = typer.Option(
        1e13, "--target-n", parser=PARAMETERS, help="N (parameters) of the loss target."
    ),
    rank_by: str = typer.Option("per_flop", help="per_flop | reduction"),
    outcomes: int = typer.Option(256, min=2, help="Simulated outcomes per candidate."),
    top: int = typer.Option(10, min=1, help="Rows to print."),
    seed: int = SEED,
    out: Path = typer.Option(None, help="CSV of all ranked candidates."),
    figure: Path = typer.Option(None, help="Figure (PNG) of the candidates."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    fmt: str = FORMAT,
) -> None:
    """Rank candidate runs by expected reduction of the forecast's variance per FLOP."""
    from forecast.studies.design import suggest_runs

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
    shown = frame.head(top)
    cells = pd.DataFrame(
        {
            "rank": shown["rank"].astype(int).astype(str),
            "N": shown["N"].map("{:.3g}".format),
            "D": shown["D"].map("{:.3g}".format),
            "C (FLOP)": shown["C"].map("{:.3g}".format),
            "tokens/\nparam": (shown["D"] / shown["N"]).map("{:.3g}".format),
            "var.\nreduction": shown["relative_reduction"].map("{:.1%}".format),
            "SD after": shown["expected_sd"].map("{:.4g}".format),
            "ESS\n(median)": [
                f"{e:.0f}" + (" (linear)" if m == "linear" else "")
                for e, m in shown[["ess_median", "method"]].values
            ],
        }
    )
    _print_table(
        shown,
        fmt,
        cells=cells,
        title=f"next runs for: {ranked.attrs['target']} (group {ranked.attrs['group']})",
        caption=(
            f"current SD {ranked.attrs['current_variance'] ** 0.5:.4g} "
            f"{ranked.attrs['target_units']}; ranked by {ranked.attrs['rank_by']}; "
            f"{ranked.attrs['n_outcomes']} simulated outcomes"
        ),
        keys=["rank"],
        right=list(cells.columns),
        optional=["ESS\n(median)", "tokens/\nparam"],
    )
    if out is not None:
        write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))
    if figure is not None:
        from forecast.plots import plot_suggestions

        fig = plot_suggestions(ranked, runs=result.runs)
        write_atomic(figure, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    written = [str(p) for p in (out, figure) if p is not None]
    if written:
        _messages(fmt).print(f"wrote {' and '.join(written)}")


@app.command("backtest")
def backtest_command(
    data: Path = DATA,
    dataset: str = DATASET,
    query: str = typer.Option(None, help="pandas query selecting the runs that take part."),
    split: str = typer.Option(..., help="Runs to fit, e.g. 'C<1e20', 'N<=1.6e8', 'C<=q0.667'."),
    law: str = typer.Option("chinchilla"),
    priors: str = typer.Option("weak"),
    groups: str = typer.Option(None),
    pooled: str = POOLED,
    likelihood: str = LIKELIHOOD,
    discrepancy: str = DISCREPANCY,
    draws: int = typer.Option(1000, min=1),
    n_bootstrap: int = typer.Option(4000, min=0, help="Bootstrap refits of the baseline."),
    seed: int = SEED,
    out: Path = typer.Option(Path("backtest.nc"), help="NetCDF of scores (and OUT.png) to write."),
    force: bool = typer.Option(False, help="Replace existing outputs."),
    fmt: str = FORMAT,
) -> None:
    """Fit the runs selected by --split, predict the rest; print coverage, error and CRPS."""
    from forecast._idata import dataset_to_netcdf
    from forecast.plots import plot_calibration
    from forecast.studies.backtest import backtest

    _check_outputs([out, out.with_suffix(".png")], force)
    config = _guard(
        lambda: _fit_config(
            law=law,
            priors=priors,
            groups=groups,
            pooled=pooled,
            likelihood=likelihood,
            seed=seed,
            draws=draws,
            tune=draws,
            discrepancy=discrepancy,
        )
    )
    runs = _guard(lambda: _runs_source(data, dataset, query))
    result = _guard(lambda: backtest(runs, split=split, config=config, n_bootstrap=n_bootstrap))
    summary = result[[v for v in result.data_vars if result[v].dims == ("model",)]]
    data = summary.to_dataframe().reset_index()
    data["model"] = data["model"].astype(str)
    _print_table(
        data,
        fmt,
        cells=data.map(
            lambda v: "-" if pd.isna(v) else f"{v:.4f}" if isinstance(v, float) else str(v)
        ),
        title=f"backtest scores, split {split}",
        keys=["model"],
        right=list(data.columns[1:]),
    )
    write_atomic(out, lambda tmp: dataset_to_netcdf(result, tmp))
    fig = plot_calibration(result)
    write_atomic(out.with_suffix(".png"), lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    _messages(fmt).print(f"wrote {out} and {out.with_suffix('.png')}")
