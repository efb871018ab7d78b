"""Averaged (stacked) posteriors: draw allocation, mixture draws, summaries, save/load."""

from __future__ import annotations

import importlib
import warnings

import h5py
import numpy as np
import pytest
import xarray as xr

from forecast import (
    ConfigError,
    ConvergenceWarning,
    ExtrapolationWarning,
    FitConfig,
    IncompatibleFileError,
    Stack,
    forecast,
    forecast_draws,
    load,
    predict,
    predict_summary,
    save,
)
from forecast.averaged import allocate_draws, mix

N = np.array([1e8, 1e9, 3e9])
D = 20 * N


def _stack(components: dict, weights: dict, seed: int = 5) -> Stack:
    names = list(components)
    w = xr.DataArray([weights[n] for n in names], dims="component", coords={"component": names})
    return Stack(components=components, weights=w, method="given", seed=seed)


@pytest.fixture(scope="module")
def stack(small_fit, discrepancy_fit):
    """Two components of the same runs: without and with the compute discrepancy."""
    return _stack({"plain": small_fit, "compute": discrepancy_fit}, {"plain": 0.3, "compute": 0.7})


def test_allocation_gives_each_component_its_share_of_draws():
    labels = allocate_draws([0.3, 0.0, 0.7], 2, 201, seed=4)
    counts = np.bincount(labels.ravel(), minlength=3)
    assert counts.tolist() in ([121, 0, 281], [120, 0, 282])  # floor/ceil of 402 w
    assert np.abs(counts - 402 * np.array([0.3, 0, 0.7])).max() < 1
    # shuffled: both chains hold both components, not chain 0 = component 0
    assert all(set(np.unique(row)) == {0, 2} for row in labels)
    np.testing.assert_array_equal(labels, allocate_draws([3, 0, 7], 2, 201, seed=4))
    assert not np.array_equal(labels, allocate_draws([0.3, 0.0, 0.7], 2, 201, seed=5))
    assert (allocate_draws([1.0], 2, 10) == 0).all()
    with pytest.raises(ConfigError, match="weights"):
        allocate_draws([0.0, 0.0], 2, 10)


def test_mix_takes_each_draw_from_its_component_whole():
    a = xr.DataArray(np.zeros((2, 50, 3)), dims=("chain", "draw", "point"), attrs={"u": "x"})
    b = xr.DataArray(np.ones((2, 50, 3)), dims=("chain", "draw", "point"), attrs={"u": "x"})
    labels = allocate_draws([0.5, 0.5], 2, 50, seed=1)
    out = mix([a, b.transpose("point", "chain", "draw")], labels, ["a", "b"])
    assert out.dims == a.dims and out.attrs == {"u": "x"}
    np.testing.assert_array_equal(out.values, np.broadcast_to(labels[..., None], (2, 50, 3)))
    ds = mix(
        [xr.Dataset({"v": a}, attrs={"law": "x"}), xr.Dataset({"v": b}, attrs={"law": "y"})],
        labels,
        ["a", "b"],
    )
    assert ds.attrs["law"] == '{"a": "x", "b": "y"}'


def test_stack_checks_its_components(small_fit, discrepancy_fit):
    with pytest.raises(ConfigError, match="sum to 1"):
        _stack({"a": small_fit, "b": discrepancy_fit}, {"a": 0.5, "b": 0.6})
    with pytest.raises(ConfigError, match="names"):
        _stack({"a/b": small_fit}, {"a/b": 1.0})


def test_mixture_draws_come_from_the_components_in_proportion(stack, small_fit, discrepancy_fit):
    labels = stack.labels
    assert np.bincount(labels.ravel()).tolist() == [120, 280]  # 400 draws, w = 0.3 / 0.7
    for noise in (False, True):
        mixed = predict(stack, N, D, group="a", include_noise=noise, seed=2)
        parts = [
            predict(f, N, D, group="a", include_noise=noise, seed=2)
            for f in (small_fit, discrepancy_fit)
        ]
        for k, part in enumerate(parts):
            hit = labels == k
            np.testing.assert_array_equal(mixed.values[hit], part.values[hit])
        assert mixed.dims == ("chain", "draw", "point")
        assert mixed.attrs["stack_method"] == "given" and "stack_weights" in mixed.attrs
    # a new group: each component draws its own population offsets, still mixed draw-wise
    new = predict(stack, N, D, seed=3)
    assert np.isfinite(new.values).all()


