r"""Forecasts for named training scenarios: how good a model of size N gets, at what cost.

A scenario pins a training run by two of (N, D, C), or by N and "compute-optimal"
(:class:`Scenario`; plain data, so sensitivity studies can pass lists of dicts).
:func:`forecast_draws` returns posterior draws of every quantity per scenario;
:func:`forecast` summarises them.

Which curve
-----------
``loss`` is the **mean curve** :math:`f(N, D; \theta)` — "the loss of a model of this
size" as the law predicts it. ``loss_new_run`` adds the fitted observation noise: the loss
one new training run would report (use it to judge a single run against the forecast). Its
noise is that of :func:`forecast.predict.predict` with ``include_noise=True`` at the same
(N, D), the compute discrepancy included when the fit has one.

Diminishing returns
-------------------
``reducible_loss`` is the distance to the floor, :math:`L - E` (``E = 0`` for the
floorless Kaplan law). ``frontier_return`` is the loss drop bought by 10× more compute
along the compute-optimal frontier at the scenario's compute,
:math:`L^*(C) - L^*(10 C)`; ``data_return`` is the drop from 10× more tokens at fixed N,
:math:`L(N, D) - L(N, 10 D)`. Both are in nats/token per decade and shrink with scale.

Summary layout (:func:`forecast`)
---------------------------------
Dims ``scenario``, ``ci_prob`` (0.5, 0.8, 0.9, 0.95 and the requested ``ci_prob``),
``ci_bound`` (``lower``, ``upper``) and ``threshold`` (nats/token). For every quantity
``q`` in ``QUANTITIES``: ``q_median`` (posterior median, dim ``scenario``), ``q_ci`` (ETI)
and ``q_hdi`` (dims ``scenario, ci_prob, ci_bound``; attrs ``ci_kind``; the layout of
:mod:`forecast.intervals`). Tail probabilities
``p_loss_below`` and ``p_loss_new_run_below`` (dims ``scenario, threshold``) are
:math:`P(L < x)`. Attrs: ``package_version``, ``config_hash``, ``seed``, ``law``,
``group``, ``N``, ``flop_per_param_token`` and ``ci_prob`` (the headline interval the
CLI and plots show). Coordinates ``scenario_kind`` and ``scenario_value`` record the specs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from forecast.allocation import (
    TOKENS_PER_PARAM_ATTRS,
    optimal_log_D_for_N,
    optimal_log_N,
    result_attrs,
)
from forecast.averaged import Stack, mixes_draws
from forecast.errors import ConfigError
from forecast.extrapolation import assess
from forecast.fit import Fit
from forecast.intervals import eti
from forecast.posterior_view import posterior_view
from forecast.summary import CI_PROBS, summarise
from forecast.units import C_ATTRS, CI_PROB, D_ATTRS, FLOP_PER_PARAM_TOKEN, LOSS_ATTRS, N_ATTRS

#: What a scenario may fix besides N (see :class:`Scenario`).
SCENARIO_KINDS = ("compute_optimal", "tokens_per_param", "D", "C", "budget")
#: The quantities :func:`forecast_draws` returns per scenario.
QUANTITIES = (
    "loss",
    "loss_new_run",
    "N",
    "D",
    "C",
    "tokens_per_param",
    "reducible_loss",
    "frontier_return",
    "data_return",
)
_RETURN = "nats/token per decade"


def _positive(value) -> bool:
    """Whether ``value`` is a finite real number > 0 (not a bool)."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return real and math.isfinite(value) and value > 0


