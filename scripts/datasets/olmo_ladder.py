"""Build forecast/_data/olmo_ladder/ from the OLMo model-ladder W&B exports.

Source: allenai/OLMo-ladder (Bhagia et al. 2024), 30 ladder-run CSVs + configs/final.json.
Output: tidy runs (one row per kept checkpoint x validation set), long format with
``eval_set``. Usage::

    python scripts/datasets/olmo_ladder.py --shared <raw-data-dir> [--out forecast/_data]
"""

from __future__ import annotations

import json
import re

import pandas as pd
from _build import (
    apache_license,
    columns_table,
    md_table,
    parse_args,
    round_sig,
    thin_by_fraction,
    write_dataset,
)

NAME = "olmo_ladder"
RAW = "olmo_ladder_bhagia2024"
COMMIT = "67a3f440f787d020da35e3ca8eeae475fae754f5"
TOKENIZER = "dolma2"  # allenai/dolma2-tokenizer: cl100k-based BPE, vocab 100278
CITATION = (
    "Bhagia, A., Liu, J., Wettig, A., Heineman, D., Tafjord, O., Jha, A. H., Soldaini, L., "
    "Smith, N. A., Groeneveld, D., Koh, P. W., Dodge, J., Hajishirzi, H. (2024). Establishing "
    "Task Scaling Laws via Compute-Efficient Model Ladders. arXiv:2412.04403. Data: GitHub "
    f"allenai/OLMo-ladder, commit {COMMIT}."
)
MIN_FRACTION = 0.3
MAX_PER_RUN = 10
TOKENS_PER_PARAM_1XC = 20  # "1xC" = 20 tokens per parameter (Chinchilla)

# Architecture of the ladder sizes (OLMo-ladder src/ladder/ladder.py, MODEL_CONFIGS): all
# use SwiGLU with mlp_ratio 8, QK-norm, untied embeddings of size 100352 (dolma2 tokenizer).
EMBEDDING_SIZE = 100_352
ARCH = {  # size label in file names -> (d_model, n_layers); key in final.json
    "190M": (768, 12, "190M"),
    "370M": (1024, 16, "370M"),
    "760M": (1536, 16, "760M"),
    "1B": (2048, 16, "1.3B"),
    "3B": (3328, 16, None),  # no final.json entry
}
EVAL_RE = re.compile(r"^eval/(?P<set>[^/]+)-validation/CrossEntropyLoss$")
FILE_RE = re.compile(r"^(?P<size>[0-9.]+[MB])-(?P<k>[0-9.]+)xC(?P<rerun>-rerun)?$")


def ladder_params(d_model: int, n_layers: int) -> tuple[int, int]:
    """(n, n_non_embedding) as counted by the ladder code for one size.

    Per block: attention 4 d^2, SwiGLU MLP 12 d^2 (d -> 8d split in two halves, 4d -> d);
    4 RMSNorm weight vectors (attention, MLP, q-norm, k-norm) per block + 1 final norm.
    The ladder's ``n`` counts the input embedding once and not the (untied) output
    projection.
    """
    non_embedding = 16 * n_layers * d_model**2 + (4 * n_layers + 1) * d_model
    return non_embedding + EMBEDDING_SIZE * d_model, non_embedding


