r"""Experiment design: which run to train next, and refitting once it is trained.

:func:`suggest_runs` ranks candidate training runs (N, D) by how much each is expected to
shrink the posterior variance of a target quantity — by default the loss of a
:math:`10^{13}`-parameter model trained on its compute-optimal number of tokens — per
FLOP the run costs. :func:`update` refits with the runs once they exist.

How a candidate is scored (preposterior analysis)
-------------------------------------------------
For each candidate, ``n_outcomes`` outcomes are simulated from the posterior predictive (a
posterior draw, the law at the candidate, the fitted noise on log loss; with a compute
discrepancy its SD grows with the candidate's distance from the data, so a far candidate's
loss says less about the law). For each outcome the existing draws are
**importance-reweighted** by the likelihood of that outcome under each draw; the weighted
variance of the target is the posterior variance one would have after training that run
and seeing that loss. Its average over outcomes, subtracted from today's variance, is the
expected variance reduction. No MCMC is run per candidate; the cost is one likelihood
evaluation per draw and outcome.

Reweighting works while the new run changes the posterior modestly. When one run would
move it a lot, the weights concentrate on a few draws and the estimate is unreliable; the
effective sample size :math:`1/\sum_s w_s^2` of the weights is reported for every
candidate, and when its median over outcomes falls below :data:`MIN_ESS` the candidate is
scored by a **linear-Gaussian** update instead (exact when the target and the candidate's
mean log loss are jointly Gaussian) and a :class:`WeightCollapseWarning` is raised.
Both estimates are always returned.

The outcome draw that generated an outcome is left out of that outcome's reweighting, so
a single draw cannot take all the weight (a leave-one-out correction that matters only
when weights are concentrated). All candidates share the same outcome draws and noise
(common random numbers), so their ranking is not disturbed by Monte Carlo noise.

Compute-optimal D at the target size
------------------------------------
The default target uses each draw's compute-optimal tokens for :math:`N` parameters,
from :mod:`forecast.allocation` (the same solver as the forecast scenarios): Hoffmann's
closed form :math:`D^*(N) = G^{-1} (N/G)^{\alpha/\beta}` for the Chinchilla law, a
numerical solve of the frontier for the other laws (the data-constrained law with
unlimited unique data, :math:`U = D`). Draws with no frontier point in range raise.

References
----------
Chaloner & Verdinelli 1995, "Bayesian experimental design: a review", Statistical
Science 10(3). Hoffmann et al. 2022, arXiv:2203.15556 (the compute-optimal allocation).
Vehtari et al. 2024, "Pareto smoothed importance sampling", JMLR 25 (the ESS of
importance weights; the weights here are not Pareto-smoothed).
"""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from forecast.allocation import optimal_log_D_for_N, optimal_log_N
from forecast.averaged import Stack, mixes_draws
from forecast.data.runs import load_runs
from forecast.errors import ConfigError, DataError
from forecast.fit import Fit, fit
from forecast.posterior_view import posterior_view
from forecast.studies.stacking import fit_averaged
from forecast.units import C_ATTRS, D_ATTRS, FLOP_PER_PARAM_TOKEN, LOSS_ATTRS, N_ATTRS
from models import noise
from models.laws import LawSpec

__all__ = [
    "WeightCollapseWarning",
    "append_runs",
    "candidate_predictive",
    "frontier_draws",
    "reweighted_variances",
    "suggest_runs",
    "target_draws",
    "update",
]

#: Targets :func:`suggest_runs` can reduce the variance of.
TARGETS = ("loss", "E", "alpha", "beta")
#: Orders :func:`suggest_runs` can rank by.
RANK_BY = ("per_flop", "reduction")
#: Median effective sample size of the weights below which reweighting is not trusted.
MIN_ESS = 100.0
#: Fractions of the budget and tokens-per-parameter ratios of the default candidates.
_BUDGET_FRACTIONS = 10.0 ** -np.arange(0.0, 2.01, 0.5)
_TOKENS_PER_PARAM = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0)


