"""Build forecast/_data/gpt3/ from the digitised GPT-3 learning curves (IBM ColPret).

Source: IBM/ColPret ``raw_data/gpt3/extracted.csv`` (raw copy ``gpt3_extracted.csv``):
validation loss vs tokens digitised from Brown et al. (2020), Figure 4.1. Usage::

    python scripts/datasets/gpt3.py --shared <raw-data-dir> [--out forecast/_data]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _build import colpret_license, md_table, parse_args, residual_sd, round_sig, write_dataset

NAME = "gpt3"
RAW = "ibm_colpret_hitchhiker"
COMMIT = "16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
CITATION = (
    "Brown, T. B., et al. (2020). Language Models are Few-Shot Learners. NeurIPS 2020, "
    "arXiv:2005.14165 (Figure 4.1, Table 2.1). Digitised curves from Choshen, L., Zhang, Y., "
    "Andreas, J. (2025). A Hitchhiker's Guide to Scaling Law Estimation. ICML 2025, "
    f"arXiv:2410.11840; data: GitHub IBM/ColPret, commit {COMMIT}."
)
#: ColPret model label -> (run_id, total parameters from Brown et al. 2020, Table 2.1)
MODELS = {
    "small": ("GPT-3 Small", 125e6),
    "medium": ("GPT-3 Medium", 350e6),
    "large": ("GPT-3 Large", 760e6),
    "xl": ("GPT-3 XL", 1.3e9),
    "2.7b": ("GPT-3 2.7B", 2.7e9),
    "6.7b": ("GPT-3 6.7B", 6.7e9),
    "13b": ("GPT-3 13B", 13e9),
    "175b": ("GPT-3 175B", 175e9),
}
TOTAL_TOKENS = 300e9  # every GPT-3 model was trained on 300B tokens (Table 2.1)
MIN_FRACTION = 0.7
N_BINS = 10
MIN_POINTS_PER_BIN = 3


def main() -> None:
    shared, out = parse_args(__doc__)
    raw = pd.read_csv(shared / RAW / "gpt3_extracted.csv")
    if set(raw["model"].unique()) != set(MODELS):
        raise SystemExit(f"unexpected model labels {sorted(raw['model'].unique())}")
    val = raw.dropna(subset=["val_loss"])
    late = val[val["step"] * 1e9 >= MIN_FRACTION * TOTAL_TOKENS]

    sd, dof = residual_sd(
        [(g["step"].to_numpy(), g["val_loss"].to_numpy()) for _, g in late.groupby("model")]
    )
    loss_sd = round(sd, 4)

    edges = np.linspace(MIN_FRACTION * TOTAL_TOKENS, TOTAL_TOKENS, N_BINS + 1) / 1e9
    rows = []
    summary = []
    for label, (run_id, n) in MODELS.items():
        g = late[late["model"] == label]
        # right-closed last bin; points beyond 300B (digitisation overshoot) join it
        idx = np.clip(np.searchsorted(edges, g["step"].to_numpy(), side="right") - 1, 0, N_BINS - 1)
        kept = 0
        for b in range(N_BINS):
            sel = g[idx == b]
            if len(sel) < MIN_POINTS_PER_BIN:
                continue
            d = float(np.median(sel["step"])) * 1e9
            rows.append(
                {
                    "N": n,
                    "D": float(round_sig(d)),
                    "loss": float(round_sig(np.median(sel["val_loss"]))),
                    "loss_sd": loss_sd,
                    "run_id": run_id,
                    "checkpoint_fraction": float(round_sig(min(d / TOTAL_TOKENS, 1.0))),
                    "group": "GPT-3",
                    "family": "GPT-3",
                    "eval_set": "gpt3_val",
                    "tokenizer": "r50k_base",
                }
            )
            kept += 1
        summary.append(
            {
                "model": label,
                "run_id": run_id,
                "N": n,
                "val points (all)": int((val["model"] == label).sum()),
                "val points >= 210B": len(g),
                "rows kept": kept,
                "final loss": rows[-1]["loss"],
            }
        )
    runs = pd.DataFrame(rows)
    summary_df = pd.DataFrame(summary)

    source_md = f"""# gpt3 — GPT-3 family, late validation loss (digitised learning curves)

