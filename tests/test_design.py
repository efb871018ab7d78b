from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import TRUE
from scipy import stats
from typer.testing import CliRunner

from forecast import ConfigError, DataError, save, simulate, suggest_runs, update
from forecast.cli import app
from forecast.errors import ConvergenceWarning
from forecast.fit import Fit, _idata
from forecast.plots import plot_suggestions, plot_update
from forecast.studies.design import (
    MIN_ESS,
    WeightCollapseWarning,
    _linear_gaussian_variance,
    candidate_predictive,
    frontier_draws,
    reweighted_variances,
    target_draws,
)
from models.laws import chinchilla
from models.noise import noise_variance


def test_reweighting_matches_the_conjugate_normal_posterior():
    # theta ~ N(0, 1), y | theta ~ N(theta, s^2): posterior variance s^2 / (1 + s^2) for any y.
    rng = np.random.default_rng(0)
    S, s = 40_000, 0.5
    theta = rng.standard_normal(S)
    sd = np.full(S, s)
    source = rng.integers(S, size=64)
    y = theta[source] + s * rng.standard_normal(64)
    var, ess = reweighted_variances(theta, theta, sd, None, y, source)
    closed = s**2 / (1 + s**2)
    assert np.mean(var) == pytest.approx(closed, rel=0.03)
    assert np.all(np.abs(var - closed) < 0.2 * closed)
    # ESS / S = E[w]^2 / E[w^2] = N(y; 0, 1 + s^2)^2 * 2 s sqrt(pi) / N(y; 0, 1 + s^2 / 2)
    norm = stats.norm.pdf
    ratio = (
        norm(y, 0, np.sqrt(1 + s**2)) ** 2
        * 2
        * s
        * np.sqrt(np.pi)
        / norm(y, 0, np.sqrt(1 + s**2 / 2))
    )
    np.testing.assert_allclose(ess / S, ratio, rtol=0.15)
    # the linear-Gaussian update is exact here
    assert _linear_gaussian_variance(theta, theta, s**2) == pytest.approx(closed, rel=0.02)


def test_target_is_the_loss_at_compute_optimal_D(small_fit):
    t = target_draws(small_fit, N=1e13, group="a")
    assert t.dims == ("chain", "draw") and t.attrs["units"] == "nats/token"
    post = small_fit.posterior.sel(group="a")
    sel = {"chain": 1, "draw": 11}
    p = {k: float(post[f"{k}_group"].isel(sel)) for k in ("E", "log_A", "alpha", "log_B", "beta")}
    A, B = np.exp(p["log_A"]), np.exp(p["log_B"])
    # find the compute whose optimum is N = 1e13, then check the loss there
    lo, hi = 1e20, 1e35
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        n_opt, _ = chinchilla.compute_optimal(mid, p["E"], A, p["alpha"], B, p["beta"])
        lo, hi = (mid, hi) if n_opt < 1e13 else (lo, mid)
    n_opt, d_opt = chinchilla.compute_optimal(mid, p["E"], A, p["alpha"], B, p["beta"])
    expected = chinchilla.loss(1e13, d_opt, p["E"], A, p["alpha"], B, p["beta"])
    assert float(t.isel(sel)) == pytest.approx(float(expected), rel=1e-8)
    alpha = target_draws(small_fit, target="alpha", group="a")
    np.testing.assert_array_equal(alpha.values, small_fit.posterior["alpha_group"].sel(group="a"))
    with pytest.raises(ConfigError, match="groups"):
        target_draws(small_fit)
    with pytest.raises(ConfigError, match="target"):
        target_draws(small_fit, target="gamma", group="a")


def test_frontier_falls_with_compute(small_fit):
    f = frontier_draws(small_fit, np.geomspace(1e18, 1e26, 5), group="b")
    assert f.dims == ("chain", "draw", "point")
    assert (f.diff("point") < 0).all()


