r"""An averaged (stacked) posterior: several fits of the same runs, mixed by weight.

A :class:`Stack` holds component fits (:class:`forecast.fit.Fit`, e.g. a Normal and a
Student-t likelihood, or with and without a compute discrepancy), their weights on the
simplex and how the weights were obtained (``"lfo"``, ``"loo"``, ``"equal"`` or
``"given"``; :func:`forecast.studies.stacking.fit_averaged` makes one). Its predictive is the
mixture

.. math:: p(\tilde y \mid y) = \sum_k w_k\, p(\tilde y \mid y, M_k).

How the mixture is realised
---------------------------
Draw-wise. The :math:`S` posterior draws (all components share ``chain`` and ``draw``)
are allocated to components once, deterministically from the stack's seed, by
**systematic resampling** of component labels: with :math:`u \sim U(0, 1)` and
:math:`u_s = (u + s)/S`, draw :math:`s` gets the component :math:`k` whose cumulative
weight interval holds :math:`u_s`; the labels are then shuffled (seeded) across chains and
draws. Component :math:`k` thus gets :math:`\lfloor S w_k \rfloor` or
:math:`\lceil S w_k \rceil` draws, not a binomial number of them.

Every draw-based result of a stack (``predict``, ``forecast_draws``, ``allocate`` …) is
the component results taken at the draws allocated to them: mixture draw :math:`s` is
component :math:`k_s`'s draw :math:`s`. Every summary (medians, intervals,
:math:`P(L < x)`) is computed from those mixture draws, never by averaging per-component
summaries. One function, :func:`mixes_draws`, does this dispatch for every public
function that takes a fit.
"""

from __future__ import annotations

import functools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from forecast import _idata
from forecast.errors import ConfigError
from forecast.fit import Fit

__all__ = [
    "WEIGHT_METHODS",
    "Stack",
    "allocate_draws",
    "group_column_of",
    "law_of",
    "mix",
    "mixes_draws",
    "posterior_of",
]

#: How a stack's weights were obtained.
WEIGHT_METHODS = ("lfo", "loo", "equal", "given")
_SAMPLE_DIMS = ("chain", "draw")
_NAME = re.compile(r"^[^/]+$")  # a NetCDF group name in saved files


def allocate_draws(weights, n_chain: int, n_draw: int, *, seed: int = 0) -> np.ndarray:
    r"""Component label of each posterior draw, by seeded systematic resampling.

    Parameters
    ----------
    weights : array_like
        Non-negative weights, one per component (normalised here).
    n_chain, n_draw : int
        Shape of the draws.
    seed : int
        Seed of the offset :math:`u` and of the shuffle.

    Returns
    -------
    numpy.ndarray of int
        Shape ``(n_chain, n_draw)``; component ``k`` appears :math:`\lfloor S w_k \rfloor`
        or :math:`\lceil S w_k \rceil` times (:math:`S` = ``n_chain * n_draw``), never when
        :math:`w_k = 0`.

    Examples
    --------
    >>> labels = allocate_draws([0.25, 0.75], 2, 200, seed=1)
    >>> np.bincount(labels.ravel()).tolist()
    [100, 300]
    """
    w = np.asarray(weights, float)
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(f"weights must be finite, >= 0 and not all 0; got {w.tolist()}")
    w = w / w.sum()
    S = n_chain * n_draw
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    u = (rng.uniform() + np.arange(S)) / S
    edges = np.cumsum(w)
    labels = np.minimum(np.searchsorted(edges, u, side="right"), w.size - 1)
    # a zero-weight last component can only be reached by rounding of the cumsum
    last = np.flatnonzero(w > 0)[-1]
    labels = np.minimum(labels, last)
    return rng.permutation(labels).reshape(n_chain, n_draw)


def _pick(values: list[xr.DataArray], labels: np.ndarray) -> xr.DataArray:
    """Take each (chain, draw) of the component its label names."""
    first = values[0]
    if not all(d in first.dims for d in _SAMPLE_DIMS):
        return first
    order = ("chain", "draw", *(d for d in first.dims if d not in _SAMPLE_DIMS))
    arrays = [v.transpose(*order).values for v in values]
    out = arrays[0].copy()
    for k, array in enumerate(arrays[1:], start=1):
        hit = labels == k
        out[hit] = array[hit]
    return first.transpose(*order).copy(data=out).transpose(*first.dims)


