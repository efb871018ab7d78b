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
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from forecast.fit import Fit, model_data
from forecast.units import D_ATTRS, LOSS_ATTRS, N_ATTRS
from models.laws import get_law

#: Largest number of (draw × point) values computed at once (about 400 MB of float64).
CHUNK_VALUES = 50_000_000


def _as_points(N, D) -> tuple[xr.DataArray, xr.DataArray]:
    """Broadcast N and D; plain arrays get dim ``point``, DataArrays keep their dims."""
    if isinstance(N, xr.DataArray) or isinstance(D, xr.DataArray):
        N_da, D_da = xr.broadcast(xr.DataArray(N), xr.DataArray(D))
    else:
        N_arr, D_arr = np.broadcast_arrays(np.asarray(N, float), np.asarray(D, float))
        if N_arr.ndim > 1:
            raise ValueError("pass N and D as 1-D arrays, scalars, or xarray DataArrays for grids")
        dims = ("point",) if N_arr.ndim == 1 else ()
        N_da, D_da = xr.DataArray(N_arr, dims=dims), xr.DataArray(D_arr, dims=dims)
    if not (np.all(np.isfinite(N_da)) and np.all(N_da > 0)):
        raise ValueError("N must be finite and > 0 (parameters)")
    if not (np.all(np.isfinite(D_da)) and np.all(D_da > 0)):
        raise ValueError("D must be finite and > 0 (tokens)")
    return N_da, D_da


def _new_group_params(result: Fit, seed: int) -> dict[str, xr.DataArray]:
    """Draw every law parameter for a group not in the data, from the population."""
    law = get_law(result.config.law)
    post = result.posterior
    centres = model_data(result.runs, result.config).centres
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    shape = (post.sizes["chain"], post.sizes["draw"])
    out: dict[str, xr.DataArray] = {}
    order = sorted(law.params, key=lambda p: p in law.centring)
    for name in order:
        if name not in result.config.pooled_params:
            out[name] = post[name]
            continue
        z = xr.DataArray(rng.standard_normal(shape), dims=("chain", "draw"))
        step = post[f"sigma_{name}"] * z
        if name in law.centring:
            slope_name, covariate = law.centring[name]
            slope = out[slope_name] if slope_name else 1.0
            out[name] = post[f"{name}_c"] + step + slope * centres[covariate]
        elif name in law.positive:
            out[name] = post[name] * np.exp(step)
        else:
            out[name] = post[name] + step
    return out


def group_params(
    result: Fit, group: str | None = None, *, seed: int = 0
) -> dict[str, xr.DataArray]:
    """Posterior draws of the law's parameters for one group or a new group.

    Parameters
    ----------
    result : Fit
        A fitted result.
    group : str, optional
        A group label of the fit; ``None`` = a new group from the population (the only
        group of a one-group fit).
    seed : int
        Seed of the new-group offsets.

    Returns
    -------
    dict of str to xarray.DataArray
        Each law parameter with dims ``("chain", "draw")``.

    Raises
    ------
    KeyError
        ``group`` is not a group of the fit.
    """
    law = get_law(result.config.law)
    labels = result.groups
    if group is None and len(labels) == 1:
        group = labels[0]
    if group is None:
        return _new_group_params(result, seed)
    if group not in labels:
        raise KeyError(f"group {group!r} is not in the fit; its groups are {labels}")
    post = result.posterior
    return {p: post[f"{p}_group"].sel(group=group, drop=True) for p in law.params}


def _noise_sd(result: Fit, group: str | None) -> xr.DataArray:
    sigma = result.posterior["sigma"]
    labels = result.groups
    if group is None and len(labels) == 1:
        group = labels[0]
    if group is not None:
        return sigma.sel(group=group, drop=True)
    return np.sqrt((sigma**2).mean("group"))


