r"""Hierarchical PyMC model of log loss under a scaling law.

Why this parametrisation
------------------------
* **Log space, centred covariates.** The likelihood is on :math:`\log L`, and every
  log-scale coefficient is sampled at the centre of the data: for Chinchilla,
  :math:`a_c = \log A - \alpha \bar{\ell}_N` with :math:`\bar{\ell}_N` the mean of
  :math:`\log N`, so that :math:`A N^{-\alpha} = \exp(a_c - \alpha(\log N - \bar{\ell}_N))`.
  The data pin :math:`a_c` almost independently of :math:`\alpha`; sampling
  :math:`\log A` directly gives a ridge of slope :math:`\bar{\ell}_N \approx 20` that
  made NUTS 5–40× slower on the Chinchilla points. The prior stays the prior the user
  wrote on :math:`\log A`: :math:`a_c \mid \alpha \sim p_{\log A}(a_c + \alpha\bar{\ell}_N)`,
  a shift of the location with unit Jacobian, so :math:`(\alpha, \log A)` keep the independent
  priors of the preset exactly.
* **The loss at the data centre, not the floor, is sampled** (``parametrisation="centre"``,
  for every law with the Chinchilla terms ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``).
  Small runs pin the loss at the centre of the data, :math:`L_c = E + e^{a_c} + e^{b_c}`,
  but barely its split into floor and reducible loss: in :math:`(E, a_c, b_c)` the
  posterior lies along :math:`E + e^{a_c} + e^{b_c} \approx L_c`, a ridge NUTS walked at
  100 leapfrog steps per draw (Chinchilla runs, ``target_accept=0.99``). The sampler
  therefore moves in :math:`(\log L_c,\ q,\ u)` with :math:`q = \operatorname{logit}(E/L_c)`
  the irreducible fraction and :math:`u` the parameter term's share of the reducible loss
  (:func:`centre_to_law`): the pinned quantity is a coordinate. The Chinchilla law's
  exponents keep their own priors (sampling the slopes :math:`\alpha e^{a_c}/L_c` put a
  wall at the prior's upper bound: every weak-prior SBC replicate diverged). The map is a
  bijection onto :math:`E > 0` with :math:`\log|\det J| = \log E`; the density is the
  user's prior at the mapped point plus that term, so the prior is exactly the preset's
  (tested against the plain parametrisation). Where a law's terms are more than power laws
  (the broken law's break factors, ``LawSpec.centre_log_factors``), the coordinates give the
  terms at the centre and the centred coefficient is a term's log minus its factor's: a
  shift by parameters sampled first, unit Jacobian; its exponents are sampled through the
  logs of their local slopes at the centre (``LawSpec.centre_slope_factors``; Jacobian
  :math:`\alpha\beta`; the wall at the prior's upper bound is far from any posterior
  here). ``parametrisation="plain"`` samples the
  law's parameters directly; prior-predictive draws use it (``forecast.compiled`` chooses).
* **Data as shared variables.** Covariates, group index, observed log losses and the centres
  are ``pm.Data``; one compiled model serves every data set of the same structure (see
  :func:`structure_key` and :mod:`forecast.fit`).
* **Non-centred partial pooling.** Each pooled parameter :math:`\theta` has a population
  value, a between-group scale :math:`\sigma_\theta` and standardised group offsets
  :math:`z_{\theta,g}` with a zero-sum constraint. Positive parameters (floors, exponents)
  vary multiplicatively, :math:`\theta_g = \theta\, e^{\sigma_\theta z_{\theta,g}}`, which keeps
  them positive and makes :math:`\sigma_\theta` a relative spread; log-scale coefficients
  vary additively at the centre (centred pooling gave hundreds of divergences).
* **But the floors' offsets are centred in the centre parametrisation**
  (:data:`CENTRED_OFFSETS`): :math:`\log E_g = \log E + \delta_g`, with
  :math:`\delta \sim \mathrm{ZeroSumNormal}(\sigma_E)` sampled (``offset_E``): the runs
  pin the floors' differences, so standardised offsets lie on a curved ridge (README
  design: 103-105 leapfrog steps per draw at 0.99 against 30-31 centred at 0.9, 0
  divergences either way). The coefficients' offsets are half-centred,
  :math:`\eta_g \sim \mathrm{ZeroSumNormal}(\sigma^{1/2})` sampled and the offset
  :math:`\sigma^{1/2}\eta_g` (``eta_log_A``, ``eta_log_B``; :data:`OFFSET_CENTRING`):
  their scales' posteriors span 0.01-1, a funnel at the small end when centred and an
  inverted one at the large end when standardised. Which models use this
  parametrisation is chosen in ``forecast.compiled`` by measurement.
* **One group is the flat model.** A zero-sum offset of one group is zero, so the same
  code gives the flat model; it pools nothing (scales sampled from their priors alone cost
  3-5 s of nutpie compilation: Chinchilla fit 7.5-7.8 s against 10.7-11.9 s).
* **Likelihood.** Normal or Student-t on :math:`\log L`, a noise scale per group; a known
  measurement SD (``loss_sd``) adds in quadrature as :math:`\mathrm{sd}/L`.
* **Discrepancy that grows with extrapolation distance** (``discrepancy="compute"``). A
  law form's error has no reason to stay small far from the runs (fitted below
  :math:`10^{20}` FLOP, the plain model covered 76% of the Chinchilla runs half a decade
  beyond, 25% 1.5 decades beyond; U-shaped PIT): each run gets an independent discrepancy,
  :math:`\mathrm{sd}_i = \sqrt{\sigma_g^2 + \tau^2 d_i^2}`,
  :math:`d_i = |\log_{10} C_i - \overline{\log_{10} C}|` (:func:`discrepancy_sd`), and
  prediction uses the same formula, so bands widen with distance.

This module is math only: it receives arrays and returns an unsampled ``pm.Model``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Required, TypedDict, Unpack

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from models.errors import ConfigError
from models.laws import LawSpec, get_law
from models.laws.chinchilla import softplus
from models.noise import (  # discrepancy_sd, log_density: moved there, re-exported here
    discrepancy_sd,
    log_density,
    student_t_draws,
    student_t_kernel,
    student_t_log_normaliser,
)
from models.prior_spec import PriorSpec

OBSERVED = "log_loss"
#: Name of the shared variable holding the observed log losses.
OBSERVED_DATA = f"{OBSERVED}_data"
#: The Student-t likelihood's normaliser, n c(nu): a potential (:func:`student_t_kernel`).
STUDENT_T_NORMALISER = "student_t_normaliser"
#: PyMC's warning that prior-predictive draws ignore potentials (the normaliser needs none).
POTENTIALS_IGNORED = "The effect of Potentials on other parameters is ignored"
#: Values of ``build_model(discrepancy=...)``: ``"compute"`` = SD growing with |log10 C - centre|.
DISCREPANCIES = ("compute",)
#: Prior of ``tau``, the discrepancy SD of log loss per decade of compute from the data centre.
DISCREPANCY_PRIOR = PriorSpec(
    "HalfNormal",
    {"sigma": 0.02},
    "Relative loss error added per decade of compute away from the data centre. Published "
    "Chinchilla fits (Hoffmann 2022 vs Besiroglu 2024, the same runs) disagree by ~1-2% at "
    "1-2 decades beyond the runs; HalfNormal(0.02) has median 0.013/decade and 95% below "
    "0.04/decade (a 10% error three decades out stays possible). Set without held-out runs.",
)


@dataclass(frozen=True)
class ModelData:
    """Arrays the model is built from (one entry per run).

    Parameters
    ----------
    log_N, log_D : numpy.ndarray
        Natural logs of total parameters and training tokens.
    log_loss : numpy.ndarray
        Natural log of the loss in nats/token.
    group_idx : numpy.ndarray of int
        Index of each run's group in ``groups``.
    groups : sequence of str
        Group labels.
    log_U : numpy.ndarray, optional
        Natural log of unique tokens (data-constrained law).
    rel_sd : numpy.ndarray, optional
        Known measurement SD of the loss divided by the loss (SD of log loss).
    """

    log_N: np.ndarray
    log_D: np.ndarray
    log_loss: np.ndarray
    group_idx: np.ndarray
    groups: Sequence[str]
    log_U: np.ndarray | None = None
    rel_sd: np.ndarray | None = None

    @property
    def centres(self) -> dict[str, float]:
        """Means of the log covariates, the points the coefficients are sampled at."""
        return {"log_N": float(np.mean(self.log_N)), "log_D": float(np.mean(self.log_D))}

    def shared_values(self) -> dict[str, np.ndarray]:
        """Values of the model's shared variables (``pm.Data``) for these runs.

        A model built on other runs of the same structure (:func:`structure_key`) becomes
        the model of these runs when its shared variables take these values, e.g. through
        nutpie's ``CompiledModel.with_data(**data.shared_values())``.
        """
        centres = self.centres
        out = {
            "log_N_data": np.asarray(self.log_N, dtype=float),
            "log_D_data": np.asarray(self.log_D, dtype=float),
            "group_idx_data": np.asarray(self.group_idx, dtype=np.int64),
            OBSERVED_DATA: np.asarray(self.log_loss, dtype=float),
            "centre_log_N": np.asarray(centres["log_N"]),
            "centre_log_D": np.asarray(centres["log_D"]),
        }
        if self.log_U is not None:
            out["log_U_data"] = np.asarray(self.log_U, dtype=float)
        if self.rel_sd is not None:
            out["rel_sd_data"] = np.asarray(self.rel_sd, dtype=float)
        return out


LOCATION_FAMILIES = ("Normal", "StudentT")


def _check_location_family(name: str, spec: PriorSpec) -> None:
    """Centred sampling shifts the prior's location, so it must be an unbounded location family."""
    if spec.dist not in LOCATION_FAMILIES or "mu" not in spec.params:
        raise ConfigError(
            f"prior of log-scale coefficient {name!r} must be one of {list(LOCATION_FAMILIES)} "
            f"with a location 'mu'; got {spec.dist} with {sorted(spec.params)}"
        )


