"""Fitting: the only module that calls a sampler.

``fit`` validates the runs, builds the hierarchical model of :mod:`models.build`,
samples it with nutpie (default) or PyMC's NUTS, stores the pointwise log-likelihood
(for LOO) and the log prior (for power-scaling sensitivity), checks convergence and
returns a frozen :class:`Fit`. ``prior_predictive`` draws from the prior of the same model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from forecast import _idata
from forecast.compiled import (
    _CACHE_LOCK,
    _cached,
    _nutpie_compiled,
    compile_nutpie,
    draws_log_prior,
    model_options,
)
from forecast.compiled import clear_model_cache as clear_model_cache
from forecast.config import DEFAULT_MODEL, FUNNEL_TARGET_ACCEPT, FitConfig, SamplerConfig
from forecast.data.runs import load_runs, runs_dataset, runs_from_dataset, validate_runs
from forecast.diagnostics import check_convergence, diagnose, needs_more_draws
from forecast.errors import DataError
from forecast.units import LOSS_ATTRS
from models.build import (
    LOG_PRIOR_PREFIX,
    OBSERVED,
    POTENTIALS_IGNORED,
    ModelData,
    build_model,
    effective_pooled,
    initial_values,
    pointwise_log_likelihood,
)
from models.laws import get_law
from models.priors import PriorSpec

#: The group label used when a fit has no grouping column.
SINGLE_GROUP = "all"
#: Version of the layout of saved files (bumped when ``save`` changes what it writes).
FORMAT_VERSION = 1
_VERSIONED = ("scaling-forecast", "pymc", "pytensor", "nutpie", "arviz", "numpy", "xarray")


@dataclass(frozen=True)
class Fit:
    """A fitted scaling-law posterior.

    Attributes
    ----------
    idata : arviz.InferenceData
        Groups ``posterior``, ``sample_stats``, ``log_likelihood``, ``log_prior``,
        ``observed_data`` and ``fit_data`` (the validated runs); root attrs carry the
        package and library versions, the config JSON, its hash, the seed and a data hash.
    config : FitConfig
        What was fitted.
    runs : pandas.DataFrame
        The validated runs table the model saw.
    diagnostics : xarray.Dataset
        R-hat, ESS per parameter and sampler-level checks (see :func:`diagnose`).
    """

    idata: object
    config: FitConfig
    runs: pd.DataFrame
    diagnostics: xr.Dataset

    @property
    def groups(self) -> list[str]:
        """Group labels in model order."""
        return group_labels(self.runs, self.config)

    @property
    def converged(self) -> bool:
        """Whether every convergence threshold passed."""
        return bool(self.diagnostics.attrs["passed"])

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior draws as an ``xr.Dataset`` (dims ``chain``, ``draw``, …)."""
        return _idata.group(self.idata, "posterior")

    @cached_property
    def model_data(self) -> ModelData:
        """The model's arrays from the runs (:func:`model_data`; centres), built once."""
        return model_data(self.runs, self.config)


