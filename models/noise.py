r"""The observation model of log loss, and the parameters of a group not in the data.

One implementation, used by the model builder, prediction, forecasts, model comparison,
experiment design and simulation alike, so that they cannot disagree:

* **Observation SD** of the log loss of one run (:func:`observation_sd`): the group's
  noise :math:`\sigma_g`, widened by the compute discrepancy when the fit has one,
  :math:`\sqrt{\sigma_g^2 + \tau^2 d^2}` (:func:`discrepancy_sd`), and a known measurement
  SD :math:`s/L` in quadrature.
* **Log density** of the log loss of one run (:func:`log_density`): Normal or Student-t,
  in arithmetic that numpy and pytensor share (the model builder's likelihood and the
  numpy log likelihood behind LOO, stacking and design weights are one function).
* **Noise draws** (:func:`standard_noise`): Normal, or Student-t with :math:`\nu` degrees
  of freedom, on the log scale; the noise of one run is the SD times that draw.
* **A new group** (:func:`new_group_params`): a lab, corpus or eval set not in the data,
  drawn from the population the way the model builder pools groups: positive parameters
  :math:`\theta e^{\sigma_\theta z}`, log-scale coefficients shifted by
  :math:`\sigma_\theta z` at the data centre, others :math:`\theta + \sigma_\theta z`. Its
  noise SD is the root mean square of the groups' :math:`\sigma_g`
  (:func:`population_sigma`).

Every function works on numpy arrays (and xarray DataArrays, which broadcast by name);
the SD functions take ``xp=np`` or ``xp=pytensor.tensor`` like the laws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "discrepancy_sd",
    "log_density",
    "new_group_params",
    "noise_variance",
    "observation_sd",
    "population_sigma",
    "standard_noise",
    "student_t_draws",
    "student_t_kernel",
    "student_t_log_normaliser",
]

#: Student-t degrees of freedom below which :func:`noise_variance` uses this value (the
#: variance :math:`\nu/(\nu-2)` is infinite for :math:`\nu \le 2`).
MIN_NU_FOR_VARIANCE = 2.1

#: Recurrence steps of :func:`student_t_log_normaliser` before Stirling's series: the
#: series' argument is then at least this, where its first omitted term is below 3e-13.
LOG_GAMMA_SHIFT = 8
#: Coefficients of Stirling's series of :math:`\log\Gamma`, of :math:`z^{-1}, z^{-3}, \dots,
#: z^{-9}` (:math:`B_{2k} / (2k(2k-1))`).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)


def _stirling(z, xp):
    r""":math:`\log\Gamma(z) - \tfrac12\log 2\pi` by Stirling's series (z >= 8)."""
    inverse_square = 1.0 / (z * z)
    series = _STIRLING[-1]  # Horner's rule (a 0.0 seed made pytensor's rewrites cycle)
    for coefficient in reversed(_STIRLING[:-1]):
        series = coefficient + inverse_square * series
    return (z - 0.5) * xp.log(z) - z + series / z


def log_density(y, mean, sd, nu=None, *, xp=np, constant=None):
    r"""Log density of the observation model of log loss: Normal, or Student-t when ``nu``.

    .. math::

        \log p = -\log s - \tfrac12 \log 2\pi - \tfrac12 z^2, \qquad z = (y - \mu)/s

    and for Student-t with :math:`\nu` degrees of freedom

    .. math::

        \log p = \log\Gamma\!\left(\tfrac{\nu+1}{2}\right) - \log\Gamma\!\left(\tfrac{\nu}{2}
        \right) - \tfrac12\log(\nu\pi) - \log s - \tfrac{\nu+1}{2}\log(1 + z^2/\nu)

    whose constant is :func:`student_t_log_normaliser`. The model builder's likelihood
    (``xp=pytensor.tensor``) and the numpy log likelihood of the draws are this function.

    Parameters
    ----------
    y, mean, sd : array_like or TensorVariable
        Observed log loss, its mean under the law and its SD (log of nats/token, and
        dimensionless), broadcast against each other.
    nu : array_like or TensorVariable, optional
        Degrees of freedom; ``None`` for the Normal. With numpy, ``inf`` entries are
        Normal too (e.g. the draws of a Normal component in a mixture with Student-t ones).
    xp : module
        ``numpy`` or ``pytensor.tensor``.
    constant : array_like or TensorVariable, optional
        The Student-t normaliser to use instead of :func:`student_t_log_normaliser`
        (0: the kernel alone, :func:`student_t_kernel`).

    Returns
    -------
    numpy.ndarray or TensorVariable
        Log density per element (the density is per unit of log loss).

    Examples
    --------
    >>> round(float(log_density(0.0, 0.0, 1.0)), 6)
    -0.918939
    """
    # closed form, not scipy.stats.t/norm.logpdf: 2.5-4x faster on (draws, runs) arrays, same
    # values to 1e-12 (tests/test_noise.py checks it against scipy)
    z = ((np.asarray(y) if xp is np else y) - mean) / sd
    if nu is None:
        return _normal_log_density(z, sd, xp)
    infinite = np.isinf(nu) if xp is np else False  # t with infinite nu is the Normal
    mixed = bool(np.any(infinite))
    finite_nu = np.where(infinite, 1.0, nu) if mixed else nu
    if constant is None:
        constant = student_t_log_normaliser(finite_nu, xp=xp)
    t = constant - xp.log(sd) - (finite_nu + 1.0) / 2.0 * xp.log1p(z**2 / finite_nu)
    if mixed:  # one z for both: the Normal where nu is infinite, t elsewhere
        return np.where(infinite, _normal_log_density(z, sd, np), t)
    return t


