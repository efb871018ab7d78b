r"""One view of a posterior for forecasting: a group's law and noise draws as arrays.

Every forecast (:func:`forecast.predict.predict`, :func:`forecast.allocation.allocate`,
:func:`forecast.scenarios.forecast_draws`, :func:`forecast.exhaustion.exhaustion`, the
variance decomposition and the design studies) needs the same things of a fit: the law, the
draws of each law parameter of one group (or of a new group drawn from the population), the
data centres and the observation model. :func:`posterior_view` gathers them once.

A **new group** (``group=None`` on a fit with several groups) has parameters
:func:`models.noise.new_group_params` with offsets :math:`z \sim \mathcal{N}(0, 1)` drawn
from the first child of ``SeedSequence(seed)``; its noise SD is the root mean square of the
groups' (:func:`models.noise.population_sigma`). Observation noise (:meth:`NoiseModel.sample`)
uses the second child, so the two streams do not depend on each other's use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import xarray as xr

from forecast.fit import Fit
from models import noise
from models.laws import LawSpec, get_law


def flat_draws(da: xr.DataArray | None) -> np.ndarray | None:
    """Draws of a ``(chain, draw)`` DataArray as a ``(1, chain * draw)`` float array."""
    if da is None:
        return None
    return np.asarray(da.transpose("chain", "draw").values, float).reshape(1, -1)


def theta_arrays(params: Mapping[str, xr.DataArray]) -> dict[str, np.ndarray]:
    """Parameter draws as numpy arrays of shape ``(chain, draw, 1)`` (one trailing axis).

    Parameters
    ----------
    params : mapping of str to xarray.DataArray
        Law parameters with dims ``("chain", "draw")`` (see :func:`group_params`).

    Returns
    -------
    dict of str to numpy.ndarray
        The same draws, broadcastable against ``(chain, draw, point)`` arrays.
    """
    return {k: _draw_array(v)[..., None] for k, v in params.items()}


def _draw_array(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da.transpose("chain", "draw").values, float)


class NoiseModel(NamedTuple):
    """Posterior draws of the observation model of one group (or a new group).

    ``sigma``, ``tau`` and ``nu`` have dims ``("chain", "draw")``; ``tau`` is ``None``
    without a discrepancy term and ``nu`` without the Student-t likelihood. ``centres``
    are the fitted runs' mean log N and log D (:mod:`models.noise`).
    """

    sigma: xr.DataArray
    tau: xr.DataArray | None
    nu: xr.DataArray | None
    centres: dict[str, float]

    def sd(self, log_N, log_D, *, flat: bool = False):
        """Observation SD of log loss at points (:func:`models.noise.observation_sd`).

        ``flat=True`` evaluates on ``(1, draws)`` numpy arrays (points along axis 0 of
        ``log_N``/``log_D``); otherwise on the DataArrays, broadcast by dim name.
        """
        sigma, tau = self.sigma, self.tau
        if flat:
            sigma, tau = flat_draws(sigma), flat_draws(tau)
        return noise.observation_sd(sigma, tau=tau, log_N=log_N, log_D=log_D, centres=self.centres)

    def sample(self, like: xr.DataArray, seed: int, log_N, log_D) -> xr.DataArray:
        """Log-scale noise of one new run per draw, shaped like ``like`` (chain, draw, ...).

        ``log_N`` and ``log_D`` (DataArrays broadcasting against ``like``) are the points: a
        fit with a discrepancy term has a noise SD that grows with their distance in compute.
        """
        sd = self.sd(log_N, log_D)
        like = like.transpose("chain", "draw", ...)
        nu = None
        if self.nu is not None:
            nu = self.nu.transpose("chain", "draw").values
            nu = nu.reshape(nu.shape + (1,) * (like.ndim - 2))
        eps = noise.standard_noise(_noise_rng(seed), like.shape, nu)
        return (xr.DataArray(eps, dims=like.dims) * sd).transpose(*like.dims)

    def sampler(self, seed: int) -> Callable:
        """Return ``draw(shape, log_N, log_D)``: log-scale noise for a (points, draws) block.

        ``log_N`` and ``log_D`` are the block's points, shape ``(points, 1)``. Drawn from one
        generator in (point, draw) order, so consecutive blocks give the same numbers as one
        block of all points.
        """
        rng = _noise_rng(seed)
        nu = flat_draws(self.nu)

        def draw(shape, log_N, log_D):
            return self.sd(log_N, log_D, flat=True) * noise.standard_noise(rng, shape, nu)

        return draw


def _noise_rng(seed: int) -> np.random.Generator:
    """Return the generator of observation noise: the second child of ``SeedSequence(seed)``."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])


