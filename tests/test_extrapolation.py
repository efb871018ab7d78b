"""How far a forecast extrapolates beyond its runs, and the ExtrapolationWarning."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from forecast import ExtrapolationWarning, allocate, forecast
from forecast.extrapolation import (
    SPAN_DECADES,
    assess,
    decades_beyond,
    published_optimal_tokens_per_param,
)

#: Hand-made runs: N 1e8..1e9 parameters at 5 and 80 tokens/param.
RUNS = pd.DataFrame({"N": [1e8, 1e8, 1e9, 1e9], "D": [5e8, 8e9, 5e9, 8e10]})
THETA = {"alpha": np.full((1, 4, 1), 0.16), "beta": np.full((1, 4, 1), 0.25)}


def _assess(N, ratio, optimal):
    draws = np.broadcast_to(np.asarray(optimal, float).reshape(1, -1, 1), (1, 4, 1))
    return assess(
        RUNS,
        names=["point"],
        N=np.full((1, 4, 1), N),
        tokens_per_param=np.full((1, 4, 1), ratio),
        optimal_tokens_per_param=draws,
        theta=THETA,
    )


def test_decades_beyond_is_signed_and_zero_inside():
    assert decades_beyond(1e13, 1e8, 1e9) == pytest.approx(4.0)
    assert decades_beyond(1e6, 1e8, 1e9) == pytest.approx(-2.0)
    assert decades_beyond(3e8, 1e8, 1e9) == 0.0


def test_distances_on_hand_made_runs():
    # runs: C = 6 N D from 6*1e8*5e8 = 3e17 to 6*1e9*8e10 = 4.8e20; tokens/param 5..80
    point = _assess(1e12, 0.5, [20.0] * 4).points[0]
    assert point["N_decades"] == pytest.approx(3.0)
    assert point["C"] == pytest.approx(6 * 1e12 * 0.5e12)
    assert point["C_decades"] == pytest.approx(np.log10(3e24 / 4.8e20))
    assert point["tokens_per_param_decades"] == pytest.approx(-1.0)  # 0.5 vs the smallest 5
    inside = _assess(3e8, 20.0, [20.0] * 4)
    assert inside.points[0]["N_decades"] == 0.0 and inside.warnings == []
    assert inside.runs["tokens_per_param"] == [5.0, 80.0]


def test_published_range_comes_from_the_chinchilla_form_fits():
    out = published_optimal_tokens_per_param(1e13)
    # Besiroglu et al. 2024 at 10T: about 14 tokens/param; Hoffmann's approach 3 (alpha >
    # beta) gives far more at this N
    assert 10 < out["fits"]["besiroglu2024"] < 20
    assert out["fits"]["hoffmann2022_a3_rounded"] > 100
    assert out["range"][0] <= 14 <= out["range"][1]
    assert "kaplan2020_LN" not in out["fits"]  # no A, B: no ratio


def test_warns_outside_the_evidence_and_names_drivers_and_fix():
    reach = _assess(1e13, 0.2, [0.2] * 4)  # the README case: 0.2 tokens/param at 1e13
    (message,) = reach.warnings
    assert "outside the" in message and "alpha/beta posterior: alpha 0.160" in message
    assert "a = beta/(alpha+beta) 0.610" in message
    assert "gpt3" in message and "priors='besiroglu2024'" in message
    with pytest.warns(ExtrapolationWarning, match="compute-optimal tokens/param"):
        reach.warn()
    attrs = reach.attrs()
    assert json.loads(attrs["extrapolation"])["warnings"] == [message]


def test_runs_that_already_reach_the_suggested_families_get_another_fix():
    # a joint fit that holds GPT-3 (175B) cannot be told to add GPT-3
    large = pd.concat([RUNS, pd.DataFrame({"N": [1.75e11], "D": [3e11]})], ignore_index=True)
    draws = np.broadcast_to(np.full((1, 4, 1), 0.2), (1, 4, 1))
    out = assess(
        large,
        names=["point"],
        N=np.full((1, 4, 1), 1e13),
        tokens_per_param=np.full((1, 4, 1), 0.2),
        optimal_tokens_per_param=draws,
        theta=THETA,
    )
    (message,) = out.warnings
    assert "gpt3" not in message and "the runs already reach N = 1.75e+11" in message
    assert "pool only E, log_A and log_B" in message and "priors='besiroglu2024'" in message


def test_warns_on_a_wide_interval_even_with_a_plausible_median():
    wide = _assess(1e12, 20.0, [0.5, 10.0, 30.0, 5000.0])
    assert len(wide.warnings) == 1 and f"more than {SPAN_DECADES:g}" in wide.warnings[0]
    narrow = _assess(1e12, 20.0, [15.0, 18.0, 22.0, 25.0])
    assert narrow.warnings == []


def test_forecast_near_the_runs_does_not_warn(small_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        summary = forecast(small_fit, N=1e10, group="a", seed=3)
        frontier = allocate(small_fit, C=1e21, group="a")
    assert summary.attrs["extrapolation_warning"] == ""
    point = json.loads(summary.attrs["extrapolation"])["points"][0]
    assert point["N_decades"] == pytest.approx(1.0)
    assert "+1.00 decades of N" in summary.attrs["extrapolation_summary"]
    assert json.loads(frontier.attrs["extrapolation"])["points"][0]["name"] == "C = 1e+21 FLOP"


def test_forecast_far_from_the_runs_warns_and_records_it(small_fit):
    with pytest.warns(ExtrapolationWarning, match="alpha/beta posterior") as record:
        summary = forecast(small_fit, N=1e13, group="a", seed=3)
    assert len(record) == 1  # one warning for all scenarios at the same N
    assert summary.attrs["extrapolation_warning"] == str(record[0].message)
    point = json.loads(summary.attrs["extrapolation"])["points"][0]
    assert point["N_decades"] == pytest.approx(4.0) and point["C_decades"] > 6
