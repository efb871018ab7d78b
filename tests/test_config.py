from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast import ConfigError, FitConfig, PriorSpec, SamplerConfig
from models.laws import LAWS
from models.priors import PRESETS


def _lawful_presets():
    from models.priors import PRESET_LAWS

    return [(p, law) for p, laws in PRESET_LAWS.items() for law in laws]


@settings(max_examples=100, deadline=None)
@given(
    pair=st.sampled_from(_lawful_presets()),
    groups=st.one_of(st.none(), st.sampled_from(["corpus", "eval_set"])),
    likelihood=st.sampled_from(["normal", "student_t"]),
    draws=st.integers(1, 5000),
    chains=st.integers(1, 8),
    seed=st.integers(0, 2**31),
    sampler=st.sampled_from(["nutpie", "pymc"]),
)
def test_json_round_trip(pair, groups, likelihood, draws, chains, seed, sampler):
    preset, law = pair
    config = FitConfig(
        law=law,
        priors=preset,
        groups=groups,
        likelihood=likelihood,
        sampler=SamplerConfig(sampler=sampler, draws=draws, chains=chains),
        seed=seed,
    )
    again = FitConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.config_hash == config.config_hash
    assert len(config.config_hash) == 16


def test_dict_priors_and_overrides_round_trip():
    from models.priors import required_prior_keys

    priors = {k: PRESETS["weak"][k] for k in required_prior_keys("chinchilla", "student_t")}
    priors["alpha"] = PriorSpec(
        "TruncatedNormal", {"mu": 0.3, "sigma": 0.05, "lower": 0.0, "upper": 1.5}
    )
    config = FitConfig(
        priors=priors, prior_overrides={"E": PriorSpec("HalfNormal", {"sigma": 3.0})}
    )
    again = FitConfig.from_dict(json.loads(config.to_json()))
    assert again == config
    assert again.resolved_priors()["E"].dist == "HalfNormal"
    assert again.resolved_priors()["alpha"].params["mu"] == 0.3


def test_hash_changes_with_any_field():
    base = FitConfig()
    variants = [
        base.replace(law="kaplan_floor", priors="weak"),
        base.replace(priors="besiroglu2024"),
        base.replace(groups="corpus"),
        base.replace(likelihood="normal"),
        base.replace(discrepancy=None),
        base.replace(seed=1),
        base.replace(sampler=SamplerConfig(draws=999)),
    ]
    hashes = {v.config_hash for v in variants} | {base.config_hash}
    assert len(hashes) == len(variants) + 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"law": "chinchila"}, "chinchilla"),
        ({"priors": "hoffman2022"}, "hoffmann2022"),
        ({"likelihood": "cauchy"}, "student_t"),
        ({"seed": 1.5}, "seed"),
        ({"pooled": ("gamma",)}, "alpha"),
    ],
)
def test_unknown_names_fail_loudly(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        FitConfig(**kwargs)


def test_sampler_config_validates():
    with pytest.raises(ConfigError, match="sampler"):
        SamplerConfig(sampler="metropolis")
    with pytest.raises(ConfigError, match="draws"):
        SamplerConfig(draws=0)
    with pytest.raises(ConfigError, match="target_accept"):
        SamplerConfig(target_accept=1.0)
    with pytest.raises(ConfigError, match="low_rank_mass_matrix"):
        SamplerConfig(sampler="pymc", low_rank_mass_matrix=True)
    with pytest.raises(ConfigError, match="unknown FitConfig keys"):
        FitConfig.from_dict({"law": "chinchilla", "prior": "weak"})


@pytest.mark.parametrize(
    ("law", "pooled", "likelihood", "sampler", "n_runs", "accept", "low_rank"),
    [
        ("chinchilla", (), "student_t", "nutpie", 240, 0.9, True),
        ("chinchilla", (), "normal", "nutpie", 24, 0.9, False),  # few runs: diagonal (OLMo)
        ("chinchilla", ("E",), "normal", "nutpie", 240, 0.9, False),  # floors: centred
        ("chinchilla", ("E", "log_A"), "student_t", "nutpie", 240, 0.9, False),  # eta_log_A
        ("chinchilla", ("E", "log_A"), "normal", "nutpie", 240, 0.99, False),  # plain
        ("chinchilla", ("alpha",), "student_t", "nutpie", 240, 0.9, False),  # starts low
        ("chinchilla", ("alpha",), "normal", "nutpie", 240, 0.99, False),  # exponent funnel
        ("chinchilla_broken", (), "student_t", "nutpie", 240, 0.9, False),  # centre, diagonal
        ("chinchilla_broken", ("E", "alpha_ratio"), "student_t", "nutpie", 95, 0.9, False),
        ("chinchilla_broken", ("E", "alpha_ratio"), "normal", "nutpie", 95, 0.99, False),
        ("data_constrained", (), "student_t", "nutpie", 95, 0.99, False),
        ("kaplan_floor", (), "student_t", "nutpie", 240, 0.99, False),  # sampled plainly
        ("chinchilla", (), "normal", "pymc", 240, 0.9, False),
    ],
)
def test_sampler_settings_are_chosen_by_model(
    law, pooled, likelihood, sampler, n_runs, accept, low_rank
):
    config = SamplerConfig(sampler=sampler)
    resolved = config.resolved(law=law, pooled=pooled, n_runs=n_runs, likelihood=likelihood)
    assert (resolved.target_accept, resolved.low_rank_mass_matrix) == (accept, low_rank)
    # an explicit choice always wins
    explicit = SamplerConfig(target_accept=0.8, low_rank_mass_matrix=False)
    chosen = explicit.resolved(law="chinchilla", pooled=())
    assert (chosen.target_accept, chosen.low_rank_mass_matrix) == (0.8, False)


def test_every_law_has_a_weak_config():
    for law in LAWS:
        FitConfig(law=law, priors="weak")


def test_default_model_is_student_t_with_the_compute_discrepancy():
    from forecast.config import DEFAULT_MODEL, PLAIN_MODEL

    config = FitConfig()
    assert (config.likelihood, config.discrepancy) == ("student_t", "compute")
    assert {k: getattr(config, k) for k in DEFAULT_MODEL} == DEFAULT_MODEL
    plain = FitConfig(**PLAIN_MODEL)
    assert (plain.likelihood, plain.discrepancy) == ("normal", None)
    assert "nu" not in plain.resolved_priors()
    assert config.resolved_priors()["nu"].dist == "LogNormal"


def test_config_written_before_the_default_changed_reads_as_without_discrepancy():
    # Files written before discrepancy="compute" became the default left the key out
    # when it was None; they must not silently gain the discrepancy on load.
    data = FitConfig(likelihood="normal", discrepancy=None).to_dict()
    assert data["discrepancy"] is None
    del data["discrepancy"]
    assert FitConfig.from_dict(data).discrepancy is None
    legacy = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    assert FitConfig.from_dict(data).config_hash == legacy  # their stored hash still matches
    assert FitConfig.from_dict(FitConfig().to_dict()) == FitConfig()
