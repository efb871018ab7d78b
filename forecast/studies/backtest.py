r"""Backtests: fit on the smaller runs, predict the larger ones, score the predictions.

A forecast at frontier scale is an extrapolation, so the package is judged the way it is
used: fit the runs below a threshold (of compute, size, or any column), predict the runs
above it, and ask whether the held-out losses fall inside the bands as often as the bands
claim. Every method is scored on the same held-out runs:

* **ours** — the posterior predictive of one new run (``predict(..., include_noise=True)``;
  a held-out run is one new run, with its own noise), with the held-out point's known
  measurement SD (``loss_sd``) added; the point forecast is the median of the mean curve.
  Given several configs, their Bayesian stack (weights from PSIS-LOO stacking on the
  training runs, Yao et al. 2018) is "ours" and each component is also reported.
* **bootstrap** — the Epoch-style point fit (:mod:`forecast.studies.baseline`) with bands from
  the quantiles of the bootstrap replicates' predicted loss, as Besiroglu et al. report
  them; **bootstrap+noise** adds the point fit's residual scale to each replicate, so that
  it too predicts a new run rather than the mean curve. With groups, one point fit per group.
  The point fit is always the Chinchilla form on the tokens seen (repetition ignored), as
  Epoch's procedure is; for the data-constrained law that makes it the naive baseline.
* **published** — published parameter sets used as fixed laws (point predictions only).

Scores per held-out run (dim ``run``): relative error of the point forecast, PIT value,
hits of the central 50/80/90/95% intervals, width of the 90% interval relative to the
observed loss and the CRPS (nats/token). The CRPS is computed from draws in its energy form

.. math:: \mathrm{CRPS}(F, y) = \mathbb{E}|X - y| - \tfrac12 \mathbb{E}|X - X'|,

exactly, via sorted draws: :math:`\mathbb{E}|X - X'| = \frac{2}{m^2}\sum_{i}(2i - m - 1)x_{(i)}`.
A point forecast is a one-draw distribution, whose CRPS is the absolute error.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.averaged import Stack
from forecast.config import FitConfig
from forecast.data.catalog import load_dataset
from forecast.data.runs import load_runs
from forecast.errors import ConfigError, DataError
from forecast.fit import Fit, fit, package_versions
from forecast.intervals import eti
from forecast.io import write_atomic
from forecast.studies import baseline as point_fit
from forecast.studies.baseline import bootstrap_point, fit_point, predict_point
from forecast.studies.stacking import compare_fits, fit_averaged, predict_runs
from forecast.units import FLOP_PER_PARAM_TOKEN, LOSS_ATTRS
from forecast.variance import variance_sources
from models.laws import data_constrained, get_law
from models.noise import standard_noise

__all__ = ["LEVELS", "PUBLISHED", "backtest", "score_draws", "split_runs", "summarise"]

#: Central interval probabilities whose empirical coverage is reported.
LEVELS = (0.5, 0.8, 0.9, 0.95)
#: Published fits used as fixed laws (``fit_id`` of ``load_dataset("published_fits")``).
PUBLISHED = ("hoffmann2022_a3_rounded", "besiroglu2024")
_SPLIT = re.compile(r"^\s*(\w+)\s*(<=|<)\s*(q?)([-+0-9.eE]+)\s*$")
_SAMPLE_DIMS = ("chain", "draw")
#: A heavy-tailed (Student-t) predictive of log loss can put draws beyond the float range,
#: where exp() gives 0 or inf; the log-scale CRPS counts them at the range's ends (log loss
#: -708 or +709), which still scores such a predictive as very poor, instead of NaN.
_TINY, _HUGE = np.finfo(float).tiny, np.finfo(float).max


def split_runs(runs: pd.DataFrame, split) -> np.ndarray:
    """Which runs to fit on (``True``) and which to hold out (``False``).

    Parameters
    ----------
    runs : pandas.DataFrame
        Runs in the tidy schema.
    split : str or array_like of bool
        A boolean mask (``True`` = fit), or ``"<column><op><value>"`` with ``op`` one of
        ``<``, ``<=``: e.g. ``"C<1e20"`` (compute C = 6ND, FLOP), ``"N<=1.6e8"``
        (parameters), ``"epochs<=2"``. A value prefixed by ``q`` is a quantile of the
        column: ``"C<=q0.6667"`` fits the smallest two thirds of the runs by compute.

    Returns
    -------
    numpy.ndarray of bool
        One entry per run; ``True`` for the runs to fit.

    Raises
    ------
    ConfigError
        On a malformed split, an unknown column, or a split that leaves either side empty.

    Examples
    --------
    >>> runs = pd.DataFrame({"N": [1e8, 1e9, 1e10], "D": [2e9, 2e10, 2e11], "loss": [3, 2.6, 2.3]})
    >>> split_runs(runs, "C<2e20").tolist()
    [True, True, False]
    >>> split_runs(runs, "N<=q0.5").tolist()
    [True, True, False]
    """
    if isinstance(split, str):
        match = _SPLIT.match(split)
        if match is None:
            raise ConfigError(
                f"split {split!r} is not '<column><op><value>' with op '<' or '<=', "
                "e.g. 'C<1e20', 'N<=1.6e8' or 'C<=q0.6667'"
            )
        column, op, quantile, value = match.groups()
        if column == "C" and "C" not in runs:
            values = FLOP_PER_PARAM_TOKEN * runs["N"].to_numpy(float) * runs["D"].to_numpy(float)
        elif column in runs:
            values = runs[column].to_numpy(float)
        else:
            raise ConfigError(f"split {split!r}: no column {column!r}; columns: {list(runs)}")
        threshold = float(np.quantile(values, float(value))) if quantile else float(value)
        mask = values <= threshold if op == "<=" else values < threshold
    else:
        mask = np.asarray(split, dtype=bool)
        if mask.shape != (len(runs),):
            raise ConfigError(f"split mask has shape {mask.shape}; expected ({len(runs)},)")
    if mask.all() or not mask.any():
        raise ConfigError(f"split {split!r} puts {int(mask.sum())} of {len(runs)} runs in the fit")
    return mask


def _crps(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Energy-form CRPS of draws (run, m) against observations (run,), exact via sorting."""
    x = np.sort(samples, axis=-1)
    m = x.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):  # infinite draws: infinite CRPS
        spread = 2.0 / m**2 * (x @ (2.0 * np.arange(1, m + 1) - m - 1))
        crps = np.abs(x - y[:, None]).mean(axis=-1) - 0.5 * spread
    return np.where(np.isfinite(x).all(axis=-1), crps, np.inf)


