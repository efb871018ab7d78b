"""Numerical safety: law forms, the model's log density and its gradient stay finite.

A sweep, not a sample: every law on every (N, D) of a log grid from 1e3 to 1e16, at the
corners of a wide parameter box (exponents 0.01-1.5, coefficients up to e^40, floors from
1e-6 to 10 nats/token), in numpy and in compiled pytensor with gradients; then the PyMC
model itself (every law, both likelihoods, two groups) on runs spanning that range with
losses a hair above the floor, its log density and gradient evaluated at the initial point
and far from it in the unconstrained space NUTS explores during warm-up.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import xarray as xr
from pymc.initial_point import make_initial_point_fn

from forecast import _idata
from forecast.config import PLAIN_MODEL, FitConfig
from forecast.data.runs import load_runs
from forecast.fit import Fit, make_model
from forecast.predict import predict, predict_summary
from models.build import initial_values
from models.laws import LAWS, chinchilla, kaplan

GRID = np.geomspace(1e3, 1e16, 27)  # N and D, every pair: 729 points
LOG_N, LOG_D = (a.ravel() for a in np.meshgrid(np.log(GRID), np.log(GRID)))
# Unique tokens from U = D (no repeats) to D / e^40 (absurdly many epochs).
LOG_U = LOG_D - np.resize([0.0, 1.0, 5.0, 40.0], LOG_D.size)

#: Extremes of each parameter (sampled space); the sweep takes every corner of this box.
BOX = {
    "E": (1e-6, 10.0),
    "log_A": (-5.0, 40.0),
    "log_B": (-5.0, 40.0),
    "alpha": (0.01, 1.5),
    "beta": (0.01, 1.5),
    "alpha_N": (0.01, 1.5),
    "alpha_D": (0.01, 1.5),
    "log_N_c": (0.0, 60.0),
    "log_D_c": (0.0, 60.0),
    "R_D_star": (0.1, 1e3),
    "R_N_star": (0.1, 1e3),
    "alpha_ratio": (0.05, 20.0),
    "beta_ratio": (0.05, 20.0),
    "log_N_break": (0.0, 40.0),
    "log_D_break": (0.0, 40.0),
}


def corners(law: str) -> dict[str, np.ndarray]:
    """Every corner of BOX for the law's parameters, as arrays of shape (corners, 1)."""
    names = LAWS[law].params
    values = np.array(list(itertools.product(*(BOX[n] for n in names))))
    return {n: values[:, [i]] for i, n in enumerate(names)}


@pytest.mark.parametrize("law", sorted(LAWS))
def test_law_forms_are_finite_over_the_sweep_numpy(law):
    params = corners(law)
    log_loss = LAWS[law].log_loss(LOG_N, LOG_D, params, xp=np, log_U=LOG_U)
    n_corners = 2 ** len(LAWS[law].params)
    assert log_loss.shape == (n_corners, GRID.size**2)
    assert np.all(np.isfinite(log_loss)), np.argwhere(~np.isfinite(log_loss))[:5]
    if "E" in params:  # the floor is a lower bound, reached to rounding at most
        assert np.all(log_loss >= np.log(params["E"]) - 1e-12)


def test_log_space_survives_where_naive_arithmetic_overflows():
    # A = e^800 overflows float64; so would N^-alpha * A computed naively. Log space does not.
    with np.errstate(over="ignore"):
        naive = chinchilla.loss(1e3, 1e3, 1.8, np.exp(800.0), 0.01, np.exp(800.0), 0.01)
    assert np.isinf(naive)
    p = {"E": 1.8, "log_A": 800.0, "alpha": 0.01, "log_B": 800.0, "beta": 0.01}
    value = chinchilla.log_loss(np.log(1e3), np.log(1e3), p)
    assert value == pytest.approx(800.0 - 0.01 * np.log(1e3) + np.log(2.0), rel=1e-15)
    # Kaplan: (N_c/N)^(alpha_N/alpha_D) with alpha_D tiny overflows naively.
    with np.errstate(over="ignore", invalid="ignore"):
        naive = kaplan.loss(1e3, 1e16, np.exp(60.0), 1.5, np.exp(0.0), 0.01)
    assert not np.isfinite(naive) or naive > 1e300
    q = {"log_N_c": 60.0, "alpha_N": 1.5, "log_D_c": 0.0, "alpha_D": 0.01}
    assert np.isfinite(kaplan.log_loss(np.log(1e3), np.log(1e16), q))


