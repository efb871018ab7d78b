r"""Model comparison and stacking: PSIS-LOO, leave-future-out, and mixing predictive draws.

Two ways to weigh several fitted models of the same runs:

* **PSIS-LOO stacking** (:func:`compare_fits`): weights that maximise the leave-one-out
  log score of the runs. It rewards the model that *interpolates* best.
* **Leave-future-out stacking** (:func:`lfo_weights`): the training runs are split once
  more, along the same variable as the backtest (the smaller two thirds of compute, or all
  but the largest model size …); each model is fitted on the lower part and scored on the
  upper part by its log predictive density; the weights maximise that log score. It
  rewards the model that *extrapolates* best, which is what a scaling-law forecast does,
  and it only uses the training runs. A Student-t likelihood, for example, wins LOO on
  runs with outliers but can extrapolate worse when the "outliers" are the smallest
  models the law misfits; LFO sees that, LOO cannot.

Both optimise :math:`\sum_i \log \sum_k w_k\, p_k(y_i)` over the simplex; for LFO the
:math:`p_k(y_i)` are Monte Carlo predictive densities, and the optimum is found by the EM
iteration for mixture weights, which increases the objective at every step.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from forecast import _idata
from forecast.averaged import Stack, mixes_draws
from forecast.config import FitConfig, recipe_configs
from forecast.data.runs import load_runs
from forecast.errors import ConfigError
from forecast.fit import Fit, fit
from forecast.posterior_view import flat_draws, noise_model
from forecast.predict import predict
from models import noise
from models.laws import get_law

__all__ = [
    "compare_fits",
    "fit_averaged",
    "lfo_weights",
    "log_predictive_density",
    "nested_split",
    "predict_runs",
    "stack_draws",
    "stacking_weights",
]

_SAMPLE_DIMS = ("chain", "draw")


def compare_fits(fits: Mapping[str, Fit]) -> xr.Dataset:
    r"""PSIS-LOO comparison and stacking weights of several fits of the same runs.

    Parameters
    ----------
    fits : mapping of str to Fit
        Fits of identical runs (different laws, likelihoods or options), by name.

    Returns
    -------
    xarray.Dataset
        Along dim ``model`` (the names): ``elpd_loo``, ``se``, ``p_loo``, ``elpd_diff``,
        ``dse`` (log density of log loss; higher ``elpd_loo`` predicts held-in runs better),
        ``weight`` (stacking weights, sum 1), all three from ``arviz.compare(...,
        method="stacking")``, ``max_pareto_k`` and
        ``n_bad_k`` (Pareto :math:`\hat k > 0.7`: LOO unreliable for those runs).

    Raises
    ------
    ConfigError
        If the fits were made on different runs.

    Notes
    -----
    Stacking chooses :math:`w` on the simplex maximising
    :math:`\sum_i \log \sum_k w_k\, p(y_i \mid y_{-i}, M_k)`.

    References
    ----------
    Vehtari, Gelman & Gabry 2017, "Practical Bayesian model evaluation using leave-one-out
    cross-validation and WAIC", Stat. Comput. 27; Yao, Vehtari, Simpson & Gelman 2018,
    "Using stacking to average Bayesian predictive distributions", Bayesian Analysis 13(3).

    Examples
    --------
    >>> table = compare_fits({"normal": fit_a, "student_t": fit_b})  # doctest: +SKIP
    >>> table["weight"].sum().item()  # doctest: +SKIP
    1.0
    """
    names = list(fits)
    hashes = {_idata.attrs(f.idata).get("data_hash") for f in fits.values()}
    if len(hashes) > 1:
        raise ConfigError(f"compare_fits needs fits of the same runs; {names} differ")
    by_name, compared = _idata.loo_compare({n: fits[n].idata for n in names})
    loos = [by_name[n] for n in names]
    table = xr.Dataset(
        {
            "elpd_loo": ("model", [float(loo["elpd_loo"]) for loo in loos]),
            "se": ("model", [float(loo["se"]) for loo in loos]),
            "p_loo": ("model", [float(loo["p_loo"]) for loo in loos]),
            **{k: ("model", v) for k, v in compared.items()},
            "max_pareto_k": ("model", [float(loo["pareto_k"].max()) for loo in loos]),
            "n_bad_k": ("model", [int((loo["pareto_k"] > 0.7).sum()) for loo in loos]),
        },
        coords={"model": names},
    )
    return table


def stack_draws(
    draws: Mapping[str, xr.DataArray], weights: Mapping[str, float], *, seed: int = 0
) -> xr.DataArray:
    r"""Mix predictive draws of several models by weight (a stacked predictive).

    Parameters
    ----------
    draws : mapping of str to xarray.DataArray
        Draws of each model with identical dims and sizes (``chain``, ``draw``, …).
    weights : mapping of str to float
        Non-negative weight of each model (normalised here).
    seed : int
        Seed of the choice of model for each (chain, draw).

    Returns
    -------
    xarray.DataArray
        Same dims as the inputs; each (chain, draw) is taken whole from one model, chosen
        with probability equal to its weight.

    Notes
    -----
    .. math:: p(\tilde y \mid y) = \sum_k w_k\, p(\tilde y \mid y, M_k)

    Examples
    --------
    >>> a = xr.DataArray(np.zeros((2, 500)), dims=("chain", "draw"))
    >>> b = xr.DataArray(np.ones((2, 500)), dims=("chain", "draw"))
    >>> abs(float(stack_draws({"a": a, "b": b}, {"a": 0.25, "b": 0.75}).mean()) - 0.75) < 0.05
    True
    """
    names = list(draws)
    w = np.array([max(0.0, float(weights[n])) for n in names])
    w = w / w.sum()
    first = draws[names[0]].transpose("chain", "draw", ...)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    choice = rng.choice(len(names), size=(first.sizes["chain"], first.sizes["draw"]), p=w)
    values = np.stack([draws[n].transpose("chain", "draw", ...).values for n in names])
    index = choice.reshape((1, *choice.shape) + (1,) * (first.ndim - 2))
    picked = np.take_along_axis(values, index, axis=0)[0]
    return first.copy(data=picked)


def _group_of(result: Fit, runs: pd.DataFrame) -> np.ndarray:
    """Each run's group label in the fit, or "" for a group the fit has not seen."""
    col, labels = result.config.groups, result.groups
    if col is None:
        return np.full(len(runs), labels[0], dtype=object)
    keys = runs[col].astype(str).to_numpy(dtype=object)
    return np.where(np.isin(keys, labels), keys, "")