def package_versions() -> dict[str, str]:
    """Versions of this package and of the libraries that shape a posterior."""
    out = {}
    for name in _VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def data_hash(runs: pd.DataFrame) -> str:
    """SHA-256 (16 hex digits) of the canonical CSV of the runs table."""
    text = runs.to_csv(index=False, float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def group_labels(runs: pd.DataFrame, config: FitConfig) -> list[str]:
    """Sorted group labels of ``runs`` under ``config`` (one label when ungrouped)."""
    if config.groups is None:
        return [SINGLE_GROUP]
    return sorted(runs[config.groups].astype(str).unique())


def model_data(runs: pd.DataFrame, config: FitConfig) -> ModelData:
    """Arrays for :func:`models.build.build_model` from a validated runs table."""
    labels = group_labels(runs, config)
    if config.groups is None:
        idx = np.zeros(len(runs), dtype=int)
    else:
        idx = pd.Categorical(runs[config.groups].astype(str), categories=labels).codes
    law = get_law(config.law)
    log_U = None
    if law.needs_unique_tokens:
        D = runs["D"].to_numpy(float)
        unique = runs["unique_tokens"] if "unique_tokens" in runs else runs["D"]
        log_U = np.log(np.minimum(unique.fillna(runs["D"]).to_numpy(float), D))
    rel_sd = None
    if "loss_sd" in runs and runs["loss_sd"].notna().any():
        rel_sd = (runs["loss_sd"].fillna(0.0) / runs["loss"]).to_numpy(float)
    return ModelData(
        log_N=np.log(runs["N"].to_numpy(float)),
        log_D=np.log(runs["D"].to_numpy(float)),
        log_loss=np.log(runs["loss"].to_numpy(float)),
        group_idx=np.asarray(idx, dtype=int),
        groups=tuple(labels),
        log_U=log_U,
        rel_sd=rel_sd,
    )


def make_model(
    runs: pd.DataFrame, config: FitConfig, *, parametrisation: str = "centre"
) -> pm.Model:
    """Build the unsampled PyMC model of ``config`` on a validated runs table.

    ``parametrisation="centre"`` (default) samples the Chinchilla terms through the
    data-centre coordinates, as :func:`fit` does for the models
    :func:`forecast.config.samples_centre` names; ``"plain"`` samples the law's
    parameters directly, as :func:`fit` does otherwise and prior-predictive draws do (see
    :func:`models.build.build_model`).
    """
    return build_model(
        model_data(runs, config), parametrisation=parametrisation, **model_options(config)
    )


def _prepare(runs: pd.DataFrame | str | Path, config: FitConfig) -> pd.DataFrame:
    path = str(runs) if isinstance(runs, str | Path) else None
    table = validate_runs(load_runs(runs), path=path, group=config.groups, min_group_size=1)
    if get_law(config.law).needs_unique_tokens and "unique_tokens" not in table:
        raise DataError(
            f"{path or '<DataFrame>'}: column 'unique_tokens' is required by law "
            f"{config.law!r} (unique tokens U of each run; U = D when data is not repeated)",
            path=path,
            column="unique_tokens",
        )
    return table


def _seeds(seed: int, k: int) -> list[int]:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(k)]


def _sampler_name(sampler: SamplerConfig) -> str:
    """``sampler.sampler``, or ``"pymc"`` (with a warning) when nutpie cannot be imported."""
    if sampler.sampler == "nutpie":
        try:
            import nutpie  # noqa: F401
        except ImportError:  # pragma: no cover - exercised only without nutpie installed
            warnings.warn(
                "nutpie is not installed; falling back to PyMC's NUTS sampler",
                UserWarning,
                stacklevel=4,
            )
            return "pymc"
    return sampler.sampler


def _sample(model: pm.Model, sampler: SamplerConfig, seed: int):
    """Run NUTS; returns (InferenceData, name of the sampler used, seconds compiling).

    nutpie compiles the model (numba) before sampling and the time is returned apart;
    PyMC compiles inside ``pm.sample`` and reports 0.
    """
    sampler = sampler.resolved(law="", pooled=())
    name = _sampler_name(sampler)
    if name == "nutpie":
        start = time.perf_counter()
        compiled = compile_nutpie(model)
        compiling = time.perf_counter() - start
        return _nutpie_sample(compiled, sampler, seed), name, compiling
    return _pymc_sample(model, sampler, seed), name, 0.0


def _resolved_sampler(config: FitConfig, data: ModelData) -> SamplerConfig:
    """Return the NUTS settings used for ``config`` on ``data`` (chosen by model structure)."""
    pooled = effective_pooled(get_law(config.law), config.pooled_params, len(data.groups))
    return config.sampler.resolved(
        law=config.law, pooled=pooled, n_runs=len(data.log_loss), likelihood=config.likelihood
    )


def _sample_data(entry: dict, data: ModelData, config: FitConfig, seed: int):
    """Sample the cached model of ``data``'s structure (compiled once per structure).

    Returns (idata, sampler name, compile s, kept run's ``SamplerConfig``, notes). Left to
    the model, a divergent run is sampled again, same seed, at ``FUNNEL_TARGET_ACCEPT``
    (SBC, 30 runs: 6 of 10 diverged at 0.9, none at 0.99); left to the fit, one failing
    R-hat or ESS with twice the draws, every second kept (``SamplerConfig.draws``).
    """
    sampler = _resolved_sampler(config, data)
    raw, name, compiling = _sample_with(entry, data, sampler, seed)
    notes = {"first_run_divergences": 0, "long_run_draws": 0}
    if config.sampler.target_accept is None and sampler.target_accept < FUNNEL_TARGET_ACCEPT:
        notes["first_run_divergences"] = _divergences(raw)
        if notes["first_run_divergences"]:
            sampler = dataclasses.replace(sampler, target_accept=FUNNEL_TARGET_ACCEPT)
            raw, name, _ = _sample_with(entry, data, sampler, seed)
    if config.sampler.draws is None and needs_more_draws(diagnose(raw)):
        notes["long_run_draws"] = 2 * sampler.draws
        longer = dataclasses.replace(sampler, draws=notes["long_run_draws"])
        raw = _idata.thinned(_sample_with(entry, data, longer, seed)[0], 2)
    return raw, name, compiling, sampler, notes


