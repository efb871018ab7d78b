"""One built and compiled model per model structure, kept for the life of the process.

Covariates, group index, observed losses and centres are shared data in the model of
:func:`models.build.build_model`, so two runs tables of the same structure
(:func:`models.build.structure_key`: law, priors, likelihood, discrepancy, parametrisation,
pooled names, number of groups, optional columns) differ only in those values. :func:`fit`
and every batch path that calls it (backtests, stacking, sensitivity workers, SBC
replicates, ``suggest_runs``) build and nutpie-compile a structure once and then set the
data (``CompiledModel.with_data``), which saves the 6-12 s compilation of every later fit.
"""

from __future__ import annotations

import threading
import time

import pymc as pm

from forecast.config import FitConfig, samples_centre
from models.build import ModelData, build_model, effective_pooled, initial_values, structure_key
from models.laws import get_law


def model_options(config: FitConfig, n_groups: int | None = None) -> dict:
    """Keyword arguments of :func:`models.build.build_model` for ``config``.

    With ``n_groups``, the parametrisation is chosen too (:func:`forecast.config.samples_centre`):
    the centre parametrisation, with the floors' group offsets centred, for a Chinchilla-law
    model that pools nothing or only the floor; the plain one otherwise. Measured with 4 x
    1000 draws: README design (E pooled) 29-31 leapfrog steps per draw at target_accept
    0.9, 0 divergences in six seeds (default and plain model), against 257 in the plain
    parametrisation at 0.99. Designs that pool the coefficients too were measured and kept
    plain: the Gadre 3-corpus design with E, log A and log B pooled gave 0 divergences at
    0.9 in five seeds with the default model (111-116 steps, against 494 plainly at 0.99)
    but R-hat 1.03 and bulk ESS 207 in one, 55-193 divergences with the plain model at
    0.9, 31 at 0.95 and 8 at 0.99 (the acceptance test's fit), at large between-group
    scales of log A, where standardised offsets form the inverted funnel; the joint design
    (seven groups) 0 divergences at 0.9 in two seeds (126-131 steps); every parameter
    pooled, 9-13 divergences at 0.9. The broken law's bimodal recovery test (two short
    chains) missed its check once in the centre parametrisation; the data-constrained law
    was not measured.

    The versions below standardised the floors' offsets too and were not kept.

    Two group-level versions were tried on that design with the default model (Student-t,
    compute discrepancy; plain parametrisation: 494 steps per draw at 0.99, 0 divergences)
    and not kept. Each group's own centre coordinates (:func:`models.build.centre_to_law`
    per group, offsets derived, so centred): 35 steps per draw at 0.9 but 145 divergences,
    151 steps and 12 divergences at 0.99, at small between-group scales of log A (the
    groups' log A are barely told apart: a funnel). Each group's floor and data term in
    its own coordinates with log A non-centred: 109 steps and 6 divergences at 0.9, 285
    and 2 at 0.99, at small scales of log B. The README design (only E pooled, plain):
    257 steps per draw at 0.99, 0 divergences.
    """
    options = {
        "law": config.law,
        "priors": config.resolved_priors(),
        "likelihood": config.likelihood,
        "pooled": config.pooled_params,
        "discrepancy": config.discrepancy,
    }
    if n_groups is not None:
        pooled = effective_pooled(get_law(config.law), config.pooled_params, n_groups)
        centre = samples_centre(config.law, pooled)
        options["parametrisation"] = "centre" if centre else "plain"
    return options


#: Models of this process, by structure (:func:`models.build.structure_key`): the built PyMC
#: model and, once sampled with nutpie, its compiled form. A fit of new runs with the same
#: structure sets the shared data instead of building and compiling again.
_MODELS: dict[str, dict] = {}
#: Structures kept; the oldest is dropped beyond this (a compiled model holds ~10 MB).
MAX_CACHED_MODELS = 64
_CACHE_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every built and compiled model of this process (the next fit compiles afresh)."""
    with _CACHE_LOCK:
        _MODELS.clear()


def _cached(data: ModelData, config: FitConfig) -> dict:
    """Return the cache entry of ``data``'s structure, its model holding ``data``'s values."""
    options = model_options(config, len(data.groups))
    key = structure_key(data, **options)
    with _CACHE_LOCK:
        entry = _MODELS.get(key)
        if entry is None:
            entry = {"model": build_model(data, **options), "compiled": None}
            _MODELS[key] = entry
            while len(_MODELS) > MAX_CACHED_MODELS:
                _MODELS.pop(next(iter(_MODELS)))
        else:
            pm.set_data(data.shared_values(), model=entry["model"])
    return entry


def _nutpie_compiled(entry: dict, data: ModelData):
    """Return the compiled model of ``entry`` holding ``data``, and the seconds compiling it."""
    import nutpie

    with _CACHE_LOCK:
        compiled = entry["compiled"]
        if compiled is None:
            start = time.perf_counter()
            model = entry["model"]
            compiled = nutpie.compile_pymc_model(model, initial_points=initial_values(model))
            entry["compiled"] = compiled
            return compiled.with_data(**data.shared_values()), time.perf_counter() - start
    return compiled.with_data(**data.shared_values()), 0.0
