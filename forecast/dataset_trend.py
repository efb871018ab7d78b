r"""Fit the trend of the largest models' training-set size against publication date.

:func:`fit_dataset_trend` fits the Student-t log-linear model of :mod:`models.trend` to a
published-models table (e.g. ``load_dataset("epoch_notable")``) and returns its posterior
as a plain ``xr.Dataset``, so the fit can be cached and passed to
:func:`forecast.exhaustion.exhaustion` (``trend=``), which turns it into the year the
largest models' training sets reach the stock of human text.

Choices, and why
----------------
* **Subset.** Models flagged ``frontier`` by Epoch AI, published since 2018 (the
  transformer LM era; before that, word-level RNN benchmarks on WikiText/PTB with hundreds
  of epochs follow another trend). ``"top3"`` (the three largest per calendar year) and
  ``"all"`` show the effect of the choice: on the bundled snapshot the least-squares
  growth is 2.2x/yr (frontier), 2.1x/yr (top3) and 3.3x/yr (all language models).
* **Quantity.** ``D``, tokens seen (repeats included), because the stock of Villalobos et
  al. (2024) is an *effective* stock that already credits a few epochs of repeated data;
  ``quantity="dataset_tokens"`` fits unique dataset size instead (2.9x/yr, frontier).
* **Centring year** :math:`t_0`: the mean publication year of the selected models,
  rounded to 0.1, so intercept and slope are nearly uncorrelated.

References
----------
Villalobos et al. 2024, arXiv:2211.04325v2; Epoch AI (2025), "Data on Notable AI Models".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import SamplerConfig
from forecast.diagnostics import check_convergence, summary_attrs
from forecast.errors import ConfigError, DataError
from forecast.fit import package_versions, sample_model
from forecast.intervals import eti
from forecast.units import CI_PROB
from models.trend import TREND_PRIORS, build_trend_model

__all__ = ["TREND_SAMPLER", "fit_dataset_trend", "select_trend_rows"]

#: Sampler of the trend fit: a 4-parameter model, cheap to sample well.
TREND_SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)
TREND_SUBSETS = ("frontier", "top3", "all")
TREND_QUANTITIES = ("D", "dataset_tokens")
YEAR_ATTRS = {"units": "year", "long_name": "calendar year (decimal)"}
GROWTH_ATTRS = {"units": "1", "long_name": "growth factor of training-set size per year"}


def select_trend_rows(
    frontier_table: pd.DataFrame,
    *,
    since: float = 2018.0,
    subset: str = "frontier",
    quantity: str = "D",
) -> pd.DataFrame:
    """Rows of a published-models table that the dataset-size trend is fitted to.

    Parameters
    ----------
    frontier_table : pandas.DataFrame
        Kind ``"published_models"`` (e.g. ``load_dataset("epoch_notable")``): columns
        ``model``, ``year`` (decimal year), ``D`` / ``dataset_tokens`` (tokens) and, for
        ``subset="frontier"``, ``frontier`` (bool).
    since : float
        Earliest publication date kept, decimal year.
    subset : {"frontier", "top3", "all"}
        ``"frontier"``: rows flagged frontier; ``"top3"``: the three largest ``quantity``
        per calendar year; ``"all"``: every row.
    quantity : {"D", "dataset_tokens"}
        Training tokens seen (repeats included) or unique dataset size, tokens.

    Returns
    -------
    pandas.DataFrame
        The selected rows sorted by ``year``, fresh index.

    Raises
    ------
    ConfigError
        Unknown ``subset`` or ``quantity``, or fewer than 3 rows selected.
    DataError
        A needed column is missing.
    """
    if subset not in TREND_SUBSETS:
        raise ConfigError(f"unknown subset {subset!r}; valid: {', '.join(TREND_SUBSETS)}")
    if quantity not in TREND_QUANTITIES:
        raise ConfigError(f"unknown quantity {quantity!r}; valid: {', '.join(TREND_QUANTITIES)}")
    needed = ["model", "year", quantity] + (["frontier"] if subset == "frontier" else [])
    missing = [c for c in needed if c not in frontier_table.columns]
    if missing:
        raise DataError(
            f"<frontier table>: missing column(s) {', '.join(map(repr, missing))}; the trend "
            "needs a published-models table such as load_dataset('epoch_notable')",
            column=missing[0],
        )
    rows = frontier_table[frontier_table["year"] >= since]
    if subset == "frontier":
        rows = rows[rows["frontier"].astype(bool)]
    elif subset == "top3":
        by_year = rows.assign(_y=np.floor(rows["year"]))
        rows = by_year.sort_values(quantity, ascending=False).groupby("_y").head(3)
        rows = rows.drop(columns="_y")
    rows = rows.sort_values(["year", "model"]).reset_index(drop=True)
    if len(rows) < 3:
        raise ConfigError(f"subset {subset!r} since {since} selects {len(rows)} models; need >= 3")
    return rows


def fit_dataset_trend(
    frontier_table: pd.DataFrame,
    *,
    since: float = 2018.0,
    subset: str = "frontier",
    quantity: str = "D",
    sampler: SamplerConfig = TREND_SAMPLER,
    seed: int = 0,
) -> xr.Dataset:
    r"""Fit the Bayesian log-linear trend of frontier training-set size against date.

    Parameters
    ----------
    frontier_table : pandas.DataFrame
        A published-models table, e.g. ``load_dataset("epoch_notable")``.
    since : float
        Earliest publication date kept, decimal year (default 2018.0).
    subset : {"frontier", "top3", "all"}
        Which models (see :func:`select_trend_rows`); default Epoch's frontier flag.
    quantity : {"D", "dataset_tokens"}
        Tokens seen (default) or unique dataset size, tokens.
    sampler : SamplerConfig
        NUTS settings (default 4 chains x 1000 draws, no progress bar).
    seed : int
        Seed of the sampler.

    Returns
    -------
    xarray.Dataset
        Draws (dims ``chain``, ``draw``) of ``intercept`` (log10 tokens at
        ``year_centre``), ``slope`` (log10 tokens per year), ``sigma`` (log10 tokens),
        ``nu`` (1) and ``growth_per_year`` (factor per year); the data along ``run``
        (``model``, ``year``, ``tokens``). Attrs: ``year_centre``, ``quantity``,
        ``subset``, ``since``, ``n_models``, ``growth_per_year_median``/``_lower``/
        ``_upper`` (90% ETI), diagnostics (``divergences``, ``r_hat_max``,
        ``ess_bulk_min``, ``converged``), ``package_version``, ``config_hash``, ``seed``,
        ``law``.

    Raises
    ------
    ConfigError
        Unknown subset or quantity, or fewer than 3 models.
    DataError
        Missing columns.

    Warns
    -----
    ConvergenceWarning
        When a sampler diagnostic fails its threshold.

    Notes
    -----
    .. math::

        \log_{10} D_i \sim t_\nu\!\left(a + b\,(t_i - t_0), \sigma\right), \qquad
        g = 10^{b}\ \text{per year}

    with :math:`t_0` the mean publication year of the selected models, rounded to 0.1.

    References
    ----------
    Villalobos et al. 2024, arXiv:2211.04325v2; Epoch AI, "Data on Notable AI Models".

    Examples
    --------
    >>> from forecast import load_dataset
    >>> trend = fit_dataset_trend(load_dataset("epoch_notable"))  # doctest: +SKIP
    >>> trend.attrs["growth_per_year_median"]  # doctest: +SKIP
    2.4...
    """
    rows = select_trend_rows(frontier_table, since=since, subset=subset, quantity=quantity)
    year = rows["year"].to_numpy(float)
    tokens = rows[quantity].to_numpy(float)
    if not (np.all(np.isfinite(tokens)) and np.all(tokens > 0)):
        raise DataError(f"<frontier table>: column {quantity!r} must be finite and > 0 (tokens)")
    year_centre = round(float(year.mean()), 1)
    settings = {
        "since": float(since),
        "subset": subset,
        "quantity": quantity,
        "sampler": asdict(sampler),
        "seed": int(seed),
        "priors": {k: v.to_dict() for k, v in TREND_PRIORS.items()},
    }
    config_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    model = build_trend_model(year, np.log10(tokens), year_centre=year_centre)
    posterior, diag = sample_model(model, sampler=sampler, seed=seed)
    check_convergence(diag)
    units = {
        "intercept": ("log10 tokens", f"log10 training-set size at {year_centre}"),
        "slope": ("log10 tokens/year", "log10 growth of training-set size per year"),
        "sigma": ("log10 tokens", "residual scale (Student-t)"),
        "nu": ("1", "Student-t degrees of freedom"),
    }
    out = xr.Dataset({k: posterior[k] for k in (*units, "growth_per_year")})
    for name, (unit, long_name) in units.items():
        out[name].attrs.update(units=unit, long_name=long_name)
    out["growth_per_year"].attrs.update(GROWTH_ATTRS)
    out["model"] = xr.DataArray(rows["model"].astype(str).to_numpy(), dims="run")
    out["model"].attrs.update(units="1", long_name="model name")
    out["year"] = xr.DataArray(year, dims="run").assign_attrs(YEAR_ATTRS)
    out["tokens"] = xr.DataArray(tokens, dims="run").assign_attrs(
        units="tokens", long_name=f"training-set size ({quantity})"
    )
    growth = out["growth_per_year"].values.ravel()
    med, (lo, hi) = eti(growth, CI_PROB)
    return out.assign_attrs(
        {
            "year_centre": year_centre,
            "quantity": quantity,
            "subset": subset,
            "since": float(since),
            "n_models": int(len(rows)),
            "growth_per_year_median": float(med),
            "growth_per_year_lower": float(lo),
            "growth_per_year_upper": float(hi),
            "ci_prob": CI_PROB,
            "ci_kind": "eti",
            **summary_attrs(diag),
            "package_version": package_versions()["scaling-forecast"],
            "config_hash": config_hash,
            "seed": int(seed),
            "law": "log10 tokens linear in year, Student-t residuals (models.trend)",
        }
    )
