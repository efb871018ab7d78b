"""The one interval helper: ETI/HDI layout, numbers, infinite tails, NaN handling."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast.intervals import eti, interval, median, sample_dims, summarise_draws


@pytest.fixture
def draws():
    rng = np.random.default_rng(3)
    return xr.DataArray(
        rng.gamma(2.0, 1.0, size=(2, 400, 3)),
        dims=("chain", "draw", "scenario"),
        coords={"scenario": ["a", "b", "c"]},
        attrs={"units": "nats/token", "long_name": "loss"},
        name="loss",
    )


def test_eti_numbers_match_quantiles(draws):
    flat = draws.values.reshape(-1, 3)
    med, bounds = eti(flat, 0.9, axis=0)
    np.testing.assert_allclose(med, np.median(flat, axis=0), rtol=1e-12)
    np.testing.assert_allclose(bounds, np.quantile(flat, [0.05, 0.95], axis=0).T, rtol=1e-12)
    _, several = eti(flat, [0.5, 0.9], axis=0)
    assert several.shape == (3, 2, 2)
    np.testing.assert_allclose(several[:, 1], bounds, rtol=1e-12)


def test_eti_keeps_infinite_tails_and_skips_nan():
    x = np.array([1.0, 2.0, np.inf, np.inf, np.inf])
    med, (lo, hi) = eti(x, 0.9)
    assert med == np.inf and hi == np.inf and np.isfinite(lo)
    y = np.array([1.0, 2.0, 3.0, np.nan])
    assert np.isnan(eti(y, 0.5)[0])
    med, (lo, hi) = eti(y, 0.5, skipna=True)
    assert med == 2.0 and (lo, hi) == (1.5, 2.5)


@pytest.mark.parametrize("bad", [0.0, 1.0, [0.5, 1.2], []])
def test_eti_rejects_probabilities_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="interval probabilities"):
        eti(np.arange(10.0), bad)


def test_interval_layout_dims_last_and_units(draws):
    ci = interval(draws.transpose("scenario", "draw", "chain"), [0.5, 0.9])
    assert ci.dims == ("scenario", "ci_prob", "ci_bound")
    assert list(ci["ci_bound"].values) == ["lower", "upper"]
    assert ci["ci_prob"].values.tolist() == [0.5, 0.9]
    assert ci.attrs["units"] == "nats/token" and ci.attrs["ci_kind"] == "eti"
    one = interval(draws, 0.9)
    assert one.dims == ("scenario", "ci_bound") and float(one["ci_prob"]) == 0.9
    np.testing.assert_allclose(one, ci.sel(ci_prob=0.9), rtol=1e-12)
    stacked = draws.stack(sample=("chain", "draw"))
    np.testing.assert_allclose(interval(stacked, 0.9), one, rtol=1e-12)
    np.testing.assert_allclose(median(stacked), median(draws), rtol=1e-12)


def _narrowest_window(values, prob):
    """Reference HDI: the narrowest window of sorted draws holding ``prob`` of them."""
    x = np.sort(values)
    inc = int(np.floor(prob * x.size))
    start = int(np.argmin(x[inc:] - x[: x.size - inc]))
    return x[start], x[start + inc]


def test_hdi_is_the_narrowest_window_and_narrower_than_eti(draws):
    hdi = interval(draws, [0.5, 0.9], kind="hdi")
    ci = interval(draws, [0.5, 0.9])
    assert hdi.dims == ci.dims and hdi.attrs["ci_kind"] == "hdi"
    for s in ["a", "b", "c"]:
        values = draws.sel(scenario=s).values.ravel()
        np.testing.assert_allclose(
            hdi.sel(scenario=s, ci_prob=0.9), _narrowest_window(values, 0.9), rtol=1e-12
        )
    width = lambda da: da.sel(ci_bound="upper") - da.sel(ci_bound="lower")  # noqa: E731
    assert (width(hdi) < width(ci)).all()  # gamma draws are skewed


def test_summarise_draws_names_and_errors(draws):
    s = summarise_draws(draws, 0.9, hdi=True)
    assert list(s.data_vars) == ["loss_median", "loss_ci", "loss_hdi"]
    assert s["loss_median"].dims == ("scenario",)
    assert "median" in s["loss_median"].attrs["long_name"]
    with pytest.raises(ValueError, match="kind"):
        interval(draws, 0.9, kind="mode")
    with pytest.raises(ValueError, match="sample"):
        sample_dims(draws.isel(chain=0))
    with pytest.raises(ValueError, match="name"):
        summarise_draws(draws.rename(None), 0.9)