def _sample_with(entry: dict, data: ModelData, sampler: SamplerConfig, seed: int):
    """Sample the cached model of ``data`` with ``sampler`` (resolved); (idata, name, compile s)."""
    name = _sampler_name(sampler)
    if name == "nutpie":
        compiled, compiling = _nutpie_compiled(entry, data)
        return _nutpie_sample(compiled, sampler, seed), name, compiling
    with _CACHE_LOCK:
        pm.set_data(data.shared_values(), model=entry["model"])
        return _pymc_sample(entry["model"], sampler, seed), name, 0.0


def _pymc_sample(model: pm.Model, sampler: SamplerConfig, seed: int):
    with model:
        idata = pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=sampler.n_cores,
            random_seed=seed,
            initvals=initial_values(model),
            target_accept=sampler.target_accept,
            progressbar=sampler.progress,
            compute_convergence_checks=False,
        )
    return idata


def _nutpie_sample(compiled, sampler: SamplerConfig, seed: int):
    import nutpie

    return nutpie.sample(
        compiled,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=sampler.n_cores,
        seed=seed,
        target_accept=sampler.target_accept,
        low_rank_modified_mass_matrix=sampler.low_rank_mass_matrix,
        progress_bar=sampler.progress,
        save_warmup=False,
    )


def sample_model(
    model: pm.Model, *, sampler: SamplerConfig, seed: int
) -> tuple[xr.Dataset, xr.Dataset]:
    """Sample any PyMC model (e.g. the dataset-growth trend) with the package's sampler.

    Parameters
    ----------
    model : pymc.Model
        An unsampled model.
    sampler : SamplerConfig
        NUTS settings.
    seed : int
        Seed.

    Returns
    -------
    tuple of xarray.Dataset
        The posterior (transformed auxiliaries dropped) and its diagnostics table
        (see :func:`forecast.diagnostics.diagnose`).
    """
    raw, _, _ = _sample(model, sampler, _seeds(seed, 2)[0])
    posterior = _idata.group(raw, "posterior")
    posterior = posterior[[v for v in posterior.data_vars if not str(v).endswith("__")]]
    return posterior, diagnose(raw)


def _log_likelihood(posterior: xr.Dataset, data: ModelData, config: FitConfig) -> xr.Dataset:
    """Pointwise log-likelihood group (for LOO), evaluated with numpy on the draws."""
    names = [f"{p}_group" for p in get_law(config.law).params] + ["sigma", "tau", "nu"]
    draws = {
        name: posterior[name].transpose("chain", "draw", ...).values
        for name in names
        if name in posterior
    }
    values = pointwise_log_likelihood(
        data,
        draws,
        law=config.law,
        likelihood=config.likelihood,
        discrepancy=config.discrepancy,
    )
    coords = {
        "chain": posterior["chain"],
        "draw": posterior["draw"],
        "run": np.arange(values.shape[-1]),
    }
    return xr.Dataset({OBSERVED: (("chain", "draw", "run"), values)}, coords=coords)


def _posterior(raw, data: ModelData) -> xr.Dataset:
    """Select the sampled parameters of ``raw``, their groups labelled by ``data``.

    nutpie also stores the unconstrained values (``E_log__``...), which are not parameters,
    and a compiled model reused for other runs keeps the group labels it was compiled with.
    """
    posterior = _idata.group(raw, "posterior")
    keep = [
        v
        for v in posterior.data_vars
        if not str(v).endswith("__") and not str(v).startswith(LOG_PRIOR_PREFIX)
    ]
    out = posterior[keep]
    if "group" in out.dims:
        out = out.assign_coords(group=list(data.groups))
    return out


