"""Backtest scoring on hand-made draws, splits, stacking, and one small real backtest."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from forecast.backtest import score_draws, split_runs, stack_draws, summarise
from forecast.errors import ConfigError


def _normal_draws(mu, sd, n=20000, seed=0):
    rng = np.random.default_rng(seed)
    values = mu + sd * rng.standard_normal((2, n // 2, len(np.atleast_1d(mu))))
    return xr.DataArray(values, dims=("chain", "draw", "run"))


def _crps_normal(y, mu, sd):
    z = (y - mu) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi))


def test_crps_of_normal_draws_matches_closed_form():
    mu, sd = np.array([3.0, 3.0, 2.5, 2.0]), np.array([0.1, 0.1, 0.05, 0.2])
    y = np.array([3.0, 3.25, 2.4, 2.1])
    scores = score_draws(_normal_draws(mu, sd), y)
    assert np.allclose(scores["crps"].values, _crps_normal(y, mu, sd), atol=1e-2 * sd.min())
    assert scores["crps"].attrs["units"] == "nats/token"


def test_crps_of_a_point_forecast_is_the_absolute_error():
    draws = xr.DataArray([[2.0], [3.5]], dims=("run", "draw"))
    scores = score_draws(draws, [2.1, 3.0])
    assert np.allclose(scores["crps"].values, [0.1, 0.5])
    assert np.isnan(scores["hit_90"].values).all() and np.isnan(scores["width_90"]).all()
    assert np.allclose(scores["rel_err"].values, [-0.1 / 2.1, 0.5 / 3.0])


def test_pit_and_interval_hits_of_a_known_distribution():
    mu, sd = np.zeros(5) + 3.0, np.zeros(5) + 0.1
    quantiles = np.array([0.02, 0.2, 0.5, 0.85, 0.97])
    y = stats.norm.ppf(quantiles, mu, sd)
    scores = score_draws(_normal_draws(mu, sd, n=40000), y)
    assert np.allclose(scores["pit"].values, quantiles, atol=0.01)
    # central 50% = (0.25, 0.75); 80% = (0.1, 0.9); 90% = (0.05, 0.95); 95% = (0.025, 0.975)
    assert scores["hit_50"].values.tolist() == [0, 0, 1, 0, 0]
    assert scores["hit_80"].values.tolist() == [0, 1, 1, 1, 0]
    assert scores["hit_90"].values.tolist() == [0, 1, 1, 1, 0]
    assert scores["hit_95"].values.tolist() == [0, 1, 1, 1, 1]
    width = 2 * stats.norm.ppf(0.95) * 0.1 / y
    assert np.allclose(scores["width_90"].values, width, rtol=0.02)


def test_pit_of_calibrated_draws_is_uniform():
    rng = np.random.default_rng(2)
    mu = rng.uniform(2, 4, 400)
    y = mu + 0.05 * rng.standard_normal(400)
    scores = score_draws(_normal_draws(mu, np.full(400, 0.05), n=2000), y)
    assert stats.kstest(scores["pit"].values, "uniform").pvalue > 0.01
    summary = summarise(scores)
    assert summary["coverage_90"].item() == pytest.approx(0.9, abs=0.05)
    assert summary["coverage_50"].item() == pytest.approx(0.5, abs=0.07)


def test_summary_reduces_over_runs_per_model():
    a = score_draws(_normal_draws(np.full(3, 3.0), np.full(3, 0.1)), [3.0, 3.05, 3.5])
    b = score_draws(xr.DataArray([[3.1], [3.1], [3.1]], dims=("run", "draw")), [3.0, 3.05, 3.5])
    both = xr.concat([a, b], "model").assign_coords(model=["ours", "point"])
    summary = summarise(both)
    assert summary["coverage_90"].sel(model="ours").item() == pytest.approx(2 / 3)
    assert np.isnan(summary["coverage_90"].sel(model="point").item())
    assert summary["median_abs_rel_err"].sel(model="point").item() == pytest.approx(0.1 / 3.0)
    assert summary["mean_crps"].sel(model="point").item() == pytest.approx((0.1 + 0.05 + 0.4) / 3)


def test_split_runs_by_threshold_quantile_and_mask():
    runs = pd.DataFrame(
        {"N": [1e8, 2e8, 4e8, 8e8], "D": [2e9, 4e9, 8e9, 1.6e10], "loss": [3.4, 3.2, 3.0, 2.9]}
    )
    assert split_runs(runs, "C<1e19").tolist() == [True, True, False, False]
    assert split_runs(runs, "N<=2e8").tolist() == [True, True, False, False]
    assert split_runs(runs, "C<=q0.5").tolist() == [True, True, False, False]
    assert split_runs(runs, [True, False, True, False]).tolist() == [True, False, True, False]
    with pytest.raises(ConfigError, match="no column"):
        split_runs(runs, "epochs<=2")
    with pytest.raises(ConfigError, match="puts 4 of 4"):
        split_runs(runs, "N<1e12")
    with pytest.raises(ConfigError, match="not '<column><op><value>'"):
        split_runs(runs, "N > 3")


def test_stacked_draws_mix_by_weight_and_keep_whole_draws():
    a = xr.DataArray(np.zeros((4, 1000, 3)), dims=("chain", "draw", "run"))
    b = xr.DataArray(np.ones((4, 1000, 3)), dims=("chain", "draw", "run"))
    mixed = stack_draws({"a": a, "b": b}, {"a": 0.3, "b": 0.9}, seed=1)
    assert mixed.dims == a.dims
    assert float(mixed.mean()) == pytest.approx(0.75, abs=0.02)
    # every (chain, draw) comes whole from one model
    assert np.all(mixed.std("run") == 0)
    again = stack_draws({"a": a, "b": b}, {"a": 0.3, "b": 0.9}, seed=1)
    np.testing.assert_array_equal(mixed.values, again.values)
