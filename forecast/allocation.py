r"""Compute-optimal allocation: how to split a compute budget between N and D, per draw.

For a budget :math:`C = k N D` (FLOP; :math:`k` = ``flop_per_param_token``, 6 by default)
the compute-optimal model minimises the **mean curve** :math:`L(N, D)` on the iso-FLOP
line. Every posterior draw has its own optimum, so the result is a posterior of
:math:`N^*`, :math:`D^*`, tokens per parameter :math:`D^*/N^*` and the loss :math:`L^*`.

How it is solved
----------------
* ``chinchilla``: Hoffmann's closed form (:func:`models.laws.chinchilla.compute_optimal`),
  vectorised over draws.
* every other law (``chinchilla_broken``, ``kaplan``, ``kaplan_floor``,
  ``data_constrained`` with fresh data, :math:`U = D`): a 1-D minimisation over
  :math:`x = \log N` on the line :math:`\log D = \log(C/k) - x`, for all draws and
  budgets at once: a dense grid of ``GRID_POINTS`` values over the whole physical range
  (:math:`N \ge 1`, :math:`D \ge 1`) picks the best cell, then golden-section search
  refines it inside its two neighbouring cells. The grid makes the search global; golden
  section needs no derivative, so it also handles the kink of the data-constrained law at
  :math:`N = N_\mathrm{opt}(D)`.

The inverse — the compute-optimal budget for a **given** N — solves :math:`N^*(C) = N`.
On the frontier the loss is stationary along the iso-FLOP line, i.e.
:math:`\partial_{\log N} \log L = \partial_{\log D} \log L`; for fixed N the difference of
the two slopes is positive for too little data and negative for too much, so its sign
change in :math:`\log D` (grid scan, then bisection) gives :math:`D^*(N)` and
:math:`C = k N D^*`. Chinchilla again has a closed form,
:math:`D^* = G^{-1} (N/G)^{\alpha/\beta}`.

:math:`D` is always computed as :math:`C / (k N)`, so :math:`k N D = C` holds to rounding
for every draw.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from forecast import _idata
from forecast.averaged import Stack, mixes_draws
from forecast.extrapolation import assess
from forecast.fit import Fit
from forecast.posterior_view import posterior_view
from forecast.posterior_view import theta_arrays as theta_arrays
from forecast.units import C_ATTRS, D_ATTRS, FLOP_PER_PARAM_TOKEN, LOSS_ATTRS, N_ATTRS
from models.laws import LawSpec, chinchilla

#: Grid cells of the global search over log N (per draw and budget).
GRID_POINTS = 256
#: Golden-section iterations inside the best grid cell (bracket shrinks by 0.618 each).
GOLDEN_ITERATIONS = 60
#: Bisection iterations of the inverse problem (bracket halves each).
BISECTION_ITERATIONS = 60
#: Range of log D (tokens) scanned by the inverse problem: 1 token to e^90 ≈ 1.2e39 tokens.
LOG_D_RANGE = (0.0, 90.0)
#: Largest number of values evaluated at once in the grid search (~160 MB of float64).
CHUNK_VALUES = 20_000_000
#: Step of the central differences of the inverse problem, in log units.
_STEP = 1e-4
_INVPHI = (math.sqrt(5.0) - 1.0) / 2.0

TOKENS_PER_PARAM_ATTRS = {"units": "tokens/parameter", "long_name": "tokens per parameter D/N"}


def _expand(theta: dict[str, np.ndarray], axis_count: int) -> dict[str, np.ndarray]:
    """Append ``axis_count`` length-1 axes to every parameter array."""
    return {k: v.reshape(v.shape + (1,) * axis_count) for k, v in theta.items()}


def _line_log_loss(law: LawSpec, theta, x, log_budget):
    """Return log L on the iso-FLOP line: log N = x, log D = log_budget - x."""
    return law.log_loss(x, log_budget - x, theta, xp=np)


def _golden(f, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised golden-section minimisation of ``f`` on [lo, hi]; returns (x, f(x))."""
    a, b = lo.copy(), hi.copy()
    c = b - _INVPHI * (b - a)
    d = a + _INVPHI * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(GOLDEN_ITERATIONS):
        left = fc < fd  # the minimum lies in [a, d]
        a = np.where(left, a, c)
        b = np.where(left, d, b)
        new = np.where(left, b - _INVPHI * (b - a), a + _INVPHI * (b - a))
        f_new = f(new)
        c, d, fc, fd = (
            np.where(left, new, d),
            np.where(left, c, new),
            np.where(left, f_new, fd),
            np.where(left, fc, f_new),
        )
    better = fc < fd
    return np.where(better, c, d), np.where(better, fc, fd)