def main() -> None:
    shared, out = parse_args(__doc__)
    raw = shared / RAW
    final = json.loads((raw / "final.json").read_text())

    # N per size: architecture formula, checked against final.json where it has an entry,
    # and against the FLOPs-per-token / 6 shortcut (which is documented to fail).
    checks = []
    params = {}
    for size, (d_model, n_layers, key) in ARCH.items():
        n, n_non_emb = ladder_params(d_model, n_layers)
        params[size] = (n, n_non_emb)
        fj_n = final[key]["n"] if key else None
        if fj_n is not None and fj_n != n:
            raise SystemExit(f"{size}: architecture count {n} != final.json n {fj_n}")
        checks.append(
            {
                "size": size,
                "d_model": d_model,
                "n_layers": n_layers,
                "N": n,
                "final_json_n": fj_n if fj_n is not None else "(none)",
            }
        )

    frames = []
    flops_check: dict[str, float] = {}
    files = sorted((raw / "ladder-runs").glob("*.csv"))
    if len(files) != 30:
        raise SystemExit(f"expected 30 ladder-run CSVs, found {len(files)}")
    per_run = []
    for path in files:
        run_id = path.stem
        m = FILE_RE.match(run_id)
        if m is None:
            raise SystemExit(f"unexpected file name {path.name}")
        size, k = m["size"], float(m["k"])
        n, n_non_emb = params[size]
        raw_df = pd.read_csv(path)
        eval_cols = {c: EVAL_RE.match(c)["set"] for c in raw_df.columns if EVAL_RE.match(c)}
        if len(eval_cols) != 11:
            raise SystemExit(f"{path.name}: expected 11 CE columns, found {len(eval_cols)}")
        df = raw_df.dropna(subset=["throughput/total_tokens", *eval_cols]).sort_values(
            "throughput/total_tokens"
        )
        tokens = df["throughput/total_tokens"].to_numpy(dtype=float)
        last = df.iloc[-1]
        flops_check[size] = (
            float(last["throughput/total_training_Gflops"]) * 1e9 / float(tokens[-1]) / 6.0
        )
        fraction = tokens / tokens[-1]
        keep = thin_by_fraction(fraction, MIN_FRACTION, MAX_PER_RUN)
        kept = df.iloc[keep]
        per_run.append(
            {
                "run_id": run_id,
                "N": n,
                "k (xC)": k,
                "planned D = 20kN": TOKENS_PER_PARAM_1XC * k * n,
                "final D (tokens)": tokens[-1],
                "raw rows": len(raw_df),
                "kept checkpoints": len(kept),
            }
        )
        for col, eval_set in eval_cols.items():
            frames.append(
                pd.DataFrame(
                    {
                        "N": float(n),
                        "D": kept["throughput/total_tokens"].to_numpy(dtype=float),
                        "loss": round_sig(kept[col].to_numpy(dtype=float)),
                        "eval_set": eval_set,
                        "run_id": run_id,
                        "checkpoint_fraction": round_sig(fraction[keep]),
                        "token_multiplier": k,
                        "N_non_embedding": float(n_non_emb),
                        "tokenizer": TOKENIZER,
                    }
                )
            )
    runs = pd.concat(frames, ignore_index=True)
    runs = runs.sort_values(["eval_set", "N", "token_multiplier", "run_id", "D"], kind="stable")
    runs = runs.reset_index(drop=True)

    check_df = pd.DataFrame(checks)
    check_df["FLOPs/token / 6"] = [round(flops_check[s]) for s in ARCH]
    check_df["ratio N / (FLOPs/token/6)"] = [round(params[s][0] / flops_check[s], 4) for s in ARCH]
    run_df = pd.DataFrame(per_run).sort_values(["N", "k (xC)", "run_id"], kind="stable")
    run_df["final/planned"] = (run_df["final D (tokens)"] / run_df["planned D = 20kN"]).round(5)
    over = [100 * (flops_check[s] / params[s][0] - 1) for s in ARCH]
    over_lo, over_hi = min(over), max(over)
    eval_sets = sorted(runs["eval_set"].unique())
    columns = columns_table(
        [
            ("`N`", "parameters", "parameter count `n` as used by the ladder paper (below)"),
            ("`D`", "tokens", "tokens seen at the checkpoint (`throughput/total_tokens`)"),
            (
                "`loss`",
                "nats/token",
                "validation cross-entropy `eval/<set>-validation/CrossEntropyLoss`, "
                "6 significant digits",
            ),
            ("`eval_set`", "—", "validation set: " + ", ".join(f"`{e}`" for e in eval_sets)),
            (
                "`run_id`",
                "—",
                "file stem, e.g. `190M-1xC`, `190M-1xC-rerun` (`1B` = the size keyed `1.3B` "
                "in final.json)",
            ),
            ("`checkpoint_fraction`", "1", "D / final D of the same run (1 = end of training)"),
            ("`token_multiplier`", "1", 'k of "kxC"'),
            ("`N_non_embedding`", "parameters", "N minus the input embedding (100352 x d_model)"),
            (
                "`tokenizer`",
                "—",
                "`dolma2` (allenai/dolma2-tokenizer, cl100k-based BPE, vocab 100278)",
            ),
        ]
    )
    counts = runs.groupby("eval_set").size()

    source_md = f"""# olmo_ladder — OLMo model-ladder training runs (Bhagia et al. 2024)

- **Origin:** GitHub `allenai/OLMo-ladder`, commit `{COMMIT}`, files
  `src/scripts/paper/data/ladder-runs/*.csv` (30 W&B exports, one row per evaluation step)
  and `src/scripts/paper/configs/final.json`.
- **Paper:** {CITATION}
- **License:** Apache-2.0 (see `LICENSE`). Changes: columns selected, renamed, reshaped to
  long format, rows thinned and values rounded as described below.
- **Rows:** {len(runs)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic; reruns give identical bytes).

## Content

{len(runs)} rows = {runs["run_id"].nunique()} runs x up to {MAX_PER_RUN} kept checkpoints x
{len(eval_sets)} validation sets. Ladder: 5 sizes (190M, 370M, 760M, 1B, 3B) x token
budgets k in {{0.5, 1, 2, 5, 10}} xC, plus one rerun of every 1xC run (`*-1xC-rerun`,
same configuration trained again: run-to-run noise). Both runs of each 1xC pair are kept.

**Chinchilla multiplier.** "kxC" means D = k x 20 tokens/parameter x N (the ladder code's
`parse_length`: 1xC = 20 N tokens, 0.5xC = 10 N). The realised final token counts differ
from 20kN by the batch rounding only (final/planned column below).

## Columns

{columns}

**Default group:** `eval_set` (meta.json `default_group`). Losses on different validation
sets have different irreducible terms, so never fit all rows as one group: filter one set
(e.g. `c4_en`, used by the backtests) or pool the sets as groups.

## Transformation (exact)

1. Read the 30 CSVs; keep `throughput/total_tokens` and the 11
   `eval/<set>-validation/CrossEntropyLoss` columns; drop rows where any of these is
   missing (none are); sort by tokens.
2. `checkpoint_fraction` = tokens / tokens of the run's last row.
3. Thinning per run: keep only checkpoints with fraction >= {MIN_FRACTION}; of those keep at
   most {MAX_PER_RUN}: for each of {MAX_PER_RUN} targets evenly spaced in [{MIN_FRACTION}, 1]
   take the nearest checkpoint (ties to the later one), drop duplicates. The final
   checkpoint is always kept.
4. Long format: one row per kept checkpoint x validation set; `eval_set` = the set name
   with the `eval/` prefix and `-validation/CrossEntropyLoss` suffix removed.
5. N per size from the architecture (below); loss and checkpoint_fraction rounded to 6
   significant digits; D kept exact.

## Parameter counts (N)

The ladder's `n` (final.json; also `MODEL_PARAMS` in `src/ladder/ladder.py`) counts the
transformer blocks, the norms and the input embedding once; the runs use untied
embeddings, so the output projection (another 100352 x d_model) is not in `n`. We keep the
paper's `n` so fits match the paper; the untied total is N + 100352 x d_model.

The 3B size has no final.json entry. We use the **architecture formula**
n = 16 L d^2 + (4L + 1) d + 100352 d with the ladder config (3B: d_model 3328, 16 layers),
which reproduces final.json `n` exactly for the four sizes that have one, and gives
3,169,537,280 for 3B (equal to `MODEL_PARAMS["3B"]` in `src/ladder/ladder.py` of the same
repository). The shortcut N = (`throughput/total_training_Gflops` x 1e9 / tokens) / 6 was
checked and **rejected**: FLOPs/token in these logs include attention and the output layer
(they equal final.json `flops`), so the shortcut overstates N by {over_lo:.0f}-{over_hi:.0f} %:

{md_table(check_df)}

## Per-run summary

{md_table(run_df)}

## Row counts

- total rows: {len(runs)}; per eval set: {", ".join(f"{k} {v}" for k, v in counts.items())}
- runs: {runs["run_id"].nunique()}; kept checkpoints: {int(run_df["kept checkpoints"].sum())}

## Caveats

- Intermediate checkpoints (fraction < 1) are not the end of a shorter run: the learning
  rate schedule is set for the run's full budget, so mid-run losses sit above the loss a
  run of that length would reach. Filter `checkpoint_fraction == 1` for end-of-training
  points.
- Training corpus: the OLMo 2 pre-training mix, by our reading of the paper (not stored
  as a column).
- Losses are from the small (`v3_small`) validation subsets, dolma2 tokenizer; they are not
  comparable in nats/token with models that use another tokenizer.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title="OLMo model ladder (190M-3B x 0.5-10xC), validation losses by checkpoint",
        license_name="Apache-2.0",
        citation=CITATION,
        source_md=source_md,
        license_text=apache_license(
            "allenai/OLMo-ladder",
            "columns selected and renamed, reshaped, thinned and rounded (see SOURCE.md).",
        ),
        default_group="eval_set",
        group_columns=("eval_set",),
    )
    print(f"{NAME}: {len(runs)} rows")


if __name__ == "__main__":
    main()
