"""The Epoch-style point fit: grid, Huber objective, recovery and bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from forecast.studies.baseline import (
    GRID,
    HUBER_DELTA,
    PARAMS,
    bootstrap_point,
    fit_point,
    huber_objective,
    predict_point,
)
from models.laws import chinchilla

TRUE = {"E": 1.80, "A": 480.0, "alpha": 0.35, "B": 2000.0, "beta": 0.37}
TRUE_THETA = np.array(
    [np.log(TRUE["A"]), np.log(TRUE["B"]), np.log(TRUE["E"]), TRUE["alpha"], TRUE["beta"]]
)


def _runs(noise: float = 0.0, seed: int = 3) -> pd.DataFrame:
    N = np.repeat(np.geomspace(5e7, 1e10, 8), 5)
    D = N * np.tile([4.0, 10.0, 20.0, 50.0, 120.0], 8)
    loss = chinchilla.loss(N, D, TRUE["E"], TRUE["A"], TRUE["alpha"], TRUE["B"], TRUE["beta"])
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"N": N, "D": D, "loss": loss * np.exp(noise * rng.standard_normal(N.size))}
    )


def test_grid_is_hoffmanns_4500_points():
    assert GRID.shape == (4500, 5)
    for k, values in enumerate(
        ([0, 5, 10, 15, 20, 25], [0, 5, 10, 15, 20, 25], [-1, -0.5, 0, 0.5, 1], [0, 0.5, 1, 1.5, 2])
    ):
        assert np.allclose(np.unique(GRID[:, k]), values), PARAMS[k]
    assert np.allclose(np.unique(GRID[:, 4]), [0, 0.5, 1, 1.5, 2])
    assert len(np.unique(GRID, axis=0)) == 4500


def test_objective_is_zero_at_the_truth_and_matches_scipy_huber():
    from scipy.special import huber

    runs = _runs(noise=0.02)
    arrays = [np.log(runs[c].to_numpy()) for c in ("N", "D", "loss")]
    value, grad = huber_objective(TRUE_THETA, *arrays)
    residual = np.log(chinchilla.loss(runs.N, runs.D, **TRUE)) - arrays[2]
    assert value == pytest.approx(huber(HUBER_DELTA, residual).sum(), rel=1e-12)
    clean = [np.log(_runs()[c].to_numpy()) for c in ("N", "D", "loss")]
    value0, grad0 = huber_objective(TRUE_THETA, *clean)
    assert value0 == pytest.approx(0.0, abs=1e-20)
    assert np.allclose(grad0, 0.0, atol=1e-12)


@pytest.mark.parametrize("delta", [HUBER_DELTA, 0.05])
def test_gradient_matches_finite_differences(delta):
    runs = _runs(noise=0.03)
    arrays = [np.log(runs[c].to_numpy()) for c in ("N", "D", "loss")]
    weights = np.random.default_rng(1).integers(0, 3, size=len(runs)).astype(float)
    for theta in (TRUE_THETA + [0.3, -0.2, 0.05, 0.02, -0.03], np.array([5.0, 8.0, 0.4, 0.3, 0.4])):
        _, grad = huber_objective(theta, *arrays, delta=delta, weights=weights)
        numeric = approx_fprime(
            theta,
            lambda t: huber_objective(t, *arrays, delta=delta, weights=weights)[0],
            1e-7,
        )
        assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-7), (grad, numeric)


def test_noise_free_fit_recovers_the_law_exactly():
    fitted = fit_point(_runs(), grid=GRID[::150])
    got = np.array([float(fitted[p]) for p in PARAMS])
    print("recovered", dict(zip(PARAMS, got.round(6), strict=True)))
    assert np.allclose(got, TRUE_THETA, atol=1e-4)
    assert fitted.attrs["objective"] < 1e-12
    assert fitted.attrs["residual_sd"] < 1e-6
    assert fitted.attrs["n_starts"] == 30


def test_bootstrap_is_reproducible_and_covers_the_truth():
    runs = _runs(noise=0.01)
    start = fit_point(runs, grid=GRID[::150])
    a = bootstrap_point(runs, n_bootstrap=40, seed=4, start=start)
    b = bootstrap_point(runs, n_bootstrap=40, seed=4, start=start)
    c = bootstrap_point(runs, n_bootstrap=5, seed=5, start=start)
    assert a["alpha"].sizes["draw"] == 40
    for p in PARAMS:
        np.testing.assert_array_equal(a[p].values, b[p].values)
    assert not np.array_equal(a["alpha"].values[:5], c["alpha"].values)
    lo, hi = np.quantile(a["alpha"], [0.005, 0.995])
    assert lo < TRUE["alpha"] < hi
    assert float(a["alpha"].std()) > 1e-4  # resamples do move the fit
    assert a.attrs["residual_sd"] == pytest.approx(0.01, rel=0.3)


def test_predict_point_matches_the_law_and_broadcasts_over_draws():
    runs = _runs()
    start = fit_point(runs, grid=GRID[::150])
    pred = predict_point(start, [1e9, 1e11], [2e10, 3e12])
    expected = chinchilla.loss(np.array([1e9, 1e11]), np.array([2e10, 3e12]), **TRUE)
    assert np.allclose(pred.values, expected, rtol=1e-5)
    assert pred.attrs["units"] == "nats/token"
    boot = bootstrap_point(runs, n_bootstrap=5, start=start)
    assert predict_point(boot, [1e9, 1e11], [2e10, 3e12]).dims == ("draw", "point")
