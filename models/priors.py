r"""Prior specifications and the named presets built from published fits.

A prior is plain data, :class:`PriorSpec` (a PyMC distribution name, its parameters and a
citation), so configs serialise to JSON and hash stably. :data:`PRESETS` maps a preset name
to the priors of every key it covers; the preset data and their sources live in
:mod:`models.presets` and are re-exported here. :func:`resolve_priors` turns a preset name or
a user mapping into the priors one law needs, and fails loudly on anything it cannot use.

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

import inspect
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pymc as pm

from models.errors import ConfigError
from models.laws import LawSpec, get_law

if TYPE_CHECKING:  # re-exported lazily by __getattr__ below (models.presets imports PriorSpec)
    from models.presets import PRESET_LAWS, PRESETS

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

# Distributions whose support lies in (0, inf) whatever their parameters.
_POSITIVE_SUPPORT = frozenset(
    {
        "Beta",
        "ChiSquared",
        "Exponential",
        "Gamma",
        "HalfCauchy",
        "HalfNormal",
        "HalfStudentT",
        "InverseGamma",
        "Kumaraswamy",
        "LogitNormal",
        "LogNormal",
        "Pareto",
        "Wald",
        "Weibull",
    }
)
# Distributions whose lower bound is a parameter, with PyMC's default for it.
_LOWER_BOUND_DEFAULT = {"Uniform": 0.0, "TruncatedNormal": -math.inf}
# Distribution parameters that must be > 0 in every PyMC distribution that has them.
_SCALE_PARAMS = frozenset({"sigma", "tau", "lam", "b", "nu", "scale"})
# Shape parameters named alpha/beta that must be > 0 in these distributions.
_POSITIVE_SHAPES = {d: ("alpha", "beta") for d in ("Gamma", "InverseGamma", "Beta", "Weibull")}


def _distribution(dist: str) -> type:
    obj = getattr(pm, dist, None) if isinstance(dist, str) else None
    if not (isinstance(obj, type) and issubclass(obj, pm.Distribution)):
        raise ConfigError(
            f"unknown distribution {dist!r}: not a PyMC distribution class; use a name such as "
            f"'Normal', 'TruncatedNormal', 'HalfNormal', 'LogNormal', 'Gamma', 'Uniform', "
            f"'StudentT' (pymc.{dist} must exist)"
        )
    return obj


@dataclass(frozen=True)
class PriorSpec:
    """A prior as plain data: a PyMC distribution name, its parameters and a citation.

    Parameters
    ----------
    dist : str
        Name of a PyMC distribution class, e.g. ``"TruncatedNormal"``.
    params : mapping of str to float
        Keyword arguments of the distribution, in the units of the parameter it describes,
        e.g. ``{"mu": 0.35, "sigma": 0.1, "lower": 0.0}``. Stored read-only, values as float.
    source : str, default ""
        Where the numbers come from (paper and table) and why this width.

    Raises
    ------
    ConfigError
        If ``dist`` is not a PyMC distribution, a parameter name is not accepted by it, a
        required parameter is missing, a value is not a finite number, a scale is not > 0
        or ``lower >= upper``.

    Examples
    --------
    >>> p = PriorSpec("TruncatedNormal", {"mu": 0.34, "sigma": 0.03, "lower": 0.0})
    >>> PriorSpec.from_dict(p.to_dict()) == p
    True
    """

    dist: str
    params: Mapping[str, float]
    source: str = ""

    def __post_init__(self) -> None:
        cls = _distribution(self.dist)
        if not isinstance(self.params, Mapping):
            raise ConfigError(
                f"prior params must be a mapping of name to number, got {type(self.params)}"
            )
        if not isinstance(self.source, str):
            raise ConfigError(f"prior source must be a string, got {type(self.source)}")
        values: dict[str, float] = {}
        for key, value in self.params.items():
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not number or not math.isfinite(value):
                raise ConfigError(
                    f"{self.dist} parameter {key!r} must be a finite number, "
                    f"got {self.params[key]!r}"
                )
            values[str(key)] = float(value)
        signature = inspect.signature(cls.dist).parameters
        accepted = {
            n for n, p in signature.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
        unknown = sorted(set(values) - accepted)
        if unknown:
            raise ConfigError(
                f"{self.dist} does not take parameters {unknown}; it takes {sorted(accepted)}"
            )
        needed = sorted(
            n
            for n, p in signature.items()
            if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        missing = [n for n in needed if n not in values]
        if missing:
            raise ConfigError(f"{self.dist} needs parameters {missing}; got {sorted(values)}")
        positive = set(_SCALE_PARAMS) | set(_POSITIVE_SHAPES.get(self.dist, ()))
        bad = sorted(k for k, v in values.items() if k in positive and v <= 0)
        if bad:
            raise ConfigError(f"{self.dist} parameters {bad} must be > 0; got {values}")
        if "lower" in values and "upper" in values and values["lower"] >= values["upper"]:
            raise ConfigError(f"{self.dist} needs lower < upper; got {values}")
        object.__setattr__(self, "params", MappingProxyType(values))

    def __hash__(self) -> int:
        return hash((self.dist, tuple(sorted(self.params.items())), self.source))

    def __reduce__(self):
        return (type(self), (self.dist, dict(self.params), self.source))

    def to_dict(self) -> dict[str, Any]:
        """Return the prior as JSON-ready plain data.

        Returns
        -------
        dict
            ``{"dist": str, "params": {name: float}, "source": str}``.

        Examples
        --------
        >>> PriorSpec("HalfNormal", {"sigma": 0.05}).to_dict()
        {'dist': 'HalfNormal', 'params': {'sigma': 0.05}, 'source': ''}
        """
        return {"dist": self.dist, "params": dict(self.params), "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PriorSpec:
        """Rebuild a prior from :meth:`to_dict` output.

        Parameters
        ----------
        d : mapping
            With key ``dist`` and optionally ``params`` and ``source``.

        Returns
        -------
        PriorSpec
            The prior, validated.

        Raises
        ------
        ConfigError
            If ``d`` is not a mapping, lacks ``dist``, has other keys, or fails validation.

        Examples
        --------
        >>> PriorSpec.from_dict({"dist": "HalfNormal", "params": {"sigma": 1}}).params["sigma"]
        1.0
        """
        if isinstance(d, PriorSpec):
            return d
        if not isinstance(d, Mapping):
            raise ConfigError(f"a prior must be a PriorSpec or a mapping, got {type(d)}")
        unknown = sorted(set(d) - {"dist", "params", "source"})
        if unknown or "dist" not in d:
            raise ConfigError(
                f"a prior mapping needs key 'dist' and may have 'params', 'source'; "
                f"got keys {sorted(d)}"
            )
        return cls(d["dist"], d.get("params", {}), d.get("source", ""))

    def to_pymc(self, name: str, **extra: Any) -> Any:
        """Create the random variable inside the current ``pm.Model`` context.

        Parameters
        ----------
        name : str
            Name of the variable in the model.
        **extra
            Further keyword arguments of the distribution, e.g. ``dims="group"``.

        Returns
        -------
        TensorVariable
            The new random variable.

        Examples
        --------
        >>> with pm.Model():
        ...     x = PriorSpec("HalfNormal", {"sigma": 0.05}).to_pymc("sigma")
        >>> x.name
        'sigma'
        """
        return getattr(pm, self.dist)(name, **self.params, **extra)


def __getattr__(name: str) -> Any:
    """Re-export the preset data of :mod:`models.presets` (``PRESETS``, ``PRESET_LAWS``).

    The presets are built from :class:`PriorSpec`, so :mod:`models.presets` imports this
    module; importing it back lazily keeps ``from models.priors import PRESETS`` working
    whichever of the two modules is imported first.
    """
    if name in ("PRESETS", "PRESET_LAWS"):
        from models import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from models.presets import PRESETS

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
