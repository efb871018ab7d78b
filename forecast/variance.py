r"""Where the width of a forecast comes from: the predictive variance of log loss by source.

For one new run at :math:`(N, D)` the predictive of log loss is
:math:`\log \tilde L = \log L(N, D; \theta) + \varepsilon`, with the law's parameters
:math:`\theta` drawn from the posterior and :math:`\varepsilon` the observation noise (group
noise :math:`\sigma`, plus the compute discrepancy :math:`\tau d` of a fit with
``discrepancy="compute"``, Student-t scaled by :math:`\nu/(\nu-2)`). By the law of total
variance

.. math::

    \operatorname{Var}[\log \tilde L] = \operatorname{Var}_\theta[\log L]
      + \operatorname{E}\big[\operatorname{Var}[\varepsilon \mid \sigma, \tau, \nu]\big].

The noise term splits into the group noise alone and what the discrepancy adds. The
parameter term is attributed to each parameter :math:`p` (coefficients taken at the data
centre, as the model samples them) as the variance it explains,
:math:`\operatorname{Var}(\operatorname{E}[\log L \mid p]) = \operatorname{Var}[\log L]
- \operatorname{E}[\operatorname{Var}[\log L \mid p]]`: how much narrower the band would be if
:math:`p` were known, which is what a better prior on :math:`p` can at most buy.
Correlated parameters (the floor and the coefficients along the E-A ridge) explain
overlapping variance, so the attributions need not add up to the parameter term.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.fit import Fit
from forecast.posterior_view import PosteriorView, posterior_view
from forecast.predict import _log_loss_draws, _unique_tokens
from forecast.studies.stacking import _group_of
from models import noise

#: Equal-count bins of a parameter's draws when estimating the variance it explains.
BINS = 20
#: Sources of the decomposition besides the law's parameters.
NOISE_SOURCES = ("noise", "discrepancy")


def variance_sources(result: Fit, runs: pd.DataFrame, *, seed: int = 0) -> xr.Dataset:
    r"""Decompose the predictive variance of log loss at each run of ``runs`` by source.

    Parameters
    ----------
    result : Fit
        A fitted result (decompose an averaged posterior component by component).
    runs : pandas.DataFrame
        Points to forecast: ``N`` parameters, ``D`` tokens, the fit's group column (a group
        the fit has not seen is a new group from the population) and ``unique_tokens``
        when the law uses them.
    seed : int
        Seed of new-group offsets.

    Returns
    -------
    xarray.Dataset
        Along ``run`` (the order of ``runs``) and ``source`` (``"total"``, ``"parameters"``,
        ``"noise"``, ``"discrepancy"``, then each law parameter): ``variance`` of log loss
        (dimensionless squared; see the module notes for what each source means) and
        ``share``, the variance over ``"total"``.

    Examples
    --------
    >>> ds = variance_sources(result, held_out)  # doctest: +SKIP
    >>> ds["share"].mean("run").to_series()  # doctest: +SKIP
    """
    if not isinstance(result, Fit):
        raise TypeError(
            "variance_sources takes one Fit; decompose each component of an averaged "
            "posterior (Stack.components) separately"
        )
    groups = _group_of(result, runs)
    parts, order = [], []
    for key in pd.unique(groups):
        idx = np.flatnonzero(groups == key)
        sub = runs.iloc[idx]
        parts.append(_sources(posterior_view(result, key or None, seed=seed), sub))
        order.append(idx)
    perm = np.argsort(np.concatenate(order))
    variance = xr.concat(parts, "run").isel(run=perm)
    variance.attrs = {"units": "1", "long_name": "variance of log loss"}
    share = variance / variance.sel(source="total")
    share.attrs = {"units": "1", "long_name": "share of the predictive variance"}
    return xr.Dataset({"variance": variance, "share": share})


def _centred(law, params: dict, centres: dict) -> dict:
    """Return the parameters as the model samples them: coefficients at the data centre.

    ``log A_c = log A - alpha * mean log N``: knowing ``log A`` at N = 1 is not knowing
    the curve near the data, knowing ``log A_c`` is.
    """
    out = dict(params)
    for name, (slope, centre) in law.centring.items():
        if slope is not None:
            out[name] = params[name] - params[slope] * centres[centre]
    return out


def _explained(values: np.ndarray, parameter: np.ndarray, bins: int = BINS) -> np.ndarray:
    r"""Variance of the draws ``values`` (draws, points) explained by ``parameter`` (draws,).

    :math:`\operatorname{Var}(\operatorname{E}[f \mid p])`, estimated with the draws sorted
    by :math:`p` into ``bins`` equal-count bins: the variance of the bin means. It is what
    the band would lose if :math:`p` were known exactly (the law of total variance), and is
    never negative, however :math:`p` correlates with the other parameters. Within-bin
    noise biases it up by about the total variance over the draws per bin.
    """
    order = np.argsort(parameter, kind="stable")
    labels = np.empty(len(parameter), dtype=int)
    labels[order] = np.arange(len(parameter)) * bins // len(parameter)
    counts = np.bincount(labels, minlength=bins)[:, None]
    sums = np.zeros((bins, values.shape[1]))
    np.add.at(sums, labels, values)
    means = sums / np.maximum(counts, 1)
    grand = values.mean(axis=0)
    return (counts * (means - grand) ** 2).sum(axis=0) / len(parameter)


def _sources(view: PosteriorView, runs: pd.DataFrame) -> xr.DataArray:
    """Variance by source at the runs of one group: dims ``(run, source)``."""
    law, model = view.law, view.noise
    N = xr.DataArray(runs["N"].to_numpy(float), dims="run")
    D = xr.DataArray(runs["D"].to_numpy(float), dims="run")
    U = runs["unique_tokens"].to_numpy(float) if law.needs_unique_tokens else None
    log_U = _unique_tokens(law, D, U)
    dims = ("chain", "draw")
    mean = _log_loss_draws(view, N, D, log_U)
    parameters = mean.var(dims)
    flat = mean.transpose("chain", "draw", "run").values.reshape(-1, len(runs))
    centred = _centred(law, view.params, model.centres)
    held = {name: _explained(flat, centred[name].values.ravel()) for name in law.params}
    nu = None if model.nu is None else model.nu.values
    sigma_only = noise.noise_variance(model.sigma.values, nu).mean()
    log_N, log_D = np.log(N), np.log(D)
    sd = xr.broadcast(model.sd(log_N, log_D), mean)[0].transpose("chain", "draw", "run").values
    nu_b = None if nu is None else nu[..., None]
    with_discrepancy = noise.noise_variance(sd, nu_b).mean(axis=(0, 1))
    columns = {
        "total": parameters.values + with_discrepancy,
        "parameters": parameters.values,
        "noise": np.full(len(runs), sigma_only),
        "discrepancy": with_discrepancy - sigma_only,
        **held,
    }
    return xr.DataArray(
        np.column_stack(list(columns.values())),
        dims=("run", "source"),
        coords={"source": list(columns)},
    )


__all__ = ["NOISE_SOURCES", "variance_sources"]