@mixes_draws
def predict_runs(
    result: Fit | Stack, runs: pd.DataFrame, *, include_noise: bool = False, seed: int = 0
) -> xr.DataArray:
    """Posterior draws of the loss at each run of a table, each with its own group.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result or an averaged posterior (mixture draws).
    runs : pandas.DataFrame
        Runs to predict (``N`` parameters, ``D`` tokens, and the fit's group column and
        ``unique_tokens`` when the fit uses them).
    include_noise : bool
        ``False``: the mean curve; ``True``: the loss of one new run (see
        :func:`forecast.predict.predict`).
    seed : int
        Seed of new-group offsets and noise.

    Returns
    -------
    xarray.DataArray
        Loss in nats/token, dims ``("chain", "draw", "run")`` in the order of ``runs``. A run
        whose group the fit has not seen gets a new group drawn from the population.
    """
    groups = _group_of(result, runs)
    needs_u = get_law(result.config.law).needs_unique_tokens
    parts, order = [], []
    for key in pd.unique(groups):
        idx = np.flatnonzero(groups == key)
        sub = runs.iloc[idx]
        parts.append(
            predict(
                result,
                sub["N"].to_numpy(float),
                sub["D"].to_numpy(float),
                group=key or None,
                unique_tokens=sub["unique_tokens"].to_numpy(float) if needs_u else None,
                include_noise=include_noise,
                seed=seed,
            ).drop_vars(["N", "D"])
        )
        order.append(idx)
    perm = np.argsort(np.concatenate(order))
    return xr.concat(parts, "point").isel(point=perm).rename(point="run")


