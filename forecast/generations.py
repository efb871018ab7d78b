r"""Across generations: fit recipe multipliers to the bundled recipes, forecast with progress.

The math lives in :mod:`models.generations`; this module turns the bundled datasets into
recipes (:data:`RECIPES`), fits the model (:func:`fit_generations`), summarises the
multipliers and the implied halving time (:func:`generation_summary`), says which data
pin each recipe (:func:`recipe_pinning`) and forecasts a 10T-parameter model trained with
a recipe ``k`` years newer than the newest in the data (:func:`forecast_with_progress`).

Choices, and why
----------------
* **Reference recipe:** the datablations single-epoch C4 runs (Muennighoff et al. 2023):
  trained and evaluated on C4 with the GPT-2 tokenizer, the most "plain" recipe on the
  shared text, so every multiplier reads as "compute of a 2023 C4 recipe per FLOP".
* **Shared text:** the C4 validation splits (``c4_heldout``, ``c4_val``, ``c4_en``,
  ``c4_en_v2_small``). Their losses are mapped to nats per GPT-2 token with the bundled
  ``tokenizer_bytes`` ratios (uncertain parameters). GPT-3 and OPT were evaluated on their
  own validation sets: their floor and reducible amplitude are free, so their multipliers
  are pinned by the trend prior alone (the posterior says so).
* **Runs:** the last checkpoint of each run; datablations rows with one epoch or fewer and
  without the ``high_loss`` flag (repeated data would need the data-constrained law).
* **Dates:** publication of each paper (arXiv v1), decimal years.

Units: loss in nats per GPT-2 token on C4, tokens in GPT-2 tokens, compute in FLOP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import SamplerConfig
from forecast.data.catalog import load_dataset
from forecast.data.joint import select_checkpoints
from forecast.diagnostics import check_convergence, summary_attrs
from forecast.errors import ConfigError, DataError
from forecast.fit import package_versions, sample_model
from forecast.intervals import CI_BOUNDS, eti, summarise_draws
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN
from models.build import OFFSET_PREFIXES
from models.generations import (
    GENERATION_PRIORS,
    TREND_PRIORS,
    GenerationData,
    build_generation_model,
    halving_months,
    multiplier_exponent,
    tokens_factor_same_loss,
)

__all__ = [
    "RECIPES",
    "SHARED_EVALS",
    "fit_generations",
    "forecast_with_progress",
    "generation_runs",
    "generation_summary",
    "recipe_pinning",
]

#: recipe -> (dataset, eval set, corpus filter or None, decimal year, what the date is).
RECIPES: Mapping[str, tuple[str, str, str | None, float, str]] = {
    "gpt3": ("gpt3", "gpt3_val", None, 2020.4, "Brown et al., arXiv:2005.14165, May 2020"),
    "opt": ("opt", "opt_val", None, 2022.3, "Zhang et al., arXiv:2205.01068, May 2022"),
    "datablations": (
        "datablations",
        "c4_heldout",
        None,
        2023.4,
        "Muennighoff et al., arXiv:2305.16264, May 2023",
    ),
    "olmo1": ("olmo1", "c4_en_v2_small", None, 2024.1, "Groeneveld et al., 2402.00838, Feb 2024"),
    "gadre:c4": ("gadre2024", "c4_val", "c4", 2024.2, "Gadre et al., 2403.08540, Mar 2024"),
    "gadre:redpajama": ("gadre2024", "c4_val", "redpajama", 2024.2, "Gadre et al. 2024"),
    "gadre:refinedweb": ("gadre2024", "c4_val", "refinedweb", 2024.2, "Gadre et al. 2024"),
    "olmo_ladder": ("olmo_ladder", "c4_en", None, 2024.9, "Bhagia et al., 2412.04403, Dec 2024"),
}
#: Eval sets that are splits of the C4 (en) validation text.
SHARED_EVALS = frozenset({"c4_heldout", "c4_val", "c4_en", "c4_en_v2_small"})
REFERENCE = "datablations"
#: Sampler: two chains keep a fit near a minute on two shared cores.
GENERATION_SAMPLER = SamplerConfig(draws=500, tune=1000, chains=2, progress=False)
_RATIO_TABLE = ("tokenizer_bytes", "tokenizer_bytes.csv")


def _tokenizer_table() -> pd.DataFrame:
    return load_dataset(_RATIO_TABLE[0], table=_RATIO_TABLE[1])


def _canonical_tokenizer(name: str, table: pd.DataFrame) -> str:
    for _, row in table.iterrows():
        if name in str(row["aliases"]).split(";"):
            return str(row["tokenizer"])
    raise DataError(
        f"tokenizer_bytes/tokenizer_bytes.csv: column 'aliases': no row lists tokenizer "
        f"{name!r}; add its bytes-per-token ratio with a source before comparing it.",
        column="aliases",
    )


def generation_runs(recipes: Mapping[str, tuple] = RECIPES) -> pd.DataFrame:
    """Build the runs table of the generation model from the bundled datasets.

    Parameters
    ----------
    recipes : mapping
        recipe -> (dataset, eval set, corpus or None, decimal year, date note).

    Returns
    -------
    pandas.DataFrame
        Columns ``recipe``, ``year`` (decimal year), ``dataset``, ``eval_set``,
        ``tokenizer`` (canonical name), ``shared_eval`` (bool), ``N`` (parameters),
        ``D`` (tokens of the run's tokenizer), ``loss`` (nats per own token).

    Raises
    ------
    ConfigError
        A recipe selects no rows.
    DataError
        A tokenizer without a bytes-per-token row.

    Examples
    --------
    >>> runs = generation_runs()
    >>> sorted(runs["recipe"].unique())[:3]
    ['datablations', 'gadre:c4', 'gadre:redpajama']
    """
    table = _tokenizer_table()
    parts = []
    for recipe, (dataset, eval_set, corpus, year, _) in recipes.items():
        runs = load_dataset(dataset)
        if "eval_set" in runs:
            runs = runs[runs["eval_set"] == eval_set]
        if corpus is not None:
            runs = runs[runs["corpus"] == corpus]
        if dataset == "datablations":
            runs = runs[(runs["epochs"] <= 1.0) & ~runs["high_loss"].astype(bool)]
        runs = select_checkpoints(runs)
        if runs.empty:
            raise ConfigError(f"recipe {recipe!r} selects no rows of {dataset!r}/{eval_set!r}")
        tok = {t: _canonical_tokenizer(str(t), table) for t in runs["tokenizer"].unique()}
        parts.append(
            pd.DataFrame(
                {
                    "recipe": recipe,
                    "year": float(year),
                    "dataset": dataset,
                    "eval_set": eval_set,
                    "tokenizer": runs["tokenizer"].map(tok).to_numpy(),
                    "shared_eval": eval_set in SHARED_EVALS,
                    "N": runs["N"].to_numpy(float),
                    "D": runs["D"].to_numpy(float),
                    "loss": runs["loss"].to_numpy(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    labels = tuple(dict.fromkeys(values.astype(str)))
    index = {lab: i for i, lab in enumerate(labels)}
    return values.astype(str).map(index).to_numpy(int), labels


def generation_data(runs: pd.DataFrame, *, reference: str = REFERENCE) -> GenerationData:
    """Arrays of :class:`models.generations.GenerationData` from a generation runs table.

    Parameters
    ----------
    runs : pandas.DataFrame
        As returned by :func:`generation_runs` (or simulated with the same columns).
    reference : str
        Recipe with multiplier 1.

    Returns
    -------
    GenerationData
        Indices, labels and tokenizer-ratio priors (from ``tokenizer_bytes``).

    Raises
    ------
    DataError
        A missing column, or a recipe with two different years.
    """
    needed = ["recipe", "year", "dataset", "eval_set", "tokenizer", "shared_eval", "N", "D"]
    missing = [c for c in [*needed, "loss"] if c not in runs]
    if missing:
        raise DataError(f"<generation runs>: missing column(s) {missing}", column=missing[0])
    years = runs.groupby("recipe", sort=False)["year"].nunique()
    if (years > 1).any():
        raise DataError(
            f"<generation runs>: column 'year': recipes {list(years[years > 1].index)} have "
            "more than one year",
            column="year",
        )
    recipe, recipes = _codes(runs["recipe"])
    eval_idx, evals = _codes(runs["eval_set"])
    tok_idx, tokenizers = _codes(runs["tokenizer"])
    ds_idx, datasets = _codes(runs["dataset"])
    table = _tokenizer_table().set_index("tokenizer")
    ratio_mu = np.array([np.log(float(table.loc[t, "ratio_to_gpt2"])) for t in tokenizers])
    ratio_sd = np.array([float(table.loc[t, "ratio_sd"]) for t in tokenizers])
    shared = runs.groupby("eval_set", sort=False)["shared_eval"].first()
    year = runs.groupby("recipe", sort=False)["year"].first()
    return GenerationData(
        log_N=np.log(runs["N"].to_numpy(float)),
        log_D=np.log(runs["D"].to_numpy(float)),
        log_loss=np.log(runs["loss"].to_numpy(float)),
        recipe=recipe,
        eval_set=eval_idx,
        tokenizer=tok_idx,
        dataset=ds_idx,
        recipes=recipes,
        recipe_year=np.array([float(year[r]) for r in recipes]),
        reference=reference,
        evals=evals,
        eval_shared=np.array([bool(shared[e]) for e in evals]),
        tokenizers=tokenizers,
        ratio_mu=ratio_mu,
        ratio_sd=ratio_sd,
        datasets=datasets,
    )


def fit_generations(
    runs: pd.DataFrame | None = None,
    *,
    trend: str = "ho2024",
    reference: str = REFERENCE,
    sampler: SamplerConfig = GENERATION_SAMPLER,
    seed: int = 0,
) -> xr.Dataset:
    r"""Fit the generation model: one effective-compute multiplier per recipe.

    Parameters
    ----------
    runs : pandas.DataFrame, optional
        Generation runs table; default :func:`generation_runs` of the bundled recipes.
    trend : {"ho2024", "ho2024_neurips", "flat", "none"}
        Prior on the time trend of the multipliers (:data:`models.generations.TREND_PRIORS`).
    reference : str
        Recipe with multiplier 1.
    sampler : SamplerConfig
        NUTS settings (default 2 chains x 500 draws after 1000 tuning steps).
    seed : int
        Seed of the sampler.

    Returns
    -------
    xarray.Dataset
        Posterior draws (dims ``chain``, ``draw``): ``multiplier``/``log_multiplier``
        (dim ``recipe``; 1), ``rate`` (1/year, natural log of compute), ``E`` (nats per
        GPT-2 token), ``alpha``, ``beta``, ``log_A``, ``log_B``, ``sigma_m``,
        ``log_ratio`` (dim ``tokenizer``), ``log_floor``/``log_amplitude`` (dim ``eval``);
        coordinate ``year`` on ``recipe``. Attrs: ``reference``, ``trend``, ``n_runs``,
        diagnostics (``divergences``, ``r_hat_max``, ``ess_bulk_min``, ``converged``),
        ``package_version``, ``config_hash``, ``seed``, ``law``.

    Raises
    ------
    ConfigError
        Unknown trend or reference.

    Warns
    -----
    ConvergenceWarning
        R-hat, ESS, divergences or E-BFMI fail their thresholds (:mod:`forecast.diagnostics`).

    Notes
    -----
    .. math::

        L_i = e^{\rho_j}\left[E e^{\delta_e} + s_e\, m_k^{-\gamma}
        \left(A N_i^{-\alpha} + B (e^{\rho_j} D_i)^{-\beta}\right)\right],\quad
        \log m_k = r (t_k - t_\mathrm{ref}) + \sigma_m z_k

    References
    ----------
    Ho et al. 2024, arXiv:2403.05812 (the trend prior); Hoffmann et al. 2022,
    arXiv:2203.15556.

    Examples
    --------
    >>> post = fit_generations()  # doctest: +SKIP
    >>> post["multiplier"].median(("chain", "draw")).sel(recipe="olmo_ladder")  # doctest: +SKIP
    """
    runs = generation_runs() if runs is None else runs
    data = generation_data(runs, reference=reference)
    model = build_generation_model(data, trend=trend)
    settings = {
        "trend": trend,
        "reference": reference,
        "sampler": asdict(sampler),
        "seed": int(seed),
        "priors": {k: v.to_dict() for k, v in GENERATION_PRIORS.items()},
        "trend_prior": None if TREND_PRIORS[trend] is None else TREND_PRIORS[trend].to_dict(),
        "n_runs": int(len(runs)),
    }
    config_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    posterior, diag = sample_model(model, sampler=sampler, seed=seed)
    check_convergence(diag)
    keep = [v for v in posterior.data_vars if not str(v).startswith(OFFSET_PREFIXES)]
    out = posterior[keep]
    if "rate" not in out:
        out["rate"] = xr.zeros_like(out["E"])
    out = out.assign_coords(year=("recipe", np.asarray(data.recipe_year, float)))
    out["year"].attrs.update(units="year", long_name="recipe date (decimal year)")
    units = {
        "multiplier": ("1", "effective-compute multiplier vs the reference recipe"),
        "log_multiplier": ("1", "natural log of the multiplier"),
        "rate": ("1/year", "trend of log effective compute per year"),
        "E": ("nats/token", "C4 floor, nats per GPT-2 token"),
    }
    for name, (unit, long_name) in units.items():
        out[name].attrs.update(units=unit, long_name=long_name)
    return out.assign_attrs(
        {
            "reference": reference,
            "trend": trend,
            "n_runs": int(len(runs)),
            **summary_attrs(diag),
            "package_version": package_versions()["scaling-forecast"],
            "config_hash": config_hash,
            "seed": int(seed),
            "law": "Chinchilla with effective-compute multipliers (models.generations)",
        }
    )


def _flat(da: xr.DataArray) -> np.ndarray:
    return da.stack(sample=("chain", "draw")).transpose("sample", ...).values


def generation_summary(posterior: xr.Dataset, *, ci_prob: float = CI_PROB) -> xr.Dataset:
    r"""Multipliers and the implied halving time with central intervals.

    Parameters
    ----------
    posterior : xarray.Dataset
        Result of :func:`fit_generations`.
    ci_prob : float
        Interval mass (default 0.90), equal-tailed.

    Returns
    -------
    xarray.Dataset
        ``multiplier_median`` (dim ``recipe``; 1) and ``multiplier_ci`` (dims ``recipe,
        ci_bound``), ``rate_median``/``rate_ci`` (1/year), ``halving_months_median``/
        ``halving_months_ci`` (months; the layout of :mod:`forecast.intervals`) and
        ``p_rate_positive`` (1). Halving-time bounds come from the rate's bounds
        (:math:`h = 12\ln 2/r` is monotone), ``inf`` where the rate bound is :math:`\le 0`.
        Attrs ``ci_prob``, ``ci_kind`` = ``"eti"`` and the posterior's attrs.

    Examples
    --------
    >>> s = generation_summary(post)  # doctest: +SKIP
    """
    multiplier = posterior["multiplier"].assign_attrs(
        units="1", long_name="effective-compute multiplier"
    )
    rate = posterior["rate"].assign_attrs(
        units="1/year", long_name="trend of log effective compute"
    )
    out = summarise_draws(multiplier, ci_prob, name="multiplier")
    out.update(summarise_draws(rate, ci_prob, name="rate"))
    out = out.drop_vars("ci_prob")
    r_lo, r_hi = out["rate_ci"].values
    halving = {"units": "months", "long_name": "compute halving time"}
    out["halving_months_median"] = xr.DataArray(
        float(halving_months(float(out["rate_median"]))), attrs=halving
    )
    out["halving_months_ci"] = (
        out["rate_ci"]
        .copy(data=[float(halving_months(x)) for x in (r_hi, r_lo)])
        .assign_attrs(halving)
    )
    out["p_rate_positive"] = xr.DataArray(float(np.mean(_flat(posterior["rate"]) > 0)))
    out = out.assign_coords(year=("recipe", posterior["year"].values))
    return out.assign_attrs({**posterior.attrs, "ci_prob": ci_prob, "ci_kind": "eti"})


def recipe_pinning(runs: pd.DataFrame, posterior: xr.Dataset) -> pd.DataFrame:
    """Which data pin each recipe's multiplier, and how much the data narrowed it.

    Parameters
    ----------
    runs : pandas.DataFrame
        The generation runs table that was fitted.
    posterior : xarray.Dataset
        Result of :func:`fit_generations` on ``runs``.

    Returns
    -------
    pandas.DataFrame
        One row per recipe: ``runs``, ``N_min``/``N_max`` (parameters), ``D_min``/``D_max``
        (tokens), ``eval_set``, ``tokenizer``, ``shared_eval``, ``sd_log_m`` (posterior
        SD of log m), ``sd_log_m_trend_only`` (SD the trend and scatter alone give at that
        date, from the same posterior) and ``pinned_by`` (a short verdict).
    """
    rows = []
    rate = _flat(posterior["rate"])
    sigma_m = _flat(posterior["sigma_m"])
    ref_year = float(posterior["year"].sel(recipe=posterior.attrs["reference"]))
    for recipe in posterior["recipe"].values:
        sub = runs[runs["recipe"] == recipe]
        log_m = _flat(posterior["log_multiplier"].sel(recipe=recipe))
        dt = float(posterior["year"].sel(recipe=recipe)) - ref_year
        rng = np.random.default_rng(0)
        trend_only = rate * dt + sigma_m * rng.standard_normal(rate.size)
        shared = bool(sub["shared_eval"].iloc[0])
        sd, sd0 = float(np.std(log_m)), float(np.std(trend_only))
        if recipe == posterior.attrs["reference"]:
            verdict = "reference (m = 1 by definition)"
        elif not shared:
            verdict = "trend prior only: own eval text, floor and amplitude free"
        elif sd < 0.5 * sd0:
            verdict = "its own runs on C4 (shared floor and law)"
        else:
            verdict = "weakly: its runs barely narrow the trend"
        rows.append(
            {
                "recipe": recipe,
                "runs": len(sub),
                "N_min": sub["N"].min(),
                "N_max": sub["N"].max(),
                "D_min": sub["D"].min(),
                "D_max": sub["D"].max(),
                "eval_set": sub["eval_set"].iloc[0],
                "tokenizer": sub["tokenizer"].iloc[0],
                "shared_eval": shared,
                "sd_log_m": sd,
                "sd_log_m_trend_only": sd0,
                "pinned_by": verdict,
            }
        )
    return pd.DataFrame(rows)


def forecast_with_progress(
    posterior: xr.Dataset,
    *,
    N: float = 1e13,
    years_ahead: Sequence[float] = (0.0, 2.0),
    base: str | None = None,
    stock: float = 3e14,
    ci_prob: float = CI_PROB,
    seed: int = 0,
) -> xr.Dataset:
    r"""Loss and compute-optimal tokens of an N-parameter model with a newer recipe.

    Parameters
    ----------
    posterior : xarray.Dataset
        Result of :func:`fit_generations`.
    N : float
        Parameters of the forecast model (default 1e13).
    years_ahead : sequence of float
        :math:`k`, years of progress beyond the newest recipe (0 = that recipe itself).
    base : str, optional
        The recipe progress starts from; default the newest in the data.
    stock : float
        Stock of text, tokens (default 3e14, Villalobos et al. 2024 median, in the
        bundled ``published_fits`` stock anchors) for ``p_tokens_above_stock``.
    ci_prob : float
        Interval mass of the summaries (default 0.90).
    seed : int
        Seed of the new-recipe scatter draws.

    Returns
    -------
    xarray.Dataset
        Along ``scenario`` (``"+k yr"``), ``<q>_median`` and ``<q>_ci`` (dim ``ci_bound``;
        the layout of :mod:`forecast.intervals`) of ``loss`` (nats per GPT-2 token on C4),
        ``D`` (compute-optimal tokens for N, GPT-2 tokens), ``C`` (FLOP), ``multiplier``
        (vs reference) and ``tokens_same_loss`` (tokens needed with this recipe to reach
        the ``+0 yr`` loss at the compute-optimal frontier); ``p_tokens_above_stock`` (1);
        attrs ``N``, ``base``, ``stock``.

    Notes
    -----
    The new recipe has :math:`\log m = \log m_\mathrm{base} + r k + \sigma_m z\,[k > 0]`.
    With :math:`N_\mathrm{eff} = m^a N`, the compute-optimal effective tokens are those of
    the reference law, :math:`D_\mathrm{eff} = G^{-1/a} N_\mathrm{eff}^{\alpha/\beta}`
    (Hoffmann eq. 4 solved for D), :math:`D = m^{-b} D_\mathrm{eff}` and
    :math:`L = L_\mathrm{ref}(N_\mathrm{eff}, D_\mathrm{eff})`. The same loss needs
    :math:`m^{-b}` times the tokens (:func:`models.generations.tokens_factor_same_loss`).
    """
    if base is None:
        base = str(posterior["recipe"].values[int(np.argmax(posterior["year"].values))])
    if base not in posterior["recipe"].values:
        raise ConfigError(f"base {base!r} is not a fitted recipe")
    E, alpha, beta = (_flat(posterior[k]) for k in ("E", "alpha", "beta"))
    log_A, log_B = _flat(posterior["log_A"]), _flat(posterior["log_B"])
    rate, sigma_m = _flat(posterior["rate"]), _flat(posterior["sigma_m"])
    log_m_base = _flat(posterior["log_multiplier"].sel(recipe=base))
    a = beta / (alpha + beta)
    b = alpha / (alpha + beta)
    log_G = (np.log(alpha) + log_A - np.log(beta) - log_B) / (alpha + beta)
    z = np.random.default_rng(seed).standard_normal(E.size)
    stats, names = [], []
    base_loss = None
    for k in years_ahead:
        log_m = log_m_base + rate * k + (sigma_m * z if k > 0 else 0.0)
        log_N_eff = np.log(N) + a * log_m
        log_D_eff = -log_G / a + (alpha / beta) * log_N_eff
        log_D = log_D_eff - b * log_m
        loss = E + np.exp(log_A - alpha * log_N_eff) + np.exp(log_B - beta * log_D_eff)
        if base_loss is None:
            base_loss, base_log_D = loss, log_D
            same = np.exp(base_log_D)
        else:
            # Same loss as the +0 scenario: its compute-optimal tokens times m_k / m_0 ^ -b.
            same = np.exp(base_log_D) * tokens_factor_same_loss(log_m - log_m_base, alpha, beta)
        D = np.exp(log_D)
        C = FLOP_PER_PARAM_TOKEN * N * D
        rows = {
            "loss": eti(loss, ci_prob, axis=0),
            "D": eti(D, ci_prob, axis=0),
            "C": eti(C, ci_prob, axis=0),
            "multiplier": eti(np.exp(log_m), ci_prob, axis=0),
            "tokens_same_loss": eti(same, ci_prob, axis=0),
        }
        stats.append((rows, float(np.mean(same > stock))))
        names.append(f"+{k:g} yr")
    data = {}
    for key in stats[0][0]:
        data[f"{key}_median"] = ("scenario", [float(s[0][key][0]) for s in stats])
        data[f"{key}_ci"] = (("scenario", "ci_bound"), np.array([s[0][key][1] for s in stats]))
    data["p_tokens_above_stock"] = ("scenario", [s[1] for s in stats])
    out = xr.Dataset(data, coords={"scenario": names, "ci_bound": list(CI_BOUNDS)})
    attrs = {
        "loss": ("nats/token", "loss, nats per GPT-2 token on C4"),
        "D": ("tokens", "compute-optimal training tokens (GPT-2 tokens)"),
        "C": ("FLOP", "training compute"),
        "multiplier": ("1", "effective-compute multiplier vs the reference"),
        "tokens_same_loss": ("tokens", "tokens to reach the +0 yr loss with this recipe"),
        "p_tokens_above_stock": ("1", "P(tokens_same_loss > stock)"),
    }
    for name, (unit, long_name) in attrs.items():
        for var in (name,) if name in out else (f"{name}_median", f"{name}_ci"):
            what = (
                "posterior median of " if var.endswith("_median") else "equal-tailed interval of "
            )
            out[var].attrs.update(units=unit, long_name=(what if var != name else "") + long_name)
    return out.assign_attrs(
        {
            **posterior.attrs,
            "N": float(N),
            "base": base,
            "stock": float(stock),
            "ci_prob": ci_prob,
            "ci_kind": "eti",
            "gamma_median": float(np.median(multiplier_exponent(alpha, beta))),
        }
    )
