from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pymc as pm
import pytest
from conftest import MACHINERY_SAMPLER, SMALL_SAMPLER, TRUE, TRUE_E_B, fit_quietly

from forecast import ConvergenceError, FitConfig, SamplerConfig, fit, prior_predictive
from forecast.compiled import model_options
from forecast.config import PLAIN_MODEL
from forecast.errors import ConvergenceWarning, DataError
from forecast.fit import _idata


def _interval(da, prob=0.9):
    lo, hi = np.quantile(da.values.ravel(), [(1 - prob) / 2, 1 - (1 - prob) / 2])
    return lo, hi


def test_small_fit_recovers_known_parameters(small_fit):
    post = small_fit.posterior
    for name, truth in (("alpha", TRUE["alpha"]), ("beta", TRUE["beta"])):
        lo, hi = _interval(post[name])
        assert lo < truth < hi, (name, lo, hi)
    lo, hi = _interval(post["E_group"].sel(group="a"))
    assert lo < TRUE["E"] < hi
    lo, hi = _interval(post["E_group"].sel(group="b"))
    assert lo < TRUE_E_B < hi
    lo, hi = _interval(post["log_A"])
    assert lo < np.log(TRUE["A"]) < hi


def test_fit_stores_what_later_steps_need(small_fit):
    idata = small_fit.idata
    for group in (
        "posterior",
        "sample_stats",
        "log_likelihood",
        "log_prior",
        "observed_data",
        "fit_data",
    ):
        assert _idata.has_group(idata, group), group
    ll = _idata.group(idata, "log_likelihood")["log_loss"]
    assert ll.dims == ("chain", "draw", "run")
    assert ll.sizes["run"] == len(small_fit.runs) == 40
    assert np.isfinite(ll.values).all()
    attrs = _idata.attrs(idata)
    assert attrs["law"] == "chinchilla"
    assert attrs["seed"] == 7
    assert attrs["config_hash"] == small_fit.config.config_hash
    assert "nutpie" in attrs["versions"] and "pymc" in attrs["versions"]
    assert attrs["sampler_used"] == "nutpie"
    # nutpie's numba compilation is timed apart from sampling
    assert attrs["compile_seconds"] > 0 and attrs["sampling_seconds"] > 0


def test_diagnostics_table(small_fit):
    table = small_fit.diagnostics
    assert set(table.data_vars) == {"r_hat", "ess_bulk", "ess_tail"}
    assert "alpha" in table["parameter"].values
    assert "E_group[b]" in table["parameter"].values
    assert table.attrs["divergences"] == 0
    assert table["r_hat"].sel(parameter="alpha") < 1.05
    assert table.attrs["draws"] == 400


def test_kaplan_parameters_ending_in_c_are_gated():
    """Issue 17: every name ending in ``_c`` was dropped, Kaplan's log_N_c among them."""
    import xarray as xr

    from forecast.diagnostics import diagnose, failures

    rng = np.random.default_rng(0)
    good = rng.normal(size=(2, 500))
    stuck = np.stack([rng.normal(0.0, 1.0, 500), rng.normal(5.0, 1.0, 500)])  # R-hat >> 1
    dims = ("chain", "draw")
    posterior = xr.Dataset(
        {
            "log_N_c": (dims, good + 20.0),  # the law's parameter (deterministic)
            "log_N_c_c": (dims, good),  # its centred intercept: an auxiliary
            "log_A": (dims, good + 6.0),
            "log_A_c": (dims, good),  # centred intercept of log_A: an auxiliary
            "sigma_log_N_c": (dims, np.abs(stuck)),  # between-group scale: not mixed
            "z_log_N_c": (dims, good),
        },
        coords={"chain": [0, 1], "draw": np.arange(500)},
    )
    stats = xr.Dataset({"diverging": (dims, np.zeros((2, 500), bool))}, coords=posterior.coords)
    table = diagnose(_idata.new({"posterior": posterior, "sample_stats": stats}))
    names = set(table["parameter"].values)
    assert {"log_N_c", "sigma_log_N_c", "log_A"} <= names
    assert not names & {"log_N_c_c", "log_A_c", "z_log_N_c"}
    assert any("sigma_log_N_c" in message for message in failures(table)), failures(table)


