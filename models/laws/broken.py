r"""The Chinchilla law with a smooth break in each exponent (a broken power law).

.. math::

    L(N, D) = E
    + \frac{A}{N^{\alpha}} \left(1 + \frac{N}{N_b}\right)^{-\alpha(\rho_\alpha - 1)}
    + \frac{B}{D^{\beta}} \left(1 + \frac{D}{D_b}\right)^{-\beta(\rho_\beta - 1)}

Well below the break :math:`N_b` the parameter term falls as :math:`N^{-\alpha}`, well above
it as :math:`N^{-\rho_\alpha \alpha}`; the data term likewise with :math:`D_b` and
:math:`\rho_\beta`. With :math:`\rho_\alpha = \rho_\beta = 1` the law *is* the Chinchilla law,
whatever the break points. Each factor is one break of Caballero et al.'s broken neural
scaling law, :math:`(1 + (x/d)^{1/f})^{-c f}`, with the sharpness fixed at :math:`f = 1`:
the local exponent moves from its lower to its upper value over about two decades around the
break, so a break is a change of slope, not a kink.

Why it exists: a power law fitted on small runs extrapolates its exponents unchanged over the
two to three orders of magnitude between a ladder and a largest model. This form lets the
exponents change beyond (or inside) the data; where the runs say nothing about a break, its
prior carries the doubt into the forecast. The model samples ``log_N_break`` and
``log_D_break`` (natural logs of parameters and tokens) centred on the data, and the
positive ratios ``alpha_ratio`` :math:`=\rho_\alpha` and ``beta_ratio`` :math:`=\rho_\beta`.

References
----------
Caballero et al. 2023, "Broken Neural Scaling Laws", ICLR, arXiv:2210.14891, eq. 1.
Hoffmann et al. 2022, arXiv:2203.15556, eq. 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.laws._doc import Params, shared_doc
from models.laws.chinchilla import logaddexp, softplus

#: Free parameters in the sampled space.
PARAMS = (
    "E",
    "log_A",
    "alpha",
    "log_B",
    "beta",
    "alpha_ratio",
    "log_N_break",
    "beta_ratio",
    "log_D_break",
)
#: Parameters that must be > 0.
POSITIVE = frozenset({"E", "alpha", "beta", "alpha_ratio", "beta_ratio"})
#: Log-scale parameter -> (slope parameter or None, covariate) it is centred on.
CENTRING = {
    "log_A": ("alpha", "log_N"),
    "log_B": ("beta", "log_D"),
    "log_N_break": (None, "log_N"),
    "log_D_break": (None, "log_D"),
}
#: One-line formula for tables.
FORMULA = (
    "L = E + A/N^alpha (1 + N/N_b)^(-alpha (alpha_ratio - 1))"
    " + B/D^beta (1 + D/D_b)^(-beta (beta_ratio - 1))"
)


def _bend(log_x: Any, slope: Any, ratio: Any, log_break: Any, xp: Any) -> Any:
    r"""Minus the log of a break factor: :math:`s(\rho - 1)\operatorname{sp}(\log x - \log x_b)`."""
    return slope * (ratio - 1.0) * softplus(log_x - log_break, xp=xp)


def centre_log_factors(params: Params, centres: Any, *, xp: Any = np) -> dict[str, Any]:
    r"""Return the logs of the break factors at the data centre, by coefficient.

    The model's centre parametrisation samples the loss at the data centre and the log of
    each term there (``models.build.centre_to_law``); for this law the parameter term at
    the centre is :math:`A \bar N^{-\alpha} (1 + \bar N/N_b)^{-\alpha(\rho_\alpha - 1)}`,
    so the centred coefficient :math:`\log A - \alpha \log\bar N` is that term's log
    minus the factor's. The factor depends on parameters sampled before the coefficient
    (exponent, ratio, break), so the shift has unit Jacobian.

    Parameters
    ----------
    params : mapping
        ``alpha``, ``alpha_ratio``, ``log_N_break``, ``beta``, ``beta_ratio``,
        ``log_D_break``.
    centres : mapping
        ``log_N`` and ``log_D`` of the data centre (natural logs of parameters, tokens).
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    dict
        ``log_A`` and ``log_B``: logs of the factors (<= 0 for ratios above 1).

    Examples
    --------
    A break at the centre that doubles alpha = 0.3: the factor is 2^-0.3.

    >>> p = {"alpha": 0.3, "alpha_ratio": 2.0, "log_N_break": 20.0, "beta": 0.3,
    ...      "beta_ratio": 1.0, "log_D_break": 22.0}
    >>> f = centre_log_factors(p, {"log_N": 20.0, "log_D": 24.0})
    >>> round(float(f["log_A"]), 6), round(float(f["log_B"]), 6)
    (-0.207944, -0.0)
    """
    return {
        "log_A": -_bend(
            centres["log_N"], params["alpha"], params["alpha_ratio"], params["log_N_break"], xp
        ),
        "log_B": -_bend(
            centres["log_D"], params["beta"], params["beta_ratio"], params["log_D_break"], xp
        ),
    }


def centre_slope_factors(params: Params, centres: Any, *, xp: Any = np) -> dict[str, Any]:
    r"""Return, by exponent, the factor that turns it into its local slope at the data centre.

    The parameter term's local exponent :math:`-\partial \log(\text{term}) / \partial
    \log N` at the centre is :math:`\alpha m_\alpha` with

    .. math:: m_\alpha = 1 + (\rho_\alpha - 1)\,\operatorname{sigmoid}(\log\bar N - \log N_b)

    (the derivative of the factor's softplus), and likewise :math:`\beta m_\beta`. The model
    samples the log of each local slope and divides by :math:`m`: the runs pin the slope
    they see, where :math:`\alpha` and :math:`\rho_\alpha` trade against each other when
    the break moves through the data. :math:`m` depends on parameters sampled first (ratio,
    break), so the Jacobian is :math:`\partial\alpha/\partial\log(\alpha m) = \alpha`.

    Parameters
    ----------
    params, centres, xp
        As :func:`centre_log_factors`; only the ratios and breaks are read.

    Returns
    -------
    dict
        ``alpha`` and ``beta``: :math:`m_\alpha`, :math:`m_\beta` (> 0, dimensionless).

    Examples
    --------
    A break at the centre that doubles alpha: half of the change is seen there.

    >>> p = {"alpha_ratio": 2.0, "log_N_break": 20.0, "beta_ratio": 1.0, "log_D_break": 22.0}
    >>> m = centre_slope_factors(p, {"log_N": 20.0, "log_D": 24.0})
    >>> float(m["alpha"]), float(m["beta"])
    (1.5, 1.0)
    """
    sigmoid = (lambda x: 1.0 / (1.0 + np.exp(-x))) if xp is np else xp.sigmoid
    return {
        name: 1.0 + (params[ratio] - 1.0) * sigmoid(centres[covariate] - params[brk])
        for name, ratio, brk, covariate in (
            ("alpha", "alpha_ratio", "log_N_break", "log_N"),
            ("beta", "beta_ratio", "log_D_break", "log_D"),
        )
    }


def loss(
    N: Any,
    D: Any,
    E: Any,
    A: Any,
    alpha: Any,
    B: Any,
    beta: Any,
    alpha_ratio: Any,
    N_break: Any,
    beta_ratio: Any,
    D_break: Any,
) -> Any:
    r"""Compute the expected loss under the broken Chinchilla law, in natural units (numpy).

    Parameters
    ----------
    N : array_like
        Total parameters, > 0.
    D : array_like
        Training tokens seen, > 0.
    E : array_like
        Irreducible loss, nats/token, > 0.
    A, B : array_like
        Coefficients of the parameter and data terms below their breaks, > 0.
    alpha, beta : array_like
        Exponents below the breaks (dimensionless), > 0.
    alpha_ratio, beta_ratio : array_like
        Exponent above a break over the exponent below it (dimensionless), > 0.
    N_break : array_like
        Parameter count of the break, parameters, > 0.
    D_break : array_like
        Token count of the break, tokens, > 0.

    Returns
    -------
    numpy.ndarray
        Loss in nats/token, broadcast over all arguments.

    Notes
    -----
    .. math::

        L = E + A N^{-\alpha} (1 + N/N_b)^{-\alpha(\rho_\alpha - 1)}
              + B D^{-\beta} (1 + D/D_b)^{-\beta(\rho_\beta - 1)}

    References
    ----------
    Caballero et al. 2023, arXiv:2210.14891, eq. 1 with :math:`f = 1`.

    Examples
    --------
    Ratios of 1 give the Chinchilla law (Hoffmann's fit at Chinchilla's size):

    >>> round(float(loss(70e9, 1.4e12, 1.69, 406.4, 0.34, 410.7, 0.28, 1.0, 1e9, 1.0, 1e10)), 4)
    1.9366
    """
    N, D = np.asarray(N, float), np.asarray(D, float)
    term_N = A * N**-alpha * (1.0 + N / N_break) ** (-alpha * (alpha_ratio - 1.0))
    term_D = B * D**-beta * (1.0 + D / D_break) ** (-beta * (beta_ratio - 1.0))
    return E + term_N + term_D


@shared_doc
def log_loss(log_N: Any, log_D: Any, params: Params, *, xp: Any = np, log_U: Any = None) -> Any:
    r"""Natural log of the broken Chinchilla loss, computed in log space.

    Parameters
    ----------
    {log_loss_args}
        :data:`PARAMS`; scalars, tensors or arrays that broadcast against ``log_N``.
    {log_loss_end}

    Notes
    -----
    With :math:`\operatorname{sp}(x) = \log(1 + e^x)`,

    .. math::

        \log L = \operatorname{logsumexp}\bigl(\log E,\;
        \log A - \alpha \log N - \alpha(\rho_\alpha - 1)\operatorname{sp}(\log N - \log N_b),\;
        \log B - \beta \log D - \beta(\rho_\beta - 1)\operatorname{sp}(\log D - \log D_b)\bigr)

    No term is exponentiated on its own, so the result is finite wherever the inputs are.

    Examples
    --------
    Two decades above a break that doubles alpha, the parameter term falls at nearly twice
    the rate (local slope of the log term -0.68 against -0.34):

    >>> p = {"E": 1e-9, "log_A": 6.0, "alpha": 0.34, "log_B": -50.0, "beta": 0.3,
    ...      "alpha_ratio": 2.0, "log_N_break": np.log(1e9), "beta_ratio": 1.0,
    ...      "log_D_break": 20.0}
    >>> x = np.log([1e11, 1e11 * np.e])
    >>> round(float(np.diff(log_loss(x, np.log([1e12, 1e12]), p))[0]), 3)
    -0.678
    """
    del log_U
    term_N = (
        params["log_A"]
        - params["alpha"] * log_N
        - _bend(log_N, params["alpha"], params["alpha_ratio"], params["log_N_break"], xp)
    )
    term_D = (
        params["log_B"]
        - params["beta"] * log_D
        - _bend(log_D, params["beta"], params["beta_ratio"], params["log_D_break"], xp)
    )
    return logaddexp(xp.log(params["E"]), logaddexp(term_N, term_D, xp=xp), xp=xp)