#: Ways to sample a law's parameters: see the module notes.
PARAMETRISATIONS = ("centre", "plain")
#: Law parameters that the centre parametrisation replaces (the Chinchilla terms).
CENTRE_PARAMS = ("E", "log_A", "alpha", "log_B", "beta")
#: Coordinates the centre parametrisation samples, with the start of every chain before
#: jitter (chains start within U(-1, 1) of it): a centre loss of e nats/token, half of it
#: irreducible, equal terms. Constants, not data, so one compiled model starts the same way
#: for every data set. Passed to the sampler (:func:`initial_values`) rather than set as
#: ``initval``, which PyMC's model transformations (``compute_log_prior``) refuse.
CENTRE_COORDS = {"centre_log_loss": 1.0, "floor_logit": 0.0, "split_logit": 0.0}
#: Starts of every centre coordinate: also the logs of the broken law's local slopes (0.3).
CENTRE_STARTS = CENTRE_COORDS | {f"{e}_log_slope": float(np.log(0.3)) for e in ("alpha", "beta")}
#: Prefix of the deterministics holding the prior log density of each replaced parameter.
LOG_PRIOR_PREFIX = "log_prior__"
#: Bound on a group offset on the log scale (:math:`|\sigma_\theta z_g|`): e^30 is far outside
#: any posterior; it keeps an overflow from giving ``inf - inf = nan``.
OFFSET_BOUND = 30.0
#: Centring weight :math:`w` of pooled parameters' group offsets in the centre
#: parametrisation: :math:`\eta_g \sim \mathrm{ZeroSumNormal}(\sigma_\theta^{w})` is
#: sampled and the offset is :math:`\sigma_\theta^{1-w}\eta_g`, so the offsets'
#: prior is :math:`\mathrm{ZeroSumNormal}(\sigma_\theta)` whatever :math:`w`. 1 is
#: centred (``offset_<name>``), 0 standardised (``z_<name>``, every parameter not
#: listed), in between partially centred (``eta_<name>``): see the module notes.
OFFSET_CENTRING = {"E": 1.0, "log_A": 0.5, "log_B": 0.5}
#: Pooled parameters whose group offsets are sampled centred (:data:`OFFSET_CENTRING` 1).
CENTRED_OFFSETS = tuple(name for name, w in OFFSET_CENTRING.items() if w == 1.0)
#: Prefixes of the sampled group offsets, structure rather than parameters a user reads.
OFFSET_PREFIXES = ("z_", "offset_", "eta_")