def test_same_seed_gives_identical_draws(synthetic_runs, small_fit):
    assert small_fit.idata.attrs["low_rank_mass_matrix"] == 0  # pooled: diagonal matrix
    again = fit_quietly(synthetic_runs, config=small_fit.config)
    for name in ("alpha", "beta", "E_group", "sigma"):
        np.testing.assert_array_equal(
            again.posterior[name].values, small_fit.posterior[name].values
        )


def test_one_group_is_the_flat_model(synthetic_runs):
    runs = synthetic_runs[synthetic_runs.group == "a"]
    # the flat model of >= 100 runs gets the low-rank mass matrix by default; these 20
    # runs keep the diagonal one, as the pooled fit of the fixture does
    result = fit_quietly(runs, sampler=SMALL_SAMPLER, seed=3)
    assert result.config.sampler.low_rank_mass_matrix is None
    assert result.idata.attrs["low_rank_mass_matrix"] == 0
    post = result.posterior
    assert result.groups == ["all"]
    # with one group the zero-sum offsets vanish: the group value is the population value
    np.testing.assert_allclose(post["alpha_group"].sel(group="all"), post["alpha"])
    np.testing.assert_allclose(post["E_group"].sel(group="all"), post["E"])
    lo, hi = _interval(post["E"])
    assert lo < TRUE["E"] < hi


def test_strict_raises_on_failed_diagnostics(synthetic_runs):
    tiny = SamplerConfig(draws=20, tune=20, chains=2, progress=False)
    with pytest.raises(ConvergenceError, match="ESS"):
        fit(synthetic_runs.iloc[:6], sampler=tiny, seed=1, strict=True)
    with pytest.warns(ConvergenceWarning, match="ESS"):
        result = fit(synthetic_runs.iloc[:6], sampler=tiny, seed=1)
    assert not result.converged


def test_bad_input_is_a_data_error(synthetic_runs):
    bad = synthetic_runs.copy()
    bad.loc[3, "loss"] = -1.0
    with pytest.raises(DataError, match="loss"):
        fit(bad, sampler=SMALL_SAMPLER)


def test_prior_predictive_covers_the_data(synthetic_runs):
    pp = prior_predictive(synthetic_runs, config=FitConfig(groups="group", seed=2), draws=300)
    loss = pp["loss"]
    assert loss.dims == ("chain", "draw", "run")
    assert loss.attrs["units"] == "nats/token"
    lo = loss.quantile(0.05, dim=("chain", "draw"))
    hi = loss.quantile(0.95, dim=("chain", "draw"))
    observed = pp["observed_loss"]
    inside = ((lo <= observed) & (observed <= hi)).mean().item()
    assert inside > 0.9  # weak priors cover the data
    assert float(loss.median()) < 20  # ... without absurd losses