def score_draws(
    draws: xr.DataArray,
    observed,
    *,
    point=None,
    levels: Sequence[float] = LEVELS,
) -> xr.Dataset:
    r"""Score predictive draws of held-out losses against the observed losses.

    Parameters
    ----------
    draws : xarray.DataArray
        Predicted loss (nats/token) with dim ``run`` and one or more sample dims (every
        other dim, e.g. ``chain``, ``draw``). A single sample is a point forecast.
    observed : array_like
        Observed loss of each run, nats/token.
    point : array_like, optional
        Point forecast of each run (nats/token); default the median of the draws.
    levels : sequence of float
        Central interval probabilities to check.

    Returns
    -------
    xarray.Dataset
        Along ``run``: ``rel_err`` (point minus observed, over observed; 1), ``pit``
        (fraction of draws below the observation, ties counted half; 1), ``hit_<pct>``
        (observation inside the central interval; 1), ``width_90`` (90% interval width over
        the observed loss; 1), ``crps`` (nats/token), ``crps_log`` (CRPS of the log loss;
        1) and ``median`` (nats/token). With one sample the interval scores are NaN.

    Notes
    -----
    .. math::

        \mathrm{PIT} = \hat F(y), \qquad
        \mathrm{CRPS} = \frac1m\sum_i |x_i - y| - \frac{1}{m^2}\sum_i (2i - m - 1)\,x_{(i)}

    ``crps_log`` is the same score of :math:`\log x` against :math:`\log y`: for small
    errors it is the CRPS relative to the loss. It is the score to compare across models
    whose predictive is Student-t on the log scale: :math:`E[e^X]` is infinite for a
    Student-t :math:`X` of any degrees of freedom, so such a predictive has no finite CRPS
    on the loss scale, and ``crps`` of its draws is dominated by the largest draw (it does
    not settle as draws are added). On the log scale the CRPS is finite for :math:`\nu > 1`.

    References
    ----------
    Gneiting & Raftery 2007, "Strictly proper scoring rules, prediction, and estimation",
    JASA 102(477), eq. 21.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = xr.DataArray(rng.normal(3.0, 0.1, (1, 4000, 2)), dims=("chain", "draw", "run"))
    >>> s = score_draws(draws, [3.0, 3.2])
    >>> s["pit"].round(2).values.tolist(), int(s["hit_90"][1])
    ([0.51, 0.98], 0)
    """
    sample_dims = [d for d in draws.dims if d != "run"]
    flat = draws.transpose("run", *sample_dims).values.reshape(draws.sizes["run"], -1)
    y = np.asarray(observed, float)
    median = np.median(flat, axis=-1)
    guess = median if point is None else np.asarray(point, float)
    below = (flat < y[:, None]).mean(-1) + 0.5 * (flat == y[:, None]).mean(-1)
    out = {
        "rel_err": ("run", (guess - y) / y, {"units": "1", "long_name": "relative error"}),
        "pit": ("run", below, {"units": "1", "long_name": "probability integral transform"}),
        "crps": ("run", _crps(flat, y), {**LOSS_ATTRS, "long_name": "CRPS"}),
        "crps_log": (
            "run",
            _crps(np.log(np.clip(flat, _TINY, _HUGE)), np.log(y)),
            {"units": "1", "long_name": "CRPS of log loss"},
        ),
        "median": ("run", median, {**LOSS_ATTRS, "long_name": "predictive median"}),
    }
    single = flat.shape[-1] == 1
    levels = sorted(set(levels) | {0.9})
    bounds = eti(flat, levels, axis=-1)[1]  # (run, level, bound); infinite draws kept
    for i, level in enumerate(levels):
        lo, hi = bounds[..., i, 0], bounds[..., i, 1]
        hit = np.where(single, np.nan, (lo <= y) & (y <= hi))
        name = f"hit_{round(100 * level)}"
        out[name] = ("run", hit, {"units": "1", "long_name": f"inside central {level:.0%}"})
        if level == 0.9:
            width = np.where(single, np.nan, (hi - lo) / y)
            out["width_90"] = ("run", width, {"units": "1", "long_name": "90% width / loss"})
    return xr.Dataset({k: xr.Variable(*v) for k, v in out.items()})


