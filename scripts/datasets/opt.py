"""Build forecast/_data/opt/ from the OPT training trajectories (IBM ColPret).

Source: IBM/ColPret ``aggregated_eval/opt_trajectories.csv`` (raw copy
``opt_trajectories.csv``): validation perplexity of intermediate OPT checkpoints
(Xia et al. 2023). Usage::

    python scripts/datasets/opt.py --shared <raw-data-dir> [--out forecast/_data]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _build import (
    colpret_license,
    columns_table,
    md_table,
    parse_args,
    residual_sd,
    round_sig,
    thin_by_fraction,
    write_dataset,
)

NAME = "opt"
RAW = "ibm_colpret_hitchhiker"
COMMIT = "16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
CITATION = (
    "Zhang, S., et al. (2022). OPT: Open Pre-trained Transformer Language Models. "
    "arXiv:2205.01068 (Table 1). Trajectories: Xia, M., et al. (2023). Training Trajectories "
    "of Language Models Across Scales. ACL 2023, arXiv:2212.09803; compiled by Choshen, L., "
    "Zhang, Y., Andreas, J. (2025). A Hitchhiker's Guide to Scaling Law Estimation. ICML "
    f"2025, arXiv:2410.11840; data: GitHub IBM/ColPret, commit {COMMIT}."
)
#: size label -> (run_id, total parameters (Zhang et al. 2022, Table 1), tokens per step)
MODELS = {
    "125m": ("OPT-125M", 125e6, 0.5e6),
    "1.3b": ("OPT-1.3B", 1.3e9, 1e6),
    "6.7b": ("OPT-6.7B", 6.7e9, 2e6),
    "13b": ("OPT-13B", 13e9, 4e6),
    "30b": ("OPT-30B", 30e9, 4e6),
    "175b": ("OPT-175B", 175e9, 2e6),
}
TOTAL_TOKENS = 300e9  # OPT models were trained on ~300B tokens (180B-token corpus x 1.67)
MIN_FRACTION = 0.7
MAX_PER_RUN = 10


def main() -> None:
    shared, out = parse_args(__doc__)
    raw = pd.read_csv(shared / RAW / "opt_trajectories.csv")
    if set(raw["model_size"].unique()) != set(MODELS):
        raise SystemExit(f"unexpected sizes {sorted(raw['model_size'].unique())}")
    raw = raw.assign(
        tokens=[s * MODELS[m][2] for s, m in zip(raw["steps"], raw["model_size"], strict=True)]
    )
    # The file's num_token is log10(steps x batch tokens); check our batch sizes reproduce it.
    err = np.max(np.abs(np.log10(raw["tokens"]) - raw["num_token"]))
    if err > 1e-6:
        raise SystemExit(f"batch sizes do not reproduce num_token (max |diff| {err})")
    raw["loss"] = np.log(raw["ppl"])
    raw["fraction"] = raw["tokens"] / TOTAL_TOKENS

    late = raw[raw["fraction"] >= MIN_FRACTION - 1e-12]
    sd, dof = residual_sd(
        [(g["tokens"].to_numpy(), g["loss"].to_numpy()) for _, g in late.groupby("model_size")]
    )
    loss_sd = round(sd, 4)

    frames = []
    summary = []
    for label, (run_id, n, batch) in MODELS.items():
        g = raw[raw["model_size"] == label].sort_values("tokens")
        keep = thin_by_fraction(g["fraction"].to_numpy(), MIN_FRACTION, MAX_PER_RUN)
        kept = g.iloc[keep]
        frames.append(
            pd.DataFrame(
                {
                    "N": n,
                    "D": kept["tokens"].to_numpy(dtype=float),
                    "loss": round_sig(kept["loss"].to_numpy()),
                    "loss_sd": loss_sd,
                    "run_id": run_id,
                    "checkpoint_fraction": round_sig(kept["fraction"].to_numpy()),
                    "group": "OPT",
                    "family": "OPT",
                    "eval_set": "opt_val",
                    "tokenizer": "gpt2",
                }
            )
        )
        summary.append(
            {
                "size": label,
                "run_id": run_id,
                "N": n,
                "tokens/step": batch,
                "raw rows": len(g),
                "last D": g["tokens"].max(),
                "last fraction": round(g["fraction"].max(), 4),
                "rows kept": len(kept),
                "last loss": round(g["loss"].iloc[-1], 5),
            }
        )
    runs = pd.concat(frames, ignore_index=True)
    summary_df = pd.DataFrame(summary)
    last_fraction = f"{summary_df['last fraction'].min():g}-{summary_df['last fraction'].max():g}"
    last_d = f"{summary_df['last D'].min() / 1e9:.0f}-{summary_df['last D'].max() / 1e9:.0f}"
    columns = columns_table(
        [
            ("`N`", "parameters", "total parameters, nominal sizes of Zhang et al. (2022) Table 1"),
            (
                "`D`",
                "tokens",
                "tokens seen = `steps` x tokens per step (Table 1 batch sizes: 125M 0.5M, "
                "1.3B 1M, 6.7B 2M, 13B 4M, 30B 4M, 175B 2M)",
            ),
            ("`loss`", "nats/token", "ln(`ppl`), 6 significant digits"),
            ("`loss_sd`", "nats/token", "checkpoint-noise SD, one value for every row (below)"),
            ("`run_id`", "—", "`OPT-125M` ... `OPT-175B`"),
            ("`checkpoint_fraction`", "1", "D / 300e9 (planned training length of every model)"),
            ("`group`, `family`", "—", "`OPT`"),
            (
                "`eval_set`",
                "—",
                "`opt_val`: validation perplexity on held-out text of OPT's pre-training "
                "distribution (Xia et al. 2023; not re-verified here)",
            ),
            ("`tokenizer`", "—", "`gpt2` (GPT-2 BPE, vocab 50272 incl. OPT specials)"),
        ]
    )

    source_md = f"""# opt — OPT family, late validation loss

