r"""A prior as plain data: :class:`PriorSpec`, a PyMC distribution, its parameters, a citation.

Shared by :mod:`models.presets` (the named presets are built from it) and :mod:`models.priors`
(which resolves a preset or a user mapping into the priors one law needs), so that neither
of the two imports the other's module to get it. The rules the specs follow are in the
docstring of :mod:`models.priors`.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pymc as pm

from models.errors import ConfigError

__all__ = ["PriorSpec"]


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


def _finite_number(value: object) -> bool:
    """Whether ``value`` is a finite real number (``bool`` is not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class PriorSpec:
    r"""A prior as plain data: a PyMC distribution name, its parameters and a citation.

    Parameters
    ----------
    dist : str
        Name of a PyMC distribution class, e.g. ``"TruncatedNormal"``.
    params : mapping of str to float
        Keyword arguments of the distribution, in the units of the parameter it describes,
        e.g. ``{"mu": 0.35, "sigma": 0.1, "lower": 0.0}``. Stored read-only, values as float.
    source : str, default ""
        Where the numbers come from (paper and table) and why this width.
    reference : float, optional
        For a log coefficient that the law scales by a covariate (``log_A`` by
        :math:`N^{-\alpha}`, ``log_B`` by :math:`D^{-\beta}`): the prior is on the log of the
        term at this reference value, :math:`\log A - \alpha \log N_\mathrm{ref}`, not on
        :math:`\log A` itself (``None``, the default). Priors learned from fits say far more
        about the term at a scale inside the fitted runs than about its value at N = 1, whose
        error is tied to the exponent's; with a reference the two priors stay independent
        where that is true. Only a location family (``Normal``, ``StudentT``) on such a
        coefficient takes one (checked when the model is built).

    Raises
    ------
    ConfigError
        If ``dist`` is not a PyMC distribution, a parameter name is not accepted by it, a
        required parameter is missing, a value is not a finite number, a scale is not > 0
        or ``lower >= upper``, or ``reference`` is not a finite number > 0.

    Examples
    --------
    >>> p = PriorSpec("TruncatedNormal", {"mu": 0.34, "sigma": 0.03, "lower": 0.0})
    >>> PriorSpec.from_dict(p.to_dict()) == p
    True
    """

    dist: str
    params: Mapping[str, float]
    source: str = ""
    reference: float | None = None

    def __post_init__(self) -> None:
        cls = _distribution(self.dist)
        if self.reference is not None:
            ref = self.reference
            if not (_finite_number(ref) and ref > 0):
                raise ConfigError(f"prior reference must be a finite number > 0, got {ref!r}")
            object.__setattr__(self, "reference", float(ref))
        if not isinstance(self.params, Mapping):
            raise ConfigError(
                f"prior params must be a mapping of name to number, got {type(self.params)}"
            )
        if not isinstance(self.source, str):
            raise ConfigError(f"prior source must be a string, got {type(self.source)}")
        values: dict[str, float] = {}
        for key, value in self.params.items():
            if not _finite_number(value):
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
        return hash((self.dist, tuple(sorted(self.params.items())), self.source, self.reference))

    def __reduce__(self):
        return (type(self), (self.dist, dict(self.params), self.source, self.reference))

    def to_dict(self) -> dict[str, Any]:
        """Return the prior as JSON-ready plain data.

        Returns
        -------
        dict
            ``{"dist": str, "params": {name: float}, "source": str}``, and ``"reference"``
            when there is one (so the hashes of configs without one are unchanged).

        Examples
        --------
        >>> PriorSpec("HalfNormal", {"sigma": 0.05}).to_dict()
        {'dist': 'HalfNormal', 'params': {'sigma': 0.05}, 'source': ''}
        """
        out = {"dist": self.dist, "params": dict(self.params), "source": self.source}
        if self.reference is not None:
            out["reference"] = self.reference
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PriorSpec:
        """Rebuild a prior from :meth:`to_dict` output.

        Parameters
        ----------
        d : mapping
            With key ``dist`` and optionally ``params``, ``source`` and ``reference``.

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
        unknown = sorted(set(d) - {"dist", "params", "source", "reference"})
        if unknown or "dist" not in d:
            raise ConfigError(
                f"a prior mapping needs key 'dist' and may have 'params', 'source', "
                f"'reference'; got keys {sorted(d)}"
            )
        return cls(d["dist"], d.get("params", {}), d.get("source", ""), d.get("reference"))

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
        if self.reference is not None:
            raise ConfigError(
                f"the prior of {name!r} is on its value at the reference {self.reference:g}; "
                "only the model builder, which shifts it to the data centre, can use it"
            )
        return getattr(pm, self.dist)(name, **self.params, **extra)