def summarise(scores: xr.Dataset) -> xr.Dataset:
    """Reduce per-run scores (``score_draws``) to one row per method.

    Parameters
    ----------
    scores : xarray.Dataset
        Output of :func:`score_draws`, optionally with further dims (e.g. ``model``).

    Returns
    -------
    xarray.Dataset
        ``median_abs_rel_err``, ``coverage_<pct>`` (fraction of runs inside each band),
        ``mean_width_90`` (mean 90% width over loss), ``mean_crps`` (nats/token) and
        ``mean_crps_log`` (1, when the scores have ``crps_log``), reduced over ``run`` (NaN
        where a method has no bands).

    Examples
    --------
    >>> s = xr.Dataset({"rel_err": ("run", [0.01, -0.03]), "hit_90": ("run", [1.0, 0.0]),
    ...                 "width_90": ("run", [0.02, 0.04]), "crps": ("run", [0.01, 0.03])})
    >>> float(summarise(s)["coverage_90"]), float(summarise(s)["median_abs_rel_err"])
    (0.5, 0.02)
    """
    out = {"median_abs_rel_err": abs(scores["rel_err"]).median("run")}
    for name in sorted(v for v in scores.data_vars if str(v).startswith("hit_")):
        out[f"coverage_{str(name)[4:]}"] = scores[name].mean("run", skipna=False)
    out["mean_width_90"] = scores["width_90"].mean("run", skipna=False)
    out["mean_crps"] = scores["crps"].mean("run")
    if "crps_log" in scores:
        out["mean_crps_log"] = scores["crps_log"].mean("run")
    ds = xr.Dataset(out)
    for name in ds.data_vars:
        ds[name].attrs = {"units": "nats/token" if name == "mean_crps" else "1"}
    return ds