def _compiled_law(law: str):
    spec = LAWS[law]
    log_N, log_D, log_U = pt.dvector("log_N"), pt.dvector("log_D"), pt.dvector("log_U")
    params = {k: pt.dscalar(k) for k in spec.params}
    out = spec.log_loss(log_N, log_D, params, xp=pt, log_U=log_U)
    grads = pytensor.grad(out.sum(), [params[k] for k in spec.params])
    inputs = [log_N, log_D, log_U, *params.values()]
    return pytensor.function(inputs, [out, *grads], on_unused_input="ignore")


@pytest.mark.parametrize("law", sorted(LAWS))
def test_law_forms_and_gradients_are_finite_over_the_sweep_pytensor(law):
    f = _compiled_law(law)
    params = corners(law)
    n_corners = 2 ** len(LAWS[law].params)
    for i in range(n_corners):
        value, *grads = f(LOG_N, LOG_D, LOG_U, *(float(v[i, 0]) for v in params.values()))
        expected = LAWS[law].log_loss(
            LOG_N, LOG_D, {k: v[i, 0] for k, v in params.items()}, xp=np, log_U=LOG_U
        )
        np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
        assert all(np.isfinite(g) for g in grads), (i, grads)


# ------------------------------------------------------------------ the model's log density


def sweep_runs() -> pd.DataFrame:
    """Two groups of runs with N, D from 1e3 to 1e16 and losses from 15 down to the floor."""
    rows = []
    sizes = np.geomspace(1e3, 1e16, 8)
    for group, floor in (("a", 1.8), ("b", 2.1)):
        for n, d in itertools.product(sizes, sizes):
            if d < n * 1e-3:  # fewer tokens than that is flagged as a unit error
                continue
            law = chinchilla.loss(n, d, floor, 482.0, 0.35, 2085.0, 0.37)
            rows.append({"N": n, "D": d, "loss": min(law, 15.0), "group": group})
        for k in range(1, 4):  # a hair above the floor: 1e-12, 1e-10, 1e-8 relative
            rows.append({"N": 1e16, "D": 1e16 / k, "loss": floor * (1 + 10.0 ** (-14 + 2 * k))})
            rows[-1]["group"] = group
    runs = pd.DataFrame(rows)
    runs["unique_tokens"] = runs["D"] / np.resize([1.0, 10.0, 1e3], len(runs))
    return load_runs(runs)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return sweep_runs()


def test_sweep_runs_cover_the_range(runs):
    assert runs["N"].min() == 1e3 and runs["N"].max() == 1e16
    assert runs["D"].min() <= 1e3 * 1e2 and runs["D"].max() == 1e16
    near_floor = runs["loss"] / np.where(runs["group"] == "a", 1.8, 2.1) - 1
    assert near_floor.min() < 1e-11


MODELS = [("chinchilla", "normal"), ("data_constrained", "student_t")]


@pytest.fixture(scope="module")
def compiled(runs):
    """Log density + gradient of the model, compiled as NUTS sees it (C backend, all rewrites).

    Compiling costs 10-40 s per model, so two models cover both likelihoods and the laws
    with the most terms; the law forms of every law are swept above.
    """
    out = {}

    def get(law: str, likelihood: str):
        if (law, likelihood) not in out:
            config = FitConfig(law=law, priors="weak", groups="group", likelihood=likelihood)
            model = make_model(runs, config)
            f = model.logp_dlogp_function(ravel_inputs=True)
            f.set_extra_values({})
            out[law, likelihood] = model, f
        return out[law, likelihood]

    return get


def _ravel(point: dict, f) -> np.ndarray:
    return np.concatenate([np.ravel(point[v.name]) for v in f._grad_vars])


