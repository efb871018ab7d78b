r"""Synthetic runs from a known law, and simulation-based calibration of the fit.

:func:`simulate` draws training runs from a law with known parameters and a known noise
model, in the package's runs schema, so a planned ladder can be tested before any GPU
hour is spent and parameter recovery can be checked. :func:`ladder` builds the usual
design, every model size at several tokens-per-parameter ratios.

:func:`sbc` is simulation-based calibration (Talts et al. 2018): draw parameters from the
prior, simulate runs on the design, fit, and record the rank of each true value among
the posterior draws. When the sampler and the model are right, the ranks are uniform and
the 90% intervals contain the truth in 90% of replicates; a U-shaped histogram means
intervals that are too narrow, a hump means too wide, a slope means bias.

Why these choices
-----------------
* **Noise on log loss.** The model's likelihood is on :math:`\log L`, so the simulator
  adds the same noise there: relative errors, Normal or Student-t.
* **Rejection on the data only.** Weak priors put some mass on losses no language model
  has (above 20 nats/token, which :func:`~forecast.data.runs.load_runs` rejects, or outside a
  user ``loss_range``). :func:`sbc` skips those prior draws. Conditioning on an event of
  the *data* leaves the posterior given the data unchanged, so the ranks stay uniform;
  the truth is then drawn from the prior restricted to plausible ladders.
* **One compiled model per design.** Every replicate has the same (N, D, group), so the
  model is compiled once and only the observed losses change
  (:func:`forecast.fit.sample_replicates`).

References
----------
Talts, Betancourt, Simpson, Vehtari, Gelman 2018, "Validating Bayesian inference
algorithms with simulation-based calibration", arXiv:1804.06788.
Modrák et al. 2023, "Simulation-based calibration checking for Bayesian computation",
Bayesian Analysis, arXiv:2211.02383.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import FitConfig
from forecast.data.runs import MAX_LOSS, load_runs
from forecast.errors import ConfigError, DataError
from forecast.fit import SINGLE_GROUP, prior_predictive, sample_replicates
from forecast.intervals import eti
from forecast.units import CI_PROB, PROB_ATTRS
from models.laws import get_law
from models.noise import standard_noise

__all__ = ["ladder", "sbc", "simulate"]

#: ``source`` of every simulated run.
SOURCE = "simulated"
#: Noise families of :func:`simulate` (the fit's likelihoods).
NOISES = ("normal", "student_t")
#: Prior draws tried per requested SBC replicate before giving up.
_MAX_TRIES_PER_REPLICATE = 20

#: Chinchilla parameters of Besiroglu et al. 2024 (arXiv:2404.10102, eq. 4), the default
#: truth of the ``simulate`` command.
BESIROGLU_2024 = {"E": 1.8172, "A": 482.01, "alpha": 0.3478, "B": 2085.43, "beta": 0.3658}

ParamValue = float | Mapping[str, float]


def ladder(
    sizes: Sequence[float],
    tokens_per_param: Sequence[float],
    *,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    r"""Build a design: every model size trained at every tokens-per-parameter ratio.

    Parameters
    ----------
    sizes : sequence of float
        Total parameters N of the models (count, > 0).
    tokens_per_param : sequence of float
        Ratios D/N (tokens per parameter, > 0); 20 is Chinchilla-optimal.
    groups : sequence of str, optional
        Group labels; the whole ladder is repeated once per group (column ``group``).

    Returns
    -------
    pandas.DataFrame
        Columns ``N`` (parameters), ``D`` (tokens) and, with ``groups``, ``group``; one
        row per design point, ``len(sizes) * len(tokens_per_param) * len(groups)`` rows.

    Raises
    ------
    ConfigError
        Empty, non-finite or non-positive sizes or ratios.

    Notes
    -----
    .. math:: D_{ij} = r_j N_i, \qquad C_{ij} = 6 N_i D_{ij}

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556 (IsoFLOP and fixed-size ladders).

    Examples
    --------
    >>> ladder([1e8, 1e9], [10, 20]).shape
    (4, 2)
    """
    N = np.asarray(sizes, dtype=float).ravel()
    ratio = np.asarray(tokens_per_param, dtype=float).ravel()
    for name, values in (("sizes", N), ("tokens_per_param", ratio)):
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ConfigError(f"{name} must be a non-empty sequence of finite numbers > 0")
    n_grid, r_grid = np.meshgrid(N, ratio, indexing="ij")
    base = pd.DataFrame({"N": n_grid.ravel(), "D": (n_grid * r_grid).ravel()})
    if groups is None:
        return base
    return pd.concat([base.assign(group=str(g)) for g in groups], ignore_index=True)


def _design_frame(design) -> pd.DataFrame:
    frame = design.copy() if isinstance(design, pd.DataFrame) else pd.DataFrame(list(design))
    if "U" in frame and "unique_tokens" not in frame:
        frame = frame.rename(columns={"U": "unique_tokens"})
    missing = [c for c in ("N", "D") if c not in frame]
    if missing or frame.empty:
        raise ConfigError(
            f"design needs columns N (parameters) and D (tokens) and at least one row; "
            f"missing {missing}, got columns {list(frame.columns)}"
        )
    for col in ("N", "D", "unique_tokens"):
        if col in frame:
            values = frame[col].to_numpy(dtype=float)
            if not (np.all(np.isfinite(values)) and np.all(values > 0)):
                raise ConfigError(f"design column {col!r} must be finite and > 0")
    return frame.reset_index(drop=True)


def _per_group(name: str, value: ParamValue, labels: np.ndarray) -> np.ndarray:
    """One value per design row from a scalar or a {group: value} mapping."""
    if not isinstance(value, Mapping):
        return np.full(labels.size, float(value))
    if labels.dtype == object and (labels == "").all():
        raise ConfigError(f"{name!r} is given per group but the design has no 'group' column")
    unknown = sorted(set(labels) - {str(k) for k in value})
    if unknown:
        raise ConfigError(
            f"{name!r} has no value for groups {unknown}; it covers {sorted(map(str, value))}"
        )
    lookup = {str(k): float(v) for k, v in value.items()}
    return np.array([lookup[g] for g in labels])


def _law_values(law_name: str, params: Mapping[str, ParamValue], labels: np.ndarray) -> dict:
    """Per-row values of the law's sampled parameters; ``A`` may stand for ``log_A`` etc."""
    law = get_law(law_name)
    allowed = set(law.params) | {p[4:] for p in law.params if p.startswith("log_")}
    unknown = sorted(set(params) - allowed)
    missing = [
        p for p in law.params if p not in params and not (p.startswith("log_") and p[4:] in params)
    ]
    if unknown or missing:
        raise ConfigError(
            f"law {law_name!r} takes parameters {list(law.params)} (log_X may be given as X); "
            f"unknown {unknown}, missing {missing}"
        )
    out = {}
    for p in law.params:
        if p in params:
            out[p] = _per_group(p, params[p], labels)
        else:
            natural = _per_group(p[4:], params[p[4:]], labels)
            if np.any(natural <= 0):
                raise ConfigError(f"{p[4:]!r} must be > 0 (it enters as its logarithm)")
            out[p] = np.log(natural)
    for p in law.positive:
        if np.any(out[p] <= 0):
            raise ConfigError(f"{p!r} must be > 0 for law {law_name!r}")
    return out


