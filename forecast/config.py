"""Frozen configuration objects: what a fit is, as plain data.

A :class:`FitConfig` says everything that determines a posterior apart from the data:
the law, the priors, the grouping, the likelihood, the sampler settings and the seed.
It serialises losslessly to JSON (``to_dict``/``from_dict``) and its ``config_hash``
names results on disk, so a saved posterior can be matched to the request that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from models.build import CENTRED_OFFSETS, DISCREPANCIES, OFFSET_CENTRING
from models.errors import ConfigError
from models.laws import LAWS, get_law
from models.priors import PRESETS, PriorSpec, resolve_priors

LIKELIHOODS = ("normal", "student_t")
#: Default NUTS target acceptance of a Chinchilla model whose only group offsets are the
#: floors' (see :meth:`SamplerConfig.resolved_target_accept`).
TARGET_ACCEPT = 0.9
#: Default NUTS target acceptance of every other model (see :func:`starts_low`): offsets of
#: coefficients or exponents form funnels, other laws are sampled plainly.
FUNNEL_TARGET_ACCEPT = 0.99
#: Pooled parameters a model may have and still be sampled in the centre parametrisation,
#: by likelihood: those whose offsets it samples centred or partially centred
#: (``models.build.OFFSET_CENTRING``). Gadre 3-corpus design, E, log A and log B pooled,
#: 4 x 1000 draws: with the Student-t likelihood 0-1 divergences at 0.9 in five seeds and
#: none after the resampling at 0.99; with the Normal one 1-4 at 0.9 in all three seeds
#: measured and, at 0.99, 1 divergence left in one and R-hat 1.015 in another, where
#: the plain parametrisation at 0.99 gave 0 (see ``forecast.compiled``).
CENTRE_POOLABLE = {"student_t": tuple(OFFSET_CENTRING), "normal": CENTRED_OFFSETS}
#: Laws sampled in the centre parametrisation (see ``forecast.compiled``). The broken law's
#: terms at the centre include its break factors (``models.laws.broken.centre_log_factors``)
#: and its exponents are sampled through their local slopes there (``centre_slope_factors``).
#: Broken law, default model, 4 x 1000 draws: Chinchilla runs of C < 1e20 (136) 26-29 s,
#: 138-147 leapfrog steps per draw at 0.9 (seeds 2-4; 0 divergences, R-hat <= 1.01)
#: against 127.7 s and 907 steps plainly at 0.99 (seed 1, R-hat 1.03); Gadre 3 corpora,
#: E pooled, 36.2 s (85 steps) against 89.7 s (562 steps); OLMo to 760M and Gadre c4 to
#: 154M 10-19 s, 0 divergences at 0.9 with each likelihood measured. Through the slopes
#: (session 17): default model 65-68 steps per draw on the 136 runs; the Normal models 0
#: divergences at 0.9 there (71-73 steps; before, 11-40 and a resampling at 0.99).
CENTRE_LAWS = ("chinchilla", "chinchilla_broken")
SAMPLERS = ("nutpie", "pymc")
#: Fewest runs for which a flat Chinchilla fit gets the low-rank mass matrix by default.
LOW_RANK_MIN_RUNS = 100
#: Draws per chain when ``SamplerConfig.draws`` is left to the fit (twice, if needed).
DEFAULT_DRAWS = 1000
#: The default model of :class:`FitConfig`: Student-t likelihood, compute discrepancy.
DEFAULT_MODEL = {"likelihood": "student_t", "discrepancy": "compute"}
#: The foundation's model, available by name: Normal likelihood, no discrepancy.
PLAIN_MODEL = {"likelihood": "normal", "discrepancy": None}


def samples_centre(law: str, pooled: tuple, likelihood: str = DEFAULT_MODEL["likelihood"]) -> bool:
    """Whether a model is sampled in the centre parametrisation (see ``forecast.compiled``).

    A law of :data:`CENTRE_LAWS` (the Chinchilla law and its broken form), with group
    offsets (if any) of :data:`CENTRE_POOLABLE` only: the floor and the coefficients with
    the Student-t likelihood, the floor with the Normal.

    Examples
    --------
    >>> samples_centre("chinchilla", ("E", "log_A")), samples_centre("chinchilla", ("alpha",))
    (True, False)
    >>> samples_centre("chinchilla", ("E", "log_A"), "normal")
    False
    """
    return law in CENTRE_LAWS and set(pooled) <= set(CENTRE_POOLABLE[likelihood])


def starts_low(law: str, likelihood: str) -> bool:
    """Whether a model sampled plainly still starts at :data:`TARGET_ACCEPT` (0.9).

    A Student-t model of a law of :data:`CENTRE_LAWS` that pools exponents (or, for the
    broken law, ratios and breaks), whose offsets form funnels, is sampled plainly; it
    starts at 0.9 all the same and is resampled at :data:`FUNNEL_TARGET_ACCEPT` if that
    run diverges (``forecast.fit``). Measured on the training runs of the pooled Gadre
    backtest (72 runs, 3 corpora, every parameter pooled, 4 x 1000 draws): the default
    model, Chinchilla law, 0 divergences at 0.9 in seeds 1-2 (45.8 and 41.3 s, 349 and 329
    leapfrog steps per draw, R-hat 1.017 and 1.012) against 78.1 s and 732 steps at 0.99
    (seed 1); broken law, 0 divergences in seeds 1-3 (79-100 s, 408-426 steps, R-hat
    1.016-1.020) against 136.6 s, 810 steps and R-hat 1.022 at 0.99 (seed 1). With the
    Normal likelihood the same designs diverged at 0.9 (Chinchilla plain model 59, broken
    law with the discrepancy 51; seed 1), so those start at 0.99.

    Examples
    --------
    >>> starts_low("chinchilla", "student_t"), starts_low("chinchilla", "normal")
    (True, False)
    """
    return law in CENTRE_LAWS and likelihood == "student_t"


def _frozen_mapping(value: Mapping | None) -> dict:
    # A plain dict (not MappingProxyType) so configs pickle for Dask workers.
    return dict(value or {})


def _prior_to_dict(spec: PriorSpec | Mapping) -> dict:
    return spec.to_dict() if isinstance(spec, PriorSpec) else dict(spec)


def _priors_to_data(priors: str | Mapping) -> str | dict:
    if isinstance(priors, str):
        return priors
    return {key: _prior_to_dict(spec) for key, spec in sorted(priors.items())}


def _priors_from_data(priors: str | Mapping) -> str | Mapping[str, PriorSpec]:
    if isinstance(priors, str):
        return priors
    return _frozen_mapping(
        {k: v if isinstance(v, PriorSpec) else PriorSpec.from_dict(v) for k, v in priors.items()}
    )


@dataclass(frozen=True)
class SamplerConfig:
    """How to run NUTS.

    Parameters
    ----------
    sampler : {"nutpie", "pymc"}
        ``"nutpie"`` (default; numba-compiled, fastest here) or PyMC's own NUTS, the fallback
        used automatically when nutpie cannot be imported.
    draws : int or None
        Posterior draws per chain. ``None`` (default): :data:`DEFAULT_DRAWS`, and a run
        that fails a check more draws can pass (R-hat above 1.01 or bulk ESS below 400 for
        a parameter a user reads, :func:`forecast.diagnostics.needs_more_draws`) is
        sampled again with the same seed and twice the draws, of which every second is
        kept: the chains run twice as long and the result keeps its shape, so fits of one
        config stack alike. The saved attrs ``long_run_draws`` says so. Simulation-based
        calibration on the 30-run ladder (weak prior, 40 replicates, 4 chains x 1000
        draws): R-hat above 1.01 in 6 replicates (1.010-1.030; bulk ESS 120-400), with
        2000 draws per chain in none. A number set here is used as set.
    tune : int
        Tuning steps per chain.
    chains : int
        Number of chains (at least 2 for R-hat).
    cores : int or None
        Chains run in parallel on this many cores; ``None`` uses ``min(chains, os.cpu_count())``.
    target_accept : float or None
        NUTS target acceptance rate in [0.5, 1). ``None`` (default) chooses by model:
        :data:`TARGET_ACCEPT` (0.9) for a model sampled in the centre parametrisation
        (:func:`samples_centre`: the Chinchilla law or its broken form, pooling nothing,
        the floor E or, with the Student-t likelihood, E, log A and log B),
        which samples floor and coefficients without the E-A ridge (see
        ``forecast.compiled``; 240 Chinchilla runs: 0 divergences, 21 leapfrog steps per
        draw at 0.9, against 100 at 0.99 in the plain parametrisation; OLMo ladder: 0
        divergences at 0.9; README job, Gadre 3 corpora with E pooled: 0 divergences at
        0.9 in four seeds with the default model and two with the plain one, 29-31 steps
        per draw) or for a Student-t model of those laws sampled plainly
        (:func:`starts_low`: it pools exponents; 0 divergences at 0.9 on the pooled Gadre
        design), and :data:`FUNNEL_TARGET_ACCEPT` (0.99) otherwise: the plain
        parametrisation with the Normal likelihood, with offsets of coefficients or
        exponents that form funnels (Gadre 3-corpus fit, E, log A and log B pooled: 0
        divergences at 0.99; in the centre coordinates 1-4 at 0.9) and other laws (the
        data-constrained law's repetition terms; datablations: 2 divergences at 0.9).
        See :meth:`resolved_target_accept`. Left to the model, a run at 0.9 that diverges
        is sampled again at 0.99 (same seed) and the second run is kept; the saved attrs
        ``target_accept`` and ``first_run_divergences`` say so. A value set here is used
        as set.
    low_rank_mass_matrix : bool or None
        nutpie only: adapt a low-rank-modified mass matrix instead of a diagonal one.
        ``None`` (default) chooses by model and data: on for a Chinchilla-law model that
        pools nothing (sampled in the centre parametrisation) fitted to at least
        :data:`LOW_RANK_MIN_RUNS` runs, off otherwise. Measured at target_accept 0.9 (4 x
        1000 draws): 240 Chinchilla runs, 6.4-6.8 leapfrog steps per draw against 22-28
        with the diagonal matrix (Normal or Student-t likelihood with the compute
        discrepancy), 0 divergences either way, bulk ESS 3000-4400 against 1250-1450. On
        few runs it is worse: the 24 OLMo-ladder runs up to 1B gave 16 divergences, R-hat
        1.10 and a bulk ESS of 28 with it (Student-t + discrepancy; plain model: 10
        divergences) and 0 divergences, R-hat 1.013, ESS 461 with the diagonal matrix;
        the 18 runs up to 760M gave 1 divergence against 0; simulation-based calibration
        on the 30-run ladder had a divergence in 37 of 40 replicates against 34. Off for
        hierarchical fits, where it diverges and the diagonal matrix does not (Gadre
        3-corpus fit at 0.99, plain parametrisation: 7 divergences against 0; README design
        at 0.9 with the floors' offsets centred: 4 and 1 divergences in two seeds against 0
        and 0). Off for the broken law: on its 136 Chinchilla runs below 1e20 FLOP it took
        101 and 167 steps per draw (default and normal+disc model, seed 1) against 146 and
        338, but bulk ESS 249 and 177 against 200 and 884, R-hat 1.03 in the second.
    progress : bool
        Show a progress bar while sampling.
    """

    sampler: str = "nutpie"
    draws: int | None = None
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    target_accept: float | None = None
    low_rank_mass_matrix: bool | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {self.sampler!r}; choose one of {list(SAMPLERS)}")
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if name == "draws" and value is None:
                continue
            if not isinstance(value, int) or value < (1 if name != "tune" else 0):
                raise ConfigError(f"SamplerConfig.{name} must be a positive integer, got {value!r}")
        if self.target_accept is not None and not 0.5 <= self.target_accept < 1.0:
            raise ConfigError(f"target_accept must be in [0.5, 1), got {self.target_accept!r}")
        if self.low_rank_mass_matrix and self.sampler != "nutpie":
            raise ConfigError("low_rank_mass_matrix needs sampler='nutpie'")

    def resolved_target_accept(
        self, *, law: str, pooled: tuple, likelihood: str = DEFAULT_MODEL["likelihood"]
    ) -> float:
        """Return the target acceptance for a model of ``law`` pooling ``pooled`` (see above)."""
        if self.target_accept is not None:
            return self.target_accept
        if samples_centre(law, pooled, likelihood) or starts_low(law, likelihood):
            return TARGET_ACCEPT
        return FUNNEL_TARGET_ACCEPT

    def resolved_low_rank(self, *, law: str, pooled: tuple, n_runs: int = 0) -> bool:
        """Return whether NUTS adapts a low-rank mass matrix for such a fit (see above)."""
        if self.low_rank_mass_matrix is not None:
            return self.low_rank_mass_matrix
        return (
            self.sampler == "nutpie"
            and law == "chinchilla"
            and not pooled
            and n_runs >= LOW_RANK_MIN_RUNS
        )

    def resolved(
        self,
        *,
        law: str,
        pooled: tuple,
        n_runs: int = 0,
        likelihood: str = DEFAULT_MODEL["likelihood"],
    ) -> SamplerConfig:
        """Return this config with draws, ``target_accept`` and the mass matrix chosen."""
        accept = self.resolved_target_accept(law=law, pooled=pooled, likelihood=likelihood)
        return replace(
            self,
            draws=self.draws or DEFAULT_DRAWS,
            target_accept=accept,
            low_rank_mass_matrix=self.resolved_low_rank(law=law, pooled=pooled, n_runs=n_runs),
        )

    @property
    def n_cores(self) -> int:
        """Cores to run chains on."""
        return self.cores or max(1, min(self.chains, os.cpu_count() or 1))

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready plain data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplerConfig:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**dict(data))


@dataclass(frozen=True)
class FitConfig:
    """Everything that defines a fit apart from the data.

    Parameters
    ----------
    law : str
        A key of :data:`models.laws.LAWS` (``"chinchilla"``, ``"chinchilla_broken"``, ``"kaplan"``,
        ``"kaplan_floor"``, ``"data_constrained"``).
    priors : str or mapping
        A preset name from :data:`models.priors.PRESETS` or a mapping of prior key to
        :class:`~models.priors.PriorSpec`.
    prior_overrides : mapping
        Prior keys replaced on top of ``priors``.
    groups : str or None
        Column of the runs table whose values are the groups that partially pool the law's
        parameters; ``None`` puts every run in one group (the flat model).
    likelihood : {"normal", "student_t"}
        Distribution of log loss around the law; default ``"student_t"`` (see Notes).
    pooled : tuple of str or None
        Parameters that vary by group; ``None`` means every parameter of the law.
    sampler : SamplerConfig
        NUTS settings.
    seed : int
        Seed of everything random in the fit.
    discrepancy : {None, "compute"}
        ``"compute"`` adds a model-discrepancy term whose SD grows with the distance of a
        run's compute from the data centre (see :func:`models.noise.discrepancy_sd`); it
        widens predictions the further they extrapolate (the default, see Notes). ``None``:
        no such term.

    Notes
    -----
    The default model is :data:`DEFAULT_MODEL`, a Student-t likelihood with the compute
    discrepancy, chosen on the training side and confirmed by the backtests: it has the
    best PSIS-LOO of the single configs on the training runs of every backtest but the
    OLMo ladder's, where the three tie within one standard error, and its 90% bands are the
    best calibrated of the single configs on the Chinchilla runs (README, "Backtests").
    The foundation's model (Normal, no discrepancy) stays available by name,
    :data:`PLAIN_MODEL`: ``FitConfig(**PLAIN_MODEL)`` or ``--likelihood normal
    --discrepancy none``.
    """

    law: str = "chinchilla"
    priors: str | Mapping[str, PriorSpec] = "weak"
    prior_overrides: Mapping[str, PriorSpec] = field(default_factory=dict)
    groups: str | None = None
    likelihood: str = DEFAULT_MODEL["likelihood"]
    pooled: tuple[str, ...] | None = None
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    seed: int = 0
    discrepancy: str | None = DEFAULT_MODEL["discrepancy"]

    def __post_init__(self) -> None:
        law = get_law(self.law)
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"unknown likelihood {self.likelihood!r}; choose one of {list(LIKELIHOODS)}"
            )
        if isinstance(self.priors, str) and self.priors not in PRESETS:
            raise ConfigError(
                f"unknown prior preset {self.priors!r}; choose one of {sorted(PRESETS)}"
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed must be an int, got {self.seed!r}")
        if isinstance(self.sampler, Mapping):
            object.__setattr__(self, "sampler", SamplerConfig.from_dict(self.sampler))
        if self.discrepancy is not None and self.discrepancy not in DISCREPANCIES:
            raise ConfigError(
                f"unknown discrepancy {self.discrepancy!r}; choose None or one of "
                f"{list(DISCREPANCIES)}"
            )
        object.__setattr__(self, "priors", _priors_from_data(self.priors))
        overrides = _priors_from_data(dict(self.prior_overrides))
        object.__setattr__(self, "prior_overrides", overrides)
        if self.pooled is not None:
            pooled = tuple(self.pooled)
            unknown = sorted(set(pooled) - set(law.params))
            if unknown:
                raise ConfigError(
                    f"pooled names {unknown} are not parameters of law {self.law!r}; "
                    f"its parameters are {list(law.params)}"
                )
            object.__setattr__(self, "pooled", tuple(p for p in law.params if p in pooled))
        # Fail at construction, not at sampling time, on a prior that does not fit the law.
        self.resolved_priors()

    @property
    def pooled_params(self) -> tuple[str, ...]:
        """Parameters that vary by group."""
        return get_law(self.law).params if self.pooled is None else self.pooled

    def resolved_priors(self) -> dict[str, PriorSpec]:
        """Priors for every key the law and likelihood need, presets and overrides applied."""
        return resolve_priors(self.priors, self.law, self.prior_overrides, self.likelihood)

    def replace(self, **changes: Any) -> FitConfig:
        """Return a copy with some fields changed (the config itself is frozen)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready plain data (priors as dicts, sampler nested)."""
        return {
            "law": self.law,
            "priors": _priors_to_data(self.priors),
            "prior_overrides": _priors_to_data(dict(self.prior_overrides)),
            "groups": self.groups,
            "likelihood": self.likelihood,
            "pooled": None if self.pooled is None else list(self.pooled),
            "sampler": self.sampler.to_dict(),
            "seed": self.seed,
            "discrepancy": self.discrepancy,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys raise ``ConfigError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown FitConfig keys {unknown}; valid keys are {sorted(known)}")
        data = dict(data)
        # Files written before the default changed leave the key out when it was None.
        data.setdefault("discrepancy", None)
        if data.get("pooled") is not None:
            data["pooled"] = tuple(data["pooled"])
        if "sampler" in data:
            data["sampler"] = SamplerConfig.from_dict(data["sampler"])
        return cls(**data)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @property
    def config_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON.

        Without a discrepancy the ``discrepancy`` key is left out of the hashed JSON, as
        files written before it became a default left it out, so their hashes still match.
        """
        data = self.to_dict()
        if data["discrepancy"] is None:
            del data["discrepancy"]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


#: Named sets of configs for an averaged posterior (:func:`forecast.studies.stacking.fit_averaged`):
#: name -> component name -> the fields each component changes in a base config.
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "likelihoods": {
        "normal": {"likelihood": "normal"},
        "student_t": {"likelihood": "student_t"},
    },
    "discrepancy": {
        "plain": {"discrepancy": None},
        "compute": {"discrepancy": "compute"},
    },
    "robust": {
        "normal": {"likelihood": "normal", "discrepancy": None},
        "student_t": {"likelihood": "student_t", "discrepancy": None},
        "normal_compute": {"likelihood": "normal", "discrepancy": "compute"},
        "student_t_compute": {"likelihood": "student_t", "discrepancy": "compute"},
    },
}


def recipe_configs(recipe: str, base: FitConfig | None = None) -> dict[str, FitConfig]:
    """Return the component configs of a named recipe, each a change of ``base``.

    Parameters
    ----------
    recipe : str
        A key of :data:`RECIPES`.
    base : FitConfig, optional
        Law, priors, groups, sampler and seed shared by the components; default
        ``FitConfig()``.

    Returns
    -------
    dict of str to FitConfig
        Component configs by name.

    Raises
    ------
    ConfigError
        Unknown recipe.

    Examples
    --------
    >>> sorted(recipe_configs("likelihoods"))
    ['normal', 'student_t']
    """
    if recipe not in RECIPES:
        raise ConfigError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    base = FitConfig() if base is None else base
    return {name: base.replace(**changes) for name, changes in RECIPES[recipe].items()}


__all__ = [
    "DEFAULT_MODEL",
    "PLAIN_MODEL",
    "RECIPES",
    "FitConfig",
    "LAWS",
    "SamplerConfig",
    "recipe_configs",
]
