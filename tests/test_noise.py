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
