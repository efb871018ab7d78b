"""Build forecast/_data/epoch_notable/ (kind "published_models") from Epoch AI's database.

Source: Epoch AI "Data on Notable AI Models" (snapshot, latest publication 2025-03-16; raw
copy ``notable_ai_models_snapshot_2025-04.csv``). Output: language models with parameters,
training tokens seen (dataset size normalised to tokens x epochs) and publication date.
Usage::

    python scripts/datasets/epoch_notable.py --shared <raw-data-dir> [--out forecast/_data]

Every ``Dataset size notes`` entry of the candidate rows is classified by the rules in
``classify`` (plus a short, reviewed override list) as tokens, words or unknown.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
from _build import columns_table, md_table, parse_args, round_sig, write_dataset

NAME = "epoch_notable"
RAW = "epoch_notable_ai_models"
RAW_FILE = "notable_ai_models_snapshot_2025-04.csv"
WORDS_PER_TOKEN = 0.75
CITATION = (
    "Epoch AI (2025). Data on Notable AI Models. Published online at epoch.ai; snapshot with "
    "latest publication date 2025-03-16 (CC BY 4.0)."
)
TOL = 0.03  # relative tolerance when matching the stored value to a number in the notes

SCALE = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "millions": 1e6, "m": 1e6, "billion": 1e9,
    "billions": 1e9, "bn": 1e9, "b": 1e9, "g": 1e9, "trillion": 1e12, "trillions": 1e12,
    "t": 1e12,
}  # fmt: skip
NUMBER = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s*(?:[x×*]\s*10\s*\^\s*(\d+)|e\+?(\d+)))?"
    r"\s*(thousand|millions?|billions?|trillions?|bn|[kmbgt])?(?![a-z])",
    re.IGNORECASE,
)
TOKENS_PER_WORD_FACTOR = re.compile(r"4/3 tokens?|tokens? per word|4 tokens ?/ ?3 words", re.I)
WORDS_PER_BYTE_FACTOR = re.compile(
    r"words?\s*(?:/\s*tokens?\s*)?(?:per|/)\s*GB|\d\s*M\s+(?:\w+\s+)?words", re.I
)
WORD_LEVEL_BENCHMARKS = {
    "WikiText-103", "WikiText-2", "Penn TreeBank (PTB)", "One Billion Word benchmark",
}  # fmt: skip

#: Reviewed overrides of the unit rule: model -> (unit, reason).
UNIT_OVERRIDES = {
    "BERT-Large": ("words", "3.3e9 = BooksCorpus 800M + English Wikipedia 2,500M words"),
    "ALBERT": ("words", "3.3e9 = BooksCorpus 800M + English Wikipedia 2,500M words"),
    "ALBERT-xxlarge": ("words", "3.3e9 = BooksCorpus 800M + English Wikipedia 2,500M words"),
    "data2vec (language)": ("words", "BERT data: 3.3e9 = 800M + 2,500M words"),
    "KEPLER": ("words", "3.3e9 = BooksCorpus 800M + English Wikipedia 2,500M words"),
    "Llama 3-70B": ("tokens", "no notes; Meta: pre-trained on over 15T tokens"),
    "Qwen-72B": ("tokens", "Qwen technical report: 3T tokens"),
    "Yi-34B": ("tokens", "notes quote '3.1T'; the Yi paper counts 3.1T tokens"),
}
#: Reviewed corrections of stored values: model -> (column, new value, reason).
CORRECTIONS = {
    "Llama 2-7B": (
        "Parameters", 7e9,
        "stored 7e10 is a typo (the model has ~7e9 parameters; Epoch's compute 8.4e22 = "
        "6 x 7e9 x 2e12)",
    ),
    "Hybrid H3-2.7B": (
        "Epochs", 1.0,
        "stored 509.02 is S4's WikiText-103 epoch count; the notes say trained on the Pile "
        "for 400B tokens, which is the stored size",
    ),
}  # fmt: skip
#: Reviewed exclusions: model -> reason (stored values inconsistent, not correctable).
EXCLUDE = {
    "T5-3B": (
        "stored size (25.5e9 words = the 34B tokens of T5's baseline runs) x 0.17 epochs does "
        "not describe the released model (about 1T tokens, Raffel et al. 2020)"
    ),
}
CHECK_MODELS = {  # model -> expected D (tokens seen), from the papers
    "GPT-3 175B (davinci)": 3.0e11,
    "Chinchilla": 1.4e12,
    "Llama 2-70B": 2.0e12,
    "Llama 3.1-405B": 1.56e13,
    "OPT-175B": 3.0e11,
    "Gopher (280B)": 3.0e11,
}


def _quantities(text: str) -> list[tuple[float, str | None, str]]:
    """Numbers in ``text`` with the unit ('tokens' / 'words' / None) that follows them."""
    found = []
    for m in NUMBER.finditer(text):
        value = float(m.group(1).replace(",", ""))
        if m.group(2):
            value *= 10 ** int(m.group(2))
        if m.group(3):
            value *= 10 ** int(m.group(3))
        if m.group(4):
            value *= SCALE[m.group(4).lower()]
        tail = text[m.end() : m.end() + 45].lower()
        hits = [
            (i, u)
            for i, u in ((tail.find("token"), "tokens"), (tail.find("word"), "words"))
            if i >= 0
        ]
        found.append((value, min(hits)[1] if hits else None, m.group(0).strip()))
    return found


def _close(a: float, b: float, tol: float = TOL) -> bool:
    return b > 0 and abs(a - b) / b <= tol


def classify(size: float, notes: object, dataset: object) -> tuple[str, str]:
    """Unit of Epoch's dataset size: ('tokens' | 'words' | 'unknown', rule applied).

    Rules, first match wins (see SOURCE.md): R1 [WORDS] tag; R2 size = a number the notes
    call tokens; R3 size = a number the notes call words; R4 size = 0.75 x stated tokens
    (words); R5 size = 4/3 x stated words (tokens); R6 notes convert words to tokens; R7 notes
    convert bytes to words; R8 word-level benchmark corpus; R9 size = a unit-less number in
    notes that mention tokens and never words.
    """
    text = notes if isinstance(notes, str) else ""
    if "[WORDS]" in text:
        return "words", "R1: notes tagged [WORDS]"
    qs = _quantities(text)
    for v, unit, s in qs:
        if unit == "tokens" and _close(size, v):
            return "tokens", f"R2: size = stated '{s} tokens'"
    for v, unit, s in qs:
        if unit == "words" and _close(size, v):
            return "words", f"R3: size = stated '{s} words'"
    for v, unit, s in qs:
        if unit == "tokens" and _close(size, WORDS_PER_TOKEN * v):
            return "words", f"R4: size = 0.75 x stated '{s} tokens'"
    for v, unit, s in qs:
        if unit == "words" and _close(size, v / WORDS_PER_TOKEN):
            return "tokens", f"R5: size = 4/3 x stated '{s} words'"
    if TOKENS_PER_WORD_FACTOR.search(text):
        return "tokens", "R6: notes convert words to tokens (x 4/3)"
    if WORDS_PER_BYTE_FACTOR.search(text):
        return "words", "R7: notes convert bytes to words (words per GB)"
    parts = set(dataset.split(",")) if isinstance(dataset, str) else set()
    if parts and parts <= WORD_LEVEL_BENCHMARKS:
        return "words", "R8: word-level benchmark corpus (size in words)"
    low = text.lower()
    if "token" in low and "word" not in low:
        for v, _unit, s in qs:
            if _close(size, v, 0.005):
                return "tokens", f"R9: size = '{s}' in notes that count tokens"
    return "unknown", "no rule applies"


def decimal_year(dates: pd.Series) -> np.ndarray:
    """Calendar year + (day of year - 1) / days in that year."""
    days = np.where(dates.dt.is_leap_year, 366.0, 365.0)
    return dates.dt.year.to_numpy() + (dates.dt.day_of_year.to_numpy() - 1) / days


def main() -> None:
    shared, out = parse_args(__doc__)
    raw_path = shared / RAW / RAW_FILE
    raw_bytes = raw_path.read_bytes()
    raw = pd.read_csv(raw_path)
    size_col = "Training dataset size (datapoints)"
    cand = raw[
        raw["Domain"].str.contains("Language", na=False)
        & raw["Parameters"].notna()
        & raw[size_col].notna()
    ].copy()
    cand["Model"] = cand["Model"].str.strip()
    n_candidates = len(cand)

    for model, (col, value, _reason) in CORRECTIONS.items():
        hit = cand["Model"] == model
        if hit.sum() != 1:
            raise SystemExit(f"correction target {model!r} matched {hit.sum()} rows")
        cand.loc[hit, col] = value

    unit, rule = [], []
    for model, size, notes, dataset in zip(
        cand["Model"],
        cand[size_col],
        cand["Dataset size notes"],
        cand["Training dataset"],
        strict=True,
    ):
        if model in UNIT_OVERRIDES:
            u, why = UNIT_OVERRIDES[model]
            why = f"override: {why}"
        else:
            u, why = classify(float(size), notes, dataset)
        unit.append(u)
        rule.append(why)
    cand["unit"] = unit
    cand["d_unit_rule"] = rule

    dates = pd.to_datetime(cand["Publication date"], format="%Y-%m-%d", errors="coerce")
    reason = pd.Series("", index=cand.index)
    reason[cand["Base model"].notna()] = (
        "fine-tune / continued pre-training of another model (size counts only that stage)"
    )
    for model, why in EXCLUDE.items():
        hit = cand["Model"] == model
        if hit.sum() != 1:
            raise SystemExit(f"exclusion target {model!r} matched {hit.sum()} rows")
        reason[hit] = f"inconsistent stored values: {why}"
    reason[(reason == "") & (cand["unit"] == "unknown")] = "dataset-size unit not classifiable"
    reason[(reason == "") & dates.isna()] = "no publication date"
    reason[(reason == "") & ~(cand[size_col] > 0)] = "dataset size not > 0"
    keep = reason == ""

    kept = cand[keep]
    kdates = dates[keep]
    dataset_tokens = np.where(
        kept["unit"] == "words", kept[size_col] / WORDS_PER_TOKEN, kept[size_col]
    ).astype(float)
    epochs_assumed = kept["Epochs"].isna().to_numpy()
    epochs = kept["Epochs"].fillna(1.0).to_numpy(dtype=float)
    n_params = kept["Parameters"].to_numpy(dtype=float)
    tokens_seen = dataset_tokens * epochs
    compute = kept["Training compute (FLOP)"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "model": kept["Model"].to_numpy(),
            "organization": kept["Organization"].fillna("").to_numpy(),
            "date": kdates.dt.strftime("%Y-%m-%d").to_numpy(),
            "year": np.round(decimal_year(kdates), 4),
            "N": n_params,
            "D": round_sig(tokens_seen),
            "dataset_tokens": round_sig(dataset_tokens),
            "C": compute,
            "epochs": round_sig(epochs),
            "epochs_assumed": epochs_assumed,
            "frontier": kept["Frontier model"].fillna(False).astype(bool).to_numpy(),
            "confidence": kept["Confidence"].fillna("").to_numpy(),
            "C_ratio": np.round(6.0 * n_params * tokens_seen / compute, 4),
            "d_unit_rule": [
                f"{u}; {w}" for u, w in zip(kept["unit"], kept["d_unit_rule"], strict=True)
            ],
        }
    )
    frame = frame.sort_values(["date", "model"], kind="stable").reset_index(drop=True)

    # Verification against the papers.
    checks = []
    for model, expected in CHECK_MODELS.items():
        row = frame[frame["model"] == model]
        if len(row) != 1:
            raise SystemExit(f"check model {model!r} missing")
        row = row.iloc[0]
        rel = row["D"] / expected - 1
        if abs(rel) > 0.01:
            raise SystemExit(f"{model}: D {row['D']:.4g} != expected {expected:.4g}")
        stored = cand.loc[cand["Model"] == model, size_col].iloc[0]
        checks.append(
            {
                "model": model,
                "stored size": stored,
                "unit": row["d_unit_rule"][:5],
                "dataset_tokens": row["dataset_tokens"],
                "epochs": row["epochs"],
                "D (tokens seen)": row["D"],
                "paper D": expected,
            }
        )
    check_df = pd.DataFrame(checks)

    excluded = (
        cand[~keep]
        .assign(reason=reason[~keep])[["Model", "Publication date", size_col, "reason"]]
        .rename(columns={size_col: "stored size"})
    )
    excluded = excluded.sort_values(["reason", "Model"], kind="stable")
    all_units = cand["unit"].value_counts()
    kept_units = kept["unit"].value_counts()
    rule_counts = (
        cand.assign(
            r=cand["d_unit_rule"].str.extract(r"^(R\d|override)", expand=False).fillna("none")
        )
        .groupby(["r", "unit"])
        .size()
        .rename("rows")
        .reset_index()
    )
    flagged = frame[(frame["C_ratio"] > 3) | (frame["C_ratio"] < 1 / 3)][
        ["model", "date", "N", "D", "C", "epochs", "epochs_assumed", "C_ratio"]
    ]
    sha_raw = hashlib.sha256(raw_bytes).hexdigest()
    corr_df = pd.DataFrame(
        [
            {"model": m, "column": c, "new value": v, "reason": r}
            for m, (c, v, r) in CORRECTIONS.items()
        ]
    )
    n_finetune = int(cand["Base model"].notna().sum())
    n_unknown = int((reason == "dataset-size unit not classifiable").sum())
    all_units_text = ", ".join(f"{k} {v}" for k, v in all_units.items())
    kept_units_text = ", ".join(f"{k} {v}" for k, v in kept_units.items())
    columns = columns_table(
        [
            ("`model`, `organization`", "—", "as in Epoch's `Model`, `Organization`"),
            ("`date`", "ISO date", "`Publication date`"),
            ("`year`", "year", "decimal year: year + (day of year - 1) / days in year"),
            ("`N`", "parameters", "`Parameters` (total; mixture-of-experts: all experts)"),
            ("`D`", "tokens", "tokens seen = `dataset_tokens` x `epochs`"),
            (
                "`dataset_tokens`",
                "tokens",
                "`Training dataset size (datapoints)` in tokens (words / 0.75 where the "
                "size is in words)",
            ),
            ("`C`", "FLOP", "`Training compute (FLOP)` (empty when Epoch has none)"),
            ("`epochs`", "1", "`Epochs`; 1 where Epoch has none"),
            ("`epochs_assumed`", "bool", "True where `epochs` was missing and set to 1"),
            ("`frontier`", "bool", "`Frontier model` (empty -> False)"),
            ("`confidence`", "—", "Epoch's `Confidence` (Confident / Likely / Speculative)"),
            ("`C_ratio`", "1", "6 N D / C: a consistency check (see caveats)"),
            ("`d_unit_rule`", "—", "unit of the stored size and the rule that decided it"),
        ]
    )
    over_df = pd.DataFrame(
        [{"model": m, "unit": u, "reason": r} for m, (u, r) in UNIT_OVERRIDES.items()]
    )

    source_md = f"""# epoch_notable — language models with N, D and date (kind "published_models")

