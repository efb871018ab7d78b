"""An averaged posterior (Stack) through exhaustion, report, plots, design, CLI and README."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from forecast import (
    ConfigError,
    ConvergenceWarning,
    ExtrapolationWarning,
    Stack,
    exhaustion,
    forecast,
    load,
    save,
    suggest_runs,
    update,
)
from forecast.cli import app
from models import noise
from models.noise import log_density

README = Path(__file__).resolve().parents[1] / "README.md"
WIDE = {"COLUMNS": "80"}


def _stack(components: dict, weights: dict, seed: int = 5) -> Stack:
    names = list(components)
    w = xr.DataArray([weights[n] for n in names], dims="component", coords={"component": names})
    return Stack(components=components, weights=w, method="given", seed=seed)


@pytest.fixture(scope="module")
def stack(small_fit, discrepancy_fit):
    """Two quick components of the same runs: without and with the compute discrepancy."""
    return _stack({"plain": small_fit, "compute": discrepancy_fit}, {"plain": 0.3, "compute": 0.7})


@pytest.fixture(scope="module")
def stack_file(stack, tmp_path_factory):
    return save(stack, tmp_path_factory.mktemp("stack") / "stack.nc")


def _trend(n: int = 400, seed: int = 3) -> xr.Dataset:
    """A stand-in for fit_dataset_trend's posterior: log10 tokens = a + b (year - 2024)."""
    rng = np.random.default_rng(seed)
    a = 13.0 + 0.1 * rng.standard_normal((1, n))
    b = 0.5 + 0.02 * rng.standard_normal((1, n))
    return xr.Dataset(
        {"intercept": (("chain", "draw"), a), "slope": (("chain", "draw"), b)},
        attrs={"year_centre": 2024.0},
    )