@pytest.mark.slow
def test_pymc_sampler_fallback_path(synthetic_runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # PyMC's NUTS computes the kinetic energy of a diverging early-tuning trajectory as
        # inf (numpy warns) and records a divergence; the forked chains inherit the suite's
        # warnings-as-errors, which would turn that recorded divergence into a crash.
        warnings.filterwarnings("ignore", "overflow encountered in dot", RuntimeWarning)
        result = fit(
            synthetic_runs[synthetic_runs.group == "a"],
            sampler=SamplerConfig(sampler="pymc", draws=150, tune=200, chains=2, progress=False),
            seed=4,
        )
    assert _idata.attrs(result.idata)["sampler_used"] == "pymc"
    lo, hi = _interval(result.posterior["alpha"])
    assert lo < TRUE["alpha"] < hi


def test_broken_law_recovers_a_break_inside_the_runs():
    """Runs from a law whose parameter exponent rises by 60% at N = 1e9 (E, A, B, beta of
    Besiroglu et al.): the broken law finds the ratio, the plot shows it."""
    from forecast import load_dataset
    from forecast.plots import plot_exponents
    from forecast.studies.simulate import ladder, simulate

    truth = {"E": 1.82, "A": 482.0, "alpha": 0.30, "B": 2085.0, "beta": 0.366}
    truth |= {"alpha_ratio": 1.6, "log_N_break": np.log(1e9), "beta_ratio": 1.0}
    truth["log_D_break"] = np.log(2e10)
    runs = simulate(
        "chinchilla_broken", truth, ladder(np.geomspace(1e7, 1e11, 9), [10, 20, 40]),
        sigma=0.003, seed=3,
    )  # fmt: skip
    # The full 1000 tuning steps: the posterior has a second, far weaker mode (ratio about
    # 0.5, the floor at 1.5, log density 10 lower) where a chain can settle. Sampled in the
    # centre parametrisation, 2 x 200 draws, one chain of the two stayed there in 4 of 6
    # seeds after 300 tuning steps and in 1 of 6 (seeds 0-5) after 1000; 4 x 1000 draws: 1
    # chain of 32 (8 seeds), which the fit reports through R-hat.
    sampler = dataclasses.replace(SMALL_SAMPLER, tune=1000)
    result = fit_quietly(runs, law="chinchilla_broken", sampler=sampler, seed=2)
    # Median and mass, not the 5% quantile: a chain may visit that mode briefly.
    ratio = result.posterior["alpha_ratio"].values.ravel()
    assert 1.4 < np.median(ratio) < 1.8 and np.mean(ratio > 1.15) > 0.8
    lo, hi = _interval(result.posterior["beta_ratio"])
    assert lo < 1.0 < hi
    fig = plot_exponents(result, load_dataset("published_fits"))
    labels = [ax.get_xlabel() for ax in fig.axes if ax.axison]
    assert "alpha above / below the break" in labels and len(labels) == 5


def test_lean_nutpie_wrappers_give_nutpie_s_own_draws():
    """The lean C wrappers replace nutpie's for this nutpie, and sample exactly as its own."""
    import nutpie

    from forecast.compiled import _lean_wrappers, compile_nutpie

    rng = np.random.default_rng(0)
    with pm.Model() as model:  # shared data of 0, 1 and 2 dimensions, then other sizes
        x = pm.Data("x", rng.normal(size=20))
        scale = pm.Data("scale", 0.5)
        w = pm.Data("w", rng.normal(size=(20, 2)))
        y = pm.Data("y", rng.normal(size=20))
        mu = pm.Normal("mu")
        sigma = pm.HalfNormal("sigma")
        pm.Deterministic("twice_mu", 2 * mu)
        mean = mu + scale * x + 0.1 * w.sum(axis=1)
        pm.Normal("obs", mean, sigma, observed=y, shape=x.shape)
    with _lean_wrappers() as applied:
        assert applied, "this nutpie lacks the functions the lean wrappers replace"
    other = {"x": rng.normal(size=13), "scale": np.array(0.7), "w": rng.normal(size=(13, 2))}
    other["y"] = 1.0 + 0.7 * other["x"] + 0.1 * other["w"].sum(axis=1)
    draws = {}
    for lean in (True, False):
        compiled = compile_nutpie(model, lean=lean).with_data(**other)
        trace = nutpie.sample(
            compiled, draws=50, tune=50, chains=2, cores=1, seed=3, progress_bar=False
        )
        draws[lean] = {name: trace.posterior[name].values for name in ("mu", "sigma", "twice_mu")}
    for name, values in draws[True].items():
        np.testing.assert_array_equal(values, draws[False][name])
    np.testing.assert_allclose(draws[True]["twice_mu"], 2 * draws[True]["mu"])


def test_a_graph_without_a_disk_cache_key_gets_uncached_callbacks(monkeypatch):
    """If pytensor cannot cache a graph, its nutpie callbacks are compiled without the cache.

    (Registered for the cache, callbacks whose graph has no key would be stored under a
    key that does not identify their machine code.)
    """
    import nutpie
    from numba.core.caching import NullCache

    import forecast.compiled as compiled

    with pm.Model() as model:
        y = pm.Data("y", np.array([0.1, -0.3, 0.2]))
        mu = pm.Normal("mu")
        pm.Normal("obs", mu, 1.0, observed=y, shape=y.shape)
    cached = compiled.compile_nutpie(model)
    monkeypatch.setattr(compiled, "_graph_cache_key", lambda function: None)
    uncached = compiled.compile_nutpie(model)
    for fn in ("compiled_logp_func", "compiled_expand_func"):
        assert not isinstance(getattr(cached, fn)._cache, NullCache), fn
        assert isinstance(getattr(uncached, fn)._cache, NullCache), fn
    draws = [
        nutpie.sample(c, draws=30, tune=30, chains=1, seed=2, progress_bar=False)
        for c in (cached, uncached)
    ]
    np.testing.assert_array_equal(draws[0].posterior["mu"], draws[1].posterior["mu"])


def test_a_cached_model_gives_the_draws_of_a_fresh_compile(synthetic_runs):
    """Fits of one structure share one compiled model; its draws equal a fresh compile's."""
    from forecast.fit import clear_model_cache

    first = synthetic_runs.iloc[::2].reset_index(drop=True)
    second = synthetic_runs.iloc[1::2].reset_index(drop=True)
    # the plain model pooling the floor at a set target_accept: the cache is tested
    config = FitConfig(
        groups="group", pooled=("E",), sampler=MACHINERY_SAMPLER, seed=4, **PLAIN_MODEL
    )
    options = {"config": config}
    clear_model_cache()
    compiled_for_first = fit_quietly(first, **options)
    reused = fit_quietly(second, **options)
    clear_model_cache()
    fresh = fit_quietly(second, **options)
    assert compiled_for_first.idata.attrs["compile_seconds"] > 0
    assert reused.idata.attrs["compile_seconds"] == 0
    assert fresh.idata.attrs["compile_seconds"] > 0
    for name in ("alpha", "E_group", "sigma", "log_A"):
        np.testing.assert_array_equal(reused.posterior[name].values, fresh.posterior[name].values)
    # the reused model holds the second runs, not the first ones
    assert not np.array_equal(
        reused.posterior["alpha"].values, compiled_for_first.posterior["alpha"].values
    )
    assert list(reused.posterior["group"].values) == sorted(second["group"].unique())


def test_log_prior_of_a_reused_model_is_pymc_s_on_the_runs_fitted(synthetic_runs):
    """The log prior, compiled once per structure, reads the fitted runs' centres.

    In the plain parametrisation the centred coefficients' priors sit at the runs' centre
    (shared data), so a function that kept the first fit's centres would differ from
    ``pm.compute_log_prior`` on a model built for the second runs.
    """
    from forecast.fit import clear_model_cache, model_data
    from models.build import build_model

    small = synthetic_runs[synthetic_runs["N"] < synthetic_runs["N"].median()]
    pooled = ("E", "log_A", "log_B")
    sampler = MACHINERY_SAMPLER  # the prior is tested, not the posterior
    config = FitConfig(groups="group", pooled=pooled, sampler=sampler, seed=4, **PLAIN_MODEL)
    clear_model_cache()
    fit_quietly(synthetic_runs, config=config)
    reused = fit_quietly(small.reset_index(drop=True), config=config)
    assert reused.idata.attrs["compile_seconds"] == 0
    model = build_model(model_data(reused.runs, config), **model_options(config, 2))
    prior = reused.idata.log_prior
    names = [v.name for v in model.free_RVs if v.name in prior]
    assert {"E", "log_A_c", "log_B_c", "alpha", "sigma"} <= set(names)
    expected = pm.compute_log_prior(
        reused.idata, model=model, var_names=names, extend_inferencedata=False, progressbar=False
    )
    for name in names:
        np.testing.assert_allclose(
            prior[name], expected[name].transpose(*prior[name].dims), 0, 1e-12
        )


def test_draws_left_to_the_fit_run_twice_as_long_when_r_hat_or_ess_fails(
    synthetic_runs, monkeypatch, tmp_path
):
    """Draws left to the fit: 1000 per chain, or 2000 thinned by 2 if R-hat or ESS fails.

    The first run is the one a user who set 1000 draws gets (same seed); the longer run
    keeps the shape, so fits of one config still stack, and every group holds its draws.
    """
    import importlib

    from forecast import load, save

    fit_module = importlib.import_module("forecast.fit")  # the module, not forecast.fit()
    sampler = SamplerConfig(tune=200, chains=2, target_accept=0.9, progress=False)
    config = FitConfig(sampler=sampler, seed=3)

    def with_draws(draws):
        return dataclasses.replace(config, sampler=dataclasses.replace(sampler, draws=draws))

    set_draws = fit_quietly(synthetic_runs, config=with_draws(1000))
    set_long = fit_quietly(synthetic_runs, config=with_draws(2000))
    monkeypatch.setattr(fit_module, "needs_more_draws", lambda table: False)
    passed = fit_quietly(synthetic_runs, config=config)
    monkeypatch.setattr(fit_module, "needs_more_draws", lambda table: True)
    failed = fit_quietly(synthetic_runs, config=config)
    assert set_draws.idata.attrs["long_run_draws"] == passed.idata.attrs["long_run_draws"] == 0
    assert failed.idata.attrs["long_run_draws"] == 2000
    np.testing.assert_array_equal(passed.posterior["alpha"], set_draws.posterior["alpha"])
    np.testing.assert_array_equal(
        failed.posterior["alpha"].values, set_long.posterior["alpha"].values[:, ::2]
    )
    assert not np.array_equal(failed.posterior["alpha"], passed.posterior["alpha"])
    for group in ("posterior", "sample_stats", "log_likelihood", "log_prior"):
        sizes = _idata.group(failed.idata, group).sizes
        assert (sizes["chain"], sizes["draw"]) == (2, 1000), group
    np.testing.assert_array_equal(failed.posterior["draw"], np.arange(1000))
    # E-BFMI compares successive transitions: that of the unthinned chains, also saved
    ebfmi = set_long.diagnostics.attrs["ebfmi_min"]
    assert failed.diagnostics.attrs["ebfmi_min"] == ebfmi
    save(failed, tmp_path / "long.nc")
    assert load(tmp_path / "long.nc").diagnostics.attrs["ebfmi_min"] == ebfmi


def test_needs_more_draws_reads_r_hat_and_bulk_ess_only():
    """R-hat above 1.01 or bulk ESS below 400 call for more draws; a NaN (constant) does not."""
    import xarray as xr

    from forecast.diagnostics import needs_more_draws

    def table(r_hat, ess):
        return xr.Dataset(
            {"r_hat": ("parameter", r_hat), "ess_bulk": ("parameter", ess)},
            coords={"parameter": ["alpha", "E"]},
        )

    assert not needs_more_draws(table([1.005, np.nan], [900.0, np.nan]))
    assert needs_more_draws(table([1.005, 1.011], [900.0, 900.0]))
    assert needs_more_draws(table([1.005, 1.0], [900.0, 399.0]))


@pytest.mark.slow
def test_a_fit_that_diverges_at_the_default_target_is_resampled_at_0_99():
    """Left to the model, a divergent first run is redone at 0.99; a user's own target is kept.

    The 30-run ladder with the D term invisible (B's term at the centre far below the loss),
    a replicate of the simulation-based calibration that diverged at 0.9. Seed 2: 27
    divergent transitions at 0.9 (seeds 0-7: 0, 1, 27, 2, 0, 0, 2, 5).
    """
    from forecast.studies.simulate import ladder, simulate

    design = ladder(np.geomspace(3e7, 1e9, 6), [5, 10, 20, 40, 80])
    truth = {"E": 0.739, "alpha": 0.661, "beta": 1.07, "log_A": 12.4, "log_B": 13.2}
    runs = simulate("chinchilla", truth, design, sigma=0.01, seed=1)
    sampler = SamplerConfig(draws=200, tune=300, chains=2, progress=False)
    by_model = fit_quietly(runs, config=FitConfig(sampler=sampler, seed=2))
    user_set = dataclasses.replace(sampler, target_accept=0.9)
    as_set = fit_quietly(runs, config=FitConfig(sampler=user_set, seed=2))
    assert as_set.idata.attrs["target_accept"] == 0.9
    assert as_set.idata.attrs["first_run_divergences"] == 0
    diverged = as_set.diagnostics.attrs["divergences"]
    assert diverged > 0
    # the default's first run is that run (same model, target and seed), then 0.99
    assert by_model.idata.attrs["first_run_divergences"] == diverged
    assert by_model.idata.attrs["target_accept"] == 0.99
    assert by_model.diagnostics.attrs["divergences"] < diverged
