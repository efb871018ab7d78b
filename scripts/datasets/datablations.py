"""Build forecast/_data/datablations/ from Muennighoff et al. (2023)'s parametric-fit points.

Source: huggingface/datablations, the 296 (N, D, U, loss) points printed by
``utils/parametric_fit.ipynb`` (raw copy ``datablations_parametric_fit_points.csv``).
Usage::

    python scripts/datasets/datablations.py --shared <raw-data-dir> [--out forecast/_data]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _build import apache_license, columns_table, md_table, parse_args, round_sig, write_dataset

NAME = "datablations"
RAW = "muennighoff2023_datablations"
COMMIT = "13701315b163f1c54642b94ad237b2699187c3ee"
CITATION = (
    "Muennighoff, N., Rush, A. M., Barak, B., Le Scao, T., Piktus, A., Tazi, N., Pyysalo, S., "
    "Wolf, T., Raffel, C. (2023). Scaling Data-Constrained Language Models. NeurIPS 2023, "
    f"arXiv:2305.16264. Data: GitHub huggingface/datablations, commit {COMMIT}."
)
HIGH_LOSS = 5.0
MAX_LOSS = 20.0


def main() -> None:
    shared, out = parse_args(__doc__)
    raw = pd.read_csv(shared / RAW / "datablations_parametric_fit_points.csv")
    if len(raw) != 296:
        raise SystemExit(f"expected 296 rows, found {len(raw)}")
    if not np.allclose(raw["epochs"], raw["tokens"] / raw["unique_tokens"], rtol=1e-9):
        raise SystemExit("epochs != tokens / unique_tokens")
    if (raw["val_loss"] > MAX_LOSS).any() or (raw["val_loss"] <= 0).any():
        raise SystemExit("loss outside (0, 20] nats/token")

    # run_id: the notebook stripped the seed suffixes, so repeated names are different
    # seeds of one configuration; number them in file order.
    occurrence = raw.groupby("run_name").cumcount() + 1
    n_same = raw.groupby("run_name")["run_name"].transform("size")
    run_id = np.where(
        n_same > 1,
        raw["run_name"] + "-rep" + occurrence.astype(str),
        raw["run_name"],
    )
    runs = pd.DataFrame(
        {
            "N": raw["params"].astype(float),
            "D": raw["tokens"].astype(float),
            "loss": round_sig(raw["val_loss"].to_numpy()),
            "unique_tokens": raw["unique_tokens"].astype(float),
            "run_id": run_id,
            "epochs": round_sig(raw["epochs"].to_numpy()),
            "group": "c4",
            "eval_set": "c4_heldout",
            "tokenizer": "gpt2",
            "high_loss": raw["val_loss"] > HIGH_LOSS,
        }
    )

    high = runs[runs["high_loss"]]
    short = high["D"] <= 1.5e9
    repeated = ~short
    assert (high.loc[repeated, "epochs"] >= 40).all()
    per_size = (
        runs.groupby("N")
        .agg(
            runs=("loss", "size"),
            D_min=("D", "min"),
            D_max=("D", "max"),
            U_min=("unique_tokens", "min"),
            U_max=("unique_tokens", "max"),
            loss_min=("loss", "min"),
            loss_max=("loss", "max"),
        )
        .reset_index()
    )
    dup_names = int((n_same > 1).sum())
    hs, hr = high[short], high[repeated]
    short_d = f"{hs['D'].min():.3g}-{hs['D'].max():.3g}"
    short_ep = f"{hs['epochs'].min():g}-{hs['epochs'].max():g}"
    rep_ep = f"{hr['epochs'].min():g}-{hr['epochs'].max():g}"
    rep_u = " or ".join(f"{u:.0e}" for u in sorted(hr["unique_tokens"].unique()))
    columns = columns_table(
        [
            ("`N`", "parameters", "model size as given by the notebook (total parameters)"),
            ("`D`", "tokens", "tokens seen, repeats included"),
            ("`loss`", "nats/token", "final validation loss on held-out C4, 6 significant digits"),
            ("`unique_tokens`", "tokens", "unique tokens U (the data budget; D / U = epochs)"),
            (
                "`run_id`",
                "—",
                "run name; repeated names (different seeds, whose suffixes the notebook "
                "stripped) get `-rep1`, `-rep2`, ... in file order",
            ),
            ("`epochs`", "1", "D / U"),
            ("`group`", "—", "`c4` for every row (training and evaluation corpus)"),
            ("`eval_set`", "—", "`c4_heldout` (C4 validation data, disjoint from training)"),
            ("`tokenizer`", "—", "`gpt2` (GPT-2 BPE, vocab 50257)"),
            ("`high_loss`", "bool", f"loss > {HIGH_LOSS:g} nats/token (see row counts)"),
        ]
    )

    source_md = f"""# datablations — data-constrained runs of Muennighoff et al. (2023)