def simulate(
    law: str,
    params: Mapping[str, ParamValue],
    design,
    *,
    noise: str = "normal",
    sigma: ParamValue = 0.01,
    nu: float = 4.0,
    seed: int = 0,
) -> pd.DataFrame:
    r"""Draw synthetic training runs from a known law and noise model.

    Parameters
    ----------
    law : str
        A key of :data:`models.laws.LAWS` (``"chinchilla"``,
        ``"chinchilla_broken"``, ``"kaplan"``, ``"kaplan_floor"``, ``"data_constrained"``).
    params : mapping
        The law's parameters in its own units (``E`` nats/token, exponents unitless,
        ``log_A`` log units …); ``A`` may be given instead of ``log_A`` (likewise ``B``,
        ``N_c``, ``D_c``). Each value is a number, or a mapping group label -> number
        for per-group values (e.g. per-group floors ``{"E": {"a": 1.8, "b": 2.1}}``).
    design : pandas.DataFrame, sequence of dict
        Runs to simulate: columns ``N`` (parameters), ``D`` (tokens) and optionally
        ``group`` and ``unique_tokens`` (or ``U``, tokens; default ``D``). See
        :func:`ladder`.
    noise : {"normal", "student_t"}
        Distribution of the noise on log loss.
    sigma : float or mapping
        Noise scale on log loss (relative error of the loss; 0 gives the law exactly), or
        a mapping group label -> scale.
    nu : float
        Degrees of freedom of the Student-t noise (ignored for ``"normal"``), > 0.
    seed : int
        Seed of the noise; the same inputs and seed give identical runs.

    Returns
    -------
    pandas.DataFrame
        A validated runs table (:func:`forecast.data.runs.load_runs`): ``N`` (parameters),
        ``D`` (tokens), ``loss`` (nats/token), ``group`` when the design has one,
        ``run_id`` (``sim-0000`` …), ``unique_tokens`` (tokens; for laws that use it or
        when the design gives it) and ``source = "simulated"``.

    Raises
    ------
    ConfigError
        Unknown law, noise or parameter, a missing parameter or group value, a bad design.
    DataError
        The simulated losses are not plausible runs (e.g. above 20 nats/token).

    Notes
    -----
    .. math:: \log L_i = \log f(N_i, D_i[, U_i]; \theta_{g[i]}) + \sigma_{g[i]}\,\varepsilon_i,
              \qquad \varepsilon_i \sim \mathcal{N}(0, 1) \text{ or } t_\nu

    The law is evaluated by its one ``log_loss`` function, the same the model fits.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556, eq. 2; Besiroglu et al. 2024,
    arXiv:2404.10102 (the parameter values of the example).

    Examples
    --------
    >>> truth = {"E": 1.82, "A": 482.0, "alpha": 0.348, "B": 2085.0, "beta": 0.366}
    >>> runs = simulate("chinchilla", truth, ladder([1e8, 1e9], [20]), sigma=0.0)
    >>> [round(v, 4) for v in runs["loss"]]
    [3.4347, 2.5296]
    """
    spec = get_law(law)
    if noise not in NOISES:
        raise ConfigError(f"unknown noise {noise!r}; choose one of {list(NOISES)}")
    if not (np.isfinite(nu) and nu > 0):
        raise ConfigError(f"nu must be > 0, got {nu!r}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    frame = _design_frame(design)
    has_group = "group" in frame
    labels = frame["group"].astype(str).to_numpy() if has_group else np.full(len(frame), "")
    labels = labels.astype(object)
    values = _law_values(law, params, labels)
    scale = _per_group("sigma", sigma, labels)
    if np.any(~np.isfinite(scale)) or np.any(scale < 0):
        raise ConfigError(f"sigma must be finite and >= 0, got {sigma!r}")
    N = frame["N"].to_numpy(float)
    D = frame["D"].to_numpy(float)
    U = frame["unique_tokens"].to_numpy(float) if "unique_tokens" in frame else D
    log_U = np.log(np.minimum(U, D)) if spec.needs_unique_tokens else None
    mean = spec.log_loss(np.log(N), np.log(D), values, xp=np, log_U=log_U)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    eps = standard_noise(rng, N.size, None if noise == "normal" else nu)
    out = pd.DataFrame({"N": N, "D": D, "loss": np.exp(mean + scale * eps)})
    if has_group:
        out["group"] = labels.astype(str)
    out["run_id"] = [f"sim-{i:04d}" for i in range(len(out))]
    if spec.needs_unique_tokens or "unique_tokens" in frame:
        out["unique_tokens"] = np.minimum(U, D)
    out["source"] = SOURCE
    return load_runs(out)


# --------------------------------------------------------------------------- SBC


def _prior_truths(design_runs: pd.DataFrame, config: FitConfig, draws: int) -> xr.Dataset:
    """Prior draws of every model variable, flattened to a ``sample`` dim."""
    prior = prior_predictive(design_runs, config=config, draws=draws)
    keep = [v for v in prior.data_vars if v not in ("loss", "observed_loss")]
    return prior[keep].stack(sample=("chain", "draw")).transpose("sample", ...)


def _simulation_inputs(truth: xr.Dataset, law_name: str, groups: list[str]):
    """Per-group law parameters, noise scales and nu of one prior draw."""
    law = get_law(law_name)
    params = {p: {g: float(truth[f"{p}_group"].sel(group=g)) for g in groups} for p in law.params}
    sigma = {g: float(truth["sigma"].sel(group=g)) for g in groups}
    nu = float(truth["nu"]) if "nu" in truth else 4.0
    return params, sigma, nu


def _ranks(draws: np.ndarray, truth: float, ranked_draws: int) -> tuple[int, int]:
    """Rank of ``truth`` among ``ranked_draws`` evenly thinned draws (0..L)."""
    flat = draws.reshape(draws.shape[0], -1)  # (chain, draw)
    total = flat.size
    L = min(ranked_draws, total)
    step = total / L
    thinned = flat.ravel()[(np.arange(L) * step).astype(int)]
    return int(np.sum(thinned < truth)), L


def _check_sbc_params(config: FitConfig, params: Sequence[str], n_groups: int) -> None:
    law = get_law(config.law)
    allowed = set(law.params)
    if n_groups > 1:  # a one-group model pools nothing, so it has no between-group scales
        allowed |= {"sigma_" + p for p in config.pooled_params}
    allowed |= {"nu"} if config.likelihood == "student_t" else set()
    unknown = sorted(set(params) - allowed)
    if unknown or not params:
        raise ConfigError(
            f"sbc checks scalar model variables; unknown {unknown}, choose from {sorted(allowed)}"
        )


def sbc(
    design,
    *,
    config: FitConfig = FitConfig(),
    replicates: int = 20,
    params: Sequence[str] = ("alpha", "beta", "E"),
    ranked_draws: int = 99,
    ci_prob: float = CI_PROB,
    loss_range: tuple[float, float] = (0.0, MAX_LOSS),
    seed: int = 0,
) -> xr.Dataset:
    r"""Simulation-based calibration: prior draw -> simulate -> fit -> rank of the truth.

    Parameters
    ----------
    design : pandas.DataFrame or sequence of dict
        The runs to simulate (``N`` parameters, ``D`` tokens, optional ``group`` and
        ``unique_tokens``), e.g. from :func:`ladder`. With ``config.groups`` set, the design
        needs that column.
    config : FitConfig
        Law, priors, likelihood, grouping and sampler of both the simulation (truths are
        drawn from these priors) and the fits; ``config.seed`` is replaced per replicate.
    replicates : int
        Number of simulate-and-fit replicates (>= 1).
    params : sequence of str
        Scalar model variables to rank (population-level law parameters such as
        ``alpha``, ``beta``, ``E``; a one-group fit's population value is its group's).
    ranked_draws : int
        Posterior draws L the truth is ranked among (thinned evenly from all draws to
        reduce autocorrelation); ranks lie in 0..L.
    ci_prob : float
        Probability of the equal-tailed interval whose coverage is reported.
    loss_range : tuple of float
        Simulated datasets with any loss outside (low, high) nats/token are skipped (see
        the module notes: this keeps the ranks uniform).
    seed : int
        Seed of the prior draws, the noise and the fits.

    Returns
    -------
    xarray.Dataset
        Dims ``replicate`` and ``parameter`` (and ``ci_bound``): ``true_value``, ``rank``
        (0..L), ``covered`` (truth inside the interval), ``interval`` (lower/upper),
        ``posterior_median``; per replicate ``divergences``, ``r_hat_max`` and
        ``long_run_draws`` (a longer run's, when R-hat or ESS failed; 0 otherwise); per
        parameter ``coverage`` (fraction of replicates, unit 1). Attrs ``max_rank`` (L),
        ``ci_kind`` ("eti"), ``ci_prob``, ``rejected`` (prior draws skipped), ``n_runs``,
        ``package_version``, ``config_hash``, ``seed`` and ``law``.

    Raises
    ------
    ConfigError
        Bad arguments, or too many prior draws rejected by ``loss_range``.

    Notes
    -----
    .. math::

        \theta^\star \sim p(\theta),\quad y \sim p(y \mid \theta^\star),\quad
        r = \#\{l \le L : \theta^{(l)} < \theta^\star\},\ \theta^{(l)} \sim p(\theta \mid y)

    If inference is exact, :math:`r` is uniform on :math:`\{0, \dots, L\}`.

    References
    ----------
    Talts et al. 2018, arXiv:1804.06788; Modrák et al. 2023, arXiv:2211.02383.

    Examples
    --------
    >>> from forecast import SamplerConfig
    >>> cfg = FitConfig(sampler=SamplerConfig(draws=100, tune=200, chains=2, progress=False))
    >>> out = sbc(ladder([3e7, 1e8, 3e8, 1e9], [5, 20, 80]), config=cfg, replicates=2)
    ... # doctest: +SKIP
    >>> out["coverage"].sel(parameter="alpha").item()  # doctest: +SKIP
    1.0
    """
    if not isinstance(replicates, int) or replicates < 1:
        raise ConfigError(f"replicates must be a positive int, got {replicates!r}")
    if not 0 < ci_prob < 1:
        raise ConfigError(f"ci_prob must be in (0, 1), got {ci_prob!r}")
    low, high = loss_range
    frame = _design_frame(design)
    if config.groups is None:
        labels = np.full(len(frame), SINGLE_GROUP)
    elif config.groups in frame:
        labels = frame[config.groups].astype(str).to_numpy()
    else:
        raise ConfigError(f"config.groups={config.groups!r} is not a column of the design")
    _check_sbc_params(config, params, len(set(labels)))
    columns = ["N", "D"] + (["unique_tokens"] if "unique_tokens" in frame else [])
    sim_design = frame[columns].assign(group=labels)
    fit_runs = frame[columns].assign(loss=1.0, run_id=[f"sim-{i:04d}" for i in range(len(frame))])
    if config.groups is not None:
        fit_runs[config.groups] = labels
    if get_law(config.law).needs_unique_tokens and "unique_tokens" not in fit_runs:
        fit_runs["unique_tokens"] = fit_runs["D"]
    prior_seed, noise_seed, fit_seed = np.random.SeedSequence(seed).spawn(3)
    n_tries = replicates * _MAX_TRIES_PER_REPLICATE
    truths = _prior_truths(
        fit_runs, config.replace(seed=int(prior_seed.generate_state(1)[0])), n_tries
    )
    groups = sorted(set(labels))
    noise_seeds = noise_seed.generate_state(n_tries)
    kept, observed, rejected = [], [], 0
    for i in range(n_tries):
        if len(kept) == replicates:
            break
        truth = truths.isel(sample=i)
        p, sigma, nu = _simulation_inputs(truth, config.law, groups)
        try:
            runs = simulate(
                config.law,
                p,
                sim_design,
                noise=config.likelihood,
                sigma=sigma,
                nu=nu,
                seed=int(noise_seeds[i]),
            )
        except DataError:
            rejected += 1
            continue
        if not ((runs["loss"] > low).all() and (runs["loss"] < high).all()):
            rejected += 1
            continue
        kept.append(i)
        observed.append(np.log(runs["loss"].to_numpy(float)))
    if len(kept) < replicates:
        raise ConfigError(
            f"only {len(kept)} of {n_tries} prior draws gave losses within {loss_range} "
            "nats/token; widen loss_range or use more informative priors"
        )
    fit_config = config.replace(seed=int(fit_seed.generate_state(1)[0]))
    rows = []
    for k, (posterior, diag) in enumerate(sample_replicates(fit_runs, observed, config=fit_config)):
        truth = truths.isel(sample=kept[k])
        rows.append(_replicate_summary(posterior, diag, truth, params, ranked_draws, ci_prob))
    return _sbc_dataset(rows, params, config, seed, ci_prob, rejected, len(frame))


def _replicate_summary(posterior, diag, truth, params, ranked_draws, ci_prob) -> dict:
    out = {"true": [], "rank": [], "lower": [], "upper": [], "median": [], "L": 0}
    for p in params:
        draws = posterior[p].transpose("chain", "draw").values
        true = float(truth[p])
        rank, out["L"] = _ranks(draws, true, ranked_draws)
        med, (lo, hi) = eti(draws.ravel(), ci_prob)
        for key, value in (("true", true), ("rank", rank), ("lower", lo), ("upper", hi)):
            out[key].append(value)
        out["median"].append(med)
    out["divergences"] = int(diag.attrs["divergences"])
    out["r_hat_max"] = float(np.nanmax(diag["r_hat"].values))
    out["long_run_draws"] = int(diag.attrs["long_run_draws"])
    return out


def _sbc_dataset(rows, params, config, seed, ci_prob, rejected, n_runs) -> xr.Dataset:
    params = [str(p) for p in params]
    true = np.array([r["true"] for r in rows])
    lower = np.array([r["lower"] for r in rows])
    upper = np.array([r["upper"] for r in rows])
    covered = (lower <= true) & (true <= upper)
    dims = ("replicate", "parameter")
    ds = xr.Dataset(
        {
            "true_value": (dims, true, {"long_name": "true value (prior draw)", "units": ""}),
            "rank": (dims, np.array([r["rank"] for r in rows]), {"long_name": "SBC rank"}),
            "covered": (dims, covered, {"long_name": f"truth inside {ci_prob:.0%} interval"}),
            "interval": (
                (*dims, "ci_bound"),
                np.stack([lower, upper], axis=-1),
                {"long_name": f"{ci_prob:.0%} equal-tailed posterior interval", "units": ""},
            ),
            "posterior_median": (dims, np.array([r["median"] for r in rows]), {"units": ""}),
            "divergences": ("replicate", [r["divergences"] for r in rows], {"units": "count"}),
            "r_hat_max": ("replicate", [r["r_hat_max"] for r in rows], {"units": "1"}),
            # draws per chain of a longer run made because R-hat or ESS failed (0: none)
            "long_run_draws": (
                "replicate",
                [r["long_run_draws"] for r in rows],
                {"units": "count"},
            ),
        },
        coords={
            "replicate": np.arange(len(rows)),
            "parameter": params,
            "ci_bound": ["lower", "upper"],
        },
    )
    ds["rank"].attrs["units"] = "count"
    ds["covered"].attrs["units"] = "1"
    # One unit string for a mixed parameter axis: each parameter in the model's own unit.
    mixed = "; ".join(f"{p}: {'nats/token' if p == 'E' else 'model units'}" for p in params)
    for name in ("true_value", "posterior_median", "interval"):
        ds[name].attrs["units"] = mixed
    ds["coverage"] = (
        ds["covered"]
        .mean("replicate")
        .assign_attrs(
            {**PROB_ATTRS, "long_name": f"fraction of replicates inside the {ci_prob:.0%} interval"}
        )
    )
    ds.attrs.update(
        {
            "max_rank": int(rows[0]["L"]),
            "ci_kind": "eti",
            "ci_prob": ci_prob,
            "rejected": int(rejected),
            "n_runs": int(n_runs),
            "package_version": _package_version(),
            "config_hash": config.config_hash,
            "seed": int(seed),
            "law": config.law,
        }
    )
    return ds


def _package_version() -> str:
    try:
        return importlib.metadata.version("scaling-forecast")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"