def log_predictive_density(result: Fit, runs: pd.DataFrame, *, seed: int = 0) -> xr.DataArray:
    r"""Log posterior predictive density of each run's observed log loss.

    Parameters
    ----------
    result : Fit
        A fitted result (not fitted on ``runs``).
    runs : pandas.DataFrame
        Runs with observed ``loss`` (nats/token); ``loss_sd`` is used when present, as in
        the model.
    seed : int
        Seed of new-group offsets.

    Returns
    -------
    xarray.DataArray
        :math:`\log \frac1S \sum_s p(\log y_i \mid \theta^{(s)})` along ``run`` (density of
        log loss; differences between models are what matter).

    Notes
    -----
    .. math::

        p(\log y_i \mid \theta) = f_\nu\!\left(\frac{\log y_i - \log \mu_i(\theta)}
        {s_i}\right)/s_i, \qquad s_i^2 = \mathrm{sd}_i(\sigma_g, \tau)^2 + (\mathrm{sd}_{y,i}/y_i)^2

    with :math:`f_\nu` the standard Normal or Student-t density and
    :math:`\mathrm{sd}_i` of :func:`models.noise.discrepancy_sd` (no discrepancy: :math:`\sigma_g`).

    References
    ----------
    Bürkner, Gabry & Vehtari 2020, "Approximate leave-future-out cross-validation for
    Bayesian time series models", J. Stat. Comput. Simul. 90(14).
    """
    log_mu = np.log(predict_runs(result, runs, seed=seed).transpose("chain", "draw", "run").values)
    groups = _group_of(result, runs)
    models = {key: noise_model(result, key or None) for key in pd.unique(groups)}
    sigma = np.stack(
        [flat_draws(models[g].sigma)[0] for g in groups], axis=-1
    )  # (draws, run); a group the fit has not seen gets the new-group SD
    some = next(iter(models.values()))
    y = runs["loss"].to_numpy(float)
    sd = noise.observation_sd(
        sigma,
        tau=None if some.tau is None else flat_draws(some.tau).T,
        log_N=np.log(runs["N"].to_numpy(float)),
        log_D=np.log(runs["D"].to_numpy(float)),
        centres=some.centres,
        rel_sd=(runs["loss_sd"].fillna(0.0).to_numpy(float) / y) if "loss_sd" in runs else None,
    )
    nu = flat_draws(some.nu)
    log_p = noise.log_density(np.log(y), log_mu.reshape(sd.shape), sd, None if nu is None else nu.T)
    flat = log_p.reshape(-1, log_p.shape[-1])
    lpd = special.logsumexp(flat, axis=0) - np.log(flat.shape[0])
    return xr.DataArray(
        lpd, dims="run", attrs={"units": "1", "long_name": "log predictive density"}
    )


def stacking_weights(lpd: np.ndarray, *, iterations: int = 2000) -> np.ndarray:
    r"""Stacking weights that maximise the log score of a mixture of predictive densities.

    Parameters
    ----------
    lpd : numpy.ndarray
        Log predictive densities, shape (runs, models).
    iterations : int
        EM iterations.

    Returns
    -------
    numpy.ndarray
        Weights on the simplex, one per model.

    Notes
    -----
    .. math:: \max_{w \in \Delta} \sum_i \log \sum_k w_k e^{\mathrm{lpd}_{ik}}, \qquad
              w_k \leftarrow \frac1n \sum_i \frac{w_k e^{\mathrm{lpd}_{ik}}}
              {\sum_j w_j e^{\mathrm{lpd}_{ij}}}

    References
    ----------
    Yao, Vehtari, Simpson & Gelman 2018, "Using stacking to average Bayesian predictive
    distributions", Bayesian Analysis 13(3), eq. 4.

    Examples
    --------
    >>> lpd = np.log([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8]])
    >>> stacking_weights(lpd).round(2).tolist()
    [0.82, 0.18]
    """
    # our EM, not arviz.compare: that takes LOO results, these are held-out (LFO) densities
    lpd = np.asarray(lpd, float)
    dens = np.exp(lpd - lpd.max(axis=1, keepdims=True))
    w = np.full(lpd.shape[1], 1.0 / lpd.shape[1])
    for _ in range(iterations):
        share = dens * w
        share /= share.sum(axis=1, keepdims=True)
        w = share.mean(axis=0)
    return w


