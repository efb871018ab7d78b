r"""Summaries of posterior draws: medians, HDIs, equal-tailed intervals, tail probabilities.

One layout for every summary table the package returns (see :func:`summarise`): for each
quantity ``q`` with draws ``(chain, draw, *dims)``,

* ``q`` — the posterior median, dims ``dims``;
* ``q_eti`` — equal-tailed intervals, dims ``(*dims, ci_prob, ci_bound)``, attrs
  ``ci_kind="eti"``;
* ``q_hdi`` — highest-density intervals, same dims, attrs ``ci_kind="hdi"``;

with coordinates ``ci_prob`` (the interval probabilities, e.g. 0.5, 0.8, 0.9, 0.95) and
``ci_bound`` (``["lower", "upper"]``). Both kinds are given because they answer different
questions: the ETI puts equal tail mass on either side (and transforms with the quantity,
e.g. to log scale), the HDI is the narrowest interval with that mass (it does not
transform, and it is what arviz plots by default).

The HDI kernel is the sorted-window search of arviz (``arviz.hdi``, unimodal case) written
in numpy so that it vectorises over every dim at once; ``tests/test_forecast.py`` checks
that it matches arviz.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from forecast.units import PROB_ATTRS

#: Interval probabilities every summary reports.
CI_PROBS = (0.5, 0.8, 0.9, 0.95)


def hdi_bounds(values: np.ndarray, ci_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval along the last axis (the narrowest window of sorted draws).

    Parameters
    ----------
    values : numpy.ndarray
        Draws along the last axis; other axes are independent.
    ci_prob : float
        Probability mass of the interval, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds, in the units of ``values``, shape ``values.shape[:-1]``.
        Both bounds are draws, so the interval lies in the support.

    Examples
    --------
    >>> lo, hi = hdi_bounds(np.arange(100.0), 0.9)
    >>> float(lo), float(hi)
    (0.0, 90.0)
    """
    x = np.sort(values, axis=-1)
    n = x.shape[-1]
    inc = int(np.floor(ci_prob * n))
    widths = x[..., inc:] - x[..., : n - inc]
    start = np.argmin(widths, axis=-1)[..., None]
    return (
        np.take_along_axis(x, start, axis=-1)[..., 0],
        np.take_along_axis(x, start + inc, axis=-1)[..., 0],
    )


def _samples(da: xr.DataArray) -> np.ndarray:
    """Draws moved to the last axis, chain and draw merged."""
    other = [d for d in da.dims if d not in ("chain", "draw")]
    arr = da.transpose(*other, "chain", "draw").values
    return arr.reshape(arr.shape[:-2] + (-1,))


def _intervals(samples: np.ndarray, probs: Sequence[float], kind: str) -> np.ndarray:
    """Array ``(*dims, ci_prob, ci_bound)`` of intervals of one kind."""
    out = np.empty(samples.shape[:-1] + (len(probs), 2))
    for i, p in enumerate(probs):
        if kind == "hdi":
            lo, hi = hdi_bounds(samples, p)
        else:
            lo, hi = np.quantile(samples, [(1 - p) / 2, 1 - (1 - p) / 2], axis=-1)
        out[..., i, 0], out[..., i, 1] = lo, hi
    return out


def summarise(
    draws: xr.Dataset,
    *,
    ci_probs: Sequence[float] = CI_PROBS,
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> xr.Dataset:
    r"""Median, ETI and HDI of every variable of a draws Dataset, and tail probabilities.

    Parameters
    ----------
    draws : xarray.Dataset
        Variables with dims ``("chain", "draw", ...)`` and ``units``/``long_name`` attrs.
    ci_probs : sequence of float
        Interval probabilities, each in (0, 1); they become the ``ci_prob`` coordinate.
    thresholds : mapping of str to sequence of float, optional
        Variable name -> values :math:`x` (in that variable's units); adds
        ``p_<name>_below`` with dims ``(*dims, threshold)``: :math:`P(q < x)`.

    Returns
    -------
    xarray.Dataset
        The layout of the module docstring; ``attrs`` copied from ``draws`` plus
        ``ci_probs``.

    Raises
    ------
    ValueError
        A probability outside (0, 1), or a threshold for a variable not in ``draws``.

    Notes
    -----
    .. math::

        \mathrm{ETI}_p = [q_{(1-p)/2},\, q_{(1+p)/2}], \qquad
        \mathrm{HDI}_p = \operatorname*{arg\,min}_{[a, b]:\ P(a \le q \le b) \ge p} (b - a)

    References
    ----------
    Hyndman 1996, "Computing and graphing highest density regions", Am. Stat. 50(2);
    arviz ``hdi`` (Kumar et al. 2019, JOSS 4(33)).

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("chain", "draw"), np.arange(200.0).reshape(2, 100))})
    >>> s = summarise(ds, ci_probs=[0.5])
    >>> float(s["x"]), s["x_eti"].sel(ci_prob=0.5).values.tolist()
    (99.5, [49.75, 149.25])
    """
    probs = [float(p) for p in ci_probs]
    if not all(0 < p < 1 for p in probs):
        raise ValueError(f"interval probabilities must be in (0, 1), got {probs}")
    out = xr.Dataset(
        coords={
            "ci_prob": (
                "ci_prob",
                probs,
                {**PROB_ATTRS, "long_name": ("probability mass of the interval")},
            ),
            "ci_bound": ["lower", "upper"],
        }
    )
    for name, da in draws.data_vars.items():
        other = tuple(d for d in da.dims if d not in ("chain", "draw"))
        samples = _samples(da)
        attrs = {k: v for k, v in da.attrs.items() if k in ("units", "long_name", "curve")}
        out[name] = xr.DataArray(
            np.median(samples, axis=-1), dims=other, attrs={**attrs, "statistic": "median"}
        )
        for kind in ("eti", "hdi"):
            out[f"{name}_{kind}"] = xr.DataArray(
                _intervals(samples, probs, kind),
                dims=other + ("ci_prob", "ci_bound"),
                attrs={**attrs, "ci_kind": kind, "statistic": f"{kind} interval"},
            )
    for name, values in (thresholds or {}).items():
        if name not in draws:
            raise ValueError(f"threshold given for {name!r}, which is not a variable of draws")
        da = draws[name]
        x = np.asarray(values, float)
        other = tuple(d for d in da.dims if d not in ("chain", "draw"))
        below = (_samples(da)[..., None, :] < x[:, None]).mean(axis=-1)
        out[f"p_{name}_below"] = xr.DataArray(
            below,
            dims=other + ("threshold",),
            coords={
                "threshold": (
                    "threshold",
                    x,
                    {"units": da.attrs.get("units", ""), "long_name": f"threshold on {name}"},
                )
            },
            attrs={**PROB_ATTRS, "long_name": f"posterior probability that {name} < threshold"},
        )
    keep = {c: draws[c] for c in draws.coords if not {"chain", "draw"} & set(draws[c].dims)}
    out = out.assign_coords(keep)
    out.attrs.update({**draws.attrs, "ci_probs": probs})
    return out
