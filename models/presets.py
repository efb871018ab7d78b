r"""Named prior presets: data built from published fits, every number with its source.

:data:`PRESETS` maps a preset name to the :class:`~models.prior_spec.PriorSpec` of every prior key
it covers; :data:`PRESET_LAWS` says which laws each preset serves (it covers every key they
need, which ``tests/test_priors.py`` checks). Centres are the papers' point estimates;
log-scale coefficients are the natural logs of the published A, B, N_c, D_c. Every spec's
``source`` gives the citation and the reason for its width. The rules the widths follow are
in the docstring of :mod:`models.priors`, which turns a preset into the priors one law needs
(:func:`models.priors.resolve_priors`) and re-exports both names.

References
----------
Hoffmann et al. 2022, arXiv:2203.15556; Besiroglu et al. 2024, arXiv:2404.10102;
Muennighoff et al. 2023, arXiv:2305.16264; Kaplan et al. 2020, arXiv:2001.08361.
"""

from __future__ import annotations

import math

from models.laws import LAWS
from models.prior_spec import PriorSpec

__all__ = ["PRESETS", "PRESET_LAWS"]

_BESIROGLU_SE = (
    "Besiroglu et al. 2024 (arXiv:2404.10102) bootstrap SEs, from their repo's "
    "data_analysis.ipynb: E 0.0257, alpha 0.0154, beta 0.0206, A 124.5 (log A 0.258), "
    "B 1293 (log B 0.620)"
)


def _p(dist: str, source: str, **params: float) -> PriorSpec:
    return PriorSpec(dist, params, source)


# Group scales and noise: no published fit constrains them, so every preset shares these.
_GROUP_AND_NOISE = {
    "sigma_E": _p(
        "HalfNormal",
        "Relative between-group spread of E (SD of log E_g/E). Published floors range from 1.69 "
        "(MassiveText, Hoffmann 2022) to 1.87 (C4, Muennighoff 2023), 10% apart, and other eval "
        "sets differ more; HalfNormal(0.2) has median 0.13 and 95% below 0.39.",
        sigma=0.2,
    ),
    "sigma_alpha": _p(
        "HalfNormal",
        "Relative between-group spread of alpha. Published alpha 0.34-0.35 (Hoffmann, "
        "Besiroglu, Muennighoff) and beta 0.28-0.38 differ by up to ~30%; HalfNormal(0.2) "
        "has median 0.13, 95% below 0.39.",
        sigma=0.2,
    ),
    "sigma_beta": _p(
        "HalfNormal",
        "Relative between-group spread of beta; as sigma_alpha (published beta 0.28-0.38).",
        sigma=0.2,
    ),
    "sigma_log_A": _p(
        "HalfNormal",
        "Between-group SD of log A at the data centre (log units): HalfNormal(1.0) allows the "
        "parameter term to differ by a factor e between groups at 1 SD; weakly informative.",
        sigma=1.0,
    ),
    "sigma_log_B": _p(
        "HalfNormal",
        "Between-group SD of log B at the data centre (log units); as sigma_log_A.",
        sigma=1.0,
    ),
    "sigma_R_D_star": _p(
        "HalfNormal",
        "Relative between-group spread of R_D*; only one published estimate exists "
        "(Muennighoff 2023), so HalfNormal(0.5): a factor 1.4 at the median.",
        sigma=0.5,
    ),
    "sigma_R_N_star": _p(
        "HalfNormal",
        "Relative between-group spread of R_N*; as sigma_R_D_star.",
        sigma=0.5,
    ),
    "sigma_log_N_c": _p(
        "HalfNormal",
        "Between-group SD of log N_c (log units). log N_c = log N + log L / alpha_N moves by "
        "~3 per 0.02 in alpha_N (Kaplan 2020 scale), so HalfNormal(2.0).",
        sigma=2.0,
    ),
    "sigma_log_D_c": _p(
        "HalfNormal",
        "Between-group SD of log D_c (log units); as sigma_log_N_c.",
        sigma=2.0,
    ),
    "sigma_alpha_N": _p(
        "HalfNormal",
        "Relative between-group spread of alpha_N; Kaplan 2020's two estimates of alpha_D "
        "(0.095 from L(D), 0.103 from L(N, D)) differ by 8%, so HalfNormal(0.2).",
        sigma=0.2,
    ),
    "sigma_alpha_D": _p(
        "HalfNormal",
        "Relative between-group spread of alpha_D; as sigma_alpha_N.",
        sigma=0.2,
    ),
    "sigma_alpha_ratio": _p(
        "HalfNormal",
        "Relative between-group spread of alpha_ratio (chinchilla_broken); as sigma_alpha.",
        sigma=0.2,
    ),
    "sigma_beta_ratio": _p(
        "HalfNormal",
        "Relative between-group spread of beta_ratio (chinchilla_broken); as sigma_alpha.",
        sigma=0.2,
    ),
    "sigma_log_N_break": _p(
        "HalfNormal",
        "Between-group SD of log N_b (log units, chinchilla_broken): HalfNormal(2.3) lets the "
        "break move by a decade between groups at 1 SD.",
        sigma=2.3,
    ),
    "sigma_log_D_break": _p(
        "HalfNormal",
        "Between-group SD of log D_b (log units); as sigma_log_N_break.",
        sigma=2.3,
    ),
    "sigma": _p(
        "HalfNormal",
        "Observation noise SD of log loss (relative loss error). Seed-to-seed and digitisation "
        "error of published points is typically ~1% or less; HalfNormal(0.05) has median 0.034 "
        "and 95% below "
        "0.098, so a 10% misfit is still possible.",
        sigma=0.05,
    ),
    "nu": _p(
        "LogNormal",
        "Student-t degrees of freedom: LogNormal(log 10, 0.5), median 10 and 95% in 3.7-27 "
        "(Gelman et al. 2013, BDA3 17.2: nu of about 3-30 for robust regression). Juarez & "
        "Steel's Gamma(2, 0.1) put nu near 1.3 on the Gadre and datablations training runs, "
        "where the posterior predictive of loss = exp(t) then draws 1e30 nats/token: a "
        "predictive check on the training runs fails. This prior keeps tails heavy but usable.",
        mu=math.log(10.0),
        sigma=0.5,
    ),
}