def _normal_log_density(z, sd, xp):
    return -xp.log(sd) - 0.5 * math.log(2.0 * math.pi) - 0.5 * z**2


def student_t_log_normaliser(nu, *, xp=np):
    r"""Return the log density of :math:`t_\nu` at 0: the Student-t log density's constant.

    .. math::

        c(\nu) = \log\Gamma(a) - \log\Gamma(b) - \tfrac12\log(\nu\pi),
        \qquad a = \tfrac{\nu+1}{2},\ b = \tfrac{\nu}{2}

    from elementary functions only. Eight steps of :math:`\Gamma(x) = \Gamma(x+1)/x` carry
    both arguments to at least 8, where Stirling's series is accurate to 3e-13:

    .. math::

        \log\Gamma(a) - \log\Gamma(b) = S(a + 8) - S(b + 8)
        - \log \prod_{i=0}^{7} \frac{a + i}{b + i}

    (one log of a ratio near 1 per factor, so nothing overflows). Why not ``gammaln``: its
    gradient is the digamma function, which pytensor's numba backend calls through a
    function pointer into scipy and so cannot cache on disk; that one node kept the whole
    compiled log density of a Student-t model out of the cache, and every new process
    compiled it again (about 3 s of each fit).

    Parameters
    ----------
    nu : array_like or TensorVariable
        Degrees of freedom (> 0).
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`c(\nu)`, shaped like ``nu``; within 1e-12 of scipy's for
        :math:`0.05 \le \nu \le 1000` (tested).

    Examples
    --------
    >>> round(float(student_t_log_normaliser(1.0)), 12) == round(-math.log(math.pi), 12)
    True
    """
    a, b = (nu + 1.0) / 2.0, nu / 2.0
    ratio = a / b
    for i in range(1, LOG_GAMMA_SHIFT):
        ratio = ratio * ((a + i) / (b + i))
    shifted = _stirling(a + LOG_GAMMA_SHIFT, xp) - _stirling(b + LOG_GAMMA_SHIFT, xp)
    return shifted - xp.log(ratio) - 0.5 * xp.log(nu * math.pi)


def student_t_kernel(value, nu, mu, sigma):
    r"""Return the Student-t log density of log loss without its normaliser :math:`c(\nu)`.

    :func:`log_density` less :func:`student_t_log_normaliser`, the likelihood of
    :func:`models.build.build_model`, which adds :math:`n\,c(\nu)` once as the potential
    ``student_t_normaliser``: computed per run it took 10 of the 64.5 us of the default
    model's log density and gradient (240 runs).
    """
    import pytensor.tensor as pt

    return log_density(value, mu, sigma, nu, xp=pt, constant=0.0)


def student_t_draws(nu, mu, sigma, size):
    """Draw as ``pm.StudentT`` does (the prior predictive of :func:`student_t_kernel`)."""
    import pymc as pm

    return pm.StudentT.dist(nu=nu, mu=mu, sigma=sigma, size=size)