@dataclass(frozen=True)
class PosteriorView:
    """The law, parameter draws and observation model of one group of a fit.

    Attributes
    ----------
    law : LawSpec
        The fitted law.
    group : str or None
        The group label; ``None`` for a new group from the population.
    params : mapping of str to xarray.DataArray
        Every law parameter, dims ``("chain", "draw")``.
    noise : NoiseModel
        The observation noise draws and the data centres.
    """

    law: LawSpec
    group: str | None
    params: Mapping[str, xr.DataArray]
    noise: NoiseModel

    @cached_property
    def theta(self) -> dict[str, np.ndarray]:
        """The parameter draws as float arrays of shape ``(chain, draw)``."""
        return {k: _draw_array(v) for k, v in self.params.items()}

    @property
    def centres(self) -> dict[str, float]:
        """Mean log N and log D of the fitted runs (where coefficients are sampled)."""
        return self.noise.centres

    @property
    def coords(self) -> dict[str, xr.DataArray]:
        """The ``chain`` and ``draw`` coordinates of the draws."""
        first = self.params[self.law.params[0]]
        return {"chain": first["chain"], "draw": first["draw"]}

    @property
    def shape(self) -> tuple[int, int]:
        """``(chains, draws)``."""
        return next(iter(self.theta.values())).shape


def _resolve(result: Fit, group: str | None) -> str | None:
    """Return the group label, checked (a one-group fit's only group for ``None``)."""
    labels = result.groups
    if group is None and len(labels) == 1:
        return labels[0]
    if group is not None and group not in labels:
        raise KeyError(f"group {group!r} is not in the fit; its groups are {labels}")
    return group


def _new_group_params(result: Fit, law: LawSpec, seed: int) -> dict[str, xr.DataArray]:
    """Draw every law parameter for a group not in the data, from the population."""
    post = result.posterior
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    shape = (post.sizes["chain"], post.sizes["draw"])
    pooled = result.config.pooled_params
    return noise.new_group_params(
        law,
        post,
        scales={name: post[f"sigma_{name}"] for name in pooled},
        z=lambda name: xr.DataArray(rng.standard_normal(shape), dims=("chain", "draw")),
        centres=result.model_data.centres,
        pooled=pooled,
    )


def _params(result: Fit, law: LawSpec, group: str | None, seed: int) -> dict[str, xr.DataArray]:
    if group is None:
        return _new_group_params(result, law, seed)
    post = result.posterior
    return {p: post[f"{p}_group"].sel(group=group, drop=True) for p in law.params}


def group_params(
    result: Fit, group: str | None = None, *, seed: int = 0
) -> dict[str, xr.DataArray]:
    """Posterior draws of the law's parameters for one group or a new group.

    Parameters
    ----------
    result, group, seed
        As in :func:`posterior_view`: the fit, a group label (``None``: a new group) and
        the seed of the new-group offsets.

    Returns
    -------
    dict of str to xarray.DataArray
        Each law parameter with dims ``("chain", "draw")`` (:attr:`PosteriorView.params`,
        without building the noise model).
    """
    return _params(result, get_law(result.config.law), _resolve(result, group), seed)


def noise_model(result: Fit, group: str | None) -> NoiseModel:
    """Gather the observation model of one new run of ``group`` (``None``: a new group).

    Parameters
    ----------
    result : Fit
        A fitted result.
    group : str, optional
        A group label of the fit; ``None`` = a new group, whose noise SD is the root mean
        square of the groups' (:func:`models.noise.population_sigma`); a one-group fit's
        only group.

    Returns
    -------
    NoiseModel
        The noise draws (``sigma``, ``tau``, ``nu``) and the data centres.
    """
    post = result.posterior
    sigma = post["sigma"]
    group = _resolve(result, group)
    if group is not None:
        sigma = sigma.sel(group=group, drop=True)
    else:
        by_group = sigma.transpose("chain", "draw", "group")
        sigma = xr.DataArray(
            noise.population_sigma(by_group.values),
            dims=("chain", "draw"),
            coords={"chain": by_group["chain"], "draw": by_group["draw"]},
        )
    has_tau = getattr(result.config, "discrepancy", None) is not None
    return NoiseModel(
        sigma=sigma,
        tau=post["tau"] if has_tau else None,
        nu=post["nu"] if result.config.likelihood == "student_t" else None,
        centres=result.model_data.centres,
    )


def posterior_view(result: Fit, group: str | None = None, *, seed: int = 0) -> PosteriorView:
    """Gather the law, parameter draws and noise model of ``group`` of a fit, once.

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
    PosteriorView
        The view; ``group`` is the resolved label (``None`` only for a new group).

    Raises
    ------
    KeyError
        ``group`` is not a group of the fit.
    """
    law = get_law(result.config.law)
    group = _resolve(result, group)
    params = _params(result, law, group, seed)
    return PosteriorView(law, group, params, noise_model(result, group))
