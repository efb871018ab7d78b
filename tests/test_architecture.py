"""Enforce the layout and API rules of CONTRIBUTING.md §1–2; do not weaken them to land a change."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import forecast

ROOT = Path(__file__).resolve().parents[1]
MODELS_ALLOWED = {"numpy", "scipy", "pytensor", "pymc", "models", "__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names


def _modules(package: str) -> list[Path]:
    """Every module of a package, its subpackages included (forecast/data/, forecast/cli/ ...)."""
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    """The path from the repository root, ``forecast/plots/fit.py``: names repeat across folders."""
    return path.relative_to(ROOT).as_posix()


def _models_modules():
    return _modules("models")


@pytest.mark.parametrize("path", _models_modules(), ids=_rel)
def test_models_is_math_only(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert _stdlib(name) or top in MODELS_ALLOWED, f"{path.name} imports {name}"
    text = path.read_text()
    for banned in ("open(", "os.environ", "read_csv", "to_netcdf", "plt."):
        assert banned not in text, f"{path.name} uses {banned}"


def _forecast_modules():
    return _modules("forecast")


def test_the_walk_reaches_subpackages():
    """The rules below see the modules of forecast/data/, studies/, plots/ and cli/ too."""
    seen = {_rel(p) for p in _forecast_modules()}
    for module in ("data/runs.py", "studies/backtest.py", "plots/fit.py", "cli/fitting.py"):
        assert f"forecast/{module}" in seen, module
    assert "models/laws/chinchilla.py" in {_rel(p) for p in _models_modules()}


@pytest.mark.parametrize("path", _forecast_modules(), ids=_rel)
def test_only_idata_module_imports_arviz(path):
    imports = _imports(path)
    uses_arviz = any(n.split(".")[0] == "arviz" for n in imports)
    assert not uses_arviz or _rel(path) == "forecast/_idata.py", f"{_rel(path)} imports arviz"
    text = path.read_text()
    if _rel(path) != "forecast/_idata.py":
        pattern = r"\baz\.|(?<!_idata)\.(to_netcdf|from_netcdf|add_groups)\("
        hits = [m.group(0) for m in re.finditer(pattern, text)]
        assert not hits, f"{_rel(path)} uses InferenceData API {hits}"


@pytest.mark.parametrize("path", _forecast_modules(), ids=_rel)
def test_only_fit_module_samples(path):
    """forecast/fit.py samples; compiled.py, its model cache, may compile but never samples."""
    text = path.read_text()
    if _rel(path) != "forecast/fit.py":
        calls = ["pm.sample", "nutpie.sample", "sample_prior_predictive"]
        calls += ["sample_posterior_predictive"]
        if _rel(path) != "forecast/compiled.py":
            calls.append("compile_pymc_model")
        for call in calls:
            assert call not in text, f"{_rel(path)} calls {call}"


@pytest.mark.parametrize("path", _models_modules(), ids=_rel)
def test_models_never_imports_forecast(path):
    """No import of forecast at any depth: top level, inside a function, or relative-free."""
    hits = sorted(n for n in _imports(path) if n.split(".")[0] == "forecast")
    assert not hits, f"{_rel(path)} imports {hits}"
    text = path.read_text()
    dynamic = re.findall(r"(?:import_module|__import__)\(\s*[\"']forecast\b", text)
    assert not dynamic, f"{_rel(path)} imports forecast dynamically"


def test_importing_models_loads_no_forecast_module():
    """At run time too: importing every models module leaves ``forecast`` unimported."""
    names = [
        _rel(p)[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        for p in _models_modules()
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'forecast'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", f"importing models loaded {out.stdout.strip()}"


def _public_functions():
    for name in forecast.__all__:
        obj = getattr(forecast, name)
        if inspect.isfunction(obj):
            yield name, obj


def _documents(doc: str, name: str) -> bool:
    """Whether ``name`` appears in ``doc`` as a whole word, not inside another word."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", doc) is not None


def test_documents_matches_whole_words():
    """A one-letter parameter ``s`` is not documented by the "s" of "Returns"."""
    assert not _documents("Returns\n-------\nfloat\n    The loss.", "s")
    assert _documents("Parameters\n----------\ns : float\n    The scale.", "s")
    assert not _documents("ci_prob_max : float", "ci_prob")


@pytest.mark.parametrize("name, func", list(_public_functions()))
def test_public_functions_have_no_kwargs_and_document_every_parameter(name, func):
    sig = inspect.signature(func)
    doc = inspect.getdoc(func) or ""
    assert "Parameters" in doc or not sig.parameters, f"{name} has no Parameters section"
    assert "Returns" in doc, f"{name} documents no return"
    for param in sig.parameters.values():
        assert param.kind is not inspect.Parameter.VAR_KEYWORD, f"{name} takes **{param.name}"
        assert _documents(doc, param.name), f"{name} does not document {param.name}"
    positional = [
        p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert len(positional) <= 3, f"{name} takes {len(positional)} positional arguments"


def test_all_matches_the_documented_api():
    """The verbs and types CONTRIBUTING.md §2 names are exported."""
    style_api = {
        "load_runs",
        "fit",
        "diagnostics",
        "predict",
        "save",
        "load",
        "Fit",
        "FitConfig",
        "PRESETS",
    }
    assert style_api <= set(forecast.__all__)
    for name in forecast.__all__:
        assert hasattr(forecast, name), name


def test_modules_stay_small():
    for path in _forecast_modules() + _models_modules():
        lines = len(path.read_text().splitlines())
        assert lines <= 650, f"{_rel(path)} has {lines} lines; split it by verb"
