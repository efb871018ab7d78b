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

import contextlib
import functools
import threading
import time

import numpy as np
import pymc as pm
import xarray as xr

from forecast.config import FitConfig, samples_centre
from models.build import ModelData, build_model, effective_pooled, initial_values, structure_key
from models.laws import get_law


def model_options(config: FitConfig, n_groups: int | None = None) -> dict:
    """Keyword arguments of :func:`models.build.build_model` for ``config``.

    With ``n_groups``, the parametrisation is chosen too (:func:`forecast.config.samples_centre`):
    the centre parametrisation for a Chinchilla-law model that pools nothing or only the
    floor, or, with the Student-t likelihood, the floor and the coefficients; the plain
    one otherwise. In it the floors' group offsets are centred and the coefficients'
    half-centred (:data:`models.build.OFFSET_CENTRING`). Measured with 4 x 1000 draws:
    README design (E pooled) 29-31 leapfrog steps per draw at target_accept 0.9, 0
    divergences in six seeds (default and plain model), against 257 in the plain
    parametrisation at 0.99. Gadre 3-corpus design with E, log A and log B pooled, the
    coefficients' offsets half-centred (w = 0.5), at 0.9: default model 0, 1, 0
    divergences in seeds 1-3 (67 steps per draw, 9.8-10.8 s of sampling); through
    ``fit`` with 2000 tuning steps, seeds 1 and 5: 0 divergences (28.4 s with
    compilation), and 1 at 0.9 resampled at 0.99 to 0 (57.0 s), where the plain
    parametrisation took 499 steps per draw and 105.8 s. Plain model: 4 and 1 divergences
    at 0.9 (seeds 1, 2), after the resampling at 0.99 0, 0 (R-hat 1.015) and 1 (seed 5,
    the acceptance test's fit), so the Normal likelihood keeps the plain parametrisation
    there. Weights 0.3 and 0.7 were worse (plain model seed 1: 11 and 3 divergences;
    default seed 2: 0 and 28). Standardised coefficient offsets (w = 0): default model 0
    divergences at 0.9 in five seeds (111-116 steps) but R-hat 1.03 and bulk ESS 207 in
    one; plain model 55-193 divergences at 0.9 and 8 at 0.99, at large between-group
    scales of log A (the inverted funnel); centred ones (w = 1) 2-6 at 0.99 at small
    scales. Every parameter pooled: 9-13 divergences at 0.9 (exponents' offsets keep the
    plain parametrisation). The broken law is sampled in it too (measurements at
    :data:`forecast.config.CENTRE_LAWS`); the data-constrained law was not measured.

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
        centre = samples_centre(config.law, pooled, config.likelihood)
        options["parametrisation"] = "centre" if centre else "plain"
    return options


#: Models of this process, by structure (:func:`models.build.structure_key`): the built PyMC
#: model and, once sampled with nutpie, its compiled form. A fit of new runs with the same
#: structure sets the shared data instead of building and compiling again.
_MODELS: dict[str, dict] = {}
#: Structures kept; the oldest is dropped beyond this (a compiled model holds ~10 MB).
MAX_CACHED_MODELS = 64
_CACHE_LOCK = threading.RLock()


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


#: nutpie's two C callbacks as source, the constants written in: the log density with its
#: gradient (codes: 0 ok, -1 wrong dimension, 1 an exception or a gradient of the wrong
#: length, 3 non-finite gradient, 4 non-finite log density) and the expansion to the stored
#: draws (-1 wrong dimension, -2 an exception or a result of the wrong length). ``extract``
#: reads the shared arrays and calls the compiled graph (:func:`_callback`).
_LOGP_SOURCE = """
def logp_callback(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, (1,))
        logp_val, grad = extract(x, user_data_)
        if grad.shape[0] != {n_dim}:
            return 1
        logp[0] = logp_val
        finite = True
        for i in range({n_dim}):
            out[i] = grad[i]
            finite = finite and np.isfinite(grad[i])
        if not finite:
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""
_EXPAND_SOURCE = """
def expand_callback(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim} or expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = extract(x, user_data_)
        if values.shape[0] != {n_expanded}:
            return -2
        for i in range({n_expanded}):
            out[i] = values[i]
    except Exception:
        return -2
    return 0
"""