def _noise_of_measurement(loss: xr.DataArray, sd, seed: int) -> xr.DataArray:
    """Add a held-out point's known measurement SD (nats/token) to predictive draws."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    sd = xr.DataArray(np.asarray(sd, float), dims="run")
    eps = xr.DataArray(standard_noise(rng, loss.shape), dims=loss.dims)
    return (loss * np.exp(sd / loss * eps)).transpose(*loss.dims)


def _predict_ours(result: Fit | Stack, test: pd.DataFrame, seed: int):
    """Predictive and mean-curve draws at the held-out runs, along ``run``.

    The predictive is one new run plus the held-out run's known measurement SD. For an
    averaged posterior both are its mixture draws (the same draws allocated to the same
    components, so the point forecast and the predictive agree).
    """
    new = predict_runs(result, test, include_noise=True, seed=seed)
    mean = predict_runs(result, test, include_noise=False, seed=seed)
    if "loss_sd" in test and test["loss_sd"].notna().any():
        new = _noise_of_measurement(new, test["loss_sd"].fillna(0.0).to_numpy(), seed)
    return new, mean


def _baseline(train, test, groups, n_bootstrap: int, seed: int, grid: np.ndarray):
    """Point prediction, bootstrap draws and bootstrap+noise draws (run, draw) per group.

    ``grid``: the point fit's starts (:data:`forecast.studies.baseline.GRID` as the caller
    sees it, passed on to a child process).
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
    point = np.empty(len(test))
    boot = np.empty((len(test), n_bootstrap))
    sds = np.empty(len(test))
    train_keys = train[groups].astype(str) if groups else pd.Series("all", index=train.index)
    test_keys = test[groups].astype(str).to_numpy() if groups else np.full(len(test), "all")
    for key in pd.unique(test_keys):
        idx = np.flatnonzero(test_keys == key)
        sub = train[train_keys.to_numpy() == key] if key in set(train_keys) else train
        full = fit_point(sub, grid=grid)
        reps = bootstrap_point(sub, n_bootstrap=n_bootstrap, seed=seed, start=full)
        N, D = test["N"].to_numpy(float)[idx], test["D"].to_numpy(float)[idx]
        point[idx] = predict_point(full, N, D).values
        boot[idx] = predict_point(reps, N, D).transpose("point", "draw").values
        sds[idx] = full.attrs["residual_sd"]
    noisy = boot * np.exp(sds[:, None] * rng.standard_normal(boot.shape))
    as_da = lambda a: xr.DataArray(a, dims=("run", "draw"))  # noqa: E731
    return point, as_da(boot), as_da(noisy)


class _BaselineBeside:
    """:func:`_baseline` computed in a child Python process while the caller fits.

    The baseline is one core's work (about 4500 + 4000 L-BFGS-B runs per group: 12-50 s
    per backtest of ``bench/backtest.py``) and the fits leave a core partly idle (compiling
    uses one; sampling 4 chains on 2 cores keeps 1.4-1.8 busy). A thread would not do:
    the baseline's Python loop holds the GIL and stalled a fit's compilation (a 8 s fit
    took 45 s beside it). A plain ``python -c`` child, unlike ``multiprocessing``, never
    re-runs the caller's script. The result is the same wherever it runs: its own seeded
    generator, no shared state. Leaving the ``with`` block stops the child.
    """

    def __init__(self, train, test, groups, n_bootstrap: int, seed: int) -> None:
        self._proc = None
        if not n_bootstrap:
            return
        self._folder = Path(tempfile.mkdtemp(prefix="backtest-baseline-"))
        try:
            with (self._folder / "in.pkl").open("wb") as fh:
                pickle.dump((train, test, groups, n_bootstrap, seed, point_fit.GRID), fh)
            # the child finds the modules the caller imported, wherever they came from
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
            code = "from forecast.studies.backtest import _baseline_child; _baseline_child()"
            with (self._folder / "stderr.txt").open("wb") as err:
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", code, str(self._folder)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=env,
                )
        except BaseException:  # no child to clean up after: the folder goes now
            shutil.rmtree(self._folder, ignore_errors=True)
            raise

    def __enter__(self) -> _BaselineBeside:
        return self

    def result(self):
        """Wait for the child; its ``(point, boot, noisy)``, or None without a bootstrap."""
        if self._proc is None:
            return None
        code = self._proc.wait()
        out = self._folder / "out.pkl"
        if not out.exists():
            tail = (self._folder / "stderr.txt").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the point-fit baseline's process exited with {code}:\n{tail}")
        with out.open("rb") as fh:
            status, value = pickle.load(fh)  # written by _baseline_child from our own data
        if status == "error":
            raise value
        return value

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            shutil.rmtree(self._folder, ignore_errors=True)


