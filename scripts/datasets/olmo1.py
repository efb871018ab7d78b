"""Build forecast/_data/olmo1/ from the OLMo-1 W&B evaluation logs (IBM ColPret).

Source: IBM/ColPret ``aggregated_eval/olmo.csv`` (raw copy ``olmo.csv``): OLMo-1B,
OLMo-7B and OLMo-7B-Twin-2T checkpoints with validation losses (Groeneveld et al. 2024).
Usage::

    python scripts/datasets/olmo1.py --shared <raw-data-dir> [--out forecast/_data]
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

NAME = "olmo1"
RAW = "ibm_colpret_hitchhiker"
COMMIT = "16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
CITATION = (
    "Groeneveld, D., et al. (2024). OLMo: Accelerating the Science of Language Models. "
    "ACL 2024, arXiv:2402.00838. Logs compiled by Choshen, L., Zhang, Y., Andreas, J. (2025). "
    "A Hitchhiker's Guide to Scaling Law Estimation. ICML 2025, arXiv:2410.11840; data: "
    f"GitHub IBM/ColPret, commit {COMMIT}."
)
VOCAB_PADDED = 50_304  # OLMo-1 embedding size (GPT-NeoX-20B tokenizer, 50280, padded)


def olmo1_params(d_model: int, n_layers: int, mlp_hidden: int, tied: bool) -> int:
    """Total parameters of an OLMo-1 model (no biases, non-parametric layer norm).

    Per block: fused QKV + output projection 4 d^2; SwiGLU d x mlp_hidden in and
    (mlp_hidden / 2) x d out. Embedding V x d, counted twice when untied.
    """
    block = 4 * d_model**2 + d_model * mlp_hidden + (mlp_hidden // 2) * d_model
    return n_layers * block + (1 if tied else 2) * VOCAB_PADDED * d_model


#: ColPret model_name -> (run_id, N, tokens per step, loss column, column is perplexity)
RUNS = {
    "OLMo-1B": (
        "OLMo-1B",
        olmo1_params(2048, 16, 16384, tied=True),
        2048 * 2048,
        "v2-small-c4_en-validation/CrossEntropyLoss",
        False,
    ),
    "OLMo-7B": (
        "OLMo-7B",
        olmo1_params(4096, 32, 22016, tied=False),
        2160 * 2048,
        "c4_en-validation/CrossEntropyLoss",
        False,
    ),
    "OLMo-7B-Twin-2T": (
        "OLMo-7B-Twin-2T",
        olmo1_params(4096, 32, 22016, tied=False),
        2160 * 2048,
        "c4_en-validation/Perplexity",
        True,
    ),
}
MIN_FRACTION = 0.7
MAX_PER_RUN = 10


def main() -> None:
    shared, out = parse_args(__doc__)
    assert RUNS["OLMo-1B"][1] == 1_176_764_416 and RUNS["OLMo-7B"][1] == 6_888_095_744
    raw = pd.read_csv(shared / RAW / "olmo.csv")
    raw["model_name"] = raw["model_name"].str.strip()  # "OLMo-1B " has a trailing space
    raw["tokens_in_name"] = (
        raw["checkpoint"].str.extract(r"tokens(\d+)B", expand=False).astype(float) * 1e9
    )

    frames = []
    late_groups = []
    summary = []
    name_check = {}
    for model, (run_id, n, per_step, col, is_ppl) in RUNS.items():
        g = raw[raw["model_name"] == model].sort_values("Step")
        g = g.assign(tokens=g["Step"].astype(float) * per_step)
        named = g.dropna(subset=["tokens_in_name"])
        name_check[model] = float(np.max(np.abs(named["tokens"] - named["tokens_in_name"])))
        loss = np.log(g[col]) if is_ppl else g[col]
        ok = np.isfinite(loss) & (loss > 0)
        g = g.assign(loss=loss)[ok]
        fraction = (g["tokens"] / g["tokens"].iloc[-1]).to_numpy()
        late = g[fraction >= MIN_FRACTION - 1e-12]
        late_groups.append((late["tokens"].to_numpy(), late["loss"].to_numpy()))
        keep = thin_by_fraction(fraction, MIN_FRACTION, MAX_PER_RUN)
        kept = g.iloc[keep]
        frames.append(
            pd.DataFrame(
                {
                    "N": float(n),
                    "D": kept["tokens"].to_numpy(dtype=float),
                    "loss": round_sig(kept["loss"].to_numpy()),
                    "run_id": run_id,
                    "checkpoint_fraction": round_sig(fraction[keep]),
                    "group": "OLMo-1",
                    "family": "OLMo-1",
                    "eval_set": "c4_en_v2_small",
                    "tokenizer": "gpt-neox-20b",
                }
            )
        )
        summary.append(
            {
                "run_id": run_id,
                "N": n,
                "tokens/step": per_step,
                "loss column": col + (" (ln)" if is_ppl else ""),
                "logged rows": int(ok.sum()),
                "dropped rows": int((~ok).sum()),
                "last step": int(g["Step"].iloc[-1]),
                "last D": g["tokens"].iloc[-1],
                "late rows": len(late),
                "rows kept": len(kept),
            }
        )
    seven = raw[raw["model_name"] == "OLMo-7B"]
    ppl_check = float(
        np.max(
            np.abs(
                np.log(seven["c4_en-validation/Perplexity"])
                - seven["c4_en-validation/CrossEntropyLoss"]
            )
        )
    )
    diff_7b = name_check["OLMo-7B"] / 1e9
    diff_twin = name_check["OLMo-7B-Twin-2T"] / 1e9
    columns = columns_table(
        [
            ("`N`", "parameters", "total parameters from the OLMo-1 architecture (below)"),
            ("`D`", "tokens", "tokens seen = `Step` x tokens per step"),
            (
                "`loss`",
                "nats/token",
                "C4 validation cross-entropy (OLMo `v2_small` c4_en set), 6 significant digits",
            ),
            ("`loss_sd`", "nats/token", "checkpoint-noise SD, one value for every row (below)"),
            ("`run_id`", "—", "`OLMo-1B`, `OLMo-7B`, `OLMo-7B-Twin-2T`"),
            ("`checkpoint_fraction`", "1", "D / D at the run's last logged step"),
            ("`group`, `family`", "—", "`OLMo-1`"),
            (
                "`eval_set`",
                "—",
                "`c4_en_v2_small`: OLMo's small C4 (en) validation set "
                "(`v2_small_gptneox20b/c4_en`)",
            ),
            (
                "`tokenizer`",
                "—",
                "`gpt-neox-20b` (OLMo's GPT-NeoX-20B BPE with PII specials, vocab 50280)",
            ),
        ]
    )
    sd, dof = residual_sd(late_groups)
    loss_sd = round(sd, 4)
    runs = pd.concat(frames, ignore_index=True)
    runs.insert(3, "loss_sd", loss_sd)
    summary_df = pd.DataFrame(summary)
    if name_check["OLMo-7B"] > 0.5e9 or name_check["OLMo-7B-Twin-2T"] > 0.5e9:
        raise SystemExit(f"7B token counts disagree with checkpoint names: {name_check}")

    source_md = f"""# olmo1 — OLMo-1 (1B, 7B, 7B-Twin-2T), late C4 validation loss

