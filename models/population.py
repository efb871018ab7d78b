r"""The population meta-model: what the published fits and the bundled families say together.

Each family :math:`f` (a training recipe: corpus, tokenizer, architecture, eval set) has
parameters :math:`\theta_f = (\log\alpha_f, \log\beta_f, \log E_f, a_f, b_f)`, with the
Chinchilla terms taken at a reference scale,

.. math:: a_f = \log A_f - \alpha_f \log N_\mathrm{ref}, \qquad
          b_f = \log B_f - \beta_f \log D_\mathrm{ref},

(:data:`N_REF` parameters, :data:`D_REF` tokens), so that :math:`a_f` is the log of the
parameter term :math:`A_f/N^{\alpha_f}` at :math:`N_\mathrm{ref}`, which a fit pins far better
than :math:`\log A_f` (whose error is tied to the error of :math:`\alpha_f`). The families
are drawn from a population, non-centred:

.. math:: \theta_{f,k} = \mu_k + \tau_k z_{f,k}, \quad z_{f,k} \sim \mathcal N(0, 1).

Observations are noisy measurements of one family's parameters: a published fit, or a summary
(posterior mean and SD) of a fit to a family's bundled runs,

.. math:: y_i \sim \mathcal N\bigl(\theta_{f_i,k_i},\ \sqrt{s_i^2 + \omega_{k_i}^2}\bigr),

with :math:`s_i` the observation's own SE and :math:`\omega_k` the spread between fits of the
same family (different procedures, definitions of N, eval sets), learned. Allocation-only
fits observe :math:`a = \beta_f/(\alpha_f + \beta_f)`, the exponent of
:math:`N_\mathrm{opt} \propto C^a`, with their own :math:`\omega`.

The predictive for a new family is :math:`\theta_\mathrm{new} = \mu + \tau z`,
:math:`z \sim \mathcal N(0, I)`, over posterior draws of :math:`(\mu, \tau)`;
:func:`predictive_priors` turns its draws into independent :class:`~models.prior_spec.PriorSpec`
marginals for the Chinchilla law.
"""

from __future__ import annotations

import math

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from models.errors import ConfigError
from models.prior_spec import PriorSpec

__all__ = [
    "D_REF",
    "HYPER",
    "KINDS",
    "N_REF",
    "build_population_model",
    "new_family_draws",
    "predictive_priors",
]

#: Reference parameter count of :math:`a_f` (1e9, inside most ladders' range).
N_REF = 1e9
#: Reference token count of :math:`b_f` (2e10 = 20 tokens per parameter at N_REF).
D_REF = 2e10
#: Observed quantities: the five family parameters, then the allocation exponent.
KINDS = ("log_alpha", "log_beta", "log_E", "a_ref", "b_ref", "a_alloc")

#: Hyperpriors, fixed before any validation run (nothing held out chose them):
#: ``mu`` Normal(centre, scale) per family parameter, ``tau`` HalfNormal(scale), ``omega``
#: HalfNormal(scale) per kind. Centres: exponent 0.3 and floor 2 nats/token (the middle of
#: the published 0.1-0.4 and 0.5-1.9); a_ref, b_ref -1 (Hoffmann 2022: -1.04, -0.62).
#: Scales: a factor 2 (0.7 in log) for the means, 0.5 in log (a factor 1.65) for the
#: between-family SD of exponents and floor, 1.0 for the log-terms.
HYPER = {
    "mu_centre": (math.log(0.3), math.log(0.3), math.log(2.0), -1.0, -1.0),
    "mu_scale": (0.7, 0.7, 0.7, 2.0, 2.0),
    "tau_scale": (0.5, 0.5, 0.5, 1.0, 1.0),
    "omega_scale": (0.2, 0.2, 0.2, 0.5, 0.5, 0.1),
}


