r"""How far a forecast reaches beyond its runs, and a warning where it leaves the evidence.

A fit of small runs can be asked about a model 1000x larger than any of them; the
posterior then answers with whatever its exponents imply, however far from the data.
:func:`assess` measures, for each query point (a scenario, a budget, a model size):

* **decades of compute** :math:`C = k N D` beyond the largest run's compute (positive),
  or below the smallest (negative); 0 inside the runs' range;
* **decades of N** beyond the largest (or below the smallest) run's N;
* **decades of tokens per parameter** :math:`D/N` outside the runs' range
  :math:`[\min_i D_i/N_i, \max_i D_i/N_i]`, as :math:`\log_{10}` of the ratio to the
  nearer end (positive above, negative below, 0 inside).

Each distance uses the posterior median of the point's N, C and D/N.

When the warning fires
----------------------
The quantity checked is the **compute-optimal tokens per parameter** at the point's N,
:math:`D^*(N)/N`, per posterior draw. It is "far outside the evidence" when

1. its posterior median lies outside the **evidence range**: the union of the runs'
   tokens/param range and the range of the published compute-optimal ratios at the same N
   (:func:`published_optimal_tokens_per_param`), or
2. its equal-tailed interval (``ci_prob``, 90% by default) spans more than
   :data:`SPAN_DECADES` decades: the fit does not pin down the allocation at that N.

Published range, and how it is derived
--------------------------------------
From the bundled ``published_fits`` table, every law of the Chinchilla form
:math:`E + A N^{-\alpha} + B D^{-\beta}` (nats/token, with E, A, B, alpha and beta all
given; the Muennighoff tied fit counts, with fresh data it is that form) is evaluated at the
query N with Hoffmann's closed form

.. math::

    G = \left(\frac{\alpha A}{\beta B}\right)^{1/(\alpha+\beta)}, \qquad
    D^*(N) = G^{-1} (N / G)^{\alpha/\beta}, \qquad
    \text{tokens/param} = D^*(N) / N .

Allocation-only rows (:math:`N_\mathrm{opt} \propto C^a`) give an exponent without a
coefficient, hence no ratio; they enter the message as the published range of
:math:`a` (``a_alloc``), next to the posterior's :math:`a = \beta/(\alpha+\beta)`.

The compute-optimal ratio scales as :math:`N^{\alpha/\beta - 1}`, so its spread at a far N
comes from the alpha/beta posterior; the warning names those draws and the two fixes:
runs at larger scale (a joint fit with the ``gpt3``, ``opt`` or ``olmo1`` families)
or an informative prior (``priors="besiroglu2024"``). Runs that already reach the largest
of those families (:data:`LARGEST_SUGGESTED_N`) get the other fix instead: one pair of
exponents shared by the groups. Case study 2's joint fit (Gadre, OLMo ladder, GPT-3, OPT,
OLMo-1, every parameter varying by group) is such a case: GPT-3's eight runs have one token
count per model size, so its own runs barely inform its beta, and its compute-optimal ratio
at 1e13 parameters was 3.78 tokens/param with a 90% interval of 0.103-50.1.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecast.errors import ExtrapolationWarning
from forecast.intervals import eti
from forecast.units import CI_PROB, FLOP_PER_PARAM_TOKEN

__all__ = [
    "SPAN_DECADES",
    "Extrapolation",
    "ExtrapolationWarning",
    "assess",
    "decades_beyond",
    "published_optimal_tokens_per_param",
    "text_from_attrs",
]

#: An interval of the compute-optimal tokens/param wider than this (decades) warns.
SPAN_DECADES = 1.5
#: Forms of ``published_fits`` rows whose compute-optimal ratio has the closed form.
PUBLISHED_FORMS = ("E+A/N^alpha+B/D^beta", "E+A/N'^alpha+B/D'^beta (data-constrained)")
#: The fix the warning recommends.
FIX = (
    "add families of larger runs (a joint fit with the gpt3, opt or olmo1 datasets, whose runs "
    "reach larger N and C), or use an informative prior such as priors='besiroglu2024'"
)
#: Largest N of the families :data:`FIX` suggests (GPT-3 175B and OPT-175B).
LARGEST_SUGGESTED_N = 1.75e11
#: The fix when the runs already reach :data:`LARGEST_SUGGESTED_N`: larger families cannot
#: help; the spread is the exponents of the group, which its own runs identify in a fit that
#: lets them vary by group.
FIX_WITH_LARGE_RUNS = (
    "share one pair of exponents across the groups (pool only E, log_A and log_B) so that "
    "every group's runs inform alpha and beta, or use an informative prior such as "
    "priors='besiroglu2024'"
)


def _fix(runs_max_N: float) -> str:
    """Return the fix the warning names, given the largest N of the runs."""
    if runs_max_N >= LARGEST_SUGGESTED_N:
        return f"the runs already reach N = {runs_max_N:.3g}; {FIX_WITH_LARGE_RUNS}"
    return FIX


def decades_beyond(value: float, lower: float, upper: float) -> float:
    r"""Signed decades of ``value`` outside ``[lower, upper]``; 0 inside.

    Parameters
    ----------
    value, lower, upper : float
        Positive numbers, ``lower <= upper``.

    Returns
    -------
    float
        :math:`\log_{10}(v/u)` if :math:`v > u`, :math:`\log_{10}(v/l)` (negative) if
        :math:`v < l`, else 0; ``nan`` if ``value`` is not finite and positive.

    Examples
    --------
    >>> [decades_beyond(v, 1e6, 1e10) for v in (1e13, 1e4, 1e8)]
    [3.0, -2.0, 0.0]
    """
    if not (math.isfinite(value) and value > 0):
        return math.nan
    if value > upper:
        return round(math.log10(value / upper), 12)
    if value < lower:
        return round(math.log10(value / lower), 12)
    return 0.0


def published_optimal_tokens_per_param(N: float) -> dict:
    r"""Compute-optimal tokens/param at N of the published Chinchilla-form fits.

    Parameters
    ----------
    N : float
        Total parameters.

    Returns
    -------
    dict
        ``range`` ([min, max] tokens/param), ``fits`` (fit id -> ratio), ``a_alloc``
        ([min, max] of the published allocation exponents :math:`N_\mathrm{opt} \propto C^a`)
        and ``method`` (how the range was derived). See the module notes.
    """
    from forecast.data.catalog import load_dataset

    table = load_dataset("published_fits")
    rows = table[table["form"].isin(PUBLISHED_FORMS) & (table["loss_unit"] == "nats/token")]
    rows = rows.dropna(subset=["A", "B", "alpha", "beta"])
    alpha, beta = rows["alpha"].to_numpy(float), rows["beta"].to_numpy(float)
    log_G = (
        np.log(alpha * rows["A"].to_numpy(float)) - np.log(beta * rows["B"].to_numpy(float))
    ) / (alpha + beta)
    log_D = (alpha / beta) * (math.log(N) - log_G) - log_G
    ratios = np.exp(log_D - math.log(N))
    a_alloc = table["a_alloc"].dropna().to_numpy(float)
    return {
        "range": [float(ratios.min()), float(ratios.max())],
        "fits": {str(k): float(v) for k, v in zip(rows["fit_id"], ratios, strict=True)},
        "a_alloc": [float(a_alloc.min()), float(a_alloc.max())],
        "method": (
            "published_fits rows of the form E+A/N^alpha+B/D^beta (nats/token) at this N, "
            "D*(N) = G^-1 (N/G)^(alpha/beta), G = (alpha A / (beta B))^(1/(alpha+beta))"
        ),
    }


def _run_ranges(runs, k: float) -> dict[str, list[float]]:
    N = runs["N"].to_numpy(float)
    D = runs["D"].to_numpy(float)
    C, ratio = k * N * D, D / N
    return {
        "N": [float(N.min()), float(N.max())],
        "C": [float(C.min()), float(C.max())],
        "tokens_per_param": [float(ratio.min()), float(ratio.max())],
    }


def _quantiles(values: np.ndarray, ci_prob: float) -> tuple[float, float, float]:
    """Median, lower and upper bound of the finite ``values`` (NaN if there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan, math.nan
    mid, (lo, hi) = eti(finite, ci_prob)
    return float(mid), float(lo), float(hi)


@dataclass(frozen=True)
class Extrapolation:
    """The distance of each query point beyond the runs, and the warnings raised.

    Attributes
    ----------
    runs : dict
        Observed ``[min, max]`` of ``N`` (parameters), ``C`` (FLOP) and
        ``tokens_per_param`` over the fit's runs.
    points : list of dict
        Per point: ``name``; posterior medians ``N``, ``C``, ``tokens_per_param``; the
        signed decades ``N_decades``, ``C_decades``, ``tokens_per_param_decades``; the
        compute-optimal ratio at the point's N (``optimal_tokens_per_param_median`` and
        ``optimal_tokens_per_param_ci``), the ``published_range`` and ``evidence_range``
        of that ratio.
    warnings : list of str
        Messages of :class:`ExtrapolationWarning` (empty: the point stays in the evidence).
    ci_prob : float
        Probability of the intervals.
    """

    runs: dict
    points: list[dict]
    warnings: list[str] = field(default_factory=list)
    ci_prob: float = CI_PROB

    def lines(self) -> list[str]:
        """One sentence per point stating the distance beyond the runs."""
        r = self.runs
        out = [
            f"runs span N {r['N'][0]:.3g}–{r['N'][1]:.3g} parameters, C {r['C'][0]:.3g}–"
            f"{r['C'][1]:.3g} FLOP, {r['tokens_per_param'][0]:.3g}–"
            f"{r['tokens_per_param'][1]:.3g} tokens/param"
        ]
        for p in self.points:
            lo, hi = p["optimal_tokens_per_param_ci"]
            out.append(
                f"{p['name']}: {_signed(p['C_decades'])} of compute (C {p['C']:.3g} FLOP), "
                f"{_signed(p['N_decades'])} of N (N {p['N']:.3g}), "
                f"{_signed(p['tokens_per_param_decades'])} of tokens/param "
                f"({p['tokens_per_param']:.3g}) beyond the runs; compute-optimal tokens/param "
                f"at this N {p['optimal_tokens_per_param_median']:.3g} [{lo:.3g}, {hi:.3g}]"
            )
        return out

    def to_dict(self) -> dict:
        """Return the assessment as JSON-ready plain data."""
        return {
            "runs": self.runs,
            "points": self.points,
            "warnings": self.warnings,
            "ci_prob": self.ci_prob,
            "span_decades": SPAN_DECADES,
        }

    def attrs(self) -> dict[str, str]:
        """Attrs for a result Dataset (strings, so NetCDF keeps them)."""
        return {
            "extrapolation": json.dumps(self.to_dict()),
            "extrapolation_summary": "\n".join(self.lines()),
            "extrapolation_warning": "\n".join(self.warnings),
        }

    def warn(self, stacklevel: int = 3) -> None:
        """Issue one :class:`ExtrapolationWarning` with every message, if any."""
        if self.warnings:
            warnings.warn("\n".join(self.warnings), ExtrapolationWarning, stacklevel=stacklevel)


def _signed(decades: float) -> str:
    if not math.isfinite(decades):
        return "n/a decades"
    if decades == 0:
        return "0 decades (inside)"
    return f"{decades:+.2f} decades"


def _drivers(theta: Mapping[str, np.ndarray], ci_prob: float, a_alloc: Sequence[float]) -> str:
    if not {"alpha", "beta"} <= set(theta):
        names = [n for n in theta if n.startswith(("alpha", "beta"))]
        parts = []
        for name in names:
            mid, lo, hi = _quantiles(np.ravel(theta[name]), ci_prob)
            parts.append(f"{name} {mid:.3f} [{lo:.3f}, {hi:.3f}]")
        return "exponent posterior: " + ("; ".join(parts) or "see the law's exponents")
    alpha, beta = np.ravel(theta["alpha"]), np.ravel(theta["beta"])
    parts = []
    for name, values in (("alpha", alpha), ("beta", beta), ("a", beta / (alpha + beta))):
        mid, lo, hi = _quantiles(values, ci_prob)
        parts.append(f"{name} {mid:.3f} [{lo:.3f}, {hi:.3f}]")
    return (
        f"alpha/beta posterior: {parts[0]}, {parts[1]}; a = beta/(alpha+beta) "
        f"{parts[2].split(' ', 1)[1]} (N_opt ∝ C^a; published a {a_alloc[0]:.2f}–"
        f"{a_alloc[1]:.2f}); the compute-optimal tokens/param grows as N^(alpha/beta - 1)"
    )


def assess(
    runs,
    *,
    names: Sequence[str],
    N,
    tokens_per_param,
    optimal_tokens_per_param,
    theta: Mapping[str, np.ndarray],
    flop_per_param_token: float = FLOP_PER_PARAM_TOKEN,
    ci_prob: float = CI_PROB,
) -> Extrapolation:
    r"""Measure how far each query point extrapolates and decide whether to warn.

    Parameters
    ----------
    runs : pandas.DataFrame
        The fit's runs (columns ``N`` parameters and ``D`` tokens).
    names : sequence of str
        Point labels (scenario names, budgets).
    N, tokens_per_param : array_like
        Draws of the points' N (parameters) and D/N, shape ``(..., P)`` with the draws on
        the leading axes (scalars or ``(P,)`` for fixed values).
    optimal_tokens_per_param : array_like
        Draws of the compute-optimal :math:`D^*(N)/N` at each point's N, same layout.
    theta : mapping of str to numpy.ndarray
        Law parameter draws (for the message: alpha, beta).
    flop_per_param_token : float
        :math:`k` in :math:`C = k N D`.
    ci_prob : float
        Probability of the intervals.

    Returns
    -------
    Extrapolation
        Distances and warning messages (see the module notes for the rule).
    """
    k = float(flop_per_param_token)
    P = len(names)
    ranges = _run_ranges(runs, k)
    N_draws = np.asarray(N, float).reshape(-1, P)
    ratio = np.asarray(tokens_per_param, float).reshape(-1, P)
    optimal = np.asarray(optimal_tokens_per_param, float).reshape(-1, P)
    points, messages = [], []
    published_cache: dict[float, dict] = {}
    for j, name in enumerate(names):
        n_med = _quantiles(N_draws[:, j], ci_prob)[0]
        r_med = _quantiles(ratio[:, j], ci_prob)[0]
        c_med = _quantiles(k * N_draws[:, j] ** 2 * ratio[:, j], ci_prob)[0]
        o_med, o_lo, o_hi = _quantiles(optimal[:, j], ci_prob)
        key = float(f"{n_med:.3g}") if math.isfinite(n_med) else math.nan
        if key not in published_cache:
            published_cache[key] = published_optimal_tokens_per_param(key)
        published = published_cache[key]
        run_lo, run_hi = ranges["tokens_per_param"]
        evidence = [min(run_lo, published["range"][0]), max(run_hi, published["range"][1])]
        points.append(
            {
                "name": str(name),
                "N": n_med,
                "C": c_med,
                "tokens_per_param": r_med,
                "N_decades": decades_beyond(n_med, *ranges["N"]),
                "C_decades": decades_beyond(c_med, *ranges["C"]),
                "tokens_per_param_decades": decades_beyond(r_med, run_lo, run_hi),
                "optimal_tokens_per_param_median": o_med,
                "optimal_tokens_per_param_ci": [o_lo, o_hi],
                "published_range": published["range"],
                "evidence_range": evidence,
            }
        )
        reasons = []
        if math.isfinite(o_med) and not evidence[0] <= o_med <= evidence[1]:
            reasons.append(
                f"its median lies {abs(decades_beyond(o_med, *evidence)):.1f} decades outside "
                f"the {evidence[0]:.3g}–{evidence[1]:.3g} tokens/param spanned by the runs "
                f"({run_lo:.3g}–{run_hi:.3g}) and the published compute-optimal fits at this N "
                f"({published['range'][0]:.3g}–{published['range'][1]:.3g})"
            )
        span = math.log10(o_hi / o_lo) if o_lo > 0 and math.isfinite(o_hi) else math.inf
        if span > SPAN_DECADES:
            reasons.append(
                f"its {ci_prob:.0%} interval spans {span:.1f} decades (more than {SPAN_DECADES:g})"
            )
        if reasons:
            messages.append(
                f"compute-optimal tokens/param at N = {n_med:.3g} is {o_med:.3g} "
                f"[{o_lo:.3g}, {o_hi:.3g}] ({ci_prob:.0%} interval): "
                + "; ".join(reasons)
                + f". N lies {_signed(points[-1]['N_decades'])} outside the runs' N. Driven by the "
                + _drivers(theta, ci_prob, published["a_alloc"])
                + f". To fix: {_fix(ranges['N'][1])}."
            )
    unique = list(dict.fromkeys(messages))
    return Extrapolation(runs=ranges, points=points, warnings=unique, ci_prob=float(ci_prob))


def text_from_attrs(attrs: Mapping) -> tuple[list[str], list[str]]:
    """(distance lines, warning messages) stored by :meth:`Extrapolation.attrs`.

    Parameters
    ----------
    attrs : mapping
        A result Dataset's attrs.

    Returns
    -------
    tuple of (list of str, list of str)
        Both empty when the result carries no assessment.
    """
    summary = str(attrs.get("extrapolation_summary", ""))
    warning = str(attrs.get("extrapolation_warning", ""))
    return _component_lines(summary), _component_lines(warning)


def _component_lines(text: str) -> list[str]:
    """Lines of an attr; of a stack's per-component JSON, shared lines once, others tagged.

    A result mixed from a stack's components keeps an attr that differs between them as a
    JSON object by component (:func:`forecast.averaged.mix`); a line every component
    states is shown once, the others as ``[component] line``.
    """
    try:
        parts = json.loads(text) if text.startswith("{") else None
    except ValueError:
        parts = None
    if not isinstance(parts, dict):
        return [line for line in text.split("\n") if line]
    said: dict[str, list[str]] = {}
    for name, part in parts.items():
        for line in str(part or "").split("\n"):
            if line:
                said.setdefault(line, []).append(str(name))
    return [
        line if len(names) == len(parts) else f"[{', '.join(names)}] {line}"
        for line, names in said.items()
    ]
