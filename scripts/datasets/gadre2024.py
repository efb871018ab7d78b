"""Build forecast/_data/gadre2024/ from the Gadre et al. (2024) over-training testbed.

Source: mlfoundations/scaling ``exp_data/models/*.json`` (95 open_lm models below 1B
parameters; MIT). Output: a long tidy runs table, one row per (model, validation set),
8 validation sets per model. Usage::

    python scripts/datasets/gadre2024.py --shared <raw-data-dir> [--out forecast/_data]

``--shared`` is the directory holding ``gadre2024_overtraining_scaling/`` (the raw copy
with ``models/*.json`` and ``gadre2024_models_flat.csv``); the dataset is written to
``<out>/gadre2024/``. The flat CSV is used only to cross-check the JSON values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _build import MIT_TEXT, csv_bytes, md_table, parse_args, sha256_bytes, write_dataset

NAME = "gadre2024"
RAW = "gadre2024_overtraining_scaling"
REPO = "mlfoundations/scaling"
COMMIT = "a003c4913793ac2ae7ef87b28ecb562955d026d5"
N_MODELS = 95
TITLE = "Gadre et al. 2024 over-training testbed: 95 open_lm models (11M-411M) on 3 corpora"
CITATION = (
    "Gadre, S. Y., Smyrnis, G., Shankar, V., Gururangan, S., Wortsman, M., Shao, R., "
    "Mercat, J., Fang, A., Li, J., Keh, S., Xin, R., Nezhurina, M., Vasiljevic, I., "
    "Jitsev, J., Dimakis, A. G., Ilharco, G., Song, S., Kollar, T., Carmon, Y., Dave, A., "
    "Heckel, R., Muennighoff, N., Schmidt, L. (2024). Language models scale reliably with "
    "over-training and on downstream tasks. arXiv:2403.08540. Data: GitHub "
    f"{REPO}, commit {COMMIT}, exp_data/models/."
)
SOURCE = f"Gadre et al. 2024 (arXiv:2403.08540); {REPO}@{COMMIT[:7]} exp_data/models"
#: open_lm trains with the GPT-NeoX-20B tokenizer (generate.py loads
#: GPTNeoXTokenizerFast "EleutherAI/gpt-neox-20b"); params - params_no_embed = 50432 * d.
TOKENIZER = "GPT-NeoX-20B"
VOCAB_PADDED = 50_432
Z_95 = 1.96
LICENSE_TEXT = "MIT License\n\nCopyright (c) 2024 mlfoundations\n\n" + MIT_TEXT

#: train_dataset in the JSONs -> corpus label.
CORPORA = {"c4_original": "c4", "rpj": "redpajama", "rw_original": "refinedweb"}
#: eval_set label -> (val_data path in the JSON results, flat-CSV column, description).
EVAL_SETS = {
    "openlm_val": (
        "training/eval_data/val_tok_mult/openlm/shard_00000000.tar",
        "loss_openlm_val",
        "OpenLM validation shard (the paper's 'OpenLM eval')",
    ),
    "c4_val": (
        "training/eval_data/c4_val/shard-{0000000..0000010}.tar",
        "loss_c4_val",
        "C4 validation set (the paper's main 'C4 eval')",
    ),
    "paloma_c4_en": (
        "training/eval_data/val_tok_mult/paloma_c4_en/00000001.tar",
        "loss_paloma_c4_en",
        "Paloma C4 (English) split",
    ),
    "paloma_dolma100_code": (
        "training/eval_data/val_tok_mult/paloma_dolma_100_programing_languages/00000001.tar",
        "loss_paloma_dolma100_code",
        "Paloma Dolma 100 programming languages split (code)",
    ),
    "paloma_refinedweb": (
        "training/eval_data/val_tok_mult/paloma_falcon-refinedweb/00000001.tar",
        "loss_paloma_refinedweb",
        "Paloma Falcon-RefinedWeb split",
    ),
    "paloma_ptb": (
        "training/eval_data/val_tok_mult/paloma_ptb/00000001.tar",
        "loss_paloma_ptb",
        "Paloma Penn Treebank split",
    ),
    "paloma_redpajama": (
        "training/eval_data/val_tok_mult/paloma_redpajama/00000001.tar",
        "loss_paloma_redpajama",
        "Paloma RedPajama split",
    ),
    "c4_german": (
        "training/eval_data/val_tok_mult/de-en/val_de-en_100.tar",
        "loss_c4_german",
        "German C4 (de-en, the paper's 'C4 German eval')",
    ),
}
COLUMNS = [
    "run_id",
    "group",
    "corpus",
    "eval_set",
    "N",
    "N_non_embedding",
    "D",
    "C",
    "loss",
    "loss_sd",
    "checkpoint_fraction",
    "tokenizer",
    "source",
]


def fail(message: str) -> None:
    raise SystemExit(f"gadre2024: {message}")


def read_models(raw: Path) -> pd.DataFrame:
    by_path = {path: label for label, (path, _, _) in EVAL_SETS.items()}
    rows = []
    files = sorted((raw / "models").glob("*.json"))
    if len(files) != N_MODELS:
        fail(f"expected {N_MODELS} model JSONs in {raw / 'models'}, found {len(files)}")
    for file in files:
        model = json.loads(file.read_text(encoding="utf-8"))
        hyper = model["hyperparameters"]
        corpus = CORPORA[model["dataset_name"]]
        n, n_ne, d = int(hyper["params"]), int(hyper["params_no_embed"]), int(hyper["tokens"])
        if (n - n_ne) % VOCAB_PADDED:
            fail(f"{file.name}: embedding size {n - n_ne} is not a multiple of {VOCAB_PADDED}")
        seen = set()
        for result in model["results"]:
            (val_path,) = result["val_data"]
            label = by_path[val_path]
            if label in seen:
                fail(f"{file.name}: eval set {label} appears twice")
            seen.add(label)
            lower, upper = result["loss_tokens_lower_95"], result["loss_tokens_upper_95"]
            if not lower <= result["loss"] <= upper:
                fail(f"{file.name} {label}: loss outside its 95% interval")
            rows.append(
                {
                    "run_id": model["name"],
                    "group": corpus,
                    "corpus": corpus,
                    "eval_set": label,
                    "N": float(n),
                    "N_non_embedding": float(n_ne),
                    "D": float(d),
                    "C": 6.0 * n * d,
                    "loss": float(result["loss"]),
                    "loss_sd": (upper - lower) / (2.0 * Z_95),
                    "checkpoint_fraction": 1.0,
                    "tokenizer": TOKENIZER,
                    "source": SOURCE,
                    "_multiplier": float(hyper["chinchilla_multiplier"]),
                    "_eval_tokens": int(result["tokens"]),
                }
            )
        if seen != set(EVAL_SETS):
            fail(f"{file.name}: eval sets {sorted(seen)} != {sorted(EVAL_SETS)}")
    table = pd.DataFrame(rows)
    order = {label: i for i, label in enumerate(EVAL_SETS)}
    table["_eval_order"] = table["eval_set"].map(order)
    table = table.sort_values(["corpus", "N", "D", "_eval_order"], kind="stable")
    return table.reset_index(drop=True)


def cross_check(table: pd.DataFrame, raw: Path) -> None:
    """Every value must equal the flat CSV of the raw copy (same numbers, other layout)."""
    flat = pd.read_csv(raw / "gadre2024_models_flat.csv").set_index("name")
    if len(flat) != N_MODELS:
        fail(f"flat CSV has {len(flat)} rows, expected {N_MODELS}")
    for label, (_, column, _) in EVAL_SETS.items():
        sub = table[table["eval_set"] == label].set_index("run_id")
        ref = flat.loc[sub.index]
        for ours, theirs in (("loss", column), ("N", "params"), ("D", "tokens")):
            if not np.allclose(sub[ours], ref[theirs], rtol=1e-12, atol=0):
                fail(f"{label}: column {ours} differs from flat CSV column {theirs}")
        if not np.allclose(sub["N_non_embedding"], ref["params_no_embed"], rtol=1e-12):
            fail(f"{label}: N_non_embedding differs from the flat CSV")
        if (ref["train_dataset"].map(CORPORA) != sub["corpus"]).any():
            fail(f"{label}: corpus differs from the flat CSV")


def source_md(table: pd.DataFrame, sha: str) -> str:
    models = table.drop_duplicates("run_id")
    per_corpus = models.groupby("corpus").size()
    sizes = (
        models.groupby("N")
        .agg(
            N_non_embedding=("N_non_embedding", "first"),
            models=("run_id", "size"),
            tokens_per_param=(
                "_multiplier",
                lambda m: ", ".join(f"{20 * v:g}" for v in sorted(set(m))),
            ),
        )
        .reset_index()
    )
    sizes["N"] = sizes["N"].astype(int)
    sizes["N_non_embedding"] = sizes["N_non_embedding"].astype(int)
    evals = pd.DataFrame(
        {
            "eval_set": list(EVAL_SETS),
            "upstream val_data": [f"`{p}`" for p, _, _ in EVAL_SETS.values()],
            "description": [d for _, _, d in EVAL_SETS.values()],
            "eval tokens": [
                ", ".join(
                    str(t) for t in sorted(set(table.loc[table.eval_set == e, "_eval_tokens"]))
                )
                for e in EVAL_SETS
            ],
            "median loss_sd": [
                f"{table.loc[table.eval_set == e, 'loss_sd'].median():.4f}" for e in EVAL_SETS
            ],
        }
    )
    return f"""# gadre2024: Gadre et al. (2024) over-training testbed, models below 1B parameters