- **Origin:** GitHub `IBM/ColPret`, commit `{COMMIT}`, file `raw_data/gpt3/extracted.csv`
  (ColPret's digitisation of the GPT-3 training curves, Brown et al. 2020 Figure 4.1:
  loss on "a deduplicated validation split of our training distribution").
- **Papers:** {CITATION}
- **License:** MIT, Copyright (c) 2024 International Business Machines (ColPret data
  release; see `LICENSE`). The underlying curves are from the GPT-3 paper.
- **Rows:** {len(runs)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic).

## Columns

| column | unit | meaning |
|---|---|---|
| `N` | parameters | total parameters from Brown et al. (2020) Table 2.1 (125M ... 175B) |
| `D` | tokens | tokens seen: median digitised x-position of the bin (`step`, billions) x 1e9 |
| `loss` | nats/token | median digitised `val_loss` in the bin, 6 significant digits |
| `loss_sd` | nats/token | digitisation / checkpoint-noise SD, {loss_sd:g} for every row (below) |
| `run_id` | — | paper model name (`GPT-3 Small` ... `GPT-3 175B`) |
| `checkpoint_fraction` | 1 | D / 300e9 (all GPT-3 models were trained on 300B tokens) |
| `group`, `family` | — | `GPT-3` |
| `eval_set` | — | `gpt3_val`: GPT-3's deduplicated validation split of its training mix |
| `tokenizer` | — | `r50k_base` (GPT-2/GPT-3 BPE, vocab 50257) |

Label map (ColPret -> paper): small = Small 125M, medium = Medium 350M, large = Large
760M, xl = XL 1.3B, 2.7b, 6.7b, 13b, 175b = 2.7B, 6.7B, 13B, 175B.

**Default group:** none (one family; `group` is filled for concatenation with `opt` and
`olmo1`).

## Transformation (exact)

1. Keep rows with a `val_loss` (the file interleaves train- and validation-curve points).
2. Late checkpoints only: tokens >= {MIN_FRACTION} x 300B = 210B.
3. Thinning: {N_BINS} equal-width bins of 9B tokens over [210B, 300B] (the last bin also
   takes the few points digitised just past 300B); per model and bin with at least
   {MIN_POINTS_PER_BIN} points: D = median x, loss = median y. A digitised curve has several
   y values per x (line width), so the median is the line centre.
4. `loss_sd`: least-squares line `loss ~ a + b log(tokens)` per model through all raw late
   validation points; residuals pooled over the 8 models ({dof} degrees of freedom):
   SD = {sd:.5f}, rounded to {loss_sd:g}. It measures digitisation scatter plus
   checkpoint-to-checkpoint noise of the raw points; it is an upper estimate for a bin
   median and does not include a possible systematic axis-calibration error.
5. D, loss, checkpoint_fraction rounded to 6 significant digits.

## Row counts

rows: {len(runs)} ({runs["run_id"].nunique()} models).

{md_table(summary_df)}

## Caveats

- Digitised from a figure: expect errors of order 0.01 nats; the end-of-training point is
  the median of the last 9B tokens, not one checkpoint.
- N are the paper's rounded sizes. Tokens are BPE tokens of GPT-3's tokenizer.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title="GPT-3 family (125M-175B): late-training validation loss, digitised",
        license_name="MIT",
        citation=CITATION,
        source_md=source_md,
        license_text=colpret_license(
            "rows selected, binned\nand rounded; columns renamed and added (see SOURCE.md)."
        ),
    )
    print(f"{NAME}: {len(runs)} rows; loss_sd {loss_sd}")


if __name__ == "__main__":
    main()