@dataclass(frozen=True)
class Scenario:
    r"""One training scenario, as plain data.

    Parameters
    ----------
    kind : str
        ``"compute_optimal"``: D is compute-optimal for N (``value`` unused);
        ``"tokens_per_param"``: :math:`D = \text{value} \cdot N`;
        ``"D"``: D = ``value`` tokens; ``"C"``: :math:`D = \text{value} / (k N)` for a
        budget of ``value`` FLOP at N; ``"budget"``: ``value`` FLOP allocated
        compute-optimally (N is then an output; ``N`` must be ``None``).
    value : float, optional
        Tokens per parameter, tokens or FLOP, as ``kind`` says.
    N : float, optional
        Total parameters; ``None`` uses the ``N`` passed to :func:`forecast`.
    name : str
        Label (the ``scenario`` coordinate); generated from the spec when empty.

    Raises
    ------
    ConfigError
        Unknown kind, a missing or non-positive value, or ``N`` with ``kind="budget"``.

    Examples
    --------
    >>> Scenario("tokens_per_param", 20).name
    '20 tokens/param'
    >>> Scenario.from_dict({"kind": "compute_optimal"}) == Scenario("compute_optimal")
    True
    """

    kind: str
    value: float | None = None
    N: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SCENARIO_KINDS:
            raise ConfigError(
                f"unknown scenario kind {self.kind!r}; choose one of {list(SCENARIO_KINDS)}"
            )
        if self.kind == "compute_optimal":
            if self.value is not None:
                raise ConfigError("scenario 'compute_optimal' takes no value (D follows from N)")
        elif not _positive(self.value):
            raise ConfigError(
                f"scenario {self.kind!r} needs a finite value > 0, got {self.value!r}"
            )
        if self.N is not None and (self.kind == "budget" or not _positive(self.N)):
            raise ConfigError(
                f"scenario N must be a finite number > 0 and not given with kind 'budget' "
                f"(N is then compute-optimal); got N={self.N!r}, kind={self.kind!r}"
            )
        if self.value is not None:
            object.__setattr__(self, "value", float(self.value))
        if self.N is not None:
            object.__setattr__(self, "N", float(self.N))
        if not self.name:
            object.__setattr__(self, "name", self._default_name())

    def _default_name(self) -> str:
        v = self.value
        label = {
            "compute_optimal": lambda: "compute-optimal",
            "tokens_per_param": lambda: f"{v:g} tokens/param",
            "D": lambda: f"D = {v:.3g} tokens",
            "C": lambda: f"C = {v:.3g} FLOP",
            "budget": lambda: f"compute-optimal at C = {v:.3g} FLOP",
        }[self.kind]()
        return label if self.N is None else f"{label}, N = {self.N:.3g}"

    def to_dict(self) -> dict:
        """Return the scenario as JSON-ready plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Scenario:
        """Build from a mapping with keys ``kind``, ``value``, ``N``, ``name``."""
        unknown = sorted(set(data) - {"kind", "value", "N", "name"})
        if unknown or "kind" not in data:
            raise ConfigError(
                f"a scenario mapping needs 'kind' and may have 'value', 'N', 'name'; "
                f"got keys {sorted(data)}"
            )
        return cls(**dict(data))


#: Scenarios of :func:`forecast` when none are given.
DEFAULT_SCENARIOS = (
    Scenario("compute_optimal"),
    Scenario("tokens_per_param", 20.0),
    Scenario("tokens_per_param", 100.0),
)


def resolve_scenarios(scenarios: Sequence[Scenario | Mapping] | None) -> list[Scenario]:
    """Scenarios as :class:`Scenario` objects, with unique names.

    Parameters
    ----------
    scenarios : sequence of Scenario or mapping, optional
        ``None`` gives :data:`DEFAULT_SCENARIOS`.

    Returns
    -------
    list of Scenario
        The scenarios.

    Raises
    ------
    ConfigError
        An invalid spec, an empty list or duplicate names.
    """
    if scenarios is None:
        return list(DEFAULT_SCENARIOS)
    out = [s if isinstance(s, Scenario) else Scenario.from_dict(s) for s in scenarios]
    if not out:
        raise ConfigError("give at least one scenario")
    names = [s.name for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"scenario names must be unique; repeated: {duplicates}")
    return out


def _log_N_D(law, theta, scenario: Scenario, N: float, k: float, shape):
    """Draws of log N and log D (shape ``(chain, draw)``) of one scenario, and edge count."""
    edge = 0
    if scenario.kind == "budget":
        log_budget = np.full(shape + (1,), math.log(scenario.value / k))
        log_N, edge = optimal_log_N(law, theta, log_budget, k=k)
        log_N = log_N[..., 0]
        return log_N, log_budget[..., 0] - log_N, edge
    log_N = np.full(shape, math.log(scenario.N or N))
    if scenario.kind == "compute_optimal":
        log_D = optimal_log_D_for_N(law, theta, log_N[..., None])[..., 0]
    elif scenario.kind == "tokens_per_param":
        log_D = log_N + math.log(scenario.value)
    elif scenario.kind == "D":
        log_D = np.full(shape, math.log(scenario.value))
    else:  # "C"
        log_D = math.log(scenario.value / k) - log_N
    return log_N, log_D, edge


@mixes_draws
def forecast_draws(
    result: Fit | Stack,
    *,
    N: float = 1e13,
    scenarios: Sequence[Scenario | Mapping] | None = None,
    group: str | None = None,
    flop_per_param_token: float = FLOP_PER_PARAM_TOKEN,
    seed: int = 0,
) -> xr.Dataset:
    r"""Posterior draws of loss, allocation and returns for each scenario.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (each draw from the component it is
        allocated to, :mod:`forecast.averaged`).
    N : float
        Total parameters of the forecast model (scenarios may override it).
    scenarios : sequence of Scenario or mapping, optional
        Scenario specs (:class:`Scenario` or dicts with its fields); default
        :data:`DEFAULT_SCENARIOS` (compute-optimal, 20 and 100 tokens/param).
    group : str, optional
        Group label; ``None`` = a new group from the population.
    flop_per_param_token : float
        FLOP per parameter per token, :math:`k` in :math:`C = k N D`.
    seed : int
        Seed of new-group offsets and of the new-run noise (as in
        :func:`forecast.predict.predict`, so the draws match it for the same seed).

    Returns
    -------
    xarray.Dataset
        Variables :data:`QUANTITIES` with dims ``("chain", "draw", "scenario")``:
        ``loss`` (mean curve) and ``loss_new_run`` (one new run), ``reducible_loss``,
        ``frontier_return`` and ``data_return`` in nats/token (returns per decade of C or
        D), ``N`` parameters, ``D`` tokens, ``C`` FLOP, ``tokens_per_param``. A
        compute-optimal D that does not exist within 1 to 1e39 tokens is ``nan``
        (counted in attrs ``frontier_missing``). Attrs ``extrapolation`` (JSON),
        ``extrapolation_summary`` and ``extrapolation_warning`` give the distance of each
        scenario beyond the runs (:func:`forecast.extrapolation.assess`).

    Warns
    -----
    ExtrapolationWarning
        The compute-optimal tokens/param at a scenario's N lies outside what the runs and
        the published fits span, or its 90% interval spans more than 1.5 decades.

    Raises
    ------
    ConfigError
        Invalid scenarios.
    ValueError
        ``N`` or ``flop_per_param_token`` not finite and positive.
    KeyError
        Unknown group.

    Notes
    -----
    .. math::

        C = k N D, \quad
        \Delta_C = L^*(C) - L^*(10 C), \quad
        \Delta_D = L(N, D) - L(N, 10 D)

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556 (compute-optimal frontier);
    Besiroglu et al. 2024, arXiv:2404.10102 (loss of a compute-optimal model).

    Examples
    --------
    >>> draws = forecast_draws(result, N=1e13)  # doctest: +SKIP
    >>> draws["loss"].dims  # doctest: +SKIP
    ('chain', 'draw', 'scenario')
    """
    if not _positive(N):
        raise ValueError(f"N must be a finite number > 0 (parameters), got {N!r}")
    if not _positive(flop_per_param_token):
        raise ValueError(f"flop_per_param_token must be finite and > 0, got {flop_per_param_token}")
    specs = resolve_scenarios(scenarios)
    k = float(flop_per_param_token)
    view = posterior_view(result, group, seed=seed)
    law, shape = view.law, view.shape
    theta = {k: v[..., None] for k, v in view.theta.items()}
    edge = 0
    logs_N, logs_D = [], []
    for spec in specs:
        log_N, log_D, n_edge = _log_N_D(law, theta, spec, float(N), k, shape)
        logs_N.append(log_N)
        logs_D.append(log_D)
        edge += n_edge
    log_N = np.stack(logs_N, axis=-1)
    log_D = np.stack(logs_D, axis=-1)
    log_budget = log_N + log_D
    loss = np.exp(law.log_loss(log_N, log_D, theta, xp=np))
    more_data = np.exp(law.log_loss(log_N, log_D + math.log(10.0), theta, xp=np))
    frontier = []
    for shift in (0.0, math.log(10.0)):
        budget = np.where(np.isfinite(log_budget), log_budget + shift, 1.0)
        opt_N, n_edge = optimal_log_N(law, theta, budget, k=k)
        edge += n_edge
        frontier.append(np.exp(law.log_loss(opt_N, budget - opt_N, theta, xp=np)))
    floor = theta["E"] if "E" in theta else np.zeros_like(theta[law.params[0]])
    dims = ("chain", "draw", "scenario")

    def wrap(values, attrs):
        return xr.DataArray(np.broadcast_to(values, loss.shape), dims=dims, attrs=dict(attrs))

    missing = np.isnan(log_D)
    mean = wrap(loss, {**LOSS_ATTRS, "curve": "mean curve"})
    # the noise SD at each draw's (N, D): with a discrepancy term it grows with the distance
    noisy = mean * np.exp(view.noise.sample(mean, seed, wrap(log_N, {}), wrap(log_D, {})))
    data = {
        "loss": mean,
        "loss_new_run": noisy.transpose(*dims).assign_attrs(
            {**LOSS_ATTRS, "curve": "loss of one new run (with observation noise)"}
        ),
        "N": wrap(np.exp(log_N), N_ATTRS),
        "D": wrap(np.exp(log_D), D_ATTRS),
        "C": wrap(k * np.exp(log_budget), C_ATTRS),
        "tokens_per_param": wrap(np.exp(log_D - log_N), TOKENS_PER_PARAM_ATTRS),
        "reducible_loss": wrap(
            loss - floor,
            {"units": "nats/token", "long_name": "distance to the floor L - E (mean curve)"},
        ),
        "frontier_return": wrap(
            np.where(missing, np.nan, frontier[0] - frontier[1]),
            {"units": _RETURN, "long_name": "loss drop per 10x compute on the frontier"},
        ),
        "data_return": wrap(
            loss - more_data,
            {"units": _RETURN, "long_name": "loss drop per 10x tokens at fixed N"},
        ),
    }
    coords = {
        **view.coords,
        "scenario": [s.name for s in specs],
        "scenario_kind": ("scenario", [s.kind for s in specs]),
        "scenario_value": (
            "scenario",
            [np.nan if s.value is None else s.value for s in specs],
            {"long_name": "scenario value (tokens/param, tokens or FLOP, per kind)"},
        ),
    }
    out = xr.Dataset(data, coords=coords)
    reach = assess(
        result.runs,
        names=[s.name for s in specs],
        N=np.exp(log_N),
        tokens_per_param=np.exp(log_D - log_N),
        optimal_tokens_per_param=np.exp(optimal_log_D_for_N(law, theta, log_N) - log_N),
        theta=theta,
        flop_per_param_token=k,
    )
    out.attrs.update(
        {
            **result_attrs(result, seed),
            "group": "new group" if group is None else group,
            "N": float(N),
            "flop_per_param_token": k,
            "frontier_missing": int(missing.sum()),
            "draws_at_search_edge": int(edge),
            **reach.attrs(),
        }
    )
    reach.warn(stacklevel=3)
    return out


def _default_thresholds(loss: xr.DataArray) -> list[float]:
    """Five round losses spanning the central 90% of the mean-curve draws."""
    lo, hi = eti(loss.values.ravel(), 0.9, skipna=True)[1]
    values = np.unique(np.round(np.linspace(lo, hi, 5), 2))
    return [float(v) for v in values]


def forecast(
    result: Fit | Stack,
    *,
    N: float = 1e13,
    scenarios: Sequence[Scenario | Mapping] | None = None,
    group: str | None = None,
    ci_prob: float = CI_PROB,
    thresholds: Sequence[float] | None = None,
    flop_per_param_token: float = FLOP_PER_PARAM_TOKEN,
    seed: int = 0,
) -> xr.Dataset:
    r"""Forecast loss, allocation and returns at size N for each scenario (summaries).

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior: the summaries are those of the mixture
        draws of :func:`forecast_draws`.
    N : float
        Total parameters of the forecast model, default :math:`10^{13}` (10T).
    scenarios : sequence of Scenario or mapping, optional
        Scenario specs; default compute-optimal, 20 and 100 tokens/param.
    group : str, optional
        Group label; ``None`` = a new group from the population.
    ci_prob : float
        Headline interval probability (added to the 0.5/0.8/0.9/0.95 intervals and
        recorded in attrs for tables and plots).
    thresholds : sequence of float, optional
        Losses :math:`x` (nats/token) for :math:`P(L < x)`; default five round values
        spanning the central 90% of the mean-curve forecast.
    flop_per_param_token : float
        FLOP per parameter per token, :math:`k` in :math:`C = k N D`.
    seed : int
        Seed of new-group offsets and of the new-run noise.

    Returns
    -------
    xarray.Dataset
        Summaries in the layout of the module docstring: ``loss`` is the **mean curve**,
        ``loss_new_run`` the loss of one new run; ``*_median`` per ``scenario``, ``*_ci`` and
        ``*_hdi`` intervals over ``(scenario, ci_prob, ci_bound)``, ``p_loss_below`` and
        ``p_loss_new_run_below`` over ``(scenario, threshold)``.

    Raises
    ------
    ConfigError
        Invalid scenarios.
    ValueError
        ``ci_prob`` outside (0, 1); ``N`` or ``flop_per_param_token`` not positive.
    KeyError
        Unknown group.

    Notes
    -----
    .. math::

        P(L < x) = \frac{1}{S} \sum_s \mathbf{1}\left[f(N, D^{(s)}; \theta^{(s)}) < x\right]

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556; Besiroglu et al. 2024, arXiv:2404.10102.

    Examples
    --------
    >>> summary = forecast(result, N=1e13)  # doctest: +SKIP
    >>> summary["loss_median"].sel(scenario="compute-optimal").item()  # doctest: +SKIP
    1.85...
    """
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob must be in (0, 1), got {ci_prob}")
    draws = forecast_draws(
        result,
        N=N,
        scenarios=scenarios,
        group=group,
        flop_per_param_token=flop_per_param_token,
        seed=seed,
    )
    values = _default_thresholds(draws["loss"]) if thresholds is None else list(thresholds)
    probs = sorted({*CI_PROBS, float(ci_prob)})
    summary = summarise(draws, ci_probs=probs, thresholds={"loss": values, "loss_new_run": values})
    summary.attrs["ci_prob"] = float(ci_prob)
    return summary