def discrepancy_sd(sigma, tau, log_N, log_D, centres: Mapping[str, float], *, xp=np):
    r"""Noise SD of log loss with a discrepancy that grows with distance in compute.

    .. math::

        \mathrm{sd} = \sqrt{\sigma^2 + \tau^2 d^2}, \qquad
        d = \frac{|(\log N - \bar\ell_N) + (\log D - \bar\ell_D)|}{\ln 10}
          = |\log_{10} C - \overline{\log_{10} C}|

    Parameters
    ----------
    sigma : array_like or TensorVariable
        Noise SD of log loss at the data centre (dimensionless).
    tau : array_like or TensorVariable
        Discrepancy SD of log loss per decade of compute (dimensionless).
    log_N, log_D : array_like or TensorVariable
        Natural logs of parameters and tokens of the points.
    centres : mapping
        ``{"log_N": ..., "log_D": ...}``: means of the fitted runs' log N and log D
        (:attr:`models.build.ModelData.centres`).
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        SD of log loss (relative loss error), broadcast over the inputs.

    Examples
    --------
    >>> c = {"log_N": 0.0, "log_D": 0.0}
    >>> round(float(discrepancy_sd(0.003, 0.004, np.log(10.0), np.log(10.0), c)), 6)
    0.008544
    """
    distance = xp.abs(log_N - centres["log_N"] + log_D - centres["log_D"]) / np.log(10.0)
    return xp.sqrt(sigma**2 + (tau * distance) ** 2)


def observation_sd(
    sigma,
    *,
    tau=None,
    log_N=None,
    log_D=None,
    centres: Mapping[str, float] | None = None,
    rel_sd=None,
    xp=np,
):
    r"""SD of the log loss of one run: group noise, compute discrepancy, measurement SD.

    .. math::

        \mathrm{sd} = \sqrt{\sigma^2 + \tau^2 d^2 + (s/L)^2}

    with :math:`d` the distance in decades of compute from the data centre
    (:func:`discrepancy_sd`; the term is absent without ``tau``) and :math:`s/L` a known
    measurement SD relative to the loss (absent without ``rel_sd``). With neither, the
    result is ``sigma`` itself.

    Parameters
    ----------
    sigma : array_like or TensorVariable
        Noise SD of log loss of the group (dimensionless).
    tau : array_like or TensorVariable, optional
        Discrepancy SD per decade of compute (a fit with ``discrepancy="compute"``).
    log_N, log_D : array_like or TensorVariable, optional
        Natural logs of parameters and tokens of the points; required with ``tau``.
    centres : mapping, optional
        ``{"log_N": ..., "log_D": ...}`` of the fitted runs; required with ``tau``.
    rel_sd : array_like, optional
        Known measurement SD of the loss divided by the loss (SD of log loss).
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        SD of log loss, broadcast over the inputs.

    Raises
    ------
    ValueError
        ``tau`` given without the points or the centres.

    Examples
    --------
    >>> c = {"log_N": 0.0, "log_D": 0.0}
    >>> round(float(observation_sd(0.003, tau=0.004, log_N=np.log(10.0),
    ...                            log_D=np.log(10.0), centres=c, rel_sd=0.01)), 6)
    0.013153
    """
    sd = sigma
    if tau is not None:
        if log_N is None or log_D is None or centres is None:
            raise ValueError("a discrepancy (tau) needs the points' log_N, log_D and the centres")
        sd = discrepancy_sd(sd, tau, log_N, log_D, centres, xp=xp)
    if rel_sd is not None:
        sd = xp.sqrt(sd**2 + rel_sd**2)
    return sd


def population_sigma(sigma: np.ndarray, *, axis: int = -1) -> np.ndarray:
    r"""Noise SD of a new group: the root mean square of the groups' SDs.

    .. math:: \sigma_{\text{new}} = \sqrt{\tfrac1G \textstyle\sum_g \sigma_g^2}

    Parameters
    ----------
    sigma : numpy.ndarray
        Per-group noise SDs of log loss, groups along ``axis``.
    axis : int
        Axis of the groups.

    Returns
    -------
    numpy.ndarray
        ``sigma`` without ``axis``.
    """
    return np.sqrt(np.mean(np.square(sigma), axis=axis))