def _baseline_child() -> None:
    """Entry point of :class:`_BaselineBeside`'s child: arguments in, result or error out."""
    folder = Path(sys.argv[1])
    with (folder / "in.pkl").open("rb") as fh:
        args = pickle.load(fh)
    try:
        outcome = ("ok", _baseline(*args))
    except Exception as exc:  # re-raised in the caller by _BaselineBeside.result
        outcome = ("error", exc)
    write_atomic(folder / "out.pkl", lambda tmp: Path(tmp).write_bytes(pickle.dumps(outcome)))


def _published(test: pd.DataFrame, fit_ids: Sequence[str]) -> dict[str, np.ndarray]:
    table = load_dataset("published_fits").set_index("fit_id")
    out = {}
    for fit_id in fit_ids:
        if fit_id not in table.index:
            raise ConfigError(f"unknown published fit {fit_id!r}; choose from {list(table.index)}")
        row = table.loc[fit_id]
        N, D = test["N"].to_numpy(float), test["D"].to_numpy(float)
        coef = {k: float(row[k]) for k in ("E", "A", "alpha", "B", "beta")}
        extra = str(row.get("extra", ""))
        stars = dict(re.findall(r"(R_[DN])\*=([0-9.]+)", extra))
        if "data-constrained" in str(row["form"]) and "unique_tokens" in test and stars:
            p = {"log_A": np.log(coef["A"]), "log_B": np.log(coef["B"]), "E": coef["E"]}
            p |= {"alpha": coef["alpha"], "beta": coef["beta"]}
            p |= {"R_D_star": float(stars["R_D"]), "R_N_star": float(stars["R_N"])}
            log_U = np.log(test["unique_tokens"].to_numpy(float))
            out[fit_id] = np.exp(data_constrained.log_loss(np.log(N), np.log(D), p, log_U=log_U))
        else:
            out[fit_id] = predict_point(
                xr.Dataset({"log_A": np.log(coef["A"]), "log_B": np.log(coef["B"])}).assign(
                    log_E=np.log(coef["E"]), alpha=coef["alpha"], beta=coef["beta"]
                ),
                N,
                D,
            ).values
    return out


def _as_configs(config) -> dict[str, FitConfig]:
    if isinstance(config, FitConfig):
        return {"ours": config}
    configs = dict(config) if isinstance(config, Mapping) else {}
    if not configs or not all(isinstance(c, FitConfig) for c in configs.values()):
        raise ConfigError("config must be a FitConfig or a non-empty mapping of name to FitConfig")
    return configs


def _posterior_summary(result: Fit) -> dict[str, str]:
    """Population-level law parameters and noise terms as "median [5%, 95%]" attrs."""
    post = result.posterior
    names = [*get_law(result.config.law).params, "sigma", "tau", "nu"]
    out = {}
    for name in (n for n in names if n in post):
        med, (lo, hi) = eti(np.ravel(post[name].values), 0.9)
        out[f"posterior_{name}"] = f"{med:.4g} [{lo:.4g}, {hi:.4g}]"
    return out