def test_summaries_are_quantiles_of_the_mixture_draws(stack):
    draws = predict(stack, N, D, group="b", seed=1)
    summary = predict_summary(stack, N, D, group="b", ci_prob=0.8, seed=1)
    flat = draws.transpose("point", "chain", "draw").values.reshape(len(N), -1)
    lo, mid, hi = np.quantile(flat, [0.1, 0.5, 0.9], axis=1)
    np.testing.assert_array_equal(summary["loss_median"].values, mid)
    # (1 - 0.8) / 2 is not 0.1 in floating point: equal to rounding
    np.testing.assert_allclose(summary["loss_ci"].sel(ci_bound="lower").values, lo, rtol=1e-14)
    np.testing.assert_allclose(summary["loss_ci"].sel(ci_bound="upper").values, hi, rtol=1e-14)
    assert summary.attrs["config_hash"].startswith("{")  # the two components' hashes
    # not the average of per-component medians
    per = [
        predict_summary(f, N, D, group="b", seed=1)["loss_median"].values
        for f in stack.components.values()
    ]
    assert not np.allclose(mid, 0.3 * per[0] + 0.7 * per[1], rtol=0, atol=0)


def test_summary_of_a_grid_keeps_its_dims(stack):
    grid_N = xr.DataArray([1e8, 1e9], dims="n")
    grid_D = xr.DataArray([2e9, 2e10, 2e11], dims="d")
    summary = predict_summary(stack, grid_N, grid_D, group="a")
    assert summary["loss_median"].dims == ("n", "d")
    draws = predict(stack, grid_N, grid_D, group="a")
    np.testing.assert_array_equal(
        summary["loss_median"].values, draws.median(("chain", "draw")).values
    )


def test_a_one_component_stack_is_the_plain_fit(small_fit):
    one = _stack({"only": small_fit}, {"only": 1.0})
    for noise in (False, True):
        xr.testing.assert_equal(
            predict(one, N, D, group="a", include_noise=noise, seed=4),
            predict(small_fit, N, D, group="a", include_noise=noise, seed=4),
        )
    a = predict_summary(one, N, D, group="a", seed=4)
    b = predict_summary(small_fit, N, D, group="a", seed=4)
    np.testing.assert_array_equal(a["loss_median"].values, b["loss_median"].values)
    np.testing.assert_array_equal(a["loss_ci"].values, b["loss_ci"].values)
    fa = forecast(one, N=1e9, group="a", seed=4)
    fb = forecast(small_fit, N=1e9, group="a", seed=4)
    for name in ("loss_median", "loss_ci", "loss_hdi", "p_loss_below", "loss_new_run_median"):
        np.testing.assert_array_equal(fa[name].values, fb[name].values)


def test_forecast_of_a_stack_summarises_its_mixture_draws(stack):
    with pytest.warns(ExtrapolationWarning):
        draws = forecast_draws(stack, N=1e13, seed=1)
    with pytest.warns(ExtrapolationWarning):
        summary = forecast(stack, N=1e13, seed=1, thresholds=[1.9, 2.0])
    loss = draws["loss"].stack(s=("chain", "draw")).transpose("scenario", "s").values
    np.testing.assert_allclose(summary["loss_median"].values, np.median(loss, axis=1))
    np.testing.assert_allclose(
        summary["p_loss_below"].sel(threshold=2.0).values, (loss < 2.0).mean(axis=1)
    )
    assert summary.attrs["stack_method"] == "given"
    # the components' draws, taken where they were allocated
    labels = stack.labels
    with pytest.warns(ExtrapolationWarning):
        part = forecast_draws(stack.components["compute"], N=1e13, seed=1)
    hit = labels == 1
    np.testing.assert_array_equal(
        draws["loss_new_run"].values[hit], part["loss_new_run"].values[hit]
    )


def test_save_and_load_round_trip_bit_for_bit(stack, tmp_path):
    import arviz as az

    path = save(stack, tmp_path / "stack.nc")
    again = load(path)
    assert isinstance(again, Stack)
    assert again.names == stack.names and again.method == "given" and again.seed == stack.seed
    np.testing.assert_array_equal(again.weights.values, stack.weights.values)
    np.testing.assert_array_equal(again.labels, stack.labels)
    for name, part in stack.components.items():
        assert again.components[name].config == part.config
        xr.testing.assert_identical(again.components[name].posterior, part.posterior)
    xr.testing.assert_identical(
        predict(again, N, D, group="a", include_noise=True),
        predict(stack, N, D, group="a", include_noise=True),
    )
    # a notebook opens each component with arviz alone
    idata = az.InferenceData.from_netcdf(str(path), base_group="components/compute")
    assert (
        "tau" in idata.posterior
        and idata.attrs["config_hash"] == stack.components["compute"].config.config_hash
    )
    with pytest.raises(FileExistsError):
        save(stack, path)
    with pytest.raises(IncompatibleFileError, match="averaged posterior"):
        load(path, expect=FitConfig())


