r"""Sensitivity studies as plain data: read a study file and plan its configurations.

A *study* (a TOML/YAML/JSON file or a dict, see :func:`load_study`) names the runs, a
baseline, and *axes* — the choices to vary: prior preset (``preset``), the factor on the SD
of the exponent and floor priors (``prior_scale``), law form (``law``), ``likelihood``,
the model discrepancy (``discrepancy``: ``"compute"`` or ``"none"``), the
groups fitted (``subset``: ``"all"``, ``"without:a,b"``, ``"only:a,b"``), a compute cutoff
of the training data in FLOP (``compute_cutoff``), the prior on the stock of text
(``stock``) and the FLOP convention (``flop_per_param_token``, k in C = kND). Its
configurations are the cartesian product of the axes (``design = "product"``), the baseline
plus each axis varied alone (``"one_at_a_time"``, what a tornado plot needs), or a listed
subset (``[[configurations]]``, each a few axis values on top of the baseline).

:func:`plan` turns a study into configurations without running anything: each gets its
``FitConfig``, the runs it fits and a content hash (fit config + those runs + the summary
settings) that names its result file. A configuration that cannot be built (an unknown law,
a preset that does not serve the law, an empty subset) is returned with its ``error`` set,
so one bad cell never stops a study. :mod:`forecast.studies.sensitivity` runs the plan;
:func:`axis_effects` ranks the axes of its result (the bars of a tornado plot).

Prior scale: the factor multiplies ``sigma`` of the priors of the law's parameters that are
not log-scale coefficients — the exponents and the floor (and, for ``data_constrained``, the
repetition constants R*), as ``prior_overrides`` on top of the preset, so a scale of 1 is
exactly the preset's fit.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.config import DEFAULT_MODEL, FitConfig, SamplerConfig
from forecast.errors import ConfigError
from forecast.exhaustion import DEFAULT_STOCK, StockPrior
from forecast.fit import data_hash
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN
from models.laws import get_law
from models.priors import PriorSpec, resolve_priors

__all__ = ["AXES", "STOCKS", "Configuration", "Study", "axis_effects", "load_study", "plan"]

#: Study axes: name -> (default value, units, long_name).
AXES: dict[str, tuple[object, str, str]] = {
    "preset": ("weak", "label", "prior preset"),
    "prior_scale": (1.0, "1", "factor on the SD of the exponent and floor priors"),
    "law": ("chinchilla", "label", "law form"),
    "likelihood": (DEFAULT_MODEL["likelihood"], "label", "likelihood of log loss"),
    "discrepancy": (
        DEFAULT_MODEL["discrepancy"] or "none",
        "label",
        "model discrepancy ('compute' or 'none')",
    ),
    "subset": ("all", "label", "groups fitted ('all', 'without:a,b' or 'only:a,b')"),
    "compute_cutoff": (math.inf, "FLOP", "largest training compute of a fitted run"),
    "stock": ("villalobos2024", "label", "prior on the stock of human text"),
    "flop_per_param_token": (FLOP_PER_PARAM_TOKEN, "FLOP/(parameter token)", "FLOP convention"),
}
_FLOAT_AXES = ("prior_scale", "compute_cutoff", "flop_per_param_token")
DESIGNS = ("product", "one_at_a_time", "listed")
#: Bumped whenever a summary changes meaning, so cached results are not reused across it.
SUMMARY_VERSION = 2
_STUDY_KEYS = {
    "name", "dataset", "runs", "query", "groups", "subset_column", "forecast_group", "N",
    "ci_prob", "seed", "design", "sampler", "axes", "baseline", "stocks", "configurations",
    "exhaustion_year",
}  # fmt: skip


#: Stock priors a study may name without defining them (Villalobos et al. 2024).
STOCKS = {"villalobos2024": DEFAULT_STOCK}


@dataclass(frozen=True)
class Study:
    """A sensitivity study as plain data (build it with :func:`load_study`).

    Parameters
    ----------
    name : str
        Label of the study.
    runs : pandas.DataFrame
        The runs every configuration starts from (tidy schema).
    axes : dict of str to tuple
        Axis name -> values; the dims of the result, in this order.
    baseline : dict
        Value of every axis in :data:`AXES` for the baseline configuration.
    design : {"product", "one_at_a_time", "listed"}
        How configurations are formed from the axes.
    configurations : tuple of dict
        Axis values of each configuration of a ``"listed"`` design (missing = baseline).
    groups, subset_column, forecast_group : str or None
        Grouping column of every fit; column the ``subset`` axis filters; group forecast
        (``None``: a new group from the population).
    N : float
        Parameters of the forecast model.
    ci_prob : float
        Probability of reported intervals (equal-tailed).
    seed : int
        Seed of every fit (common random numbers).
    sampler : SamplerConfig
        NUTS settings of every fit (``cores=1``: each worker samples on one core).
    stocks : dict of str to StockPrior
        Stock priors (:class:`forecast.exhaustion.StockPrior`) the ``stock`` axis may name.
    exhaustion_year : bool
        Also fit the frontier dataset-size trend (one extra fit per study) and report the
        year the trend reaches the stock and the tokens needed.
    source : str
        Where the runs came from (dataset name or file, and the query).
    """

    name: str
    runs: pd.DataFrame
    axes: dict
    baseline: dict
    design: str = "product"
    configurations: tuple = ()
    groups: str | None = None
    subset_column: str | None = None
    forecast_group: str | None = None
    N: float = 1e13
    ci_prob: float = CI_PROB
    seed: int = 0
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    stocks: dict = field(default_factory=lambda: dict(STOCKS))
    exhaustion_year: bool = False
    source: str = ""


def _axis_value(axis: str, value):
    if axis not in _FLOAT_AXES:
        if not isinstance(value, str):
            raise ConfigError(f"axis {axis!r} takes names (strings), got {value!r}")
        return value
    if isinstance(value, str) and value.lower() in ("none", "inf") and axis == "compute_cutoff":
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"axis {axis!r} takes numbers > 0, got {value!r}")
    return float(value)


def _read_mapping(path: Path) -> dict:
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        return tomllib.loads(text)
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - PyYAML ships with dask
            raise ConfigError(f"{path}: reading YAML needs PyYAML; use TOML") from exc
        return yaml.safe_load(text)
    if path.suffix == ".json":
        return json.loads(text)
    raise ConfigError(f"{path}: a study file must end in .toml, .yaml, .yml or .json")


def _load_runs(data: Mapping, base: Path | None) -> tuple[pd.DataFrame, str]:
    from forecast.data.catalog import load_dataset
    from forecast.data.runs import load_runs

    if ("dataset" in data) == ("runs" in data):
        raise ConfigError("a study names exactly one of 'dataset' (bundled) or 'runs' (CSV)")
    if "dataset" in data:
        runs, source = load_dataset(data["dataset"]), f"dataset {data['dataset']}"
    elif isinstance(data["runs"], pd.DataFrame):
        runs, source = load_runs(data["runs"]), "<DataFrame>"
    else:
        path = Path(data["runs"])
        path = path if path.is_absolute() or base is None else base / path
        runs, source = load_runs(path), path.name
    if data.get("query"):
        try:
            runs = runs.query(data["query"]).reset_index(drop=True)
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ConfigError(
                f"query {data['query']!r} is not a valid pandas query: {exc}"
            ) from exc
        source += f" where {data['query']}"
    if runs.empty:
        raise ConfigError(f"the study selects no runs ({source})")
    return runs, source


def load_study(source: str | Path | Mapping) -> Study:
    """Read and check a study definition.

    Parameters
    ----------
    source : str, Path or mapping
        A ``.toml``, ``.yaml``/``.yml`` or ``.json`` file, or the same content as a dict
        (where ``runs`` may also be a DataFrame). Keys: ``dataset`` (bundled) or ``runs``
        (CSV path, relative to the file), ``query``, ``groups``, ``subset_column``,
        ``forecast_group``, ``N`` (parameters), ``ci_prob``, ``seed``, ``design``,
        ``[sampler]``, ``[axes]`` (axis -> list of values; the first is the baseline),
        ``[baseline]``, ``[stocks]`` (name -> {median, lower, upper[, ci_prob]}, tokens),
        ``exhaustion_year`` (bool),
        ``[[configurations]]``.

    Returns
    -------
    Study
        The study, runs loaded.

    Raises
    ------
    ConfigError
        Unknown keys or axes, wrong value types, an unknown design, a missing runs source.
    DataError
        Invalid runs.

    Examples
    --------
    >>> study = load_study({"dataset": "gadre2024", "query": "eval_set == 'c4_val'",
    ...                     "groups": "corpus", "axes": {"prior_scale": [1.0, 2.0]}})
    >>> study.axes, study.baseline["prior_scale"]
    ({'prior_scale': (1.0, 2.0)}, 1.0)
    """
    base = None
    if not isinstance(source, Mapping):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such study file")
        data, base, default_name = _read_mapping(path), path.parent, path.stem
    else:
        data, default_name = dict(source), "study"
    unknown = sorted(set(data) - _STUDY_KEYS)
    if unknown:
        raise ConfigError(f"unknown study keys {unknown}; valid keys are {sorted(_STUDY_KEYS)}")
    runs, origin = _load_runs(data, base)
    listed = tuple(dict(c) for c in data.get("configurations", ()))
    design = data.get("design", "listed" if listed else "product")
    if design not in DESIGNS or (design == "listed") != bool(listed):
        raise ConfigError(
            f"design must be one of {list(DESIGNS)}, 'listed' with [[configurations]]"
        )
    axes: dict[str, list] = {}
    for name, values in dict(data.get("axes", {})).items():
        if name not in AXES:
            raise ConfigError(f"unknown axis {name!r}; axes are {list(AXES)}")
        values = values if isinstance(values, list | tuple) else [values]
        axes[name] = list(dict.fromkeys(_axis_value(name, v) for v in values))
        if not axes[name]:
            raise ConfigError(f"axis {name!r} has no values")
    baseline = {a: v[0] for a, v in axes.items()}
    for name, value in {**dict(data.get("baseline", {}))}.items():
        if name not in AXES:
            raise ConfigError(f"unknown baseline axis {name!r}; axes are {list(AXES)}")
        baseline[name] = _axis_value(name, value)
    for config in listed:
        for name, value in config.items():
            if name not in AXES:
                raise ConfigError(f"configuration {config} names unknown axis {name!r}")
            axes.setdefault(name, [baseline.get(name, AXES[name][0])])
            value = _axis_value(name, value)
            axes[name] += [] if value in axes[name] else [value]
    for name, values in axes.items():
        if name in baseline and baseline[name] not in values:
            values.insert(0, baseline[name])
    baseline = {a: baseline.get(a, default) for a, (default, _, _) in AXES.items()}
    stocks = dict(STOCKS)
    for name, spec in dict(data.get("stocks", {})).items():
        unknown = sorted(set(spec) - {"median", "lower", "upper", "ci_prob", "source"})
        if unknown:
            raise ConfigError(f"stock {name!r}: unknown keys {unknown}; use median, lower, upper")
        stocks[name] = StockPrior(**{"source": "study file", **dict(spec)})
    sampler = {"draws": 1000, "tune": 1000, "chains": 2, **dict(data.get("sampler", {}))}
    sampler.update(cores=1, progress=False)
    groups = data.get("groups")
    N, ci_prob = data.get("N", 1e13), data.get("ci_prob", CI_PROB)
    if not (isinstance(N, int | float) and math.isfinite(N) and N > 0 and 0 < ci_prob < 1):
        raise ConfigError(f"N must be > 0 parameters and 0 < ci_prob < 1; got {N!r}, {ci_prob!r}")
    return Study(
        name=str(data.get("name", default_name)),
        runs=runs,
        axes={a: tuple(v) for a, v in axes.items()},
        baseline=baseline,
        design=design,
        configurations=listed,
        groups=groups,
        subset_column=data.get("subset_column", groups),
        forecast_group=data.get("forecast_group"),
        N=float(N),
        ci_prob=float(ci_prob),
        seed=int(data.get("seed", 0)),
        sampler=SamplerConfig.from_dict(sampler),
        stocks=stocks,
        exhaustion_year=bool(data.get("exhaustion_year", False)),
        source=origin,
    )


# ------------------------------------------------------------------------------ planning


def _combinations(study: Study) -> list[dict]:
    """Axis values of each configuration (only the study's axes), duplicates removed."""
    names = list(study.axes)
    base = {a: study.baseline[a] for a in names}
    if study.design == "product":
        combos = [dict(zip(names, v, strict=True)) for v in itertools.product(*study.axes.values())]
    elif study.design == "one_at_a_time":
        combos = [base] + [{**base, a: v} for a in names for v in study.axes[a]]
    else:
        combos = [
            {**base, **{k: _axis_value(k, v) for k, v in c.items()}} for c in study.configurations
        ]
    unique = {json.dumps(c, sort_keys=True): c for c in combos}
    return list(unique.values())


def _subset(runs: pd.DataFrame, spec: str, column: str | None) -> pd.DataFrame:
    if spec == "all":
        return runs
    kind, _, names = spec.partition(":")
    labels = [n.strip() for n in names.split(",") if n.strip()]
    if kind not in ("without", "only") or not labels:
        raise ConfigError(f"subset {spec!r} must be 'all', 'without:a,b' or 'only:a,b'")
    if column is None or column not in runs:
        raise ConfigError(f"subset {spec!r} needs a group column ('groups' or 'subset_column')")
    present = set(runs[column].astype(str))
    missing = sorted(set(labels) - present)
    if missing:
        raise ConfigError(f"subset {spec!r}: groups {missing} not in column {column!r}")
    keep = runs[column].astype(str).isin(labels)
    return runs[~keep if kind == "without" else keep].reset_index(drop=True)


def _scaled_overrides(preset: str, law: str, likelihood: str, scale: float) -> dict:
    """Return overrides multiplying the SD of the exponent and floor priors by ``scale``."""
    if scale == 1.0:
        return {}
    spec = get_law(law)
    priors = resolve_priors(preset, law, None, likelihood)
    out = {}
    for key in (p for p in spec.params if p not in spec.centring):
        prior = priors[key]
        if "sigma" not in prior.params:
            raise ConfigError(f"prior_scale: prior of {key!r} ({prior.dist}) has no sigma")
        params = {**prior.params, "sigma": prior.params["sigma"] * scale}
        out[key] = PriorSpec(prior.dist, params, f"{prior.source} [sigma x{scale:g}]")
    return out


def content_hash(data) -> str:
    """First 16 hex digits of the SHA-256 of canonical JSON (sorted keys) of ``data``."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Configuration:
    """One planned configuration of a study.

    Attributes
    ----------
    values : dict
        Its value on each study axis.
    config_hash : str
        Content hash of the fit config, the runs fitted and the summary settings; names
        its result file.
    fit_key : str
        Content hash of the fit alone; configurations sharing it share one fit.
    fit_config : FitConfig or None
        What to fit (``None`` when ``error`` is set).
    runs : pandas.DataFrame or None
        The runs to fit, subset and cutoff applied.
    summary : dict
        JSON-ready settings of the forecast summary (N, ci_prob, FLOP convention, stock).
    error : str
        Why the configuration cannot be built; empty when it can.
    """

    values: dict
    config_hash: str = ""
    fit_key: str = ""
    fit_config: FitConfig | None = None
    runs: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)
    error: str = ""


def _prepare_one(study: Study, values: dict) -> Configuration:
    """Build one configuration; a problem is recorded in ``error``, never raised."""
    full = {**study.baseline, **values}
    item = Configuration(values=values)
    try:
        runs = _subset(study.runs, full["subset"], study.subset_column)
        k = full["flop_per_param_token"]
        if math.isfinite(full["compute_cutoff"]):
            runs = runs[k * runs["N"] * runs["D"] <= full["compute_cutoff"]].reset_index(drop=True)
        if runs.empty:
            raise ConfigError(f"no runs left after subset and compute cutoff ({full})")
        if full["stock"] not in study.stocks:
            raise ConfigError(f"unknown stock {full['stock']!r}; stocks are {sorted(study.stocks)}")
        overrides = _scaled_overrides(
            full["preset"], full["law"], full["likelihood"], full["prior_scale"]
        )
        item.fit_config = FitConfig(
            law=full["law"],
            priors=full["preset"],
            prior_overrides=overrides,
            groups=study.groups,
            likelihood=full["likelihood"],
            discrepancy=None if full["discrepancy"] == "none" else full["discrepancy"],
            sampler=study.sampler,
            seed=study.seed,
        )
        item.runs = runs
        stock = study.stocks[full["stock"]]
        item.summary = {
            "N": study.N,
            "ci_prob": study.ci_prob,
            "flop_per_param_token": k,
            "forecast_group": study.forecast_group,
            "stock": stock.to_dict(),
            "exhaustion_year": study.exhaustion_year,
            "version": SUMMARY_VERSION,
        }
        fit_part = {"fit": item.fit_config.to_dict(), "data_hash": data_hash(runs)}
        item.fit_key = content_hash(fit_part)
        item.config_hash = content_hash({**fit_part, "summary": item.summary})
        item.summary["config_hash"] = item.config_hash
        item.summary["values"] = {a: jsonable(v) for a, v in values.items()}
    except Exception as exc:  # any problem building the configuration is its failure
        item.error = f"{type(exc).__name__}: {exc}"
        item.config_hash = content_hash({"failed": {a: jsonable(v) for a, v in full.items()}})
    return item


def jsonable(value):
    """Return ``value`` ready for JSON: infinite floats become ``"inf"``."""
    return "inf" if isinstance(value, float) and math.isinf(value) else value


def plan(study: Study) -> list[Configuration]:
    """List the configurations of a study, each built but not run.

    Parameters
    ----------
    study : Study
        The study.

    Returns
    -------
    list of Configuration
        One per distinct combination of the design; a configuration that cannot be built
        carries its ``error`` instead of raising.

    Examples
    --------
    >>> study = load_study({"dataset": "gadre2024", "query": "eval_set == 'c4_val'",
    ...                     "groups": "corpus", "design": "one_at_a_time",
    ...                     "axes": {"law": ["chinchilla", "no_such_law"],
    ...                              "stock": ["villalobos2024", "tight"]},
    ...                     "stocks": {"tight": {"median": 3e14, "lower": 2e14, "upper": 4.5e14}}})
    >>> [(c.values["law"], c.values["stock"], bool(c.error)) for c in plan(study)]
    [('chinchilla', 'villalobos2024', False), ('no_such_law', 'villalobos2024', True), \
('chinchilla', 'tight', False)]
    """
    return [_prepare_one(study, values) for values in _combinations(study)]


def axis_effects(result: xr.Dataset, *, variable: str = "loss_median") -> xr.Dataset:
    r"""How far each axis moves a summary when the other axes stay at the baseline.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`sensitivity`.
    variable : str
        A scalar summary variable of ``result`` (default the loss median, nats/token).

    Returns
    -------
    xarray.Dataset
        Along dim ``axis`` (sorted by decreasing ``range``): ``low``, ``high`` (smallest
        and largest value of ``variable`` over the axis's values), ``range`` = high - low,
        ``low_value``/``high_value`` (the axis values giving them, as text) and attrs
        ``baseline_value`` (``variable`` at the baseline) and ``units``.

    Raises
    ------
    KeyError
        ``variable`` is not in ``result``.

    Notes
    -----
    .. math:: \text{range}_a = \max_{v \in a} y(v, b_{-a}) - \min_{v \in a} y(v, b_{-a})

    with :math:`b_{-a}` the baseline of the other axes: the bars of a tornado plot.
    """
    da = result[variable]
    baseline = json.loads(result.attrs["baseline"])
    axes = [d for d in da.dims if d in AXES]
    sel = {a: (math.inf if baseline[a] == "inf" else baseline[a]) for a in axes}
    rows = []
    for a in axes:
        line = da.sel({b: v for b, v in sel.items() if b != a})
        values = line.values.astype(float)
        if not np.isfinite(values).any():
            rows.append((a, np.nan, np.nan, "", ""))
            continue
        lo, hi = int(np.nanargmin(values)), int(np.nanargmax(values))
        rows.append((a, values[lo], values[hi], str(line[a].values[lo]), str(line[a].values[hi])))
    rows.sort(key=lambda r: -(r[2] - r[1]) if np.isfinite(r[2] - r[1]) else math.inf)
    units = da.attrs.get("units", "")
    out = xr.Dataset(
        {
            "low": ("axis", [r[1] for r in rows], {"units": units}),
            "high": ("axis", [r[2] for r in rows], {"units": units}),
            "range": ("axis", [r[2] - r[1] for r in rows], {"units": units}),
            "low_value": ("axis", [r[3] for r in rows], {"units": "label"}),
            "high_value": ("axis", [r[4] for r in rows], {"units": "label"}),
        },
        coords={"axis": [r[0] for r in rows]},
    )
    out["axis"].attrs.update({"units": "label", "long_name": "study axis"})
    out.attrs.update(
        {
            "variable": variable,
            "units": units,
            "baseline_value": float(da.sel(sel).values) if axes else math.nan,
            "long_name": da.attrs.get("long_name", variable),
        }
    )
    return out
