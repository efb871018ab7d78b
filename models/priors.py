r"""Prior specifications and the named presets built from published fits.

A prior is plain data, :class:`PriorSpec` (a PyMC distribution name, its parameters and a
citation, defined in :mod:`models.prior_spec`), so configs serialise to JSON and hash stably.
:data:`PRESETS` maps a preset name to the priors of every key it covers; the preset data and
their sources live in :mod:`models.presets` and are re-exported here. :func:`resolve_priors`
turns a preset name or a user mapping into the priors one law needs, and fails loudly on
anything it cannot use.

Keys a law needs (:func:`required_prior_keys`):

* each parameter of the law (``E``, ``log_A``, ``alpha`` …);
* ``sigma_<param>``, the between-group scale of each parameter. For positive parameters it is
  a *relative* spread, the SD of :math:`\log(\theta_g/\theta)`; for log-scale parameters it is
  an SD in log units;
* ``sigma``, the observation noise SD of :math:`\log L`;
* ``nu``, the Student-t degrees of freedom, for ``likelihood="student_t"`` only.

Why these choices
-----------------
* Log-scale coefficients (``log_A``, ``log_B``, ``log_N_c``, ``log_D_c``) take a Normal or
  Student-t prior with an explicit ``mu``: the builder samples them at the centre of the data
  by shifting ``mu``, which is exact only for an unbounded location family.
* Positive parameters and all scales need a prior whose support is :math:`(0, \infty)` or a
  subset, because the builder pools them multiplicatively.
* Widths of the informative presets are never narrower than the bootstrap SEs of
  Besiroglu et al. (2024), the only published uncertainty for this law form: SD 0.0154
  (alpha), 0.0206 (beta), 0.0257 (E), 0.258 (log A), 0.620 (log B). Presets whose authors
  published no SEs use twice those, or the gap to an independent refit when larger.
* The published fits say nothing about variation between groups (corpora, architectures,
  eval sets), so every preset shares the same weakly-informative group scales and noise.

References
----------
Hoffmann et al. 2022, arXiv:2203.15556; Besiroglu et al. 2024, arXiv:2404.10102;
Muennighoff et al. 2023, arXiv:2305.16264; Kaplan et al. 2020, arXiv:2001.08361.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from models.errors import ConfigError
from models.laws import LawSpec, get_law
from models.presets import PRESET_LAWS, PRESETS
from models.prior_spec import _LOWER_BOUND_DEFAULT, _POSITIVE_SUPPORT, PriorSpec, _distribution

__all__ = [
    "LIKELIHOODS",
    "LOCATION_FAMILIES",
    "PRESETS",
    "PRESET_LAWS",
    "PriorSpec",
    "required_prior_keys",
    "resolve_priors",
]

#: Observation models the priors can serve; ``student_t`` adds the key ``nu``.
LIKELIHOODS = ("normal", "student_t")
#: Distributions allowed for log-scale coefficients: unbounded, with location ``mu``.
LOCATION_FAMILIES = ("Normal", "StudentT")


def required_prior_keys(law: str, likelihood: str = "normal") -> tuple[str, ...]:
    """List the prior keys a law needs.

    Parameters
    ----------
    law : str
        A key of :data:`models.laws.LAWS`.
    likelihood : {"normal", "student_t"}, default "normal"
        Observation model; ``"student_t"`` adds ``nu``.

    Returns
    -------
    tuple of str
        The law's parameters, then ``sigma_<param>`` for each, then ``sigma`` (and ``nu``).

    Raises
    ------
    ConfigError
        On an unknown law or likelihood.

    Examples
    --------
    >>> required_prior_keys("kaplan", "student_t")
    ('log_N_c', 'alpha_N', 'log_D_c', 'alpha_D', 'sigma_log_N_c', 'sigma_alpha_N', \
'sigma_log_D_c', 'sigma_alpha_D', 'sigma', 'nu')
    """
    spec = get_law(law)
    if likelihood not in LIKELIHOODS:
        raise ConfigError(f"unknown likelihood {likelihood!r}; choose one of {list(LIKELIHOODS)}")
    keys = (*spec.params, *(f"sigma_{p}" for p in spec.params), "sigma")
    return (*keys, "nu") if likelihood == "student_t" else keys


def _as_prior(key: str, value: Any, what: str) -> PriorSpec:
    if isinstance(value, PriorSpec):
        return value
    if isinstance(value, Mapping):
        try:
            return PriorSpec.from_dict(value)
        except ConfigError as err:
            raise ConfigError(f"{what} {key!r}: {err}") from None
    raise ConfigError(f"{what} {key!r} must be a PriorSpec or a dict, got {type(value)}")


def _check_role(key: str, prior: PriorSpec, law: LawSpec) -> None:
    """Check that a prior fits the role its key plays in the law."""
    if key in law.centring:
        if prior.dist not in LOCATION_FAMILIES or "mu" not in prior.params:
            raise ConfigError(
                f"prior of log-scale coefficient {key!r} must be one of {list(LOCATION_FAMILIES)}"
                f" with an explicit 'mu' (the model shifts mu to centre the data); "
                f"got {prior.dist} with {sorted(prior.params)}"
            )
        return
    if key in law.positive or key.startswith("sigma") or key == "nu":
        if prior.dist in _POSITIVE_SUPPORT:
            lower = 0.0
        elif prior.dist in _LOWER_BOUND_DEFAULT:
            lower = prior.params.get("lower", _LOWER_BOUND_DEFAULT[prior.dist])
        else:
            lower = -math.inf
        if lower < 0:
            raise ConfigError(
                f"prior of {key!r} must have support in (0, inf), got {prior.dist} with "
                f"{dict(prior.params)}; use e.g. HalfNormal, LogNormal, Gamma, or "
                f"TruncatedNormal/Uniform with lower >= 0"
            )
    try:
        _distribution(prior.dist).dist(**prior.params)
    except Exception as err:  # PyMC raises several types for bad parametrisations
        raise ConfigError(f"prior of {key!r} ({prior.dist} {dict(prior.params)}): {err}") from None


def resolve_priors(
    priors: str | Mapping[str, PriorSpec | Mapping[str, Any]],
    law: str,
    overrides: Mapping[str, PriorSpec | Mapping[str, Any]] | None = None,
    likelihood: str = "normal",
) -> dict[str, PriorSpec]:
    """Turn a preset name or a user mapping into the priors one law needs.

    Parameters
    ----------
    priors : str or mapping
        A key of :data:`PRESETS`, or a mapping of prior key to :class:`PriorSpec` or to its
        ``to_dict()`` form. A preset is cut down to the keys the law uses; a mapping may only
        contain keys the law uses.
    law : str
        A key of :data:`models.laws.LAWS`.
    overrides : mapping, optional
        Prior keys replaced on top of ``priors`` (same value types).
    likelihood : {"normal", "student_t"}, default "normal"
        Observation model; ``"student_t"`` also needs ``nu``.

    Returns
    -------
    dict of str to PriorSpec
        Exactly the keys of :func:`required_prior_keys` ``(law, likelihood)``, in that order.

    Raises
    ------
    ConfigError
        On an unknown preset, law or likelihood; a key the law does not use; a missing key
        (e.g. a preset that does not serve this law); an unknown distribution; a log-scale
        coefficient without a location family; a positive parameter or scale whose prior
        allows values <= 0.

    Examples
    --------
    >>> p = resolve_priors("besiroglu2024", "chinchilla",
    ...                    {"E": {"dist": "HalfNormal", "params": {"sigma": 3.0}}})
    >>> p["E"].dist, round(p["alpha"].params["mu"], 4)
    ('HalfNormal', 0.3478)
    """
    spec = get_law(law)
    required = required_prior_keys(law, likelihood)
    allowed = required_prior_keys(law, "student_t")
    if isinstance(priors, str):
        if priors not in PRESETS:
            raise ConfigError(f"unknown prior preset {priors!r}; choose one of {sorted(PRESETS)}")
        chosen = {k: v for k, v in PRESETS[priors].items() if k in allowed}
        origin = f"preset {priors!r}"
    elif isinstance(priors, Mapping):
        chosen = {k: _as_prior(k, v, "prior") for k, v in priors.items()}
        origin = "the priors given"
    else:
        raise ConfigError(
            f"priors must be a preset name or a mapping, got {type(priors)}; "
            f"presets are {sorted(PRESETS)}"
        )
    replaced = {k: _as_prior(k, v, "prior override") for k, v in (overrides or {}).items()}
    given = {} if isinstance(priors, str) else chosen
    for what, keys in (("priors", given), ("overrides", replaced)):
        unknown = sorted(set(keys) - set(allowed))
        if unknown:
            raise ConfigError(
                f"{what} have keys {unknown} that law {law!r} does not use; "
                f"its keys are {list(allowed)}"
            )
    chosen.update(replaced)
    missing = [k for k in required if k not in chosen]
    if missing:
        serving = [n for n, p in PRESETS.items() if set(required) <= set(p)]
        raise ConfigError(
            f"{origin} lacks priors for {missing}, needed by law {law!r} "
            f"(likelihood {likelihood!r}); add them via overrides, or use a preset that "
            f"serves this law: {serving}"
        )
    for key in required:
        _check_role(key, chosen[key], spec)
    return {k: chosen[k] for k in required}