def build_population_model(
    family: np.ndarray,
    kind: np.ndarray,
    value: np.ndarray,
    se: np.ndarray,
    n_families: int,
) -> pm.Model:
    r"""Build the two-level model of family parameters (see the module docstring).

    Parameters
    ----------
    family : array of int
        Family index of each observation, in ``0 .. n_families - 1``.
    kind : array of int
        Index into :data:`KINDS` of each observation (5 = allocation exponent).
    value : array of float
        Observed value, on the scale of its kind (logs of exponents and floor, nats/token).
    se : array of float
        Own standard error of each observation (> 0), same scale.
    n_families : int
        Number of families.

    Returns
    -------
    pymc.Model
        Free variables ``mu`` (5), ``tau`` (5), ``z`` (families x 5), ``omega`` (6).

    Raises
    ------
    ConfigError
        On arrays of unequal length, an index out of range, or a non-positive SE.
    """
    family, kind = np.asarray(family, int), np.asarray(kind, int)
    value, se = np.asarray(value, float), np.asarray(se, float)
    if not (family.shape == kind.shape == value.shape == se.shape) or family.ndim != 1:
        raise ConfigError("family, kind, value and se must be 1-d arrays of equal length")
    if family.size == 0:
        raise ConfigError("the population model needs at least one observation")
    if family.min() < 0 or family.max() >= n_families:
        raise ConfigError(f"family indices must lie in 0..{n_families - 1}")
    if kind.min() < 0 or kind.max() >= len(KINDS):
        raise ConfigError(f"kind indices must lie in 0..{len(KINDS) - 1}")
    if not (np.all(np.isfinite(value)) and np.all(se > 0)):
        raise ConfigError("values must be finite and standard errors > 0")
    direct, alloc = kind < 5, kind == 5
    with pm.Model() as model:
        mu = pm.Normal("mu", np.array(HYPER["mu_centre"]), np.array(HYPER["mu_scale"]))
        tau = pm.HalfNormal("tau", np.array(HYPER["tau_scale"]))
        z = pm.Normal("z", 0.0, 1.0, shape=(n_families, 5))
        omega = pm.HalfNormal("omega", np.array(HYPER["omega_scale"]))
        theta = mu + tau * z
        if direct.any():
            k = kind[direct]
            pm.Normal(
                "obs",
                theta[family[direct], k],
                pt.sqrt(se[direct] ** 2 + omega[k] ** 2),
                observed=value[direct],
            )
        if alloc.any():
            f = family[alloc]
            a = pt.sigmoid(theta[f, 1] - theta[f, 0])  # beta / (alpha + beta)
            pm.Normal("alloc", a, pt.sqrt(se[alloc] ** 2 + omega[5] ** 2), observed=value[alloc])
    return model


def new_family_draws(mu: np.ndarray, tau: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    r"""Draw the parameters of a new family from posterior draws of the population.

    Parameters
    ----------
    mu, tau : array, shape (draws, 5)
        Posterior draws of the population means and SDs.
    seed : int
        Seed of the new family's standard-normal offsets.

    Returns
    -------
    dict of str to array
        ``alpha``, ``beta`` (1), ``E`` (nats/token), ``log_A``, ``log_B`` (law parameters,
        :math:`\log A = a + \alpha\log N_\mathrm{ref}`), ``a_ref``, ``b_ref`` (the terms at
        the reference scale, :math:`a`, :math:`b`), ``a_alloc`` (1), one value per draw.
    """
    mu, tau = np.asarray(mu, float), np.asarray(tau, float)
    theta = mu + tau * np.random.default_rng(seed).standard_normal(mu.shape)
    alpha, beta, E = np.exp(theta[:, 0]), np.exp(theta[:, 1]), np.exp(theta[:, 2])
    return {
        "alpha": alpha,
        "beta": beta,
        "E": E,
        "log_A": theta[:, 3] + alpha * math.log(N_REF),
        "log_B": theta[:, 4] + beta * math.log(D_REF),
        "a_ref": theta[:, 3],
        "b_ref": theta[:, 4],
        "a_alloc": beta / (alpha + beta),
    }


def _r(x: float) -> float:
    return float(f"{x:.6g}")


def predictive_priors(draws: dict[str, np.ndarray], source: str) -> dict[str, PriorSpec]:
    r"""Independent prior marginals of the Chinchilla law from new-family draws.

    ``alpha``, ``beta`` and ``E`` get a LogNormal with the mean and SD of the log of the draws
    (they are Normal on the log scale in the meta-model); ``log_A`` and ``log_B`` a Normal
    on the term at the reference scale (``reference`` :data:`N_REF`, :data:`D_REF`) with the
    mean and SD of the draws of :math:`a` and :math:`b`. In the meta-model those are
    independent of the exponents, so independent marginals keep the predictive; marginals of
    :math:`\log A` itself would not: :math:`\log A = a + \alpha \log N_\mathrm{ref}` moves
    with :math:`\alpha` (its SD was 1.94 against 0.49 for :math:`a`, leave-one-family-out
    build without Chinchilla). Numbers are rounded to 6 significant digits so that the stored
    preset is stable text.

    Parameters
    ----------
    draws : dict of str to array
        Output of :func:`new_family_draws`.
    source : str
        Provenance appended to every spec's ``source``.

    Returns
    -------
    dict of str to PriorSpec
        Keys ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``.
    """
    out = {}
    # law parameter -> (its draws at the reference scale, the exponent scaling it, the scale)
    at_reference = {"log_A": ("a_ref", "alpha", N_REF), "log_B": ("b_ref", "beta", D_REF)}
    for key in ("E", "log_A", "alpha", "log_B", "beta"):
        reference = None
        if key in at_reference:
            draw_key, slope, reference = at_reference[key]
            x = np.asarray(draws[draw_key], float)
            dist, mu, sd = "Normal", x.mean(), x.std()
            what = f"{key} - {slope} log({reference:g}) ~ {dist}"
        else:
            x = np.asarray(draws[key], float)
            dist, mu, sd = "LogNormal", np.log(x).mean(), np.log(x).std()
            what = f"{key} ~ {dist}"
        out[key] = PriorSpec(
            dist,
            {"mu": _r(mu), "sigma": _r(sd)},
            f"Population predictive for a new family: {what}(mu={_r(mu)}, sigma={_r(sd)}). "
            f"{source}",
            reference,
        )
    return out
