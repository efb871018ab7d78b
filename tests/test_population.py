"""The population meta-model and its stored preset (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import forecast  # noqa: F401  (registers the stored "population" preset)
from forecast import FitConfig, load_dataset
from forecast.config import DEFAULT_MODEL, PLAIN_MODEL
from forecast.errors import DataError
from forecast.population import (
    build_population,
    family_summary,
    load_preset,
    published_observations,
    write_preset,
)
from models.errors import ConfigError
from models.population import build_population_model, new_family_draws
from models.priors import PRESET_LAWS, PRESETS, required_prior_keys, resolve_priors


def test_preset_loads_by_name():
    priors = resolve_priors("population", "chinchilla")
    assert list(priors) == list(required_prior_keys("chinchilla"))
    assert PRESET_LAWS["population"] == ("chinchilla", "chinchilla_broken")
    assert priors["alpha"].dist == "LogNormal" and priors["log_A"].dist == "Normal"
    assert priors["sigma"] == PRESETS["weak"]["sigma"]
    assert FitConfig(priors="population").priors == "population"
    resolve_priors("population", "chinchilla_broken", likelihood="student_t")


def test_stored_preset_matches_hash_and_names_its_sources():
    priors, info = load_preset()
    assert priors == {k: PRESETS["population"][k] for k in priors}
    assert {"chinchilla", "gadre_c4", "olmo_ladder", "porian2024"} <= set(info["families"])
    assert "besiroglu2024" in info["fits"] and "runs:gpt3" in info["fits"]
    # rebuilt from the 15-paper table (issue 18 item 1)
    assert {"gadre2024_c4", "shen2024_llama", "beck2025_xlstm_isoflop"} <= set(info["fits"])
    assert "chinchilla" in priors["E"].source and "besiroglu2024" in priors["E"].source
    # the predictive is a proper, finite prior centred on plausible exponents
    mu = np.exp(priors["alpha"].params["mu"])
    assert 0.1 < mu < 0.5 and 0 < priors["alpha"].params["sigma"] < 1


def test_published_rows_enter_by_kind():
    obs = published_observations(load_dataset("published_fits"))
    kinds = obs.groupby("source")["kind"].apply(set)
    # allocation-only rows observe a = beta/(alpha+beta) of their family
    assert kinds["shen2024_llama"] == kinds["hoffmann2022_a1"] == {"a_alloc"}
    # full Chinchilla rows observe the five family parameters, not their a_alloc again
    full = {"log_alpha", "log_beta", "log_E", "a_ref", "b_ref"}
    assert kinds["mcleish2025_gemstones_a3_hot"] == kinds["besiroglu2024"] == full
    # Gadre et al. Table 6: only the printed E (nats/token) is used
    assert kinds["gadre2024_c4"] == {"log_E"}
    assert "deepseek2024_current" in kinds and kinds["deepseek2024_current"] == {"a_alloc"}


def test_hash_mismatch_is_refused(tmp_path):
    priors, info = load_preset()
    write_preset(priors, info, tmp_path)
    assert load_preset(tmp_path)[0] == priors
    path = tmp_path / "population.json"
    body = json.loads(path.read_text())
    body["priors"]["alpha"]["params"]["mu"] = -1.0
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    with pytest.raises(DataError, match="sha256 mismatch"):
        load_preset(tmp_path)


def test_published_observations_follow_the_unit_rules():
    fits = pd.DataFrame(
        {
            "fit_id": ["full", "bpb", "alloc"],
            "family": ["f1", "f2", "f3"],
            "E": [1.8, 0.5, np.nan],
            "A": [400.0, 10.0, np.nan],
            "B": [2000.0, 10.0, np.nan],
            "alpha": [0.34, 0.3, np.nan],
            "beta": [0.36, 0.3, np.nan],
            "E_se": [0.03, np.nan, np.nan],
            "a_alloc": [0.51, 0.5, 0.6],
            "a_alloc_se": [np.nan, np.nan, np.nan],
            "a_alloc_lo": [np.nan, np.nan, 0.5],
            "a_alloc_hi": [np.nan, np.nan, 0.7],
            "extra": ["", "", "95% interval"],
            "loss_unit": ["nats/token", "bits/byte", "nats/token"],
        }
    )
    obs = published_observations(fits)
    kinds = obs.groupby("family")["kind"].apply(set).to_dict()
    assert kinds["f1"] == {"log_alpha", "log_beta", "log_E", "a_ref", "b_ref"}
    assert kinds["f2"] == {"log_alpha", "log_beta"}  # no floor or coefficient in bits/byte
    assert kinds["f3"] == {"a_alloc"}
    se_e = obs.query("family == 'f1' and kind == 'log_E'")["se"].item()
    assert se_e == pytest.approx(0.03 / 1.8)
    assert obs.query("family == 'f3'")["se"].item() == pytest.approx(0.2 / (2 * 1.96))


def _small_obs():
    return pd.DataFrame(
        {
            "family": ["a", "a", "b", "b", "c"],
            "kind": ["log_alpha", "log_beta", "log_alpha", "log_E", "a_alloc"],
            "value": [np.log(0.34), np.log(0.36), np.log(0.2), np.log(1.8), 0.5],
            "se": [0.05, 0.05, 0.1, 0.02, 0.03],
            "source": ["x", "x", "y", "y", "z"],
        }
    )


def test_rebuild_is_deterministic():
    one = build_population(_small_obs(), draws=60, tune=60, chains=1, seed=3)
    two = build_population(_small_obs(), draws=60, tune=60, chains=1, seed=3)
    assert one == two
    assert one[1]["families"] == ["a", "b", "c"] and one[1]["fits"] == ["x", "y", "z"]


def test_meta_model_rejects_bad_input():
    with pytest.raises(ConfigError, match="family indices"):
        build_population_model(np.array([2]), np.array([0]), np.array([0.1]), np.array([1.0]), 2)
    with pytest.raises(ConfigError, match="standard errors"):
        build_population_model(np.array([0]), np.array([0]), np.array([0.1]), np.array([0.0]), 1)


def test_new_family_draws_map_to_law_parameters():
    mu = np.tile([np.log(0.3), np.log(0.3), np.log(2.0), -1.0, -1.0], (4, 1))
    d = new_family_draws(mu, np.zeros((4, 5)), seed=0)
    assert np.allclose(d["alpha"], 0.3) and np.allclose(d["a_alloc"], 0.5)
    assert np.allclose(d["log_A"], -1.0 + 0.3 * np.log(1e9))


def test_family_summary_fits_with_the_default_model(monkeypatch):
    # the summaries behind the preset must come from the model a user's fit gets
    import importlib
    import types

    import xarray as xr

    seen = []

    def fake_fit(runs, **kwargs):
        seen.append({k: kwargs.get(k) for k in ("likelihood", "discrepancy", "priors")})
        rng = np.random.default_rng(0)
        draws = {
            "alpha": 0.3 + 0.01 * rng.standard_normal(40),
            "beta": 0.3 + 0.01 * rng.standard_normal(40),
            "E": 1.8 + 0.01 * rng.standard_normal(40),
            "log_A": 6.0 + 0.1 * rng.standard_normal(40),
            "log_B": 7.0 + 0.1 * rng.standard_normal(40),
        }
        post = xr.Dataset({k: (("chain", "draw"), v.reshape(2, 20)) for k, v in draws.items()})
        return types.SimpleNamespace(posterior=post)

    # the module, not the function that forecast re-exports under the same name
    monkeypatch.setattr(importlib.import_module("forecast.fit"), "fit", fake_fit)
    runs = pd.DataFrame({"N": [1e8, 1e9], "D": [2e9, 2e10], "loss": [3.0, 2.5]})
    out = family_summary(runs, "x")
    family_summary(runs, "x", model=PLAIN_MODEL)
    assert seen[0] == {**DEFAULT_MODEL, "priors": "weak"}
    assert seen[1] == {**PLAIN_MODEL, "priors": "weak"}
    assert list(out["kind"]) == ["log_alpha", "log_beta", "log_E", "a_ref", "b_ref"]
    assert np.isclose(out.set_index("kind").loc["log_E", "value"], np.log(1.8), atol=0.01)
