from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import ConfigError, DataError, FitConfig, SamplerConfig, ladder, sbc, simulate
from forecast.cli import app
from forecast.errors import ConvergenceWarning
from forecast.plots import plot_sbc
from forecast.studies.simulate import BESIROGLU_2024, _check_sbc_params, _ranks
from models.laws import chinchilla, data_constrained

TRUTH = {"E": 1.8, "A": 480.0, "alpha": 0.35, "B": 2000.0, "beta": 0.37}


def test_ladder_is_every_size_at_every_ratio():
    design = ladder([1e8, 1e9], [10, 20, 40], groups=["a", "b"])
    assert len(design) == 12
    assert set(design["group"]) == {"a", "b"}
    np.testing.assert_allclose(np.sort(design["D"] / design["N"])[::4], [10, 20, 40])
    with pytest.raises(ConfigError, match="sizes"):
        ladder([], [20])
    with pytest.raises(ConfigError, match="tokens_per_param"):
        ladder([1e8], [-1])


def test_noise_free_simulation_is_the_law_to_1e12():
    design = ladder(np.geomspace(1e7, 1e11, 7), [1, 20, 300])
    runs = simulate("chinchilla", TRUTH, design, sigma=0.0)
    expected = chinchilla.loss(runs["N"], runs["D"], **TRUTH)
    np.testing.assert_allclose(runs["loss"], expected, rtol=1e-12, atol=0)
    assert list(runs.columns[:3]) == ["N", "D", "loss"]
    assert (runs["source"] == "simulated").all()
    assert runs["run_id"].is_unique
    # log_A given directly is the same law
    log_form = {**TRUTH, "log_A": np.log(480.0)}
    del log_form["A"]
    again = simulate("chinchilla", log_form, design, sigma=0.0)
    np.testing.assert_allclose(again["loss"], runs["loss"], rtol=1e-13)


def test_simulation_is_deterministic_with_a_seed():
    design = ladder([1e8, 3e8, 1e9], [10, 20])
    a = simulate("chinchilla", TRUTH, design, sigma=0.02, seed=5)
    b = simulate("chinchilla", TRUTH, design, sigma=0.02, seed=5)
    c = simulate("chinchilla", TRUTH, design, sigma=0.02, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["loss"], c["loss"])


def test_noise_has_the_stated_scale_normal_and_student_t():
    design = pd.DataFrame({"N": np.full(4000, 1e9), "D": np.geomspace(2e10, 4e10, 4000)})
    mean = chinchilla.loss(design["N"], design["D"], **TRUTH)
    normal = simulate("chinchilla", TRUTH, design, sigma=0.02, seed=1)
    resid = np.log(normal["loss"] / mean)
    assert np.std(resid) == pytest.approx(0.02, rel=0.05)
    assert abs(np.mean(resid)) < 0.002
    heavy = simulate("chinchilla", TRUTH, design, noise="student_t", sigma=0.02, nu=5.0, seed=1)
    resid_t = np.log(heavy["loss"] / mean)
    assert np.std(resid_t) == pytest.approx(0.02 * np.sqrt(5 / 3), rel=0.12)
    # heavier tails than the normal at the same scale
    assert np.mean(np.abs(resid_t) > 0.06) > 3 * np.mean(np.abs(resid) > 0.06)


def test_per_group_floors_and_noise():
    design = ladder([1e8, 1e9], [20], groups=["a", "b"])
    runs = simulate("chinchilla", {**TRUTH, "E": {"a": 1.8, "b": 2.1}}, design, sigma=0.0)
    a = runs[runs["group"] == "a"]["loss"].to_numpy()
    b = runs[runs["group"] == "b"]["loss"].to_numpy()
    np.testing.assert_allclose(b - a, 0.3, rtol=1e-12)
    noisy = simulate("chinchilla", TRUTH, design, sigma={"a": 0.0, "b": 0.05}, seed=2)
    clean = noisy["group"] == "a"
    np.testing.assert_allclose(noisy["loss"][clean], a, rtol=1e-12)
    assert not np.allclose(noisy["loss"][~clean], a)


def test_data_constrained_law_uses_unique_tokens():
    params = {**TRUTH, "R_D_star": 15.4, "R_N_star": 5.3}
    design = pd.DataFrame({"N": [1e9, 1e9], "D": [1e11, 1e11], "U": [1e11, 2.5e10]})
    runs = simulate("data_constrained", params, design, sigma=0.0)
    np.testing.assert_allclose(runs["unique_tokens"], [1e11, 2.5e10])
    assert runs["loss"].iloc[1] > runs["loss"].iloc[0]  # repeated data is worth less
    expected = data_constrained.loss(1e9, 1e11, 2.5e10, **params)
    assert runs["loss"].iloc[1] == pytest.approx(float(expected), rel=1e-10)


