"""The decomposition of the predictive variance (forecast.variance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.predict import predict
from forecast.variance import variance_sources


def _held_out(group: str) -> pd.DataFrame:
    return pd.DataFrame({"N": [3e9, 1e10], "D": [6e10, 2e11], "group": [group, group]})


@pytest.mark.parametrize("group", ["a", "unseen"])
def test_total_is_the_variance_of_the_predictive(small_fit, group):
    runs = _held_out(group)
    ds = variance_sources(small_fit, runs, seed=3)
    v = ds["variance"]
    np.testing.assert_allclose(
        v.sel(source="total"),
        v.sel(source="parameters") + v.sel(source="noise") + v.sel(source="discrepancy"),
    )
    # no discrepancy term in this fit
    np.testing.assert_allclose(v.sel(source="discrepancy"), 0.0, atol=1e-15)
    # the mean curve's variance and one new run's, from the draws predict gives
    key = None if group == "unseen" else group
    mean = predict(small_fit, runs["N"], runs["D"], group=key, seed=3)
    np.testing.assert_allclose(
        np.log(mean).var(("chain", "draw")).values, v.sel(source="parameters").values, rtol=1e-6
    )
    new = predict(small_fit, runs["N"], runs["D"], group=key, include_noise=True, seed=3)
    empirical = np.log(new).var(("chain", "draw")).values
    np.testing.assert_allclose(empirical, v.sel(source="total").values, rtol=0.2)
    assert (ds["share"].sel(source="total") == 1).all()


def test_each_parameter_explains_part_of_the_parameter_variance(small_fit):
    far = pd.DataFrame({"N": [1e9, 1e13], "D": [2e10, 2e14], "group": ["a", "a"]})
    v = variance_sources(small_fit, far)["variance"]
    parts = v.sel(source=["E", "log_A", "alpha", "log_B", "beta"])
    # Var(E[f | p]) is never negative and, up to the binning's small upward bias, never
    # more than the variance of the mean curve
    assert (parts >= 0).all()
    assert (parts <= 1.05 * v.sel(source="parameters")).all()
    # far beyond the data the parameters, not the noise, set the width; the floor and the
    # exponent of N each explain a large part of it
    far_run = v.isel(run=1)
    assert far_run.sel(source="parameters") > far_run.sel(source="noise")
    assert far_run.sel(source="E") > 0.3 * far_run.sel(source="parameters")
    assert far_run.sel(source="alpha") > 0.3 * far_run.sel(source="parameters")


def test_discrepancy_adds_variance_far_from_the_data(synthetic_runs, discrepancy_fit):
    result = discrepancy_fit
    near = synthetic_runs.iloc[[0]][["N", "D", "group"]]
    far = pd.DataFrame({"N": [1e13], "D": [2e14], "group": [near["group"].iloc[0]]})
    v_near = variance_sources(result, near)["variance"].sel(source="discrepancy")
    v_far = variance_sources(result, far)["variance"].sel(source="discrepancy")
    assert v_far.item() > 10 * v_near.item()


def test_a_stack_is_decomposed_per_component(small_fit):
    from forecast.averaged import Stack

    with pytest.raises(TypeError, match="component"):
        variance_sources(object.__new__(Stack), _held_out("a"))