class WeightCollapseWarning(UserWarning):
    """Importance weights concentrated on few draws; the linear-Gaussian update was used."""


def _resolve_group(result: Fit, group: str | None) -> str:
    labels = result.groups
    if group is None:
        if len(labels) == 1:
            return labels[0]
        raise ConfigError(
            f"the fit has groups {labels}; pass group= to say which group the new runs "
            "(and the target) belong to"
        )
    if group not in labels:
        raise ConfigError(f"group {group!r} is not in the fit; its groups are {labels}")
    return group


def _flat(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da.transpose("chain", "draw").values, dtype=float).ravel()


def _optimal_log_D(law: LawSpec, theta: dict[str, np.ndarray], log_N: float) -> np.ndarray:
    """Log compute-optimal tokens for ``exp(log_N)`` parameters, per draw."""
    shape = theta[law.params[0]].shape
    log_D = optimal_log_D_for_N(law, theta, np.full(shape, log_N))
    if not np.all(np.isfinite(log_D)):
        raise ConfigError(
            f"{int(np.sum(~np.isfinite(log_D)))} posterior draws of law {law.name!r} have no "
            f"compute-optimal D for N = {np.exp(log_N):.3g}; use target='E', 'alpha' or 'beta'"
        )
    return log_D


@mixes_draws
def target_draws(
    result: Fit | Stack, *, target: str = "loss", N: float = 1e13, group: str | None = None
) -> xr.DataArray:
    r"""Posterior draws of the quantity :func:`suggest_runs` aims to pin down.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (mixture draws).
    target : {"loss", "E", "alpha", "beta"}
        ``"loss"``: the mean-curve loss at ``N`` parameters and compute-optimal tokens (see
        the module notes); otherwise the group's law parameter of that name.
    N : float
        Model size of the ``"loss"`` target, parameters (> 0).
    group : str, optional
        Group of the target; required when the fit has several groups.

    Returns
    -------
    xarray.DataArray
        Dims ``("chain", "draw")``; nats/token for ``"loss"`` and ``"E"``, 1 for exponents.
        Attrs say which quantity and, for ``"loss"``, how D was chosen.

    Raises
    ------
    ConfigError
        Unknown target, a group not in the fit, or a missing group on a multi-group fit.

    Notes
    -----
    .. math:: T^{(s)} = f\bigl(N, D^*(N; \theta^{(s)}); \theta^{(s)}\bigr)

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556, eq. 4.

    Examples
    --------
    >>> target_draws(result, N=1e13, group="a").dims  # doctest: +SKIP
    ('chain', 'draw')
    """
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}; choose one of {list(TARGETS)}")
    group = _resolve_group(result, group)
    view = posterior_view(result, group)
    law, params = view.law, view.params
    if target != "loss":
        if target not in params:
            raise ConfigError(f"law {law.name!r} has no parameter {target!r}")
        units = "nats/token" if target == "E" else "1"
        return (
            params[target]
            .transpose("chain", "draw")
            .rename(target)
            .assign_attrs(units=units, long_name=f"{target} of group {group}", group=group)
        )
    if not (np.isfinite(N) and N > 0):
        raise ConfigError(f"N must be finite and > 0 (parameters), got {N!r}")
    log_N = float(np.log(N))
    log_D = _optimal_log_D(law, view.theta, log_N)
    log_U = log_D if law.needs_unique_tokens else None
    values = np.exp(law.log_loss(log_N, log_D, view.theta, xp=np, log_U=log_U))
    how = "compute-optimal D per draw"
    return xr.DataArray(
        values, dims=("chain", "draw"), coords=view.coords, name="loss"
    ).assign_attrs(
        {
            **LOSS_ATTRS,
            "curve": "mean curve",
            "N": float(N),
            "D_rule": how,
            "group": group,
            "long_name": f"loss at N = {N:.3g} parameters, {how}",
        }
    )