# Breaks of the broken Chinchilla law (``chinchilla_broken``): no published fit of an LM
# loss locates a break, so every preset shares these weak priors.
_BREAK_RATIO = (
    "Exponent above the break over the exponent below it. Chinchilla-form exponents fitted at "
    "different scales and on different data differ by up to ~30% (beta 0.28 Hoffmann 2022 vs "
    "0.366 Besiroglu 2024; 0.353 Muennighoff 2023); LogNormal(0, 0.25) puts a factor 1.28 at "
    "1 SD and 0.61-1.63 at 95%, centred on no break (ratio 1 = the Chinchilla law)."
)
_BREAK = {
    "alpha_ratio": _p("LogNormal", _BREAK_RATIO, mu=0.0, sigma=0.25),
    "beta_ratio": _p("LogNormal", _BREAK_RATIO, mu=0.0, sigma=0.25),
    "log_N_break": _p(
        "Normal",
        "Natural log of the parameter count of the break. None is published; Normal(log 1e9, "
        "4.6) puts it within 1e7-1e11 parameters at 1 SD (two decades), the span from the "
        "smallest ladder runs to largest models.",
        mu=math.log(1e9),
        sigma=4.6,
    ),
    "log_D_break": _p(
        "Normal",
        "Natural log of the token count of the break: Normal(log 2e10, 4.6), two decades at "
        "1 SD around 20 tokens per parameter at the parameter break's centre (Hoffmann 2022).",
        mu=math.log(2e10),
        sigma=4.6,
    ),
}