def _log_prior(raw, entry: dict) -> xr.Dataset:
    """Log prior density of every parameter, per draw (for prior-sensitivity checks).

    Named as the plain parametrisation names its variables: the law's parameters the centre
    parametrisation derives carry their prior in the ``log_prior__<name>`` deterministics,
    the coordinates it samples have a flat density and no entry. The rest is
    ``pm.compute_log_prior``'s, compiled once per structure
    (:func:`forecast.compiled.draws_log_prior`).
    """
    posterior = _idata.group(raw, "posterior")
    derived = {
        str(v)[len(LOG_PRIOR_PREFIX) :]: posterior[v]
        for v in posterior.data_vars
        if str(v).startswith(LOG_PRIOR_PREFIX)
    }
    model = entry["model"]
    sampled = tuple(v.name for v in model.free_RVs if v.name not in derived and not _is_flat(v))
    return draws_log_prior(entry, posterior, sampled).assign(derived)


def _is_flat(rv) -> bool:
    """Whether ``rv`` is a ``pm.Flat`` coordinate (its density lives in a potential)."""
    return type(rv.owner.op).__name__ == "FlatRV"


def _assemble(raw, entry, data, runs, config, sampler_used, timings) -> object:
    """Add log-likelihood, log prior, observed data, the runs and metadata attrs."""
    posterior = _posterior(raw, data)
    groups = {
        "posterior": posterior,
        "sample_stats": _idata.group(raw, "sample_stats"),
        "log_likelihood": _log_likelihood(posterior, data, config),
        "log_prior": _log_prior(raw, entry),
        "observed_data": xr.Dataset({OBSERVED: ("run", data.log_loss)}),
        "fit_data": runs_dataset(runs),
    }
    versions = package_versions()
    attrs = {
        "format_version": FORMAT_VERSION,
        "package_version": versions["scaling-forecast"],
        "versions": json.dumps(versions, sort_keys=True),
        "config": config.to_json(),
        "config_hash": config.config_hash,
        "seed": config.seed,
        "law": config.law,
        "data_hash": data_hash(runs),
        "sampler_used": sampler_used,
        "compile_seconds": round(timings["compile"], 3),
        "sampling_seconds": round(timings["sampling"], 3),
        "target_accept": timings["target_accept"],
        "low_rank_mass_matrix": int(timings["low_rank_mass_matrix"]),
        # divergences of a first run at the model's default target_accept, resampled at
        # FUNNEL_TARGET_ACCEPT (0: not resampled), and the draws per chain of a run made
        # for R-hat or bulk ESS, thinned by 2 (0: none; draws left to the fit); _sample_data
        "first_run_divergences": int(timings["first_run_divergences"]),
        "long_run_draws": int(timings["long_run_draws"]),
    }
    return _idata.with_attrs(_idata.new(groups), attrs)


