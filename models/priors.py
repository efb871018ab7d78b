r"""Prior specifications and the named presets built from published fits.

A prior is plain data, :class:`PriorSpec` (a PyMC distribution name, its parameters and a
citation), so configs serialise to JSON and hash stably. :data:`PRESETS` maps a preset name
to the priors of every key it covers; :func:`resolve_priors` turns a preset name or a user
mapping into the priors one law needs, and fails loudly on anything it cannot use.

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
from typing import Any

import pymc as pm

from models.errors import ConfigError
from models.laws import LAWS, LawSpec, get_law

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


# --------------------------------------------------------------------------------------------
# Presets: data built from published fits. Every number carries its source and the reason
# for its width. Centres are the papers' point estimates; log-scale coefficients are the
# natural logs of the published A, B, N_c, D_c.
# --------------------------------------------------------------------------------------------

_BESIROGLU_SE = (
    "Besiroglu et al. 2024 (arXiv:2404.10102) bootstrap SEs, from their repo's "
    "data_analysis.ipynb: E 0.0257, alpha 0.0154, beta 0.0206, A 124.5 (log A 0.258), "
    "B 1293 (log B 0.620)"
)


def _p(dist: str, source: str, **params: float) -> PriorSpec:
    return PriorSpec(dist, params, source)


# Group scales and noise: no published fit constrains them, so every preset shares these.
_GROUP_AND_NOISE = {
    "sigma_E": _p(
        "HalfNormal",
        "Relative between-group spread of E (SD of log E_g/E). Published floors range from 1.69 "
        "(MassiveText, Hoffmann 2022) to 1.87 (C4, Muennighoff 2023), 10% apart, and other eval "
        "sets differ more; HalfNormal(0.2) has median 0.13 and 95% below 0.39.",
        sigma=0.2,
    ),
    "sigma_alpha": _p(
        "HalfNormal",
        "Relative between-group spread of alpha. Published alpha 0.34-0.35 (Hoffmann, "
        "Besiroglu, Muennighoff) and beta 0.28-0.38 differ by up to ~30%; HalfNormal(0.2) "
        "has median 0.13, 95% below 0.39.",
        sigma=0.2,
    ),
    "sigma_beta": _p(
        "HalfNormal",
        "Relative between-group spread of beta; as sigma_alpha (published beta 0.28-0.38).",
        sigma=0.2,
    ),
    "sigma_log_A": _p(
        "HalfNormal",
        "Between-group SD of log A at the data centre (log units): HalfNormal(1.0) allows the "
        "parameter term to differ by a factor e between groups at 1 SD; weakly informative.",
        sigma=1.0,
    ),
    "sigma_log_B": _p(
        "HalfNormal",
        "Between-group SD of log B at the data centre (log units); as sigma_log_A.",
        sigma=1.0,
    ),
    "sigma_R_D_star": _p(
        "HalfNormal",
        "Relative between-group spread of R_D*; only one published estimate exists "
        "(Muennighoff 2023), so HalfNormal(0.5): a factor 1.4 at the median.",
        sigma=0.5,
    ),
    "sigma_R_N_star": _p(
        "HalfNormal",
        "Relative between-group spread of R_N*; as sigma_R_D_star.",
        sigma=0.5,
    ),
    "sigma_log_N_c": _p(
        "HalfNormal",
        "Between-group SD of log N_c (log units). log N_c = log N + log L / alpha_N moves by "
        "~3 per 0.02 in alpha_N (Kaplan 2020 scale), so HalfNormal(2.0).",
        sigma=2.0,
    ),
    "sigma_log_D_c": _p(
        "HalfNormal",
        "Between-group SD of log D_c (log units); as sigma_log_N_c.",
        sigma=2.0,
    ),
    "sigma_alpha_N": _p(
        "HalfNormal",
        "Relative between-group spread of alpha_N; Kaplan 2020's two estimates of alpha_D "
        "(0.095 from L(D), 0.103 from L(N, D)) differ by 8%, so HalfNormal(0.2).",
        sigma=0.2,
    ),
    "sigma_alpha_D": _p(
        "HalfNormal",
        "Relative between-group spread of alpha_D; as sigma_alpha_N.",
        sigma=0.2,
    ),
    "sigma": _p(
        "HalfNormal",
        "Observation noise SD of log loss (relative loss error). Seed-to-seed and digitisation "
        "error of published points is typically ~1% or less; HalfNormal(0.05) has median 0.034 "
        "and 95% below "
        "0.098, so a 10% misfit is still possible.",
        sigma=0.05,
    ),
    "nu": _p(
        "Gamma",
        "Student-t degrees of freedom: Gamma(2, 0.1) (mean 20, mode 10), the default of "
        "Juarez & Steel 2010, J. Bus. Econ. Stat. 28(1), recommended in the Stan prior-choice "
        "wiki; it keeps heavy tails possible without forcing them.",
        alpha=2.0,
        beta=0.1,
    ),
}

_WEAK_EXPONENT = (
    "Weak: exponents of LM scaling laws are in (0, 1.5) (published 0.076-0.38: Kaplan 2020, "
    "Hoffmann 2022, Besiroglu 2024, Muennighoff 2023). TruncatedNormal(0.3, 0.5) on (0, 1.5) "
    "is within a factor 2.7 of its peak on (0, 1) and rules out exponents >= 1.5."
)
_WEAK_LOG_COEF = (
    "Weak: published log A and log B lie in 6.0-7.6 (Hoffmann 2022 6.01/6.02, Besiroglu 2024 "
    "6.18/7.64, Muennighoff 2023 6.26/7.30); Normal(6, 5) keeps them within 0.4 SD and allows "
    "up to log A = 16 (A = 9e6) at 2 SD, which large exponents need."
)
_WEAK_LOG_CRIT = (
    "Weak: Kaplan 2020 log N_c = 31.8, log D_c = 30.5; log N_c = log N + log L / alpha_N runs "
    "from ~18 (with a floor, alpha ~ 0.3) to ~43 (no floor, alpha ~ 0.05) for billion-"
    "parameter models, so Normal(30, 10)."
)

_WEAK = {
    "E": _p(
        "HalfNormal",
        "Weak: E > 0. Published floors are 1.69-1.87 nats/token (Hoffmann 2022, Besiroglu "
        "2024, Muennighoff 2023); HalfNormal(2.5) has median 1.7 and 95% below 4.9, above any "
        "LM loss of interest.",
        sigma=2.5,
    ),
    "log_A": _p("Normal", _WEAK_LOG_COEF, mu=6.0, sigma=5.0),
    "alpha": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "log_B": _p("Normal", _WEAK_LOG_COEF, mu=6.0, sigma=5.0),
    "beta": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "R_D_star": _p(
        "LogNormal",
        "Weak: centred on the only published value, R_D* = 15.39 (Muennighoff 2023, C4); "
        "sigma 1.5 puts a factor 4.5 at 1 SD and 1-200 epochs within 2 SD.",
        mu=math.log(15.387756),
        sigma=1.5,
    ),
    "R_N_star": _p(
        "LogNormal",
        "Weak: centred on R_N* = 5.31 (Muennighoff 2023, C4); sigma 1.5 as R_D_star.",
        mu=math.log(5.309743),
        sigma=1.5,
    ),
    "log_N_c": _p("Normal", _WEAK_LOG_CRIT, mu=30.0, sigma=10.0),
    "alpha_N": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "log_D_c": _p("Normal", _WEAK_LOG_CRIT, mu=30.0, sigma=10.0),
    "alpha_D": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
}

_HOFFMANN_WIDTH = (
    "Hoffmann published no SEs for Approach 3, and Besiroglu 2024 could not reproduce the fit "
    "from the same data; SD = max(2 x Besiroglu bootstrap SE, |Hoffmann - Besiroglu|), so "
    "the refit lies within 1 SD. " + _BESIROGLU_SE
)
_HOFFMANN = {
    "E": _p(
        "TruncatedNormal",
        "Hoffmann et al. 2022 (arXiv:2203.15556) Approach 3, eq. 10 / App. D.2: E = 1.69. SD "
        "0.13 = |1.69 - 1.817|. " + _HOFFMANN_WIDTH,
        mu=1.69,
        sigma=0.13,
        lower=0.0,
    ),
    "log_A": _p(
        "Normal",
        "Hoffmann 2022 Approach 3: A = 406.4 (log 6.007; TeX source 406.40102). SD 0.52 = 2 x "
        "0.258. " + _HOFFMANN_WIDTH,
        mu=math.log(406.4),
        sigma=0.52,
    ),
    "alpha": _p(
        "TruncatedNormal",
        "Hoffmann 2022 Approach 3: alpha = 0.34 (TeX 0.33917). SD 0.031 = 2 x 0.0154. "
        + _HOFFMANN_WIDTH,
        mu=0.34,
        sigma=0.031,
        lower=0.0,
    ),
    "log_B": _p(
        "Normal",
        "Hoffmann 2022 Approach 3: B = 410.7 (log 6.018; TeX 410.72283). SD 1.63 = |6.018 - "
        "7.643| (Besiroglu log B). " + _HOFFMANN_WIDTH,
        mu=math.log(410.7),
        sigma=1.63,
    ),
    "beta": _p(
        "TruncatedNormal",
        "Hoffmann 2022 Approach 3: beta = 0.28 (TeX 0.28491). SD 0.086 = |0.28 - 0.3658|. "
        + _HOFFMANN_WIDTH,
        mu=0.28,
        sigma=0.086,
        lower=0.0,
    ),
}

_BESIROGLU_NOTE = (
    "Besiroglu, Erdil, Barnett & You 2024, 'Chinchilla Scaling: A replication attempt' "
    "(arXiv:2404.10102), refit of Hoffmann's Approach 3 to 240 digitised points (Huber loss "
    "on log L, 4000 bootstraps). Independent priors with the marginal bootstrap SEs (the "
    "bootstrap draws of log A and alpha are strongly correlated, so this is wider jointly)."
)
_BESIROGLU = {
    "E": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " E = 1.8172, SE 0.03 (paper; notebook 0.0257).",
        mu=1.8172,
        sigma=0.03,
        lower=0.0,
    ),
    "log_A": _p(
        "Normal",
        _BESIROGLU_NOTE + " A = 482.01, SE 124.58 -> SD of log A = 124.58/482.01 = 0.26.",
        mu=math.log(482.01),
        sigma=0.26,
    ),
    "alpha": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " alpha = 0.3478, SE 0.02 (paper; notebook 0.0154).",
        mu=0.3478,
        sigma=0.02,
        lower=0.0,
    ),
    "log_B": _p(
        "Normal",
        _BESIROGLU_NOTE + " B = 2085.43, SE 1293.23 -> SD of log B = 0.620, rounded up to 0.63.",
        mu=math.log(2085.43),
        sigma=0.63,
    ),
    "beta": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " beta = 0.3658, SE 0.02 (paper); notebook 0.0206, rounded up to 0.021.",
        mu=0.3658,
        sigma=0.021,
        lower=0.0,
    ),
}

_MUENNIGHOFF_NOTE = (
    "Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models' (arXiv:2305.16264), "
    "C4 coefficients from the huggingface/datablations README ('Parametric Fit'): a, b, e = "
    "6.255414, 7.3049974, 0.6254804 (log A, log B, log E), alpha = beta = 0.3526596 (tied), "
    "fit to 54 points digitised from Chinchilla-style C4 isoFLOPs. No SEs published: SD = 2 x "
    "Besiroglu 2024 bootstrap SE; the untied refit in their notebook (alpha 0.335, beta 0.383, "
    "E 1.878, log A 5.958, log B 7.915) lies within 1 SD. " + _BESIROGLU_SE
)
_MUENNIGHOFF = {
    "E": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " E = exp(0.6254804) = 1.8691; SD 0.052.",
        mu=math.exp(0.6254804),
        sigma=0.052,
        lower=0.0,
    ),
    "log_A": _p("Normal", _MUENNIGHOFF_NOTE + " SD 0.52.", mu=6.255414, sigma=0.52),
    "alpha": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " SD 0.031.",
        mu=0.3526596,
        sigma=0.031,
        lower=0.0,
    ),
    "log_B": _p("Normal", _MUENNIGHOFF_NOTE + " SD 1.25.", mu=7.3049974, sigma=1.25),
    "beta": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " SD 0.042.",
        mu=0.3526596,
        sigma=0.042,
        lower=0.0,
    ),
    "R_D_star": _p(
        "LogNormal",
        "Muennighoff et al. 2023 (arXiv:2305.16264) C4 fit, datablations README: R_D* = "
        "15.387756 epochs. No uncertainty published; sigma 0.7 puts a factor 2 at 1 SD.",
        mu=math.log(15.387756),
        sigma=0.7,
    ),
    "R_N_star": _p(
        "LogNormal",
        "Muennighoff et al. 2023 (arXiv:2305.16264) C4 fit, datablations README: R_N* = "
        "5.309743. No uncertainty published; sigma 0.7 puts a factor 2 at 1 SD.",
        mu=math.log(5.309743),
        sigma=0.7,
    ),
}

_KAPLAN_NOTE = (
    "Kaplan et al. 2020, 'Scaling Laws for Neural Language Models' (arXiv:2001.08361), joint "
    "fit L(N, D), eq. 1.5 / Table 2: alpha_N 0.076, alpha_D 0.103, N_c 6.4e13, D_c 1.8e13, "
    "for NON-EMBEDDING parameters and WebText2 loss. No SEs published."
)
_KAPLAN = {
    "log_N_c": _p(
        "Normal",
        _KAPLAN_NOTE + " SD 3.0: log N_c = log N + log L / alpha_N moves by ~3 per 0.02 in "
        "alpha_N at Kaplan's losses; their L(N)-only fit (N_c 8.8e13, log 32.1) is 0.1 SD away.",
        mu=math.log(6.4e13),
        sigma=3.0,
    ),
    "alpha_N": _p(
        "TruncatedNormal",
        _KAPLAN_NOTE + " SD 0.02, about Besiroglu 2024's bootstrap SE of alpha (0.0154).",
        mu=0.076,
        sigma=0.02,
        lower=0.0,
    ),
    "log_D_c": _p(
        "Normal",
        _KAPLAN_NOTE + " SD 3.0 as log_N_c; their L(D)-only fit (D_c 5.4e13, log 31.6) is "
        "0.4 SD away.",
        mu=math.log(1.8e13),
        sigma=3.0,
    ),
    "alpha_D": _p(
        "TruncatedNormal",
        _KAPLAN_NOTE + " SD 0.021 (Besiroglu 2024's bootstrap SE of beta); their L(D)-only "
        "fit gives 0.095, 0.4 SD away.",
        mu=0.103,
        sigma=0.021,
        lower=0.0,
    ),
    "E": _p(
        "HalfNormal",
        "For kaplan_floor. Kaplan et al. 2020 fit no irreducible loss (E = 0); HalfNormal(1.0) "
        "keeps E near 0 as their fit implies (median 0.67) while allowing a floor up to ~2 "
        "nats/token (95%).",
        sigma=1.0,
    ),
}

#: Named prior presets: preset name -> prior key -> PriorSpec.
PRESETS: dict[str, dict[str, PriorSpec]] = {
    "weak": {**_WEAK, **_GROUP_AND_NOISE},
    "hoffmann2022": {**_HOFFMANN, **_GROUP_AND_NOISE},
    "besiroglu2024": {**_BESIROGLU, **_GROUP_AND_NOISE},
    "muennighoff2023": {**_MUENNIGHOFF, **_GROUP_AND_NOISE},
    "kaplan2020": {**_KAPLAN, **_GROUP_AND_NOISE},
}

#: The laws each preset serves (it covers every key they need).
PRESET_LAWS: dict[str, tuple[str, ...]] = {
    "weak": tuple(LAWS),
    "hoffmann2022": ("chinchilla",),
    "besiroglu2024": ("chinchilla",),
    "muennighoff2023": ("chinchilla", "data_constrained"),
    "kaplan2020": ("kaplan", "kaplan_floor"),
}


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
