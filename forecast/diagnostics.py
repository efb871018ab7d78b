"""Convergence diagnostics of a fit, as a table and as a verdict.

Every fit is checked against fixed thresholds (``forecast.units``): rank-normalised
split R-hat ≤ 1.01 and bulk ESS ≥ 400 for every named parameter (Vehtari et al. 2021),
no divergent transitions, and E-BFMI ≥ 0.3 in every chain (Betancourt 2016). A failure is
a loud ``ConvergenceWarning`` recorded in the result, or a ``ConvergenceError`` under
``strict``: a posterior that failed them should not be quoted.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from forecast import _idata
from forecast.errors import ConvergenceError, ConvergenceWarning
from forecast.units import EBFMI_MIN, ESS_BULK_MIN, MAX_DIVERGENCES, RHAT_MAX
from models.build import OFFSET_PREFIXES

#: Sampled auxiliaries that are not parameters a user reads: the group offsets (the group
#: values ``<name>_group`` they make are checked).
_AUXILIARY_PREFIXES = OFFSET_PREFIXES


def _named(posterior: xr.Dataset) -> xr.Dataset:
    """Keep the parameters a user reads: all but offsets and centred intercepts.

    A centred intercept is ``<name>_c`` sampled for a log-scale coefficient ``<name>`` that
    the posterior also holds (``log_A_c`` for ``log_A``); it is the same quantity shifted
    by a constant. A name that merely ends in ``_c`` is a parameter: Kaplan's ``log_N_c``
    and ``log_D_c`` and their between-group scales ``sigma_log_N_c`` are gated like any
    other (their own centred intercepts are ``log_N_c_c`` and ``log_D_c_c``).
    """
    names = {str(v) for v in posterior.data_vars}
    keep = [
        v
        for v in posterior.data_vars
        if not str(v).startswith(_AUXILIARY_PREFIXES)
        and not (str(v).endswith("_c") and str(v)[:-2] in names)
    ]
    return posterior[keep]


def diagnose(idata) -> xr.Dataset:
    """Tabulate convergence diagnostics of a fitted posterior.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior with ``sample_stats`` (``diverging``, ``energy``).

    Returns
    -------
    xarray.Dataset
        Along dim ``parameter``: ``r_hat``, ``ess_bulk``, ``ess_tail`` (unitless).
        Attrs: ``divergences`` (count), ``draws`` (total), ``ebfmi_min``, ``passed``
        (bool as int), ``failures`` (JSON list of messages) and the thresholds used.

    Notes
    -----
    Parameters that are constant across draws (e.g. the group offset of a one-group
    fit) have undefined R-hat and are reported as NaN without failing the check.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter, Bürkner 2021, "Rank-normalization, folding, and
    localization: an improved R-hat", Bayesian Analysis 16(2).
    """
    posterior = _named(_idata.group(idata, "posterior"))
    stats = _idata.group(idata, "sample_stats")
    with warnings.catch_warnings():
        # constant parameters give 0/0 inside R-hat; they are reported as NaN below.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        columns = _idata.diagnostics_table(posterior)
    rhat, bulk, tail = columns["r_hat"], columns["ess_bulk"], columns["ess_tail"]
    names = list(rhat)
    constant = {name for name, value in columns["sd"].items() if not value > 0}
    for name in constant:
        rhat[name] = bulk[name] = tail[name] = np.nan
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    ebfmi = _idata.bfmi(stats) if "energy" in stats else np.array([np.nan])
    table = xr.Dataset(
        {
            "r_hat": ("parameter", [rhat[n] for n in names]),
            "ess_bulk": ("parameter", [bulk[n] for n in names]),
            "ess_tail": ("parameter", [tail[n] for n in names]),
        },
        coords={"parameter": names},
    )
    for var, long_name in (
        ("r_hat", "rank-normalised split R-hat"),
        ("ess_bulk", "bulk effective sample size"),
        ("ess_tail", "tail effective sample size"),
    ):
        table[var].attrs.update({"units": "1", "long_name": long_name})
    failures = _failures(table, divergences, ebfmi)
    table.attrs.update(
        {
            "divergences": divergences,
            "draws": int(posterior.sizes["chain"] * posterior.sizes["draw"]),
            "chains": int(posterior.sizes["chain"]),
            "ebfmi_min": float(np.nanmin(ebfmi)) if np.isfinite(ebfmi).any() else np.nan,
            "passed": int(not failures),
            "failures": json.dumps(failures),
            "rhat_max_allowed": RHAT_MAX,
            "ess_bulk_min_allowed": ESS_BULK_MIN,
            "ebfmi_min_allowed": EBFMI_MIN,
        }
    )
    return table


def _failures(table: xr.Dataset, divergences: int, ebfmi: np.ndarray) -> list[str]:
    failures = []
    rhat = table["r_hat"].to_series().dropna()
    bad = rhat[rhat > RHAT_MAX]
    if len(bad):
        worst = bad.sort_values(ascending=False)
        failures.append(
            f"R-hat > {RHAT_MAX} for {len(bad)} parameters (worst {worst.index[0]} = "
            f"{worst.iloc[0]:.3f})"
        )
    ess = table["ess_bulk"].to_series().dropna()
    low = ess[ess < ESS_BULK_MIN]
    if len(low):
        worst = low.sort_values()
        failures.append(
            f"bulk ESS < {ESS_BULK_MIN:.0f} for {len(low)} parameters (worst {worst.index[0]} = "
            f"{worst.iloc[0]:.0f})"
        )
    if divergences > MAX_DIVERGENCES:
        failures.append(
            f"{divergences} divergent transitions (raise target_accept or reparametrise)"
        )
    if np.isfinite(ebfmi).any() and np.nanmin(ebfmi) < EBFMI_MIN:
        failures.append(f"E-BFMI {np.nanmin(ebfmi):.2f} < {EBFMI_MIN} in some chain")
    return failures


def needs_more_draws(table: xr.Dataset) -> bool:
    """Whether a table of :func:`diagnose` fails a check that more draws can pass.

    R-hat above :data:`~forecast.units.RHAT_MAX` or bulk ESS below
    :data:`~forecast.units.ESS_BULK_MIN` for a named parameter; divergences and E-BFMI do
    not go away with more draws of the same sampler.
    """
    return bool((table["r_hat"] > RHAT_MAX).any() or (table["ess_bulk"] < ESS_BULK_MIN).any())


def summary_attrs(table: xr.Dataset) -> dict[str, float | int]:
    """Return the attrs a sampled result carries from its diagnostics (:func:`diagnose`).

    ``divergences``, ``r_hat_max`` (NaN when every R-hat is undefined), ``ess_bulk_min``
    and ``converged`` (1 when every check passed).
    """
    rhat = table["r_hat"].values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r_hat_max = float(np.nanmax(rhat)) if np.isfinite(rhat).any() else float("nan")
    return {
        "divergences": int(table.attrs["divergences"]),
        "r_hat_max": r_hat_max,
        "ess_bulk_min": float(np.nanmin(table["ess_bulk"].values)),
        "converged": int(table.attrs["passed"]),
    }


def failures(table: xr.Dataset) -> list[str]:
    """Messages of the thresholds a diagnostics table failed (empty when it passed)."""
    return json.loads(table.attrs["failures"])


def check_convergence(table: xr.Dataset, *, strict: bool = False) -> None:
    """Warn (or raise under ``strict``) when a diagnostics table failed a threshold.

    Parameters
    ----------
    table : xarray.Dataset
        Output of :func:`diagnose`.
    strict : bool
        Raise instead of warning.

    Raises
    ------
    ConvergenceError
        With ``strict=True`` when a threshold failed.

    Warns
    -----
    ConvergenceWarning
        Without ``strict`` when a threshold failed.
    """
    problems = failures(table)
    if not problems:
        return
    message = "sampler diagnostics failed: " + "; ".join(problems)
    if strict:
        raise ConvergenceError(message)
    warnings.warn(message, ConvergenceWarning, stacklevel=3)


def diagnostics(result) -> xr.Dataset:
    """Diagnostics table of a :class:`~forecast.fit.Fit` (computed at fit time).

    Parameters
    ----------
    result : Fit
        A fitted result.

    Returns
    -------
    xarray.Dataset
        See :func:`diagnose`.
    """
    return result.diagnostics