def initial_values(model: pm.Model) -> dict[str, float]:
    """Start of the chains for the coordinates of ``model`` that have no prior to start from.

    Examples
    --------
    >>> with pm.Model() as m:
    ...     x = pm.Flat("floor_logit")
    >>> initial_values(m)
    {'floor_logit': 0.0}
    """
    names = {v.name for v in model.free_RVs}
    return {name: start for name, start in CENTRE_STARTS.items() if name in names}


def uses_centre_parametrisation(law: LawSpec) -> bool:
    """Whether ``law`` has the Chinchilla terms the centre parametrisation replaces."""
    return set(CENTRE_PARAMS) <= set(law.params) and (
        law.centring.get("log_A") == ("alpha", "log_N")
        and law.centring.get("log_B") == ("beta", "log_D")
    )


def centre_to_law(centre_log_loss, floor_logit, split_logit, *, xp=np) -> tuple[dict, object]:
    r"""Map the sampled data-centre coordinates to the floor and centred coefficients.

    .. math::

        \log E = \ell_c - \operatorname{softplus}(-q), \quad
        \log R = \ell_c - \operatorname{softplus}(q), \\
        a_c = \log R - \operatorname{softplus}(-u), \quad
        b_c = \log R - \operatorname{softplus}(u)

    so :math:`L_c = e^{\ell_c} = E + e^{a_c} + e^{b_c}` is the loss at the data centre,
    :math:`E/L_c = \sigma(q)` its irreducible fraction and :math:`\sigma(u)` the parameter
    term's share of the reducible loss :math:`R`. The Jacobian of :math:`(\log E, a_c, b_c)`
    in :math:`(\ell_c, q, u)` has determinant 1, so
    :math:`\log|\det \partial(E, a_c, b_c)/\partial(\ell_c, q, u)| = \log E`.

    Parameters
    ----------
    centre_log_loss, floor_logit, split_logit : array_like or TensorVariable
        :math:`\ell_c` (log of nats/token), :math:`q`, :math:`u` (dimensionless), broadcast
        against each other.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    params : dict
        ``E`` (nats/token), ``log_A_c``, ``log_B_c`` (logs of the terms at the centre).
    log_jacobian : array_like or TensorVariable
        :math:`\log E`.

    Examples
    --------
    >>> p, log_j = centre_to_law(np.log(3.0), 0.0, 0.0)
    >>> round(float(p["E"] + np.exp(p["log_A_c"]) + np.exp(p["log_B_c"])), 12)
    3.0
    >>> round(float(p["E"]), 12), round(float(np.exp(p["log_A_c"])), 12)
    (1.5, 0.75)
    """
    log_E = centre_log_loss - softplus(-floor_logit, xp=xp)
    log_R = centre_log_loss - softplus(floor_logit, xp=xp)
    params = {
        "E": xp.exp(log_E),
        "log_A_c": log_R - softplus(-split_logit, xp=xp),
        "log_B_c": log_R - softplus(split_logit, xp=xp),
    }
    return params, log_E


