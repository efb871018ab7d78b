r"""Log-linear trend of frontier training-set size against calendar time (math only).

The model is a straight line in :math:`\log_{10}` tokens against decimal year, with
Student-t residuals:

.. math::

    \log_{10} D_i = a + b\,(t_i - t_0) + \sigma\,\varepsilon_i, \qquad
    \varepsilon_i \sim t_\nu,

where :math:`D_i` is the training-set size of model :math:`i` (tokens), :math:`t_i` its
publication date (decimal year), :math:`t_0` a fixed centring year, :math:`a` the
log-size of a frontier training set at :math:`t_0` and :math:`b` the log-growth per year,
so the growth factor per year is :math:`10^{b}`.

Why Student-t: a frontier-models table mixes single-epoch pretraining runs with models
trained for tens to hundreds of epochs on a small corpus (e.g. Meena, 164 epochs), and
with mixture-of-experts and multilingual models whose token counts follow other
conventions. A few such rows sit one to two orders of magnitude off the line; Normal
residuals would let them tilt the slope, heavy tails let the data say how many there are.

Why centring: :math:`a` and :math:`b` are nearly uncorrelated when :math:`t_0` is near
the mean date of the data, which keeps NUTS efficient.

This module builds the (unsampled) PyMC model and owns the closed forms that use its
draws: the trend value at a date (:func:`trend_log10_tokens`) and the date a size is
reached (:func:`year_reaching`). It reads no files; the caller supplies the arrays.

References
----------
Villalobos et al. 2024, "Will we run out of data? Limits of LLM scaling based on
human-generated data", arXiv:2211.04325v2 (dataset-size projection); Epoch AI data
insight "Training dataset size" (Rahman & Owen 2024): 3.7x/yr, later 3.1x and 3x/yr.
Juarez & Steel 2010, J. Bus. Econ. Stat. 28(1) (the Gamma(2, 0.1) prior on nu).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pymc as pm

from models.errors import ConfigError
from models.prior_spec import PriorSpec

__all__ = ["TREND_PRIORS", "build_trend_model", "trend_log10_tokens", "year_reaching"]

#: Name of the observed variable in the trend model.
OBSERVED = "log10_tokens"

#: Priors of the trend (plain data). Units: intercept in log10 tokens at the centring year,
#: slope in log10 tokens per year, sigma in log10 tokens, nu dimensionless.
TREND_PRIORS: Mapping[str, PriorSpec] = {
    "intercept": PriorSpec(
        "Normal",
        {"mu": 12.0, "sigma": 3.0},
        "Weak: log10 tokens of a frontier training set at the centring year. Frontier "
        "sets were 3e11 (GPT-3, 2020) to 1.5e13 (Llama 3, 2024) tokens; Normal(12, 3) "
        "allows 1e9 to 1e15 within 1 SD.",
    ),
    "slope": PriorSpec(
        "Normal",
        {"mu": 0.3, "sigma": 0.5},
        "Weak: log10 growth per year. Published estimates are 3x-3.7x/yr (0.48-0.57; "
        "Epoch AI 2024) and 2.2x-2.9x/yr for frontier subsets; Normal(0.3, 0.5) (2x/yr) "
        "allows shrinking sets (< 0) and 16x/yr (1.2) within 2 SD.",
    ),
    "sigma": PriorSpec(
        "HalfNormal",
        {"sigma": 1.0},
        "Weak: scatter of log10 training-set size around the trend; largest models of one "
        "year differ by up to an order of magnitude, so HalfNormal(1) (median 0.67).",
    ),
    "nu": PriorSpec(
        "Gamma",
        {"alpha": 2.0, "beta": 0.1},
        "Student-t degrees of freedom: Gamma(2, 0.1) (mean 20), Juarez & Steel 2010; allows "
        "heavy tails for multi-epoch and mixture-of-experts outliers without forcing them.",
    ),
}


def build_trend_model(
    year: Any,
    log10_tokens: Any,
    *,
    year_centre: float,
    priors: Mapping[str, PriorSpec] = TREND_PRIORS,
) -> pm.Model:
    r"""Build the Student-t log-linear trend of training-set size against date.

    Parameters
    ----------
    year : array_like
        Publication dates as decimal years (e.g. 2022.24), one per model; finite.
    log10_tokens : array_like
        :math:`\log_{10}` of each model's training-set size (tokens), same length; finite.
    year_centre : float
        Centring year :math:`t_0`, in years; the intercept is the trend at this date.
    priors : mapping of str to PriorSpec
        Priors of ``intercept``, ``slope``, ``sigma`` and ``nu`` (units above);
        default :data:`TREND_PRIORS`.

    Returns
    -------
    pymc.Model
        Unsampled model with free variables ``intercept``, ``slope``, ``sigma``, ``nu``,
        the deterministic ``growth_per_year`` (:math:`10^b`, factor per year) and the
        observed ``log10_tokens`` along dim ``run``.

    Raises
    ------
    ConfigError
        Arrays of different length, fewer than 3 models, non-finite values, or a prior key
        missing or unknown.

    Notes
    -----
    .. math::

        \log_{10} D_i \sim t_\nu\!\left(a + b\,(t_i - t_0),\ \sigma\right), \qquad
        g = 10^{b}

    References
    ----------
    Villalobos et al. 2024, arXiv:2211.04325v2, Section 3 (dataset-size trend).

    Examples
    --------
    >>> model = build_trend_model([2020.0, 2021.0, 2022.0], [11.5, 12.0, 12.4],
    ...                           year_centre=2021.0)
    >>> sorted(v.name for v in model.free_RVs)
    ['intercept', 'nu', 'sigma', 'slope']
    """
    t = np.asarray(year, dtype=float).ravel()
    y = np.asarray(log10_tokens, dtype=float).ravel()
    if t.shape != y.shape:
        raise ConfigError(f"year has {t.size} values but log10_tokens has {y.size}")
    if t.size < 3:
        raise ConfigError(f"a trend needs at least 3 models; got {t.size}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y)) and np.isfinite(year_centre)):
        raise ConfigError("year, log10_tokens and year_centre must be finite")
    keys = {"intercept", "slope", "sigma", "nu"}
    if set(priors) != keys:
        raise ConfigError(
            f"trend priors must have exactly the keys {sorted(keys)}; got {sorted(priors)}"
        )
    with pm.Model(coords={"run": np.arange(t.size)}) as model:
        a = priors["intercept"].to_pymc("intercept")
        b = priors["slope"].to_pymc("slope")
        sigma = priors["sigma"].to_pymc("sigma")
        nu = priors["nu"].to_pymc("nu")
        pm.Deterministic("growth_per_year", 10.0**b)
        mu = trend_log10_tokens(t, a, b, year_centre)
        pm.StudentT(OBSERVED, nu=nu, mu=mu, sigma=sigma, observed=y, dims="run")
    return model


def trend_log10_tokens(year: Any, intercept: Any, slope: Any, year_centre: float) -> Any:
    r"""Value of the trend line at a date, in :math:`\log_{10}` tokens.

    Parameters
    ----------
    year : array_like or TensorVariable
        Decimal year(s).
    intercept : array_like or TensorVariable
        :math:`a`, log10 tokens at ``year_centre`` (e.g. posterior draws).
    slope : array_like or TensorVariable
        :math:`b`, log10 tokens per year.
    year_centre : float
        Centring year :math:`t_0`.

    Returns
    -------
    array_like or TensorVariable
        :math:`a + b (t - t_0)`, broadcast over the arguments.

    Notes
    -----
    .. math:: \log_{10} \hat D(t) = a + b\,(t - t_0)

    Examples
    --------
    >>> float(trend_log10_tokens(2024.0, 12.0, 0.5, 2022.0))
    13.0
    """
    return intercept + slope * (year - year_centre)


def year_reaching(log10_target: Any, intercept: Any, slope: Any, year_centre: float) -> np.ndarray:
    r"""Date at which the trend line reaches a training-set size.

    Parameters
    ----------
    log10_target : array_like
        :math:`\log_{10}` of the size to reach, tokens (e.g. draws of the data stock).
    intercept : array_like
        :math:`a`, log10 tokens at ``year_centre``.
    slope : array_like
        :math:`b`, log10 tokens per year.
    year_centre : float
        Centring year :math:`t_0`.

    Returns
    -------
    numpy.ndarray
        Decimal year, broadcast over the arguments; ``+inf`` where the trend never reaches
        the target (:math:`b \le 0` and target above the line at :math:`t_0`), ``-inf``
        where it was always above it.

    Notes
    -----
    .. math:: t^* = t_0 + \frac{\log_{10} S - a}{b}

    Examples
    --------
    >>> float(year_reaching(np.log10(3e14), np.log10(3e12), 0.5, 2022.0))
    2026.0
    """
    target = np.asarray(log10_target, dtype=float)
    a = np.asarray(intercept, dtype=float)
    b = np.asarray(slope, dtype=float)
    gap = target - a
    with np.errstate(divide="ignore", invalid="ignore"):
        out = year_centre + gap / b
    never = (b <= 0) & (gap > 0)
    always = (b <= 0) & (gap <= 0)
    return np.where(never, np.inf, np.where(always, -np.inf, out))
