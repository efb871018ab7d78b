from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import SMALL_SAMPLER, fit_quietly

from forecast import load_dataset, predict
from forecast.config import PLAIN_MODEL
from forecast.predict import group_params
from forecast.studies.stacking import predict_runs
from models.laws import chinchilla, data_constrained


def test_predict_matches_the_law_at_posterior_draws(small_fit):
    draws = predict(small_fit, [1e8, 1e10], [2e9, 3e11], group="a")
    assert draws.dims == ("chain", "draw", "point")
    assert draws.attrs["units"] == "nats/token"
    assert draws.attrs["curve"] == "mean curve"
    post = small_fit.posterior
    sel = {"chain": 1, "draw": 17, "group": "a"}
    expected = chinchilla.loss(
        1e10,
        3e11,
        float(post["E_group"].isel(chain=1, draw=17).sel(group="a")),
        float(np.exp(post["log_A_group"][sel["chain"], sel["draw"]].sel(group="a"))),
        float(post["alpha_group"].isel(chain=1, draw=17).sel(group="a")),
        float(np.exp(post["log_B_group"].isel(chain=1, draw=17).sel(group="a"))),
        float(post["beta_group"].isel(chain=1, draw=17).sel(group="a")),
    )
    assert float(draws.isel(chain=1, draw=17, point=1)) == pytest.approx(expected, rel=1e-10)
    np.testing.assert_array_equal(draws["N"].values, [1e8, 1e10])


def test_new_group_is_wider_than_a_known_group(small_fit):
    known = predict(small_fit, 1e11, 2e12, group="a")
    new = predict(small_fit, 1e11, 2e12, group=None, seed=1)
    assert new.attrs["group"] == "new group"
    assert float(new.std()) > float(known.std())
    again = predict(small_fit, 1e11, 2e12, group=None, seed=1)
    xr.testing.assert_identical(new, again)


def test_noise_widens_the_band(small_fit):
    mean = predict(small_fit, [1e8], [2e9], group="b")
    noisy = predict(small_fit, [1e8], [2e9], group="b", include_noise=True, seed=3)
    assert noisy.attrs["curve"].startswith("loss of one new run")
    assert float(noisy.std()) > float(mean.std())
    # noise on the log scale has the fitted sigma: check the spread of log ratios
    ratio = np.log(noisy / mean).values.ravel()
    sigma = small_fit.posterior["sigma"].sel(group="b").values.ravel()
    assert np.std(ratio) == pytest.approx(np.sqrt(np.mean(sigma**2)), rel=0.15)


def test_grid_with_named_dims(small_fit):
    N = xr.DataArray(np.geomspace(1e8, 1e12, 5), dims="N")
    D = xr.DataArray(np.geomspace(1e9, 1e13, 7), dims="D")
    draws = predict(small_fit, N, D, group="a")
    assert draws.dims == ("chain", "draw", "N", "D")
    # loss falls with N and with D for every draw
    assert (draws.diff("N") < 0).all() and (draws.diff("D") < 0).all()
    # a DataArray with a scalar broadcasts; with a plain array it would make a silent grid
    assert predict(small_fit, N, 1e11, group="a").dims == ("chain", "draw", "N")
    with pytest.raises(ValueError, match="D is a plain array"):
        predict(small_fit, N, np.geomspace(1e9, 1e13, 5), group="a")


def test_bad_points_and_groups_raise(small_fit):
    with pytest.raises(ValueError, match="N must be"):
        predict(small_fit, [0.0], [1e9])
    with pytest.raises(KeyError, match="not in the fit"):
        group_params(small_fit, "zzz")


@pytest.fixture(scope="module")
def repeated_fit():
    """A data-constrained fit on 45 real runs with 1 to 1740 epochs (datablations, Apache-2.0)."""
    runs = load_dataset("datablations")
    runs = runs[~runs["high_loss"]].iloc[::6].reset_index(drop=True)
    assert runs["epochs"].max() > 10 and runs["unique_tokens"].nunique() > 10
    # the plain model: what is checked is the unique tokens each run is predicted with
    options = {"law": "data_constrained", "sampler": SMALL_SAMPLER, "seed": 3, **PLAIN_MODEL}
    return fit_quietly(runs, **options), runs


def test_each_run_is_predicted_with_its_own_unique_tokens(repeated_fit):
    # Regression: a plain array of unique tokens used to broadcast against every point, so
    # each run was predicted with the first run's U (the datablations backtest's 43%).
    result, runs = repeated_fit
    draws = predict_runs(result, runs)
    post = result.posterior.isel(chain=0, draw=11)
    theta = {k: float(post[k]) for k in ("E", "alpha", "beta", "R_D_star", "R_N_star")}
    expected = data_constrained.loss(
        runs["N"].to_numpy(),
        runs["D"].to_numpy(),
        runs["unique_tokens"].to_numpy(),
        A=np.exp(float(post["log_A"])),
        B=np.exp(float(post["log_B"])),
        **theta,
    )
    np.testing.assert_allclose(draws.isel(chain=0, draw=11).values, expected, rtol=1e-10)
    one = predict(
        result, runs["N"].iloc[5], runs["D"].iloc[5], unique_tokens=runs["unique_tokens"].iloc[5]
    )
    np.testing.assert_allclose(draws.isel(run=5).values, one.values, rtol=1e-12)
    with pytest.raises(ValueError, match="one value per point"):
        predict(result, runs["N"][:3], runs["D"][:3], unique_tokens=runs["unique_tokens"][:2])