def _check_references(spec: LawSpec, priors: Mapping[str, PriorSpec]) -> None:
    """Refuse a prior ``reference`` on anything but a coefficient scaled by a covariate."""
    scaled = {name for name, (slope, _) in spec.centring.items() if slope}
    for name, prior in priors.items():
        if prior.reference is not None and name not in scaled:
            raise ConfigError(
                f"the prior of {name!r} has a reference ({prior.reference:g}), but {name!r} is "
                f"not a log coefficient the law scales by a covariate ({sorted(scaled)})"
            )


def _shifted(spec: PriorSpec, slope, centre):
    r"""Return the parameters of a log-coefficient prior moved to the data centre.

    The centred coefficient is :math:`a_c = \log A - \alpha\bar\ell_N`; a prior on
    :math:`\log A - \alpha \log N_\mathrm{ref}` (``spec.reference``; 1 without one) is the
    same density at :math:`a_c + \alpha(\bar\ell_N - \log N_\mathrm{ref})`: a shift of the
    location, unit Jacobian.
    """
    origin = 0.0 if spec.reference is None else np.log(spec.reference)
    params = dict(spec.params)
    params["mu"] = params["mu"] - slope * (centre - origin)
    return params


def _centre_population(law: LawSpec, priors, centres, values, centred) -> None:
    """Sample the floor and coefficients through :func:`centre_to_law`.

    The exponents are sampled as the preset says (with PyMC's transforms, so a bounded
    prior has no wall), or, for a law with ``centre_slope_factors`` (the broken law),
    through the log of their local slopes at the centre (Jacobian: the exponent). Fills
    ``values`` and ``centred``.
    """
    log_prior, slopes = {}, law.centre_slope_factors
    slopes = slopes and slopes(values, centres, xp=pt)
    for name in ("alpha", "beta"):
        if not slopes:
            values[name] = priors[name].to_pymc(name)
            continue
        slope = pt.exp(pm.Flat(f"{name}_log_slope"))
        values[name] = pm.Deterministic(name, slope / slopes[name])
        spec = priors[name]
        log_prior[name] = pm.logp(getattr(pm, spec.dist).dist(**spec.params), values[name])
    coords = {name: pm.Flat(name) for name in CENTRE_COORDS}
    mapped, log_jacobian = centre_to_law(**coords, xp=pt)
    if slopes:
        log_jacobian = log_jacobian + pt.log(values["alpha"]) + pt.log(values["beta"])
    spec = priors["E"]
    values["E"] = pm.Deterministic("E", mapped["E"])
    log_prior["E"] = pm.logp(getattr(pm, spec.dist).dist(**spec.params), values["E"])
    # A term at the centre is the coefficient's power law times the law's factor (if any).
    factors = law.centre_log_factors and law.centre_log_factors(values, centres, xp=pt)
    for name in ("log_A", "log_B"):
        spec = priors[name]
        _check_location_family(name, spec)
        slope_name, covariate = law.centring[name]
        slope, centre = values[slope_name], centres[covariate]
        term = mapped[f"{name}_c"]
        centred[name] = pm.Deterministic(f"{name}_c", term - factors[name] if factors else term)
        prior = getattr(pm, spec.dist).dist(**_shifted(spec, slope, centre))
        log_prior[f"{name}_c"] = pm.logp(prior, centred[name])
        values[name] = pm.Deterministic(name, centred[name] + slope * centre)
    for name, term in log_prior.items():
        pm.Deterministic(f"{LOG_PRIOR_PREFIX}{name}", term)
    pm.Potential("centre_prior", sum(log_prior.values()) + log_jacobian)