def _quiet(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        return call()


# ------------------------------------------------------------------ exhaustion
def test_exhaustion_of_a_stack_is_the_mixture_of_its_components(stack):
    trend = _trend()
    run = lambda result: _quiet(lambda: exhaustion(result, N=1e12, trend=trend, seed=4))  # noqa: E731
    mixed = run(stack)
    labels = stack.labels
    assert 0 < (labels == 0).sum() < labels.size  # both components give draws
    for k, name in enumerate(stack.names):
        part = run(stack.components[name])
        hit = labels == k
        for var in ("D_needed", "year_needed", "loss_penalty"):
            got = mixed[var].transpose("scenario", "chain", "draw").values[:, hit]
            want = part[var].transpose("scenario", "chain", "draw").values[:, hit]
            np.testing.assert_array_equal(got, want, err_msg=f"{var} of {name}")
    # summaries are those of the mixture draws, not of one component
    needed = mixed["D_needed"].sel(scenario="compute_optimal").values
    assert float(mixed["D_needed_median"].sel(scenario="compute_optimal")) == pytest.approx(
        np.median(needed)
    )
    assert mixed.attrs["stack_method"] == "given"
    assert json.loads(mixed.attrs["stack_weights"]) == {"plain": 0.3, "compute": 0.7}


def test_exhaustion_of_a_stack_measures_the_distance_on_the_mixture(stack):
    with pytest.warns(ExtrapolationWarning, match="compute-optimal tokens/param"):
        mixed = exhaustion(stack, N=1e13, seed=4)
    reach = json.loads(mixed.attrs["extrapolation"])  # one assessment, not one per component
    names = [p["name"] for p in reach["points"]]
    assert names == list(mixed["scenario"].values)
    optimal = mixed["D_needed"].sel(scenario="compute_optimal").values / 1e13
    assert reach["points"][0]["optimal_tokens_per_param_median"] == pytest.approx(
        np.median(optimal)
    )
    assert "decades" in mixed.attrs["extrapolation_summary"]


# ------------------------------------------------------------------ plots
def test_plot_fit_draws_the_mixture_bands(stack, monkeypatch):
    import matplotlib.pyplot as plt

    import forecast.plots.fit as plots

    seen = []
    original = plots.predict

    def spy(result, *args, **kwargs):
        seen.append(result)
        return original(result, *args, **kwargs)

    monkeypatch.setattr(plots, "predict", spy)
    fig = plots.plot_fit(stack)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    plt.close(fig)
    assert seen and all(r is stack for r in seen)
    assert titles == ["group=a", "group=b"]


def test_plot_exponents_shows_the_mixture_of_the_components_draws(stack):
    import matplotlib.pyplot as plt

    from forecast import load_dataset
    from forecast.plots import plot_exponents

    fig = plot_exponents(stack, load_dataset("published_fits"), ci_prob=0.9)
    ax = fig.axes[1]  # alpha
    assert ax.get_xlabel().startswith("alpha") or "alpha" in ax.get_xlabel()
    span = [p for p in ax.patches if p.get_label().startswith("90%")][0]
    plt.close(fig)
    mixed = stack.posterior_mixture(["alpha"])["alpha"].values.ravel()
    lo, hi = np.quantile(mixed, [0.05, 0.95])
    x0 = span.get_x()  # axvspan: a Rectangle from lo to hi
    assert (x0, x0 + span.get_width()) == pytest.approx((lo, hi))


def test_plot_exponents_refuses_components_of_different_laws(stack):
    from forecast import load_dataset
    from forecast.plots import plot_exponents

    plain = stack.components["plain"]
    other = dataclasses.replace(plain, config=plain.config.replace(law="kaplan"))
    mixed_laws = _stack({"chinchilla": plain, "kaplan": other}, {"chinchilla": 0.5, "kaplan": 0.5})
    with pytest.raises(ConfigError, match="plot_exponents.*differ in law"):
        plot_exponents(mixed_laws, load_dataset("published_fits"))


def test_posterior_mixture_names_the_caller_when_a_component_lacks_a_variable(stack):
    with pytest.raises(ConfigError, match="some_plot needs.*tau.*plain"):
        stack.posterior_mixture(["tau"], purpose="some_plot")


# ------------------------------------------------------------------ design
def test_suggest_runs_of_a_stack_uses_the_mixture_predictive(stack):
    from forecast.studies.design import candidate_predictive, target_draws

    cands = {"N": [3e8, 1e9], "D": [6e9, 2e10]}
    import pandas as pd

    frame = pd.DataFrame(cands)
    mean, sd, nu = candidate_predictive(stack, frame, group="a")
    labels = stack.labels.ravel()
    nu = np.broadcast_to(nu, sd.shape)  # the Normal component's draws carry nu = inf
    for k, name in enumerate(stack.names):
        m, s, n = candidate_predictive(stack.components[name], frame, group="a")
        np.testing.assert_array_equal(mean[:, labels == k], m[:, labels == k])
        np.testing.assert_array_equal(sd[:, labels == k], s[:, labels == k])
        if n is None:
            assert np.all(np.isinf(nu[:, labels == k]))
        else:
            n = np.broadcast_to(n, sd.shape)
            np.testing.assert_array_equal(nu[:, labels == k], n[:, labels == k])
    out = _quiet(lambda: suggest_runs(stack, 1e21, candidates=frame, group="a", n_outcomes=16))
    target = _quiet(lambda: target_draws(stack, N=1e13, group="a"))
    assert out.attrs["current_variance"] == pytest.approx(float(np.var(target.values)))
    assert out.attrs["stack_method"] == "given" and out.sizes["run"] == 2


def test_student_t_with_infinite_degrees_of_freedom_is_the_normal():
    """A stack of Normal and Student-t components marks the Normal draws with nu = inf."""
    y, mean, sd = np.array([0.1, -0.3]), np.zeros(2), np.array([0.2, 0.5])
    nu = np.array([np.inf, 4.0])
    got = log_density(y, mean, sd, nu)
    assert got[0] == pytest.approx(log_density(y[0], 0.0, sd[0]))
    assert got[1] == pytest.approx(log_density(y[1], 0.0, sd[1], 4.0))
    var = noise.noise_variance(sd, nu)
    assert var == pytest.approx([0.04, 0.25 * 2.0])
    draws = noise.standard_noise(np.random.default_rng(0), (20000, 2), nu)
    assert np.all(np.isfinite(draws))
    assert np.std(draws[:, 0]) == pytest.approx(1.0, abs=0.03)
    assert np.std(draws[:, 1]) == pytest.approx(np.sqrt(2.0), abs=0.1)


def test_update_of_a_stack_refits_every_component_and_reweighs_alike(stack, monkeypatch):
    import forecast.studies.design as design

    calls = []
    monkeypatch.setattr(design, "fit_averaged", lambda *a, **k: calls.append((a, k)) or "new")
    new = [{"N": 2e9, "D": 4e10, "loss": 2.4, "group": "a"}]
    assert update(stack, new) == "new"
    (runs, configs), options = calls[0]
    assert len(runs) == len(stack.runs) + 1
    assert configs == {n: f.config for n, f in stack.components.items()}
    assert options["weights"] == {"plain": 0.3, "compute": 0.7}  # given weights are kept
    assert options["seed"] == stack.seed
    lfo = dataclasses.replace(stack, method="lfo", scores=xr.Dataset(attrs={"column": "N"}))
    update(lfo, new, seed=9)
    (_, configs), options = calls[1]
    assert options["weights"] == "lfo" and options["column"] == "N"
    assert {c.seed for c in configs.values()} == {9}


# ------------------------------------------------------------------ report
def test_report_of_a_recipe_describes_the_averaged_posterior(stack, tmp_path, monkeypatch):
    import forecast.report as report_module

    calls = []

    def spy(runs, recipe, **options):
        calls.append((recipe, options))
        return stack

    monkeypatch.setattr(report_module, "fit_averaged", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        made = report_module.report(
            stack.runs,
            tmp_path,
            config=stack.components["plain"].config,
            recipe="discrepancy",
            weights={"plain": 0.3, "compute": 0.7},
            N=1e11,
            group="a",
        )
    assert calls[0][0] == "discrepancy"
    assert calls[0][1]["base"] == stack.components["plain"].config
    text = (tmp_path / "report.md").read_text()
    assert "averaged posterior" in text and "weights given by the user" in text
    assert "| plain | 0.300 |" in text and "| compute | 0.700 |" in text
    assert "### Component `plain`" in text and "### Component `compute`" in text
    assert text.count("Divergences:") == 2  # diagnostics per component
    assert isinstance(load(made.files["posterior"]), Stack)
    want = _quiet(
        lambda: forecast(stack, N=1e11, group="a", seed=stack.components["plain"].config.seed)
    )
    np.testing.assert_array_equal(made.forecast["loss_median"].values, want["loss_median"].values)


# ------------------------------------------------------------------ CLI
def _invoke(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CliRunner().invoke(app, [str(a) for a in args], env=WIDE)


def test_cli_fit_with_a_recipe_writes_an_averaged_posterior(stack, tmp_path, monkeypatch):
    import forecast.cli.fitting as cli

    csv = tmp_path / "runs.csv"
    stack.runs.to_csv(csv, index=False)
    calls = []
    monkeypatch.setattr(cli, "fit_averaged", lambda runs, recipe, **k: calls.append(k) or stack)
    monkeypatch.setattr(cli, "run_fit", lambda *a, **k: pytest.fail("a single fit"))
    out = tmp_path / "stack.nc"
    args = ["fit", csv, "--groups", "group", "--recipe", "discrepancy", "--weights", "equal"]
    result = _invoke([*args, "--out", out, "--draws", 50])
    assert result.exit_code == 0, result.output
    assert calls[0]["weights"] == "equal" and calls[0]["base"].sampler.draws == 50
    assert isinstance(load(out), Stack)
    assert "averaged posterior: 2 components" in result.stdout
    assert "component compute" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize("command", ["fit", "report"])
def test_cli_recipe_errors_are_one_line(command, tmp_path, monkeypatch):
    from forecast.cli import fitting, forecasting

    for module in (fitting, forecasting):
        for name in ("run_fit", "fit_averaged", "report"):
            fail = lambda *a, **k: pytest.fail("sampled")  # noqa: E731
            monkeypatch.setattr(module, name, fail, raising=False)
    out = ["--out", tmp_path / "x"]
    bad = _invoke([command, "--dataset", "gpt3", "--recipe", "nope", *out])
    assert bad.exit_code == 2
    for name in ("discrepancy", "likelihoods", "robust"):
        assert name in bad.output
    both = _invoke(
        [command, "--dataset", "gpt3", "--recipe", "likelihoods", "--likelihood", "normal", *out]
    )  # noqa: E501
    assert both.exit_code == 2
    assert "leave out --likelihood" in both.output and "Traceback" not in both.output


def test_cli_reads_a_saved_stack_and_says_so(stack_file, tmp_path):
    inspect = _invoke(["inspect", stack_file])
    assert inspect.exit_code == 0, inspect.output
    assert "read an averaged posterior of 2 components" in inspect.stdout
    assert "plain 0.300" in inspect.stdout and "component plain" in inspect.stdout
    as_csv = _invoke(["inspect", stack_file, "--format", "csv"])
    assert as_csv.stdout.splitlines()[0] == "component,weight,parameter,r_hat,ess_bulk,ess_tail"
    fc = _invoke(["forecast", stack_file, "--params", "1e11", "--group", "a"])
    assert fc.exit_code == 0, fc.output
    assert "read an averaged posterior" in fc.stdout
    assert "given weights" in fc.stdout.replace("\n", "")
    # the components' distances beyond the runs: readable lines, not a JSON object
    assert '{"plain"' not in fc.output and "[plain] compute-optimal" in fc.stdout
    out = tmp_path / "ex.nc"
    ex = _invoke(["exhaustion", stack_file, "--params", "1e11", "--no-trend", "--out", out])
    assert ex.exit_code == 0, ex.output
    assert "read an averaged posterior" in ex.stdout
    for result in (inspect, fc, ex):
        assert max(len(line) for line in result.stdout.splitlines()) <= 80


# ------------------------------------------------------------------ README
def test_readme_opens_each_component_of_a_saved_stack(small_fit, discrepancy_fit, tmp_path):
    """Run the README's arviz snippet on a saved stack whose components it names."""
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    snippet = next(b for b in blocks if "az.InferenceData.from_netcdf" in b)
    names = re.findall(r'base_group="components/(\w+)"', snippet)
    assert names, "the README shows how to open a component"
    parts = dict(zip(names, [small_fit, discrepancy_fit], strict=False))
    stack = _stack(parts, {n: 1.0 / len(parts) for n in parts})
    save(stack, tmp_path / "stack.nc")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope: dict = {}
        exec(snippet, scope)  # noqa: S102 - the documented snippet itself
    finally:
        os.chdir(here)
    for name in names:
        np.testing.assert_array_equal(
            scope[name].posterior["alpha"].values, parts[name].posterior["alpha"].values
        )