_WEAK_EXPONENT = (
    "Weak: exponents of LM scaling laws are in (0, 1.5) (published 0.076-0.38: Kaplan 2020, "
    "Hoffmann 2022, Besiroglu 2024, Muennighoff 2023). TruncatedNormal(0.3, 0.5) on (0, 1.5) "
    "is within a factor 2.7 of its peak on (0, 1) and rules out exponents >= 1.5."
)
_WEAK_LOG_COEF = (
    "Weak: published log A and log B lie in 6.0-7.6 (Hoffmann 2022 6.01/6.02, Besiroglu 2024 "
    "6.18/7.64, Muennighoff 2023 6.26/7.30); Normal(6, 5) keeps them within 0.4 SD and allows "
    "up to log A = 16 (A = 9e6) at 2 SD, which large exponents need."
)
_WEAK_LOG_CRIT = (
    "Weak: Kaplan 2020 log N_c = 31.8, log D_c = 30.5; log N_c = log N + log L / alpha_N runs "
    "from ~18 (with a floor, alpha ~ 0.3) to ~43 (no floor, alpha ~ 0.05) for billion-"
    "parameter models, so Normal(30, 10)."
)

_WEAK = {
    "E": _p(
        "HalfNormal",
        "Weak: E > 0. Published floors are 1.69-1.87 nats/token (Hoffmann 2022, Besiroglu "
        "2024, Muennighoff 2023); HalfNormal(2.5) has median 1.7 and 95% below 4.9, above any "
        "LM loss of interest.",
        sigma=2.5,
    ),
    "log_A": _p("Normal", _WEAK_LOG_COEF, mu=6.0, sigma=5.0),
    "alpha": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "log_B": _p("Normal", _WEAK_LOG_COEF, mu=6.0, sigma=5.0),
    "beta": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "R_D_star": _p(
        "LogNormal",
        "Weak: centred on the only published value, R_D* = 15.39 (Muennighoff 2023, C4); "
        "sigma 1.5 puts a factor 4.5 at 1 SD and 1-200 epochs within 2 SD.",
        mu=math.log(15.387756),
        sigma=1.5,
    ),
    "R_N_star": _p(
        "LogNormal",
        "Weak: centred on R_N* = 5.31 (Muennighoff 2023, C4); sigma 1.5 as R_D_star.",
        mu=math.log(5.309743),
        sigma=1.5,
    ),
    "log_N_c": _p("Normal", _WEAK_LOG_CRIT, mu=30.0, sigma=10.0),
    "alpha_N": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
    "log_D_c": _p("Normal", _WEAK_LOG_CRIT, mu=30.0, sigma=10.0),
    "alpha_D": _p("TruncatedNormal", _WEAK_EXPONENT, mu=0.3, sigma=0.5, lower=0.0, upper=1.5),
}

_HOFFMANN_WIDTH = (
    "Hoffmann published no SEs for Approach 3, and Besiroglu 2024 could not reproduce the fit "
    "from the same data; SD = max(2 x Besiroglu bootstrap SE, |Hoffmann - Besiroglu|), so "
    "the refit lies within 1 SD. " + _BESIROGLU_SE
)
_HOFFMANN = {
    "E": _p(
        "TruncatedNormal",
        "Hoffmann et al. 2022 (arXiv:2203.15556) Approach 3, eq. 10 / App. D.2: E = 1.69. SD "
        "0.13 = |1.69 - 1.817|. " + _HOFFMANN_WIDTH,
        mu=1.69,
        sigma=0.13,
        lower=0.0,
    ),
    "log_A": _p(
        "Normal",
        "Hoffmann 2022 Approach 3: A = 406.4 (log 6.007; TeX source 406.40102). SD 0.52 = 2 x "
        "0.258. " + _HOFFMANN_WIDTH,
        mu=math.log(406.4),
        sigma=0.52,
    ),
    "alpha": _p(
        "TruncatedNormal",
        "Hoffmann 2022 Approach 3: alpha = 0.34 (TeX 0.33917). SD 0.031 = 2 x 0.0154. "
        + _HOFFMANN_WIDTH,
        mu=0.34,
        sigma=0.031,
        lower=0.0,
    ),
    "log_B": _p(
        "Normal",
        "Hoffmann 2022 Approach 3: B = 410.7 (log 6.018; TeX 410.72283). SD 1.63 = |6.018 - "
        "7.643| (Besiroglu log B). " + _HOFFMANN_WIDTH,
        mu=math.log(410.7),
        sigma=1.63,
    ),
    "beta": _p(
        "TruncatedNormal",
        "Hoffmann 2022 Approach 3: beta = 0.28 (TeX 0.28491). SD 0.086 = |0.28 - 0.3658|. "
        + _HOFFMANN_WIDTH,
        mu=0.28,
        sigma=0.086,
        lower=0.0,
    ),
}