def _population(
    law: LawSpec,
    priors: Mapping[str, PriorSpec],
    centres: Mapping[str, float],
    centre: bool = False,
):
    """Population-level (values, centred intercepts); ``centre``: :func:`_centre_population`."""
    values: dict[str, pt.TensorVariable] = {}
    centred: dict[str, pt.TensorVariable] = {}
    replaced = CENTRE_PARAMS if centre else ()
    order = sorted(law.params, key=lambda p: p in law.centring)  # slopes before intercepts
    for name in order:  # the others first: the centre map may need them (a law's breaks)
        if name in replaced:
            continue
        spec = priors[name]
        if name in law.centring:
            slope_name, covariate = law.centring[name]
            slope = values[slope_name] if slope_name else 1.0
            shift = slope * centres[covariate]
            _check_location_family(name, spec)
            centred[name] = getattr(pm, spec.dist)(
                f"{name}_c", **_shifted(spec, slope, centres[covariate])
            )
            values[name] = pm.Deterministic(name, centred[name] + shift)
        else:
            values[name] = spec.to_pymc(name)
    if centre:
        _centre_population(law, priors, centres, values, centred)
    return values, centred


def _group_level(law, priors, pooled, values, centred, centres, centring=None):
    """Per-group parameters ``<name>_group`` (dims ``group``, static length).

    ``centring`` maps a parameter to its offsets' centring weight (see
    :data:`OFFSET_CENTRING`); offsets of the others are standardised (``z_<name>``).
    Static: among offsets of equal unknown length pytensor took one in a process-dependent
    order, and the compiled model's disk-cache key changed between processes.
    """
    centring = centring or {}
    group = {"dims": "group", "shape": len(pm.modelcontext(None).coords["group"])}
    group_values: dict[str, pt.TensorVariable] = {}
    order = sorted(law.params, key=lambda p: p in law.centring)
    for name in order:
        if name not in pooled:
            value = values[name] * pt.ones(group["shape"])
            group_values[name] = pm.Deterministic(f"{name}_group", value, dims="group")
            continue
        scale = priors[f"sigma_{name}"].to_pymc(f"sigma_{name}")
        weight = centring.get(name, 0.0)
        if weight == 1.0:
            offset = pm.ZeroSumNormal(f"offset_{name}", sigma=scale, **group)
        elif weight == 0.0:
            offset = scale * pm.ZeroSumNormal(f"z_{name}", sigma=1.0, **group)
        else:
            eta = pm.ZeroSumNormal(f"eta_{name}", sigma=scale**weight, **group)
            offset = scale ** (1.0 - weight) * eta
        if name in law.centring:
            slope_name, covariate = law.centring[name]
            slope = group_values[slope_name] if slope_name else 1.0
            value = centred[name] + offset + slope * centres[covariate]
        elif name in law.positive:
            value = values[name] * pt.exp(pt.clip(offset, -OFFSET_BOUND, OFFSET_BOUND))
        else:
            value = values[name] + offset
        group_values[name] = pm.Deterministic(f"{name}_group", value, dims="group")
    return group_values