def _numeric_log_N(law: LawSpec, theta, log_budget: np.ndarray) -> tuple[np.ndarray, int]:
    """Grid + golden-section argmin of log L over log N, per draw and budget.

    ``theta`` arrays broadcast against ``log_budget`` (shape ``(..., P)``). Returns log N*
    with the broadcast shape and the number of optima on the edge of the range.
    """
    shape = np.broadcast_shapes(log_budget.shape, *(v.shape for v in theta.values()))
    log_budget = np.broadcast_to(log_budget, shape)
    theta_b = {k: np.broadcast_to(v, shape) for k, v in theta.items()}
    frac = np.linspace(0.0, 1.0, GRID_POINTS)
    spacing = 1.0 / (GRID_POINTS - 1)
    out = np.empty(shape)
    at_edge = 0
    flat_budget = log_budget.reshape(-1)
    flat_theta = {k: v.reshape(-1) for k, v in theta_b.items()}
    step = max(1, CHUNK_VALUES // GRID_POINTS)
    flat_out = out.reshape(-1)
    for start in range(0, flat_budget.size, step):
        sl = slice(start, start + step)
        s = flat_budget[sl]
        th = {k: v[sl] for k, v in flat_theta.items()}
        grid = s[:, None] * frac
        values = _line_log_loss(law, _expand(th, 1), grid, s[:, None])
        values = np.where(np.isnan(values), np.inf, values)
        best = np.argmin(values, axis=1)
        at_edge += int(np.count_nonzero((best == 0) | (best == GRID_POINTS - 1)))
        lo = np.clip(best - 1, 0, GRID_POINTS - 1) * spacing * s
        hi = np.clip(best + 1, 0, GRID_POINTS - 1) * spacing * s
        x, fx = _golden(lambda z, th=th, s=s: _line_log_loss(law, th, z, s), lo, hi)
        grid_best = np.take_along_axis(values, best[:, None], axis=1)[:, 0]
        grid_x = best * spacing * s
        flat_out[sl] = np.where(fx <= grid_best, x, grid_x)
    return out, at_edge


def _closed_form_log_N(theta, log_budget: np.ndarray, k: float) -> np.ndarray:
    """Hoffmann eq. 4 via :func:`models.laws.chinchilla.compute_optimal`."""
    N_opt, _ = chinchilla.compute_optimal(
        k * np.exp(log_budget),
        theta["E"],
        np.exp(theta["log_A"]),
        theta["alpha"],
        np.exp(theta["log_B"]),
        theta["beta"],
        flop_per_param_token=k,
    )
    return np.log(N_opt)


def optimal_log_N(
    law: LawSpec,
    theta: dict[str, np.ndarray],
    log_budget: np.ndarray,
    *,
    k: float = FLOP_PER_PARAM_TOKEN,
    closed_form: bool = True,
) -> tuple[np.ndarray, int]:
    r"""Log of the compute-optimal N for budgets :math:`C = k e^{\text{log\_budget}}`.

    Parameters
    ----------
    law : LawSpec
        The law.
    theta : dict of str to numpy.ndarray
        Parameter draws broadcasting against ``log_budget`` (e.g. ``(chain, draw, 1)``).
    log_budget : numpy.ndarray
        :math:`\log(C/k)`, i.e. log of N·D (parameters × tokens).
    k : float
        FLOP per parameter per token.
    closed_form : bool
        Use Hoffmann's closed form for ``chinchilla`` (``False`` forces the numerical
        search, for tests).

    Returns
    -------
    tuple of (numpy.ndarray, int)
        :math:`\log N^*` (N in parameters) with the broadcast shape, and the number of
        optima found on the edge of the search range (N = 1 or D = 1 token).
    """
    if law.name == "chinchilla" and closed_form:
        return np.broadcast_to(
            _closed_form_log_N(theta, log_budget, k),
            np.broadcast_shapes(log_budget.shape, *(v.shape for v in theta.values())),
        ).copy(), 0
    return _numeric_log_N(law, theta, log_budget)


def _slope_gap(law: LawSpec, theta, log_N, log_D):
    r"""Finite-difference :math:`\partial_{\log N}\log L - \partial_{\log D}\log L`."""
    h = _STEP
    d_N = law.log_loss(log_N + h, log_D, theta, xp=np) - law.log_loss(
        log_N - h, log_D, theta, xp=np
    )
    d_D = law.log_loss(log_N, log_D + h, theta, xp=np) - law.log_loss(
        log_N, log_D - h, theta, xp=np
    )
    return (d_N - d_D) / (2 * h)


def optimal_log_D_for_N(
    law: LawSpec,
    theta: dict[str, np.ndarray],
    log_N: np.ndarray,
    *,
    closed_form: bool = True,
) -> np.ndarray:
    r"""Log of the compute-optimal tokens for a given N (the inverse of the frontier).

    Parameters
    ----------
    law : LawSpec
        The law.
    theta : dict of str to numpy.ndarray
        Parameter draws broadcasting against ``log_N``.
    log_N : numpy.ndarray
        :math:`\log N`, N in parameters.
    closed_form : bool
        Use the closed form for ``chinchilla`` (``False`` forces the numerical solve).

    Returns
    -------
    numpy.ndarray
        :math:`\log D^*(N)`, D in tokens; ``nan`` where no frontier point lies within
        ``LOG_D_RANGE``.
    """
    shape = np.broadcast_shapes(log_N.shape, *(v.shape for v in theta.values()))
    if law.name == "chinchilla" and closed_form:
        alpha, beta = theta["alpha"], theta["beta"]
        log_G = (np.log(alpha) + theta["log_A"] - np.log(beta) - theta["log_B"]) / (alpha + beta)
        return np.broadcast_to((alpha / beta) * (log_N - log_G) - log_G, shape).copy()
    log_N = np.broadcast_to(log_N, shape)
    theta_b = {k: np.broadcast_to(v, shape) for k, v in theta.items()}
    lo_y, hi_y = LOG_D_RANGE
    grid = np.linspace(lo_y, hi_y, int(2 * (hi_y - lo_y)) + 1)
    gaps = _slope_gap(
        law,
        _expand(theta_b, 1),
        log_N[..., None],
        np.broadcast_to(grid, shape + grid.shape),
    )
    negative = gaps <= 0
    first = np.argmax(negative, axis=-1)
    found = negative.any(axis=-1) & (first > 0)
    lo = grid[np.maximum(first - 1, 0)]
    hi = grid[first]
    for _ in range(BISECTION_ITERATIONS):
        mid = 0.5 * (lo + hi)
        positive = _slope_gap(law, theta_b, log_N, mid) > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
    return np.where(found, 0.5 * (lo + hi), np.nan)


def _as_input(values, name: str) -> xr.DataArray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim > 1:
        raise ValueError(f"pass {name} as a scalar or a 1-D array")
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError(f"{name} must be finite and > 0")
    return xr.DataArray(arr, dims=("point",) if arr.ndim == 1 else ())


def result_attrs(result: Fit, seed: int) -> dict:
    """Attrs every result Dataset carries: package version, config hash, seed, law."""
    attrs = _idata.attrs(result.idata)
    return {
        "package_version": str(attrs.get("package_version", "unknown")),
        "config_hash": result.config.config_hash,
        "seed": int(seed),
        "law": result.config.law,
    }


@mixes_draws
def allocate(
    result: Fit | Stack,
    C=None,
    *,
    N=None,
    group: str | None = None,
    flop_per_param_token: float = FLOP_PER_PARAM_TOKEN,
    seed: int = 0,
) -> xr.Dataset:
    r"""Allocate a compute budget compute-optimally, or find the budget a size is optimal for.

    Give exactly one of ``C`` (the budget: find :math:`N^*`, :math:`D^*`) or ``N`` (the
    model size: find the budget :math:`C` for which ``N`` is compute-optimal, and its
    :math:`D^*`). Every posterior draw has its own frontier, so every output is a draw.

    Parameters
    ----------
    result : Fit or Stack
        A fitted result, or an averaged posterior (mixture draws, :mod:`forecast.averaged`).
    C : float or array_like, optional
        Training compute budgets, FLOP (> ``flop_per_param_token``). Scalars give no point
        dim, 1-D arrays a dim ``point``.
    N : float or array_like, optional
        Total parameters (> 0), instead of ``C``.
    group : str, optional
        Group label; ``None`` = a new group from the population (see
        :func:`forecast.predict.predict`).
    flop_per_param_token : float
        FLOP per parameter per training token, :math:`k` in :math:`C = k N D`.
    seed : int
        Seed of the new-group offsets (``group=None``).

    Returns
    -------
    xarray.Dataset
        Draws with dims ``("chain", "draw", *point)``: ``N`` (parameters), ``D`` (tokens),
        ``C`` (FLOP; equal to the input when ``C`` was given), ``tokens_per_param`` (D/N)
        and ``loss`` (nats/token, the **mean curve** at the optimum). Attrs:
        ``package_version``, ``config_hash``, ``seed``, ``law``, ``group``,
        ``flop_per_param_token``, ``method``, ``draws_at_search_edge`` and the distance
        beyond the runs (``extrapolation``, JSON; ``extrapolation_summary``,
        ``extrapolation_warning``; see :func:`forecast.extrapolation.assess`).

    Warns
    -----
    ExtrapolationWarning
        The compute-optimal tokens/param at a point lies outside what the runs and the
        published fits span, or its 90% interval spans more than 1.5 decades.

    Raises
    ------
    ValueError
        Neither or both of ``C`` and ``N``; values not finite and positive; a budget
        below one parameter × one token.
    KeyError
        Unknown group.

    Notes
    -----
    .. math::

        (N^*, D^*) = \operatorname*{arg\,min}_{k N D = C} L(N, D; \theta^{(s)}),
        \qquad \text{chinchilla: } N^* = G \left(\tfrac{C}{k}\right)^{\beta/(\alpha+\beta)},
        \quad G = \left(\tfrac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}

    References
    ----------
    Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
    arXiv:2203.15556, eq. 4; Besiroglu et al. 2024, arXiv:2404.10102, section 4.

    Examples
    --------
    >>> frontier = allocate(result, C=[1e24, 1e25])  # doctest: +SKIP
    >>> frontier["tokens_per_param"].median(("chain", "draw")).values  # doctest: +SKIP
    array([24.1, 26.3])
    """
    if (C is None) == (N is None):
        raise ValueError("give exactly one of C (FLOP budget) or N (parameters)")
    k = float(flop_per_param_token)
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"flop_per_param_token must be finite and > 0, got {k}")
    view = posterior_view(result, group, seed=seed)
    law = view.law
    theta = {k: v[..., None] for k, v in view.theta.items()}
    edge = 0
    if C is not None:
        given = _as_input(C, "C")
        log_budget = np.log(given.values.reshape(1, 1, -1) / k)
        if np.any(log_budget <= 0):
            raise ValueError(f"C must exceed {k} FLOP (one parameter trained on one token)")
        log_N, edge = optimal_log_N(law, theta, log_budget, k=k)
        C_draws = np.broadcast_to(given.values.reshape(1, 1, -1), log_N.shape)
        N_draws = np.exp(log_N)
    else:
        given = _as_input(N, "N")
        log_N_in = np.log(given.values.reshape(1, 1, -1))
        log_D = optimal_log_D_for_N(law, theta, log_N_in)
        N_draws = np.broadcast_to(given.values.reshape(1, 1, -1), log_D.shape)
        C_draws = k * N_draws * np.exp(log_D)
    D_draws = C_draws / (k * N_draws)
    loss = np.exp(law.log_loss(np.log(N_draws), np.log(D_draws), theta, xp=np))
    dims = ("chain", "draw") + given.dims
    shape = view.shape + given.shape

    def wrap(values, attrs):
        return xr.DataArray(np.reshape(values, shape), dims=dims, attrs=dict(attrs))

    out = xr.Dataset(
        {
            "N": wrap(N_draws, N_ATTRS),
            "D": wrap(D_draws, D_ATTRS),
            "C": wrap(C_draws, C_ATTRS),
            "tokens_per_param": wrap(D_draws / N_draws, TOKENS_PER_PARAM_ATTRS),
            "loss": wrap(loss, {**LOSS_ATTRS, "curve": "mean curve"}),
        },
        coords=view.coords,
    )
    if C is None:
        method = "closed form" if law.name == "chinchilla" else "slope-balance bisection"
    else:
        method = "closed form (Hoffmann eq. 4)" if law.name == "chinchilla" else "grid + golden"
    values = np.atleast_1d(given.values)
    ratio = np.reshape(D_draws / N_draws, N_draws.shape[:2] + (values.size,))
    reach = assess(
        result.runs,
        names=[f"C = {v:.3g} FLOP" if C is not None else f"N = {v:.3g}" for v in values],
        N=np.broadcast_to(np.reshape(N_draws, ratio.shape), ratio.shape),
        tokens_per_param=ratio,
        optimal_tokens_per_param=ratio,
        theta=theta,
        flop_per_param_token=k,
    )
    out.attrs.update(
        {
            **result_attrs(result, seed),
            "group": "new group" if group is None else group,
            "flop_per_param_token": k,
            "given": "C" if C is not None else "N",
            "method": method,
            "draws_at_search_edge": int(edge),
            **reach.attrs(),
        }
    )
    reach.warn(stacklevel=3)
    return out
