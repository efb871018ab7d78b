r"""The one place posterior draws become a median and an interval.

Every summary the package returns follows one naming scheme: for a quantity ``q``,

* ``q_median`` — the posterior median, the sample dims dropped;
* ``q_ci`` — the equal-tailed interval (ETI), dims ``(*dims, ci_prob, ci_bound)``, attrs
  ``ci_kind="eti"``;
* ``q_hdi`` — the highest-density interval where one is offered, the same dims, attrs
  ``ci_kind="hdi"`` (computed by ``arviz.hdi`` through :mod:`forecast._idata`).

``ci_prob`` is the probability mass of the interval (e.g. 0.5, 0.9); ``ci_bound`` is
``["lower", "upper"]``. Given one probability (a float) instead of a sequence, ``ci_prob``
is a scalar coordinate rather than a dim, as in ``xarray.DataArray.quantile``.

Draws carry their sample dims first, ``("chain", "draw", *dims)`` (or ``("sample",
*dims)`` once stacked); summaries drop them and put ``ci_prob``, ``ci_bound`` last.

:func:`eti` is the numpy kernel for code that holds plain arrays; :func:`interval`,
:func:`median` and :func:`summarise_draws` are the xarray forms.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import xarray as xr

from forecast import _idata
from forecast.units import PROB_ATTRS

#: Interval probabilities a multi-interval summary reports by default.
CI_PROBS = (0.5, 0.8, 0.9, 0.95)
#: Labels of the ``ci_bound`` dim.
CI_BOUNDS = ("lower", "upper")
#: Sample dims of posterior draws, in the order they come (first).
SAMPLE_DIMS = ("chain", "draw")
_ATTR_KEYS = ("units", "long_name", "curve")


def ci_name(name: str, kind: str = "eti") -> str:
    """Name of the interval variable of ``name``: ``<name>_ci`` (ETI) or ``<name>_hdi``.

    Examples
    --------
    >>> ci_name("loss"), ci_name("loss", "hdi")
    ('loss_ci', 'loss_hdi')
    """
    if kind not in ("eti", "hdi"):
        raise ValueError(f"interval kind must be 'eti' or 'hdi', got {kind!r}")
    return f"{name}_ci" if kind == "eti" else f"{name}_hdi"


def _probs(ci_prob: float | Sequence[float]) -> tuple[list[float], bool]:
    """Interval probabilities as a list, and whether one scalar was given."""
    scalar = isinstance(ci_prob, numbers.Real)
    probs = [float(ci_prob)] if scalar else [float(p) for p in ci_prob]
    if not probs or not all(0 < p < 1 for p in probs):
        raise ValueError(f"interval probabilities must be in (0, 1), got {ci_prob!r}")
    return probs, scalar


def eti(
    values: np.ndarray,
    ci_prob: float | Sequence[float],
    axis: int | tuple[int, ...] = -1,
    *,
    skipna: bool = False,
    overwrite_input: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Median and equal-tailed interval of draws along ``axis`` (numpy kernel).

    Parameters
    ----------
    values : numpy.ndarray
        Draws; ``axis`` holds the draws, other axes are independent.
    ci_prob : float or sequence of float
        Probability mass of the interval(s), each in (0, 1).
    axis : int or tuple of int
        Axis or axes of the draws (reduced).
    skipna : bool
        Ignore NaN draws (``nanquantile``) instead of returning NaN.
    overwrite_input : bool
        Let numpy partition ``values`` in place (saves a copy of large blocks).

    Returns
    -------
    median : numpy.ndarray
        Shape of ``values`` without ``axis``, in the units of ``values``.
    bounds : numpy.ndarray
        Shape ``(*rest, 2)`` for a float ``ci_prob``, ``(*rest, len(ci_prob), 2)`` for a
        sequence; the last axis is (lower, upper).

    Raises
    ------
    ValueError
        A probability outside (0, 1).

    Notes
    -----
    :math:`\mathrm{ETI}_p = [q_{(1-p)/2},\ q_{(1+p)/2}]` with linear interpolation between
    order statistics. Where interpolation meets ``inf - inf`` (a tail of infinite draws)
    the nearest order statistic is used instead of NaN.

    Examples
    --------
    >>> med, (lo, hi) = eti(np.arange(101.0), 0.5)
    >>> float(med), float(lo), float(hi)
    (50.0, 25.0, 75.0)
    """
    probs, scalar = _probs(ci_prob)
    levels = [0.5] + [q for p in probs for q in ((1 - p) / 2, (1 + p) / 2)]
    x = np.asarray(values, dtype=float)
    quantile = np.nanquantile if skipna else np.quantile
    with np.errstate(invalid="ignore"):
        q = quantile(x, levels, axis=axis, overwrite_input=overwrite_input)
        bad = np.isnan(q) & ~np.isnan(x).any(axis=axis)
        if bad.any():  # inf - inf between two infinite order statistics
            q = np.where(bad, quantile(x, levels, axis=axis, method="nearest"), q)
    bounds = np.moveaxis(q[1:], 0, -1)
    bounds = bounds.reshape(bounds.shape[:-1] + (len(probs), 2))
    return q[0], bounds[..., 0, :] if scalar else bounds