def nested_split(train: pd.DataFrame, column: str) -> np.ndarray:
    """Split training runs once more along ``column``: fit below, score above.

    Parameters
    ----------
    train : pandas.DataFrame
        The training runs of a backtest.
    column : str
        ``"C"`` (compute = 6ND), or a numeric column (``"N"``, ``"epochs"`` …).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for runs below the 2/3 quantile of ``column``; when that leaves either side
        empty (few distinct values), ``True`` for runs below the largest value.

    Raises
    ------
    ConfigError
        If ``column`` has a single distinct value.

    Examples
    --------
    >>> nested_split(pd.DataFrame({"N": [1.0, 1, 2, 2, 3, 3]}), "N").tolist()
    [True, True, True, True, False, False]
    """
    if column == "C":
        values = train["N"].to_numpy(float) * train["D"].to_numpy(float)
    else:
        values = train[column].to_numpy(float)
    mask = values < np.quantile(values, 2 / 3)
    if mask.all() or not mask.any():
        mask = values < values.max()
    if not mask.any():
        raise ConfigError(f"cannot split the training runs along {column!r}: one value only")
    return mask


def lfo_weights(
    train: pd.DataFrame, *, configs: Mapping[str, FitConfig], column: str, seed: int = 0
) -> xr.Dataset:
    r"""Leave-future-out stacking weights of several configs, from the training runs only.

    Parameters
    ----------
    train : pandas.DataFrame
        The training runs of a backtest (the held-out runs must not be in it).
    configs : mapping of str to FitConfig
        Candidate models by name.
    column : str
        Variable the backtest extrapolates along (``"C"``, ``"N"``, ``"epochs"`` …); see
        :func:`nested_split`.
    seed : int
        Seed of new-group offsets in the predictive densities.

    Returns
    -------
    xarray.Dataset
        Along ``model``: ``weight`` (sum 1) and ``elpd_lfo`` (summed log predictive density
        of the nested held-out runs); along (``model``, ``run``): ``lpd``. Attrs: ``column``,
        ``n_fit`` and ``n_scored``.

    Notes
    -----
    .. math:: w = \arg\max_{w \in \Delta} \sum_{i \in \text{upper}} \log \sum_k w_k\,
              p(y_i \mid y_\text{lower}, M_k)

    References
    ----------
    Bürkner, Gabry & Vehtari 2020 (leave-future-out CV); Yao et al. 2018 (stacking).

    Examples
    --------
    >>> w = lfo_weights(train, configs={"a": cfg_a, "b": cfg_b}, column="C")  # doctest: +SKIP
    >>> float(w["weight"].sum())  # doctest: +SKIP
    1.0
    """
    mask = nested_split(train, column)
    lower = train[mask].reset_index(drop=True)
    upper = train[~mask].reset_index(drop=True)
    names = list(configs)
    lpd = np.stack(
        [
            log_predictive_density(fit(lower, config=configs[n]), upper, seed=seed).values
            for n in names
        ],
        axis=1,
    )
    return xr.Dataset(
        {
            "weight": ("model", stacking_weights(lpd)),
            "elpd_lfo": ("model", lpd.sum(axis=0)),
            "lpd": (("model", "run"), lpd.T),
        },
        coords={"model": names},
        attrs={"column": column, "n_fit": len(lower), "n_scored": len(upper)},
    )