def fit(
    runs: pd.DataFrame | str | Path,
    *,
    law: str = "chinchilla",
    priors: str | dict[str, PriorSpec] = "weak",
    groups: str | None = None,
    likelihood: str = DEFAULT_MODEL["likelihood"],
    discrepancy: str | None = DEFAULT_MODEL["discrepancy"],
    sampler: SamplerConfig = SamplerConfig(),
    seed: int = 0,
    strict: bool = False,
    config: FitConfig | None = None,
) -> Fit:
    r"""Fit a hierarchical scaling law to training runs.

    The model is :func:`models.build.build_model`: log loss around the law,
    parameters partially pooled across groups with non-centred offsets.

    Parameters
    ----------
    runs : pandas.DataFrame or path
        Runs in the tidy schema (``N`` parameters, ``D`` tokens, ``loss`` nats/token, …),
        or a CSV path; validated by :func:`forecast.data.runs.load_runs`.
    law : str
        ``"chinchilla"``, ``"chinchilla_broken"``, ``"kaplan"``, ``"kaplan_floor"`` or
        ``"data_constrained"``.
    priors : str or dict
        Prior preset name (``"weak"``, ``"hoffmann2022"``, ``"besiroglu2024"``,
        ``"muennighoff2023"``, ``"kaplan2020"``) or a mapping of prior key to ``PriorSpec``.
    groups : str, optional
        Column whose values are the groups (corpus, eval set, family …); ``None`` = one group.
    likelihood : {"normal", "student_t"}
        Distribution of log loss; Student-t by default (:data:`forecast.config.DEFAULT_MODEL`).
    discrepancy : {"compute", None}
        ``"compute"`` (default): a model-discrepancy SD that grows with the distance of a
        run's compute from the data centre, so that bands widen as forecasts extrapolate.
        ``likelihood="normal", discrepancy=None`` is the foundation's plain model
        (:data:`forecast.config.PLAIN_MODEL`).
    sampler : SamplerConfig
        NUTS settings; nutpie by default, PyMC's NUTS when nutpie is unavailable.
    seed : int
        Seed; the same data, config and seed give identical draws.
    strict : bool
        Raise ``ConvergenceError`` instead of warning when diagnostics fail.
    config : FitConfig, optional
        A whole config; when given it replaces the keywords above (except ``strict``).

    Returns
    -------
    Fit
        Posterior, config, validated runs and diagnostics.

    Raises
    ------
    DataError
        Invalid runs (names file, column and rows).
    ConfigError
        Unknown law, preset, prior key or option.
    ConvergenceError
        With ``strict=True``, when R-hat > 1.01, bulk ESS < 400, any divergence or
        E-BFMI < 0.3.

    Warns
    -----
    ConvergenceWarning
        When a diagnostic threshold fails (without ``strict``).

    Notes
    -----
    .. math:: \log L_i \sim t_\nu\!\left(\log f(N_i, D_i; \theta_{g[i]}),\
              \sqrt{\sigma_{g[i]}^2 + \tau^2 d_i^2}\right)

    by default, :math:`d_i` the decades of compute from the data centre
    (:func:`models.noise.discrepancy_sd`); the plain model is Normal with SD :math:`\sigma_g`.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556 (the Chinchilla law);
    Besiroglu et al. 2024, arXiv:2404.10102 (the replication whose points we test on).

    Examples
    --------
    >>> from forecast import fit, load_dataset, SamplerConfig
    >>> runs = load_dataset("gadre2024").query("eval_set == 'c4_val'")
    >>> result = fit(runs, groups="corpus", seed=1)  # doctest: +SKIP
    >>> result.posterior["alpha"].median().item()  # doctest: +SKIP
    0.3...
    """
    if config is None:
        fields = dict(law=law, priors=priors, groups=groups, likelihood=likelihood)
        config = FitConfig(**fields, discrepancy=discrepancy, sampler=sampler, seed=seed)
    # The runs exactly as a saved file will hold them, so data hashes agree after a reload.
    table = runs_from_dataset(runs_dataset(_prepare(runs, config)))
    data = model_data(table, config)
    start, sample_seed = time.perf_counter(), _seeds(config.seed, 2)[0]
    entry = _cached(data, config)
    raw, used, compiling, resolved, notes = _sample_data(entry, data, config, sample_seed)
    timings = {"compile": compiling, "sampling": time.perf_counter() - start - compiling}
    timings |= notes | {"target_accept": resolved.target_accept}
    timings["low_rank_mass_matrix"] = resolved.low_rank_mass_matrix
    with _CACHE_LOCK:
        pm.set_data(data.shared_values(), model=entry["model"])
        idata = _assemble(raw, entry, data, table, config, used, timings)
    diagnostics = diagnose(idata)
    check_convergence(diagnostics, strict=strict)
    return Fit(idata=idata, config=config, runs=table, diagnostics=diagnostics)


