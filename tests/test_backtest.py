"""Backtest scoring on hand-made draws, splits, stacking, and one small real backtest."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from forecast.errors import ConfigError, ConvergenceWarning
from forecast.studies.backtest import score_draws, split_runs, summarise
from forecast.studies.stacking import stack_draws, stacking_weights


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


def test_crps_of_log_loss_matches_the_normal_closed_form_on_the_log_scale():
    mu, sd = np.log([3.0, 2.5, 2.0]), np.array([0.02, 0.05, 0.1])
    y = np.array([3.0, 2.7, 1.8])
    scores = score_draws(np.exp(_normal_draws(mu, sd)), y)
    expected = _crps_normal(np.log(y), mu, sd)
    assert np.allclose(scores["crps_log"].values, expected, atol=1e-2 * sd.min())
    assert scores["crps_log"].attrs["units"] == "1"
    point = score_draws(xr.DataArray([[2.0], [3.5]], dims=("run", "draw")), [2.1, 3.0])
    assert np.allclose(point["crps_log"].values, np.abs(np.log([2.0 / 2.1, 3.5 / 3.0])))


def test_crps_of_log_loss_stays_finite_for_a_heavy_tailed_log_predictive():
    # Student-t with 1.5 degrees of freedom on log loss, as a robust fit can produce: the
    # loss-scale CRPS of its draws is set by the largest draw and grows with the number of
    # draws (its expectation is infinite); the log-scale CRPS settles.
    y = np.array([2.5])
    by_size = {}
    for n in (4_000, 400_000):
        t = stats.t.rvs(1.5, size=(1, n), random_state=np.random.default_rng(1))
        draws = xr.DataArray(np.exp(np.log(2.5) + 0.05 * t), dims=("run", "draw"))
        by_size[n] = score_draws(draws, y)
    log_scores = [float(s["crps_log"][0]) for s in by_size.values()]
    loss_scores = [float(s["crps"][0]) for s in by_size.values()]
    assert log_scores[1] == pytest.approx(log_scores[0], rel=0.1)
    assert loss_scores[1] > 3 * loss_scores[0]
    # draws that left the float range in exp() (0 or inf) still give a finite, poor score
    extreme = xr.DataArray([[0.0, 2.5, 2.6, np.inf]], dims=("run", "draw"))
    scores = score_draws(extreme, y)
    # log draws -708 (clamped), 0.92, 0.96, +710 (clamped) against log 2.5 = 0.92: CRPS 88
    assert 80 < float(scores["crps_log"][0]) < 95 and np.isinf(scores["crps"][0])


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


def test_stacking_weights_maximise_the_mixture_log_score():
    rng = np.random.default_rng(3)
    lpd = np.log(rng.uniform(0.05, 1.0, size=(40, 3)))
    w = stacking_weights(lpd)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()

    def score(weights):
        return np.log(np.exp(lpd) @ weights).sum()

    for _ in range(200):  # no random point of the simplex scores better
        other = rng.dirichlet(np.ones(3))
        assert score(other) <= score(w) + 1e-9
    # a model that is best everywhere takes all the weight
    dominant = np.column_stack([np.zeros(10), np.full(10, -3.0)])
    assert stacking_weights(dominant)[0] == pytest.approx(1.0, abs=1e-6)


def test_loo_comparison_and_predictive_density_on_the_shared_fit(small_fit, synthetic_runs):
    from forecast.studies.stacking import compare_fits, log_predictive_density, predict_runs

    table = compare_fits({"a": small_fit, "b": small_fit})
    assert list(table["model"].values) == ["a", "b"]
    assert float(table["weight"].sum()) == pytest.approx(1.0)
    assert float(table["elpd_loo"].sel(model="a")) == pytest.approx(
        float(table["elpd_loo"].sel(model="b"))
    )
    # ~40 runs with 1% noise: elpd per run of log loss ~ log(1 / (0.01 sqrt(2 pi e))) = 3.2
    assert 2.5 < float(table["elpd_loo"].sel(model="a")) / len(synthetic_runs) < 3.6
    lpd = log_predictive_density(small_fit, synthetic_runs)
    assert lpd.dims == ("run",) and np.isfinite(lpd).all()
    assert 2.5 < float(lpd.mean()) < 4.0
    draws = predict_runs(small_fit, synthetic_runs.assign(group=["a"] * 39 + ["unseen"]))
    assert draws.dims == ("chain", "draw", "run") and draws.sizes["run"] == 40
    median = draws.median(("chain", "draw")).values
    assert np.allclose(median[:20], synthetic_runs["loss"][:20], rtol=0.05)


@pytest.mark.slow
def test_discrepancy_widens_predictions_with_distance_and_round_trips(tmp_path, chinchilla_runs):
    from conftest import fit_quietly

    from forecast import FitConfig, SamplerConfig, load, predict, save

    runs = chinchilla_runs.iloc[::4].reset_index(drop=True)  # 60 runs
    sampler = SamplerConfig(draws=200, tune=300, chains=2, progress=False)
    # Normal noise, so that the predictive SD at the centre is sigma itself
    config = FitConfig(likelihood="normal", discrepancy="compute", sampler=sampler, seed=3)
    result = fit_quietly(runs, config=config)
    assert result.config.discrepancy == "compute" and "tau" in result.posterior
    tau = result.posterior["tau"]
    print("tau per decade: median", float(tau.median()), "90%", np.quantile(tau, [0.05, 0.95]))
    centre = np.exp(np.mean(np.log(runs["N"])))
    ratio = float(np.exp(np.mean(np.log(runs["D"] / runs["N"]))))
    N = centre * np.array([1.0, 1e2, 1e4])  # 0, 4 and 8 decades of compute from the centre
    new = predict(result, N, ratio * N, include_noise=True, seed=1)
    mean = predict(result, N, ratio * N, seed=1)
    spread = (np.log(new) - np.log(mean)).std(("chain", "draw")).values
    sigma, t = float(result.posterior["sigma"].median()), float(tau.median())
    expected = np.sqrt(sigma**2 + (t * np.array([0.0, 4.0, 8.0])) ** 2)
    print("noise SD of log loss at 0, 4, 8 decades:", spread, "expected ~", expected)
    assert spread[0] < spread[1] < spread[2]
    assert spread[0] == pytest.approx(sigma, rel=0.25)
    path = tmp_path / "fit.nc"
    save(result, path)
    again = load(path)
    assert again.config == result.config
    np.testing.assert_array_equal(again.posterior["tau"].values, tau.values)


@pytest.mark.slow
def test_small_chinchilla_backtest_through_the_cli(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import forecast.studies.baseline as baseline
    from forecast import _idata
    from forecast.cli import app

    monkeypatch.setattr(baseline, "GRID", baseline.GRID[::30])  # 150 of the 4500 starts
    out = tmp_path / "bt.nc"
    data = str(Path(__file__).parent / "data" / "chinchilla.csv")
    args = ["backtest", data, "--split", "C<1e20", "--draws", "300", "--n-bootstrap", "200"]
    with warnings.catch_warnings():  # 2 x 300 draws: ESS below the production threshold
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = CliRunner().invoke(app, [*args, "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout + str(result.exception)
    print(result.stdout)
    bt = _idata.dataset_from_netcdf(out)
    assert out.with_suffix(".png").stat().st_size > 10_000
    assert bt.attrs["n_train"] == 136 and bt.attrs["n_test"] == 104
    models = list(bt["model"].values)
    assert models[:3] == ["ours", "bootstrap", "bootstrap+noise"] and len(models) == 5
    for name in ("median_abs_rel_err", "coverage_50", "coverage_90", "mean_width_90", "mean_crps"):
        values = bt[name].sel(model=["ours", "bootstrap", "bootstrap+noise"]).values
        assert np.isfinite(values).all(), name
    print(bt[["coverage_90", "mean_width_90", "mean_crps"]].to_dataframe())
    ours = bt.sel(model="ours")
    assert 0.0 < float(ours["median_abs_rel_err"]) < 0.03
    assert float(ours["mean_crps"]) < 0.05
    # the discrepancy term: the far half of the held-out runs gets wider bands
    far = bt["C"].values > np.median(bt["C"].values)
    assert ours["width_90"].values[far].mean() > ours["width_90"].values[~far].mean()
    assert np.isnan(bt["coverage_90"].sel(model="published:besiroglu2024"))
    # the predictive SD of log loss by source: its total is the band's scale
    sd = float(bt["variance"].sel(component="ours", source="total")) ** 0.5
    assert 0.2 < float(ours["mean_width_90"]) / (2 * 1.645 * sd) < 5


def test_repeated_data_backtest_predicts_multi_epoch_runs(monkeypatch):
    # Backtest 4 with small draws: fit the datablations runs of <= 2 epochs, predict the
    # runs repeated 2-59 times over >= 1e9 unique tokens (bench/backtest.py runs all of them).
    from conftest import SMALL_SAMPLER

    import forecast.studies.baseline as baseline
    from forecast import FitConfig, load_dataset
    from forecast.studies.backtest import backtest

    monkeypatch.setattr(baseline, "GRID", baseline.GRID[::30])  # 150 of the 4500 starts
    runs = load_dataset("datablations")
    runs = runs[~runs["high_loss"] & (runs["unique_tokens"] >= 1e9)].reset_index(drop=True)
    config = FitConfig(law="data_constrained", sampler=SMALL_SAMPLER, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bt = backtest(runs, split="epochs<=2", config=config, n_bootstrap=100, published=())
    print(
        bt[["median_abs_rel_err", "coverage_90", "mean_width_90", "mean_crps_log"]].to_dataframe()
    )
    assert bt.attrs["n_test"] == int((runs["epochs"] > 2).sum()) > 100
    ours = bt.sel(model="ours")
    # each held-out run is predicted with its own unique tokens: the same (N, D) repeated
    # over fewer unique tokens must be predicted worse (4.2B params, 84B tokens, 3-14 epochs)
    held_out = runs[runs["epochs"] > 2].reset_index(drop=True)
    same = (held_out["N"].between(4.2e9, 4.3e9) & (held_out["D"] == 8.4e10)).to_numpy()
    epochs, medians = held_out["epochs"].to_numpy()[same], ours["median"].values[same]
    print("epochs", epochs, "predicted median", medians)
    assert same.sum() >= 20 and epochs.min() == 3 and epochs.max() > 40
    assert medians[epochs == epochs.max()].min() > 1.01 * medians[epochs == 3].max()
    assert float(ours["median_abs_rel_err"]) < 0.03
    assert float(ours["mean_crps_log"]) < float(bt["mean_crps_log"].sel(model="bootstrap"))
    # the width's sources at the held-out runs, the repetition scales among the parameters
    v = bt["variance"].sel(component="ours")
    parts = v.sel(source=["parameters", "noise", "discrepancy"]).sum("source")
    np.testing.assert_allclose(v.sel(source="total"), parts)
    assert {"R_D_star", "R_N_star"} <= set(v["source"].values)
    assert (v.sel(source=["E", "R_D_star"]) >= 0).all()


def test_the_baseline_beside_the_fits_is_the_baseline_and_raises_its_errors(monkeypatch):
    # backtest() computes the point-fit baseline in a child process while it fits: the same
    # draws as computed here (the grid as patched here reaches the child), and the child's
    # typed error, with its fields, reaches the caller.
    import forecast.studies.backtest as bt
    import forecast.studies.baseline as baseline
    from forecast import DataError

    monkeypatch.setattr(baseline, "GRID", baseline.GRID[::90])  # 50 of the 4500 starts
    runs = pd.read_csv(Path(__file__).parent / "data" / "chinchilla.csv")
    train, test = runs.iloc[:40].reset_index(drop=True), runs.iloc[200:205].reset_index(drop=True)
    with bt._BaselineBeside(train, test, None, 30, 5) as beside:
        point, boot, noisy = beside.result()
    here = bt._baseline(train, test, None, 30, 5, baseline.GRID)
    np.testing.assert_array_equal(point, here[0])
    np.testing.assert_array_equal(boot.values, here[1].values)
    np.testing.assert_array_equal(noisy.values, here[2].values)
    assert boot.shape == (5, 30)
    with bt._BaselineBeside(train.iloc[:3], test, None, 30, 5) as beside:
        with pytest.raises(DataError, match="at least 5 runs, got 3") as caught:
            beside.result()
    assert caught.value.path is None and caught.value.rows == ()


def test_a_baseline_child_that_cannot_start_leaves_no_temp_folder(monkeypatch, tmp_path):
    import subprocess
    import tempfile

    import forecast.studies.backtest as bt

    def no_child(*args, **kwargs):
        raise OSError("no processes left")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(subprocess, "Popen", no_child)
    runs = pd.read_csv(Path(__file__).parent / "data" / "chinchilla.csv").iloc[:10]
    with pytest.raises(OSError, match="no processes left"):
        bt._BaselineBeside(runs, runs, None, 30, 5)
    assert list(tmp_path.iterdir()) == []
