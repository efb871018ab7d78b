"""The command line: datasets, fit, inspect, and every way a user can get it wrong.

One real fit (an ill-posed one: three runs, ten tuning steps) goes through ``fit`` and is
shared by the tests of ``inspect``, of sampler trouble and of ``--strict``; the other tests
stub the sampler out or stop before it.
"""

from __future__ import annotations

import inspect
import io
import json
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast import _idata, list_datasets, load, save
from forecast.cli import app
from forecast.cli import fitting as cli_fitting

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # rich tables as wide as they need


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], env=WIDE)


def one_line_error(result, code: int) -> str:
    """The command failed with ``code`` and one line on stderr, not a traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not an uncaught error
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text, text
    assert "Traceback" not in result.stdout + result.stderr
    return text


# ------------------------------------------------------------------ datasets


def test_datasets_lists_every_bundled_dataset_with_rows_and_license():
    result = invoke("datasets")
    assert result.exit_code == 0, result.stderr
    expected = list_datasets()
    assert len(expected) >= 5
    for _, row in expected.iterrows():
        line = next((s for s in result.stdout.splitlines() if f" {row['name']} " in s), None)
        assert line is not None, f"{row['name']} not listed:\n{result.stdout}"
        cells = [c.strip() for c in line.split("│")]
        assert str(row["rows"]) in cells and row["license"] in cells, (line, row.to_dict())


@pytest.mark.parametrize("columns", [80, 60])
def test_datasets_in_a_narrow_pipe_prints_every_name_whole(columns):
    """CliRunner's stdout is not a terminal: the width comes from COLUMNS, as in a pipe."""
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, result.stdout
    assert "…" not in result.stdout, result.stdout
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.count("│") > 2]
    first_cells = {row[0] for row in rows}
    for _, row in list_datasets().iterrows():
        assert row["name"] in first_cells, f"{row['name']} cut or missing:\n{result.stdout}"
        assert any(r[0] == row["name"] and str(row["rows"]) in r for r in rows), row["name"]
    if columns == 80:  # the license column survives at 80 and wraps instead of being cut
        assert "Apache-2.0" in result.stdout and "left out at this width: title" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_datasets_csv_and_json_round_trip_through_pandas(fmt):
    result = runner.invoke(app, ["datasets", "--format", fmt], env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.stderr
    text = io.StringIO(result.stdout)
    read = pd.read_csv(text) if fmt == "csv" else pd.read_json(text, orient="records")
    expected = list_datasets()
    assert list(read.columns) == list(expected.columns)
    for column in expected.columns:
        want, got = expected[column], read[column]
        if want.dtype.kind in "fi":
            np.testing.assert_array_equal(got.to_numpy(float), want.to_numpy(float), column)
        else:
            assert got.fillna("").astype(str).tolist() == want.fillna("").tolist(), column


# ------------------------------------------------------------------ one real (ill-posed) fit

ILL_POSED = "N,D,loss\n1e8,2e9,3.2\n3e8,6e9,2.9\n1e9,2e10,2.7\n"
FIT_ARGS = ("--draws", "100", "--tune", "10", "--chains", "2", "--seed", "1")


@pytest.fixture(scope="module")
def ill_posed(tmp_path_factory):
    """``fit`` on three runs with ten tuning steps: the sampler cannot converge."""
    folder = tmp_path_factory.mktemp("cli")
    data = folder / "runs.csv"
    data.write_text(ILL_POSED)
    out = folder / "fit.nc"
    result = invoke("fit", data, *FIT_ARGS, "--out", out)
    return result, out


@pytest.mark.slow
def test_fit_writes_posterior_and_figure(ill_posed):
    result, out = ill_posed
    assert result.exit_code == 0, result.stderr
    figure = out.with_suffix(".png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fitted = load(out)
    assert len(fitted.runs) == 3 and fitted.config.seed == 1
    assert fitted.posterior.sizes["chain"] == 2 and fitted.posterior.sizes["draw"] == 100
    assert f"wrote {out} and {figure}" in result.stdout.replace("\n", "")
    assert sorted(p.name for p in out.parent.iterdir()) == ["fit.nc", "fit.png", "runs.csv"]


@pytest.mark.slow
def test_sampler_trouble_is_reported(ill_posed):
    result, out = ill_posed
    table = load(out).diagnostics
    r_hat = float(table["r_hat"].max())
    assert not table.attrs["passed"]
    assert r_hat > 1.05 or table.attrs["divergences"] > 0, (r_hat, table.attrs)
    failures = json.loads(table.attrs["failures"])
    assert any("R-hat" in f or "divergent" in f for f in failures), failures
    # the table printed by the command says so, and one warning line names the failures
    assert "sampler diagnostics" in result.stdout and "FAILED" in result.stdout
    assert f"divergences: {table.attrs['divergences']}" in result.stdout
    warning = result.stderr.strip()
    assert warning.startswith("warning: sampler diagnostics failed: ") and "\n" not in warning


@pytest.mark.slow
def test_strict_exits_3_and_writes_nothing(ill_posed, tmp_path, monkeypatch):
    _, out = ill_posed
    failed = load(out)  # the real failed posterior, returned without sampling again
    monkeypatch.setattr(cli_fitting, "run_fit", lambda runs, *, config, strict: failed)
    data = tmp_path / "runs.csv"
    data.write_text(ILL_POSED)
    target = tmp_path / "strict.nc"
    result = invoke("fit", data, *FIT_ARGS, "--out", target, "--strict")
    text = one_line_error(result, 3)
    assert text.startswith("error: sampler diagnostics failed: R-hat > 1.01")
    assert "sampler diagnostics" in result.stdout  # the table is still shown
    assert not target.exists() and not target.with_suffix(".png").exists()


@pytest.mark.slow
def test_inspect_shows_config_and_diagnostics(ill_posed):
    _, out = ill_posed
    result = invoke("inspect", out)
    assert result.exit_code == 0, result.stderr
    assert '"law": "chinchilla"' in result.stdout and '"seed": 1' in result.stdout
    assert "runs: 3  groups: all" in result.stdout
    assert "r_hat" in result.stdout and "FAILED" in result.stdout


# ------------------------------------------------------------------ error paths (no sampling)


@pytest.fixture
def csv_file(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "runs.csv"
        path.write_text(text)
        return path

    return write


def test_bad_csv_exits_2_with_one_line(csv_file, tmp_path):
    data = csv_file("N,D,loss\n7e7,1.4e9,3.4\n4e8,8e9,-2.95\n")
    result = invoke("fit", data, "--out", tmp_path / "fit.nc")
    text = one_line_error(result, 2)
    assert f"{data}: column 'loss', line 3 (1 of 2)" in text
    assert not (tmp_path / "fit.nc").exists()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("N,D,loss\n", "the table has no rows"),
        ("params,D,loss\n7e7,1.4e9,3.4\n", "required column 'N' is missing"),
        ("N,D,loss\n7e7,1.4e9,3.4,9\n", "line 2"),
        ("N,D,loss\n7,1.4e9,3.4\n", "N below 1000 parameters looks like a unit error"),
    ],
)
def test_more_bad_csvs_exit_2(csv_file, tmp_path, text, fragment):
    result = invoke("fit", csv_file(text), "--out", tmp_path / "fit.nc")
    assert fragment in one_line_error(result, 2)


def test_non_utf8_csv_exits_2(tmp_path):
    data = tmp_path / "latin1.csv"
    data.write_bytes("N,D,loss,source\n7e7,1.4e9,3.4,caf\xe9\n".encode("latin-1"))
    text = one_line_error(invoke("fit", data, "--out", tmp_path / "fit.nc"), 2)
    assert "cannot read the file as UTF-8 text: line 2" in text


def test_missing_csv_and_bad_options_exit_2(tmp_path, csv_file):
    out = tmp_path / "fit.nc"
    assert "file not found" in one_line_error(invoke("fit", tmp_path / "no.csv", "--out", out), 2)
    good = csv_file("N,D,loss\n7e7,1.4e9,3.4\n4e8,8e9,2.95\n")
    assert "unknown law" in one_line_error(invoke("fit", good, "--law", "moore", "--out", out), 2)
    both = invoke("fit", good, "--dataset", "gadre2024", "--out", out)
    assert "exactly one of DATA" in one_line_error(both, 2)
    assert "unknown dataset" in one_line_error(invoke("fit", "--dataset", "nope", "--out", out), 2)
    assert not out.exists()


def test_inspect_refuses_damaged_and_missing_files(small_fit, tmp_path):
    path = save(small_fit, tmp_path / "fit.nc")
    data = path.read_bytes()
    broken = tmp_path / "broken.nc"
    broken.write_bytes(data[: len(data) // 2])
    assert "truncated" in one_line_error(invoke("inspect", broken), 2)
    assert "no such file" in one_line_error(invoke("inspect", tmp_path / "missing.nc"), 2)
    text = tmp_path / "runs.csv"
    text.write_text("N,D,loss\n")
    assert "cannot be read as NetCDF" in one_line_error(invoke("inspect", text), 2)


# ------------------------------------------------------------------ never overwrite without --force


def test_fit_never_overwrites_without_force(small_fit, csv_file, tmp_path, monkeypatch):
    data = csv_file("N,D,loss\n7e7,1.4e9,3.4\n4e8,8e9,2.95\n")
    calls = []

    def stub(runs, *, config, strict):
        calls.append(config)
        return small_fit

    monkeypatch.setattr(cli_fitting, "run_fit", stub)
    out, figure = tmp_path / "fit.nc", tmp_path / "fit.png"
    for existing in (out, figure):  # either output alone blocks the command
        existing.write_bytes(b"precious")
        text = one_line_error(invoke("fit", data, "--out", out), 2)
        assert f"{existing} exists; pass --force to replace" in text
        assert existing.read_bytes() == b"precious" and not calls  # refused before sampling
        existing.unlink()
    out.write_bytes(b"precious")
    figure.write_bytes(b"precious")
    result = invoke("fit", data, "--out", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert len(calls) == 1 and calls[0].seed == 0
    np.testing.assert_array_equal(
        load(out).posterior["alpha"].values, small_fit.posterior["alpha"].values
    )
    assert figure.read_bytes()[:4] == b"\x89PNG"
    attrs = _idata.attrs(load(out).idata)
    assert attrs["posterior_sha256"] and "nutpie" in json.loads(attrs["versions"])


def _output_commands():
    """Commands with an output option (``--out`` or ``--figure``)."""
    for info in app.registered_commands:
        params = inspect.signature(info.callback).parameters
        if {"out", "figure"} & set(params):
            yield info.name, info.callback, params


@pytest.mark.parametrize(
    ("name", "callback", "params"), list(_output_commands()), ids=lambda v: str(v)[:20]
)
def test_every_command_with_outputs_guards_them(name, callback, params):
    assert "force" in params, f"{name} writes files but has no --force"
    source = inspect.getsource(callback)
    guarded = "_check_outputs(" in source or "overwrite=force" in source
    assert guarded, f"{name} neither checks its outputs nor passes overwrite=force"


#: Commands whose inputs are a saved posterior (or nothing): called with an existing --out.
POSTERIOR_COMMANDS = ["fit", "exhaustion", "forecast", "suggest", "simulate"]


@pytest.mark.parametrize(
    "name", [n for n, _, p in _output_commands() if "out" in p and n in POSTERIOR_COMMANDS]
)
def test_commands_refuse_an_existing_out(name, small_fit, tmp_path):
    """Called with an existing --out (and a real posterior where one is needed): exit 2."""
    params = inspect.signature(
        next(i.callback for i in app.registered_commands if i.name == name)
    ).parameters
    posterior = save(small_fit, tmp_path / "posterior.nc")
    args: list[str] = [name]
    for pname, p in params.items():
        required = getattr(p.default, "default", None) is ...
        is_argument = type(p.default).__name__ == "ArgumentInfo"
        if is_argument and required:
            args.append(str(posterior if pname == "posterior" else tmp_path / "missing.input"))
        elif required:
            args += [f"--{pname.replace('_', '-')}", "1e21"]
    out = tmp_path / "existing.out"
    out.write_bytes(b"precious")
    result = invoke(*args, "--out", out)
    text = one_line_error(result, 2)
    assert "exists; pass --force" in text, text
    assert out.read_bytes() == b"precious"


# ------------------------------------------------------------------ --pooled


@pytest.mark.parametrize("command", ["fit", "report", "backtest"])
def test_pooled_with_an_unknown_name_exits_2_before_sampling(
    command, csv_file, tmp_path, monkeypatch
):
    data = csv_file("N,D,loss\n7e7,1.4e9,3.4\n4e8,8e9,2.95\n")
    monkeypatch.setattr(cli_fitting, "run_fit", lambda *a, **k: pytest.fail("sampled"))
    extra = ["--split", "N<1e8"] if command == "backtest" else []
    out = tmp_path / ("report" if command == "report" else "out.nc")
    result = invoke(command, data, *extra, "--pooled", "E,gamma", "--out", out)
    text = one_line_error(result, 2)
    assert "['gamma'] are not parameters of law 'chinchilla'" in text, text
    assert not out.exists()


def test_pooled_naming_no_parameter_exits_2(csv_file, tmp_path):
    data = csv_file("N,D,loss\n7e7,1.4e9,3.4\n4e8,8e9,2.95\n")
    result = invoke("fit", data, "--pooled", " , ", "--out", tmp_path / "fit.nc")
    assert "names no parameter; omit it to pool every parameter" in one_line_error(result, 2)


def test_fit_with_pooled_stores_it_and_shares_the_other_parameters(synthetic_runs, tmp_path):
    """A real (tiny) fit: only E varies by group; the exponents and coefficients are shared."""
    data = tmp_path / "runs.csv"
    synthetic_runs.to_csv(data, index=False)
    out = tmp_path / "pooled.nc"
    tiny = ("--sampler", "pymc", "--draws", "10", "--tune", "10", "--chains", "2")
    tiny += ("--target-accept", "0.8")
    result = invoke("fit", data, "--groups", "group", "--pooled", "E", *tiny, "--out", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    fitted = load(out)
    assert fitted.config.pooled == ("E",) and fitted.config.groups == "group"
    assert fitted.config.sampler.target_accept == 0.8
    assert fitted.idata.attrs["target_accept"] == 0.8
    post = fitted.posterior
    assert float(abs(post["E_group"].diff("group")).max()) > 0
    for shared in ("alpha", "beta", "log_A", "log_B"):
        spread = post[f"{shared}_group"] - post[shared]
        assert float(abs(spread).max()) == 0.0, shared


# ------------------------------------------------------------------ --format on results


@pytest.fixture(scope="module")
def posterior(small_fit, tmp_path_factory):
    return save(small_fit, tmp_path_factory.mktemp("posterior") / "fit.nc")


def test_forecast_json_holds_the_saved_numbers_and_nothing_else(posterior, tmp_path):
    out = tmp_path / "forecast.nc"
    args = ["forecast", posterior, "--group", "a", "--params", "1e12", "--threshold", "2"]
    result = invoke(*args, "--tokens", "3e13", "--out", out, "--format", "json")
    assert result.exit_code == 0, result.stderr
    records = pd.read_json(io.StringIO(result.stdout), orient="records")  # stdout: data only
    assert f"wrote {out}" in result.stderr
    saved = _idata.dataset_from_netcdf(out).sel(ci_prob=0.9)
    assert records["scenario"].tolist() == [str(s) for s in saved["scenario"].values]
    np.testing.assert_allclose(records["loss_median"], saved["loss_median"], rtol=1e-12)
    np.testing.assert_allclose(records["D_upper"], saved["D_ci"].sel(ci_bound="upper"))
    np.testing.assert_allclose(records["p_loss_below_2"], saved["p_loss_below"].sel(threshold=2))
    assert records.loc[
        records["scenario"] == "D = 3e+13 tokens", "D_median"
    ].item() == pytest.approx(3e13)


def test_exhaustion_csv_and_a_narrow_table_show_the_same_scenarios(posterior, tmp_path):
    out = tmp_path / "exh.nc"
    args = ["exhaustion", posterior, "--group", "a", "--no-trend", "--out", out]
    result = invoke(*args, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    saved = _idata.dataset_from_netcdf(out)
    assert frame["scenario"].tolist() == [
        "compute_optimal",
        "20_tokens_per_param",
        "100_tokens_per_param",
    ]
    np.testing.assert_allclose(frame["p_exhausted"], saved["p_exhausted"])
    np.testing.assert_allclose(frame["D_needed_lower"], saved["D_needed_ci"].sel(ci_bound="lower"))
    narrow = runner.invoke(app, [str(a) for a in (*args, "--force")], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    first_cells = [line.split("│")[1].strip() for line in narrow.stdout.splitlines() if "│" in line]
    for name in frame["scenario"]:  # the issue: "compute_opti…"
        assert name in first_cells, narrow.stdout


# ------------------------------------------------------------------ bad option values

#: A valid value of each required input, so that only the option under test is wrong.
REQUIRED = {
    "posterior": "fit.nc",
    "study": "study.toml",
    "budget": "1e21",
    "split": "N<1e8",
}


def _numeric_options():
    """(command, option) for every int or float option (or list, or None) of every verb."""
    for info in app.registered_commands:
        hints = typing.get_type_hints(info.callback)
        for name, param in inspect.signature(info.callback).parameters.items():
            if type(param.default).__name__ != "OptionInfo":
                continue
            hint = hints[name]  # an optional number (default: by model) is a number too
            hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
            if hint in (int, float, list[int], list[float]):
                decls = [d for d in param.default.param_decls if d.startswith("--")]
                yield info.name, decls[0] if decls else f"--{name.replace('_', '-')}"


def _args_for(command: str) -> list[str]:
    callback = next(i.callback for i in app.registered_commands if i.name == command)
    args = [command]
    for name, param in inspect.signature(callback).parameters.items():
        if getattr(param.default, "default", None) is not ...:
            continue  # optional
        if type(param.default).__name__ == "ArgumentInfo":
            args.append(REQUIRED[name])
        else:
            args += [f"--{name.replace('_', '-')}", REQUIRED[name]]
    return args


NUMERIC = sorted(set(_numeric_options()))


def test_the_bad_value_table_covers_every_verb():
    verbs = {command for command, _ in NUMERIC}
    assert verbs >= {"fit", "report", "exhaustion", "forecast", "suggest", "simulate", "backtest"}
    assert ("forecast", "--params") in NUMERIC and ("exhaustion", "--stock-low") in NUMERIC
    assert len(NUMERIC) >= 35, NUMERIC


@pytest.mark.parametrize(("command", "option"), NUMERIC, ids=[f"{c} {o}" for c, o in NUMERIC])
@pytest.mark.parametrize("value", ["-5", "nan", "inf", "abc"])
def test_a_bad_number_names_its_option_on_one_line(command, option, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*_args_for(command), option, value)
    text = one_line_error(result, 2)
    assert text.startswith(f"error: Invalid value for '{option}'"), text
    assert "see '" in text and f" {command} --help'" in text
    assert list(tmp_path.iterdir()) == []  # refused before anything ran


FORMAT_VERBS = [
    i.name for i in app.registered_commands if "fmt" in inspect.signature(i.callback).parameters
]


def test_every_verb_that_prints_a_table_takes_format():
    assert set(FORMAT_VERBS) == {
        "fit", "inspect", "datasets", "exhaustion", "forecast", "report",
        "sensitivity", "suggest", "backtest",
    }  # fmt: skip


@pytest.mark.parametrize("command", FORMAT_VERBS)
def test_an_unknown_format_is_a_one_line_error(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = one_line_error(invoke(*_args_for(command), "--format", "xml"), 2)
    assert "Invalid value for '--format': must be one of table, csv, json; got 'xml'" in text


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["simulate", "--sizes", "1e8,-2e9"], "--sizes must be comma-separated finite numbers > 0"),
        (["simulate", "--tokens-per-param", "20,x"], "--tokens-per-param must be comma-separated"),
        (["simulate", "--param", "alpha=nan"], "--param takes NAME=VALUE with a finite number"),
        (["simulate", "--noise", "cauchy"], "unknown noise 'cauchy'"),
        (["forecast", "{posterior}", "--group", "zzz"], "--group 'zzz' is not a group of the fit"),
        (["exhaustion", "{posterior}", "--no-trend", "--group", "zzz"], "its groups are a, b"),
        (["report", "--dataset", "gpt3", "--group", "zzz"], "its groups are all"),
        (["exhaustion", "{posterior}", "--no-trend", "--stock-low", "5e14"], "lower < median"),
        (
            ["suggest", "{posterior}", "--budget", "1e21", "--group", "a", "--target", "gamma"],
            "gamma",
        ),
        (["suggest", "{posterior}", "--budget", "1e21", "--group", "a", "--rank-by", "x"], "'x'"),
        (["fit", "--dataset", "gpt3", "--sampler", "stan"], "unknown sampler 'stan'"),
        (["fit", "--dataset", "gpt3", "--likelihood", "cauchy"], "cauchy"),
        (["backtest", "--dataset", "gpt3", "--split", "garbage"], "split 'garbage' is not"),
        (["backtest", "--dataset", "gpt3", "--split", "N<1e9", "--discrepancy", "x"], "'x'"),
        (["report", "--dataset", "gpt3", "--priors", "nope"], "nope"),
    ],
    ids=lambda v: " ".join(v)[:40] if isinstance(v, list) else None,
)
def test_bad_names_and_lists_are_one_line_errors(args, fragment, posterior, tmp_path, monkeypatch):
    """Values the parser cannot judge alone (names, lists, combinations) fail as cleanly."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_fitting, "run_fit", lambda *a, **k: pytest.fail("sampled"))
    text = one_line_error(invoke(*[str(posterior) if a == "{posterior}" else a for a in args]), 2)
    assert fragment in text, text