## Origin

- **Paper:** {CITATION}
- **Repository:** GitHub `{REPO}`, commit `{COMMIT}` (2024-04-01), files
  `exp_data/models/*.json`, one JSON per trained model (hyperparameters and 8 final
  validation losses with 95% intervals).
- **Subset:** the {N_MODELS} models with fewer than 1e9 parameters (four open_lm shapes,
  {models.N.min():.4g} to {models.N.max():.4g} parameters). The testbed's 9 larger runs
  (open_lm_1b, open_lm_7b), which the paper holds out as extrapolation targets, are not
  included. Models per corpus: {", ".join(f"{k} {v}" for k, v in per_corpus.items())}
  (the paper's 104-model total includes the 9 larger runs).

## License

MIT, Copyright (c) 2024 mlfoundations; the notice is in `LICENSE` and must travel with
this folder.

## Columns and units

| column | unit / values | from |
|---|---|---|
| `run_id` | model name | JSON `name` |
| `group` | same as `corpus` | |
| `corpus` | `c4`, `redpajama`, `refinedweb` | `dataset_name`: `c4_original`, `rpj`, `rw_original` |
| `eval_set` | one of the 8 labels below | JSON `results[i].val_data` |
| `N` | total parameters, embeddings included | `hyperparameters.params` |
| `N_non_embedding` | parameters without the embedding | `hyperparameters.params_no_embed` |
| `D` | training tokens seen | `hyperparameters.tokens` |
| `C` | FLOP, `6 * N * D` | derived |
| `loss` | nats/token, final checkpoint | `results[i].loss` |
| `loss_sd` | nats/token | `(loss_tokens_upper_95 - loss_tokens_lower_95) / (2 * 1.96)` |
| `checkpoint_fraction` | 1 (end of training) | |
| `tokenizer` | `{TOKENIZER}` | upstream `generate.py`; {VOCAB_PADDED} embedding rows |
| `source` | citation string | |

`loss_sd` converts each JSON's per-eval 95% interval on the token-level loss into a
standard deviation, assuming a normal interval of half-width 1.96 SD (the intervals are
symmetric around `loss` to within 4% of their width). It is the evaluation's sampling
noise only, not run-to-run training noise; it grows as the eval set shrinks (largest for
`paloma_ptb`, 90,112 tokens; see the table below).

## Eval sets

Every model has all 8 rows. **The paper's main evaluation is the C4 eval,
`eval_set == "c4_val"`**; filter to one eval set before fitting a law, e.g.

```python
from forecast import load_dataset
runs = load_dataset("gadre2024")
c4 = runs[runs.eval_set == "c4_val"]   # 95 rows, group = corpus
```

`load_dataset("gadre2024")` returns all eval sets; `default_group` is `corpus` (3 groups),
and each corpus group mixes the 8 eval sets until you filter.

{md_table(evals)}

## Model sizes

{md_table(sizes)}

Tokens per parameter `D/N = 20 * chinchilla_multiplier`.

## Transformation

1. Read the {N_MODELS} `exp_data/models/*.json` files (byte-identical to upstream).
2. For each model and each of its 8 `results`, write one row with the columns above; the
   eval set is identified by its `val_data` path (table above).
3. Cross-check every `loss`, `N`, `N_non_embedding`, `D` and corpus against the raw copy's
   flat CSV `gadre2024_models_flat.csv` (relative tolerance 1e-12).
4. Sort by corpus, N, D and the eval-set order above; write UTF-8 CSV with `\\n` line ends
   and shortest round-trip float formatting.

No value is changed, rounded or dropped.

## Rows

{len(table)} rows = {N_MODELS} models x {len(EVAL_SETS)} eval sets; `runs.csv` sha256
`{sha}`.

Built by `scripts/datasets/gadre2024.py`.
"""


def main() -> None:
    shared, out = parse_args(__doc__)
    raw = shared / RAW
    table = read_models(raw)
    cross_check(table, raw)
    if len(table) != N_MODELS * len(EVAL_SETS):
        fail(f"expected {N_MODELS * len(EVAL_SETS)} rows, got {len(table)}")
    if not np.allclose(table["D"] / table["N"], 20 * table["_multiplier"], rtol=0.05):
        fail("D / N does not match 20 * chinchilla_multiplier")
    runs = table[COLUMNS]
    # the bytes write_dataset will hash, to quote the checksum in SOURCE.md
    sha = sha256_bytes(csv_bytes(runs))
    files = write_dataset(
        out,
        NAME,
        tables={"runs.csv": runs},
        title=TITLE,
        license_name="MIT",
        citation=CITATION,
        source_md=source_md(table, sha),
        license_text=LICENSE_TEXT,
        default_group="corpus",
        group_columns=("corpus", "eval_set"),
    )
    if files["runs.csv"] != sha:
        fail("runs.csv checksum changed between hashing and writing")
    print(f"{NAME}: {len(runs)} rows ({N_MODELS} models x {len(EVAL_SETS)} eval sets)")
    print(f"  runs.csv sha256 {sha}")
    print(f"  written to {out / NAME}", file=sys.stderr)


if __name__ == "__main__":
    main()
