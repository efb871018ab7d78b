r"""Run a sensitivity study on Dask: how much the 10T forecast depends on its choices.

:func:`sensitivity` fits every configuration of a study (see
:mod:`forecast.studies.sensitivity_plan` for the study file and its axes) and summarises each at
``N`` parameters (default 1e13) with the compute-optimal token count: loss median and interval,
tokens per parameter, P(the tokens needed exceed the stock of text), sampler diagnostics, and
power-scaling sensitivity per parameter — prior sensitivity without refitting (Kallioinen et al.
2024), from the log prior and log likelihood every fit stores. :func:`axis_effects` ranks the
axes for a tornado plot.

Why it is built this way
------------------------
* **One fit, many configurations.** The stock prior and the FLOP convention do not change a
  posterior (unless a compute cutoff uses the convention), so configurations that differ only
  there share one fit; a task fits once and summarises each of them.
* **Pure, small tasks on Dask.** A task is a function of (runs, config dict, seed) that builds
  and samples the PyMC model inside the worker and returns small ``xr.Dataset`` summaries;
  the same code runs on a ``LocalCluster`` (default: one single-threaded worker process per
  core, each fit's chains sampled on that one core) or against any scheduler address.
* **Resumable and fault tolerant.** The client writes each configuration's summary atomically
  as ``<out>/<config_hash>.nc`` as it arrives (workers need no shared disk); re-running
  reuses those files. An exception in a configuration is recorded in the result
  (``status``/``error``), a configuration that cannot even be built likewise, and a task on a
  worker that dies is rescheduled by Dask. Failures are not cached: the next run retries them.
* **Common random numbers.** Every configuration is fitted with the study's seed, so the
  differences between configurations reflect the choices, not Monte Carlo noise.
* **Summaries are equal-tailed intervals** of the mean curve (the law, not one noisy run),
  the quantity a forecast of "the loss of a model of this size" means.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from forecast import _idata
from forecast.config import FitConfig, SamplerConfig
from forecast.errors import ConfigError, ConvergenceWarning, ExtrapolationWarning
from forecast.fit import fit, package_versions
from forecast.intervals import eti
from forecast.io import write_atomic
from forecast.studies.sensitivity_plan import (
    AXES,
    SUMMARY_VERSION,
    Configuration,
    Study,
    axis_effects,
    content_hash,
    jsonable,
    load_study,
    plan,
)
from models.build import OFFSET_PREFIXES
from models.laws import get_law

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["axis_effects", "run_task", "sensitivity"]

#: File name of the combined result in the output directory.
STUDY_FILE = "study.nc"

# ------------------------------------------------------------------------ the task (worker)


def _interval(values: np.ndarray, ci_prob: float) -> tuple[float, np.ndarray]:
    """Median and equal-tailed interval of all ``values``, NaN skipped (NaN if none finite)."""
    flat = np.asarray(values, float).ravel()
    if not np.isfinite(flat).any():
        return math.nan, np.array([math.nan, math.nan])
    median, bounds = eti(flat, ci_prob, skipna=True)
    return float(median), bounds


def _add(ds: xr.Dataset, name: str, values, ci_prob: float | None, units: str, long_name: str):
    """Add ``<name>_median`` and, with ``ci_prob``, ``<name>_ci`` (equal-tailed)."""
    median, ci = _interval(values, ci_prob or 0.5)
    attrs = {"units": units, "long_name": long_name}
    ds[f"{name}_median"] = xr.DataArray(median, attrs={**attrs, "statistic": "median"})
    if ci_prob is not None:
        ds[f"{name}_ci"] = xr.DataArray(
            ci, dims="ci_bound", attrs={**attrs, "ci_kind": "eti", "ci_prob": ci_prob}
        )


def _exhaustion_summary(ds, result, spec, seed: int, trend) -> str:
    """P(exhausted), epochs, repeat penalty (and years with a trend); returns a note."""
    from forecast.exhaustion import StockPrior, exhaustion

    ci_prob = spec["ci_prob"]
    names = ("p_exhausted", "epochs_needed_median", "loss_penalty_median")
    try:
        ex = exhaustion(
            result,
            N=spec["N"],
            stock=StockPrior(**spec["stock"]),
            scenarios={"compute_optimal": "compute_optimal"},
            trend=trend,
            group=spec["forecast_group"],
            ci_prob=ci_prob,
            seed=seed,
        ).isel(scenario=0)
    except ConfigError as exc:  # e.g. a Kaplan law: no Chinchilla-form allocation
        for name in names:
            ds[name] = xr.DataArray(math.nan, attrs={"units": "1", "long_name": name})
        return f"exhaustion not computed: {exc}"
    for name in names:
        ds[name] = xr.DataArray(float(ex[name]), attrs=dict(ex[name].attrs))
    if trend is not None:
        for name in ("exhaustion_year", "year_needed"):
            long_name = ex[name].attrs.get("long_name", name)
            _add(ds, name, ex[name].values, ci_prob, "year", long_name)
    return ""


def _summarize(result, spec: Mapping, seed: int, fit_seconds: float, trend=None) -> xr.Dataset:
    """Forecast summary of one configuration from its fit (see module notes)."""
    from forecast.scenarios import forecast_draws

    N, k, ci_prob = spec["N"], spec["flop_per_param_token"], spec["ci_prob"]
    draws = forecast_draws(
        result,
        N=N,
        scenarios=[{"kind": "compute_optimal"}],
        group=spec["forecast_group"],
        flop_per_param_token=k,
        seed=seed,
    ).isel(scenario=0)
    dims = ("chain", "draw")
    loss = draws["loss"].transpose(*dims).values
    ds = xr.Dataset(coords={"ci_bound": ["lower", "upper"]})
    what = f"at N = {N:.3g} parameters, compute-optimal D"
    _add(ds, "loss", loss, ci_prob, "nats/token", f"loss (mean curve) {what}")
    for name, units in (("tokens_per_param", "tokens/parameter"), ("D", "tokens"), ("C", "FLOP")):
        values = draws[name].values
        _add(
            ds,
            name,
            values,
            ci_prob if name == "tokens_per_param" else None,
            units,
            f"{name} {what}",
        )
    reducible = draws["reducible_loss"].values
    _add(ds, "reducible_loss", reducible, None, "nats/token", f"distance to the floor L - E {what}")
    note = _exhaustion_summary(ds, result, spec, seed, trend)
    table = result.diagnostics
    scalars = {
        "divergences": (table.attrs["divergences"], "1", "divergent transitions"),
        "r_hat_max": (float(table["r_hat"].max(skipna=True)), "1", "largest R-hat"),
        "ess_bulk_min": (float(table["ess_bulk"].min(skipna=True)), "1", "smallest bulk ESS"),
        "converged": (int(result.converged), "1", "1 if every convergence threshold passed"),
        "fit_seconds": (fit_seconds, "s", "wall time of the fit (compile + sampling)"),
        "n_runs": (len(result.runs), "1", "runs fitted"),
    }
    for name, (value, units, long_name) in scalars.items():
        ds[name] = xr.DataArray(value, attrs={"units": units, "long_name": long_name})
    law = get_law(result.config.law)
    posterior = result.posterior[list(law.params)]
    posterior["loss_at_N"] = (dims, loss)
    idata = result.idata
    log_prior = _idata.group(idata, "log_prior")
    # the group offsets are structure, not a choice: scale the other priors
    log_prior = log_prior[
        [v for v in log_prior.data_vars if not str(v).startswith(OFFSET_PREFIXES)]
    ]
    for component in ("prior", "likelihood"):
        sens = _idata.power_scaling_sensitivity(
            posterior, log_prior, _idata.group(idata, "log_likelihood"), component=component
        )
        ds[f"{component}_sensitivity"] = xr.DataArray(
            [float(sens[p]) for p in posterior.data_vars],
            dims="parameter",
            coords={"parameter": list(posterior.data_vars)},
            attrs={
                "units": "1",
                "long_name": f"power-scaling {component} sensitivity (CJS); > 0.05 flags it",
            },
        )
    ds["parameter"].attrs.update({"units": "label", "long_name": "law parameter or forecast"})
    ds["ci_bound"].attrs.update({"units": "label", "long_name": "interval bound"})
    ds.attrs["note"] = note
    return ds


def fit_trend_task(sampler: Mapping, seed: int) -> xr.Dataset:
    """Fit the frontier dataset-size trend (for exhaustion years) on a worker.

    Parameters
    ----------
    sampler : mapping
        ``SamplerConfig.to_dict()`` of the trend fit.
    seed : int
        Seed.

    Returns
    -------
    xarray.Dataset
        :func:`forecast.dataset_trend.fit_dataset_trend` on the bundled ``epoch_notable`` table,
        or an empty Dataset whose attrs ``error`` says why it failed.
    """
    from forecast.data.catalog import load_dataset
    from forecast.dataset_trend import fit_dataset_trend

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # its diagnostics are in attrs
            return fit_dataset_trend(
                load_dataset("epoch_notable"), sampler=SamplerConfig.from_dict(sampler), seed=seed
            )
    except Exception as exc:  # without a trend the study goes on, without years
        return xr.Dataset(attrs={"error": f"{type(exc).__name__}: {exc}"})


def run_task(
    runs: pd.DataFrame, task: Mapping, seed: int, trend: xr.Dataset | None = None
) -> dict[str, xr.Dataset]:
    """Fit one configuration and summarise every configuration that shares the fit.

    Pure function of its arguments, run on a Dask worker: it builds and samples the PyMC
    model, so nothing unpicklable crosses the network.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs to fit (subset and cutoff already applied).
    task : mapping
        ``{"fit": FitConfig.to_dict(), "summaries": [summary spec, ...]}``.
    seed : int
        Seed of the forecast's new-group offsets and of the stock draws.
    trend : xarray.Dataset, optional
        Frontier dataset-size trend (:func:`fit_trend_task`); adds exhaustion years.

    Returns
    -------
    dict of str to xarray.Dataset
        Config hash -> summary; a failure is a Dataset with attrs ``error``.
    """
    import distributed

    try:
        where = distributed.get_worker().address
    except ValueError:
        where = "client"
    meta = {"worker": where, "pid": os.getpid()}
    out: dict[str, xr.Dataset] = {}
    try:
        config = FitConfig.from_dict(task["fit"])
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            # Recorded in the summary: the diagnostics say how bad, the study goes on.
            warnings.simplefilter("always", ConvergenceWarning)
            result = fit(runs, config=config)
        seconds = time.perf_counter() - start
        notes = sorted({str(w.message) for w in caught})
    except Exception as exc:  # a failing fit fails its configurations, not the study
        message = f"{type(exc).__name__}: {exc}"
        return {
            s["config_hash"]: xr.Dataset(attrs={**meta, "error": message})
            for s in task["summaries"]
        }
    for spec in task["summaries"]:
        try:
            usable = trend if trend is not None and "error" not in trend.attrs else None
            with warnings.catch_warnings(record=True) as far:
                # Recorded like the sampler's: a study goes on past an extrapolation.
                warnings.simplefilter("always", ExtrapolationWarning)
                ds = _summarize(result, spec, seed, seconds, usable)
            reach = sorted({str(w.message) for w in far if w.category is ExtrapolationWarning})
            ds.attrs.update({**meta, "error": "", "warnings": json.dumps(notes + reach)})
        except Exception as exc:  # one bad summary fails one configuration
            ds = xr.Dataset(attrs={**meta, "error": f"{type(exc).__name__}: {exc}"})
        out[spec["config_hash"]] = ds
    return out


# ------------------------------------------------------------------------ execution (client)


@contextmanager
def _dask_client(client, n_workers: int | None):
    """Yield a ``distributed.Client``: the one given, one to an address, or a LocalCluster."""
    from distributed import Client, LocalCluster

    if isinstance(client, Client):
        yield client
        return
    if isinstance(client, str):
        own = Client(client, timeout="30s")
        try:
            yield own
        finally:
            own.close()
        return
    if client is not None:
        raise ConfigError(
            f"client must be a distributed.Client, an address or None; got {client!r}"
        )
    cluster = LocalCluster(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
    )
    own = Client(cluster)
    try:
        yield own
    finally:
        own.close()
        cluster.close()


def _trend_file(study: Study) -> str:
    settings = {"sampler": study.sampler.to_dict(), "seed": study.seed, "v": SUMMARY_VERSION}
    return f"trend-{content_hash(settings)}.nc"


def _trend(dask, study: Study, out_dir: Path | None, retries: int):
    """Return the frontier trend: read from ``out_dir`` when cached, else a future of its fit."""
    path = None if out_dir is None else out_dir / _trend_file(study)
    if path is not None and path.exists():
        try:
            return _idata.dataset_from_netcdf(path)
        except Exception:  # a damaged cache is refitted
            pass
    return dask.submit(
        fit_trend_task, study.sampler.to_dict(), study.seed, pure=False, retries=retries
    )


def _summary_path(out: Path, config_hash: str) -> Path:
    return out / f"{config_hash}.nc"


def _read_cached(path: Path, config_hash: str) -> xr.Dataset | None:
    try:
        ds = _idata.dataset_from_netcdf(path)
    except Exception:  # a damaged or foreign file is ignored and recomputed
        return None
    return ds if ds.attrs.get("config_hash") == config_hash else None


def sensitivity(
    study: Study | str | Path | Mapping,
    *,
    out: str | Path | None = None,
    client: Client | str | None = None,
    n_workers: int | None = None,
    refit: bool = False,
    retries: int = 2,
    progress: Callable[[int, int, str], None] | None = None,
) -> xr.Dataset:
    r"""Fit and summarise every configuration of a sensitivity study on Dask.

    Parameters
    ----------
    study : Study, path or mapping
        The study, or anything :func:`load_study` reads.
    out : str or Path, optional
        Directory for the per-configuration summaries (``<config_hash>.nc``, written
        atomically as they arrive, reused by the next run) and ``study.nc``, the combined
        result. ``None`` keeps everything in memory.
    client : distributed.Client or str, optional
        A client, or a scheduler address such as ``"tcp://10.0.0.5:8786"``; ``None``
        starts a ``LocalCluster`` of single-threaded worker processes.
    n_workers : int, optional
        Workers of the LocalCluster (default: one per core); ignored with ``client``.
    refit : bool
        Refit configurations whose summaries are cached in ``out``.
    retries : int
        Times Dask reruns a task that raised outside its own error handling.
    progress : callable, optional
        Called as ``progress(done, total, label)`` when a configuration finishes.

    Returns
    -------
    xarray.Dataset
        One dim per study axis (coords: its values). For each configuration, at ``N``
        parameters and the compute-optimal D of each draw (:func:`forecast.scenarios.
        forecast_draws`): ``loss_median``/``loss_ci`` (nats/token, the mean curve,
        equal-tailed ``ci_prob`` interval along ``ci_bound``),
        ``tokens_per_param_median``/``_ci``, ``D_median`` (tokens), ``C_median`` (FLOP),
        ``reducible_loss_median`` (L - E, nats/token); from
        :func:`forecast.exhaustion.exhaustion` with the configuration's stock prior:
        ``p_exhausted``, ``epochs_needed_median``, ``loss_penalty_median`` (NaN for laws
        it does not serve) and, with ``exhaustion_year``, ``exhaustion_year_median``/``_ci``
        and ``year_needed_median``/``_ci`` (year); diagnostics ``divergences``,
        ``r_hat_max``, ``ess_bulk_min``, ``converged``, ``fit_seconds``, ``n_runs``;
        ``prior_sensitivity`` and ``likelihood_sensitivity`` along ``parameter`` (the law's
        population parameters and ``loss_at_N``); ``status`` (``"ok"``, ``"failed"``, or
        ``""`` for cells outside the design), ``error`` and ``config_hash``. Attrs:
        ``baseline`` (JSON), ``design``, ``n_configurations``, ``n_fits_run``,
        ``n_reused``, ``n_failed``, ``seed``, ``law``, ``config_hash`` (of the study),
        ``package_version``, ``ci_kind``, ``ci_prob``, ``N``.

    Raises
    ------
    ConfigError
        An invalid study (a configuration that cannot be built is recorded, not raised).

    Notes
    -----
    The compute-optimal tokens at fixed :math:`N` solve
    :math:`\partial_{\log N} \log L = \partial_{\log D} \log L` on :math:`C = kND`.
    Power-scaling sensitivity raises the prior (or likelihood) to a power
    :math:`\gamma` near 1 by importance weighting and reports the derivative of the
    cumulative Jensen-Shannon distance of each marginal,

    .. math:: p_\gamma(\theta \mid y) \propto p(\theta)^{\gamma} p(y \mid \theta),

    so a prior that matters is found without refitting.

    References
    ----------
    Kallioinen, Paananen, Bürkner, Vehtari 2024, "Detecting and diagnosing prior and
    likelihood sensitivity with power-scaling", Statistics and Computing 34:57.
    Villalobos et al. 2024, arXiv:2211.04325 (the stock of text).

    Examples
    --------
    >>> result = sensitivity("case_studies/studies/gadre_c4.toml", out="gadre")  # doctest: +SKIP
    >>> result["loss_median"].sel(preset="weak").item()  # doctest: +SKIP
    2.6...
    """
    study = study if isinstance(study, Study) else load_study(study)
    configurations = plan(study)
    out_dir = None if out is None else Path(out)
    done: dict[str, xr.Dataset] = {}
    errors = {c.config_hash: c.error for c in configurations if c.error}
    if out_dir is not None and not refit:
        for c in configurations:
            path = _summary_path(out_dir, c.config_hash)
            cached = None if c.error or not path.exists() else _read_cached(path, c.config_hash)
            if cached is not None:
                done[c.config_hash] = cached
    reused = len(done)
    tasks: dict[str, dict] = {}
    for c in configurations:
        if c.error or c.config_hash in done:
            continue
        task = tasks.setdefault(
            c.fit_key, {"runs": c.runs, "fit": c.fit_config.to_dict(), "summaries": []}
        )
        task["summaries"].append(c.summary)
    total, finished = len(configurations), len(done) + len(errors)
    if progress is not None:
        progress(finished, total, f"{reused} cached, {len(errors)} invalid")
    if tasks:
        seed = int(np.random.SeedSequence(study.seed).generate_state(1)[0])
        with _dask_client(client, n_workers) as dask:
            from distributed import as_completed

            trend = _trend(dask, study, out_dir, retries) if study.exhaustion_year else None
            futures = {
                dask.submit(
                    run_task,
                    t["runs"],
                    {"fit": t["fit"], "summaries": t["summaries"]},
                    seed,
                    trend,
                    key=f"sensitivity-{key}-{time.time_ns()}",
                    pure=False,
                    retries=retries,
                ): key
                for key, t in tasks.items()
            }
            for future in as_completed(futures):
                summaries = tasks[futures[future]]["summaries"]
                try:
                    results = future.result()
                except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
                    results = {
                        s["config_hash"]: xr.Dataset(
                            attrs={"error": f"{type(exc).__name__}: {exc}"}
                        )
                        for s in summaries
                    }
                for spec in summaries:
                    ds = results[spec["config_hash"]]
                    if ds.attrs.get("error"):
                        errors[spec["config_hash"]] = ds.attrs["error"]
                    else:
                        ds.attrs.update(_result_attrs(spec, study))
                        done[spec["config_hash"]] = ds
                        if out_dir is not None:
                            path = _summary_path(out_dir, spec["config_hash"])
                            write_atomic(path, lambda tmp, ds=ds: _idata.dataset_to_netcdf(ds, tmp))
                    finished += 1
                    if progress is not None:
                        progress(finished, total, _label(spec["values"]))
            if trend is not None and not isinstance(trend, xr.Dataset) and out_dir is not None:
                fitted = trend.result()
                if "error" not in fitted.attrs:
                    path = out_dir / _trend_file(study)
                    write_atomic(path, lambda tmp: _idata.dataset_to_netcdf(fitted, tmp))
    result = _assemble(study, configurations, done, errors)
    result.attrs.update({"n_fits_run": len(tasks), "n_reused": reused})
    if out_dir is not None:
        write_atomic(out_dir / STUDY_FILE, lambda tmp: _idata.dataset_to_netcdf(result, tmp))
    return result


def _label(values: Mapping) -> str:
    return ", ".join(f"{a}={jsonable(v)}" for a, v in values.items()) or "baseline"


def _result_attrs(spec: Mapping, study: Study) -> dict:
    return {
        "config_hash": spec["config_hash"],
        "config": json.dumps({k: v for k, v in spec.items() if k != "values"}, sort_keys=True),
        "values": json.dumps(spec["values"], sort_keys=True),
        "seed": study.seed,
    }


# --------------------------------------------------------------------------- the result


def _assemble(study: Study, plan: list[Configuration], done: dict, errors: dict) -> xr.Dataset:
    """Place every configuration's summary in a grid with one dim per study axis."""
    axes = list(study.axes)
    shape = tuple(len(study.axes[a]) for a in axes)
    index = {a: {v: i for i, v in enumerate(study.axes[a])} for a in axes}
    parameters = list(
        dict.fromkeys(
            str(p)
            for ds in done.values()
            if "parameter" in ds.coords
            for p in ds["parameter"].values
        )
    )
    names = list(dict.fromkeys(v for ds in done.values() for v in ds.data_vars))
    arrays, attrs, extra = {}, {}, {}
    for name in names:
        like = next(ds[name] for ds in done.values() if name in ds)
        own = {d: (parameters if d == "parameter" else list(like[d].values)) for d in like.dims}
        arrays[name] = np.full(shape + tuple(len(v) for v in own.values()), np.nan)
        attrs[name], extra[name] = dict(like.attrs), own
    status = np.full(shape, "", dtype=object)
    error = np.full(shape, "", dtype=object)
    hashes = np.full(shape, "", dtype=object)
    for c in plan:
        cell = tuple(index[a][c.values[a]] for a in axes)
        hashes[cell] = c.config_hash
        if c.config_hash in done:
            status[cell] = "ok"
            ds = done[c.config_hash]
            for name in names:
                if name in ds:
                    arrays[name][cell] = (
                        ds[name]
                        .reindex({d: v for d, v in extra[name].items() if d == "parameter"})
                        .values
                    )
        else:
            status[cell] = "failed"
            error[cell] = errors.get(c.config_hash, "not run")
    coords = {a: list(study.axes[a]) for a in axes}
    ds = xr.Dataset(coords=coords)
    for name in names:
        ds[name] = xr.DataArray(arrays[name], dims=axes + list(extra[name]), attrs=attrs[name])
        ds = ds.assign_coords({d: v for d, v in extra[name].items() if d not in ds.coords})
    for name, values, long_name in (
        ("status", status, "'ok', 'failed', or '' when not in the design"),
        ("error", error, "error message of a failed configuration"),
        ("config_hash", hashes, "content hash naming the configuration's summary file"),
    ):
        ds[name] = xr.DataArray(
            values.astype(str), dims=axes, attrs={"units": "label", "long_name": long_name}
        )
    for a in axes:
        ds[a].attrs.update({"units": AXES[a][1], "long_name": AXES[a][2]})
    for name in ("ci_bound", "parameter"):
        if name in ds.coords:
            ds[name].attrs.update({"units": "label"})
    versions = package_versions()
    ds.attrs.update(
        {
            "title": f"sensitivity study {study.name}",
            "source": study.source,
            "design": study.design,
            "baseline": json.dumps({a: jsonable(v) for a, v in study.baseline.items()}),
            "n_configurations": len(plan),
            "n_failed": int(sum(1 for c in plan if c.config_hash not in done)),
            "package_version": versions["scaling-forecast"],
            "config_hash": content_hash(sorted(c.config_hash for c in plan)),
            "seed": study.seed,
            "law": study.baseline["law"],
            "N": study.N,
            "ci_kind": "eti",
            "ci_prob": study.ci_prob,
            "forecast_group": study.forecast_group or "new group from the population",
        }
    )
    return ds