def test_a_flipped_byte_in_a_component_is_refused(stack, tmp_path):
    path = save(stack, tmp_path / "stack.nc")
    with h5py.File(path, "r") as handle:
        chunk = handle["components/compute/log_likelihood/log_loss"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset + chunk.size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.nc"
    damaged.write_bytes(bytes(data))
    with pytest.raises(IncompatibleFileError, match="damaged.nc"):
        load(damaged)


def test_an_edited_weight_or_component_is_refused(stack, tmp_path):
    path = save(stack, tmp_path / "stack.nc")
    with h5py.File(path, "r+") as handle:
        handle["stack/weight"][0] = 0.5
        handle["stack/weight"][1] = 0.5
    with pytest.raises(IncompatibleFileError, match="weights"):
        load(path)
    path = save(stack, tmp_path / "stack.nc", overwrite=True)
    with h5py.File(path, "r+") as handle:
        handle["components/plain/posterior/alpha"][0, 0] += 0.01
    with pytest.raises(IncompatibleFileError, match="plain"):
        load(path)


def test_fit_averaged_weighs_by_leave_future_out_on_the_given_runs(synthetic_runs, monkeypatch):
    from conftest import SMALL_SAMPLER

    import forecast.studies.stacking as stacking

    seen = []
    original = stacking.lfo_weights

    def spy(train, **kwargs):
        seen.append(train)
        return original(train, **kwargs)

    monkeypatch.setattr(stacking, "lfo_weights", spy)
    runs = synthetic_runs.query("group == 'a'").drop(columns="group").reset_index(drop=True)
    # Normal likelihood: the recipe varies the discrepancy, and Normal fits are the cheaper
    base = FitConfig(sampler=SMALL_SAMPLER, seed=7, likelihood="normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = stacking.fit_averaged(runs, "discrepancy", base=base, weights="lfo", seed=3)
    assert result.names == ["plain", "compute"] and result.method == "lfo"
    assert float(result.weights.sum()) == pytest.approx(1.0)
    assert len(seen) == 1 and len(seen[0]) == len(runs)
    np.testing.assert_array_equal(seen[0]["loss"].to_numpy(), runs["loss"].to_numpy())
    assert result.scores.attrs["n_fit"] + result.scores.attrs["n_scored"] == len(runs)
    assert result.scores["elpd_lfo"].dims == ("component",)
    assert result.components["compute"].config == base.replace(discrepancy="compute")
    counts = np.bincount(result.labels.ravel(), minlength=2)
    assert np.abs(counts - 400 * result.weights.values).max() < 1
    with pytest.raises(ConfigError, match="recipe"):
        stacking.fit_averaged(runs, "no_such_recipe")


def test_backtest_scores_the_same_averaged_posterior_an_analyst_gets(synthetic_runs, monkeypatch):
    from conftest import SMALL_SAMPLER

    import forecast.studies.stacking as stacking

    bt = importlib.import_module("forecast.studies.backtest")  # the module, not the function
    made, trained = [], []
    original_fit, original_lfo = bt.fit_averaged, stacking.lfo_weights

    def spy_fit(*args, **kwargs):
        made.append(original_fit(*args, **kwargs))
        return made[-1]

    def spy_lfo(train, **kwargs):
        trained.append(train)
        return original_lfo(train, **kwargs)

    monkeypatch.setattr(bt, "fit_averaged", spy_fit)
    monkeypatch.setattr(stacking, "lfo_weights", spy_lfo)
    runs = synthetic_runs.query("group == 'a'").drop(columns="group").reset_index(drop=True)
    base = FitConfig(sampler=SMALL_SAMPLER, seed=7)
    configs = {"plain": base, "compute": base.replace(discrepancy="compute")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = bt.backtest(
            runs, split="C<=q0.7", config=configs, stack="lfo", n_bootstrap=0, published=()
        )
    assert list(result["model"].values) == ["plain", "compute", "stacked"]
    (averaged,) = made
    mask = bt.split_runs(runs, "C<=q0.7")
    train, test = runs[mask].reset_index(drop=True), runs[~mask].reset_index(drop=True)
    # the weights saw the training runs only
    (seen,) = trained
    np.testing.assert_array_equal(seen["loss"].to_numpy(), train["loss"].to_numpy())
    np.testing.assert_array_equal(result["lfo_weight"].values, averaged.weights.values)
    # "stacked" is the averaged posterior's predictive, scored
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(0).spawn(3)]
    new, mean = bt._predict_ours(averaged, test, seeds[0])
    expected = bt.score_draws(new, test["loss"], point=mean.median(("chain", "draw")))
    for name in ("crps", "pit", "hit_90", "rel_err"):
        np.testing.assert_array_equal(result[name].sel(model="stacked").values, expected[name])
    assert averaged.seed == seeds[1]


def test_allocate_of_a_stack_takes_each_draw_from_its_component(stack):
    from forecast import allocate

    out = allocate(stack, C=1e21, group="a")
    part = allocate(stack.components["plain"], C=1e21, group="a")
    hit = stack.labels == 0
    np.testing.assert_array_equal(out["N"].values[hit], part["N"].values[hit])
    assert out.attrs["stack_method"] == "given"
