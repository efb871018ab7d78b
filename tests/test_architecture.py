"""Enforce the layout and API rules of CONTRIBUTING.md §1–2; do not weaken them to land a change."""

from __future__ import annotations

import ast
import inspect
import re
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
    import sys

    return name.split(".")[0] in sys.stdlib_module_names


@pytest.mark.parametrize("path", sorted((ROOT / "models").rglob("*.py")), ids=lambda p: p.name)
def test_models_is_math_only(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert _stdlib(name) or top in MODELS_ALLOWED, f"{path.name} imports {name}"
    text = path.read_text()
    for banned in ("open(", "os.environ", "read_csv", "to_netcdf", "plt."):
        assert banned not in text, f"{path.name} uses {banned}"


def _forecast_modules():
    return sorted((ROOT / "forecast").glob("*.py"))


@pytest.mark.parametrize("path", _forecast_modules(), ids=lambda p: p.name)
def test_only_idata_module_imports_arviz(path):
    imports = _imports(path)
    uses_arviz = any(n.split(".")[0] == "arviz" for n in imports)
    assert not uses_arviz or path.name == "_idata.py", f"{path.name} imports arviz"
    text = path.read_text()
    if path.name != "_idata.py":
        pattern = r"\baz\.|(?<!_idata)\.(to_netcdf|from_netcdf|add_groups)\("
        hits = [m.group(0) for m in re.finditer(pattern, text)]
        assert not hits, f"{path.name} uses InferenceData API {hits}"


@pytest.mark.parametrize("path", _forecast_modules(), ids=lambda p: p.name)
def test_only_fit_module_samples(path):
    """fit.py samples; compiled.py, its model cache, may compile but never samples."""
    text = path.read_text()
    if path.name != "fit.py":
        calls = ["pm.sample", "nutpie.sample", "sample_prior_predictive"]
        calls += ["sample_posterior_predictive"]
        if path.name != "compiled.py":
            calls.append("compile_pymc_model")
        for call in calls:
            assert call not in text, f"{path.name} calls {call}"


@pytest.mark.parametrize("path", sorted((ROOT / "models").rglob("*.py")), ids=lambda p: p.name)
def test_models_never_imports_forecast(path):
    assert not any(n.split(".")[0] == "forecast" for n in _imports(path))


def _public_functions():
    for name in forecast.__all__:
        obj = getattr(forecast, name)
        if inspect.isfunction(obj):
            yield name, obj


@pytest.mark.parametrize("name, func", list(_public_functions()))
def test_public_functions_have_no_kwargs_and_document_every_parameter(name, func):
    sig = inspect.signature(func)
    doc = inspect.getdoc(func) or ""
    assert "Parameters" in doc or not sig.parameters, f"{name} has no Parameters section"
    assert "Returns" in doc, f"{name} documents no return"
    for param in sig.parameters.values():
        assert param.kind is not inspect.Parameter.VAR_KEYWORD, f"{name} takes **{param.name}"
        assert param.name in doc, f"{name} does not document {param.name}"
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
    for path in list((ROOT / "forecast").glob("*.py")) + list((ROOT / "models").rglob("*.py")):
        lines = len(path.read_text().splitlines())
        assert lines <= 650, f"{path.name} has {lines} lines; split it by verb"