def backtest(
    runs: pd.DataFrame,
    *,
    split,
    config: FitConfig | Mapping[str, FitConfig] = FitConfig(),
    stack: str | None = None,
    n_bootstrap: int = 4000,
    published: Sequence[str] = PUBLISHED,
    levels: Sequence[float] = LEVELS,
    seed: int = 0,
) -> xr.Dataset:
    r"""Fit on part of the runs, predict the rest, and score ours against the baselines.

    Parameters
    ----------
    runs : pandas.DataFrame
        Runs in the tidy schema (``N`` parameters, ``D`` tokens, ``loss`` nats/token, …);
        restrict them beforehand to the runs that take part (e.g. drop sizes above the
        held-out one).
    split : str or array_like of bool
        Which runs to fit: see :func:`split_runs` (``"C<1e20"``, ``"N<=1.6e8"``,
        ``"C<=q0.6667"``, a mask). The other runs are held out.
    config : FitConfig or mapping of str to FitConfig
        Our model: one config (reported as ``"ours"``) or several by name (each reported
        under its name). A held-out run's group is its group in the fit, or a new group
        drawn from the population when the fit has not seen it.
    stack : {None, "lfo", "loo"}
        With several configs, also report their Bayesian stack as ``"stacked"``: the
        averaged posterior of :func:`forecast.studies.stacking.fit_averaged` on the training runs
        (the one an analyst forecasts with), its draws allocated to components by weight,
        the weights from the training runs only — ``"lfo"``:
        leave-future-out stacking along the split variable
        (:func:`forecast.studies.stacking.lfo_weights`; one extra fit per config on the lower
        part of the training runs), ``"loo"``:
        PSIS-LOO stacking (:func:`forecast.studies.stacking.compare_fits`).
    n_bootstrap : int
        Bootstrap resamples of the point-fit baseline (0 skips the baselines).
    published : sequence of str
        ``fit_id`` values of ``load_dataset("published_fits")`` used as fixed laws.
    levels : sequence of float
        Central interval probabilities whose coverage is reported.
    seed : int
        Seed of the predictive noise, the bootstrap and the stack (its LFO densities and
        allocation of draws; each fit keeps its config's own seed).

    Returns
    -------
    xarray.Dataset
        Dims ``model`` and ``run`` (the held-out runs, with coords ``N`` parameters, ``D``
        tokens, ``C`` FLOP, ``loss`` nats/token and ``group``). Per run and model the
        scores of :func:`score_draws`; per model the summary of :func:`summarise`. With
        several configs, their PSIS-LOO table on the training runs (``loo_<var>`` along
        ``component``, see :func:`compare_fits`). Attrs: ``split``, ``n_train``, ``n_test``,
        ``train_log10_C`` and ``train_max_log10_C`` (FLOP, log10), ``package_version``,
        ``config_hash`` (first config), ``configs`` (JSON of each), ``seed``, ``law``,
        ``divergences`` and ``max_r_hat`` of each fit, ``posterior_<param>`` of the first
        fit (median and 90% interval), ``loo_stacking_weights`` and, with ``stack="lfo"``,
        ``lfo_stacking_weights`` (also ``lfo_weight``, ``lfo_elpd`` along ``component``).

    Raises
    ------
    ConfigError
        On a bad split or config.
    DataError
        On invalid runs.

    Notes
    -----
    The held-out predictive is :math:`p(\tilde L \mid \text{train}) = \int p(\tilde L \mid
    \theta_g, \sigma)\, p(\theta, \sigma \mid \text{train})\, d\theta\, d\sigma`, evaluated
    with the posterior draws; coverage of a level :math:`q` is the fraction of held-out
    runs inside the central :math:`q` interval of its draws.

    References
    ----------
    Besiroglu et al. 2024, arXiv:2404.10102 (bootstrap baseline); Gneiting & Raftery 2007
    (CRPS, PIT); Yao et al. 2018 (stacking).

    Examples
    --------
    >>> runs = pd.read_csv("tests/data/chinchilla.csv")  # doctest: +SKIP
    >>> bt = backtest(runs, split="C<1e20", n_bootstrap=200)  # doctest: +SKIP
    >>> bt["coverage_90"].sel(model="ours").item()  # doctest: +SKIP
    0.9...
    """
    configs = _as_configs(config)
    runs = load_runs(runs)
    mask = split_runs(runs, split)
    train, test = runs[mask].reset_index(drop=True), runs[~mask].reset_index(drop=True)
    first = next(iter(configs.values()))
    for c in configs.values():
        if c.groups is not None and c.groups not in runs:
            raise DataError(f"<DataFrame>: no group column {c.groups!r}", column=c.groups)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)]
    y = test["loss"].to_numpy(float)
    if stack not in (None, "lfo", "loo"):
        raise ConfigError(f"stack must be None, 'lfo' or 'loo'; got {stack!r}")
    averaged = None
    # the point-fit baseline runs in a child process meanwhile (see _BaselineBeside)
    with _BaselineBeside(train, test, first.groups, n_bootstrap, seeds[2]) as baseline:
        if stack and len(configs) > 1:
            # the averaged posterior an analyst gets from fit_averaged, on the training runs
            column = _SPLIT.match(split).group(1) if isinstance(split, str) else "C"
            averaged = fit_averaged(train, configs, weights=stack, column=column, seed=seeds[1])
            fits = dict(averaged.components)
        else:
            fits = {name: fit(train, config=c) for name, c in configs.items()}
        baseline_draws = baseline.result()
    preds = {name: _predict_ours(f, test, seeds[0]) for name, f in fits.items()}
    scores = {
        name: score_draws(new, y, point=mean.median(_SAMPLE_DIMS), levels=levels)
        for name, (new, mean) in preds.items()
    }
    attrs, extra = _posterior_summary(fits[next(iter(fits))]), xr.Dataset()
    if len(fits) > 1:
        table = compare_fits(fits)
        extra = table.rename(model="component").rename({v: f"loo_{v}" for v in table.data_vars})
        weights = {n: float(table["weight"].sel(model=n)) for n in fits}
        attrs["loo_stacking_weights"] = repr({n: round(w, 4) for n, w in weights.items()})
    # where each component's band width comes from at the held-out runs (forecast.variance)
    sources = [variance_sources(f, test, seed=seeds[0])["variance"] for f in fits.values()]
    # components differ in their sources (a discrepancy, a law's parameters): outer join,
    # NaN where a component has no such source (xarray's default will become "exact")
    means = [v.mean("run") for v in sources]
    extra["variance"] = xr.concat(means, "component", join="outer").assign_coords(
        component=list(fits)
    )
    if averaged is not None and averaged.method == "lfo":
        weights = dict(zip(averaged.names, averaged.weights.values.tolist(), strict=True))
        extra["lfo_weight"] = ("component", averaged.weights.values)
        extra["lfo_elpd"] = ("component", averaged.scores["elpd_lfo"].values)
        attrs["lfo_stacking_weights"] = repr({n: round(w, 4) for n, w in weights.items()})
        split_attrs = averaged.scores.attrs
        attrs["lfo_split"] = f"fit {split_attrs['n_fit']}, score {split_attrs['n_scored']}"
    if averaged is not None:
        new, mean = _predict_ours(averaged, test, seeds[0])
        scores["stacked"] = score_draws(new, y, point=mean.median(_SAMPLE_DIMS), levels=levels)
    if n_bootstrap:
        point, boot, noisy = baseline_draws
        scores["bootstrap"] = score_draws(boot, y, point=point, levels=levels)
        scores["bootstrap+noise"] = score_draws(noisy, y, point=point, levels=levels)
    for fit_id, values in _published(test, published).items():
        draws = xr.DataArray(values[:, None], dims=("run", "draw"))
        scores[f"published:{fit_id}"] = score_draws(draws, y, levels=levels)
    per_run = xr.concat(list(scores.values()), dim="model", coords="minimal")
    per_run = per_run.assign_coords(model=list(scores))
    result = xr.merge([per_run, summarise(per_run), extra], compat="override")
    group_col = first.groups
    groups = test[group_col].astype(str).to_numpy() if group_col else np.full(len(y), "all")
    result = result.assign_coords(
        N=("run", test["N"].to_numpy(float), {"units": "parameters"}),
        D=("run", test["D"].to_numpy(float), {"units": "tokens"}),
        C=("run", _compute(test), {"units": "FLOP"}),
        loss=("run", y, LOSS_ATTRS),
        group=("run", groups),
    )
    log_C = np.log10(_compute(train))
    result.attrs = attrs | {
        "split": split if isinstance(split, str) else "mask",
        "n_train": len(train),
        "n_test": len(test),
        "train_log10_C": float(log_C.mean()),
        "train_max_log10_C": float(log_C.max()),
        "package_version": package_versions()["scaling-forecast"],
        "config_hash": first.config_hash,
        "configs": repr({n: c.to_json() for n, c in configs.items()}),
        "seed": seed,
        "law": first.law,
        "divergences": repr({n: int(f.diagnostics.attrs["divergences"]) for n, f in fits.items()}),
        "max_r_hat": repr(
            {n: round(float(f.diagnostics["r_hat"].max()), 4) for n, f in fits.items()}
        ),
    }
    return result


def _compute(runs: pd.DataFrame) -> np.ndarray:
    return FLOP_PER_PARAM_TOKEN * runs["N"].to_numpy(float) * runs["D"].to_numpy(float)