def pointwise_log_likelihood(
    data: ModelData,
    draws: Mapping[str, np.ndarray],
    *,
    law: str,
    likelihood: str = "normal",
    discrepancy: str | None = None,
) -> np.ndarray:
    r"""Log likelihood of every run under every draw: the likelihood of :func:`build_model`.

    Evaluated with numpy on the sampled draws, :math:`\log p(\log L_i \mid \theta^{(s)})`
    is what LOO needs; it equals PyMC's ``compute_log_likelihood`` of the built model
    (tested) without compiling a second function.

    Parameters
    ----------
    data : ModelData
        The runs the model was built on.
    draws : mapping of str to numpy.ndarray
        ``<name>_group`` for every law parameter and ``sigma``, each shaped
        ``(..., n_groups)``; ``tau`` (``(...)``) with ``discrepancy="compute"``; ``nu``
        (``(...)``) with the Student-t likelihood.
    law, likelihood, discrepancy
        As given to :func:`build_model`.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n_runs)``: log density of each run's log loss under each draw.
    """
    spec = get_law(law)
    idx = np.asarray(data.group_idx, dtype=int)
    params = {name: np.asarray(draws[f"{name}_group"], float)[..., idx] for name in spec.params}
    mean = spec.log_loss(data.log_N, data.log_D, params, xp=np, log_U=data.log_U)
    sd = np.asarray(draws["sigma"], float)[..., idx]
    if discrepancy == "compute":
        tau = np.asarray(draws["tau"], float)[..., None]
        sd = discrepancy_sd(sd, tau, data.log_N, data.log_D, data.centres)
    if data.rel_sd is not None:
        sd = np.sqrt(sd**2 + np.asarray(data.rel_sd, dtype=float) ** 2)
    nu = np.asarray(draws["nu"], float)[..., None] if likelihood == "student_t" else None
    return log_density(data.log_loss, mean, sd, nu)