class _Uncacheable(Exception):
    """pytensor gave a compiled graph no disk-cache key, so its callbacks cannot be cached."""


def _graph_cache_key(function) -> str | None:
    """Return pytensor's disk-cache key of a compiled graph's numba function, or None."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    py_func = getattr(function, "py_func", None)
    return None if py_func is None else CACHED_SRC_FUNCTIONS.get(py_func)


def _callback(source, inner, user_data, shared_names, shared_data, cache, **constants):
    """Compile ``source`` (a callback template) to a Python function for ``numba.cfunc``.

    Each shared array is read from nutpie's user-data record (address and current shape),
    so the callback sees the data that ``with_data`` sets, of any size; one generated
    statement per array, where nutpie loops with ``literal_unroll`` over an overload,
    which numba types slowly. With ``cache``, the function is registered for pytensor's
    numba disk cache under a hash of everything its machine code depends on: its source,
    the compiled graph's own cache key, the layout of the user data and the versions of
    nutpie (its pointer intrinsic) and pytensor; another process loads it instead of
    compiling. Raises :class:`_Uncacheable` if the graph has no key.
    """
    import hashlib

    import numba
    from nutpie.compile_pymc import address_as_void_pointer
    from pytensor.link.numba.cache import compile_numba_function_src

    namespace = {
        "__name__": __name__,  # numba rebuilds a cached function's environment from it
        "numba": numba,
        "np": np,
        "inner": inner,
        "record_dtype": user_data.dtype,
        "address": address_as_void_pointer,
    }
    lines = ["def extract(x, user_data_):"]
    if shared_names:
        lines.append('    shared = numba.carray(user_data_, (), record_dtype)["shared"]')
    for i, name in enumerate(shared_names):
        namespace[f"dtype_{i}"] = np.dtype(shared_data[name].dtype)
        sizes = [f'int(shared["shape"][{name!r}][{k}])' for k in range(shared_data[name].ndim)]
        shape = "(" + "".join(f"{size}, " for size in sizes) + ")"
        pointer = f'address(shared["data"][{name!r}][()])'
        lines.append(f"    a{i} = numba.carray({pointer}, {shape}, dtype_{i})")
    lines.append(f"    return inner(x{''.join(f', a{i}' for i in range(len(shared_names)))})")
    reads = "\n".join(lines)
    exec(reads, namespace)  # noqa: S102 - source built here from array names
    # inlined: calls inside the callback's try block split its blocks, and numba's
    # liveness analysis grows with their number (reads written out there: 28 s, not 2)
    namespace["extract"] = numba.njit(inline="always")(namespace["extract"])
    text = source.format(**constants)
    key = None
    if cache:
        inner_key = _graph_cache_key(inner)
        if inner_key is None:
            raise _Uncacheable
        import nutpie
        import pytensor

        # numba's cache drops entries of another numba version by itself
        versions = f"nutpie {nutpie.__version__} pytensor {pytensor.__version__}"
        layout = [text, reads, inner_key, repr(user_data.dtype.descr), versions]
        layout += [str(namespace[f"dtype_{i}"]) for i in range(len(shared_names))]
        key = "forecast_callback_" + hashlib.sha256("\n".join(layout).encode()).hexdigest()
    name = source.split("(")[0].split()[-1]
    return compile_numba_function_src(text, name, global_env=namespace, cache_key=key)


def _callback_signature(*arguments):
    """Return the numba signature ``int64(arguments..., voidptr)`` of a nutpie callback."""
    import numba

    types = {"n": numba.types.uint64, "p": numba.types.CPointer(numba.types.double)}
    return numba.types.int64(*(types[a] for a in arguments), numba.types.voidptr)


def _lean_logp_wrapper(n_dim, logp_fn, user_data, shared_logp, shared_data, *, cache=False):
    """Build nutpie's C-callable log density and gradient, copying the gradient elementwise.

    nutpie 0.16's own wrapper (``nutpie.compile_pymc._make_c_logp_func``) writes
    ``out[...] = grad``: numba compiles that broadcast assignment's shape-mismatch error,
    with its string formatting, afresh in every process (about 2 s of each first fit).
    :data:`_LOGP_SOURCE` writes the same values, returns the same codes and refuses a
    gradient of the wrong length instead of raising.
    """
    function = _callback(
        _LOGP_SOURCE, logp_fn, user_data, shared_logp, shared_data, cache, n_dim=n_dim
    )
    return function, _callback_signature("n", "p", "p", "p")


def _lean_expand_wrapper(
    n_dim, n_expanded, expand_fn, user_data, shared_vars, shared_data, *, cache=False
):
    """As :func:`_lean_logp_wrapper`, for ``nutpie.compile_pymc._make_c_expand_func``."""
    function = _callback(
        _EXPAND_SOURCE,
        expand_fn,
        user_data,
        shared_vars,
        shared_data,
        cache,
        n_dim=n_dim,
        n_expanded=n_expanded,
    )
    return function, _callback_signature("n", "n", "p", "p")


#: nutpie's wrapper builders and the lean versions that replace them while we compile.
LEAN_WRAPPERS = {
    "_make_c_logp_func": _lean_logp_wrapper,
    "_make_c_expand_func": _lean_expand_wrapper,
}


@contextlib.contextmanager
def _lean_wrappers(cache: bool = False):
    """Use :data:`LEAN_WRAPPERS` inside nutpie for the duration; yield whether they are.

    Only when this nutpie has every function they replace and ``address_as_void_pointer``,
    which they call (nutpie 0.16); otherwise nutpie compiles with its own wrappers.
    ``cache``: the callbacks are registered for the disk cache (:func:`_callback`).
    """
    import nutpie.compile_pymc as ncp

    names = [*LEAN_WRAPPERS, "address_as_void_pointer"]
    if not all(callable(getattr(ncp, name, None)) for name in names):
        yield False
        return
    originals = {name: getattr(ncp, name) for name in LEAN_WRAPPERS}
    try:
        for name, wrapper in LEAN_WRAPPERS.items():
            setattr(ncp, name, functools.partial(wrapper, cache=cache))
        yield True
    finally:
        for name, original in originals.items():
            setattr(ncp, name, original)


def exact_numba():
    """Context in which pytensor compiles numba code without fast-math flags.

    With pytensor's default fast-math (reassociation, contraction), a graph numba compiles
    afresh and the same graph loaded from pytensor's disk cache gave log densities that
    differ in the last bits (the fresh one is optimised together with the functions it
    calls, the cached one links them compiled), so the same seed drew other draws on a
    machine's first fit of a model than on every later one (a 30-run ladder at
    target_accept 0.9: 0 divergences, then 6). Without the flags the two are
    bit-identical; the log density with gradient costs 43.3 instead of 40.3 us (flat
    Chinchilla, 240 runs) and 28.3 instead of 27.7 us (Gadre 3 corpora). Compiled code
    is cached per flag, so this does not reuse fast-math entries.
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