@mixes_draws
def frontier_draws(result: Fit | Stack, C, *, group: str | None = None) -> xr.DataArray:
    r"""Posterior draws of the mean-curve loss on the compute-optimal frontier.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (mixture draws).
    C : array_like
        Training compute, FLOP (> 0); a 1-D grid along dim ``point``.
    group : str, optional
        Group; required when the fit has several groups.

    Returns
    -------
    xarray.DataArray
        Loss in nats/token with dims ``("chain", "draw", "point")`` and coord ``C`` (FLOP).
        Each draw's own optimal allocation (:func:`forecast.allocation.optimal_log_N`).

    Notes
    -----
    .. math:: L^*(C) = f\bigl(N^*(C), D^*(C)\bigr), \qquad 6 N^* D^* = C
    """
    view = posterior_view(result, _resolve_group(result, group))
    law = view.law
    theta = {k: v[..., None] for k, v in view.theta.items()}
    C = np.atleast_1d(np.asarray(C, dtype=float))
    log_budget = np.log(C / FLOP_PER_PARAM_TOKEN)[None, None, :]
    log_N, _ = optimal_log_N(law, theta, log_budget, k=FLOP_PER_PARAM_TOKEN)
    log_D = log_budget - log_N
    log_U = log_D if law.needs_unique_tokens else None
    values = np.exp(law.log_loss(log_N, log_D, theta, xp=np, log_U=log_U))
    return xr.DataArray(
        values, dims=("chain", "draw", "point"), coords={**view.coords, "C": ("point", C, C_ATTRS)}
    ).assign_attrs({**LOSS_ATTRS, "curve": "mean curve on the compute-optimal frontier"})


def _default_candidates(budget_flop: float) -> pd.DataFrame:
    C = budget_flop * _BUDGET_FRACTIONS
    c_grid, r_grid = np.meshgrid(C, np.asarray(_TOKENS_PER_PARAM), indexing="ij")
    N = np.sqrt(c_grid / (FLOP_PER_PARAM_TOKEN * r_grid)).ravel()
    return pd.DataFrame({"N": N, "D": N * r_grid.ravel()})


def _candidates(candidates, budget_flop: float) -> pd.DataFrame:
    if candidates is None:
        return _default_candidates(budget_flop)
    frame = candidates if isinstance(candidates, pd.DataFrame) else pd.DataFrame(candidates)
    if "U" in frame and "unique_tokens" not in frame:
        frame = frame.rename(columns={"U": "unique_tokens"})
    if not {"N", "D"} <= set(frame.columns) or frame.empty:
        raise ConfigError("candidates need columns N (parameters) and D (tokens)")
    frame = frame.reset_index(drop=True)
    cost = FLOP_PER_PARAM_TOKEN * frame["N"].to_numpy(float) * frame["D"].to_numpy(float)
    if not (np.all(np.isfinite(cost)) and np.all(cost > 0)):
        raise ConfigError("candidate N and D must be finite and > 0")
    over = np.flatnonzero(cost > budget_flop * (1 + 1e-9))
    if over.size:
        raise ConfigError(
            f"candidates {over[:5].tolist()} cost more than the budget {budget_flop:.3g} FLOP "
            f"(C = 6ND = {', '.join(f'{c:.3g}' for c in cost[over[:5]])})"
        )
    return frame