def test_suggest_runs_ranks_candidates(small_fit):
    ranked = suggest_runs(small_fit, 1e21, group="a", n_outcomes=128, seed=3)
    n = ranked.sizes["run"]
    assert n == 30
    np.testing.assert_array_equal(ranked["rank"], np.arange(1, n + 1))
    assert (ranked["C"] <= 1e21 * (1 + 1e-9)).all()
    np.testing.assert_allclose(ranked["C"], 6 * ranked["N"] * ranked["D"], rtol=1e-12)
    for name in ("variance_reduction", "reduction_per_flop", "expected_sd", "ess_median"):
        assert np.isfinite(ranked[name]).all(), name
    assert (np.diff(ranked["reduction_per_flop"]) <= 0).all()
    S = ranked.attrs["n_draws"]
    assert S == 400
    assert ((ranked["ess_min"] > 0) & (ranked["ess_median"] <= S)).all()
    assert (ranked["method"] == "importance").all()
    # one run cannot remove more variance than exists, and barely adds any
    assert (ranked["relative_reduction"] < 1).all() and (ranked["relative_reduction"] > -0.05).all()
    # the biggest run within budget is more informative than the smallest
    by_c = ranked.sortby("C")
    assert float(by_c["variance_reduction"][-6:].max()) > 3 * float(
        by_c["variance_reduction"][:6].max()
    )
    # cheap estimates agree in scale with the linear-Gaussian one on the informative runs
    big = ranked.where(ranked["relative_reduction"] > 0.1, drop=True)
    ratio = big["variance_reduction_importance"] / big["variance_reduction_linear"]
    assert ((ratio > 0.5) & (ratio < 2)).all()
    for key in ("package_version", "config_hash", "seed", "law", "target", "budget_flop"):
        assert key in ranked.attrs
    again = suggest_runs(small_fit, 1e21, group="a", n_outcomes=128, seed=3)
    np.testing.assert_array_equal(again["variance_reduction"], ranked["variance_reduction"])
    by_total = suggest_runs(small_fit, 1e21, group="a", n_outcomes=128, rank_by="reduction")
    assert (np.diff(by_total["variance_reduction"]) <= 0).all()
    fig = plot_suggestions(ranked, runs=small_fit.runs)
    assert fig.axes[0].get_xscale() == "log"


def test_collapsed_weights_fall_back_to_the_linear_update(small_fit):
    # 100x smaller noise makes one run far more informative than 400 draws can represent
    post = small_fit.posterior
    sharp = Fit(
        idata=_idata.with_groups(
            small_fit.idata, {"posterior": post.assign(sigma=post.sigma / 100)}
        ),
        config=small_fit.config,
        runs=small_fit.runs,
        diagnostics=small_fit.diagnostics,
    )
    with pytest.warns(WeightCollapseWarning, match="linear-Gaussian"):
        ranked = suggest_runs(sharp, 1e21, group="a", n_outcomes=32)
    collapsed = ranked["ess_median"] < MIN_ESS
    assert collapsed.any()
    assert (ranked["method"].values[collapsed.values] == "linear").all()
    np.testing.assert_array_equal(
        ranked["variance_reduction"][collapsed], ranked["variance_reduction_linear"][collapsed]
    )
    assert np.isfinite(ranked["variance_reduction"]).all()


def test_suggest_runs_rejects_bad_requests(small_fit):
    with pytest.raises(ConfigError, match="group"):
        suggest_runs(small_fit, 1e21)
    with pytest.raises(ConfigError, match="budget"):
        suggest_runs(small_fit, 1e20, group="a", candidates=[{"N": 1e9, "D": 1e11}])
    with pytest.raises(ConfigError, match="budget_flop"):
        suggest_runs(small_fit, -1.0, group="a")
    with pytest.raises(ConfigError, match="rank_by"):
        suggest_runs(small_fit, 1e21, group="a", rank_by="cost")
    own = suggest_runs(small_fit, 1e21, group="b", candidates=[{"N": 1e9, "D": 2e10}])
    assert own.sizes["run"] == 1 and float(own["N"][0]) == 1e9


