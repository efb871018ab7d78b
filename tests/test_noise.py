"""The one observation model of log loss (models.noise), on numpy and pytensor alike."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest

from models import build, noise
from models.laws import get_law

CENTRES = {"log_N": np.log(1e9), "log_D": np.log(2e10)}


def test_observation_sd_adds_discrepancy_and_measurement_in_quadrature():
    log_N, log_D = np.log([1e9, 1e11]), np.log([2e10, 2e12])  # 0 and 4 decades of compute
    sd = noise.observation_sd(
        0.01, tau=0.02, log_N=log_N, log_D=log_D, centres=CENTRES, rel_sd=0.005
    )
    np.testing.assert_allclose(sd, np.sqrt(0.01**2 + (0.02 * np.array([0, 4])) ** 2 + 0.005**2))
    assert noise.observation_sd(0.01) == 0.01  # no terms: sigma itself, not sqrt(sigma**2)
    tensor = noise.observation_sd(
        pt.as_tensor(0.01), tau=0.02, log_N=log_N, log_D=log_D, centres=CENTRES, xp=pt
    )
    np.testing.assert_allclose(tensor.eval(), np.sqrt(0.01**2 + (0.02 * np.array([0, 4])) ** 2))
    with pytest.raises(ValueError, match="tau"):
        noise.observation_sd(0.01, tau=0.02)
    assert build.discrepancy_sd is noise.discrepancy_sd  # still importable from build


def test_standard_noise_is_the_generator_stream():
    nu = np.array([3.0, 30.0])
    draws = noise.standard_noise(np.random.default_rng(1), (4, 2), nu)
    np.testing.assert_array_equal(draws, np.random.default_rng(1).standard_t(nu, size=(4, 2)))
    normal = noise.standard_noise(np.random.default_rng(1), 5)
    np.testing.assert_array_equal(normal, np.random.default_rng(1).standard_normal(5))
    assert noise.noise_variance(2.0, 4.0) == pytest.approx(8.0)
    assert noise.noise_variance(2.0, 1.0) == pytest.approx(4.0 * 2.1 / 0.1)  # nu clipped
    np.testing.assert_allclose(noise.population_sigma(np.array([[3.0, 4.0]])), [np.sqrt(12.5)])


def test_new_group_is_the_builders_group_level_for_one_more_group():
    law = get_law("chinchilla")
    population = {"E": 1.8, "alpha": 0.34, "beta": 0.28, "log_A_c": 1.0, "log_B_c": 0.5}
    population |= {"log_A": 9.0, "log_B": 8.0}
    scales = dict.fromkeys(law.params, 0.1)
    z = dict(zip(law.params, [0.5, -1.0, 2.0, 0.3, -0.2], strict=True))
    out = noise.new_group_params(
        law, population, scales=scales, z=z, centres=CENTRES, pooled=law.params
    )
    alpha = 0.34 * np.exp(0.1 * 2.0)
    assert out["alpha"] == pytest.approx(alpha)
    assert out["E"] == pytest.approx(1.8 * np.exp(0.05))
    assert out["log_A"] == pytest.approx(1.0 + 0.1 * -1.0 + alpha * CENTRES["log_N"])
    unpooled = noise.new_group_params(
        law, population, scales=scales, z=z, centres=CENTRES, pooled=("E",)
    )
    assert unpooled["log_A"] == 9.0 and unpooled["alpha"] == 0.34


def test_student_t_constant_is_scipys_without_gammaln():
    from scipy import special, stats

    nu = np.geomspace(0.05, 1000.0, 4001)
    expected = special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * np.log(nu * np.pi)
    np.testing.assert_allclose(noise.student_t_log_normaliser(nu), expected, rtol=0, atol=2e-12)
    tensor = noise.student_t_log_normaliser(pt.as_tensor(nu), xp=pt).eval()
    np.testing.assert_allclose(tensor, expected, rtol=0, atol=2e-12)
    gen = np.random.default_rng(4)
    y, mean, sd = gen.normal(size=50), gen.normal(size=50), gen.uniform(0.01, 1, 50)
    density = noise.log_density(pt.as_tensor(y), mean, sd, pt.as_tensor(nu[:4000:80]), xp=pt)
    np.testing.assert_allclose(
        density.eval(), stats.t.logpdf(y, nu[:4000:80], mean, sd), rtol=0, atol=1e-11
    )
    assert build.log_density is noise.log_density  # still importable from build


def _logp_cache_key(runs: str, groups: str | None = None) -> str | None:
    """Numba disk-cache key of the default model's compiled log density and gradient."""
    import pandas as pd
    import pytensor
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    from forecast.compiled import model_options
    from forecast.config import FitConfig
    from forecast.fit import model_data

    config = FitConfig(groups=groups)  # every parameter pooled across the groups
    table = pd.read_csv(runs)
    data = model_data(table[["N", "D", "loss", *([groups] if groups else [])]], config)
    model = build.build_model(data, **model_options(config, len(data.groups)))
    logp = model.logp()
    function = pytensor.function(
        model.value_vars, [logp, *pytensor.grad(logp, model.value_vars)], mode="NUMBA"
    )
    return numba_funcify_and_cache_key(function.maker.fgraph)[1]


@pytest.mark.parametrize("groups", [None, "corpus"], ids=["flat", "every_parameter_pooled"])
def test_default_model_compiles_to_one_disk_cache_key_in_every_process(groups, tmp_path):
    """The Student-t model's compiled log density is cacheable, under the same key each time.

    It was not cacheable (digamma in the gradient); then, written without ``gammaln``, its
    key changed between processes (the number of runs taken from one of several equal
    shapes in a process-dependent order), and every process compiled it again; so did the
    key of a model pooling every parameter (the zero-sum offsets' equal unknown lengths)
    until the group-level parameters got a static length. Two processes with different
    string hashing (``PYTHONHASHSEED``) must give the key of this one.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    if groups:  # the Gadre runs on C4 validation text, three corpora
        from forecast import load_dataset

        runs = tmp_path / "gadre.csv"
        load_dataset("gadre2024").query("eval_set == 'c4_val'").to_csv(runs, index=False)
    else:
        runs = Path(__file__).parent / "data" / "chinchilla.csv"
    key = _logp_cache_key(str(runs), groups)
    assert key is not None
    code = (
        "from tests.test_noise import _logp_cache_key; "
        f"print(_logp_cache_key({str(runs)!r}, {groups!r}))"
    )
    root = Path(__file__).parent.parent
    for seed in ("0", "1"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert out.stdout.strip().splitlines()[-1] == key
