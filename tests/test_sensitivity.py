"""Sensitivity studies: study files, planning, the Dask fan-out, resumption, failures, CLI.

Unit tests need no fit. The cluster tests (marked slow) make six small real fits in all:
two for the 4-configuration study (the stock axis shares fits), one killed and rerun, two
through a real `dask scheduler` + two `dask worker` processes started like a user would.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import TRUE, make_synthetic_runs
from typer.testing import CliRunner

from forecast import _idata
from forecast.cli import app
from forecast.errors import ConfigError
from forecast.plots import plot_sensitivity_heatmap, plot_tornado
from forecast.studies.sensitivity import STUDY_FILE, axis_effects, run_task, sensitivity
from forecast.studies.sensitivity_plan import load_study, plan
from models.laws import chinchilla

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "case_studies" / "studies" / "gadre_c4.toml"
#: Tiny draws at a set target_accept (no rerun of a divergent fit): the machinery is tested.
SAMPLER = {"draws": 150, "tune": 200, "chains": 2, "target_accept": 0.8}
TINY_STOCK = {"median": 1e13, "lower": 5e12, "upper": 3e13}


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    """30 synthetic runs (2 groups, N <= 4e8) from the known law of conftest."""
    table = make_synthetic_runs()
    return table[table.N <= 4e8].reset_index(drop=True)


#: The studies here fit the plain model: what is tested is the study machinery (plans,
#: Dask, caching, retries), and the default model's fits take 1.5-2x as long.
PLAIN_BASELINE = {"likelihood": "normal", "discrepancy": "none"}


def _study(runs, **changes) -> dict:
    base = {
        "name": "synthetic",
        "runs": runs,
        "groups": "group",
        "forecast_group": "a",
        "sampler": SAMPLER,
        "stocks": {"tiny": TINY_STOCK},
    }
    baseline = {**PLAIN_BASELINE, **changes.pop("baseline", {})}
    return {**base, "baseline": baseline, **changes}


# ------------------------------------------------------------------ study files and plans


def test_example_study_file_loads_and_plans():
    study = load_study(EXAMPLE)
    assert study.name == "gadre_c4" and study.design == "one_at_a_time"
    assert study.axes["compute_cutoff"] == (math.inf, 1e19, 1e18)
    assert study.baseline["preset"] == "weak" and study.baseline["compute_cutoff"] == math.inf
    assert study.sampler.cores == 1 and study.sampler.progress is False
    assert len(study.runs) == 95 and set(study.runs.eval_set) == {"c4_val"}
    configurations = plan(study)
    assert study.baseline["likelihood"] == "student_t"
    assert study.baseline["discrepancy"] == "compute"
    # baseline + (2 + 2 + 1 + 1 + 1 + 2 + 2 + 2 + 1) one-at-a-time variations
    assert len(configurations) == 15
    assert not any(c.error for c in configurations)
    # the stock and FLOP-convention variants share the baseline fit (no cutoff at baseline)
    assert len({c.fit_key for c in configurations}) == 12
    hashes = [c.config_hash for c in configurations]
    assert len(set(hashes)) == 15
    assert hashes == [c.config_hash for c in plan(load_study(EXAMPLE))]  # stable


def test_yaml_and_json_studies_match_toml(tmp_path, runs):
    runs.to_csv(tmp_path / "runs.csv", index=False)
    body = {"runs": "runs.csv", "groups": "group", "axes": {"law": ["chinchilla", "kaplan"]}}
    import json

    import yaml

    (tmp_path / "s.json").write_text(json.dumps(body))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(body))
    (tmp_path / "s.toml").write_text(
        'runs = "runs.csv"\ngroups = "group"\n[axes]\nlaw = ["chinchilla", "kaplan"]\n'
    )
    keys = [
        [c.config_hash for c in plan(load_study(tmp_path / f"s.{ext}"))]
        for ext in ("toml", "yaml", "json")
    ]
    assert keys[0] == keys[1] == keys[2] and len(keys[0]) == 2


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"axes": {"temperature": [1.0]}}, "unknown axis 'temperature'"),
        ({"colour": "red"}, "unknown study keys"),
        ({"design": "latin_square"}, "design must be one of"),
        ({"axes": {"prior_scale": [1.0, -2.0]}}, "numbers > 0"),
        ({"axes": {"law": [3]}}, "takes names"),
        ({"query": "N >"}, "not a valid pandas query"),
        ({"query": "N < 0"}, "selects no runs"),
        ({"N": -1.0}, "N must be > 0"),
        ({"ci_prob": 1.5}, "ci_prob"),
    ],
)
def test_bad_studies_fail_loudly(runs, changes, match):
    with pytest.raises(ConfigError, match=match):
        load_study(_study(runs, **changes))


def test_designs_product_one_at_a_time_and_listed(runs):
    axes = {"preset": ["weak", "besiroglu2024"], "likelihood": ["normal", "student_t"]}
    product = plan(load_study(_study(runs, axes=axes)))
    assert len(product) == 4
    oaat = plan(load_study(_study(runs, axes=axes, design="one_at_a_time")))
    assert [c.values for c in oaat] == [
        {"preset": "weak", "likelihood": "normal"},
        {"preset": "besiroglu2024", "likelihood": "normal"},
        {"preset": "weak", "likelihood": "student_t"},
    ]
    listed = load_study(
        _study(runs, configurations=[{"law": "kaplan"}, {"preset": "kaplan2020", "law": "kaplan"}])
    )
    assert listed.design == "listed"
    assert listed.axes == {"law": ("chinchilla", "kaplan"), "preset": ("weak", "kaplan2020")}
    assert [c.values for c in plan(listed)] == [
        {"law": "kaplan", "preset": "weak"},
        {"law": "kaplan", "preset": "kaplan2020"},
    ]


def test_prior_scale_multiplies_sigma_of_exponents_and_floor_only(runs):
    study = load_study(_study(runs, axes={"prior_scale": [1.0, 2.0]}, design="one_at_a_time"))
    base, doubled = plan(study)
    assert dict(base.fit_config.prior_overrides) == {}
    plain = base.fit_config.resolved_priors()
    scaled = doubled.fit_config.resolved_priors()
    for key in ("E", "alpha", "beta"):
        assert scaled[key].params["sigma"] == pytest.approx(2 * plain[key].params["sigma"])
        assert scaled[key].params.get("upper") == plain[key].params.get("upper")
    for key in ("log_A", "log_B", "sigma", "sigma_E"):
        assert scaled[key] == plain[key]


def test_subsets_cutoffs_and_flop_convention_filter_the_runs(runs):
    C6 = 6 * runs.N * runs.D
    cutoff = float(np.quantile(C6, 0.5))
    study = load_study(
        _study(
            runs,
            design="one_at_a_time",
            axes={
                "subset": ["all", "without:b", "only:b"],
                "compute_cutoff": ["none", cutoff],
                "flop_per_param_token": [6.0, 8.0],
            },
            baseline={"compute_cutoff": cutoff},
        )
    )
    by_values = {tuple(sorted(c.values.items())): c for c in plan(study)}

    def rows(**v):
        full = {"subset": "all", "compute_cutoff": cutoff, "flop_per_param_token": 6.0, **v}
        return by_values[tuple(sorted(full.items()))].runs

    assert len(rows()) == int((C6 <= cutoff).sum())
    assert len(rows(compute_cutoff=math.inf)) == len(runs)
    assert len(rows(flop_per_param_token=8.0)) == int((8 * runs.N * runs.D <= cutoff).sum())
    assert len(rows(flop_per_param_token=8.0)) < len(rows())
    assert set(rows(subset="without:b").group) == {"a"}
    assert set(rows(subset="only:b").group) == {"b"}


def test_configurations_that_cannot_be_built_are_recorded_not_raised(runs):
    study = load_study(
        _study(
            runs,
            configurations=[
                {"law": "no_such_law"},
                {"subset": "without:a,b"},
                {"preset": "besiroglu2024", "law": "kaplan"},
                {"stock": "unheard_of"},
                {"subset": "without:zz"},
            ],
        )
    )
    errors = [c.error for c in plan(study)]
    assert "unknown law 'no_such_law'" in errors[0]
    assert "no runs left" in errors[1]
    assert "lacks priors" in errors[2]
    assert "unknown stock 'unheard_of'" in errors[3]
    assert "groups ['zz'] not in column 'group'" in errors[4]


def test_run_task_records_a_failing_fit_instead_of_raising(runs):
    study = load_study(_study(runs, configurations=[{"law": "data_constrained"}]))
    (config,) = plan(study)
    out = run_task(
        config.runs, {"fit": config.fit_config.to_dict(), "summaries": [config.summary]}, 0
    )
    error = out[config.config_hash].attrs["error"]
    assert error.startswith("DataError") and "unique_tokens" in error


def test_a_study_whose_configurations_all_fail_to_build_needs_no_cluster(runs, tmp_path):
    study = _study(runs, configurations=[{"law": "no_such_law"}, {"subset": "only:zz"}])
    result = sensitivity(study, out=tmp_path, client="tcp://127.0.0.1:1")  # never contacted
    assert result.attrs["n_fits_run"] == 0 and result.attrs["n_failed"] == 2
    assert (result["status"].sel(law="no_such_law", subset="all").item()) == "failed"
    assert result["status"].sel(law="chinchilla", subset="all").item() == ""  # not in design
    assert (tmp_path / STUDY_FILE).exists()


# ---------------------------------------------------------------- effects and plots (no fit)


def _fake_result() -> xr.Dataset:
    """A 3 x 2 product study with known values; one cell failed."""
    loss = np.array([[2.00, 2.02], [1.90, np.nan], [2.10, 2.12]])
    ds = xr.Dataset(
        {
            "loss_median": (("preset", "likelihood"), loss, {"units": "nats/token"}),
            "loss_ci": (
                ("preset", "likelihood", "ci_bound"),
                np.stack([loss - 0.05, loss + 0.05], axis=-1),
                {"units": "nats/token"},
            ),
            "status": (
                ("preset", "likelihood"),
                np.array([["ok", "ok"], ["ok", "failed"], ["ok", "ok"]]),
            ),
        },
        coords={
            "preset": ["weak", "besiroglu2024", "hoffmann2022"],
            "likelihood": ["normal", "student_t"],
            "ci_bound": ["lower", "upper"],
        },
    )
    baseline = {"preset": "weak", "likelihood": "normal", "compute_cutoff": "inf"}
    ds.attrs.update({"baseline": __import__("json").dumps(baseline), "N": 1e13, "ci_prob": 0.9})
    return ds


def test_axis_effects_rank_axes_by_range_at_baseline():
    effects = axis_effects(_fake_result())
    assert list(effects["axis"].values) == ["preset", "likelihood"]
    np.testing.assert_allclose(effects["range"].values, [0.20, 0.02], atol=1e-12)
    assert effects["low_value"].sel(axis="preset").item() == "besiroglu2024"
    assert effects["high_value"].sel(axis="preset").item() == "hoffmann2022"
    assert effects.attrs["baseline_value"] == pytest.approx(2.00)
    assert effects.attrs["units"] == "nats/token"


def test_tornado_and_heatmap_figures():
    result = _fake_result()
    fig = plot_tornado(result)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_height() == pytest.approx(0.55)]
    assert len(bars) == 2
    widths = sorted(round(b.get_width(), 6) for b in bars)
    assert widths == [0.02, 0.2]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["likelihood", "preset"]
    assert "nats/token" in ax.get_xlabel()
    heat = plot_sensitivity_heatmap(result)
    texts = [t.get_text() for t in heat.axes[0].texts]
    assert "failed" in texts and "2.120" in texts
    with pytest.raises(ValueError):
        plot_sensitivity_heatmap(result, x="preset", y="preset")


# --------------------------------------------------------------------- the cluster tests


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    dask = Client(cluster)
    yield dask
    dask.close()
    cluster.close()


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("study")


@pytest.fixture(scope="module")
def four(runs):
    return _study(
        runs, axes={"preset": ["weak", "besiroglu2024"], "stock": ["villalobos2024", "tiny"]}
    )


@pytest.mark.slow
def test_four_configurations_on_a_local_cluster_then_resume(client, four, study_dir):
    seen = []
    first = sensitivity(four, out=study_dir, client=client, progress=lambda *a: seen.append(a))
    assert dict(first.sizes) == {"preset": 2, "stock": 2, "ci_bound": 2, "parameter": 6}
    assert list(first["preset"].values) == ["weak", "besiroglu2024"]
    assert (first["status"].values == "ok").all()
    assert first.attrs["n_fits_run"] == 2 and first.attrs["n_reused"] == 0  # stock shares fits
    assert seen[-1][:2] == (4, 4)
    # the stock axis does not change the fit: identical loss, larger P(exhausted) for tiny stock
    loss = first["loss_median"]
    np.testing.assert_array_equal(loss.sel(stock="tiny"), loss.sel(stock="villalobos2024"))
    p = first["p_exhausted"]
    assert (p.sel(stock="tiny") > p.sel(stock="villalobos2024")).all()
    assert ((p >= 0) & (p <= 1)).all()
    # values: group a's loss at 1e13 with compute-optimal D under the true law
    true_N, true_D = chinchilla.compute_optimal(
        6 * 1e13 * _true_D(), TRUE["E"], TRUE["A"], TRUE["alpha"], TRUE["B"], TRUE["beta"]
    )
    assert true_N == pytest.approx(1e13, rel=1e-9)
    true_loss = chinchilla.loss(
        1e13, true_D, TRUE["E"], TRUE["A"], TRUE["alpha"], TRUE["B"], TRUE["beta"]
    )
    lo, hi = first["loss_ci"].sel(preset="weak", stock="villalobos2024").values
    assert lo < true_loss < hi and 1.3 < lo and hi < 2.3
    assert first["loss_median"].attrs["units"] == "nats/token"
    assert first["loss_ci"].attrs["ci_kind"] == "eti" and first.attrs["ci_prob"] == 0.9
    assert (first["tokens_per_param_median"] > 0).all()
    np.testing.assert_allclose(first["C_median"], 6e13 * first["D_median"], rtol=1e-12)
    assert (first["r_hat_max"] < 1.2).all() and (first["fit_seconds"] > 0).all()
    sens = first["prior_sensitivity"]
    assert list(sens["parameter"].values) == ["E", "log_A", "alpha", "log_B", "beta", "loss_at_N"]
    assert np.isfinite(sens).all() and (sens >= 0).all()
    assert np.isfinite(first["likelihood_sensitivity"]).all()
    # files: one per configuration, named by its hash, plus the combined study
    files = sorted(study_dir.glob("*.nc"))
    assert {f.stem for f in files} == set(first["config_hash"].values.ravel()) | {"study"}
    reloaded = _idata.dataset_from_netcdf(study_dir / STUDY_FILE)
    xr.testing.assert_allclose(reloaded["loss_median"], first["loss_median"])
    mtimes = {f: f.stat().st_mtime_ns for f in files if f.name != STUDY_FILE}
    # resumption: nothing is fitted again, no file rewritten, same numbers
    second = sensitivity(four, out=study_dir, client=client)
    assert second.attrs["n_fits_run"] == 0 and second.attrs["n_reused"] == 4
    assert {f: f.stat().st_mtime_ns for f in mtimes} == mtimes
    xr.testing.assert_identical(second["loss_ci"], first["loss_ci"])


def _true_D() -> float:
    """Compute-optimal tokens of the true law at N = 1e13 (Hoffmann eq. 4 inverted)."""
    a, b = TRUE["alpha"], TRUE["beta"]
    G = (a * TRUE["A"] / (b * TRUE["B"])) ** (1 / (a + b))
    return (1e13 / G) ** (a / b) / G


@pytest.mark.slow
def test_failing_configurations_are_recorded_and_the_study_completes(client, runs, study_dir):
    study = _study(
        runs,
        configurations=[
            {},  # the baseline: cached by the previous test when run in order
            {"law": "no_such_law"},  # fails while planning
            {"law": "data_constrained"},  # fails on the worker: no unique_tokens column
        ],
    )
    result = sensitivity(study, out=study_dir, client=client)
    status = result["status"]
    assert status.sel(law="chinchilla").item() == "ok"
    assert status.sel(law="no_such_law").item() == "failed"
    assert status.sel(law="data_constrained").item() == "failed"
    assert "unknown law 'no_such_law'" in result["error"].sel(law="no_such_law").item()
    assert "unique_tokens" in result["error"].sel(law="data_constrained").item()
    assert np.isnan(result["loss_median"].sel(law="data_constrained"))
    assert result.attrs["n_failed"] == 2
    assert np.isfinite(result["loss_median"].sel(law="chinchilla"))
    # failures are not cached: no file carries their hashes
    for law in ("no_such_law", "data_constrained"):
        assert not (study_dir / f"{result['config_hash'].sel(law=law).item()}.nc").exists()


@pytest.mark.slow
def test_a_worker_killed_mid_fit_is_retried(client, runs, tmp_path):
    study = _study(runs, axes={"prior_scale": [2.0]})
    box = {}
    thread = threading.Thread(
        target=lambda: box.update(result=sensitivity(study, out=tmp_path, client=client))
    )
    thread.start()
    victim, deadline = None, time.time() + 300
    while victim is None and time.time() < deadline:
        for worker, keys in client.processing().items():
            if any(str(k).startswith("sensitivity-") for k in keys):
                victim = worker
        time.sleep(0.2)
    assert victim is not None, "the task never started"
    time.sleep(2.0)  # inside the fit (imports and compilation take longer than this)
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)  # the worker process dies mid-fit; its nanny restarts it
    thread.join(timeout=900)
    assert not thread.is_alive()
    result = box["result"]
    assert result["status"].item() == "ok", result["error"].item()
    summary = _idata.dataset_from_netcdf(tmp_path / f"{result['config_hash'].item()}.nc")
    assert summary.attrs["pid"] != pid  # the result came from another process
    assert np.isfinite(result["loss_median"]).all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_cli_against_a_real_scheduler_and_two_workers(runs, tmp_path):
    from distributed import Client

    runs.to_csv(tmp_path / "runs.csv", index=False)
    (tmp_path / "study.toml").write_text(
        'name = "cli"\nruns = "runs.csv"\ngroups = "group"\nforecast_group = "a"\nseed = 3\n'
        "[sampler]\ndraws = 150\ntune = 200\nchains = 2\ntarget_accept = 0.8\n"
        '[baseline]\nlikelihood = "normal"\ndiscrepancy = "none"\n'
        '[axes]\nprior_scale = [1.0, 0.5]\nstock = ["villalobos2024", "tiny"]\n'
        "[stocks]\ntiny = { median = 1e13, lower = 5e12, upper = 3e13 }\n"
    )
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **quiet,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    **quiet,
                )
            )
        with Client(address, timeout="60s") as probe:
            probe.wait_for_workers(2, timeout=120)
        out = tmp_path / "out"
        outcome = CliRunner().invoke(
            app,
            [
                "sensitivity",
                str(tmp_path / "study.toml"),
                "--scheduler",
                address,
                "--out",
                str(out),
            ],
        )
        assert outcome.exit_code == 0, outcome.output
        assert "4 configurations: 2 fits run, 0 reused, 0 failed" in outcome.output
        result = _idata.dataset_from_netcdf(out / STUDY_FILE)
        assert (result["status"].values == "ok").all()
        assert dict(result.sizes)["prior_scale"] == 2
        assert (out / "tornado.png").stat().st_size > 10_000
        assert (out / "heatmap.png").exists()
        workers = {
            _idata.dataset_from_netcdf(out / f"{h}.nc").attrs["worker"]
            for h in result["config_hash"].values.ravel()
        }
        assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
        # existing outputs are not replaced without --force
        again = CliRunner().invoke(
            app, ["sensitivity", str(tmp_path / "study.toml"), "--out", str(out)]
        )
        assert again.exit_code == 2 and "--force" in again.output
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert all(proc.returncode is not None for proc in procs)
