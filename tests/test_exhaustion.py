"""forecast.exhaustion and models.trend: tokens needed vs the stock, and when it runs out."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.stats import norm
from typer.testing import CliRunner

from forecast import (
    ConfigError,
    SamplerConfig,
    StockPrior,
    exhaustion,
    fit_dataset_trend,
    load_dataset,
    save,
)
from forecast.dataset_trend import select_trend_rows
from forecast.errors import ConvergenceWarning, ExtrapolationWarning
from forecast.exhaustion import (
    DEFAULT_SCENARIOS,
    VILLALOBOS_YEAR,
    _compute_optimal_tokens,
    _r_d_star,
    _repeat_penalty,
)
from models.laws import chinchilla, data_constrained
from models.trend import build_trend_model, trend_log10_tokens, year_reaching

N_10T = 1e13
HOFFMANN = {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}
MUENNIGHOFF = {
    "E": math.exp(0.6254804),
    "A": math.exp(6.255414),
    "alpha": 0.3526596,
    "B": math.exp(7.3049974),
    "beta": 0.3526596,
}


def _theta(p: dict) -> dict:
    out = {k: np.asarray(v, float) for k, v in p.items()}
    out["log_A"], out["log_B"] = np.log(out["A"]), np.log(out["B"])
    return out


@pytest.fixture(scope="module")
def anchors():
    return load_dataset("published_fits", table="stock_anchors.csv")


@pytest.fixture(scope="module")
def epoch():
    return load_dataset("epoch_notable")


@pytest.fixture(scope="module")
def result(small_fit):
    with pytest.warns(ExtrapolationWarning):  # 4 decades beyond the runs in N
        return exhaustion(small_fit, N=N_10T, seed=3)


# ------------------------------------------------------------------ the stock prior


def test_stock_prior_matches_published_anchor_and_documents_its_rule(anchors):
    row = anchors.iloc[0]
    assert row["unit"] == "tokens" and row["interval"] == "90% CI"
    prior = StockPrior()
    assert (prior.median, prior.lower, prior.upper, prior.ci_prob) == (
        float(row["value"]),
        float(row["low"]),
        float(row["high"]),
        0.9,
    )
    z = norm.ppf(0.95)
    # geometric mean of the two tail ratios (3 and 3.33) = sqrt(10)
    assert prior.sigma == pytest.approx(math.log(math.sqrt(10.0)) / z, rel=1e-12)
    assert prior.sigma == pytest.approx(0.69994, abs=1e-5)
    # with mu fixed at ln(median) it is also the least-squares fit of both log-quantiles
    residuals = [prior.sigma * z - math.log(3.0), prior.sigma * z - math.log(1e15 / 3e14)]
    assert sum(residuals) == pytest.approx(0.0, abs=1e-12)
    lo, hi = prior.implied_interval()
    assert lo == pytest.approx(3e14 / math.sqrt(10.0), rel=1e-9)  # 9.49e13 (published 1e14)
    assert hi == pytest.approx(3e14 * math.sqrt(10.0), rel=1e-9)  # 9.49e14 (published 1e15)
    assert math.exp(prior.mu) == pytest.approx(3e14, rel=1e-12)
    print(f"\nstock prior: sigma {prior.sigma:.4f}, implied 90% interval {lo:.3g}-{hi:.3g} tokens")


def test_villalobos_year_matches_published_anchor(anchors):
    row = anchors.iloc[1]
    assert row["unit"] == "calendar year" and row["interval"].startswith("80% CI")
    assert (VILLALOBOS_YEAR["median"], VILLALOBOS_YEAR["lower"], VILLALOBOS_YEAR["upper"]) == (
        float(row["value"]),
        float(row["low"]),
        float(row["high"]),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lower": 4e14},
        {"upper": 2e14},
        {"median": -1.0},
        {"ci_prob": 1.0},
        {"median": float("nan")},
    ],
)
def test_stock_prior_rejects_invalid_values(kwargs):
    with pytest.raises(ConfigError, match="StockPrior"):
        StockPrior(**kwargs)


# ------------------------------------------------------------------ pure math


def test_compute_optimal_tokens_inverts_the_chinchilla_allocation():
    theta = _theta(HOFFMANN)
    D = _compute_optimal_tokens(N_10T, theta)
    assert float(chinchilla.optimal_N_for_D(D, 406.4, 0.34, 410.7, 0.28)) == pytest.approx(
        N_10T, rel=1e-10
    )
    N_opt, D_opt = chinchilla.compute_optimal(6 * N_10T * D, 1.69, 406.4, 0.34, 410.7, 0.28)
    assert float(N_opt) == pytest.approx(N_10T, rel=1e-10)
    assert float(D_opt) == pytest.approx(float(D), rel=1e-10)


def test_repeat_penalty_is_the_data_term_with_effective_tokens():
    theta = _theta(MUENNIGHOFF)
    D = np.array([1e15, 2e14, 3e14])
    U = np.minimum(3e14, D)
    penalty = _repeat_penalty(N_10T, D, U, theta, 15.387756)
    D_eff = data_constrained.effective_tokens(1e15, 3e14, 15.387756)
    expected = theta["B"] * (D_eff ** -theta["beta"] - 1e15 ** -theta["beta"])
    assert penalty[0] == pytest.approx(float(expected), rel=1e-10)
    assert 0 < penalty[0] < 1e-3  # 3.3 epochs: a small penalty, as Muennighoff et al. found
    np.testing.assert_array_equal(penalty[1:], 0.0)  # the stock does not bind
    # the faster repeated data decays (smaller R_D*), the larger the penalty
    assert _repeat_penalty(N_10T, D, U, theta, 1.0)[0] > 10 * penalty[0]


def test_r_d_star_uses_the_posterior_or_the_muennighoff_prior():
    theta = {"R_D_star": np.full((2, 3), 7.0)}
    draws, source = _r_d_star(theta, (2, 3), seed=1)
    assert source.startswith("posterior") and np.all(draws == 7.0)
    draws, source = _r_d_star({}, (4, 1000), seed=1)
    assert source.startswith("prior muennighoff2023")
    assert draws.shape == (4, 1000)
    assert np.median(draws) == pytest.approx(15.387756, rel=0.08)
    assert np.std(np.log(draws)) == pytest.approx(0.7, rel=0.08)


def test_trend_math():
    assert float(trend_log10_tokens(2024.0, 12.0, 0.5, 2022.0)) == 13.0
    years = year_reaching(np.log10([3e14, 3e12, 1e15]), np.log10(3e12), [0.5, 0.5, -0.1], 2022.0)
    np.testing.assert_allclose(years[:2], [2026.0, 2022.0])
    assert years[2] == np.inf
    model = build_trend_model([2020.0, 2021.0, 2022.0], [11.0, 11.5, 12.0], year_centre=2021.0)
    assert sorted(v.name for v in model.free_RVs) == ["intercept", "nu", "sigma", "slope"]
    with pytest.raises(ConfigError, match="at least 3"):
        build_trend_model([2020.0, 2021.0], [11.0, 11.5], year_centre=2021.0)


def test_trend_subset_choice_and_its_effect(epoch):
    """Which models the trend sees moves the growth rate; print the least-squares slopes."""
    counts = {}
    for subset in ("frontier", "top3", "all"):
        for quantity in ("D", "dataset_tokens"):
            rows = select_trend_rows(epoch, since=2018.0, subset=subset, quantity=quantity)
            slope, icpt = np.polyfit(rows["year"], np.log10(rows[quantity]), 1)
            reach = (np.log10(3e14) - icpt) / slope
            counts[subset] = len(rows)
            print(
                f"\n{subset:8s} {quantity:14s} n={len(rows):3d} OLS growth {10**slope:.2f}x/yr, "
                f"reaches 3e14 tokens in {reach:.1f}"
            )
    assert counts == {"frontier": 25, "top3": 21, "all": 119}
    rows = select_trend_rows(epoch)
    assert rows["frontier"].all() and rows["year"].min() >= 2018.0
    assert {"GPT-3 175B (davinci)", "Chinchilla", "Llama 3.1-405B"} <= set(rows["model"])
    with pytest.raises(ConfigError, match="unknown subset"):
        select_trend_rows(epoch, subset="largest")


# ------------------------------------------------------------------ exhaustion on small_fit


def test_result_structure_units_and_attrs(result, small_fit):
    assert list(result["scenario"].values) == list(DEFAULT_SCENARIOS)
    assert result["D_needed"].dims == ("chain", "draw", "scenario")
    assert result["D_needed"].sizes["draw"] == small_fit.posterior.sizes["draw"]
    assert list(result["ci_bound"].values) == ["lower", "upper"]
    for name, var in result.data_vars.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name
    assert result["D_needed"].attrs["units"] == "tokens"
    assert result["p_exhausted"].attrs["units"] == "1"
    assert result["loss_penalty"].attrs["units"] == "nats/token"
    for key in ("package_version", "config_hash", "seed", "law", "ci_prob", "ci_kind"):
        assert key in result.attrs
    assert result.attrs["config_hash"] == small_fit.config.config_hash
    assert result.attrs["R_D_star_source"].startswith("prior muennighoff2023")
    assert "exhaustion_year" not in result  # no trend given, no year


def test_probabilities_epochs_and_penalties(result):
    p = result["p_exhausted"]
    assert np.all((p >= 0) & (p <= 1))
    needed, stock = result["D_needed"], result["stock"]
    np.testing.assert_allclose(result["epochs_needed"], needed / stock, rtol=1e-12)
    fixed = result.sel(scenario="20_tokens_per_param")
    assert float(fixed["D_needed_median"]) == pytest.approx(20 * N_10T, rel=1e-12)
    # P(stock < 2e14) under the lognormal prior, from 400 draws (3 binomial SEs)
    prior = StockPrior()
    exact = norm.cdf((math.log(2e14) - prior.mu) / prior.sigma)
    assert float(fixed["p_exhausted"]) == pytest.approx(exact, abs=3 * math.sqrt(0.25 / 400))
    assert float(result["p_exhausted"].sel(scenario="100_tokens_per_param")) > 0.9
    penalty = result["loss_penalty"]
    assert float(penalty.min()) >= 0.0
    assert float(penalty.where(needed <= stock).max()) == 0.0
    assert float(penalty.where(needed > stock).min()) > 0.0
    co = result.sel(scenario="compute_optimal")
    print(
        f"\nsmall_fit, N=1e13 compute-optimal: D* {float(co['D_needed_median']):.3g} "
        f"{co['D_needed_ci'].values}, P(exhausted) {float(co['p_exhausted']):.3f}"
    )


def test_probability_decreases_as_the_stock_grows(small_fit):
    with pytest.warns(ExtrapolationWarning):
        probs = [
            exhaustion(small_fit, stock=StockPrior(median=m, lower=m / 3, upper=m * 3), seed=3)[
                "p_exhausted"
            ].values
            for m in (1e14, 3e14, 1e15, 1e16)
        ]
    assert np.all(np.diff(np.array(probs), axis=0) <= 0)
    assert probs[0][2] > probs[-1][2]  # 100 tokens/param: strictly less likely with more text


def test_user_scenarios_and_seeding(small_fit):
    with pytest.warns(ExtrapolationWarning):
        out = exhaustion(small_fit, scenarios={"chinchilla_rule": 20, "huge": 1e4}, seed=3)
    assert list(out["scenario"].values) == ["chinchilla_rule", "huge"]
    assert float(out["p_exhausted"].sel(scenario="huge")) == 1.0
    with pytest.warns(ExtrapolationWarning):
        again = exhaustion(small_fit, scenarios={"chinchilla_rule": 20, "huge": 1e4}, seed=3)
    xr.testing.assert_identical(out, again)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scenarios": {"x": "overtrained"}}, "compute_optimal"),
        ({"scenarios": {}}, "non-empty"),
        ({"N": 0.0}, "N must be"),
        ({"group": "zzz"}, "zzz"),
        ({"trend": xr.Dataset()}, "fit_dataset_trend"),
        ({"ci_prob": 1.5}, "ci_prob"),
    ],
)
def test_invalid_arguments_raise_config_error(small_fit, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        exhaustion(small_fit, **kwargs)


def test_laws_without_hoffmanns_optimum_are_refused(small_fit):
    """chinchilla_broken has alpha, beta, A, B too, but its optimum is not Hoffmann's eq. 4."""
    config = dataclasses.replace(small_fit.config, law="chinchilla_broken")
    with pytest.raises(ConfigError, match="chinchilla_broken"):
        exhaustion(dataclasses.replace(small_fit, config=config))