def predict(
    result: Fit,
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
    result : Fit
        A fitted result.
    N : array_like or xarray.DataArray
        Total parameters (> 0). Scalars and 1-D arrays broadcast against ``D`` along a
        dim ``point``; DataArrays keep their dims (use them for 2-D grids).
    D : array_like or xarray.DataArray
        Training tokens seen (> 0), repeats included.
    group : str, optional
        Group label; ``None`` = a new group from the population (see module notes).
    unique_tokens : array_like, optional
        Unique tokens U (data-constrained law); default ``D`` (no repetition).
    include_noise : bool
        ``False``: the mean curve. ``True``: the loss of one new run, with the fitted
        observation noise on the log scale (Normal, or Student-t with the fitted ``nu``).
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
        Non-positive or non-finite N or D.
    KeyError
        Unknown group.

    Examples
    --------
    >>> draws = predict(result, [1e9, 1e10], [2e10, 2e11])  # doctest: +SKIP
    >>> draws.dims  # doctest: +SKIP
    ('chain', 'draw', 'point')
    """
    law = get_law(result.config.law)
    N_da, D_da = _as_points(N, D)
    params = group_params(result, group, seed=seed)
    log_U = None
    if law.needs_unique_tokens:
        U = D_da if unique_tokens is None else xr.broadcast(xr.DataArray(unique_tokens), D_da)[0]
        log_U = np.log(np.minimum(U, D_da))
    log_loss = _log_loss_draws(law, N_da, D_da, params, log_U)
    if include_noise:
        log_loss = log_loss + _noise(result, group, log_loss, seed)
    loss = np.exp(log_loss).transpose("chain", "draw", ...)
    loss = loss.assign_coords(N=N_da.assign_attrs(N_ATTRS), D=D_da.assign_attrs(D_ATTRS))
    curve = "loss of one new run (with observation noise)" if include_noise else "mean curve"
    return loss.rename("loss").assign_attrs(
        {**LOSS_ATTRS, "curve": curve, "group": "new group" if group is None else group}
    )


def _log_loss_draws(law, N_da, D_da, params: Mapping[str, xr.DataArray], log_U):
    """Evaluate the law on numpy arrays: draws (chain, draw, 1) × flattened points.

    Points are processed in chunks so that no intermediate exceeds ``CHUNK_VALUES``
    values (a 10^6-point grid with 4000 draws stays within a few hundred MB per chunk).
    """
    first = params[law.params[0]]
    n_chain, n_draw = first.sizes["chain"], first.sizes["draw"]
    theta = {
        k: np.asarray(v.transpose("chain", "draw").values, float)[..., None]
        for k, v in params.items()
    }
    log_N = np.log(N_da.values).ravel()
    log_D = np.log(D_da.values).ravel()
    flat_U = None if log_U is None else np.asarray(log_U.values, float).ravel()
    out = np.empty((n_chain, n_draw, log_N.size))
    step = max(1, CHUNK_VALUES // max(1, n_chain * n_draw))
    for start in range(0, log_N.size, step):
        sl = slice(start, start + step)
        out[..., sl] = law.log_loss(
            log_N[sl], log_D[sl], theta, xp=np, log_U=None if flat_U is None else flat_U[sl]
        )
    values = out.reshape((n_chain, n_draw) + N_da.shape)
    return xr.DataArray(
        values,
        dims=("chain", "draw") + N_da.dims,
        coords={"chain": first["chain"], "draw": first["draw"]},
    )


def _noise(result: Fit, group, like: xr.DataArray, seed: int) -> xr.DataArray:
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    sd = _noise_sd(result, group)
    like = like.transpose("chain", "draw", ...)
    if result.config.likelihood == "student_t":
        nu = result.posterior["nu"].values.reshape(sd.shape + (1,) * (like.ndim - 2))
        eps = rng.standard_t(nu, size=like.shape)
    else:
        eps = rng.standard_normal(like.shape)
    return xr.DataArray(eps, dims=like.dims) * sd