def sample_dims(draws: xr.DataArray | xr.Dataset) -> tuple[str, ...]:
    """Find the sample dims of ``draws``: ``("sample",)`` or ``("chain", "draw")``.

    Raises
    ------
    ValueError
        ``draws`` has neither.
    """
    if "sample" in draws.dims:
        return ("sample",)
    if set(SAMPLE_DIMS) <= set(draws.dims):
        return SAMPLE_DIMS
    raise ValueError(f"draws need dims ('chain', 'draw') or 'sample'; got {tuple(draws.dims)}")


def _split(draws: xr.DataArray, dims: Sequence[str] | None) -> tuple[tuple, tuple, np.ndarray]:
    """(sample dims, other dims, values with the sample dims moved last)."""
    dims = tuple(dims) if dims is not None else sample_dims(draws)
    other = tuple(d for d in draws.dims if d not in dims)
    return dims, other, draws.transpose(*other, *dims).values


def _coords(draws: xr.DataArray, dims: tuple) -> dict:
    """Coords of ``draws`` that do not depend on the sample dims."""
    return {k: c for k, c in draws.coords.items() if not set(dims) & set(c.dims)}


def _ci_coords(probs: list[float], scalar: bool) -> dict:
    prob = xr.Variable(
        () if scalar else "ci_prob",
        probs[0] if scalar else probs,
        {**PROB_ATTRS, "long_name": "probability mass of the interval"},
    )
    return {"ci_prob": prob, "ci_bound": list(CI_BOUNDS)}


def _attrs(draws: xr.DataArray) -> dict:
    return {k: v for k, v in draws.attrs.items() if k in _ATTR_KEYS}


def median(
    draws: xr.DataArray, *, sample_dims: Sequence[str] | None = None, skipna: bool = False
) -> xr.DataArray:
    """Posterior median of ``draws`` over its sample dims, units and names kept.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(6.0).reshape(1, 6), dims=("chain", "draw"))
    >>> float(median(da))
    2.5
    """
    dims, other, values = _split(draws, sample_dims)
    flat = values.reshape(values.shape[: len(other)] + (-1,))
    med = np.nanmedian(flat, axis=-1) if skipna else np.median(flat, axis=-1)
    attrs = _attrs(draws)
    return xr.DataArray(med, dims=other, coords=_coords(draws, dims), attrs=attrs).assign_attrs(
        statistic="median"
    )