# ------------------------------------------------------------------ one real trend fit


@pytest.fixture(scope="module")
def trend(epoch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few draws on purpose
        return fit_dataset_trend(
            epoch, sampler=SamplerConfig(draws=500, tune=500, chains=2, progress=False), seed=5
        )


@pytest.mark.slow  # the one real trend fit: ~6 s alone, ~21 s on a loaded machine
def test_trend_fit_growth_and_exhaustion_year(trend, small_fit, tmp_path):
    assert trend.attrs["n_models"] == 25 and trend.attrs["quantity"] == "D"
    assert trend["growth_per_year"].attrs["units"] == "1"
    growth = float(trend["growth_per_year"].median())
    with pytest.warns(ExtrapolationWarning):
        out = exhaustion(small_fit, trend=trend, seed=3)
    year = float(out["exhaustion_year_median"])
    lo, hi = out["exhaustion_year_ci"].values
    print(
        f"\ntrend ({trend.attrs['subset']}, {trend.attrs['quantity']}, since "
        f"{trend.attrs['since']:.0f}, n={trend.attrs['n_models']}): growth {growth:.2f}x/yr "
        f"(90% {trend.attrs['growth_per_year_lower']:.2f}-"
        f"{trend.attrs['growth_per_year_upper']:.2f}); published 3x-3.7x/yr"
        f"\nexhaustion year: median {year:.1f}, 90% {lo:.1f}-{hi:.1f}; Villalobos et al. 2024: "
        f"median {VILLALOBOS_YEAR['median']:.0f} ({VILLALOBOS_YEAR['lower']:.0f}-"
        f"{VILLALOBOS_YEAR['upper']:.0f}, {VILLALOBOS_YEAR['interval']})"
        f"\ndivergences {trend.attrs['divergences']}, max R-hat {trend.attrs['r_hat_max']:.3f}"
    )
    assert 2.0 < growth < 5.0
    assert 2024.0 < year < 2040.0
    assert lo < year < hi
    assert out["exhaustion_year"].attrs["units"] == "year"
    assert out["growth_per_year_median"] == pytest.approx(growth)
    # a scenario needing more tokens is reached later by the same trend
    needed = out["year_needed_median"]
    assert float(needed.sel(scenario="100_tokens_per_param")) > float(
        needed.sel(scenario="20_tokens_per_param")
    )

    from forecast.plots import plot_exhaustion

    fig = plot_exhaustion(out)
    left, right = fig.axes[:2]
    assert left.get_xscale() == "log" and "tokens" in left.get_xlabel()
    assert "(year)" in right.get_xlabel()
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert any("Villalobos" in t and "2026-2032" in t for t in labels)
    assert any("90% equal-tailed interval" in t for t in labels)
    fig.savefig(tmp_path / "exhaustion.png")


# ------------------------------------------------------------------ CLI


def test_cli_exhaustion_writes_table_file_and_figure(small_fit, tmp_path):
    from forecast.cli import app

    posterior = save(small_fit, tmp_path / "fit.nc")
    out = tmp_path / "exh.nc"
    args = ["exhaustion", str(posterior), "--params", "1e13", "--no-trend", "--out", str(out)]
    runner = CliRunner()
    res = runner.invoke(app, [*args, "--stock-median", "3e14", "--tokens-per-param", "20"])
    assert res.exit_code == 0, res.output
    assert "P(exhausted)" in res.output and "compute" in res.output
    text = " ".join(res.stdout.split())  # the distance lines wrap at the terminal's width
    assert "extrapolation beyond the runs" in text and "+4.00 decades of N" in text
    assert "ExtrapolationWarning: compute-optimal tokens/param at N = 1e+13" in res.stderr
    assert out.exists() and out.with_suffix(".png").exists()
    with xr.open_dataset(out, engine="h5netcdf") as saved:
        with pytest.warns(ExtrapolationWarning):
            direct = exhaustion(
                small_fit,
                scenarios={"compute_optimal": "compute_optimal", "20_tokens_per_param": 20.0},
            )
        assert list(saved["scenario"].values) == ["compute_optimal", "20_tokens_per_param"]
        np.testing.assert_allclose(saved["p_exhausted"], direct["p_exhausted"])
        assert saved["D_needed"].attrs["units"] == "tokens"
    again = runner.invoke(app, args)  # exists, no --force
    assert again.exit_code == 2 and "--force" in again.output
    bad = runner.invoke(app, [*args, "--force", "--stock-low", "5e14"])
    assert bad.exit_code == 2 and "lower < median" in bad.output
    assert "Traceback" not in bad.output
