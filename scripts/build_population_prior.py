"""Rebuild the ``"population"`` prior preset from the bundled data (deterministic, seeded).

1. Summarise each bundled family's runs (:func:`forecast.population.family_summary`, fitted
   with the default model, ``forecast.config.DEFAULT_MODEL``): the
   Epoch Chinchilla points (tests/data/chinchilla.csv), each Gadre corpus (eval ``c4_val``),
   the OLMo ladder (``c4_en``, final checkpoints), datablations (single-epoch runs, no
   ``high_loss`` rows), GPT-3, OPT, OLMo-1.
2. Add the published fits, sample the meta-model, write ``forecast/_presets/population.json``
   and its sha256 in ``meta.json``.

Run: ``python scripts/build_population_prior.py`` (a few minutes on 2 cores). ``--summaries
FILE`` caches step 1 as CSV; ``--out DIR`` writes elsewhere (the test of determinism).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
# this checkout's package, not whichever copy the environment has installed
sys.path.insert(0, str(HERE.parent))

from forecast import load_dataset  # noqa: E402
from forecast.errors import ConvergenceWarning  # noqa: E402
from forecast.population import (  # noqa: E402
    build_population,
    family_summary,
    observations,
    write_preset,
)


def families() -> dict[str, pd.DataFrame]:
    """The bundled families: key -> runs (a key equals the published-fits ``family`` where
    one exists)."""
    out = {"chinchilla": pd.read_csv(HERE.parent / "tests" / "data" / "chinchilla.csv")}
    gadre = load_dataset("gadre2024").query("eval_set == 'c4_val'")
    for corpus in sorted(gadre["corpus"].unique()):
        out[f"gadre_{corpus}"] = gadre[gadre.corpus == corpus]
    olmo = load_dataset("olmo_ladder")
    out["olmo_ladder"] = olmo[(olmo.eval_set == "c4_en") & (olmo.checkpoint_fraction == 1)]
    bl = load_dataset("datablations")
    out["datablations"] = bl[(bl.epochs <= 1) & ~bl["high_loss"]]
    for name in ("gpt3", "opt", "olmo1"):
        out[name] = load_dataset(name)
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def summaries(cache: Path | None = None, model: dict | None = None) -> pd.DataFrame:
    """Family summaries fitted with ``model`` (default ``DEFAULT_MODEL``), or ``cache``."""
    if cache is not None and cache.exists():
        return pd.read_csv(cache)
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for key, runs in families().items():
            parts.append(family_summary(runs, key, seed=1, model=model))
            print(parts[-1].to_string(index=False), flush=True)
    out = pd.concat(parts, ignore_index=True)
    if cache is not None:
        out.to_csv(cache, index=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summaries", type=Path, help="cache of the family summaries (CSV)")
    parser.add_argument("--out", type=Path, help="output folder (default: the package's)")
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    obs = observations(summaries(args.summaries))
    priors, info = build_population(obs, draws=args.draws, tune=args.draws, seed=0)
    digest = write_preset(priors, info, args.out)
    for key, spec in priors.items():
        print(key, spec.dist, dict(spec.params))
    print(info)
    print("sha256", digest)


if __name__ == "__main__":
    main()