- **Origin:** GitHub `IBM/ColPret`, commit `{COMMIT}`, file `aggregated_eval/olmo.csv`
  (1,708 rows; ColPret's merge of W&B exports of the OLMo-1 training runs).
- **Papers:** {CITATION}
- **License:** MIT, Copyright (c) 2024 International Business Machines (see `LICENSE`);
  the OLMo logs themselves are released by AI2 under Apache-2.0.
- **Rows:** {len(runs)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic).

## Columns

{columns}

**Default group:** none (one family; `group` filled for concatenation with `gpt3`, `opt`).

## N (total parameters, embeddings included)

From the OLMo-1 configs (Groeneveld et al. 2024, Table 1; `configs/official/OLMo-*.yaml`):
no biases, non-parametric layer norm, SwiGLU, embedding 50304 x d_model.
- OLMo-1B: d_model 2048, 16 layers, MLP hidden 16384, tied embeddings -> 1,176,764,416.
- OLMo-7B and 7B-Twin-2T: d_model 4096, 32 layers, MLP hidden 22016, untied ->
  6,888,095,744.

## D (tokens) — why not the checkpoint string

Tokens per step = global batch x 2048: OLMo-1B 2048 x 2048 = 4,194,304; OLMo-7B and
Twin-2T 2160 x 2048 = 4,423,680. For both 7B runs this reproduces the token count in
ColPret's `checkpoint` revision names (`stepNNN-tokensXXXB`) to within the 0.5B rounding
(max |diff| {diff_7b:.2f}B and {diff_twin:.2f}B). For OLMo-1B
the names are wrong: ColPret built every model's revision names from the `allenai/OLMo-7B`
branch list, so the 1B names carry the 7B's 4.42M tokens/step (max |diff| vs 4,194,304 x
Step: {name_check["OLMo-1B"] / 1e9:.0f}B). The real OLMo-1B revisions are e.g.
`step20000-tokens84B` = 20000 x 4,194,304. We therefore use Step x tokens/step for all runs.