@pytest.mark.slow
@pytest.mark.parametrize(("law", "likelihood"), MODELS)
def test_model_log_density_and_gradient_are_finite(compiled, law, likelihood):
    """Finite log density and gradient wherever the prior has support; never NaN.

    The centre parametrisation samples the floor, coefficients and exponents through the
    loss and slopes at the data centre, so a coordinate pushed far out can map an exponent
    beyond its prior's upper bound: that point has zero prior density (log density -inf,
    which NUTS rejects like any other), not a NaN.
    """
    model, f = compiled(law, likelihood)
    start = make_initial_point_fn(
        model=model, overrides=initial_values(model), return_transformed=True
    )
    x0 = _ravel(start(0), f)
    # 100 draws from the prior (in the unconstrained space NUTS works in); the centre
    # coordinates have no prior of their own and start spread around their start ...
    flat = set(initial_values(model))
    prior = make_initial_point_fn(
        model=model,
        default_strategy="prior",
        overrides=initial_values(model),
        return_transformed=True,
    )
    gen = np.random.default_rng(0)
    points = [x0]
    for seed in range(100):
        point = prior(seed)
        for name in flat:
            point[name] = point[name] + gen.normal(0.0, 0.5)
        points.append(_ravel(point, f))
    # ... and each coordinate pushed far out alone: a scale e^10 times its start, an
    # exponent at the edge of its support, an offset of 10 group SDs.
    for i in range(x0.size):
        for step in (-10.0, -3.0, 3.0, 10.0):
            x = x0.copy()
            x[i] += step
            points.append(x)
    finite = 0
    for x in points:
        logp, grad = f(x)
        assert not np.isnan(logp) and logp < np.inf, (law, x)
        if np.isfinite(logp):
            finite += 1
            assert np.all(np.isfinite(grad)), (law, x, grad)
    assert len(points) == 1 + 100 + 4 * x0.size
    assert finite >= 0.8 * len(points), finite


@pytest.mark.slow
def test_overflowing_group_offset_gives_minus_inf_not_nan(compiled):
    """A group offset of e^14 group SDs stays a number (models.build.OFFSET_BOUND)."""
    model, f = compiled("chinchilla", "normal")
    point = make_initial_point_fn(
        model=model, overrides=initial_values(model), return_transformed=True
    )(0)
    point["sigma_beta_log__"] = np.array(14.0)  # sigma_beta = 0.2 e^14 ~ 2.4e5
    point["z_beta_zerosum__"] = np.array([4.0])
    logp, _ = f(_ravel(point, f))
    assert not np.isnan(logp)
    # the floors' offsets are sampled centred (log offset itself): e^1e4 times the floor
    point["offset_E_zerosum__"] = np.array([1e4])
    logp, grad = f(_ravel(point, f))
    assert not np.isnan(logp) and not np.any(np.isnan(grad))


# ------------------------------------------------------------------ predictions over the range


def synthetic_fit(chains: int = 2, draws: int = 50) -> Fit:
    """A one-group Chinchilla Fit with wide draws (no sampler needed)."""
    rng = np.random.default_rng(3)
    box = {k: BOX[k] for k in LAWS["chinchilla"].params}
    data = {}
    for name, (low, high) in box.items():
        values = rng.uniform(low, high, (chains, draws, 1))
        data[f"{name}_group"] = (("chain", "draw", "group"), values)
    data["sigma"] = (("chain", "draw", "group"), rng.uniform(0.001, 0.2, (chains, draws, 1)))
    posterior = xr.Dataset(data, coords={"group": ["all"]})
    runs = load_runs(pd.DataFrame({"N": [1e8, 1e9], "D": [2e9, 2e10], "loss": [3.0, 2.6]}))
    idata = _idata.new({"posterior": posterior})
    return Fit(idata=idata, config=FitConfig(**PLAIN_MODEL), runs=runs, diagnostics=xr.Dataset())


def test_predictions_are_finite_over_the_sweep():
    result = synthetic_fit()
    N, D = np.exp(LOG_N), np.exp(LOG_D)
    draws = predict(result, N, D, include_noise=True, seed=1)
    assert draws.shape == (2, 50, GRID.size**2)
    assert np.all(np.isfinite(draws.values)) and np.all(draws.values > 0)
    summary = predict_summary(result, N, D, include_noise=True, seed=1)
    for name in ("loss_median", "loss_ci"):
        assert np.all(np.isfinite(summary[name].values)) and np.all(summary[name].values > 0)
