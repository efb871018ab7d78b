r"""Recipes from different generations under one law: effective-compute multipliers (math only).

A *recipe* is one data pipeline, architecture and training setup with a date (GPT-3 2020,
the datablations C4 runs 2023, the OLMo ladder 2024, ...). Within a recipe the Chinchilla
law holds; across recipes the whole curve moves. Recipe :math:`k` gets an
**effective-compute multiplier** :math:`m_k` relative to a reference recipe
(:math:`m_\mathrm{ref} = 1`): its runs behave like reference runs with

.. math::

    N_\mathrm{eff} = m_k^{a} N, \qquad D_\mathrm{eff} = m_k^{b} D, \qquad
    a = \frac{\beta}{\alpha+\beta}, \quad b = \frac{\alpha}{\alpha+\beta},

so :math:`C_\mathrm{eff} = m_k C` and, because :math:`a\alpha = b\beta = \gamma`,

.. math::

    L_k(N, D) = E + m_k^{-\gamma}\left(A N^{-\alpha} + B D^{-\beta}\right), \qquad
    \gamma = \frac{\alpha\beta}{\alpha+\beta}.

Why this form. On the compute-optimal frontier :math:`L^*_k(C) = L^*_\mathrm{ref}(m_k C)`
exactly: :math:`m_k` *is* the compute a reference recipe would need, per FLOP of recipe
:math:`k`, which is the quantity Ho et al. (2024) estimate (their halving time of the
compute for a fixed loss). Off the frontier it is one amplitude on the reducible loss, so
it is identified from losses on a shared eval text once the floor :math:`E` is shared:
the bundled recipes have one or two decades of N each and few distinct tokens-per-parameter
ratios, which pin one number per recipe but not separate N- and D-multipliers (the two
would be told apart only by the tilt of the loss surface across N/D ratios; Ho et al.
also report the split between the two as poorly identified).

Comparability. Losses on different eval texts, or in different tokenizers, are not
comparable in nats/token. Every loss is mapped to *reference-tokenizer units* (nats per
token of the reference tokenizer on the same text) with the bytes-per-token ratio
:math:`\rho_j = \log(\mathrm{bpt}_j / \mathrm{bpt}_\mathrm{ref})` of its tokenizer, an
uncertain parameter whose prior width is how well the published figure pins it; token
counts ``D`` are converted the same way. Evals of the shared text (C4 validation splits)
get a floor offset with a narrow prior; an eval of its own text (GPT-3's and OPT's
validation sets) gets a free floor *and* a free reducible amplitude, which is exactly
confounded with :math:`m_k`, so such a recipe's multiplier is pinned by the trend prior
only and its posterior width says so.

Time trend. Optionally :math:`\log m_k = r\,(t_k - t_\mathrm{ref}) + \sigma_m z_k`
(non-centred offsets, :math:`z_k \sim N(0, 1)`), a trend of :math:`r` nats of log compute
per year with recipe scatter :math:`\sigma_m`; the compute for a fixed loss halves every
:math:`12 \ln 2 / r` months. The prior on :math:`r` comes from Ho et al. (2024).

References
----------
Ho, Besiroglu, Erdil, Owen, Rahman, Guo, Atkinson, Thompson, Sevilla 2024, "Algorithmic
progress in language models", arXiv:2403.05812 (v1 abstract: halving time about 8 months,
95% CI about 5 to 14 months; the NeurIPS 2024 version gives a 90% CI of about 2 to 22
months). Hoffmann et al. 2022, arXiv:2203.15556, eq. 4 (compute-optimal allocation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from models.errors import ConfigError
from models.laws.chinchilla import log_loss
from models.prior_spec import PriorSpec

__all__ = [
    "GENERATION_PRIORS",
    "TREND_PRIORS",
    "GenerationData",
    "build_generation_model",
    "generation_log_loss",
    "halving_months",
    "lognormal_from_interval",
    "multiplier_exponent",
    "rate_from_halving",
    "tokens_factor_same_loss",
]

#: Name of the observed variable.
OBSERVED = "log_loss"
#: Sigma of the log floor offset of an eval of the shared text (1 %: C4 validation splits
#: drawn from one distribution), and of an eval of its own text (30 %: another text).
SHARED_FLOOR_SD = 0.01
OWN_FLOOR_SD = 0.3
#: Sigma of the log reducible amplitude of an eval of its own text (a factor e^0.5 = 1.6).
OWN_AMPLITUDE_SD = 0.5


def lognormal_from_interval(median: float, lower: float, upper: float, prob: float) -> float:
    r"""Log-scale sigma of a log-normal with this median whose central interval is given.

    Parameters
    ----------
    median, lower, upper : float
        Median and central-interval bounds, same unit, all > 0.
    prob : float
        Mass of the interval, in (0, 1).

    Returns
    -------
    float
        :math:`\sigma = \tfrac12\,(\log(u/m) + \log(m/l)) / z_{(1+p)/2}` (the two sides
        averaged: published intervals are rarely exactly symmetric in log).

    Examples
    --------
    >>> round(lognormal_from_interval(8.0, 5.0, 14.0, 0.95), 3)
    0.263
    """
    from scipy.special import ndtri

    if not (0 < lower < median < upper and 0 < prob < 1):
        raise ConfigError(
            f"need 0 < lower < median < upper and 0 < prob < 1; got {lower}, "
            f"{median}, {upper}, {prob}"
        )
    half = 0.5 * (math.log(upper / median) + math.log(median / lower))
    return half / float(ndtri(0.5 + prob / 2))


def rate_from_halving(months: Any) -> Any:
    r"""Trend rate :math:`r` (per year, natural log of compute) of a halving time.

    Parameters
    ----------
    months : array_like
        Halving time of the compute needed for a fixed loss, months, > 0.

    Returns
    -------
    array_like
        :math:`r = 12 \ln 2 / h`, 1/year.

    Examples
    --------
    >>> round(float(rate_from_halving(8.0)), 4)
    1.0397
    """
    return 12.0 * math.log(2.0) / np.asarray(months, dtype=float)


def halving_months(rate: Any) -> np.ndarray:
    r"""Halving time, in months, of the compute for a fixed loss under trend rate ``rate``.

    Parameters
    ----------
    rate : array_like
        :math:`r`, natural log of effective compute gained per year.

    Returns
    -------
    numpy.ndarray
        :math:`h = 12 \ln 2 / r` months; ``+inf`` where :math:`r \le 0` (no progress).

    Examples
    --------
    >>> float(halving_months(12.0 * np.log(2.0) / 8.0))
    8.0
    """
    r = np.asarray(rate, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(r > 0, 12.0 * math.log(2.0) / np.where(r > 0, r, 1.0), np.inf)


def _sigma_ho(lower: float, upper: float, prob: float) -> float:
    return lognormal_from_interval(8.0, lower, upper, prob)


#: Priors of the trend rate r (1/year). "ho2024": log-normal halving time, median 8 months,
#: 95 % interval 5-14 months (arXiv:2403.05812v1 abstract), so log r ~ Normal. The NeurIPS
#: version's 90 % interval of 2-22 months gives "ho2024_neurips". "flat": Normal(0, 3) on r
#: itself, allowing no progress or regress (the prior-influence check). "none": r = 0.
TREND_PRIORS: Mapping[str, PriorSpec | None] = {
    "ho2024": PriorSpec(
        "Normal",
        {"mu": math.log(float(rate_from_halving(8.0))), "sigma": _sigma_ho(5.0, 14.0, 0.95)},
        "log r; Ho et al. 2024, arXiv:2403.05812v1 abstract: compute for a fixed "
        "performance halves every ~8 months, 95% CI ~5-14 months",
    ),
    "ho2024_neurips": PriorSpec(
        "Normal",
        {"mu": math.log(float(rate_from_halving(8.0))), "sigma": _sigma_ho(2.0, 22.0, 0.90)},
        "log r; Ho et al. 2024, NeurIPS 2024 version: ~8 months, 90% CI ~2-22 months",
    ),
    "flat": PriorSpec(
        "Normal",
        {"mu": 0.0, "sigma": 3.0},
        "r itself; vague: +-3/yr is a 20x yearly gain or loss in effective compute at 1 SD",
    ),
    "none": None,
}

#: Priors of the shared law and of the recipe scatter. Loss units: nats per token of the
#: reference tokenizer (GPT-2 BPE) on C4; centred terms are at the data's mean log N, log D.
GENERATION_PRIORS: Mapping[str, PriorSpec] = {
    "E": PriorSpec(
        "TruncatedNormal",
        {"mu": 1.9, "sigma": 0.4, "lower": 0.5},
        "C4 floor, GPT-2 tokens; Muennighoff et al. 2023 C4 fit E = 1.87-1.88 (published_fits)",
    ),
    "alpha": PriorSpec(
        "TruncatedNormal",
        {"mu": 0.35, "sigma": 0.1, "lower": 0.05, "upper": 1.0},
        "Muennighoff et al. 2023 C4 fit 0.33-0.35; Hoffmann 0.34",
    ),
    "beta": PriorSpec(
        "TruncatedNormal",
        {"mu": 0.35, "sigma": 0.1, "lower": 0.05, "upper": 1.0},
        "Muennighoff et al. 2023 C4 fit 0.35-0.38; Besiroglu 0.37",
    ),
    "a_c": PriorSpec(
        "Normal", {"mu": -1.0, "sigma": 1.5}, "log of A N^-alpha at the mean log N (~0.4 nats)"
    ),
    "b_c": PriorSpec(
        "Normal", {"mu": -1.0, "sigma": 1.5}, "log of B D^-beta at the mean log D (~0.4 nats)"
    ),
    "sigma": PriorSpec(
        "HalfNormal", {"sigma": 0.03}, "per-dataset scatter of log loss (3 % at 1 SD)"
    ),
    "sigma_m": PriorSpec(
        "HalfNormal",
        {"sigma": 0.7},
        "recipe scatter of log m around the trend; 0.7 = a factor 2 at 1 SD",
    ),
}


def multiplier_exponent(alpha: Any, beta: Any) -> Any:
    r"""Exponent :math:`\gamma` with which a compute multiplier scales the reducible loss.

    Parameters
    ----------
    alpha, beta : array_like or TensorVariable
        Parameter and data exponents of the law (dimensionless), > 0.

    Returns
    -------
    array_like or TensorVariable
        :math:`\gamma = \alpha\beta/(\alpha+\beta)`, also the slope of the compute-optimal
        frontier :math:`L^*(C) - E \propto C^{-\gamma}`.

    Examples
    --------
    >>> round(float(multiplier_exponent(0.34, 0.28)), 4)
    0.1535
    """
    return alpha * beta / (alpha + beta)


def generation_log_loss(
    log_N: Any,
    log_D: Any,
    params: Mapping[str, Any],
    log_m: Any,
    *,
    log_ratio: Any = 0.0,
    log_floor: Any = 0.0,
    log_amplitude: Any = 0.0,
    xp: Any = np,
) -> Any:
    r"""Log loss (nats per token *of the run's own tokenizer*) of a run of recipe :math:`k`.

    Parameters
    ----------
    log_N : array_like or TensorVariable
        :math:`\log N`, N in parameters.
    log_D : array_like or TensorVariable
        :math:`\log D`, D in tokens of the run's tokenizer.
    params : mapping
        Reference law in reference-tokenizer units: ``E`` (nats/token), ``log_A``,
        ``alpha``, ``log_B``, ``beta``.
    log_m : array_like or TensorVariable
        :math:`\log m_k`, natural log of the recipe's effective-compute multiplier.
    log_ratio : array_like or TensorVariable
        :math:`\rho_j = \log(\mathrm{bpt}_j/\mathrm{bpt}_\mathrm{ref})`, bytes per token of
        the run's tokenizer over the reference's on the eval text.
    log_floor : array_like or TensorVariable
        Log floor offset of the eval text (:math:`E_e = E e^{\delta_e}`).
    log_amplitude : array_like or TensorVariable
        Log reducible amplitude of the eval text (0 on the shared text).
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`\log L` in nats per token of the run's tokenizer.

    Notes
    -----
    .. math::

        L = e^{\rho}\left[E e^{\delta_e} + s_e\, m^{-\gamma}
            \left(A N^{-\alpha} + B (e^{\rho} D)^{-\beta}\right)\right]

    The bracket is in nats per reference token; :math:`e^{\rho}` turns it into nats per
    own token, and :math:`e^{\rho} D` counts the run's data in reference tokens.

    Examples
    --------
    >>> p = {"E": 1.69, "log_A": np.log(406.4), "alpha": 0.34, "log_B": np.log(410.7),
    ...      "beta": 0.28}
    >>> base = generation_log_loss(np.log(70e9), np.log(1.4e12), p, 0.0)
    >>> round(float(np.exp(base)), 4)
    1.9366
    >>> L2 = float(np.exp(generation_log_loss(np.log(70e9), np.log(1.4e12), p, np.log(2.0))))
    >>> round(1.69 + (1.9366 - 1.69) * 2.0 ** -0.1535, 3) == round(L2, 3)
    True
    """
    gamma = multiplier_exponent(params["alpha"], params["beta"])
    shift = log_amplitude - gamma * log_m
    shifted = {
        "E": params["E"] * xp.exp(log_floor),
        "log_A": params["log_A"] + shift,
        "alpha": params["alpha"],
        "log_B": params["log_B"] + shift,
        "beta": params["beta"],
    }
    return log_ratio + log_loss(log_N, log_D + log_ratio, shifted, xp=xp)


def tokens_factor_same_loss(log_m: Any, alpha: Any, beta: Any) -> np.ndarray:
    r"""Factor by which a recipe with multiplier :math:`m` cuts the tokens for a given loss.

    Parameters
    ----------
    log_m : array_like
        :math:`\log m`, natural log of the multiplier of the newer recipe over the older.
    alpha, beta : array_like
        Law exponents.

    Returns
    -------
    numpy.ndarray
        :math:`D_\mathrm{new}/D_\mathrm{old} = m^{-b}`, :math:`b = \alpha/(\alpha+\beta)`,
        on the compute-optimal frontier (the same loss needs :math:`C/m` compute).

    Examples
    --------
    >>> round(float(tokens_factor_same_loss(np.log(4.0), 0.3, 0.3)), 3)
    0.5
    """
    b = np.asarray(alpha, dtype=float) / (np.asarray(alpha) + np.asarray(beta))
    return np.exp(-b * np.asarray(log_m, dtype=float))


@dataclass(frozen=True)
class GenerationData:
    r"""Arrays of the generation model (plain numpy; the caller builds them from runs).

    Parameters
    ----------
    log_N, log_D, log_loss : numpy.ndarray
        Per run: log parameters, log tokens (own tokenizer), log loss (nats/own token).
    recipe, eval_set, tokenizer, dataset : numpy.ndarray of int
        Per run: index into ``recipes``, ``evals``, ``tokenizers``, ``datasets``.
    recipes : tuple of str
        Recipe names; ``reference`` is one of them.
    recipe_year : numpy.ndarray
        Decimal year of each recipe.
    reference : str
        The recipe with :math:`m = 1`.
    evals : tuple of str
        Eval names; ``eval_shared[e]`` says whether eval ``e`` is the shared text.
    eval_shared : numpy.ndarray of bool
    tokenizers : tuple of str
        Tokenizer names; ``ratio_mu``/``ratio_sd``: prior of :math:`\rho_j` (sd 0: fixed).
    ratio_mu, ratio_sd : numpy.ndarray
    datasets : tuple of str
        Source datasets; each gets its own noise scale.
    """

    log_N: np.ndarray
    log_D: np.ndarray
    log_loss: np.ndarray
    recipe: np.ndarray
    eval_set: np.ndarray
    tokenizer: np.ndarray
    dataset: np.ndarray
    recipes: tuple[str, ...]
    recipe_year: np.ndarray
    reference: str
    evals: tuple[str, ...]
    eval_shared: np.ndarray
    tokenizers: tuple[str, ...]
    ratio_mu: np.ndarray
    ratio_sd: np.ndarray
    datasets: tuple[str, ...]

    def check(self) -> None:
        """Raise ConfigError on inconsistent shapes, indices or values."""
        n = self.log_N.shape[0]
        for name in ("log_D", "log_loss", "recipe", "eval_set", "tokenizer", "dataset"):
            if getattr(self, name).shape != (n,):
                raise ConfigError(f"{name} has shape {getattr(self, name).shape}, expected ({n},)")
        for name, idx, labels in (
            ("recipe", self.recipe, self.recipes),
            ("eval_set", self.eval_set, self.evals),
            ("tokenizer", self.tokenizer, self.tokenizers),
            ("dataset", self.dataset, self.datasets),
        ):
            if n and (idx.min() < 0 or idx.max() >= len(labels)):
                raise ConfigError(f"{name} index out of range 0..{len(labels) - 1}")
        if self.reference not in self.recipes:
            raise ConfigError(f"reference {self.reference!r} is not one of {self.recipes}")
        if len(self.recipes) < 2:
            raise ConfigError("the generation model needs at least 2 recipes")
        if not np.all(np.isfinite(self.log_N + self.log_D + self.log_loss)):
            raise ConfigError("log_N, log_D and log_loss must be finite")


def build_generation_model(
    data: GenerationData,
    *,
    trend: str = "ho2024",
    priors: Mapping[str, PriorSpec] = GENERATION_PRIORS,
) -> pm.Model:
    r"""Build the hierarchical generation model (unsampled).

    Parameters
    ----------
    data : GenerationData
        Runs and labels (see :class:`GenerationData`).
    trend : {"ho2024", "ho2024_neurips", "flat", "none"}
        Prior of the time trend :math:`r` of :math:`\log m` (see :data:`TREND_PRIORS`).
    priors : mapping of str to PriorSpec
        Priors of ``E``, ``alpha``, ``beta``, ``a_c``, ``b_c``, ``sigma``, ``sigma_m``.

    Returns
    -------
    pymc.Model
        Free variables: the law (``E``, ``alpha``, ``beta``, ``a_c``, ``b_c``), ``rate``
        (or ``log_rate``), ``sigma_m``, offsets ``z_recipe``, ``z_floor``, ``z_amp``,
        ``z_ratio``, ``sigma`` (dim ``dataset``). Deterministics: ``log_A``, ``log_B``,
        ``log_multiplier`` and ``multiplier`` (dim ``recipe``), ``log_ratio``
        (dim ``tokenizer``), ``log_floor``, ``log_amplitude`` (dim ``eval``), ``rate``.

    Raises
    ------
    ConfigError
        Unknown trend, missing prior key, or inconsistent data.

    Notes
    -----
    .. math::

        \log m_k &= r\,(t_k - t_\mathrm{ref}) + \sigma_m z_k\ (k \ne \mathrm{ref}),\quad
        \log m_\mathrm{ref} = 0 \\
        \log L_i &\sim N\!\left(\log L(N_i, D_i; m_{k_i}, \rho_{j_i}, \delta_{e_i},
        s_{e_i}),\ \sigma_{d_i}\right)

    with :func:`generation_log_loss`, centred terms
    :math:`\log A = a_c + \alpha \overline{\log N}`,
    :math:`\log B = b_c + \beta \overline{\log D}`, and every group offset non-centred.

    Examples
    --------
    >>> d = GenerationData(
    ...     log_N=np.log([1e8, 1e9, 1e8, 1e9]), log_D=np.log([2e9, 2e10, 2e9, 2e10]),
    ...     log_loss=np.log([3.3, 2.8, 3.2, 2.7]), recipe=np.array([0, 0, 1, 1]),
    ...     eval_set=np.zeros(4, int), tokenizer=np.zeros(4, int),
    ...     dataset=np.zeros(4, int), recipes=("old", "new"),
    ...     recipe_year=np.array([2022.0, 2024.0]), reference="old", evals=("c4",),
    ...     eval_shared=np.array([True]), tokenizers=("gpt2",),
    ...     ratio_mu=np.zeros(1), ratio_sd=np.zeros(1), datasets=("toy",))
    >>> m = build_generation_model(d)
    >>> "multiplier" in m.named_vars
    True
    """
    if trend not in TREND_PRIORS:
        raise ConfigError(f"unknown trend {trend!r}; valid: {', '.join(TREND_PRIORS)}")
    missing = sorted(set(GENERATION_PRIORS) - set(priors))
    if missing:
        raise ConfigError(f"generation priors miss {missing}")
    data.check()
    ref = data.recipes.index(data.reference)
    free = np.array([k for k in range(len(data.recipes)) if k != ref])
    dt = np.asarray(data.recipe_year, float) - float(data.recipe_year[ref])
    shared = np.asarray(data.eval_shared, bool)
    floor_sd = np.where(shared, SHARED_FLOOR_SD, OWN_FLOOR_SD)
    amp_sd = np.where(shared, 0.0, OWN_AMPLITUDE_SD)
    mean_log_N = float(np.mean(data.log_N))
    mean_log_D = float(np.mean(data.log_D))
    coords = {
        "run": np.arange(data.log_N.size),
        "recipe": list(data.recipes),
        "recipe_free": [data.recipes[k] for k in free],
        "eval": list(data.evals),
        "tokenizer": list(data.tokenizers),
        "dataset": list(data.datasets),
    }
    with pm.Model(coords=coords) as model:
        E = priors["E"].to_pymc("E")
        alpha = priors["alpha"].to_pymc("alpha")
        beta = priors["beta"].to_pymc("beta")
        a_c = priors["a_c"].to_pymc("a_c")
        b_c = priors["b_c"].to_pymc("b_c")
        log_A = pm.Deterministic("log_A", a_c + alpha * mean_log_N)
        log_B = pm.Deterministic("log_B", b_c + beta * mean_log_D)
        spec = TREND_PRIORS[trend]
        if spec is None:
            rate = pt.as_tensor_variable(0.0)
        elif trend == "flat":
            rate = spec.to_pymc("rate")
        else:
            rate = pm.Deterministic("rate", pt.exp(spec.to_pymc("log_rate")))
        sigma_m = priors["sigma_m"].to_pymc("sigma_m")
        z_recipe = pm.Normal("z_recipe", 0.0, 1.0, dims="recipe_free")
        log_m_free = rate * dt[free] + sigma_m * z_recipe
        log_m = pm.Deterministic(
            "log_multiplier",
            pt.set_subtensor(pt.zeros(len(data.recipes))[free], log_m_free),
            dims="recipe",
        )
        pm.Deterministic("multiplier", pt.exp(log_m), dims="recipe")
        z_floor = pm.Normal("z_floor", 0.0, 1.0, dims="eval")
        log_floor = pm.Deterministic("log_floor", floor_sd * z_floor, dims="eval")
        own = np.flatnonzero(~shared)
        log_amp = pt.zeros(len(data.evals))
        if own.size:
            z_amp = pm.Normal("z_amp", 0.0, 1.0, shape=own.size)
            log_amp = pt.set_subtensor(log_amp[own], amp_sd[own] * z_amp)
        log_amp = pm.Deterministic("log_amplitude", log_amp, dims="eval")
        ratio_sd = np.asarray(data.ratio_sd, float)
        log_ratio = pt.as_tensor_variable(np.asarray(data.ratio_mu, float))
        uncertain = np.flatnonzero(ratio_sd > 0)
        if uncertain.size:
            z_ratio = pm.Normal("z_ratio", 0.0, 1.0, shape=uncertain.size)
            log_ratio = pt.inc_subtensor(log_ratio[uncertain], ratio_sd[uncertain] * z_ratio)
        log_ratio = pm.Deterministic("log_ratio", log_ratio, dims="tokenizer")
        sigma = priors["sigma"].to_pymc("sigma", dims="dataset")
        params = {"E": E, "log_A": log_A, "alpha": alpha, "log_B": log_B, "beta": beta}
        mu = generation_log_loss(
            data.log_N,
            data.log_D,
            params,
            log_m[data.recipe],
            log_ratio=log_ratio[data.tokenizer],
            log_floor=log_floor[data.eval_set],
            log_amplitude=log_amp[data.eval_set],
            xp=pt,
        )
        pm.Normal(OBSERVED, mu=mu, sigma=sigma[data.dataset], observed=data.log_loss, dims="run")
    return model