def compile_nutpie(model: pm.Model, lean: bool = True, initial_points: bool = True):
    """nutpie-compile ``model`` (numba) under :func:`exact_numba`.

    ``lean``: with :func:`_lean_wrappers` (the same log density and draws; the flat
    Chinchilla fit's compilation in a fresh process 9.1-10.3 s -> 5.8-6.5 s), whose two C
    callbacks go to pytensor's numba disk cache when its graphs do (pytensor's
    ``numba__cache``), so a later process loads them (flat Chinchilla fit: 0.02 s instead
    of 2.4-2.7 s). A graph pytensor cannot cache is compiled again without caching the
    callbacks.
    ``initial_points``: start from :func:`models.build.initial_values` (a scaling-law
    model); otherwise from nutpie's own initial points.
    """
    import nutpie
    import pytensor

    start = {"initial_points": initial_values(model)} if initial_points else {}
    with _CACHE_LOCK, exact_numba():
        if not lean:
            return nutpie.compile_pymc_model(model, **start)
        if pytensor.config.numba__cache:
            with _lean_wrappers(cache=True) as applied:
                try:
                    return nutpie.compile_pymc_model(
                        model, **start, **({"cache": True} if applied else {})
                    )
                except _Uncacheable:
                    pass  # a graph without a cache key: compiled below, callbacks uncached
        with _lean_wrappers():
            return nutpie.compile_pymc_model(model, **start)