_BESIROGLU_NOTE = (
    "Besiroglu, Erdil, Barnett & You 2024, 'Chinchilla Scaling: A replication attempt' "
    "(arXiv:2404.10102), refit of Hoffmann's Approach 3 to 240 digitised points (Huber loss "
    "on log L, 4000 bootstraps). Independent priors with the marginal bootstrap SEs (the "
    "bootstrap draws of log A and alpha are strongly correlated, so this is wider jointly)."
)
_BESIROGLU = {
    "E": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " E = 1.8172, SE 0.03 (paper; notebook 0.0257).",
        mu=1.8172,
        sigma=0.03,
        lower=0.0,
    ),
    "log_A": _p(
        "Normal",
        _BESIROGLU_NOTE + " A = 482.01, SE 124.58 -> SD of log A = 124.58/482.01 = 0.26.",
        mu=math.log(482.01),
        sigma=0.26,
    ),
    "alpha": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " alpha = 0.3478, SE 0.02 (paper; notebook 0.0154).",
        mu=0.3478,
        sigma=0.02,
        lower=0.0,
    ),
    "log_B": _p(
        "Normal",
        _BESIROGLU_NOTE + " B = 2085.43, SE 1293.23 -> SD of log B = 0.620, rounded up to 0.63.",
        mu=math.log(2085.43),
        sigma=0.63,
    ),
    "beta": _p(
        "TruncatedNormal",
        _BESIROGLU_NOTE + " beta = 0.3658, SE 0.02 (paper); notebook 0.0206, rounded up to 0.021.",
        mu=0.3658,
        sigma=0.021,
        lower=0.0,
    ),
}

_MUENNIGHOFF_NOTE = (
    "Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models' (arXiv:2305.16264), "
    "C4 coefficients from the huggingface/datablations README ('Parametric Fit'): a, b, e = "
    "6.255414, 7.3049974, 0.6254804 (log A, log B, log E), alpha = beta = 0.3526596 (tied), "
    "fit to 54 points digitised from Chinchilla-style C4 isoFLOPs. No SEs published: SD = 2 x "
    "Besiroglu 2024 bootstrap SE; the untied refit in their notebook (alpha 0.335, beta 0.383, "
    "E 1.878, log A 5.958, log B 7.915) lies within 1 SD. " + _BESIROGLU_SE
)
_MUENNIGHOFF = {
    "E": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " E = exp(0.6254804) = 1.8691; SD 0.052.",
        mu=math.exp(0.6254804),
        sigma=0.052,
        lower=0.0,
    ),
    "log_A": _p("Normal", _MUENNIGHOFF_NOTE + " SD 0.52.", mu=6.255414, sigma=0.52),
    "alpha": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " SD 0.031.",
        mu=0.3526596,
        sigma=0.031,
        lower=0.0,
    ),
    "log_B": _p("Normal", _MUENNIGHOFF_NOTE + " SD 1.25.", mu=7.3049974, sigma=1.25),
    "beta": _p(
        "TruncatedNormal",
        _MUENNIGHOFF_NOTE + " SD 0.042.",
        mu=0.3526596,
        sigma=0.042,
        lower=0.0,
    ),
    "R_D_star": _p(
        "LogNormal",
        "Muennighoff et al. 2023 (arXiv:2305.16264) C4 fit, datablations README: R_D* = "
        "15.387756 epochs. No uncertainty published; sigma 0.7 puts a factor 2 at 1 SD.",
        mu=math.log(15.387756),
        sigma=0.7,
    ),
    "R_N_star": _p(
        "LogNormal",
        "Muennighoff et al. 2023 (arXiv:2305.16264) C4 fit, datablations README: R_N* = "
        "5.309743. No uncertainty published; sigma 0.7 puts a factor 2 at 1 SD.",
        mu=math.log(5.309743),
        sigma=0.7,
    ),
}