def _reweighted_variance(
    target: np.ndarray, log_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted variance of ``target`` (S,) and weight ESS, per row of ``log_weights`` (K, S)."""
    w = np.exp(log_weights - special.logsumexp(log_weights, axis=-1, keepdims=True))
    mean = w @ target
    var = np.einsum("ks,ks->k", w, (target[None, :] - mean[:, None]) ** 2)
    return var, 1.0 / np.sum(w**2, axis=-1)


def _linear_gaussian_variance(target: np.ndarray, mean: np.ndarray, noise_var: float) -> float:
    """Posterior variance of ``target`` after observing ``mean`` + noise, jointly Gaussian."""
    cov = np.cov(target, mean, ddof=0)
    return float(cov[0, 0] - cov[0, 1] ** 2 / (cov[1, 1] + noise_var))


def candidate_predictive(
    result: Fit | Stack, candidates: pd.DataFrame, *, group: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-draw mean log loss at each candidate, the observation SD there (and nu).

    Returns ``mean`` and ``sd`` of shape (candidates, draws) and ``nu`` (draws,) for the
    Student-t likelihood or ``None``; draws are flattened chain-major (of a stack: each
    draw its component's, ``nu`` = inf for a Normal component's draws). ``sd`` is the
    group's noise SD of log loss, widened by the compute discrepancy at each candidate when
    the fit has one (:func:`models.noise.observation_sd`).
    """
    if isinstance(result, Stack):  # each draw from its component; nu = inf: a Normal one
        fits = result.components.values()
        parts = [candidate_predictive(f, candidates, group=group) for f in fits]
        pick = result.labels.ravel()
        mean, sd = (np.choose(pick[None, :], [p[i] for p in parts]) for i in (0, 1))
        nus = [np.full(pick.shape, np.inf) if p[2] is None else p[2] for p in parts]
        return mean, sd, None if all(p[2] is None for p in parts) else np.choose(pick, nus)
    view = posterior_view(result, group)
    law, model = view.law, view.noise
    params = {k: v.reshape(1, -1) for k, v in view.theta.items()}
    N_c = candidates["N"].to_numpy(float)
    D_c = candidates["D"].to_numpy(float)
    log_U = None
    if law.needs_unique_tokens:
        U = candidates["unique_tokens"].to_numpy(float) if "unique_tokens" in candidates else D_c
        log_U = np.log(np.minimum(U, D_c))[:, None]
    log_N, log_D = np.log(N_c)[:, None], np.log(D_c)[:, None]
    mean = law.log_loss(log_N, log_D, params, xp=np, log_U=log_U)
    sd = np.broadcast_to(model.sd(log_N, log_D, flat=True), mean.shape)
    nu = None if model.nu is None else _flat(model.nu)
    return mean, sd, nu


def reweighted_variances(
    target: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    nu: np.ndarray | None,
    outcomes: np.ndarray,
    source: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior variance of ``target`` after each outcome, by importance reweighting.

    ``target``, ``mean`` (log loss), ``sd`` and ``nu`` are per draw (S,); ``outcomes`` are
    observed log losses (K,); ``source[k]``, when given, is the draw that generated
    outcome ``k`` and is left out of its weights. Returns the variances and the weights'
    effective sample sizes, both (K,).
    """
    log_w = noise.log_density(
        np.asarray(outcomes, float)[:, None],
        mean[None, :],
        sd[None, :],
        None if nu is None else nu[None, :],
    )
    if source is not None:
        log_w[np.arange(len(outcomes)), source] = -np.inf
    return _reweighted_variance(target, log_w)


def suggest_runs(
    result: Fit | Stack,
    budget_flop: float,
    *,
    candidates=None,
    target: str = "loss",
    target_N: float = 1e13,
    group: str | None = None,
    n_outcomes: int = 256,
    rank_by: str = "per_flop",
    seed: int = 0,
) -> xr.Dataset:
    r"""Rank candidate runs by expected reduction of the target's posterior variance per FLOP.

    Parameters
    ----------
    result : Fit or Stack
        The current posterior. Of an averaged posterior, the draws are the mixture's and
        each is reweighted by its own component's likelihood of the outcome: the mixture
        updated by Bayes' rule, so a component predicting the outcome better gains weight
        (the stacking weights are not re-optimised; :func:`update` does that after the run).
    budget_flop : float
        Largest training compute a candidate may cost, FLOP (C = 6ND), > 0.
    candidates : pandas.DataFrame or sequence of dict, optional
        Runs to score: ``N`` (parameters), ``D`` (tokens), optionally ``unique_tokens``
        (tokens, data-constrained law). Default: 30 runs, compute
        :math:`C \in \{1, 10^{-0.5}, \dots, 10^{-2}\} \times` budget at 5–160 tokens
        per parameter, :math:`N = \sqrt{C / (6 r)}`.
    target : {"loss", "E", "alpha", "beta"}
        Quantity whose variance to reduce; ``"loss"`` is the mean-curve loss at
        ``target_N`` with compute-optimal D (:func:`target_draws`).
    target_N : float
        Model size of the ``"loss"`` target, parameters.
    group : str, optional
        Group the candidate runs (and the target) belong to; required for multi-group fits.
    n_outcomes : int
        Simulated outcomes per candidate (shared by all candidates), >= 2.
    rank_by : {"per_flop", "reduction"}
        Order by expected variance reduction per FLOP (default: the cheapest information)
        or by the reduction itself (the most informative run within the budget).
    seed : int
        Seed of the simulated outcomes.

    Returns
    -------
    xarray.Dataset
        Along dim ``run`` (the candidates, best first; coords ``N`` parameters, ``D``
        tokens, ``C`` FLOP): ``rank`` (1 = best), ``reduction_per_flop``,
        ``variance_reduction`` (the score used, target units squared),
        ``relative_reduction`` (fraction of today's variance, 1), ``expected_sd`` (target
        units), ``variance_reduction_importance`` and ``variance_reduction_linear`` (both
        estimates), ``ess_median`` and ``ess_min`` of the weights (draws), ``method``
        (``"importance"`` or ``"linear"``). Attrs: ``target``, ``target_units``,
        ``current_variance``, ``group``, ``budget_flop``, ``n_outcomes``, ``n_draws``,
        ``package_version``, ``config_hash``, ``seed``, ``law``.

    Raises
    ------
    ConfigError
        Bad budget, candidates over budget, unknown target or group.

    Warns
    -----
    WeightCollapseWarning
        When the median ESS of a candidate's weights is below :data:`MIN_ESS`.

    Notes
    -----
    With draws :math:`\theta^{(s)}`, outcomes :math:`y_k \sim p(y \mid \theta^{(s_k)})`
    and weights :math:`w_{ks} \propto p(y_k \mid \theta^{(s)})`,

    .. math::

        \Delta = \operatorname{Var}(T) - \frac{1}{K} \sum_k \sum_s w_{ks}
        \bigl(T^{(s)} - \textstyle\sum_{s'} w_{ks'} T^{(s')}\bigr)^2,
        \qquad \text{score} = \Delta / (6 N D).

    References
    ----------
    Chaloner & Verdinelli 1995, Statistical Science 10(3);
    Hoffmann et al. 2022, arXiv:2203.15556.

    Examples
    --------
    >>> ranked = suggest_runs(result, 1e21, group="a")  # doctest: +SKIP
    >>> ranked.isel(run=0)[["N", "D"]]  # doctest: +SKIP
    """
    if not (np.isfinite(budget_flop) and budget_flop > 0):
        raise ConfigError(f"budget_flop must be finite and > 0 (FLOP), got {budget_flop!r}")
    if not isinstance(n_outcomes, int) or n_outcomes < 2:
        raise ConfigError(f"n_outcomes must be an int >= 2, got {n_outcomes!r}")
    if rank_by not in RANK_BY:
        raise ConfigError(f"unknown rank_by {rank_by!r}; choose one of {list(RANK_BY)}")
    group = _resolve_group(result, group)
    cands = _candidates(candidates, budget_flop)
    T_da = target_draws(result, target=target, N=target_N, group=group)
    T = _flat(T_da)
    mean, sd, nu = candidate_predictive(result, cands, group=group)
    S = T.size
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    source = rng.integers(S, size=n_outcomes)
    eps = noise.standard_noise(rng, n_outcomes, None if nu is None else nu[source])
    var0 = float(np.var(T))
    rows = []
    for c in range(len(cands)):
        y = mean[c, source] + sd[c, source] * eps
        var, ess = reweighted_variances(T, mean[c], sd[c], nu, y, source)
        noise_var = float(np.mean(noise.noise_variance(sd[c], nu)))
        rows.append(
            (
                var0 - float(np.mean(var)),
                var0 - _linear_gaussian_variance(T, mean[c], noise_var),
                float(np.median(ess)),
                float(np.min(ess)),
            )
        )
    attrs = {
        "target": T_da.attrs.get("long_name", T_da.name),
        "target_units": T_da.attrs.get("units", "1"),
        "current_variance": var0,
        "group": group,
        "budget_flop": float(budget_flop),
        "n_outcomes": int(n_outcomes),
        "n_draws": int(S),
        "rank_by": rank_by,
        "package_version": _package_version(),
        "seed": int(seed),
        **_config_attrs(result),
    }
    return _suggestions(rows, cands, var0, rank_by, attrs)


def _config_attrs(result: Fit | Stack) -> dict:
    if isinstance(result, Stack):
        law, config_hash = result.config_field("law"), result.config_field("config_hash")
        return {"config_hash": config_hash, "law": law, **result.attrs()}
    return {"config_hash": result.config.config_hash, "law": result.config.law}


def _suggestions(rows, cands, var0, rank_by, attrs):
    S = attrs["n_draws"]
    imp, lin, ess_med, ess_min = (np.array(col) for col in zip(*rows, strict=True))
    collapsed = ess_med < MIN_ESS
    if collapsed.any():
        warnings.warn(
            f"importance weights collapsed (median ESS < {MIN_ESS:g} of {S} draws) for "
            f"{int(collapsed.sum())} of {len(rows)} candidates; they are scored by the "
            "linear-Gaussian update instead (see method). More posterior draws help.",
            WeightCollapseWarning,
            stacklevel=3,
        )
    reduction = np.where(collapsed, lin, imp)
    C = FLOP_PER_PARAM_TOKEN * cands["N"].to_numpy(float) * cands["D"].to_numpy(float)
    per_flop = reduction / C
    order = np.argsort(-(per_flop if rank_by == "per_flop" else reduction), kind="stable")
    u = attrs["target_units"]
    sq = f"({u})^2" if u != "1" else "1"
    data = {
        "rank": ("run", np.arange(1, len(rows) + 1), {"units": "1", "long_name": "rank"}),
        "reduction_per_flop": (
            "run",
            per_flop[order],
            {"units": f"{sq}/FLOP", "long_name": "expected variance reduction per FLOP"},
        ),
        "variance_reduction": ("run", reduction[order], {"units": sq, "long_name": "score"}),
        "relative_reduction": (
            "run",
            reduction[order] / var0,
            {"units": "1", "long_name": "expected variance reduction / current variance"},
        ),
        "expected_sd": (
            "run",
            np.sqrt(np.maximum(var0 - reduction[order], 0.0)),
            {"units": u, "long_name": "expected posterior SD of the target after the run"},
        ),
        "variance_reduction_importance": ("run", imp[order], {"units": sq, "long_name": "IS"}),
        "variance_reduction_linear": ("run", lin[order], {"units": sq, "long_name": "linear"}),
        "ess_median": ("run", ess_med[order], {"units": "draws", "long_name": "median ESS"}),
        "ess_min": ("run", ess_min[order], {"units": "draws", "long_name": "minimum ESS"}),
        "method": ("run", np.where(collapsed, "linear", "importance")[order], {"units": ""}),
    }
    data["variance_reduction"][2]["long_name"] = "expected variance reduction of the target"
    data["variance_reduction_importance"][2]["long_name"] = "by importance reweighting"
    data["variance_reduction_linear"][2]["long_name"] = "by the linear-Gaussian update"
    data["method"][2]["long_name"] = "estimate used for the score"
    coords = {
        "run": np.arange(len(rows)),
        "N": ("run", cands["N"].to_numpy(float)[order], N_ATTRS),
        "D": ("run", cands["D"].to_numpy(float)[order], D_ATTRS),
        "C": ("run", C[order], C_ATTRS),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(attrs)
    return ds


#: Values of optional numeric columns for appended runs that do not give them.
_APPEND_DEFAULTS = {"loss_sd": 0.0, "checkpoint_fraction": 1.0}


def append_runs(runs: pd.DataFrame, new_runs, *, group_column: str | None) -> pd.DataFrame:
    """Append new runs to a runs table, completing optional columns the new runs lack.

    ``loss_sd`` becomes 0 (no known measurement error beyond the fitted noise),
    ``checkpoint_fraction`` 1 (end of training), ``C`` = 6ND, ``unique_tokens`` = D, text
    columns stay missing; any other numeric column that some runs lack (informational,
    e.g. ``N_non_embedding``) is dropped, since the schema does not allow gaps in it.
    """
    new = new_runs if isinstance(new_runs, pd.DataFrame | str | Path) else pd.DataFrame(new_runs)
    table = load_runs(new)
    if group_column is not None and group_column not in table:
        raise DataError(
            f"new runs: column {group_column!r} is missing; the fit groups runs by it",
            column=group_column,
        )
    out = pd.concat([runs, table], ignore_index=True)
    filled = {
        **_APPEND_DEFAULTS,
        "C": FLOP_PER_PARAM_TOKEN * out["N"] * out["D"],
        "unique_tokens": out["D"],
    }
    for col in list(out.columns):
        if not out[col].isna().any() or not pd.api.types.is_numeric_dtype(out[col]):
            continue
        if col in filled:
            out[col] = out[col].fillna(filled[col])
        elif col not in ("N", "D", "loss"):
            out = out.drop(columns=col)
    return load_runs(out)


def update(result: Fit | Stack, new_runs, *, seed: int | None = None) -> Fit | Stack:
    r"""Refit with new runs appended, reusing the fit's configuration.

    Parameters
    ----------
    result : Fit or Stack
        The current fit; its runs and config are reused (never modified). An averaged
        posterior refits every component and recomputes the weights by its method (given
        weights are kept; LFO splits along the same column), with the stack's seed.
    new_runs : pandas.DataFrame, path or sequence of dict
        Runs in the tidy schema (``N`` parameters, ``D`` tokens, ``loss`` nats/token, and
        the grouping column when the fit has one).
    seed : int, optional
        Seed of the refit; default the fit's own seed.

    Returns
    -------
    Fit or Stack
        The refitted posterior on the old and new runs (a Stack for a Stack).

    Raises
    ------
    DataError
        Invalid new runs, or a missing grouping column. Optional columns the new runs
        lack are completed as in :func:`append_runs`.
    ConvergenceError
        Never (``strict`` is off); convergence failures warn as in :func:`forecast.fit`.

    Notes
    -----
    .. math:: p(\theta \mid y_\text{old}, y_\text{new})
              \propto p(y_\text{new} \mid \theta)\, p(\theta \mid y_\text{old})

    References
    ----------
    Gelman et al. 2013, Bayesian Data Analysis, 3rd ed., §1.3 (sequential updating).

    Examples
    --------
    >>> after = update(result, new_runs)  # doctest: +SKIP
    >>> len(after.runs) == len(result.runs) + len(new_runs)  # doctest: +SKIP
    True
    """
    if isinstance(result, Stack):
        runs = append_runs(result.runs, new_runs, group_column=result.group_column)
        configs = {n: f.config if seed is None else f.config.replace(seed=seed)
                   for n, f in result.components.items()}  # fmt: skip
        w = dict(zip(result.names, map(float, result.weights.values), strict=True))
        weights = w if result.method == "given" else result.method
        column = str(result.scores.attrs.get("column", "C"))
        return fit_averaged(runs, configs, weights=weights, column=column, seed=result.seed)
    runs = append_runs(result.runs, new_runs, group_column=result.config.groups)
    config = result.config if seed is None else result.config.replace(seed=seed)
    return fit(runs, config=config)


def _package_version() -> str:
    try:
        return importlib.metadata.version("scaling-forecast")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"