## Eval set choice

C4 only, so every row has one eval set. OLMo-1B logs the `v2-small-c4_en-validation` set
under that name; by our reading the 7B runs log the same `v2_small_gptneox20b` evaluator set
without the `v2-small-` prefix (their unprefixed set list — 4chan, c4_100_domains, c4_en, gab, ice,
m2d2_s2orc, m2d2_wiki, manosphere, mc4_en, pile, ptb, twitterAEE, wikitext_103 — is the v2
list, not the v3 list). For Twin-2T only the perplexity column exists: loss = ln(ppl)
(on OLMo-7B, ln(ppl) and the CE column agree to {ppl_check:.0e}). Pile CE is available upstream but
not for all rows of Twin-2T; it is not included.

## Transformation (exact)

1. Strip the trailing space in `model_name` (`"OLMo-1B "`).
2. D = Step x tokens/step (above); loss from the column in the table below; drop rows
   with a missing or non-positive loss (W&B exports summed over runs give 0 for empty rows).
3. `checkpoint_fraction` = D / D at the run's last logged step.
4. Late checkpoints only: fraction >= {MIN_FRACTION}; at most {MAX_PER_RUN} per run (nearest to
   {MAX_PER_RUN} evenly spaced fractions in [{MIN_FRACTION}, 1], ties to the later one; the
   last step is always kept).
5. `loss_sd`: least-squares line `loss ~ a + b log(tokens)` per run through all late logged
   checkpoints (every 1000 steps), residuals pooled ({dof} degrees of freedom): SD =
   {sd:.5f}, rounded to {loss_sd:g}.
6. loss and checkpoint_fraction rounded to 6 significant digits.

## Row counts

rows: {len(runs)} ({runs["run_id"].nunique()} runs).

{md_table(summary_df)}

## Caveats

- The last logged step is the end of training for each run up to a few hundred steps
  (OLMo-1B's config plans 739,328 steps = 3.1T tokens; the log ends at 738,000).
- OLMo-7B-Twin-2T is the same architecture trained to 2T tokens on other hardware; it is
  a separate run, not a checkpoint of OLMo-7B.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title="OLMo-1 (1B, 7B, 7B-Twin-2T): late-training C4 validation loss",
        license_name="MIT",
        citation=CITATION,
        source_md=source_md,
        license_text=colpret_license(
            "rows selected, tokens\n"
            "recomputed, values rounded; columns added (see SOURCE.md). The OLMo training logs "
            "are\npublished by the Allen Institute for AI under the Apache License 2.0."
        ),
    )
    print(f"{NAME}: {len(runs)} rows; loss_sd {loss_sd}")


if __name__ == "__main__":
    main()