- **Origin:** Epoch AI, "Data on Notable AI Models" (epoch.ai/data/notable-ai-models),
  export `notable_ai_models.csv`; snapshot with latest publication date 2025-03-16, obtained
  as an unmodified byte copy (sha256 `{sha_raw}`) of the export committed in the third-party
  GitHub repository `VinodGeorge24/AI_Benchmark` (commit
  `18b18f4554f5a18ca77a9832e1441e797af3faa2`, 2025-04-18). Re-download from Epoch AI and pin
  a date for production use.
- **Citation:** {CITATION}
- **License:** CC BY 4.0 (Epoch AI: "free to use, distribute, and reproduce provided the
  source and authors are credited"); see `LICENSE` for the attribution and the changes.
- **Rows:** {len(frame)} in `runs.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` (deterministic).

## Columns (frontier schema)

{columns}

## Selection

Candidates: rows whose `Domain` contains "Language" with `Parameters` and
`Training dataset size (datapoints)` present: {n_candidates} rows. Excluded
({int((~keep).sum())}), listed at the end:
- {n_finetune} fine-tunes / continued pre-training (`Base model` set): their dataset
  size counts only the extra stage, not the pre-training tokens;
- {n_unknown} rows whose unit could not be classified (images, sentence pairs, bytes with
  no stated factor, missing notes, ...);
- {int((reason == "no publication date").sum())} row(s) without a publication date;
- {len(EXCLUDE)} row(s) with inconsistent stored values (reviewed; see the list).

Kept: **{len(frame)} rows** ({int(frame["frontier"].sum())} flagged frontier), dates
{frame["date"].min()} ... {frame["date"].max()}.

## Unit normalisation (exact)

Epoch's "Training dataset size (datapoints)" for language models is in words for many
rows (tokens x 0.75, e.g. GPT-3, Chinchilla, Llama 2) and in tokens for others (Llama 3.1,
DeepSeek-V3, Qwen2.5; Gopher's 300B tokens unconverted). A script reads every
`Dataset size notes` entry and applies the first matching rule:

- R1 notes tagged `[WORDS]` -> words.
- R2 the size equals (within {TOL:.0%}) a number the notes call tokens -> tokens.
- R3 the size equals a number the notes call words -> words.
- R4 the size equals 0.75 x a number the notes call tokens -> words.
- R5 the size equals 4/3 x a number the notes call words -> tokens.
- R6 the notes convert words to tokens ("4/3 tokens per word") -> tokens.
- R7 the notes convert bytes to words ("200M words per GB") -> words.
- R8 the training dataset is a word-level benchmark (WikiText-2/103, Penn TreeBank, One
  Billion Word) -> words.
- R9 the size equals (within 0.5 %) a unit-less number in notes that mention tokens and
  never words -> tokens.
- otherwise unknown (excluded).

A number's unit is the first of "token"/"word" within 45 characters after it. Reviewed
overrides of the unit (rules misfire or notes are missing):

{md_table(over_df)}

Then dataset_tokens = size (tokens) or size / 0.75 (words); D = dataset_tokens x epochs,
epochs = 1 when missing. Rounded to 6 significant digits.

Reviewed corrections of stored values (applied before everything else):

{md_table(corr_df)}

Counts per unit class (all {n_candidates} candidates): {all_units_text};
among the kept rows: {kept_units_text}.

Per rule (all candidates, excluded ones included):

{md_table(rule_counts)}

## Verification

{md_table(check_df)}

GPT-3: the stored 3.74e11 words = 4.99e11 tokens (dataset), x 0.6 epochs = 2.99e11
tokens seen (the paper: 300B). Chinchilla 1.05e12 words = 1.4e12 tokens. Llama 2-70B
1.5e12 words = 2e12 tokens. Llama 3.1-405B 1.56e13 tokens as stored.

## Caveats

- For word-level models (most rows before 2018, WikiText/PTB benchmarks) D is expressed
  in BPE-token equivalents (words / 0.75), not in the model's own word tokens; Epoch's
  compute for these rows used words, so their `C_ratio` is about 4/3.
- Missing epochs are set to 1: for models trained for several epochs (many BERT-era
  models) D is then too small; for models trained on part of a large corpus it is too
  large. `C_ratio` far from 1 flags such rows; mixture-of-experts models legitimately have
  `C_ratio` > 1 because N counts all experts. Rows with `C_ratio` > 3 or < 1/3
  ({len(flagged)}, kept):

{md_table(flagged)}

- MoE parameter counts are totals, not active parameters.
- The 0.75 words-per-token factor is an English-text average; for Chinese or code-heavy
  corpora the true factor differs.

## Excluded rows ({int((~keep).sum())})

{md_table(excluded)}
"""
    license_text = f"""This folder contains data derived from:

  Epoch AI, "Data on Notable AI Models", https://epoch.ai/data/notable-ai-models
  (snapshot with latest publication date 2025-03-16).

Epoch AI's data is licensed under the Creative Commons Attribution 4.0 International
License (CC BY 4.0): https://creativecommons.org/licenses/by/4.0/
Epoch AI states that the data is "free to use, distribute, and reproduce provided the
source and authors are credited under the Creative Commons BY license".

Changes made: selected language-model rows with parameters, dataset size and date
({len(frame)} of {len(raw)} rows); normalised dataset sizes from words to tokens
(tokens = words / 0.75); computed tokens seen (dataset tokens x epochs) and decimal years;
corrected {len(CORRECTIONS)} stored values; renamed and dropped columns. See SOURCE.md.
"""
    write_dataset(
        out,
        NAME,
        tables={"runs.csv": frame},
        title="Epoch AI notable language models: N, training tokens D, date",
        license_name="CC-BY-4.0",
        citation=CITATION,
        source_md=source_md,
        license_text=license_text,
        kind="published_models",
        group_columns=(),
    )
    print(f"{NAME}: {len(frame)} rows kept of {n_candidates} candidates")


if __name__ == "__main__":
    main()