def standard_noise(rng: np.random.Generator, shape, nu=None) -> np.ndarray:
    r"""Draw standard noise: :math:`\mathcal{N}(0, 1)`, or :math:`t_\nu` when ``nu`` is given.

    The noise of log loss is the observation SD times these draws. Values are drawn in C
    order of ``shape``, so consecutive calls continue one stream.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the draws.
    shape : int or tuple of int
        Shape of the result.
    nu : array_like, optional
        Student-t degrees of freedom (> 0), broadcast to ``shape``; ``None`` for Normal
        (``inf`` entries are Normal draws).

    Returns
    -------
    numpy.ndarray
        Draws of shape ``shape``.

    Examples
    --------
    >>> standard_noise(np.random.default_rng(0), (2, 3), nu=4.0).shape
    (2, 3)
    """
    if nu is None:
        return rng.standard_normal(shape)
    nu = np.broadcast_to(np.asarray(nu, float), shape)
    infinite = np.isinf(nu)  # t with infinite degrees of freedom is the Normal
    if not infinite.any():
        return rng.standard_t(nu)
    return np.where(infinite, rng.standard_normal(shape), rng.standard_t(np.where(infinite, 1, nu)))


def noise_variance(sd, nu=None):
    r"""Variance of the noise of log loss with SD (scale) ``sd``.

    :math:`s^2` for the Normal; :math:`s^2 \nu/(\nu - 2)` for Student-t, with :math:`\nu`
    clipped below at :data:`MIN_NU_FOR_VARIANCE` (the variance is infinite for
    :math:`\nu \le 2`).

    Parameters
    ----------
    sd : array_like
        Observation SD (scale) of log loss.
    nu : array_like, optional
        Student-t degrees of freedom; ``None`` for Normal (``inf`` entries: Normal).

    Returns
    -------
    numpy.ndarray
        Elementwise variance.
    """
    if nu is None:
        return np.square(sd)
    nu = np.maximum(nu, MIN_NU_FOR_VARIANCE)
    finite = np.where(np.isinf(nu), 3.0, nu)  # t with infinite degrees of freedom: Normal
    return np.square(sd) * np.where(np.isinf(nu), 1.0, finite / (finite - 2))


def new_group_params(
    law,
    population: Mapping[str, object],
    *,
    scales: Mapping[str, object],
    z: Mapping[str, object] | Callable[[str], object],
    centres: Mapping[str, float],
    pooled: Sequence[str],
    xp=np,
) -> dict[str, object]:
    r"""Law parameters of a group not in the data, drawn from the population.

    .. math::

        \theta_{\text{new}} = \begin{cases}
            \theta\, e^{\sigma_\theta z} & \theta \text{ positive} \\
            \theta_c + \sigma_\theta z + s\,\bar x & \theta \text{ centred, log-scale} \\
            \theta + \sigma_\theta z & \text{otherwise}
        \end{cases}

    with :math:`z \sim \mathcal{N}(0, 1)`, :math:`\theta_c` the coefficient at the data
    centre, :math:`s` its slope parameter (of the new group; 1 when the law has none) and
    :math:`\bar x` the centre of its covariate (:attr:`models.laws.LawSpec.centring`).
    Parameters that are not pooled keep their population value. This is the group level of
    :func:`models.build.build_model` for one more group.

    Parameters
    ----------
    law : LawSpec
        The law (``params``, ``positive``, ``centring``).
    population : mapping
        Population value of every law parameter ``name`` and, for centred coefficients,
        ``f"{name}_c"`` (value at the data centre).
    scales : mapping
        Between-group scale :math:`\sigma_\theta` of every pooled parameter, by name.
    z : mapping or callable
        Standardised offset of every pooled parameter, by name (or ``z(name)``), broadcast
        against the population values. A callable is called once per pooled parameter,
        slope parameters before the coefficients centred on them: the order of a seeded
        stream.
    centres : mapping
        ``{"log_N": ..., "log_D": ...}`` of the fitted runs.
    pooled : sequence of str
        Parameters that vary by group.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor`` (for ``exp``).

    Returns
    -------
    dict
        Every law parameter of the new group, by name.
    """
    offset = z if callable(z) else z.__getitem__
    out: dict[str, object] = {}
    for name in sorted(law.params, key=lambda p: p in law.centring):
        if name not in pooled:
            out[name] = population[name]
            continue
        step = scales[name] * offset(name)
        if name in law.centring:
            slope_name, covariate = law.centring[name]
            slope = out[slope_name] if slope_name else 1.0
            out[name] = population[f"{name}_c"] + step + slope * centres[covariate]
        elif name in law.positive:
            out[name] = population[name] * xp.exp(step)
        else:
            out[name] = population[name] + step
    return out
