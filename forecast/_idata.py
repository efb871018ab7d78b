"""The one module that touches InferenceData and arviz.

Every other module receives plain ``xr.Dataset`` / ``xr.DataArray`` objects from the
functions here. When pymc 6 / arviz 1 replace ``InferenceData`` with ``xarray.DataTree``,
this file is the one to edit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import xarray as xr

#: Start of arviz 0.2x's daily notice of its 1.0 refactor (a regex, as ``filterwarnings`` takes).
ARVIZ_NOTICE = r"\s*ArviZ is undergoing a major refactor"

with warnings.catch_warnings():
    # arviz 0.2x announces its 1.0 refactor on import, once a day; informational. The
    # message starts with a newline, which ``.*`` does not cross: match it with ``\s*``.
    warnings.filterwarnings("ignore", message=ARVIZ_NOTICE, category=FutureWarning)
    import arviz as az

InferenceData = az.InferenceData

#: Groups written by the package beyond arviz's schema.
EXTRA_GROUPS = ("fit_data",)


def new(groups: Mapping[str, xr.Dataset]) -> InferenceData:
    """Make an InferenceData from datasets keyed by group name."""
    known = {k: v for k, v in groups.items() if k not in EXTRA_GROUPS}
    idata = az.InferenceData(**known)
    extra = {k: v for k, v in groups.items() if k in EXTRA_GROUPS}
    if extra:
        _add_groups(idata, extra)
    return idata


def _add_groups(idata: InferenceData, groups: Mapping[str, xr.Dataset]) -> None:
    with warnings.catch_warnings():
        # arviz warns that non-schema groups are not part of its spec; ours are documented.
        warnings.filterwarnings("ignore", message=".*not part of the InferenceData schema.*")
        warnings.filterwarnings("ignore", message=".*group.*not defined in the InferenceData.*")
        idata.add_groups(dict(groups))


def with_groups(idata: InferenceData, groups: Mapping[str, xr.Dataset]) -> InferenceData:
    """Return a copy of ``idata`` with groups added or replaced."""
    out = idata.copy()
    existing = [g for g in groups if g in out.groups()]
    for name in existing:
        delattr(out, name)
        out._groups = [g for g in out._groups if g != name]
    _add_groups(out, groups)
    return out


def group(idata: InferenceData, name: str) -> xr.Dataset:
    """Return one group as an ``xr.Dataset``; ``KeyError`` naming the groups present."""
    if name not in idata.groups():
        raise KeyError(f"no group {name!r}; groups present: {list(idata.groups())}")
    return getattr(idata, name)


def has_group(idata: InferenceData, name: str) -> bool:
    """Whether ``idata`` has group ``name``."""
    return name in idata.groups()


def group_names(idata: InferenceData) -> list[str]:
    """Names of the groups present."""
    return list(idata.groups())


def thinned(idata: InferenceData, step: int) -> InferenceData:
    """Return ``idata`` with every ``step``-th draw (the first kept), renumbered from 0.

    Groups without a ``draw`` dimension, and the root attributes, are kept as they are;
    ``sample_stats`` records the E-BFMI of the unthinned chains (:func:`bfmi`).
    """
    groups = {}
    for name in group_names(idata):
        ds = group(idata, name)
        if "draw" in ds.dims:
            before = bfmi(ds).tolist() if name == "sample_stats" and "energy" in ds else None
            ds = ds.isel(draw=slice(None, None, step))
            ds = ds.assign_coords(draw=np.arange(ds.sizes["draw"]))
            if before is not None:
                ds.attrs[EBFMI_BEFORE_THINNING] = before
        groups[name] = ds
    return with_attrs(new(groups), attrs(idata))


def attrs(idata: InferenceData) -> dict:
    """Root attributes (package metadata)."""
    return dict(idata.attrs)


def with_attrs(idata: InferenceData, values: Mapping[str, object]) -> InferenceData:
    """Return a copy with root attributes updated."""
    out = idata.copy()
    out.attrs.update(values)
    return out


def to_netcdf(
    idata: InferenceData, path: str, *, base_group: str = "/", append: bool = False
) -> None:
    """Write every group to one NetCDF-4 file with h5netcdf.

    ``base_group`` puts the groups under a NetCDF group of that path (several fits in one
    file); ``append`` adds to an existing file instead of replacing it.
    """
    idata.to_netcdf(
        str(path), engine="h5netcdf", base_group=base_group, overwrite_existing=not append
    )


def from_netcdf(path: str, *, base_group: str = "/") -> InferenceData:
    """Read a file written by :func:`to_netcdf` fully into memory, and close it.

    Every group is read now (arviz reads lazily by default), so a damaged chunk in any
    group raises here, not later in whatever first touches it (``az.loo`` on
    ``log_likelihood``); HDF5's zlib streams carry their own checksum.
    """
    with warnings.catch_warnings(), az.rc_context({"data.load": "eager"}):
        warnings.filterwarnings("ignore", message=".*not part of the InferenceData schema.*")
        warnings.filterwarnings("ignore", message=".*group.*not defined in the InferenceData.*")
        idata = az.InferenceData.from_netcdf(str(path), engine="h5netcdf", base_group=base_group)
    return idata


def root_attrs(path: str) -> dict:
    """Attributes of the root group of a NetCDF file (without reading its groups)."""
    with xr.open_dataset(str(path), engine="h5netcdf") as ds:
        return dict(ds.attrs)


def diagnostics_table(ds: xr.Dataset) -> dict[str, dict[str, float]]:
    """``az.summary(kind="diagnostics")`` of ``ds``, one row per variable element.

    Returns columns ``r_hat`` (rank-normalised split R-hat, Vehtari et al. 2021),
    ``ess_bulk``, ``ess_tail`` and ``sd`` (over chains and draws), each a mapping from the
    element's label (``alpha_group[a]``) to its value, unrounded.
    """
    table = az.summary(
        ds, kind="diagnostics", round_to="none", stat_funcs={"sd": np.std}, extend=True
    )
    return {k: table[k].astype(float).to_dict() for k in ("r_hat", "ess_bulk", "ess_tail", "sd")}


def ess(ds: xr.Dataset, kind: str) -> xr.Dataset:
    """Effective sample size, ``kind`` = ``"bulk"`` or ``"tail"``."""
    return az.ess(ds, method=kind)


#: Attribute of a thinned ``sample_stats`` holding the E-BFMI of the chains before thinning.
EBFMI_BEFORE_THINNING = "ebfmi_before_thinning"


def bfmi(sample_stats: xr.Dataset) -> np.ndarray:
    """E-BFMI per chain from the energy in ``sample_stats``.

    Of thinned draws (:func:`thinned`), the value of the chains before thinning: E-BFMI
    compares successive transitions' energies, and draws two transitions apart would
    overstate it.
    """
    if EBFMI_BEFORE_THINNING in sample_stats.attrs:
        return np.atleast_1d(np.asarray(sample_stats.attrs[EBFMI_BEFORE_THINNING], float))
    return np.asarray(az.bfmi(sample_stats["energy"].values))


def hdi(
    da: xr.DataArray, ci_prob: float, sample_dims: tuple[str, ...] = ("chain", "draw")
) -> xr.DataArray:
    """Highest-density interval over ``sample_dims``; dim ``hdi`` of length 2."""
    ds = da.rename(None).to_dataset(name="x")
    return az.hdi(ds, hdi_prob=ci_prob, input_core_dims=[list(sample_dims)])["x"]


def loo(idata: InferenceData, var_name: str = "log_loss"):
    """PSIS-LOO from the stored pointwise log-likelihood."""
    return az.loo(idata, var_name=var_name, pointwise=True)


# --- plain xarray results (exhaustion, forecasts): written by the CLI via io.write_atomic ---
def dataset_to_netcdf(
    ds: xr.Dataset, path: str, *, group: str | None = None, append: bool = False
) -> None:
    """Write a plain ``xr.Dataset`` (not InferenceData) to NetCDF-4 with h5netcdf.

    ``group`` writes it as that NetCDF group; ``append`` adds to an existing file.
    """
    ds.to_netcdf(str(path), engine="h5netcdf", group=group, mode="a" if append else "w")


# --- sensitivity studies: read plain xarray results; power-scaling sensitivity ---
def dataset_from_netcdf(path: str, *, group: str | None = None) -> xr.Dataset:
    """Read a plain ``xr.Dataset`` written by :func:`dataset_to_netcdf` fully into memory."""
    with xr.open_dataset(str(path), engine="h5netcdf", group=group) as ds:
        return ds.load()


def power_scaling_sensitivity(
    posterior: xr.Dataset,
    log_prior: xr.Dataset,
    log_likelihood: xr.Dataset,
    *,
    component: str,
    delta: float = 0.01,
) -> xr.Dataset:
    """Power-scaling sensitivity (``az.psens``) of each variable of ``posterior``.

    ``component="prior"`` scales the summed ``log_prior`` variables given, ``"likelihood"``
    the pointwise log likelihood; values above 0.05 flag sensitivity (Kallioinen et al. 2024).
    """
    idata = az.InferenceData(
        posterior=posterior, log_prior=log_prior, log_likelihood=log_likelihood
    )
    return az.psens(
        idata,
        component=component,
        component_var_names=list(log_prior.data_vars) if component == "prior" else None,
        var_names=list(posterior.data_vars),
        delta=delta,
    )


# --- model comparison for backtests: PSIS-LOO and stacking (used by forecast.studies.backtest) ---
#: arviz warns when a Pareto k exceeds 0.7; the k values are returned and reported instead.
_PARETO_WARNING = ".*[Ee]stimated shape parameter of Pareto distribution.*"


def loo_pointwise(idata: InferenceData, var_name: str = "log_loss") -> xr.Dataset:
    """PSIS-LOO of one fit as a Dataset: totals and pointwise values along ``run``.

    Variables: ``elpd_loo``, ``se``, ``p_loo`` (scalars, log density of log loss) and
    ``elpd_i``, ``pareto_k`` (dim ``run``). The Pareto-k warning of arviz is not repeated:
    the k values are in the result.
    """
    return _loo_dataset(_loo_quiet(idata, var_name))


def _loo_quiet(idata: InferenceData, var_name: str):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PARETO_WARNING)
        return az.loo(idata, var_name=var_name, pointwise=True)


def _loo_dataset(res) -> xr.Dataset:
    return xr.Dataset(
        {
            "elpd_loo": float(res["elpd_loo"]),
            "se": float(res["se"]),
            "p_loo": float(res["p_loo"]),
            "elpd_i": ("run", np.asarray(res["loo_i"]).ravel()),
            "pareto_k": ("run", np.asarray(res["pareto_k"]).ravel()),
        }
    )


def loo_compare(
    idatas: Mapping[str, InferenceData], var_name: str = "log_loss"
) -> tuple[dict[str, xr.Dataset], dict[str, np.ndarray]]:
    """PSIS-LOO of each fit (as :func:`loo_pointwise`) and ``az.compare`` of them.

    Returns the LOO Datasets by name and, in the order of ``idatas``, the columns
    ``elpd_diff``, ``dse`` and ``weight`` of ``az.compare(ic="loo", method="stacking")``.
    """
    res = {name: _loo_quiet(idata, var_name) for name, idata in idatas.items()}
    with warnings.catch_warnings():
        # arviz 0.23 sorts with pandas' deprecated inplace=True; nothing for us to change
        warnings.filterwarnings("ignore", message=".*inplace keyword in DataFrame.sort_values")
        table = az.compare(res, ic="loo", method="stacking", scale="log").loc[list(idatas)]
    columns = {k: table[k].to_numpy(float) for k in ("elpd_diff", "dse", "weight")}
    return {name: _loo_dataset(r) for name, r in res.items()}, columns