def _merge_attrs(names: list[str], attrs: list[Mapping]) -> dict:
    """Attrs equal in every component as they are; others as JSON by component."""
    out = {}
    for key in dict.fromkeys(k for a in attrs for k in a):
        values = [a.get(key) for a in attrs]
        if all(_same(v, values[0]) for v in values):
            out[key] = values[0]
        else:
            out[key] = json.dumps(dict(zip(names, map(_plain, values), strict=True)))
    return out


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(a, b))
    except Exception:  # noqa: BLE001 - values of unrelated types are different
        return False


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def mix(outputs: Iterable, labels: np.ndarray, names: list[str]):
    """Mix per-component results (DataArray or Dataset) draw by draw.

    Parameters
    ----------
    outputs : iterable of xarray.DataArray or xarray.Dataset
        One result per component, in the order of ``names``, alike in dims and sizes.
    labels : numpy.ndarray of int
        Component of each (chain, draw) (:func:`allocate_draws`).
    names : list of str
        Component names (for attrs that differ between components).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The results at the allocated draws; variables without ``chain``/``draw`` are the
        first component's. Attrs equal in all components are kept; others become JSON
        objects by component.
    """
    outputs = list(outputs)
    first = outputs[0]
    if isinstance(first, xr.DataArray):
        out = _pick(outputs, labels)
    else:
        out = first.copy()
        for name in first.data_vars:
            out[name] = _pick([o[name] for o in outputs], labels)
    out.attrs = _merge_attrs(names, [o.attrs for o in outputs])
    if isinstance(first, xr.Dataset):
        for name in first.data_vars:
            out[name].attrs = _merge_attrs(names, [o[name].attrs for o in outputs])
    return out


@dataclass(frozen=True)
class Stack:
    """An averaged posterior: component fits of the same runs and their weights.

    Attributes
    ----------
    components : mapping of str to Fit
        Component fits by name (no ``/``: names are NetCDF groups in a saved file), all of
        the same runs and with the same number of chains and draws.
    weights : xarray.DataArray
        Weight of each component along dim ``component`` (sum 1).
    method : str
        How the weights were obtained: ``"lfo"`` (leave-future-out stacking on the
        training runs), ``"loo"`` (PSIS-LOO stacking), ``"equal"`` or ``"given"``.
    seed : int
        Seed of the allocation of draws to components (:func:`allocate_draws`).
    scores : xarray.Dataset
        Provenance of the weights along ``component`` (e.g. ``elpd_lfo`` or ``elpd_loo``)
        with attrs (the nested split of LFO: ``column``, ``n_fit``, ``n_scored``).
    """

    components: Mapping[str, Fit]
    weights: xr.DataArray
    method: str
    seed: int = 0
    scores: xr.Dataset = field(default_factory=xr.Dataset)

    def __post_init__(self) -> None:
        names = list(self.components)
        if not names:
            raise ConfigError("a stack needs at least one component")
        bad = [n for n in names if not _NAME.match(n)]
        if bad:
            raise ConfigError(f"component names must match {_NAME.pattern}; got {bad}")
        if self.method not in WEIGHT_METHODS:
            raise ConfigError(f"method must be one of {list(WEIGHT_METHODS)}; got {self.method!r}")
        if list(self.weights["component"].values) != names:
            raise ConfigError(
                f"weights are along {list(self.weights['component'].values)}; "
                f"components are {names}"
            )
        w = np.asarray(self.weights.values, float)
        if not (np.all(w >= 0) and abs(w.sum() - 1.0) < 1e-9):
            raise ConfigError(f"weights must be >= 0 and sum to 1; got {w.tolist()}")
        fits = list(self.components.values())
        hashes = {_idata.attrs(f.idata).get("data_hash") for f in fits}
        if len(hashes) > 1:
            raise ConfigError(f"the components of a stack must be fits of the same runs: {names}")
        columns = {f.config.groups for f in fits}
        if len(columns) > 1:
            raise ConfigError(
                f"the components of a stack must group the runs alike; group columns {columns}"
            )
        shapes = {(f.posterior.sizes["chain"], f.posterior.sizes["draw"]) for f in fits}
        if len(shapes) > 1:
            raise ConfigError(
                f"the components of a stack must have as many chains and draws; got {shapes}"
            )

    @property
    def names(self) -> list[str]:
        """Component names in order."""
        return list(self.components)

    @property
    def runs(self):
        """The runs every component was fitted to."""
        return next(iter(self.components.values())).runs

    @property
    def group_column(self) -> str | None:
        """The column whose values are the groups (the same for every component)."""
        return next(iter(self.components.values())).config.groups

    @property
    def groups(self) -> list[str]:
        """Group labels in model order (the same for every component)."""
        return next(iter(self.components.values())).groups

    def config_field(self, what: str):
        """One config field of every component: the common value, or JSON by component."""
        values = {n: getattr(f.config, what) for n, f in self.components.items()}
        if len({json.dumps(v, default=str) for v in values.values()}) == 1:
            return next(iter(values.values()))
        return json.dumps(values, default=str)

    def posterior_mixture(self, names: Iterable[str], *, purpose: str = "") -> xr.Dataset:
        """Mixture draws of posterior variables every weighted component has.

        Parameters
        ----------
        names : iterable of str
            Posterior variable names.
        purpose : str
            The caller's name, for the error message.

        Returns
        -------
        xarray.Dataset
            The variables, each draw from the component it is allocated to.

        Raises
        ------
        ConfigError
            A variable that some component with weight > 0 lacks (e.g. ``nu`` of a
            Normal likelihood): its mixture is not defined.
        """
        names = list(names)
        w = dict(zip(self.names, self.weights.values, strict=True))
        lacking = {
            n: [v for v in names if v not in f.posterior]
            for n, f in self.components.items()
            if w[n] > 0
        }
        lacking = {n: v for n, v in lacking.items() if v}
        if lacking:
            raise ConfigError(
                f"{purpose or 'a mixture'} needs {names} in every weighted component of the "
                f"stack, to mix their draws; lacking: {lacking}"
            )
        posts = []
        for f in self.components.values():
            post = f.posterior
            posts.append(xr.Dataset({v: post[v] for v in names if v in post}))
        # a zero-weight component gets no draws; fill its missing variables with the first's
        full = next(p for p, n in zip(posts, self.names, strict=True) if w[n] > 0)
        posts = [p.merge(full, compat="override") if set(p) != set(full) else p for p in posts]
        return self.mix(posts)

    @property
    def labels(self) -> np.ndarray:
        """Component index of each (chain, draw), shape ``(chain, draw)``."""
        post = next(iter(self.components.values())).posterior
        return allocate_draws(
            self.weights.values, post.sizes["chain"], post.sizes["draw"], seed=self.seed
        )

    @property
    def converged(self) -> bool:
        """Whether every component with weight > 0 passed its convergence checks."""
        w = dict(zip(self.names, self.weights.values, strict=True))
        return all(f.converged for n, f in self.components.items() if w[n] > 0)

    def attrs(self) -> dict:
        """Attrs that describe the stack in results made from it."""
        return {
            "stack_components": json.dumps(self.names),
            "stack_weights": json.dumps(
                {n: float(w) for n, w in zip(self.names, self.weights.values, strict=True)}
            ),
            "stack_method": self.method,
            "stack_seed": int(self.seed),
        }

    def mix(self, outputs: Iterable):
        """Mix per-component results draw by draw (see :func:`mix`), adding stack attrs."""
        out = mix(outputs, self.labels, self.names)
        out.attrs.update(self.attrs())
        return out