- **Origin:** GitHub `IBM/ColPret`, commit `{COMMIT}`, file
  `aggregated_eval/opt_trajectories.csv` (142 rows; ColPret labels the source
  "training_trajectories", i.e. Xia et al. 2023, and the data "OPT(ROBERTA_PILE_REDDIT)").
- **Papers:** {CITATION}
- **License:** MIT, Copyright (c) 2024 International Business Machines (see `LICENSE`).
- **Rows:** {len(runs)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic).

## Columns

{columns}

**Default group:** none (one family; `group` filled for concatenation with `gpt3`, `olmo1`).

## Transformation (exact)

1. tokens = `steps` x tokens/step; checked to reproduce the file's `num_token` (= log10
   tokens) to < 1e-6 in log10 (max |diff| = {err:.1e}).
2. loss = ln(`ppl`) (perplexity is exp of the mean per-token cross-entropy in nats).
3. Late checkpoints only: D >= {MIN_FRACTION} x 300B = 210B tokens; at most {MAX_PER_RUN} per
   model (all are kept when there are at most {MAX_PER_RUN}, which is the case for every
   model here). The logs stop before 300B (last fraction
   {last_fraction}), so no row has fraction 1.
4. `loss_sd`: least-squares line `loss ~ a + b log(tokens)` per model through all late
   checkpoints, residuals pooled over models with at least 3 late checkpoints ({dof} degrees
   of freedom): SD = {sd:.5f}, rounded to {loss_sd:g} — the checkpoint-to-checkpoint noise.

## Row counts

rows: {len(runs)} ({runs["run_id"].nunique()} models).

{md_table(summary_df)}

## Caveats

- 300B planned tokens: OPT's corpus is 180B tokens and the models were trained for about
  1.67 epochs (Epoch AI lists OPT-175B with 180B tokens x 1.6667 epochs); the released
  trajectories end at {last_d}B tokens.
- OPT-175B's run had many restarts and learning-rate changes; its late curve is not a clean
  single schedule.
- N are the nominal sizes of the paper; exact parameter counts differ slightly.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title="OPT family (125M-175B): late-training validation loss",
        license_name="MIT",
        citation=CITATION,
        source_md=source_md,
        license_text=colpret_license(
            "rows selected, values\n"
            "transformed (loss = ln perplexity) and rounded; columns added (see SOURCE.md)."
        ),
    )
    print(f"{NAME}: {len(runs)} rows; loss_sd {loss_sd}")


if __name__ == "__main__":
    main()