def build_model(
    data: ModelData,
    *,
    law: str,
    priors: Mapping[str, PriorSpec],
    likelihood: str = "normal",
    pooled: Sequence[str] | None = None,
    discrepancy: str | None = None,
    parametrisation: str = "centre",
) -> pm.Model:
    r"""Build the hierarchical scaling-law model (unsampled).

    .. math::

        \log L_i \sim \mathcal{N}\!\left(\log f(N_i, D_i; \theta_{g[i]}),\;
        \sqrt{\sigma_{g[i]}^2 + (s_i / L_i)^2}\right)

    with :math:`f` the law, :math:`\theta_g` the group's parameters (see the module notes on
    pooling), :math:`\sigma_g` the group's noise and :math:`s_i` a known measurement SD.
    The Student-t likelihood replaces the Normal with :math:`t_\nu` (its normaliser
    :math:`n\,c(\nu)` added once, the potential :data:`STUDENT_T_NORMALISER`).

    Parameters
    ----------
    data : ModelData
        Log covariates, log loss and group indices.
    law : str
        Key of :data:`models.laws.LAWS`.
    priors : mapping of str to PriorSpec
        Resolved priors covering every key the law and likelihood need.
    likelihood : {"normal", "student_t"}
        Observation distribution on the log scale.
    pooled : sequence of str, optional
        Parameters that vary by group; default all the law's parameters. Ignored with a
        single group, which has nothing to pool.
    discrepancy : {None, "compute"}
        ``"compute"`` adds a model discrepancy whose SD grows with the distance of a run's
        compute from the data centre (:func:`discrepancy_sd`, prior
        :data:`DISCREPANCY_PRIOR` on ``tau``); ``None`` (default) is the plain model.
    parametrisation : {"centre", "plain"}
        ``"centre"`` (default) samples the Chinchilla terms through the data centre's loss
        (:func:`centre_to_law`; other laws plainly); ``"plain"`` the law's parameters, as
        forward (prior-predictive) sampling needs. Same prior and posterior.

    Returns
    -------
    pymc.Model
        Model with coords ``group``; the observed variable is ``log_loss``, its data and
        the covariates are shared variables (:meth:`ModelData.shared_values`).
        Population parameters carry the papers' names (``E``, ``log_A``, ``alpha`` …),
        group values ``<name>_group``.

    Raises
    ------
    ConfigError
        On an unknown law or likelihood, a missing prior or a law that needs unique tokens
        when none were given.

    References
    ----------
    Hoffmann et al. 2022, arXiv:2203.15556; Besiroglu et al. 2024, arXiv:2404.10102.
    Betancourt & Girolami 2015, "Hamiltonian Monte Carlo for hierarchical models".

    Examples
    --------
    >>> import numpy as np
    >>> from models.priors import resolve_priors
    >>> d = ModelData(np.log([1e8, 1e9]), np.log([2e9, 2e10]), np.log([3.0, 2.6]),
    ...               np.array([0, 0]), ("all",))
    >>> m = build_model(d, law="chinchilla", priors=resolve_priors("weak", "chinchilla"))
    >>> sorted(m.coords)
    ['group']
    """
    spec = get_law(law)
    if likelihood not in ("normal", "student_t"):
        raise ConfigError(f"unknown likelihood {likelihood!r}; choose 'normal' or 'student_t'")
    missing = [k for k in _required(spec, likelihood, pooled) if k not in priors]
    if missing:
        raise ConfigError(f"priors are missing keys {missing} needed by law {law!r}")
    if discrepancy is not None and discrepancy not in DISCREPANCIES:
        raise ConfigError(
            f"unknown discrepancy {discrepancy!r}; choose None or one of {list(DISCREPANCIES)}"
        )
    _check_references(spec, priors)
    if spec.needs_unique_tokens and data.log_U is None:
        raise ConfigError(f"law {law!r} needs unique_tokens for every run")
    if parametrisation not in PARAMETRISATIONS:
        raise ConfigError(
            f"unknown parametrisation {parametrisation!r}; choose one of {list(PARAMETRISATIONS)}"
        )
    pooled = effective_pooled(spec, pooled, len(data.groups))
    with pm.Model(coords={"group": list(data.groups)}) as model:
        shared = {name: pm.Data(name, value) for name, value in data.shared_values().items()}
        centres = {"log_N": shared["centre_log_N"], "log_D": shared["centre_log_D"]}
        log_N, log_D = shared["log_N_data"], shared["log_D_data"]
        centre = parametrisation == "centre" and uses_centre_parametrisation(spec)
        values, centred = _population(spec, priors, centres, centre)
        group_values = _group_level(
            spec, priors, pooled, values, centred, centres, OFFSET_CENTRING if centre else None
        )
        idx = shared["group_idx_data"]
        n_groups = len(data.groups)
        params = {name: _per_run(value, idx, n_groups) for name, value in group_values.items()}
        mu = spec.log_loss(log_N, log_D, params, xp=pt, log_U=shared.get("log_U_data"))
        sigma = priors["sigma"].to_pymc("sigma", dims="group", shape=n_groups)  # static
        noise = _per_run(sigma, idx, n_groups)
        if discrepancy == "compute":
            tau = DISCREPANCY_PRIOR.to_pymc("tau")
            noise = discrepancy_sd(noise, tau, log_N, log_D, centres, xp=pt)
        if "rel_sd_data" in shared:
            noise = pt.sqrt(noise**2 + shared["rel_sd_data"] ** 2)
        observed = shared[OBSERVED_DATA]
        if likelihood == "normal":
            pm.Normal(OBSERVED, mu=mu, sigma=noise, observed=observed)
        else:
            nu = priors["nu"].to_pymc("nu")
            nu_run = _per_run(pt.alloc(nu, n_groups), idx, n_groups)  # per run, as sigma
            kernel = {"dist": student_t_draws, "logp": student_t_kernel}
            pm.CustomDist(OBSERVED, nu_run, mu, noise, **kernel, observed=observed)
            normaliser = student_t_log_normaliser(nu, xp=pt)  # once, not once per run
            pm.Potential(STUDENT_T_NORMALISER, idx.shape[0] * normaliser)
    return model