def fit_averaged(
    runs: pd.DataFrame | str,
    configs: Mapping[str, FitConfig] | str = "likelihoods",
    *,
    base: FitConfig | None = None,
    weights: str | Mapping[str, float] = "lfo",
    column: str = "C",
    seed: int = 0,
    strict: bool = False,
) -> Stack:
    r"""Fit several configs to the same runs and weigh them: an averaged posterior.

    Parameters
    ----------
    runs : pandas.DataFrame or path
        The training runs (tidy schema), as for :func:`forecast.fit.fit`. Nothing else
        enters a fit or a weight.
    configs : mapping of str to FitConfig, or str
        Component configs by name, or a recipe of :data:`forecast.config.RECIPES`
        (``"likelihoods"``, ``"discrepancy"``, ``"robust"``) applied to ``base``.
    base : FitConfig, optional
        Shared settings of a recipe's components (law, priors, groups, sampler, seed).
    weights : {"lfo", "loo", "equal"} or mapping of str to float
        ``"lfo"``: leave-future-out stacking along ``column`` (:func:`lfo_weights`, one
        extra fit per component on the lower two thirds of the runs), ``"loo"``: PSIS-LOO
        stacking (:func:`compare_fits`), ``"equal"``, or given weights (normalised).
    column : str
        Variable the LFO split runs along (``"C"`` compute, ``"N"``, ``"epochs"`` …).
    seed : int
        Seed of the LFO predictive densities and of the allocation of draws to components.
    strict : bool
        Raise ``ConvergenceError`` when a component fails its convergence checks.

    Returns
    -------
    Stack
        The component fits, their weights (along ``component``), the method and its scores
        (``elpd_lfo`` and the nested split, or the LOO table). Only ``runs`` are used.

    Raises
    ------
    ConfigError
        Unknown recipe or weight method, given weights that do not name the components.

    Notes
    -----
    .. math:: p(\tilde y \mid y) = \sum_k w_k\, p(\tilde y \mid y, M_k), \qquad
              w = \arg\max_{w \in \Delta} \sum_{i} \log \sum_k w_k\, p_k(y_i)

    with :math:`p_k(y_i)` the held-out predictive density of run :math:`i` (LFO: runs
    above the nested split given the runs below; LOO: leave-one-out).

    References
    ----------
    Yao, Vehtari, Simpson & Gelman 2018, "Using stacking to average Bayesian predictive
    distributions", Bayesian Analysis 13(3); Bürkner, Gabry & Vehtari 2020 (LFO).

    Examples
    --------
    >>> stack = fit_averaged(runs, "likelihoods", weights="lfo")  # doctest: +SKIP
    >>> float(stack.weights.sum())  # doctest: +SKIP
    1.0
    """
    if isinstance(configs, str):
        configs = recipe_configs(configs, base)
    elif base is not None:
        raise ConfigError("base applies to a recipe; pass full configs or a recipe name")
    configs = dict(configs)
    if not configs or not all(isinstance(c, FitConfig) for c in configs.values()):
        raise ConfigError("configs must be a recipe name or a non-empty mapping to FitConfig")
    names = list(configs)
    fits = {n: fit(runs, config=c, strict=strict) for n, c in configs.items()}
    scores = xr.Dataset(coords={"component": names})
    if isinstance(weights, Mapping):
        if sorted(weights) != sorted(names):
            raise ConfigError(f"weights name {sorted(weights)}; the components are {names}")
        w = np.array([float(weights[n]) for n in names])
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ConfigError(f"weights must be finite, >= 0 and not all 0; got {w.tolist()}")
        method, w = "given", w / w.sum()
    elif weights == "equal" or (weights in ("lfo", "loo") and len(names) == 1):
        method, w = weights, np.full(len(names), 1.0 / len(names))
    elif weights == "loo":
        table = compare_fits(fits)
        method, w = "loo", table["weight"].values
        scores = table.rename(model="component").drop_vars("weight")
    elif weights == "lfo":
        train = runs if isinstance(runs, pd.DataFrame) else load_runs(runs)
        lfo = lfo_weights(train, configs=configs, column=column, seed=seed)
        method, w = "lfo", lfo["weight"].values
        scores = lfo.rename(model="component").drop_vars("weight")
    else:
        raise ConfigError(f"weights must be 'lfo', 'loo', 'equal' or a mapping; got {weights!r}")
    weight = xr.DataArray(
        np.asarray(w, float),
        dims="component",
        coords={"component": names},
        attrs={"units": "1", "long_name": f"stacking weight ({method})"},
    )
    return Stack(components=fits, weights=weight, method=method, seed=seed, scores=scores)