def draws_log_prior(entry: dict, posterior: xr.Dataset, names: tuple[str, ...]) -> xr.Dataset:
    """Log prior density of each of ``names`` (free variables of ``entry``'s model) per draw.

    What ``pm.compute_log_prior`` returns, from one compiled function per structure and set
    of names that takes every draw at once: ``compute_log_prior`` compiled the model's
    density again on each fit and called it once per draw (0.44-0.49 s of the second flat
    Chinchilla fit's 3.2-3.8 s). The shared data (the centres some priors are placed at) are
    read from the model when it is called, so the model must hold the fit's data.
    """
    model = entry["model"]
    with _CACHE_LOCK:
        functions = entry.setdefault("log_prior", {})
        if names not in functions:
            functions[names] = _draws_log_prior_fn(model, names)
        inputs, function, copy = functions[names]
        for data in model.data_vars:  # the copy's shared data are its own
            copy[data.name].set_value(data.get_value(borrow=True), borrow=True)
        sizes = (posterior.sizes["chain"], posterior.sizes["draw"])
        draws = [posterior[name].transpose("chain", "draw", ...).values for name in inputs]
        values = function(*(d.reshape(-1, *d.shape[2:]) for d in draws))
    dims = model.named_vars_to_dims
    out = {}
    for name, value in zip(names, values, strict=True):
        # a multivariate prior (the zero-sum group offsets) has one density per draw
        own = dims.get(name, ()) if value.ndim > 1 else ()
        out[name] = (("chain", "draw", *own), value.reshape(*sizes, *value.shape[1:]))
    return xr.Dataset(out, coords={dim: posterior[dim] for dim in posterior.dims})


def _draws_log_prior_fn(model: pm.Model, names: tuple[str, ...]):
    """Return (input names, function, the model it reads): log prior of ``names``, draws first.

    That model is ``model`` without value transforms (the posterior holds untransformed
    values), a copy with shared data of its own.
    """
    import pytensor.tensor as pt
    from pymc.model.transform.conditioning import remove_value_transforms
    from pytensor.graph.replace import vectorize_graph

    untransformed = remove_value_transforms(model)
    batched = {
        v: pt.tensor(v.name, dtype=v.dtype, shape=(None, *v.type.shape))
        for v in untransformed.value_vars
    }
    densities = untransformed.logp(vars=[untransformed[n] for n in names], sum=False)
    with exact_numba():
        function = pm.pytensorf.compile(
            list(batched.values()),
            vectorize_graph(densities, replace=batched),
            mode="NUMBA",
            on_unused_input="ignore",
        )
    return [v.name for v in batched.values()], function, untransformed


def _nutpie_compiled(entry: dict, data: ModelData):
    """Return the compiled model of ``entry`` holding ``data``, and the seconds compiling it."""
    with _CACHE_LOCK:
        compiled = entry["compiled"]
        if compiled is None:
            start = time.perf_counter()
            compiled = compile_nutpie(entry["model"])
            entry["compiled"] = compiled
            return compiled.with_data(**data.shared_values()), time.perf_counter() - start
    return compiled.with_data(**data.shared_values()), 0.0
