"""How the commands that fit turn their options into a config, and print what they fitted.

:func:`fit_options` gives ``fit`` and ``report`` the shared options (``--likelihood``,
``--discrepancy``, ``--recipe`` … ``--seed``); :func:`_fit_config` builds the
:class:`~forecast.config.FitConfig` from them; :func:`_print_result` prints the diagnostics
of a fit, or the components and weights of an averaged posterior.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping

import pandas as pd
import typer

from forecast.averaged import Stack
from forecast.cli._common import (
    CHAINS,
    DISCREPANCY,
    DRAWS,
    LIKELIHOOD,
    RECIPE,
    SAMPLER,
    SEED,
    TARGET_ACCEPT,
    TUNE,
    WEIGHTS,
    _print_diagnostics,
    _print_table,
    console,
)
from forecast.config import RECIPES, FitConfig, SamplerConfig
from forecast.diagnostics import failures
from forecast.errors import ConfigError

#: Options of the commands that fit (``fit``, ``report``), passed on to :func:`_fit_config`.
_FIT_OPTIONS = (
    "law",
    "priors",
    "groups",
    "pooled",
    "likelihood",
    "discrepancy",
    "seed",
    "sampler",
    "draws",
    "tune",
    "chains",
    "target_accept",
)


def _command_fit_config(options: Mapping, **overrides) -> FitConfig:
    """:func:`_fit_config` of a command's ``locals()`` (and its ``fit``) and ``overrides``."""
    options = {**options, **options.get("fit", {})}
    return _fit_config(**{name: options[name] for name in _FIT_OPTIONS}, **overrides)


#: The options every command that fits shares, in ``--help`` order: name -> (type, option).
_SHARED_FIT_OPTIONS = {
    "likelihood": (str, LIKELIHOOD),
    "discrepancy": (str, DISCREPANCY),
    "recipe": (str, RECIPE),
    "weights": (str, WEIGHTS),
    "sampler": (str, SAMPLER),
    "draws": (int | None, DRAWS),
    "tune": (int, TUNE),
    "chains": (int, CHAINS),
    "target_accept": (float | None, TARGET_ACCEPT),
    "seed": (int, SEED),
}


def fit_options(after: str) -> Callable[[Callable], Callable]:
    """Give a command the shared fit options, ``--likelihood`` … ``--seed``.

    Typer reads the signature set here: the shared options follow the command's parameter
    ``after``. The command takes them as ``**fit`` (a mapping by option name); they are
    :data:`_SHARED_FIT_OPTIONS`.
    """

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        at = [p.name for p in own].index(after) + 1
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        shared = [
            inspect.Parameter(name, kind, default=option, annotation=type_)
            for name, (type_, option) in _SHARED_FIT_OPTIONS.items()
        ]

        @functools.wraps(command)
        def wrapper(**kwargs):
            return command(**kwargs)

        wrapper.__signature__ = signature.replace(parameters=own[:at] + shared + own[at:])
        wrapper.__annotations__ = {
            **command.__annotations__,
            **{p.name: p.annotation for p in shared},
        }
        return wrapper

    return decorate


def _fit_config(
    *,
    law: str,
    priors: str,
    groups: str | None,
    pooled: str | None,
    likelihood: str,
    seed: int,
    sampler: str = "nutpie",
    draws: int | None = None,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float | None = None,
    discrepancy: str,
    progress: bool = True,
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
            sampler=sampler,
            draws=draws,
            tune=tune,
            chains=chains,
            target_accept=target_accept,
            progress=progress,
        ),
        seed=seed,
        discrepancy=None if discrepancy == "none" else discrepancy,
    )


def _describe(result) -> str:
    """Say which kind of result a command read or made: a fit or an averaged posterior."""
    if not isinstance(result, Stack):
        config = result.config
        return (
            f"a fit (law {config.law}, likelihood {config.likelihood}, "
            f"discrepancy {config.discrepancy or 'none'})"
        )
    weights = ", ".join(
        f"{n} {w:.3f}" for n, w in zip(result.names, result.weights.values, strict=True)
    )
    return (
        f"an averaged posterior of {len(result.names)} components "
        f"({weights}; {result.method} weights)"
    )


def _failures(result) -> list[str]:
    """Failed convergence checks of a fit, or of each weighted component of a stack."""
    if not isinstance(result, Stack):
        return failures(result.diagnostics)
    return [
        f"component {name}: " + "; ".join(failures(part.diagnostics))
        for name, part in result.components.items()
        if not part.converged
    ]


def _print_result(result, fmt: str) -> None:
    """Diagnostics of a fit; of a stack, its components and weights, then each one's."""
    if not isinstance(result, Stack):
        _print_diagnostics(result.diagnostics, fmt)
        return
    table = pd.DataFrame(
        {
            "component": result.names,
            "weight": result.weights.values,
            "likelihood": [f.config.likelihood for f in result.components.values()],
            "discrepancy": [str(f.config.discrepancy or "-") for f in result.components.values()],
            "diagnostics": [
                "PASSED" if f.converged else "FAILED" for f in result.components.values()
            ],
        }
    )
    if fmt != "table":  # one table on stdout: every component's diagnostics, by component
        frames = []
        for name, part in result.components.items():
            frame = part.diagnostics.to_dataframe().rename_axis("parameter").reset_index()
            frames.append(
                frame[["parameter", "r_hat", "ess_bulk", "ess_tail"]].assign(
                    component=name, weight=float(result.weights.sel(component=name))
                )
            )
        data = pd.concat(frames, ignore_index=True)
        _print_table(data[["component", "weight", *data.columns[:4]]], fmt, title="")
        return
    _print_table(
        table,
        fmt,
        cells=table.assign(weight=table["weight"].map("{:.3f}".format)),
        title=f"averaged posterior: {len(result.names)} components",
        caption=f"{result.method} weights; draws mixed in proportion, seed {result.seed}",
        keys=["component"],
        right=["weight"],
    )
    for name, part in result.components.items():
        console.print(f"[bold]component {name}[/]", highlight=False)
        _print_diagnostics(part.diagnostics, fmt)


def _check_recipe(ctx: typer.Context, recipe: str | None) -> None:
    """Refuse --recipe with an option the recipe sets in each component (--likelihood …)."""
    if recipe is None:
        return
    for option in ("likelihood", "discrepancy"):
        source = ctx.get_parameter_source(option)
        sets = any(option in changes for changes in RECIPES[recipe].values())
        if sets and source is not None and source.name == "COMMANDLINE":
            raise ConfigError(
                f"--recipe {recipe} sets the {option} of each component "
                f"({', '.join(RECIPES[recipe])}); leave out --{option}"
            )
