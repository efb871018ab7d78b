r"""The Chinchilla law: loss as a sum of an irreducible floor and two power laws.

.. math:: L(N, D) = E + \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}}

``N`` counts total parameters (embeddings included), ``D`` training tokens seen (repeats
included), ``L`` is in nats/token. The model samples ``log_A`` and ``log_B`` rather than
``A`` and ``B``; ``E``, ``alpha`` and ``beta`` are positive.

This module owns the formula (:func:`log_loss` for the model, :func:`loss` in natural units),
the compute-optimal allocation of Hoffmann et al. (2022, eq. 4) and the stable
:func:`logaddexp` shared by every law. Everything is written once for ``numpy`` and
``pytensor.tensor`` alike (pass ``xp``), in log space, so that it stays finite for
:math:`N, D \in [10^3, 10^{16}]` and any exponent in :math:`(0, 1.5)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.laws._doc import Params, shared_doc

#: Free parameters in the sampled space.
PARAMS = ("E", "log_A", "alpha", "log_B", "beta")
#: Parameters that must be > 0.
POSITIVE = frozenset({"E", "alpha", "beta"})
#: Log-scale parameter -> (slope parameter, covariate) it is centred on.
CENTRING = {"log_A": ("alpha", "log_N"), "log_B": ("beta", "log_D")}
#: One-line formula for tables.
FORMULA = "L = E + A/N^alpha + B/D^beta"


def softplus(x: Any, *, xp: Any = np) -> Any:
    r"""Compute :math:`\log(1 + e^x)` without overflow, for numpy and pytensor.

    Examples
    --------
    >>> round(float(softplus(0.0)), 6), float(softplus(1000.0))
    (0.693147, 1000.0)
    """
    return np.logaddexp(0.0, x) if xp is np else xp.softplus(x)


def logaddexp(a: Any, b: Any, *, xp: Any = np) -> Any:
    r"""Compute :math:`\log(e^a + e^b)` without overflow, for numpy and pytensor.

    .. math:: \operatorname{logaddexp}(a, b) = \max(a, b) + \log(1 + e^{-|a - b|})

    ``pytensor.tensor.logaddexp`` is written as ``log(exp(a) + exp(b))``; the value is
    rewritten to a stable form when compiled but its gradient is not, and it is ``nan``
    once :math:`|a|` passes about 709. The pytensor branch here uses ``switch`` and
    ``softplus`` instead, whose gradient is the logistic function and always finite.

    Parameters
    ----------
    a, b : array_like or TensorVariable
        Logs of the two positive terms (dimensionless), broadcast against each other.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`\log(e^a + e^b)`, broadcast shape of ``a`` and ``b``.

    Examples
    --------
    >>> round(float(logaddexp(1000.0, 1000.0)), 6)
    1000.693147
    """
    if xp is np:
        return np.logaddexp(a, b)
    return xp.switch(xp.gt(a, b), a + xp.softplus(b - a), b + xp.softplus(a - b))


@shared_doc
def loss(N: Any, D: Any, E: Any, A: Any, alpha: Any, B: Any, beta: Any, xp: Any = np) -> Any:
    r"""Compute the expected loss under the Chinchilla law, in natural units.

    Parameters
    ----------
    N : array_like or TensorVariable
        Total parameters (count, embeddings included), > 0.
    D : array_like or TensorVariable
        Training tokens seen (count, repeats included), > 0.
    E : array_like or TensorVariable
        Irreducible loss, nats/token, > 0.
    A : array_like or TensorVariable
        Parameter-term coefficient, nats/token :math:`\times` parameters\ :sup:`alpha`, > 0.
    alpha : array_like or TensorVariable
        Parameter exponent (dimensionless), > 0.
    B : array_like or TensorVariable
        Data-term coefficient, nats/token :math:`\times` tokens\ :sup:`beta`, > 0.
    beta : array_like or TensorVariable
        Data exponent (dimensionless), > 0.
    {loss_end}

    Notes
    -----
    .. math:: L(N, D) = E + A N^{-\alpha} + B D^{-\beta}

    References
    ----------
    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
    arXiv:2203.15556, eq. 2 and Approach 3 (Appendix D.2).
    Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102.

    Examples
    --------
    Chinchilla itself (70B parameters, 1.4T tokens) under Hoffmann's and Epoch's fits:

    >>> round(float(loss(70e9, 1.4e12, 1.69, 406.4, 0.34, 410.7, 0.28)), 4)
    1.9366
    >>> round(float(loss(70e9, 1.4e12, 1.8172, 482.01, 0.3478, 2085.43, 0.3658)), 4)
    1.9739
    """
    return E + A * xp.exp(-alpha * xp.log(N)) + B * xp.exp(-beta * xp.log(D))


@shared_doc
def log_loss(log_N: Any, log_D: Any, params: Params, *, xp: Any = np, log_U: Any = None) -> Any:
    r"""Natural log of the Chinchilla loss, computed in log space.

    Parameters
    ----------
    {log_loss_args}
        ``E`` (nats/token), ``log_A``, ``alpha``, ``log_B``, ``beta``; scalars, tensors or
        arrays that broadcast against ``log_N`` (e.g. shape ``(chain, draw, 1)``).
    {log_loss_end}

    Notes
    -----
    .. math::

        \log L = \operatorname{logsumexp}\left(\log E,\;
        \log A - \alpha \log N,\; \log B - \beta \log D\right)

    No term is exponentiated on its own, so the result is finite wherever the inputs are.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556, eq. 2.

    Examples
    --------
    >>> p = {"E": 1.69, "log_A": np.log(406.4), "alpha": 0.34, "log_B": np.log(410.7),
    ...      "beta": 0.28}
    >>> round(float(np.exp(log_loss(np.log(70e9), np.log(1.4e12), p))), 4)
    1.9366
    """
    del log_U
    term_N = params["log_A"] - params["alpha"] * log_N
    term_D = params["log_B"] - params["beta"] * log_D
    if xp is np:
        # Fast path for predictions: two exps and one log are exact unless a term
        # overflows (a term above e^709); only those entries take the stable form.
        with np.errstate(over="ignore"):
            out = np.log(params["E"] + np.exp(term_N) + np.exp(term_D))
        if np.all(np.isfinite(out)):
            return out
        stable = logaddexp(np.log(params["E"]), logaddexp(term_N, term_D))
        return np.where(np.isfinite(out), out, stable)
    return logaddexp(xp.log(params["E"]), logaddexp(term_N, term_D, xp=xp), xp=xp)


def log_optimal_N_for_D(
    log_D: Any, log_A: Any, alpha: Any, log_B: Any, beta: Any, *, xp: Any = np
) -> Any:
    r"""Log of the compute-optimal parameter count for a given number of tokens.

    Parameters
    ----------
    log_D : array_like or TensorVariable
        :math:`\log D`, D in tokens.
    log_A, log_B : array_like or TensorVariable
        Logs of the Chinchilla coefficients ``A`` and ``B``.
    alpha, beta : array_like or TensorVariable
        Parameter and data exponents (dimensionless), > 0.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array_like or TensorVariable
        :math:`\log N_\mathrm{opt}(D)`, N in parameters.

    Notes
    -----
    Inverting Hoffmann's allocation :math:`D^* = G^{-1}(C/k)^{\alpha/(\alpha+\beta)}` for
    :math:`C/k` and substituting into :math:`N^* = G (C/k)^{\beta/(\alpha+\beta)}` gives

    .. math::

        N_\mathrm{opt}(D) = G\,(G D)^{\beta/\alpha}, \qquad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)},

    independent of the FLOP constant :math:`k`. This is ``D_to_N`` of Muennighoff et al.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556, eq. 4.
    Muennighoff et al. 2023, arXiv:2305.16264, Appendix A; huggingface/datablations README.

    Examples
    --------
    >>> round(float(np.exp(log_optimal_N_for_D(np.log(25e9), 6.255414, 0.3526596, 7.3049974,
    ...                                         0.3526596))) / 1e9, 3)
    1.275
    """
    log_G = (xp.log(alpha) + log_A - xp.log(beta) - log_B) / (alpha + beta)
    return log_G + (beta / alpha) * (log_G + log_D)


def optimal_N_for_D(D: Any, A: Any, alpha: Any, B: Any, beta: Any) -> np.ndarray:
    r"""Compute-optimal parameter count when ``D`` tokens are used.

    Parameters
    ----------
    D : array_like
        Training tokens, > 0.
    A, alpha, B, beta : array_like
        Coefficients and exponents of the Chinchilla terms, each > 0 (units as in
        :func:`loss`).

    Returns
    -------
    numpy.ndarray
        :math:`N_\mathrm{opt}(D)` in parameters, broadcast over the arguments (e.g. over
        posterior draws).

    Notes
    -----
    .. math::

        N_\mathrm{opt}(D) = G\,(G D)^{\beta/\alpha}, \qquad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}

    The pair :math:`(N_\mathrm{opt}(D), D)` lies on the compute-optimal frontier of
    :func:`compute_optimal`.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556, eq. 4.

    Examples
    --------
    >>> round(float(optimal_N_for_D(1.4e12, 406.4, 0.34, 410.7, 0.28)) / 1e9, 1)
    17.3
    """
    log_N = log_optimal_N_for_D(
        np.log(np.asarray(D, dtype=float)),
        np.log(np.asarray(A, dtype=float)),
        np.asarray(alpha, dtype=float),
        np.log(np.asarray(B, dtype=float)),
        np.asarray(beta, dtype=float),
    )
    return np.exp(log_N)


def compute_optimal(
    C: Any,
    E: Any,
    A: Any,
    alpha: Any,
    B: Any,
    beta: Any,
    flop_per_param_token: float = 6.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Loss-minimising parameters and tokens for a compute budget (Hoffmann eq. 4).

    Parameters
    ----------
    C : array_like
        Training compute, FLOP, > 0.
    E : array_like
        Irreducible loss, nats/token. It does not move the optimum; accepted so a full
        parameter set can be passed.
    A, alpha, B, beta : array_like
        Coefficients and exponents of the Chinchilla terms, each > 0 (units as in
        :func:`loss`).
    flop_per_param_token : float, default 6.0
        FLOP per parameter per token, :math:`k` in :math:`C = k N D`.

    Returns
    -------
    N_opt : numpy.ndarray
        Compute-optimal total parameters, broadcast over the arguments (e.g. draws).
    D_opt : numpy.ndarray
        Compute-optimal training tokens, same shape; :math:`k N_\mathrm{opt} D_\mathrm{opt} = C`.

    Notes
    -----
    Minimising :math:`L` on the iso-FLOP line :math:`k N D = C` gives

    .. math::

        N^* = G \left(\frac{C}{k}\right)^{a}, \quad
        D^* = G^{-1} \left(\frac{C}{k}\right)^{b}, \quad
        G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}, \quad
        a = \frac{\beta}{\alpha+\beta}, \quad b = \frac{\alpha}{\alpha+\beta}.

    References
    ----------
    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
    arXiv:2203.15556, eq. 4.

    Examples
    --------
    >>> N, D = compute_optimal(5.76e23, 1.69, 406.4, 0.34, 410.7, 0.28)
    >>> round(float(N) / 1e9, 1), round(float(D) / 1e12, 2)
    (32.2, 2.98)
    """
    del E
    alpha = np.asarray(alpha, dtype=float)
    beta = np.asarray(beta, dtype=float)
    log_G = (
        np.log(alpha * np.asarray(A, dtype=float)) - np.log(beta * np.asarray(B, dtype=float))
    ) / (alpha + beta)
    log_budget = np.log(np.asarray(C, dtype=float) / flop_per_param_token)
    log_N = log_G + beta / (alpha + beta) * log_budget
    log_D = -log_G + alpha / (alpha + beta) * log_budget
    return np.exp(log_N), np.exp(log_D)