_KAPLAN_NOTE = (
    "Kaplan et al. 2020, 'Scaling Laws for Neural Language Models' (arXiv:2001.08361), joint "
    "fit L(N, D), eq. 1.5 / Table 2: alpha_N 0.076, alpha_D 0.103, N_c 6.4e13, D_c 1.8e13, "
    "for NON-EMBEDDING parameters and WebText2 loss. No SEs published."
)
_KAPLAN = {
    "log_N_c": _p(
        "Normal",
        _KAPLAN_NOTE + " SD 3.0: log N_c = log N + log L / alpha_N moves by ~3 per 0.02 in "
        "alpha_N at Kaplan's losses; their L(N)-only fit (N_c 8.8e13, log 32.1) is 0.1 SD away.",
        mu=math.log(6.4e13),
        sigma=3.0,
    ),
    "alpha_N": _p(
        "TruncatedNormal",
        _KAPLAN_NOTE + " SD 0.02, about Besiroglu 2024's bootstrap SE of alpha (0.0154).",
        mu=0.076,
        sigma=0.02,
        lower=0.0,
    ),
    "log_D_c": _p(
        "Normal",
        _KAPLAN_NOTE + " SD 3.0 as log_N_c; their L(D)-only fit (D_c 5.4e13, log 31.6) is "
        "0.4 SD away.",
        mu=math.log(1.8e13),
        sigma=3.0,
    ),
    "alpha_D": _p(
        "TruncatedNormal",
        _KAPLAN_NOTE + " SD 0.021 (Besiroglu 2024's bootstrap SE of beta); their L(D)-only "
        "fit gives 0.095, 0.4 SD away.",
        mu=0.103,
        sigma=0.021,
        lower=0.0,
    ),
    "E": _p(
        "HalfNormal",
        "For kaplan_floor. Kaplan et al. 2020 fit no irreducible loss (E = 0); HalfNormal(1.0) "
        "keeps E near 0 as their fit implies (median 0.67) while allowing a floor up to ~2 "
        "nats/token (95%).",
        sigma=1.0,
    ),
}

#: Named prior presets: preset name -> prior key -> PriorSpec.
PRESETS: dict[str, dict[str, PriorSpec]] = {
    "weak": {**_WEAK, **_BREAK, **_GROUP_AND_NOISE},
    "hoffmann2022": {**_HOFFMANN, **_BREAK, **_GROUP_AND_NOISE},
    "besiroglu2024": {**_BESIROGLU, **_BREAK, **_GROUP_AND_NOISE},
    "muennighoff2023": {**_MUENNIGHOFF, **_BREAK, **_GROUP_AND_NOISE},
    "kaplan2020": {**_KAPLAN, **_GROUP_AND_NOISE},
}

#: The laws each preset serves (it covers every key they need).
PRESET_LAWS: dict[str, tuple[str, ...]] = {
    "weak": tuple(LAWS),
    "hoffmann2022": ("chinchilla", "chinchilla_broken"),
    "besiroglu2024": ("chinchilla", "chinchilla_broken"),
    "muennighoff2023": ("chinchilla", "chinchilla_broken", "data_constrained"),
    "kaplan2020": ("kaplan", "kaplan_floor"),
}


def add_population_preset(law_priors: dict[str, PriorSpec], name: str = "population") -> None:
    """Register a preset built by the population meta-model (:mod:`models.population`).

    Its law parameters (``E``, ``log_A``, ``alpha``, ``log_B``, ``beta``) come from
    ``law_priors``; the break, group-scale and noise priors are ``weak``'s. It serves
    ``chinchilla`` and ``chinchilla_broken``. :mod:`forecast` calls this on import with the
    stored, hash-checked preset, so ``models`` itself reads no file.
    """
    PRESETS[name] = {**dict(law_priors), **_BREAK, **_GROUP_AND_NOISE}
    PRESET_LAWS[name] = ("chinchilla", "chinchilla_broken")