def _per_run(value, idx, n_groups: int):
    """``value[idx]``: a group-level vector per run; with one group ``value[0]`` repeated.

    Its gradient is then a sum, not a scatter (flat Chinchilla fit's log density and
    gradient: 59.6 -> 52.6 us per call from Python, with the normaliser once).
    """
    return pt.alloc(value[0], idx.shape[0]) if n_groups == 1 else value[idx]


def effective_pooled(spec: LawSpec, pooled: Sequence[str] | None, n_groups: int) -> tuple:
    """Parameters that vary by group: ``pooled`` (default all), none with a single group."""
    return tuple(spec.params if pooled is None else pooled) if n_groups > 1 else ()


class ModelOptions(TypedDict, total=False):
    """The keywords of :func:`build_model` besides the data (its defaults apply)."""

    law: Required[str]
    priors: Required[Mapping[str, PriorSpec]]
    likelihood: str
    pooled: Sequence[str] | None
    discrepancy: str | None
    parametrisation: str


def structure_key(data: ModelData, **options: Unpack[ModelOptions]) -> str:
    """Describe what fixes the graph of :func:`build_model`, apart from its data values.

    Two data sets with the same key give models that differ only in the values of their
    shared variables, so one compiled model serves both. ``options`` are the keywords of
    :func:`build_model`, with its defaults (an unknown keyword is a TypeError).

    Returns
    -------
    str
        Canonical JSON of the law, priors, likelihood, discrepancy, parametrisation, pooled
        names, number of groups and which optional data (unique tokens, known SDs) exist.
    """
    bound = inspect.signature(build_model).bind(data, **options)
    bound.apply_defaults()
    o = bound.arguments
    priors = o["priors"]
    return json.dumps(
        {
            "law": o["law"],
            "priors": {k: priors[k].to_dict() for k in sorted(priors)},
            "likelihood": o["likelihood"],
            "discrepancy": o["discrepancy"],
            "parametrisation": o["parametrisation"],
            "pooled": list(effective_pooled(get_law(o["law"]), o["pooled"], len(data.groups))),
            "n_groups": len(data.groups),
            "unique_tokens": data.log_U is not None,
            "known_sd": data.rel_sd is not None,
        },
        sort_keys=True,
    )


def _required(spec: LawSpec, likelihood: str, pooled: Sequence[str] | None) -> list[str]:
    pooled = spec.params if pooled is None else pooled
    keys = list(spec.params) + [f"sigma_{p}" for p in pooled] + ["sigma"]
    return keys + (["nu"] if likelihood == "student_t" else [])
