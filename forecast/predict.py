r"""Posterior predictions of loss at any (N, D), vectorised over draws.

Two curves are available and every result says which one it is:

* the **mean curve** :math:`f(N, D; \theta)` — the law itself, what a forecast of "the
  loss of a model of this size" usually means (``include_noise=False``);
* the **loss of one new run**, :math:`\exp(\log f + \varepsilon)` with the fitted noise
  on the log scale (``include_noise=True``) — what a backtest against individual runs needs.

Groups: ``group="<label>"`` uses that group's parameters. ``group=None`` draws a **new
group** from the population (a lab, corpus or eval set not in the data): positive
parameters :math:`\theta e^{\sigma_\theta z}`, log-scale coefficients shifted by
:math:`\sigma_\theta z` at the data centre, with :math:`z \sim \mathcal{N}(0, 1)` seeded.
A fit with a single group has no information on between-group spread beyond its prior,
so there ``group=None`` means that one group.

Memory: :func:`predict` returns every draw at every point, 8 bytes each, so 4000 draws on a
:math:`10^6`-point grid would be 32 GB; it refuses results above :data:`MAX_DRAWS_BYTES`.
:func:`predict_summary` returns the median and an equal-tailed interval per point instead,
computed block by block so that memory stays bounded (a few hundred MB) whatever the grid.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from forecast.averaged import Stack, mixes_draws
from forecast.fit import Fit, package_versions
from forecast.intervals import CI_BOUNDS, eti
from forecast.posterior_view import NoiseModel as NoiseModel
from forecast.posterior_view import PosteriorView, posterior_view
from forecast.posterior_view import flat_draws as flat_draws
from forecast.posterior_view import group_params as group_params
from forecast.posterior_view import noise_model as noise_model
from forecast.units import CI_PROB, D_ATTRS, LOSS_ATTRS, N_ATTRS

#: Number of (draw × point) values evaluated per block (2 MB of float64): blocks this small
#: keep the law's temporaries in cache, about twice as fast as one big evaluation.
CHUNK_VALUES = 262_144
#: Threads evaluating blocks of a large :func:`predict` (results do not depend on it).
PREDICT_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Largest (draw × point) block :func:`predict_summary` holds at once (8 MB of float64),
#: per thread (``PREDICT_THREADS``); blocks are whole points, so at least one point's draws.
SUMMARY_CHUNK_VALUES = 1_000_000
#: Largest array of draws :func:`predict` returns, in bytes (4 GiB); above it, summarise.
MAX_DRAWS_BYTES = 4 * 2**30


def _as_points(N, D) -> tuple[xr.DataArray, xr.DataArray]:
    """Broadcast N and D; plain arrays get dim ``point``, DataArrays keep their dims."""
    if isinstance(N, xr.DataArray) or isinstance(D, xr.DataArray):
        for name, value in (("N", N), ("D", D)):
            if not isinstance(value, xr.DataArray) and np.ndim(value) > 0:
                # xr.DataArray(value) would get a dim of its own and make a silent grid
                raise ValueError(
                    f"{name} is a plain array and the other an xarray DataArray; pass both as "
                    "DataArrays (broadcast by dim name, e.g. a grid) or both as plain arrays "
                    "(paired point by point)"
                )
        N_da, D_da = xr.broadcast(xr.DataArray(N), xr.DataArray(D))
    else:
        N_arr, D_arr = np.broadcast_arrays(np.asarray(N, float), np.asarray(D, float))
        if N_arr.ndim > 1:
            raise ValueError("pass N and D as 1-D arrays, scalars, or xarray DataArrays for grids")
        dims = ("point",) if N_arr.ndim == 1 else ()
        N_da, D_da = xr.DataArray(N_arr, dims=dims), xr.DataArray(D_arr, dims=dims)
    _require_positive(N_da, "N", "parameters")
    _require_positive(D_da, "D", "tokens")
    return N_da, D_da


def _require_positive(values: xr.DataArray, name: str, unit: str) -> None:
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ValueError(f"{name} must be finite and > 0 ({unit})")


@mixes_draws
def predict(
    result: Fit | Stack,
    N,
    D,
    *,
    group: str | None = None,
    unique_tokens=None,
    include_noise: bool = False,
    seed: int = 0,
) -> xr.DataArray:
    r"""Posterior draws of the loss at (N, D).

    .. math:: L^{(s)}(N, D) = f(N, D; \theta^{(s)}_g)\,[\times e^{\varepsilon^{(s)}}]

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (:class:`forecast.averaged.Stack`: each
        draw from the component it is allocated to).
    N : array_like or xarray.DataArray
        Total parameters (> 0). Scalars and 1-D arrays broadcast against ``D`` along a
        dim ``point``; DataArrays keep their dims (use them for 2-D grids). A DataArray
        pairs with a scalar or another DataArray, not with a plain array (ValueError).
    D : array_like or xarray.DataArray
        Training tokens seen (> 0), repeats included.
    group : str, optional
        Group label; ``None`` = a new group from the population (see module notes).
    unique_tokens : array_like, optional
        Unique tokens U (data-constrained law): a scalar, one value per point, or a
        DataArray broadcast against ``D`` by dims; default ``D`` (no repetition).
    include_noise : bool
        ``False``: the mean curve. ``True``: the loss of one new run, with the fitted
        observation noise on the log scale (Normal, or Student-t with the fitted ``nu``);
        for a fit with ``discrepancy="compute"`` its SD grows with the point's distance in
        compute from the data centre (:func:`models.noise.discrepancy_sd`).
    seed : int
        Seed of new-group offsets and noise.

    Returns
    -------
    xarray.DataArray
        Loss in nats/token with dims ``("chain", "draw", *point_dims)`` and coords ``N``
        (parameters) and ``D`` (tokens); attrs say which curve it is.

    Raises
    ------
    ValueError
        Non-positive or non-finite N or D, or a result larger than
        :data:`MAX_DRAWS_BYTES` (use :func:`predict_summary` for large grids).
    KeyError
        Unknown group.

    Examples
    --------
    >>> draws = predict(result, [1e9, 1e10], [2e10, 2e11])  # doctest: +SKIP
    >>> draws.dims  # doctest: +SKIP
    ('chain', 'draw', 'point')
    """
    N_da, D_da = _as_points(N, D)
    _check_size(result, N_da.size)
    view = posterior_view(result, group, seed=seed)
    log_U = _unique_tokens(view.law, D_da, unique_tokens)
    log_loss = _log_loss_draws(view, N_da, D_da, log_U)
    if include_noise:
        log_loss = log_loss + view.noise.sample(log_loss, seed, np.log(N_da), np.log(D_da))
    loss = log_loss.transpose("chain", "draw", ...)
    np.exp(loss.values, out=loss.values)  # in place: the array is ours (and can be GBs)
    loss = loss.assign_coords(N=N_da.assign_attrs(N_ATTRS), D=D_da.assign_attrs(D_ATTRS))
    curve = "loss of one new run (with observation noise)" if include_noise else "mean curve"
    return loss.rename("loss").assign_attrs(
        {**LOSS_ATTRS, "curve": curve, "group": "new group" if group is None else group}
    )


def _check_size(result: Fit, n_points: int) -> None:
    """Refuse a draws array that would not fit in memory; point to the summary instead."""
    post = result.posterior
    n_draws = post.sizes["chain"] * post.sizes["draw"]
    size = 8 * n_draws * n_points
    if size > MAX_DRAWS_BYTES:
        raise ValueError(
            f"predict would return {size / 2**30:.1f} GiB of draws ({n_draws} draws x "
            f"{n_points} points), more than MAX_DRAWS_BYTES = {MAX_DRAWS_BYTES / 2**30:g} GiB; "
            "use predict_summary() for medians and intervals on large grids, or fewer points"
        )


def _unique_tokens(law, D_da: xr.DataArray, unique_tokens) -> xr.DataArray | None:
    """Log unique tokens broadcast against ``D`` (clipped to D), or None for other laws.

    A DataArray broadcasts by dimension name; anything else is one value per point of
    ``D`` (or a scalar) and takes ``D``'s dims. (Wrapping a plain array in a DataArray
    would give it its own dim and broadcast it against every point.)
    """
    if not law.needs_unique_tokens:
        return None
    U = D_da if unique_tokens is None else _like_D(unique_tokens, D_da)
    _require_positive(U, "unique_tokens", "tokens")
    return np.log(np.minimum(U, D_da))


def _like_D(unique_tokens, D_da: xr.DataArray) -> xr.DataArray:
    """``unique_tokens`` broadcast against ``D`` (a DataArray by dims, else point by point)."""
    if isinstance(unique_tokens, xr.DataArray):
        return xr.broadcast(unique_tokens, D_da)[0]
    values = np.asarray(unique_tokens, float)
    try:
        return D_da.copy(data=np.broadcast_to(values, D_da.shape))
    except ValueError:
        raise ValueError(
            f"unique_tokens has shape {values.shape}; it must be a scalar or one value per "
            f"point of N and D (shape {D_da.shape})"
        ) from None


def predict_summary(
    result: Fit | Stack,
    N,
    D,
    *,
    group: str | None = None,
    unique_tokens=None,
    ci_prob: float = CI_PROB,
    include_noise: bool = False,
    seed: int = 0,
) -> xr.Dataset:
    r"""Posterior median and equal-tailed interval of the loss at (N, D), in bounded memory.

    The same quantity as :func:`predict`, summarised over draws point by point: the
    posterior draws are evaluated for blocks of points (at most
    :data:`SUMMARY_CHUNK_VALUES` draw-point values at a time) and reduced before the next
    block, so memory does not grow with the number of points. Use it for dense grids,
    e.g. :math:`10^6` points with 4000 draws, where the draws themselves would be 32 GB.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior: then the quantiles are those of the
        mixture draws of :func:`predict` (a block of points at a time), and the noise of
        ``include_noise`` is that of :func:`predict` with the same seed, restarted in
        every block (each point's draws are still independent across draws).
    N, D, group, unique_tokens
        As in :func:`predict`: parameters and tokens (> 0; scalars and 1-D arrays
        broadcast along a dim ``point``, DataArrays keep their dims), the group label
        (``None`` = a new group) and the unique tokens of the data-constrained law.
    ci_prob : float
        Probability mass of the equal-tailed interval, in (0, 1); default
        :data:`forecast.units.CI_PROB` (0.9).
    include_noise : bool
        ``False``: the mean curve. ``True``: the loss of one new run (observation noise
        on the log scale). The noise is drawn point by point from ``seed``, so results do
        not depend on the block size, but are not the draws :func:`predict` would make.
    seed : int
        Seed of new-group offsets (as in :func:`predict`) and of the noise.

    Returns
    -------
    xarray.Dataset
        ``loss_median``: posterior median, nats/token, with the point dims of ``N`` and
        ``D``; ``loss_ci``: the interval bounds, nats/token, dims ``(*point_dims,
        "ci_bound")`` (the layout of :mod:`forecast.intervals`) with coords ``ci_bound =
        ["lower", "upper"]``. Coords ``N`` (parameters) and ``D`` (tokens). Attrs
        ``ci_kind = "eti"``, ``ci_prob``, ``curve``, ``group``, ``package_version``,
        ``config_hash``, ``seed`` and ``law``.

    Raises
    ------
    ValueError
        Non-positive or non-finite N or D, or ``ci_prob`` outside (0, 1).
    KeyError
        Unknown group.

    Notes
    -----
    With :math:`S` draws :math:`L^{(s)}` at a point, the bounds are the empirical quantiles

    .. math:: \left[\,Q_{(1-p)/2}\big(L^{(1..S)}\big),\;
              Q_{(1+p)/2}\big(L^{(1..S)}\big)\right], \qquad p = \text{ci\_prob},

    and the median is :math:`Q_{1/2}`, with numpy's linear interpolation, identical to
    summarising the output of :func:`predict` (without noise). Peak memory is about five
    blocks of :data:`SUMMARY_CHUNK_VALUES` float64 values per thread plus the output: under
    200 MB for :math:`10^6` points and 4000 draws (``bench/memory_predict.py``).

    References
    ----------
    Hyndman & Fan 1996, "Sample quantiles in statistical packages", The American
    Statistician 50(4), definition 7 (numpy's ``linear`` method).

    Examples
    --------
    >>> grid = np.geomspace(1e8, 1e12, 1_000_000)  # doctest: +SKIP
    >>> summary = predict_summary(result, grid, 20 * grid)  # doctest: +SKIP
    >>> summary["loss_ci"].sel(ci_bound="upper").dims  # doctest: +SKIP
    ('point',)
    """
    if isinstance(ci_prob, bool) or not isinstance(ci_prob, (int, float)) or not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob must be a probability in (0, 1); got {ci_prob!r}")
    N_da, D_da = _as_points(N, D)
    if isinstance(result, Stack):
        args = (N_da, D_da, group, unique_tokens, include_noise, seed, ci_prob)
        out = _stack_quantiles(result, *args)
        attrs = {**result.attrs(), "config_hash": _joined(result, "config_hash")}
        attrs["law"] = _joined(result, "law")
    else:
        out = _fit_quantiles(result, N_da, D_da, group, unique_tokens, include_noise, seed, ci_prob)
        attrs = {"config_hash": result.config.config_hash, "law": result.config.law}
    return _summary_dataset(out, N_da, D_da, ci_prob, include_noise, group, seed, attrs)


def _fit_quantiles(result, N_da, D_da, group, unique_tokens, include_noise, seed, ci_prob):
    """Median, lower and upper bound of a fit's draws at every point, (3, points), blockwise."""
    view = posterior_view(result, group, seed=seed)
    law = view.law
    log_U = _unique_tokens(law, D_da, unique_tokens)
    theta = {k: v.reshape(1, -1) for k, v in view.theta.items()}
    n_draws = next(iter(theta.values())).shape[1]
    log_N = np.log(N_da.values).reshape(-1, 1)
    log_D = np.log(D_da.values).reshape(-1, 1)
    flat_U = None if log_U is None else np.asarray(log_U.values, float).reshape(-1, 1)
    draw_noise = view.noise.sampler(seed) if include_noise else None
    out = np.empty((3, log_N.shape[0]))
    step = max(1, SUMMARY_CHUNK_VALUES // n_draws)

    def summarise(start: int) -> None:
        sl = slice(start, start + step)
        block = law.log_loss(
            log_N[sl], log_D[sl], theta, xp=np, log_U=None if flat_U is None else flat_U[sl]
        )  # (points, draws), C order: each point's draws are contiguous
        block = np.broadcast_to(block, (log_N[sl].shape[0], n_draws))
        if draw_noise is not None:
            block = block + draw_noise(block.shape, log_N[sl], log_D[sl])
        block = np.exp(block)
        med, bounds = eti(block, ci_prob, axis=1, overwrite_input=True)
        out[0, sl], out[1:, sl] = med, bounds.T

    starts = range(0, log_N.shape[0], step)
    if draw_noise is None and len(starts) > 1 and PREDICT_THREADS > 1:
        # numpy releases the GIL in ufuncs and partitions; the noise stream stays sequential
        with ThreadPoolExecutor(max_workers=PREDICT_THREADS) as pool:
            list(pool.map(summarise, starts))
    else:
        for start in starts:
            summarise(start)
    return out


def _joined(stack: Stack, what: str) -> str:
    """One config field of every component, as JSON by component (or the common value)."""
    values = {n: getattr(f.config, what) for n, f in stack.components.items()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return json.dumps(values)


def _stack_quantiles(stack, N_da, D_da, group, unique_tokens, include_noise, seed, ci_prob):
    """Median, lower and upper bound of a stack's mixture draws at every point, blockwise.

    Each block of points is :func:`predict` of the stack (its mixture draws), reduced to
    quantiles before the next block, so memory is bounded by the block size times the
    number of components.
    """
    flat_U = None
    if unique_tokens is not None:
        flat_U = np.asarray(_like_D(unique_tokens, D_da).values, float).ravel()
    flat_N, flat_D = N_da.values.ravel(), D_da.values.ravel()
    post = next(iter(stack.components.values())).posterior
    n_draws = post.sizes["chain"] * post.sizes["draw"]
    step = max(1, SUMMARY_CHUNK_VALUES // n_draws)
    out = np.empty((3, flat_N.size))
    for start in range(0, flat_N.size, step):
        sl = slice(start, start + step)
        draws = predict(
            stack,
            flat_N[sl],
            flat_D[sl],
            group=group,
            unique_tokens=None if flat_U is None else flat_U[sl],
            include_noise=include_noise,
            seed=seed,
        )
        values = draws.transpose("point", "chain", "draw").values.reshape(-1, n_draws)
        med, bounds = eti(values, ci_prob, axis=1)
        out[0, sl], out[1:, sl] = med, bounds.T
    return out


def _summary_dataset(out, N_da, D_da, ci_prob, include_noise, group, seed, attrs) -> xr.Dataset:
    """Build the Dataset of :func:`predict_summary` from (median, lower, upper) ``out``."""
    shape, dims = N_da.shape, N_da.dims
    coords = {"N": N_da.assign_attrs(N_ATTRS), "D": D_da.assign_attrs(D_ATTRS)}
    curve = "loss of one new run (with observation noise)" if include_noise else "mean curve"
    median = xr.DataArray(out[0].reshape(shape), dims=dims, coords=coords)
    bounds = xr.DataArray(
        np.moveaxis(out[1:].reshape((2, *shape)), 0, -1),
        dims=(*dims, "ci_bound"),
        coords={**coords, "ci_bound": list(CI_BOUNDS)},
    )
    return xr.Dataset(
        {
            "loss_median": median.assign_attrs({**LOSS_ATTRS, "statistic": "posterior median"}),
            "loss_ci": bounds.assign_attrs(
                {**LOSS_ATTRS, "statistic": f"{ci_prob:g} equal-tailed interval"}
            ),
        },
        attrs={
            "ci_kind": "eti",
            "ci_prob": float(ci_prob),
            "curve": curve,
            "group": "new group" if group is None else group,
            "package_version": package_versions()["scaling-forecast"],
            "seed": seed,
            **attrs,
        },
    )


def _log_loss_draws(view: PosteriorView, N_da, D_da, log_U) -> xr.DataArray:
    """Evaluate the law on numpy arrays: draws (chain, draw, 1) × flattened points.

    Points are processed in blocks so that no intermediate exceeds ``CHUNK_VALUES``
    values (a few MB, whatever the grid), written into one preallocated output.
    """
    law = view.law
    n_chain, n_draw = view.shape
    log_N = np.log(N_da.values).ravel()
    log_D = np.log(D_da.values).ravel()
    flat_U = None if log_U is None else np.asarray(log_U.values, float).ravel()
    out = np.empty((n_chain, n_draw, log_N.size))
    # Blocks of whole rows (draws) x contiguous points: each write is one contiguous copy.
    rows_out = out.reshape(n_chain * n_draw, log_N.size)
    rows_theta = {k: v.reshape(-1, 1) for k, v in view.theta.items()}
    cols = max(1, min(log_N.size, CHUNK_VALUES))
    rows = max(1, CHUNK_VALUES // cols)

    def fill(r: int) -> None:
        block = {k: v[r : r + rows] for k, v in rows_theta.items()}
        for c in range(0, log_N.size, cols):
            sl = slice(c, c + cols)
            rows_out[r : r + rows, sl] = law.log_loss(
                log_N[sl], log_D[sl], block, xp=np, log_U=None if flat_U is None else flat_U[sl]
            )

    starts = range(0, n_chain * n_draw, rows)
    if len(starts) * cols * rows < 4 * CHUNK_VALUES:
        for r in starts:
            fill(r)
    else:  # numpy releases the GIL in ufuncs: blocks run in parallel on threads
        with ThreadPoolExecutor(max_workers=PREDICT_THREADS) as pool:
            list(pool.map(fill, starts))
    values = out.reshape((n_chain, n_draw) + N_da.shape)
    return xr.DataArray(
        values,
        dims=("chain", "draw") + N_da.dims,
        coords=view.coords,
    )