def interval(
    draws: xr.DataArray,
    ci_prob: float | Sequence[float] = CI_PROBS,
    *,
    kind: str = "eti",
    sample_dims: Sequence[str] | None = None,
    skipna: bool = False,
) -> xr.DataArray:
    r"""Equal-tailed (or highest-density) interval of ``draws`` over its sample dims.

    Parameters
    ----------
    draws : xarray.DataArray
        Dims ``("chain", "draw", *dims)`` or ``("sample", *dims)``, any order.
    ci_prob : float or sequence of float
        Probability mass of the interval(s), each in (0, 1).
    kind : {"eti", "hdi"}
        Equal-tailed interval, or highest-density interval by ``arviz.hdi``.
    sample_dims : sequence of str, optional
        The dims holding the draws; found from the dims when ``None``.
    skipna : bool
        ETI only: ignore NaN draws.

    Returns
    -------
    xarray.DataArray
        Dims ``(*dims, ci_prob, ci_bound)`` (no ``ci_prob`` dim for a float ``ci_prob``,
        which is then a scalar coord), the units of ``draws``, attrs ``ci_kind``.

    Raises
    ------
    ValueError
        A probability outside (0, 1), an unknown ``kind``, or no sample dims.

    Notes
    -----
    .. math::

        \mathrm{ETI}_p = [q_{(1-p)/2}, q_{(1+p)/2}], \qquad
        \mathrm{HDI}_p = \operatorname*{arg\,min}_{[a, b]:\ P(a \le q \le b) \ge p} (b - a)

    References
    ----------
    Hyndman 1996, "Computing and graphing highest density regions", Am. Stat. 50(2);
    arviz ``hdi`` (Kumar et al. 2019, JOSS 4(33)).

    Examples
    --------
    >>> da = xr.DataArray(np.arange(200.0).reshape(2, 100), dims=("chain", "draw"))
    >>> interval(da, 0.5).values.tolist()
    [49.75, 149.25]
    """
    probs, scalar = _probs(ci_prob)
    dims, other, values = _split(draws, sample_dims)
    if kind == "eti":
        flat = values.reshape(values.shape[: len(other)] + (-1,))
        bounds = eti(flat, probs, axis=-1, skipna=skipna)[1]
    elif kind == "hdi":
        da = xr.DataArray(values, dims=other + dims)
        bounds = np.stack(
            [_idata.hdi(da, p, sample_dims=dims).transpose(*other, "hdi").values for p in probs],
            axis=-2,
        )
    else:
        raise ValueError(f"interval kind must be 'eti' or 'hdi', got {kind!r}")
    out_dims = other + (("ci_bound",) if scalar else ("ci_prob", "ci_bound"))
    return xr.DataArray(
        bounds[..., 0, :] if scalar else bounds,
        dims=out_dims,
        coords={**_coords(draws, dims), **_ci_coords(probs, scalar)},
        attrs={**_attrs(draws), "ci_kind": kind, "statistic": f"{kind} interval"},
    )


def summarise_draws(
    draws: xr.DataArray,
    ci_prob: float | Sequence[float] = CI_PROBS,
    *,
    name: str | None = None,
    hdi: bool = False,
    sample_dims: Sequence[str] | None = None,
    skipna: bool = False,
) -> xr.Dataset:
    """``<name>_median``, ``<name>_ci`` and (with ``hdi``) ``<name>_hdi`` of ``draws``.

    Parameters
    ----------
    draws : xarray.DataArray
        Dims ``("chain", "draw", *dims)`` or ``("sample", *dims)``.
    ci_prob : float or sequence of float
        Probability mass of the interval(s), each in (0, 1).
    name : str, optional
        Variable prefix; ``draws.name`` when ``None``.
    hdi : bool
        Add the highest-density interval as well.
    sample_dims : sequence of str, optional
        The dims holding the draws; found from the dims when ``None``.
    skipna : bool
        Ignore NaN draws in the median and the ETI.

    Returns
    -------
    xarray.Dataset
        The layout of the module docstring. The long names say which statistic it is.

    Examples
    --------
    >>> da = xr.DataArray(np.arange(101.0)[None], dims=("chain", "draw"), name="x")
    >>> list(summarise_draws(da, 0.9).data_vars)
    ['x_median', 'x_ci']
    """
    name = name if name is not None else draws.name
    if name is None:
        raise ValueError("summarise_draws needs a name for unnamed draws")
    long = draws.attrs.get("long_name", name)
    out = {f"{name}_median": median(draws, sample_dims=sample_dims, skipna=skipna)}
    out[f"{name}_median"].attrs["long_name"] = f"posterior median of {long}"
    for kind, title in (("eti", "equal-tailed"), ("hdi", "highest-density"))[: 1 + hdi]:
        da = interval(draws, ci_prob, kind=kind, sample_dims=sample_dims, skipna=skipna)
        da.attrs["long_name"] = f"{title} interval of {long}"
        out[ci_name(name, kind)] = da
    return xr.Dataset(out)
