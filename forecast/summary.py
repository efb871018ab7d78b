r"""Summaries of posterior draws: medians, ETIs, HDIs and tail probabilities.

One layout for every summary table the package returns (see :func:`summarise` and
:mod:`forecast.intervals`): for each quantity ``q`` with draws ``(chain, draw, *dims)``,

* ``q_median`` — the posterior median, dims ``dims``;
* ``q_ci`` — equal-tailed intervals, dims ``(*dims, ci_prob, ci_bound)``, attrs
  ``ci_kind="eti"``;
* ``q_hdi`` — highest-density intervals (``arviz.hdi``), same dims, attrs ``ci_kind="hdi"``;

with coordinates ``ci_prob`` (the interval probabilities, e.g. 0.5, 0.8, 0.9, 0.95) and
``ci_bound`` (``["lower", "upper"]``). Both kinds are given because they answer different
questions: the ETI puts equal tail mass on either side (and transforms with the quantity,
e.g. to log scale), the HDI is the narrowest interval with that mass (it does not
transform, and it is what arviz plots by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from forecast.intervals import CI_PROBS, SAMPLE_DIMS, summarise_draws
from forecast.units import PROB_ATTRS

__all__ = ["CI_PROBS", "summarise"]


def _samples(da: xr.DataArray) -> np.ndarray:
    """Draws moved to the last axis, chain and draw merged."""
    other = [d for d in da.dims if d not in SAMPLE_DIMS]
    arr = da.transpose(*other, *SAMPLE_DIMS).values
    return arr.reshape(arr.shape[:-2] + (-1,))


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
    The intervals, their formulas and references are those of
    :func:`forecast.intervals.interval`; the tail probability is the share of draws below
    :math:`x`, :math:`P(q < x) = \frac{1}{S}\sum_s \mathbf{1}[q^{(s)} < x]`.

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("chain", "draw"), np.arange(200.0).reshape(2, 100))})
    >>> s = summarise(ds, ci_probs=[0.5])
    >>> float(s["x_median"]), s["x_ci"].sel(ci_prob=0.5).values.tolist()
    (99.5, [49.75, 149.25])
    """
    probs = [float(p) for p in ci_probs]
    if not all(0 < p < 1 for p in probs):
        raise ValueError(f"interval probabilities must be in (0, 1), got {probs}")
    out = xr.Dataset()
    for name, da in draws.data_vars.items():
        out.update(summarise_draws(da, probs, name=name, hdi=True))
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