def prior_predictive(
    runs: pd.DataFrame | str | Path,
    *,
    config: FitConfig = FitConfig(),
    draws: int = 500,
) -> xr.Dataset:
    r"""Draw from the prior and the prior predictive of the model at the runs' (N, D).

    Use it before fitting to see whether the priors allow sensible losses: the
    prior-predictive loss should cover the observed losses without putting mass on
    absurd values (losses of hundreds of nats/token, or floors above the data).

    Parameters
    ----------
    runs : pandas.DataFrame or path
        Runs in the tidy schema (their N, D and groups set the prediction points).
    config : FitConfig
        Law, priors, grouping and likelihood; ``config.seed`` seeds the draws.
    draws : int
        Number of prior draws.

    Returns
    -------
    xarray.Dataset
        Prior draws of every parameter (dims ``chain``, ``draw`` …) and ``loss``
        (nats/token, dims ``chain``, ``draw``, ``run``) predicted for each run, plus the
        observed ``observed_loss`` along ``run``.

    Notes
    -----
    .. math:: \tilde L_i = \exp(\widetilde{\log L_i}),\quad
              \widetilde{\log L_i} \sim p(\log L_i \mid \theta),\ \theta \sim p(\theta)

    Examples
    --------
    >>> from forecast import prior_predictive, load_dataset
    >>> runs = load_dataset("gadre2024").query("eval_set == 'c4_val'")
    >>> pp = prior_predictive(runs, draws=50)
    >>> sorted(pp["loss"].dims)
    ['chain', 'draw', 'run']
    """
    table = _prepare(runs, config)
    model = make_model(table, config, parametrisation="plain")
    with model, warnings.catch_warnings():
        # the Student-t normaliser, a potential, is part of the likelihood: no prior draw needs it
        warnings.filterwarnings("ignore", message=POTENTIALS_IGNORED, category=UserWarning)
        idata = pm.sample_prior_predictive(draws=draws, random_seed=_seeds(config.seed, 2)[1])
    prior = _idata.group(idata, "prior")
    predictive = _idata.group(idata, "prior_predictive")[OBSERVED]
    out = prior.copy()
    predictive = predictive.rename({predictive.dims[-1]: "run"})
    out["loss"] = np.exp(predictive).assign_attrs(LOSS_ATTRS)
    out["observed_loss"] = xr.DataArray(table["loss"].to_numpy(float), dims="run").assign_attrs(
        LOSS_ATTRS
    )
    out.attrs.update({"law": config.law, "config_hash": config.config_hash, "seed": config.seed})
    return out


# --- Refitting one design under many observed vectors (simulation-based calibration) ---


def sample_replicates(
    runs: pd.DataFrame, observed: Sequence[np.ndarray], *, config: FitConfig
) -> Iterator[tuple[xr.Dataset, xr.Dataset]]:
    """Sample the model of one design under several observed log-loss vectors.

    Every replicate shares the runs' N, D, groups (and so the model graph); only the
    observed losses change, and every replicate samples the one model of the design's
    structure (compiled once per process with nutpie, see :func:`fit`).

    Parameters
    ----------
    runs : pandas.DataFrame
        The design as a runs table (its ``loss`` column is a placeholder).
    observed : sequence of numpy.ndarray
        Log losses (log of nats/token), one vector of ``len(runs)`` per replicate.
    config : FitConfig
        Model and sampler; replicate ``k`` is sampled with the ``k``-th seed spawned from
        ``config.seed``.

    Yields
    ------
    tuple of xarray.Dataset
        The posterior (auxiliaries dropped) and its diagnostics table per replicate.
    """
    table = _prepare(runs, config)
    seeds = _seeds(config.seed, len(observed))
    data = model_data(table, config)
    entry = _cached(data, config)
    for values, seed in zip(observed, seeds, strict=True):
        values = np.asarray(values, dtype=float)
        if values.shape != (len(table),) or not np.all(np.isfinite(values)):
            raise ValueError(f"each observed vector must hold {len(table)} finite log losses")
        replicate = dataclasses.replace(data, log_loss=values)
        raw, *_, notes = _sample_data(entry, replicate, config, seed)
        yield _posterior(raw, replicate), diagnose(raw).assign_attrs(notes)


def sample_plain(
    model: pm.Model, *, draws: int, tune: int, chains: int, seed: int
) -> tuple[xr.Dataset, int]:
    """Sample a model that is not a scaling-law fit (the population meta-model) with nutpie.

    One core and a fixed seed, so the draws are reproducible. Returns the posterior and the
    number of divergent transitions.
    """
    import nutpie

    compiled = compile_nutpie(model, initial_points=False)
    trace = nutpie.sample(
        compiled, draws=draws, tune=tune, chains=chains, seed=seed, progress_bar=False, cores=1
    )
    post = _idata.group(trace, "posterior")
    return post, _divergences(trace)


def _divergences(trace) -> int:
    """Count the divergent transitions in a sampler's InferenceData."""
    return int(np.asarray(_idata.group(trace, "sample_stats")["diverging"]).sum())