- **Origin:** GitHub `huggingface/datablations`, commit `{COMMIT}`: the 296 points that
  `utils/parametric_fit.ipynb` fits (printed output of its cell 2; the notebook parses run
  names such as `2b84b4b` = 2.8B parameters, 4B tokens, 4B unique tokens, joined with the
  final validation losses). Values copied, no notebook code.
- **Paper:** {CITATION}
- **License:** Apache-2.0 ("All models & code are licensed under Apache 2.0"; see `LICENSE`).
- **Rows:** {len(runs)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic).

## Columns

{columns}

**Default group:** none (one group only; meta.json `default_group` is null; `group` is
filled so the table can be concatenated with others).

## Transformation (exact)

1. Read `datablations_parametric_fit_points.csv` (296 rows); check epochs = tokens /
   unique_tokens and 0 < loss <= {MAX_LOSS:g}.
2. Rename `params` -> `N`, `tokens` -> `D`, `val_loss` -> `loss`; keep `unique_tokens`,
   `epochs`; round loss and epochs to 6 significant digits.
3. Add `run_id`, `group`, `eval_set`, `tokenizer`, `high_loss` as above. No row is dropped.

## Row counts

- rows: {len(runs)}; distinct run names: {raw["run_name"].nunique()}; rows whose name
  repeats (seed replicates): {dup_names}; distinct N: {runs["N"].nunique()}.
- `high_loss` (loss > {HIGH_LOSS:g}): {len(high)} rows, max loss {runs["loss"].max():g}:
  - {int(short.sum())} rows with D <= 1.5e9 tokens (very short training: {short_d} tokens,
    {short_ep} epochs) — undertrained, not diverged;
  - {int(repeated.sum())} rows with {rep_ep} epochs over {rep_u} unique tokens — extreme
    repetition; the loss rises with more epochs (overfitting / instability), up to
    {high.loc[repeated, "loss"].max():g} nats.
  All are kept (they are what the paper fitted R_D* and R_N* on); drop them with
  `runs[~runs.high_loss]` for a plain Chinchilla fit.

## Per model size

{md_table(per_size)}

## Caveats

- N values are the notebook's (rounded for most sizes, e.g. 2.81e9 for "2b8").
- The paper's own C4 coefficients (A, B, E, alpha = beta) were fitted on points digitised
  from Chinchilla, not on these rows; these runs determine R_D* and R_N*.
- Runs with loss 0 (unfinished) and deduplication ablations were excluded upstream by the
  notebook.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title="Muennighoff et al. (2023) data-constrained runs: N, D, unique tokens, C4 loss",
        license_name="Apache-2.0",
        citation=CITATION,
        source_md=source_md,
        license_text=apache_license(
            "huggingface/datablations",
            "columns renamed, run ids and flags added, values rounded (see SOURCE.md).",
        ),
    )
    print(f"{NAME}: {len(runs)} rows")


if __name__ == "__main__":
    main()
