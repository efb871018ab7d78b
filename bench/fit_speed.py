"""Wall time of a Bayesian fit against the Epoch-style point fit with bootstrap (issue 3).

Measured in one run, one after the other, on the same machine:

1. the flat Chinchilla fit on the 240 Epoch-replication runs: ``fit`` with nutpie,
   4 chains x 1000 draws (1000 tuning steps), including model compilation, sampling,
   the pointwise log-likelihood and diagnostics;
2. the Epoch-style baseline on the same runs: Huber (delta = 1e-3) on log loss, L-BFGS-B
   from each of Hoffmann's 4500 grid starts keeping the best, then 4000 bootstrap refits
   (:mod:`forecast.studies.baseline`); and the ratio of the two (target: Bayesian >= 5x faster);
3. a 3-group hierarchical fit of the Gadre et al. small runs, each corpus evaluated on its
   own Paloma subset, with the design of ``tests/test_acceptance.py`` (exponents shared,
   floor and coefficients partially pooled) and the default model: sampled in the centre
   coordinates with the coefficients' offsets half-centred at target_accept 0.9, and
   again at 0.99 if that run diverges (the line below it says so);
4. the README job's design: the Gadre runs on C4 validation text, 3 corpora with only the
   floor E pooled (4 chains x 1000 draws), sampled in the centre coordinates with the
   floors' offsets centred (``forecast.compiled``).

The flat fit (low-rank mass matrix, the default for it) is also timed with
``SamplerConfig(low_rank_mass_matrix=False)`` (the diagonal matrix), and a second
flat fit of other runs of the same structure (the 240 runs with their losses perturbed by
0.5% noise) is timed
in the same process as the first: it reuses the compiled model (``forecast.fit`` compiles
once per model structure). The flat fit runs first with an empty pytensor disk cache (the
first fit on a machine) and then with the cache that run left (every later process).
Targets (issue 19): first fit <= 12 s, second <= 3 s, i.e.
baseline / Bayesian >= 4x and >= 15x; 3-group fit <= 30 s.

Each Bayesian fit runs in a fresh Python process and only the call to ``fit`` is timed
(model build, nutpie compilation, sampling, log-likelihood and log prior, diagnostics):
every fit pays the first compilation in its process, as a command-line fit does.

The machine's load average is printed with the times: other processes on a shared machine
slow every number down, and the ratio less than the absolute times.

Run: ``python bench/fit_speed.py``
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast import FitConfig, SamplerConfig, fit, load_dataset
from forecast.data.joint import SHARED_EXPONENTS_POOLED
from forecast.studies.baseline import bootstrap_point, fit_point

HERE = Path(__file__).resolve().parent
SAMPLER = SamplerConfig(draws=1000, tune=1000, chains=4, progress=False)
#: The acceptance design (tests/test_acceptance.py): exponents shared, E/log A/log B pooled.
HIERARCHICAL = FitConfig(
    groups="corpus",
    pooled=SHARED_EXPONENTS_POOLED,
    sampler=SamplerConfig(draws=1000, tune=2000, chains=4, progress=False),
    seed=5,
)
IN_DISTRIBUTION = {
    "c4": "paloma_c4_en",
    "redpajama": "paloma_redpajama",
    "refinedweb": "paloma_refinedweb",
}


def _load(path_or_name: str) -> pd.DataFrame:
    if path_or_name == "chinchilla":
        return pd.read_csv(HERE.parent / "tests" / "data" / "chinchilla.csv")[["N", "D", "loss"]]
    gadre = load_dataset("gadre2024")
    if path_or_name == "gadre_c4_val":
        return gadre[gadre["eval_set"] == "c4_val"].reset_index(drop=True)
    return gadre[gadre["eval_set"] == gadre["corpus"].map(IN_DISTRIBUTION)].reset_index(drop=True)


#: The Bayesian fits: name -> (label, runs, config).
FITS = {
    "flat": (
        "flat Chinchilla fit (nutpie, 4 chains x 1000 draws)",
        "chinchilla",
        FitConfig(sampler=SAMPLER, seed=11),
    ),
    "flat_diagonal": (
        "  same fit, diagonal mass matrix (low_rank_mass_matrix=False)",
        "chinchilla",
        FitConfig(sampler=dataclasses.replace(SAMPLER, low_rank_mass_matrix=False), seed=11),
    ),
    "hierarchical": (
        "3-group hierarchical fit (95 runs, 4 x 1000, tune 2000)",
        "gadre",
        HIERARCHICAL,
    ),
    "readme": (
        "README job's design (C4 val, 3 corpora, E pooled, 4 x 1000)",
        "gadre_c4_val",
        FitConfig(groups="corpus", pooled=("E",), sampler=SAMPLER, seed=1),
    ),
}


def _record(result, seconds: float) -> dict:
    diag = result.diagnostics
    attrs = result.idata.attrs
    return {
        "seconds": seconds,
        "compile": attrs["compile_seconds"],
        "sampling": attrs["sampling_seconds"],
        "divergences": int(diag.attrs["divergences"]),
        "r_hat": float(diag["r_hat"].max()),
        "ess": float(diag["ess_bulk"].min()),
        "steps": float(result.idata.sample_stats["n_steps"].mean()),
        "target_accept": attrs["target_accept"],
        "first_run_divergences": int(attrs.get("first_run_divergences", 0)),
    }


def _child(name: str) -> None:
    """Run one fit in this (fresh) process and print its timings and diagnostics as JSON.

    The flat fit is followed by a fit of a bootstrap resample of the same runs in the same
    process (same model structure: the compiled model is reused).
    """
    _, data, config = FITS[name]
    runs = _load(data)
    start = time.perf_counter()  # the imports above are not timed
    result = fit(runs, config=config)
    out = _record(result, time.perf_counter() - start)
    if name == "flat":
        noise = np.random.default_rng(1).normal(0.0, 0.005, len(runs))
        other = runs.assign(loss=runs["loss"] * np.exp(noise))
        start = time.perf_counter()
        again = fit(other, config=config)
        out["second"] = _record(again, time.perf_counter() - start)
    print(json.dumps(out))


def timed_fit(name: str, suffix: str = "", *, cold: bool = False) -> float:
    """Time ``fit`` of ``FITS[name]`` in a fresh Python process; print one line and return s.

    Each Bayesian fit pays nutpie's first compilation in its process, as a command-line fit
    does. pytensor's numba disk cache (kernels and the model's compiled log density) is
    whatever earlier runs on this machine left, unless ``cold``: then the process gets an
    empty cache directory, as the first fit on a new machine does.
    """
    label = FITS[name][0] + (" (empty disk cache)" if cold else "")
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as empty:
        if cold:
            flags = env.get("PYTENSOR_FLAGS", "")
            env["PYTENSOR_FLAGS"] = f"{flags},base_compiledir={empty}".lstrip(",")
        out = subprocess.run(
            [sys.executable, __file__, "--child", name],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    _print(label, r, suffix)
    if "second" in r:
        _print("  second fit, same structure, other runs (same process)", r["second"], "")
        return r["seconds"], r["second"]["seconds"]
    return r["seconds"]


def _print(label: str, r: dict, suffix: str) -> None:
    print(f"{label:<58s} {r['seconds']:8.1f} s   (load average {_load_average():.1f})")
    print(
        f"    divergences {r['divergences']}, max R-hat {r['r_hat']:.4f}, min bulk ESS "
        f"{r['ess']:.0f}, model compilation {r['compile']:.1f} s, sampling {r['sampling']:.1f} s, "
        f"{r['steps']:.1f} leapfrog steps per draw at target_accept {r['target_accept']}{suffix}",
        flush=True,
    )
    if r["first_run_divergences"]:
        print(
            f"    (resampled at {r['target_accept']}: the first run, at the model's default "
            f"target_accept, had {r['first_run_divergences']} divergences)",
            flush=True,
        )


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def timed(label: str, call):
    start = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - start
    print(f"{label:<58s} {seconds:8.1f} s   (load average {_load_average():.1f})", flush=True)
    return value, seconds


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return _child(sys.argv[2])
    print(f"cores: {os.cpu_count()}; each Bayesian fit runs in a fresh process (imports untimed)")
    timed_fit("flat", cold=True)
    t_bayes, t_second = timed_fit("flat")
    t_diagonal = timed_fit("flat_diagonal")
    runs = _load("chinchilla")
    point, t_grid = timed(
        "Epoch-style point fit (L-BFGS-B from 4500 starts)", lambda: fit_point(runs)
    )
    _, t_boot = timed(
        "  + 4000 bootstrap refits (from the full-data optimum)",
        lambda: bootstrap_point(runs, n_bootstrap=4000, seed=0, start=point),
    )
    t_epoch = t_grid + t_boot
    print(f"{'Epoch-style baseline total':<58s} {t_epoch:8.1f} s")
    print(f"ratio baseline / Bayesian (default sampler): {t_epoch / t_bayes:.1f}x (target >= 4x)")
    print(
        f"ratio baseline / second Bayesian fit of the same structure: {t_epoch / t_second:.1f}x "
        f"(target >= 15x)"
    )
    print(f"ratio baseline / Bayesian (diagonal mass matrix): {t_epoch / t_diagonal:.1f}x")
    t_hier = timed_fit("hierarchical")
    print(f"    3-group target <= 30 s: {'met' if t_hier <= 30 else 'MISSED'}")
    timed_fit("readme")


if __name__ == "__main__":
    main()
