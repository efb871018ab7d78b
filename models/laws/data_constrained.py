r"""The data-constrained law of Muennighoff et al. (2023): Chinchilla with decaying repeats.

.. math::

    L = E + \frac{A}{N'^{\alpha}} + \frac{B}{D'^{\beta}}, \qquad
    D' = U_D + U_D R_D^* \left(1 - e^{-R_D / R_D^*}\right), \qquad
    N' = U_N + U_N R_N^* \left(1 - e^{-R_N / R_N^*}\right),

with :math:`U_D` the unique tokens, :math:`R_D = D/U_D - 1` the repeated epochs,
:math:`U_N = \min(N, N_\mathrm{opt}(U_D))`, :math:`R_N = N/U_N - 1` the excess parameters
and :math:`N_\mathrm{opt}(U_D) = G (G U_D)^{\beta/\alpha}` the Chinchilla-optimal size for
:math:`U_D` tokens (:func:`models.laws.chinchilla.log_optimal_N_for_D`). Repeated tokens are
worth less each epoch and parameters beyond :math:`N_\mathrm{opt}(U_D)` less each multiple;
:math:`R_D^*, R_N^*` are the e-folding scales of that decay.

Without repetition (:math:`U = D`) the data term equals Chinchilla's, but the parameter
term still saturates beyond :math:`N_\mathrm{opt}(D)`, as in the paper: the law equals
Chinchilla only for :math:`N \le N_\mathrm{opt}(D)`.

This module owns the formula for numpy and pytensor (pass ``xp``), in log space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.laws._doc import Params, shared_doc
from models.laws.chinchilla import log_loss as _chinchilla_log_loss
from models.laws.chinchilla import log_optimal_N_for_D
from models.laws.chinchilla import loss as _chinchilla_loss

PARAMS = ("E", "log_A", "alpha", "log_B", "beta", "R_D_star", "R_N_star")
POSITIVE = frozenset({"E", "alpha", "beta", "R_D_star", "R_N_star"})
CENTRING = {"log_A": ("alpha", "log_N"), "log_B": ("beta", "log_D")}
FORMULA = "L = E + A/N'^alpha + B/D'^beta, D' = U(1 + R_D*(1 - exp(-R_D/R_D*))), N' likewise"

#: Cap on log(D/U) and log(N/U_N) before exponentiating. At e^300 repeats the decay factor
#: is 1 to machine precision for any plausible R*, and the cap keeps expm1 from overflowing.
_MAX_LOG_RATIO = 300.0


def _log_effective(log_unique: Any, log_total: Any, r_star: Any, xp: Any) -> Any:
    """log(U + U R* (1 - exp(-R/R*))) with R = total/U - 1 >= 0, in log space."""
    repeats = xp.expm1(xp.minimum(log_total - log_unique, _MAX_LOG_RATIO))
    return log_unique + xp.log1p(-r_star * xp.expm1(-repeats / r_star))


def _log_effective_params(log_N: Any, log_U: Any, params: Mapping[str, Any], xp: Any) -> Any:
    """Compute log N' with U_N = min(N, N_opt(U)) and R_N = N/U_N - 1, in log space.

    ``params`` holds ``log_A``, ``alpha``, ``log_B``, ``beta`` and ``R_N_star``.
    """
    log_opt = log_optimal_N_for_D(
        log_U, params["log_A"], params["alpha"], params["log_B"], params["beta"], xp=xp
    )
    log_U_N = xp.minimum(log_N, log_opt)
    return _log_effective(log_U_N, log_N, params["R_N_star"], xp)


def effective_tokens(D: Any, U: Any, R_D_star: Any, xp: Any = np) -> Any:
    r"""Effective data :math:`D'`: unique tokens plus the decayed value of repeats.

    Parameters
    ----------
    D : array_like or TensorVariable
        Training tokens seen (repeats included), > 0.
    U : array_like or TensorVariable
        Unique tokens, > 0; values above ``D`` are treated as ``D`` (no repetition).
    R_D_star : array_like or TensorVariable
        Decay scale of repeated data, epochs, > 0.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`D'` in tokens; between :math:`U` and :math:`U(1 + R_D^*)`.

    Notes
    -----
    .. math:: D' = U + U R_D^* \left(1 - e^{-R_D/R_D^*}\right), \qquad R_D = D/U - 1

    References
    ----------
    Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv:2305.16264,
    eq. 5.

    Examples
    --------
    Four epochs of 25B unique tokens are worth about 3.7 epochs of fresh data:

    >>> round(float(effective_tokens(100e9, 25e9, 15.387756)) / 1e9, 2)
    93.14
    """
    log_U = xp.minimum(xp.log(U), xp.log(D))
    return xp.exp(_log_effective(log_U, xp.log(D), R_D_star, xp))


def effective_params(
    N: Any, U: Any, A: Any, alpha: Any, B: Any, beta: Any, R_N_star: Any, xp: Any = np
) -> Any:
    r"""Effective parameters :math:`N'`: useful size given the unique data.

    Parameters
    ----------
    N : array_like or TensorVariable
        Total parameters, > 0.
    U : array_like or TensorVariable
        Unique tokens, > 0.
    A, alpha, B, beta : array_like or TensorVariable
        Coefficients and exponents of the Chinchilla terms, each > 0 (units as in
        :func:`models.laws.chinchilla.loss`).
    R_N_star : array_like or TensorVariable
        Decay scale of excess parameters (multiples of :math:`U_N`), > 0.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`N'` in parameters; equal to ``N`` when :math:`N \le N_\mathrm{opt}(U)`.

    Notes
    -----
    .. math::

        N' = U_N + U_N R_N^* \left(1 - e^{-R_N/R_N^*}\right), \quad
        U_N = \min(N, N_\mathrm{opt}(U)), \quad R_N = N/U_N - 1,

        N_\mathrm{opt}(U) = G (G U)^{\beta/\alpha}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}

    References
    ----------
    Muennighoff et al. 2023, arXiv:2305.16264, eq. 5 and Appendix A; the
    ``D_to_N`` convention of the huggingface/datablations README ("Parametric Fit").

    Examples
    --------
    >>> A, B, ab = np.exp(6.255414), np.exp(7.3049974), 0.3526596
    >>> round(float(effective_params(6.34e9, 25e9, A, ab, B, ab, 5.309743)) / 1e9, 3)
    4.841
    """
    params = {
        "log_A": xp.log(A),
        "alpha": alpha,
        "log_B": xp.log(B),
        "beta": beta,
        "R_N_star": R_N_star,
    }
    return xp.exp(_log_effective_params(xp.log(N), xp.log(U), params, xp))


@shared_doc
def loss(
    N: Any,
    D: Any,
    U: Any,
    E: Any,
    A: Any,
    alpha: Any,
    B: Any,
    beta: Any,
    R_D_star: Any,
    R_N_star: Any,
    xp: Any = np,
) -> Any:
    r"""Compute the expected loss under the data-constrained law, in natural units.

    Parameters
    ----------
    N : array_like or TensorVariable
        Total parameters, > 0.
    D : array_like or TensorVariable
        Training tokens seen (repeats included), > 0.
    U : array_like or TensorVariable
        Unique tokens, > 0 and <= ``D`` (larger values are treated as ``D``).
    E : array_like or TensorVariable
        Irreducible loss, nats/token, > 0.
    A, alpha, B, beta : array_like or TensorVariable
        Coefficients and exponents of the Chinchilla terms, each > 0 (units as in
        :func:`models.laws.chinchilla.loss`).
    R_D_star : array_like or TensorVariable
        Decay scale of repeated data, epochs, > 0.
    R_N_star : array_like or TensorVariable
        Decay scale of excess parameters, > 0.
    {loss_end}

    Notes
    -----
    .. math:: L = E + A N'^{-\alpha} + B D'^{-\beta}

    with :math:`D'` from :func:`effective_tokens` and :math:`N'` from
    :func:`effective_params`.

    References
    ----------
    Muennighoff et al. 2023, "Scaling Data-Constrained Language Models", arXiv:2305.16264,
    eq. 5; C4 coefficients and the two Figure 1 models from the huggingface/datablations
    README ("Parametric Fit").

    Examples
    --------
    The two models of their Figure 1 (right), 25B unique tokens:

    >>> p = dict(E=np.exp(0.6254804), A=np.exp(6.255414), alpha=0.3526596,
    ...          B=np.exp(7.3049974), beta=0.3526596, R_D_star=15.387756, R_N_star=5.309743)
    >>> round(float(loss(6.34e9, 242e9, 25e9, **p)), 4)
    2.2256
    >>> round(float(loss(8.67e9, 178e9, 25e9, **p)), 4)
    2.227
    """
    N_eff = effective_params(N, U, A, alpha, B, beta, R_N_star, xp=xp)
    D_eff = effective_tokens(D, U, R_D_star, xp=xp)
    return _chinchilla_loss(N_eff, D_eff, E, A, alpha, B, beta, xp=xp)


@shared_doc
def log_loss(log_N: Any, log_D: Any, params: Params, *, xp: Any = np, log_U: Any = None) -> Any:
    r"""Natural log of the data-constrained loss, computed in log space.

    Parameters
    ----------
    {log_loss_args}
        ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``, ``R_D_star``, ``R_N_star``;
        broadcastable against ``log_N``.
    {xp}
    log_U : array_like, optional
        :math:`\log U`, U in unique tokens; ``None`` means ``U = D`` (no repetition).
        Values above ``log_D`` are treated as ``log_D``.

    {log_loss_returns}

    Notes
    -----
    .. math::

        \log D' = \log U + \log\!\left(1 - R_D^* \operatorname{expm1}(-R_D/R_D^*)\right),
        \quad R_D = \operatorname{expm1}(\log D - \log U),

    likewise :math:`\log N'` with :math:`\log U_N = \min(\log N, \log N_\mathrm{opt}(U))`;
    then the Chinchilla :func:`~models.laws.chinchilla.log_loss` at
    :math:`(\log N', \log D')`.

    References
    ----------
    Muennighoff et al. 2023, arXiv:2305.16264, eq. 5.

    Examples
    --------
    >>> p = {"E": np.exp(0.6254804), "log_A": 6.255414, "alpha": 0.3526596,
    ...      "log_B": 7.3049974, "beta": 0.3526596, "R_D_star": 15.387756,
    ...      "R_N_star": 5.309743}
    >>> round(float(np.exp(log_loss(np.log(6.34e9), np.log(242e9), p, log_U=np.log(25e9)))), 4)
    2.2256
    """
    log_U = log_D if log_U is None else xp.minimum(log_U, log_D)
    log_D_eff = _log_effective(log_U, log_D, params["R_D_star"], xp)
    log_N_eff = _log_effective_params(log_N, log_U, params, xp)
    return _chinchilla_log_loss(log_N_eff, log_D_eff, params, xp=xp)
