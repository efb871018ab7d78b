r"""The Kaplan law: one power law in a sum of size and data terms, optionally with a floor.

.. math::

    L(N, D) = \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D} + \frac{D_c}{D}\right]^{\alpha_D}
    \qquad \text{(kaplan)}, \qquad
    L(N, D) = E + \left[\cdots\right]^{\alpha_D} \qquad \text{(kaplan\_floor)}

Kaplan et al. fit this to **non-embedding** parameters and WebText2 test loss (GPT-2 BPE), so
their published :math:`N_c, D_c` do not transfer to total-parameter counts or other corpora
without refitting. The model samples ``log_N_c`` and ``log_D_c``; the exponents (and ``E``)
are positive. Without a floor the law tends to zero loss, which is why ``kaplan_floor``
exists.

This module owns both forms, for numpy and pytensor alike (pass ``xp``), in log space.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.laws._doc import Params, shared_doc
from models.laws.chinchilla import logaddexp

#: Free parameters of ``kaplan`` in the sampled space.
PARAMS = ("log_N_c", "alpha_N", "log_D_c", "alpha_D")
#: Free parameters of ``kaplan_floor``.
FLOOR_PARAMS = ("E", *PARAMS)
#: Parameters that must be > 0.
POSITIVE = frozenset({"alpha_N", "alpha_D"})
FLOOR_POSITIVE = POSITIVE | {"E"}
#: Log-scale parameter -> (slope parameter or None, covariate); the slope of log N_c is 1.
CENTRING = {"log_N_c": (None, "log_N"), "log_D_c": (None, "log_D")}
FORMULA = "L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D"
FLOOR_FORMULA = "L = E + [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D"


@shared_doc
def loss(
    N: Any,
    D: Any,
    N_c: Any,
    alpha_N: Any,
    D_c: Any,
    alpha_D: Any,
    E: Any = 0.0,
    xp: Any = np,
) -> Any:
    r"""Compute the expected loss under the Kaplan law (with floor ``E``), in natural units.

    Parameters
    ----------
    N : array_like or TensorVariable
        Parameters, > 0 (Kaplan's fit counts non-embedding parameters).
    D : array_like or TensorVariable
        Training tokens seen, > 0.
    N_c : array_like or TensorVariable
        Critical parameter count, parameters, > 0.
    alpha_N : array_like or TensorVariable
        Parameter exponent (dimensionless), > 0.
    D_c : array_like or TensorVariable
        Critical token count, tokens, > 0.
    alpha_D : array_like or TensorVariable
        Data exponent (dimensionless), > 0.
    E : array_like or TensorVariable, default 0.0
        Irreducible loss, nats/token, >= 0; 0 gives Kaplan's original law.
    {loss_end}

    Notes
    -----
    .. math::

        L(N, D) = E + \left[\left(\frac{N_c}{N}\right)^{\alpha_N/\alpha_D}
        + \frac{D_c}{D}\right]^{\alpha_D}

    References
    ----------
    Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361,
    eq. 1.5 and Table 2 (:math:`\alpha_N = 0.076, \alpha_D = 0.103, N_c = 6.4\times10^{13},
    D_c = 1.8\times10^{13}`).

    Examples
    --------
    >>> round(float(loss(1.5e9, 2.2e10, 6.4e13, 0.076, 1.8e13, 0.103)), 4)
    2.3125
    """
    core = xp.exp((alpha_N / alpha_D) * xp.log(N_c / N)) + D_c / D
    return E + xp.exp(alpha_D * xp.log(core))


def _log_core(log_N: Any, log_D: Any, params: Mapping[str, Any], xp: Any) -> Any:
    ratio = params["alpha_N"] / params["alpha_D"]
    term_N = ratio * (params["log_N_c"] - log_N)
    term_D = params["log_D_c"] - log_D
    return params["alpha_D"] * logaddexp(term_N, term_D, xp=xp)


@shared_doc
def log_loss(log_N: Any, log_D: Any, params: Params, *, xp: Any = np, log_U: Any = None) -> Any:
    r"""Natural log of the Kaplan loss (no floor), computed in log space.

    Parameters
    ----------
    {log_loss_args}
        ``log_N_c``, ``alpha_N``, ``log_D_c``, ``alpha_D``; broadcastable against ``log_N``.
    {log_loss_end}

    Notes
    -----
    .. math::

        \log L = \alpha_D \operatorname{logaddexp}\left(
        \tfrac{\alpha_N}{\alpha_D}(\log N_c - \log N),\; \log D_c - \log D\right)

    References
    ----------
    Kaplan et al. 2020, arXiv:2001.08361, eq. 1.5.

    Examples
    --------
    >>> p = {"log_N_c": np.log(6.4e13), "alpha_N": 0.076, "log_D_c": np.log(1.8e13),
    ...      "alpha_D": 0.103}
    >>> round(float(np.exp(log_loss(np.log(1.5e9), np.log(2.2e10), p))), 4)
    2.3125
    """
    del log_U
    return _log_core(log_N, log_D, params, xp)


def log_loss_floor(
    log_N: Any, log_D: Any, params: Params, *, xp: Any = np, log_U: Any = None
) -> Any:
    r"""Natural log of the Kaplan loss with an irreducible floor ``E``.

    Parameters and result as in :func:`log_loss`, with ``params`` holding ``E``
    (nats/token) besides ``log_N_c``, ``alpha_N``, ``log_D_c`` and ``alpha_D``.

    Notes
    -----
    .. math::

        \log L = \operatorname{logaddexp}\left(\log E,\; \alpha_D \operatorname{logaddexp}\left(
        \tfrac{\alpha_N}{\alpha_D}(\log N_c - \log N),\; \log D_c - \log D\right)\right)

    References
    ----------
    Kaplan et al. 2020, arXiv:2001.08361, eq. 1.5, with the floor of Henighan et al. 2020,
    "Scaling Laws for Autoregressive Generative Modeling", arXiv:2010.14701.

    Examples
    --------
    >>> p = {"E": 1.0, "log_N_c": np.log(6.4e13), "alpha_N": 0.076,
    ...      "log_D_c": np.log(1.8e13), "alpha_D": 0.103}
    >>> round(float(np.exp(log_loss_floor(np.log(1.5e9), np.log(2.2e10), p))), 4)
    3.3125
    """
    del log_U
    return logaddexp(xp.log(params["E"]), _log_core(log_N, log_D, params, xp), xp=xp)