def law_of(result: Fit | Stack, *, purpose: str = "") -> str:
    """Return the law of a fit, or the common law of the components of a stack.

    Raises
    ------
    ConfigError
        The components of a stack differ in law (``purpose`` names the caller).
    """
    if not isinstance(result, Stack):
        return result.config.law
    law = result.config_field("law")
    if law not in [f.config.law for f in result.components.values()]:
        raise ConfigError(f"{purpose or 'this'}: the stack's components differ in law ({law})")
    return law


def group_column_of(result: Fit | Stack) -> str | None:
    """Return the column whose values are the groups, of a fit or a stack."""
    return result.group_column if isinstance(result, Stack) else result.config.groups


def posterior_of(result: Fit | Stack, names: Iterable[str], *, purpose: str = "") -> xr.Dataset:
    """Posterior draws of a fit, or of a stack's mixture (:meth:`Stack.posterior_mixture`)."""
    if isinstance(result, Stack):
        return result.posterior_mixture(names, purpose=purpose)
    return result.posterior


def mixes_draws(func: Callable) -> Callable:
    """Let a function of a ``Fit`` returning draws also take a :class:`Stack`.

    Given a stack, ``func`` runs on each component with the same arguments and the results
    are mixed draw by draw (:meth:`Stack.mix`). Warnings the components raise are repeated
    once each, not once per component.
    """

    @functools.wraps(func)
    def wrapper(result, *args, **kwargs):
        if not isinstance(result, Stack):
            return func(result, *args, **kwargs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outputs = [func(c, *args, **kwargs) for c in result.components.values()]
        seen = set()
        for w in caught:
            key = (w.category, str(w.message))
            if key not in seen:
                seen.add(key)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return result.mix(outputs)

    return wrapper
