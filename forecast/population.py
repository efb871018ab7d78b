r"""The ``"population"`` prior preset: built from the published fits and the bundled families.

:func:`observations` turns the ``published_fits`` table and per-family run summaries into the
observations of :func:`models.population.build_population_model`; :func:`build_population`
samples that meta-model and returns the predictive for a new family as the preset's priors;
:func:`write_preset` / :func:`load_preset` store it as JSON with its sha256 in
``forecast/_presets/`` (checked on load). Importing :mod:`forecast` registers the stored preset,
so ``fit(runs, priors="population")`` and ``--priors population`` work.

What enters, and how (rules fixed before any leave-one-family-out run):

* **Published fits** (``load_dataset("published_fits")``), rows with a family key. Exponents
  enter as :math:`\log\alpha`, :math:`\log\beta` from every row (they do not depend on the loss
  unit); ``E``, ``a_ref``, ``b_ref`` only from rows in nats/token (bits/byte and nats/byte
  rows cannot be converted: the tokenizer table gives no bytes per token). Own SEs are used
  where given (delta method on the log scale); otherwise the defaults :data:`DEFAULT_SE`
  (about twice Besiroglu et al.'s bootstrap SEs, the rule of :mod:`models.presets`).
  ``a_alloc`` enters only from rows without both exponents (else it is their function), with
  its SE, or its interval's half-width / 1.645 (90%) or / 1.96 (95%), else 0.03.
* **Bundled runs**: each family's summary (posterior mean and SD of :math:`\log\alpha,
  \log\beta, \log E, a_\mathrm{ref}, b_\mathrm{ref}` from a short NUTS fit under ``weak``,
  :func:`family_summary`); a quantity enters only if its posterior SD is below
  :data:`SUMMARY_MAX_SD` (otherwise the runs do not constrain it and the summary would only
  repeat the weak prior).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.config import DEFAULT_MODEL, SamplerConfig
from forecast.data.catalog import load_dataset
from forecast.errors import DataError
from forecast.intervals import eti
from models.population import (
    D_REF,
    KINDS,
    N_REF,
    build_population_model,
    new_family_draws,
    predictive_priors,
)
from models.presets import add_population_preset
from models.priors import PriorSpec

__all__ = [
    "DEFAULT_SE",
    "SUMMARY_MAX_SD",
    "build_population",
    "family_summary",
    "load_preset",
    "observations",
    "published_observations",
    "write_preset",
]

#: SEs of published numbers that come without one: log alpha, log beta 0.1 (2 x Besiroglu's
#: 0.0154 / 0.35 = 0.09), log E 0.03 (2 x 0.0257 / 1.8), a_ref, b_ref 0.5 (log units).
DEFAULT_SE = {"log_alpha": 0.1, "log_beta": 0.1, "log_E": 0.03, "a_ref": 0.5, "b_ref": 0.5}
#: A family summary enters only where the posterior SD is below these (log units).
SUMMARY_MAX_SD = {"log_alpha": 0.5, "log_beta": 0.5, "log_E": 0.5, "a_ref": 1.5, "b_ref": 1.5}
_PRESET_FILE, _META_FILE = "population.json", "meta.json"


def _a_alloc_quantiles(draws) -> list[float]:
    """Return the 5%, 50% and 95% quantiles of ``a_alloc`` draws (90% interval, median)."""
    med, (lo, hi) = eti(np.ravel(draws), 0.9)
    return [lo, med, hi]


def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def published_observations(fits: pd.DataFrame) -> pd.DataFrame:
    """Observations (family, kind, value, se, source) from the published-fits table."""
    rows = []
    for _, r in fits.iterrows():
        fam = r.get("family")
        if not isinstance(fam, str) or not fam:
            continue
        alpha, beta, E = _num(r["alpha"]), _num(r["beta"]), _num(r["E"])
        A, B = _num(r["A"]), _num(r["B"])
        nats = r["loss_unit"] == "nats/token"

        def add(kind, value, se, fam=fam, fit_id=r["fit_id"]):
            rows.append((fam, kind, float(value), float(se), fit_id))

        def se_of(col, default, value, r=r):
            s = _num(r.get(f"{col}_se"))
            return s / value if math.isfinite(s) and s > 0 else default

        if alpha > 0:
            add("log_alpha", math.log(alpha), se_of("alpha", DEFAULT_SE["log_alpha"], alpha))
        if beta > 0:
            add("log_beta", math.log(beta), se_of("beta", DEFAULT_SE["log_beta"], beta))
        if nats and E > 0:
            add("log_E", math.log(E), se_of("E", DEFAULT_SE["log_E"], E))
        if nats and A > 0 and alpha > 0:
            se_a = _num(r.get("A_se"))
            se = se_a / A if math.isfinite(se_a) and se_a > 0 else DEFAULT_SE["a_ref"]
            add("a_ref", math.log(A) - alpha * math.log(N_REF), max(se, 0.1))
        if nats and B > 0 and beta > 0:
            se_b = _num(r.get("B_se"))
            se = se_b / B if math.isfinite(se_b) and se_b > 0 else DEFAULT_SE["b_ref"]
            add("b_ref", math.log(B) - beta * math.log(D_REF), max(se, 0.1))
        a = _num(r["a_alloc"])
        if 0 < a < 1 and not (alpha > 0 and beta > 0):
            se = _num(r.get("a_alloc_se"))
            lo, hi = _num(r.get("a_alloc_lo")), _num(r.get("a_alloc_hi"))
            if not (math.isfinite(se) and se > 0):
                if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
                    z = 1.96 if "95" in str(r.get("extra", "")) else 1.645
                    se = (hi - lo) / (2 * z)
                else:
                    se = 0.03
            add("a_alloc", a, se)
    return pd.DataFrame(rows, columns=["family", "kind", "value", "se", "source"])


def family_summary(
    runs: pd.DataFrame,
    family: str,
    *,
    sampler: SamplerConfig | None = None,
    seed: int = 0,
    model: Mapping | None = None,
) -> pd.DataFrame:
    r"""Summarise one family's runs as observations of its parameters.

    Fits the Chinchilla law under ``weak`` (one group) with ``model`` (default
    :data:`forecast.config.DEFAULT_MODEL`, the model a user's fit gets) and reports the
    posterior mean and SD of :math:`\log\alpha, \log\beta, \log E, a_\mathrm{ref},
    b_\mathrm{ref}`, keeping those whose SD is below :data:`SUMMARY_MAX_SD`.

    Parameters
    ----------
    runs : pandas.DataFrame
        The family's runs (tidy schema, loss in nats/token).
    family : str
        Family key written in the ``family`` column.
    sampler : SamplerConfig, optional
        Default: 2 chains x 400 draws, 400 tuning steps.
    seed : int
        Seed of the fit.
    model : mapping, optional
        ``likelihood`` and ``discrepancy`` of the fit (:data:`forecast.config.DEFAULT_MODEL`
        or :data:`forecast.config.PLAIN_MODEL`); default the former.

    Returns
    -------
    pandas.DataFrame
        Columns ``family``, ``kind``, ``value``, ``se``, ``source`` (``"runs:<family>"``).
    """
    from forecast.fit import fit

    sampler = sampler or SamplerConfig(draws=400, tune=400, chains=2, progress=False)
    cols = ["N", "D", "loss"] + (["loss_sd"] if "loss_sd" in runs else [])
    model = dict(DEFAULT_MODEL if model is None else model)
    post = fit(
        runs[cols].reset_index(drop=True), priors="weak", sampler=sampler, seed=seed, **model
    )
    post = post.posterior

    def flat(name):
        return np.asarray(post[name]).reshape(-1)

    alpha, beta = flat("alpha"), flat("beta")
    q = {
        "log_alpha": np.log(alpha),
        "log_beta": np.log(beta),
        "log_E": np.log(flat("E")),
        "a_ref": flat("log_A") - alpha * math.log(N_REF),
        "b_ref": flat("log_B") - beta * math.log(D_REF),
    }
    rows = [
        (family, k, float(v.mean()), float(v.std()), f"runs:{family}")
        for k, v in q.items()
        if v.std() < SUMMARY_MAX_SD[k]
    ]
    return pd.DataFrame(rows, columns=["family", "kind", "value", "se", "source"])


def observations(
    summaries: pd.DataFrame, exclude: Sequence[str] = (), fits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Join published observations and run summaries, dropping the families in ``exclude``."""
    fits = load_dataset("published_fits") if fits is None else fits
    obs = pd.concat([published_observations(fits), summaries], ignore_index=True)
    return obs[~obs["family"].isin(list(exclude))].reset_index(drop=True)


def build_population(
    obs: pd.DataFrame, *, draws: int = 1000, tune: int = 1000, chains: int = 4, seed: int = 0
) -> tuple[dict[str, PriorSpec], dict]:
    """Sample the meta-model and return the new-family predictive as priors.

    Parameters
    ----------
    obs : pandas.DataFrame
        Output of :func:`observations`.
    draws, tune, chains : int
        NUTS settings of the meta-model (nutpie, one core, seeded: deterministic).
    seed : int
        Seed of the sampler and of the new family's offsets.

    Returns
    -------
    priors : dict of str to PriorSpec
        ``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``.
    info : dict
        ``families``, ``fits`` (sources), population ``mu``/``tau`` posterior means, the
        predictive's 5/50/95% quantiles of ``a_alloc``, and the sampler's divergences.
    """
    from forecast.fit import sample_plain

    fams = sorted(obs["family"].unique())
    index = {f: i for i, f in enumerate(fams)}
    model = build_population_model(
        obs["family"].map(index).to_numpy(),
        obs["kind"].map(KINDS.index).to_numpy(),
        obs["value"].to_numpy(float),
        obs["se"].to_numpy(float),
        len(fams),
    )
    post, diverging = sample_plain(model, draws=draws, tune=tune, chains=chains, seed=seed)
    mu = np.asarray(post["mu"]).reshape(-1, 5)
    tau = np.asarray(post["tau"]).reshape(-1, 5)
    new = new_family_draws(mu, tau, seed)
    sources = sorted(obs["source"].unique())
    text = (
        f"Hierarchical meta-model (models.population) over {len(fams)} families "
        f"({', '.join(fams)}) from {len(sources)} sources ({', '.join(sources)})."
    )
    priors = predictive_priors(new, text)
    info = {
        "families": fams,
        "fits": sources,
        "mu": [round(float(v), 4) for v in mu.mean(0)],
        "tau": [round(float(v), 4) for v in tau.mean(0)],
        "a_alloc_q05_q50_q95": [round(float(v), 4) for v in _a_alloc_quantiles(new["a_alloc"])],
        "divergences": diverging,
    }
    return priors, info


def _preset_dir() -> Path:
    return Path(str(resources.files("forecast").joinpath("_presets")))


def _dumps(priors: Mapping[str, PriorSpec], info: Mapping) -> bytes:
    body = {"priors": {k: v.to_dict() for k, v in priors.items()}, "info": dict(info)}
    return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8")


def write_preset(priors: Mapping[str, PriorSpec], info: Mapping, folder: Path | None = None) -> str:
    """Write ``population.json`` and ``meta.json`` (its sha256) atomically; return the hash."""
    folder = Path(folder) if folder is not None else _preset_dir()
    folder.mkdir(parents=True, exist_ok=True)
    data = _dumps(priors, info)
    digest = hashlib.sha256(data).hexdigest()
    meta = json.dumps({"files": {_PRESET_FILE: digest}}, indent=1) + "\n"
    for name, content in ((_PRESET_FILE, data), (_META_FILE, meta.encode("utf-8"))):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, folder / name)
    return digest


def load_preset(folder: Path | None = None) -> tuple[dict[str, PriorSpec], dict]:
    """Read the stored preset, checking its sha256 against ``meta.json``.

    Raises
    ------
    DataError
        If a file is missing or unreadable, or the hash does not match.
    """
    folder = Path(folder) if folder is not None else _preset_dir()
    shown = f"_presets/{_PRESET_FILE}"
    try:
        data = (folder / _PRESET_FILE).read_bytes()
        meta = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        expected = meta["files"][_PRESET_FILE]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{shown}: cannot read the population preset: {exc}", path=shown) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(
            f"{shown}: sha256 mismatch: meta.json records {expected}, the file has {actual}; "
            "rebuild it with scripts/build_population_prior.py",
            path=shown,
        )
    body = json.loads(data)
    return {k: PriorSpec.from_dict(v) for k, v in body["priors"].items()}, body["info"]


def register() -> None:
    """Register the stored preset as ``"population"`` (no-op when none is stored yet)."""
    if (_preset_dir() / _PRESET_FILE).is_file():
        add_population_preset(load_preset()[0])