def test_suggest_command_prints_a_table(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    out = tmp_path / "next.csv"
    result = CliRunner().invoke(
        app,
        [
            "suggest",
            str(path),
            "--budget",
            "1e21",
            "--group",
            "a",
            "--top",
            "3",
            "--outcomes",
            "64",
            "--out",
            str(out),
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "next runs" in result.output
    table = pd.read_csv(out)
    assert len(table) == 30 and table["rank"].tolist() == list(range(1, 31))
    bad = CliRunner().invoke(app, ["suggest", str(path), "--budget", "1e21"])
    assert bad.exit_code == 2 and "group" in bad.output


def test_update_needs_the_group_column(small_fit):
    with pytest.raises(DataError, match="group"):
        update(small_fit, pd.DataFrame({"N": [1e9], "D": [2e10], "loss": [2.5]}))


@pytest.mark.slow
def test_update_appends_runs_and_narrows_the_forecast(small_fit):
    truth = {**TRUE, "E": TRUE["E"]}
    design = pd.DataFrame({"N": [3e9, 1e10, 3e10], "D": [6e10, 2e11, 6e11], "group": "a"})
    new = simulate("chinchilla", truth, design, sigma=0.01, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        after = update(small_fit, new, seed=8)
    assert len(after.runs) == len(small_fit.runs) + 3
    assert after.config == small_fit.config.replace(seed=8)
    assert small_fit.runs.shape[0] == 40  # the argument is not modified
    before_t = target_draws(small_fit, group="a").values.ravel()
    after_t = target_draws(after, group="a").values.ravel()
    width = [np.diff(np.quantile(v, [0.05, 0.95]))[0] for v in (before_t, after_t)]
    print(f"\n10T forecast 90% width before {width[0]:.4f}, after {width[1]:.4f} nats/token")
    assert width[1] < 0.8 * width[0]
    fig = plot_update(small_fit, after, group="a")
    assert len(fig.axes) == 2


def test_far_candidates_carry_the_discrepancy_noise(discrepancy_fit):
    """Issue 17: suggest_runs used sigma alone, so far candidates looked too informative."""
    runs = discrepancy_fit.runs
    cands = pd.DataFrame({"N": [1e8, 1e11], "D": [2e9, 2e12]})  # near the runs, 4 decades out
    mean, sd, nu = candidate_predictive(discrepancy_fit, cands, group="a")
    post = discrepancy_fit.posterior
    sigma = post["sigma"].sel(group="a").transpose("chain", "draw").values.ravel()
    tau = post["tau"].transpose("chain", "draw").values.ravel()
    centre = np.mean(np.log10(runs["N"] * runs["D"]))
    distance = np.abs(np.log10(cands["N"] * cands["D"]).to_numpy() - centre)  # decades
    expected = np.sqrt(sigma**2 + (tau * distance[:, None]) ** 2)
    np.testing.assert_allclose(sd, expected, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeightCollapseWarning)
        ranked = suggest_runs(
            discrepancy_fit, 1e25, candidates=cands, group="a", n_outcomes=64, seed=1
        )
    T = target_draws(discrepancy_fit, group="a").transpose("chain", "draw").values.ravel()
    for c, n in enumerate(cands["N"]):
        cov = np.cov(T, mean[c], ddof=0)
        # noise variance of the default Student-t likelihood: sd^2 nu / (nu - 2)
        linear = cov[0, 1] ** 2 / (cov[1, 1] + np.mean(noise_variance(expected[c], nu)))
        row = ranked.isel(run=int(np.flatnonzero(ranked["N"].values == n)[0]))
        assert float(row["variance_reduction_linear"]) == pytest.approx(linear, rel=1e-9)