def test_bad_inputs_raise_typed_errors():
    design = ladder([1e8], [20])
    with pytest.raises(ConfigError, match="missing"):
        simulate("chinchilla", {"E": 1.8}, design)
    with pytest.raises(ConfigError, match="unknown"):
        simulate("chinchilla", {**TRUTH, "gamma": 1.0}, design)
    with pytest.raises(ConfigError, match="no 'group' column"):
        simulate("chinchilla", {**TRUTH, "E": {"a": 1.8}}, design)
    with pytest.raises(ConfigError, match="no value for groups"):
        simulate("chinchilla", {**TRUTH, "E": {"a": 1.8}}, ladder([1e8], [20], groups=["b"]))
    with pytest.raises(ConfigError, match="noise"):
        simulate("chinchilla", TRUTH, design, noise="cauchy")
    with pytest.raises(ConfigError, match="unknown law"):
        simulate("hyperbolic", TRUTH, design)
    with pytest.raises(ConfigError, match="design"):
        simulate("chinchilla", TRUTH, [{"N": 1e8}])
    with pytest.raises(DataError, match="loss"):  # 25 nats/token is not a language model
        simulate("chinchilla", {**TRUTH, "E": 25.0}, design)


def test_ranks_are_counts_below_the_truth():
    draws = np.arange(200.0).reshape(2, 100)
    assert _ranks(draws, -1.0, 99) == (0, 99)
    assert _ranks(draws, 1e9, 99) == (99, 99)
    rank, L = _ranks(draws, 100.5, 50)
    assert L == 50 and rank == 26  # draws 0, 4, 8, ..., 100 are below


def test_simulate_command_writes_a_runs_csv(tmp_path):
    out = tmp_path / "sim.csv"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--sizes",
            "1e8,1e9",
            "--tokens-per-param",
            "20",
            "--sigma",
            "0",
            "--out",
            str(out),
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(out)
    expected = chinchilla.loss(runs["N"], runs["D"], **BESIROGLU_2024)
    np.testing.assert_allclose(runs["loss"], expected, rtol=1e-9)
    bad = CliRunner().invoke(app, ["simulate", "--param", "alpha", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.output


@pytest.mark.slow
def test_sbc_mini_gives_valid_ranks_and_coverage():
    design = ladder(np.geomspace(3e7, 1e9, 4), [5, 20, 80])
    config = FitConfig(sampler=SamplerConfig(draws=100, tune=200, chains=2, progress=False))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = sbc(design, config=config, replicates=3, loss_range=(1.0, 10.0), seed=4)
    seconds = time.perf_counter() - start
    L = out.attrs["max_rank"]
    assert L == 99
    assert out["rank"].dims == ("replicate", "parameter")
    ranks = out["rank"].values
    assert ranks.dtype.kind == "i" and ((ranks >= 0) & (ranks <= L)).all()
    assert list(out["parameter"].values) == ["alpha", "beta", "E"]
    lo, hi = out["interval"].sel(ci_bound="lower"), out["interval"].sel(ci_bound="upper")
    assert (lo < hi).all()
    inside = (lo <= out["true_value"]) & (out["true_value"] <= hi)
    assert (inside == out["covered"]).all()
    assert np.isfinite(out["true_value"]).all() and (out["true_value"] > 0).all()
    assert out.attrs["ci_prob"] == 0.9 and out.attrs["law"] == "chinchilla"
    print(
        f"\nSBC mini ({seconds:.0f} s): coverage "
        + ", ".join(
            f"{p} {float(out['coverage'].sel(parameter=p)):.2f}" for p in out.parameter.values
        )
        + f"; ranks {ranks.tolist()}; rejected {out.attrs['rejected']}"
    )
    fig = plot_sbc(out)
    assert len(fig.axes) == 3


def test_sbc_ranks_between_group_scales_only_when_there_are_groups():
    design = ladder([3e7, 1e8, 3e8], [5, 20])
    # one group pools nothing (models.build), so it has no sigma_E to rank
    with pytest.raises(ConfigError, match="unknown \\['sigma_E'\\]"):
        sbc(design, params=("alpha", "sigma_E"), replicates=1)
    _check_sbc_params(FitConfig(groups="g"), ("alpha", "sigma_E"), n_groups=2)
