r"""Data exhaustion: whether, by how much and when largest models run out of human text.

Three questions, each answered as a posterior:

1. **How many tokens does a model of N parameters need?** Per scenario: the
   compute-optimal :math:`D^*(N)` of every posterior draw of the fitted law, or a fixed
   number of tokens per parameter (20, Hoffmann et al.'s rule of thumb; 100, an
   over-trained model; any user value).
2. **Is that more than the stock?** The stock :math:`S` of usable human-generated public
   text is uncertain; its prior is lognormal (:class:`StockPrior`, default Villalobos et
   al. 2024: median 3e14 tokens, 90% interval 1e14-1e15). Reported: the probability
   :math:`P(D > S)`, the epochs over the stock :math:`D/S`, and the loss penalty of
   repeating the stock instead of having fresh data, under the data-constrained law of
   Muennighoff et al. (2023).
3. **When do the largest models' training sets reach the stock?** A Bayesian log-linear
   trend of their training-set size against publication date
   (:func:`forecast.dataset_trend.fit_dataset_trend`, model in :mod:`models.trend`),
   combined draw by draw with the stock prior.

Choices, and why
----------------
* **Trend.** Fitted by :func:`forecast.dataset_trend.fit_dataset_trend` (Epoch AI's frontier-flagged
  language models since 2018, tokens seen ``D``; see that module for the choices and
  their effect) and passed in as ``trend=``.
* **Exhaustion year** is the year the *trend line* (the typical largest model of that
  year) reaches the stock; it has no scenario dimension. ``year_needed`` is, per scenario,
  the year the trend line reaches that scenario's :math:`D`.
* **Loss penalty.** When the stock binds, the model repeats :math:`U = \min(S, D)` unique
  tokens for :math:`D/U` epochs; only the data term changes, through the effective data
  :math:`D'` of :func:`models.laws.data_constrained.effective_tokens`. The
  excess-parameter term (:math:`R_N^*`) is left out: it describes models far larger than
  their unique data supports, a different question. :math:`R_D^*` comes from the fit's
  posterior when the fit's law is ``data_constrained``, otherwise from the
  ``muennighoff2023`` preset's prior (LogNormal around 15.4 epochs).
* Intervals are equal-tailed (``ci_kind = "eti"``).

References
----------
Villalobos, Ho, Sevilla, Besiroglu, Heim, Hobbhahn 2024, "Will we run out of data?
Limits of LLM scaling based on human-generated data", arXiv:2211.04325v2 (ICML 2024).
Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv:2305.16264.
Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType

import numpy as np
import pymc as pm
import xarray as xr
from scipy.special import ndtri

from forecast.averaged import Stack
from forecast.dataset_trend import GROWTH_ATTRS, YEAR_ATTRS
from forecast.errors import ConfigError
from forecast.extrapolation import assess
from forecast.fit import Fit, package_versions
from forecast.intervals import summarise_draws
from forecast.posterior_view import posterior_view
from forecast.units import CI_PROB, D_ATTRS, PROB_ATTRS
from models.laws import chinchilla, data_constrained
from models.priors import PRESETS
from models.trend import year_reaching

__all__ = [
    "DEFAULT_SCENARIOS",
    "DEFAULT_STOCK",
    "StockPrior",
    "VILLALOBOS_YEAR",
    "exhaustion",
]

#: Scenario name -> ``"compute_optimal"`` or tokens per parameter (float).
DEFAULT_SCENARIOS: Mapping[str, str | float] = MappingProxyType(
    {
        "compute_optimal": "compute_optimal",
        "20_tokens_per_param": 20.0,
        "100_tokens_per_param": 100.0,
    }
)
#: Villalobos et al. 2024, Fig. 1 caption: year the stock is fully used by compute-optimal
#: models, median and interval (80% CI; the paper says "between 2026 and 2032").
VILLALOBOS_YEAR: Mapping[str, float | str] = MappingProxyType(
    {"median": 2028.0, "lower": 2026.0, "upper": 2032.0, "interval": "80% CI"}
)

#: Laws whose compute-optimal tokens have Hoffmann's closed form, which exhaustion inverts.
_OPTIMUM_LAWS = ("chinchilla", "data_constrained")

_EPOCH_ATTRS = {"units": "1", "long_name": "epochs over the stock needed, D / S"}
_PENALTY_ATTRS = {
    "units": "nats/token",
    "long_name": "loss penalty of repeating the stock, L(N, D, U=min(S, D)) - L(N, D, U=D)",
}
_TREND_KEYS = ("quantity", "subset", "since", "year_centre", "n_models", "config_hash")


@dataclass(frozen=True)
class StockPrior:
    r"""Lognormal prior on the stock of usable human-generated text, from a median and interval.

    Parameters
    ----------
    median : float
        Median stock, tokens, > 0.
    lower, upper : float
        Published interval bounds, tokens, ``0 < lower < median < upper``.
    ci_prob : float
        Probability of that interval, in (0, 1).
    source : str
        Where the numbers come from.

    Raises
    ------
    ConfigError
        Non-finite or non-positive values, bounds out of order or ``ci_prob`` outside (0, 1).

    Notes
    -----
    An asymmetric interval cannot be matched exactly by a lognormal (its interval is
    symmetric in log space around the median). The median is kept exact and
    :math:`\sigma` matches the **geometric mean of the two tail ratios**:

    .. math::

        \mu = \ln m, \qquad
        \sigma = \frac{\ln(m/l) + \ln(u/m)}{2 z} = \frac{\ln(u/l)}{2 z}, \qquad
        z = \Phi^{-1}\!\left(\tfrac{1 + p}{2}\right).

    With :math:`\mu` fixed this is also the least-squares fit to both log-quantiles.
    For 3e14 (1e14-1e15, 90%): :math:`\sigma = 0.700`, implied interval 9.49e13-9.49e14.

    References
    ----------
    Villalobos et al. 2024, arXiv:2211.04325v2, abstract: 3e14 tokens, 90% CI 1e14-1e15.

    Examples
    --------
    >>> prior = StockPrior()
    >>> round(prior.sigma, 4), [f"{v:.3g}" for v in prior.implied_interval()]
    (0.6999, ['9.49e+13', '9.49e+14'])
    """

    median: float = 3e14
    lower: float = 1e14
    upper: float = 1e15
    ci_prob: float = 0.9
    source: str = (
        "Villalobos et al. 2024 (arXiv:2211.04325v2): effective stock of public "
        "human-generated text, quality- and multi-epoch-adjusted, 3e14 tokens, 90% CI 1e14-1e15"
    )

    def __post_init__(self) -> None:
        values = {"median": self.median, "lower": self.lower, "upper": self.upper}
        for name, value in {**values, "ci_prob": self.ci_prob}.items():
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ConfigError(f"StockPrior.{name} must be a finite number; got {value!r}")
        if not 0 < self.lower < self.median < self.upper:
            raise ConfigError(f"StockPrior needs 0 < lower < median < upper (tokens); got {values}")
        if not 0 < self.ci_prob < 1:
            raise ConfigError(f"StockPrior.ci_prob must be in (0, 1); got {self.ci_prob}")

    @property
    def mu(self) -> float:
        r"""Log-scale location :math:`\ln m` (log tokens)."""
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        """Log-scale SD matching the geometric mean of the two tail ratios."""
        z = float(ndtri((1 + self.ci_prob) / 2))
        return math.log(self.upper / self.lower) / (2 * z)

    def implied_interval(self, ci_prob: float | None = None) -> tuple[float, float]:
        """Equal-tailed interval of the lognormal, tokens.

        Parameters
        ----------
        ci_prob : float, optional
            Interval probability; default ``self.ci_prob``.

        Returns
        -------
        tuple of float
            ``(lower, upper)`` in tokens.
        """
        z = float(ndtri((1 + (self.ci_prob if ci_prob is None else ci_prob)) / 2))
        return (math.exp(self.mu - z * self.sigma), math.exp(self.mu + z * self.sigma))

    def to_dict(self) -> dict:
        """Return the prior as JSON-ready plain data."""
        return asdict(self)


#: The default stock prior (Villalobos et al. 2024).
DEFAULT_STOCK = StockPrior()


def _check_scenarios(scenarios: Mapping[str, str | float]) -> dict[str, str | float]:
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise ConfigError("scenarios must be a non-empty mapping of name to rule")
    out: dict[str, str | float] = {}
    for name, rule in scenarios.items():
        if rule == "compute_optimal":
            out[str(name)] = rule
        elif isinstance(rule, numbers.Real) and not isinstance(rule, bool) and rule > 0:
            if not math.isfinite(rule):
                raise ConfigError(f"scenario {name!r}: tokens per parameter must be finite")
            out[str(name)] = float(rule)
        else:
            raise ConfigError(
                f"scenario {name!r}: rule must be 'compute_optimal' or tokens per parameter "
                f"(a number > 0); got {rule!r}"
            )
    return out


def _law_draws(result: Fit, group: str | None, seed: int) -> dict[str, np.ndarray]:
    """Chinchilla-form parameters (E, A, alpha, B, beta [, R_D_star]) as (chain, draw)."""
    if result.config.law not in _OPTIMUM_LAWS:
        # chinchilla_broken has these five parameters too, but its optimum is not Hoffmann's.
        raise ConfigError(
            f"exhaustion needs the compute-optimal tokens of a law in {list(_OPTIMUM_LAWS)} "
            f"(closed form, Hoffmann eq. 4); the fit's law is {result.config.law!r}"
        )
    try:
        out = dict(posterior_view(result, group, seed=seed).theta)
    except KeyError as exc:
        raise ConfigError(str(exc).strip("'\"")) from exc
    out["A"], out["B"] = np.exp(out["log_A"]), np.exp(out["log_B"])
    return out


def _config_field(result: Fit | Stack, what: str):
    if isinstance(result, Stack):
        return result.config_field(what)
    return getattr(result.config, what)


def _mixed_draws(stack: Stack, thetas: list[dict], r_d: list[tuple]) -> tuple:
    """(theta, R_D* draws, R_D* source) of a stack: each draw from its allocated component.

    Parameters every component has are mixed; ``R_D_star`` (a data_constrained component's
    posterior, the others' prior draws) travels separately.
    """
    labels = stack.labels
    keys = [k for k in thetas[0] if k != "R_D_star" and all(k in t for t in thetas)]
    values = [[t[k] for k in keys] + [r[0]] for t, r in zip(thetas, r_d, strict=True)]
    mixed = [np.array(v, dtype=float, copy=True) for v in values[0]]
    for k, component in enumerate(values[1:], start=1):
        hit = labels == k
        for out, v in zip(mixed, component, strict=True):
            out[hit] = v[hit]
    sources = dict(zip(stack.names, (r[1] for r in r_d), strict=True))
    source = r_d[0][1] if len(set(sources.values())) == 1 else json.dumps(sources)
    return dict(zip(keys, mixed[:-1], strict=True)), mixed[-1], source


def _compute_optimal_tokens(N: float, theta: Mapping[str, np.ndarray]) -> np.ndarray:
    r"""Invert :math:`N_\mathrm{opt}(D)`: it is linear in log space with slope beta/alpha."""
    args = (theta["log_A"], theta["alpha"], theta["log_B"], theta["beta"])
    log_N_at_one_token = chinchilla.log_optimal_N_for_D(0.0, *args)
    return np.exp((math.log(N) - log_N_at_one_token) * theta["alpha"] / theta["beta"])


def _r_d_star(theta: Mapping[str, np.ndarray], shape, seed: int) -> tuple[np.ndarray, str]:
    if "R_D_star" in theta:
        return theta["R_D_star"], "posterior of the fit (data_constrained law)"
    spec = PRESETS["muennighoff2023"]["R_D_star"]
    rv = getattr(pm, spec.dist).dist(**spec.params)
    draws = np.asarray(pm.draw(rv, draws=int(np.prod(shape)), random_seed=seed), float)
    params = ", ".join(f"{k}={v:.4g}" for k, v in spec.params.items())
    return draws.reshape(shape), f"prior muennighoff2023 R_D_star: {spec.dist}({params})"


def _repeat_penalty(N, D, U, theta, r_d_star) -> np.ndarray:
    """L(N, D') - L(N, D): Chinchilla with the effective data of repeating U tokens."""
    args = (theta["E"], theta["A"], theta["alpha"], theta["B"], theta["beta"])
    D_eff = data_constrained.effective_tokens(D, U, r_d_star)
    fresh = chinchilla.loss(N, D, *args)
    return np.maximum(np.where(D > U, chinchilla.loss(N, D_eff, *args) - fresh, 0.0), 0.0)


def _draws(values: np.ndarray, dims: tuple, attrs: Mapping) -> xr.DataArray:
    """Draws computed as ``(scenario, chain, draw)``, stored sample dims first."""
    return xr.DataArray(values, dims=dims).assign_attrs(attrs).transpose("chain", "draw", ...)


def _add_summary(ds: xr.Dataset, name: str, draws: xr.DataArray, ci_prob: float) -> None:
    """Add ``<name>_median`` and ``<name>_ci`` (:mod:`forecast.intervals`) of ``draws``."""
    ds.update(summarise_draws(draws, ci_prob, name=name).drop_vars("ci_prob"))


def _trend_draws(trend: xr.Dataset) -> tuple[np.ndarray, np.ndarray, float]:
    if not isinstance(trend, xr.Dataset) or not {"intercept", "slope"} <= set(trend.data_vars):
        raise ConfigError("trend must be the xr.Dataset returned by fit_dataset_trend")
    if "year_centre" not in trend.attrs:
        raise ConfigError("trend lacks attr 'year_centre'; use fit_dataset_trend's result")
    a = np.asarray(trend["intercept"].transpose("chain", "draw").values, float).ravel()
    b = np.asarray(trend["slope"].transpose("chain", "draw").values, float).ravel()
    return a, b, float(trend.attrs["year_centre"])


def exhaustion(
    result: Fit | Stack,
    *,
    N: float = 1e13,
    stock: StockPrior = DEFAULT_STOCK,
    scenarios: Mapping[str, str | float] = DEFAULT_SCENARIOS,
    trend: xr.Dataset | None = None,
    group: str | None = None,
    ci_prob: float = CI_PROB,
    seed: int = 0,
) -> xr.Dataset:
    r"""Posterior of whether, by how much and when a model of N parameters exhausts human text.

    Parameters
    ----------
    result : Fit or Stack
        A fit of a law with parameters ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``
        (``chinchilla`` or ``data_constrained``), or an averaged posterior of such fits
        (:class:`forecast.averaged.Stack`): then every draw of the law's parameters (and of
        :math:`R_D^*`) comes from the component it is allocated to, the stock and trend
        draws are shared, so every distribution here (tokens needed, year needed,
        :math:`P(D > S)` …) is the mixture's, and the distance beyond the runs is measured
        on the mixture draws (all components are fits of the same runs).
    N : float
        Model size, total parameters (default 1e13, a "10T" model).
    stock : StockPrior
        Prior on the stock of usable text, tokens (default Villalobos et al. 2024).
    scenarios : mapping of str to str or float
        Scenario name -> ``"compute_optimal"`` (:math:`D^*(N)` of each posterior draw) or
        tokens per parameter (e.g. 20.0). Default :data:`DEFAULT_SCENARIOS`.
    trend : xarray.Dataset, optional
        Posterior of :func:`forecast.dataset_trend.fit_dataset_trend`; when given, the exhaustion
        year and ``year_needed`` are added. ``None`` skips them (no sampling happens here).
    group : str, optional
        Group whose parameters to use; ``None`` = a new group from the population.
    ci_prob : float
        Probability of the equal-tailed intervals.
    seed : int
        Seed of the stock draws, the R_D* prior draws, new-group offsets and the pairing
        of trend draws with fit draws.

    Returns
    -------
    xarray.Dataset
        Dims ``chain``, ``draw`` (of the fit), ``scenario``, ``ci_bound``; draws have dims
        ``(chain, draw[, scenario])``, the sample dims first as everywhere. Draws:
        ``D_needed`` (tokens), ``stock`` (tokens), ``epochs_needed`` (1), ``loss_penalty``
        (nats/token) and, with a trend, ``exhaustion_year`` and ``year_needed`` (year).
        Summaries: ``p_exhausted`` (1, per scenario), ``<name>_median`` and ``<name>_ci``
        (dim ``ci_bound``) for each draw variable, ``loss_penalty_mean`` and, with a trend,
        ``growth_per_year_median``/``_ci``. Attrs: ``package_version``, ``config_hash``,
        ``seed``, ``law``, ``N``, ``ci_prob``, ``ci_kind``, the stock prior and sources,
        and the distance beyond the runs (``extrapolation``, JSON;
        ``extrapolation_summary``, ``extrapolation_warning``; see
        :func:`forecast.extrapolation.assess`). For a stack also ``stack_components``,
        ``stack_weights``, ``stack_method`` and ``stack_seed``; ``config_hash`` and ``law``
        are JSON by component when they differ.

    Warns
    -----
    ExtrapolationWarning
        The compute-optimal tokens/param at N lies outside what the runs and the published
        fits span, or its interval spans more than 1.5 decades.

    Raises
    ------
    ConfigError
        Unsupported law, invalid scenarios, ``N`` not finite and > 0, ``ci_prob`` outside
        (0, 1), a ``trend`` that is not a :func:`fit_dataset_trend` result, or a ``group``
        that is not a group of the fit.

    Notes
    -----
    With stock :math:`S \sim \mathrm{LogNormal}(\mu, \sigma)` drawn once per posterior draw,

    .. math::

        P_\mathrm{exh} = \Pr(D > S), \qquad \text{epochs} = D / S, \qquad
        \Delta L = B D'^{-\beta} - B D^{-\beta},\ D' = D'(D, U{=}\min(S, D), R_D^*),

        D^*(N) = \exp\!\left(\tfrac{\alpha}{\beta}\left(\ln N - \ln N_\mathrm{opt}(1)\right)
        \right), \qquad t^* = t_0 + (\log_{10} S - a) / b.

    :math:`D^*` inverts :func:`models.laws.chinchilla.log_optimal_N_for_D`; for the
    data-constrained law it is the Chinchilla optimum of the same parameters.

    References
    ----------
    Villalobos et al. 2024, arXiv:2211.04325v2; Muennighoff et al. 2023, arXiv:2305.16264,
    eq. 5; Hoffmann et al. 2022, arXiv:2203.15556, eq. 4.

    Examples
    --------
    >>> out = exhaustion(result, N=1e13)  # doctest: +SKIP
    >>> out["p_exhausted"].sel(scenario="100_tokens_per_param").item()  # doctest: +SKIP
    0.9...
    """
    rules = _check_scenarios(scenarios)
    if not (isinstance(N, numbers.Real) and math.isfinite(N) and N > 0):
        raise ConfigError(f"N must be a finite number of parameters > 0; got {N!r}")
    if not 0 < ci_prob < 1:
        raise ConfigError(f"ci_prob must be in (0, 1); got {ci_prob}")
    s_stock, s_rd, s_pair, s_group = np.random.SeedSequence(seed).spawn(4)
    fits = list(result.components.values()) if isinstance(result, Stack) else [result]
    # every component gets the same seeds, so mixture draw s is component k_s's draw s
    thetas = [_law_draws(f, group, int(s_group.generate_state(1)[0])) for f in fits]
    shape = thetas[0]["alpha"].shape
    stock_draws = np.exp(
        stock.mu + stock.sigma * np.random.default_rng(s_stock).standard_normal(shape)
    )
    r_d = [_r_d_star(t, shape, int(s_rd.generate_state(1)[0])) for t in thetas]
    if isinstance(result, Stack):
        theta, r_d_star, r_d_source = _mixed_draws(result, thetas, r_d)
    else:
        theta, (r_d_star, r_d_source) = thetas[0], r_d[0]

    names = list(rules)
    d_optimal = _compute_optimal_tokens(N, theta)
    needed = np.stack(
        [
            d_optimal if rule == "compute_optimal" else np.full(shape, rule * N)
            for rule in rules.values()
        ]
    )
    unique = np.minimum(stock_draws, needed)
    penalty = _repeat_penalty(N, needed, unique, theta, r_d_star)
    epochs = needed / stock_draws

    dims3 = ("scenario", "chain", "draw")
    post = fits[0].posterior
    ds = xr.Dataset(
        coords={
            "scenario": names,
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            "ci_bound": ["lower", "upper"],
        }
    )
    ds["scenario_rule"] = xr.DataArray(
        [
            "compute-optimal D*(N) of each posterior draw"
            if rule == "compute_optimal"
            else f"{rule:g} tokens per parameter"
            for rule in rules.values()
        ],
        dims="scenario",
    ).assign_attrs(units="1", long_name="how the tokens needed are set")
    ds["D_needed"] = _draws(
        needed,
        dims3,
        {**D_ATTRS, "long_name": f"training tokens needed by a model of N = {N:g} parameters"},
    )
    ds["stock"] = _draws(
        stock_draws,
        dims3[1:],
        {"units": "tokens", "long_name": "stock of usable human-generated text (prior draws)"},
    )
    ds["epochs_needed"] = _draws(epochs, dims3, _EPOCH_ATTRS)
    ds["loss_penalty"] = _draws(penalty, dims3, _PENALTY_ATTRS)
    ds["p_exhausted"] = xr.DataArray((needed > stock_draws).mean(axis=(1, 2)), dims="scenario")
    ds["p_exhausted"].attrs.update({**PROB_ATTRS, "long_name": "P(tokens needed > stock)"})
    ds["loss_penalty_mean"] = xr.DataArray(penalty.mean(axis=(1, 2)), dims="scenario")
    ds["loss_penalty_mean"].attrs.update(
        {**_PENALTY_ATTRS, "long_name": "posterior mean of " + _PENALTY_ATTRS["long_name"]}
    )
    for name in ("D_needed", "epochs_needed", "loss_penalty", "stock"):
        _add_summary(ds, name, ds[name], ci_prob)

    attrs = {
        "package_version": package_versions()["scaling-forecast"],
        "config_hash": _config_field(result, "config_hash"),
        "seed": int(seed),
        "law": _config_field(result, "law"),
        "N": float(N),
        "N_units": "parameters",
        "group": "new group" if group is None else group,
        "ci_prob": float(ci_prob),
        "ci_kind": "eti",
        "stock_prior": json.dumps(stock.to_dict()),
        "stock_sigma": stock.sigma,
        "stock_implied_interval": json.dumps(list(stock.implied_interval())),
        "R_D_star_source": r_d_source,
        "villalobos_year": json.dumps(dict(VILLALOBOS_YEAR)),
        **(result.attrs() if isinstance(result, Stack) else {}),
    }
    reach = assess(
        result.runs,
        names=names,
        N=np.full(needed.shape, float(N)).transpose(1, 2, 0),
        tokens_per_param=(needed / N).transpose(1, 2, 0),
        optimal_tokens_per_param=np.broadcast_to(d_optimal / N, needed.shape).transpose(1, 2, 0),
        theta=theta,
        ci_prob=ci_prob,
    )
    attrs.update(reach.attrs())
    if trend is not None:
        a, b, t0 = _trend_draws(trend)
        rng = np.random.default_rng(s_pair)
        size = int(np.prod(shape))
        pick = rng.choice(a.size, size=size, replace=a.size < size).reshape(shape)
        year = year_reaching(np.log10(stock_draws), a[pick], b[pick], t0)
        year_needed = year_reaching(np.log10(needed), a[pick], b[pick], t0)
        ds["exhaustion_year"] = _draws(
            year,
            dims3[1:],
            {**YEAR_ATTRS, "long_name": "year the largest models' training sets reach the stock"},
        )
        ds["year_needed"] = _draws(
            year_needed,
            dims3,
            {**YEAR_ATTRS, "long_name": "year the largest models' trend reaches the tokens needed"},
        )
        for name in ("exhaustion_year", "year_needed"):
            _add_summary(ds, name, ds[name], ci_prob)
        growth = _draws(10.0 ** b.reshape(1, -1), ("chain", "draw"), GROWTH_ATTRS)
        _add_summary(ds, "growth_per_year", growth, ci_prob)
        attrs.update({f"trend_{k}": v for k, v in trend.attrs.items() if k in _TREND_KEYS})
    reach.warn(stacklevel=3)
    return ds.assign_attrs(attrs)
