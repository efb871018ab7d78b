"""Build forecast/_data/published_fits/ (kind "table"): published scaling-law fits and
data-stock anchors, hand-compiled with one citation per row.

The hand-compiled tables live in this repository, in ``scripts/datasets/published_fits/``
(``fits.csv``, ``stock_anchors.csv``); this script validates them and writes byte-identical
copies plus SOURCE.md, LICENSE and meta.json (with the SHA-256 of each table). It needs no
raw-data directory; ``--shared`` is accepted (``build_all.py`` passes it) and ignored.

Usage::

    python scripts/datasets/published_fits.py [--out forecast/_data]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from _build import DEFAULT_OUT, HERE, md_table, write_dataset

NAME = "published_fits"
SRC = HERE / "published_fits"
FILES = ("fits.csv", "stock_anchors.csv")
CITATION = (
    "Hand-compiled from the papers cited in each row (Hoffmann et al. 2022; Besiroglu et al. "
    "2024; Muennighoff et al. 2023; Kaplan et al. 2020; Porian et al. 2024; Llama Team 2024; "
    "DeepSeek-AI 2024; Krajewski et al. 2024; Dey et al. 2023; Hu et al. 2024; Shen et al. 2024; "
    "Gadre et al. 2024; Beck et al. 2025; McLeish et al. 2025; Li et al. 2025; Villalobos et al. "
    "2022, 2024; Epoch AI data insights)."
)
#: Citation columns: every row of fits.csv must fill them.
CITATION_COLUMNS = ("fit_id", "paper", "arxiv", "form", "where_in_source", "verification")
#: Numeric columns: name -> (must be > 0, upper bound or None). Empty cells are allowed.
NUMERIC = {
    **{c: (True, None) for c in ("E", "A", "B", "alpha", "beta")},
    **{f"{c}_se": (True, None) for c in ("E", "A", "B", "alpha", "beta")},
    "a_alloc": (True, 1.0),
    "a_alloc_se": (True, 1.0),
    "a_alloc_lo": (True, 1.0),
    "a_alloc_hi": (True, 1.0),
    **{c: (True, None) for c in ("N_min", "N_max", "D_min", "D_max", "C_min", "C_max")},
}
REQUIRED = (
    *CITATION_COLUMNS,
    *NUMERIC,
    "extra",
    "N_definition",
    "D_definition",
    "loss_definition",
    "a_alloc_derived",
    "eval_set",
    "tokenizer",
    "loss_unit",
    "family",
    "year",
    "source_type",
)
LOSS_UNITS = ("nats/token", "bits/byte", "nats/byte")
SOURCE_TYPES = {
    "repo_file": "read in a file of the authors' (or the refitting authors') repository",
    "paper_text": "read in the paper's text (a text/LaTeX extraction of the arXiv paper)",
    "secondary": "the paper's text was not readable here; read in secondary sources that quote "
    "it (see `verification`); treat with care",
}
ARXIV = re.compile(r"^\d{4}\.\d{4,5}$")
COLUMNS = [
    ("fit_id", "-", "unique key of the fitted law"),
    ("paper", "-", "authors, year, which fit"),
    ("arxiv", "-", "arXiv identifier (YYMM.NNNNN)"),
    ("form", "-", "functional form of the law"),
    ("E", "loss_unit", "irreducible loss of E + A/N^alpha + B/D^beta"),
    ("A", "loss_unit x params^alpha", "parameter-term coefficient"),
    ("B", "loss_unit x tokens^beta", "data-term coefficient"),
    ("alpha, beta", "1", "parameter and data exponents"),
    ("*_se", "as the parameter", "standard error where the source gives one"),
    ("extra", "-", "other constants of the law (Kaplan, data-constrained, allocation b, ...)"),
    ("N_definition, D_definition, loss_definition", "-", "what N, D and the loss are"),
    ("where_in_source", "-", "where in the paper or repository the numbers were read"),
    ("verification", "-", "how the numbers were read or checked"),
    ("a_alloc", "1", "exponent a of N_opt ~ C^a (C = 6ND unless `form` says otherwise)"),
    ("a_alloc_se", "1", "standard error of a_alloc where given"),
    ("a_alloc_lo, a_alloc_hi", "1", "interval of a_alloc where given (level in `extra`)"),
    ("a_alloc_derived", "bool", "True: a_alloc computed here (beta/(alpha+beta) or 1-b)"),
    ("eval_set", "-", "data set the loss was measured on"),
    ("tokenizer", "-", "tokenizer, where read in the source (else empty)"),
    ("loss_unit", "-", "unit of E and of the loss: " + ", ".join(LOSS_UNITS)),
    ("N_min, N_max", "parameters", "range of model sizes fitted (as the source gives it)"),
    ("D_min, D_max", "tokens", "range of training tokens fitted"),
    ("C_min, C_max", "FLOP", "range of training compute fitted"),
    ("family", "-", "training family/recipe key (= bundled dataset name where one exists)"),
    ("year", "calendar year", "year of the paper"),
    ("source_type", "-", "kind of source the numbers were read in: " + ", ".join(SOURCE_TYPES)),
]


def validate_fits(fits: pd.DataFrame, path: str = "fits.csv") -> None:
    """Check the schema of the hand-compiled fits table; raise ``ValueError`` naming
    file, column and line (1-based, header = line 1) of every problem found."""
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in fits.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")

    def line(i: int) -> int:
        return int(i) + 2

    for col in CITATION_COLUMNS + ("family", "loss_unit", "source_type", "eval_set"):
        for i in fits.index[fits[col].str.strip() == ""]:
            problems.append(f"column {col!r}, line {line(i)}: empty")
    for i in fits.index[fits["fit_id"].duplicated(keep=False)]:
        problems.append(f"column 'fit_id', line {line(i)}: duplicated {fits.at[i, 'fit_id']!r}")
    for i in fits.index[~fits["arxiv"].str.match(ARXIV)]:
        problems.append(f"column 'arxiv', line {line(i)}: {fits.at[i, 'arxiv']!r} is no arXiv id")
    for i in fits.index[~fits["loss_unit"].isin(LOSS_UNITS)]:
        problems.append(f"column 'loss_unit', line {line(i)}: {fits.at[i, 'loss_unit']!r}")
    for i in fits.index[~fits["source_type"].isin(list(SOURCE_TYPES))]:
        problems.append(f"column 'source_type', line {line(i)}: {fits.at[i, 'source_type']!r}")
    for i in fits.index[~fits["a_alloc_derived"].isin(["", "True", "False"])]:
        problems.append(f"column 'a_alloc_derived', line {line(i)}: not True/False")
    for i in fits.index[~fits["year"].str.fullmatch(r"(19|20)\d\d")]:
        problems.append(f"column 'year', line {line(i)}: {fits.at[i, 'year']!r}")
    values = {}
    for col, (positive, upper) in NUMERIC.items():
        text = fits[col].str.strip()
        num = pd.to_numeric(text.where(text != ""), errors="coerce")
        values[col] = num
        for i in fits.index[(text != "") & num.isna()]:
            problems.append(f"column {col!r}, line {line(i)}: {text[i]!r} is not a number")
        bad = num.notna() & ~np.isfinite(num)
        if positive:
            bad |= num.notna() & (num <= 0)
        if upper is not None:
            bad |= num.notna() & (num >= upper)
        for i in fits.index[bad]:
            problems.append(f"column {col!r}, line {line(i)}: {text[i]} out of range")
    for lo, hi in (("N_min", "N_max"), ("D_min", "D_max"), ("C_min", "C_max")):
        for i in fits.index[values[lo] > values[hi]]:
            problems.append(f"columns {lo!r}>{hi!r}, line {line(i)}")
    ci = values["a_alloc_lo"].notna() | values["a_alloc_hi"].notna()
    a = values["a_alloc"]
    inside = (values["a_alloc_lo"] <= a) & (a <= values["a_alloc_hi"])
    for i in fits.index[ci & ~inside]:
        problems.append(f"column 'a_alloc', line {line(i)}: outside [a_alloc_lo, a_alloc_hi]")
    chin = values["alpha"].notna() & values["beta"].notna() & values["a_alloc"].notna()
    a_chin = values["beta"] / (values["alpha"] + values["beta"])
    for i in fits.index[chin & ((values["a_alloc"] - a_chin).abs() > 0.01)]:
        problems.append(f"column 'a_alloc', line {line(i)}: differs from beta/(alpha+beta)")
    flagged = fits["a_alloc_derived"].isin(["True", "False"])
    for i in fits.index[flagged & values["a_alloc"].isna()]:
        problems.append(f"column 'a_alloc_derived', line {line(i)}: set but a_alloc empty")
    if problems:
        raise ValueError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", default=None, help="ignored (the tables are in the repo)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args()


def main() -> None:
    out = _args().out
    data = {name: (SRC / name).read_bytes() for name in FILES}
    fits = pd.read_csv(io.BytesIO(data["fits.csv"]), dtype=str, keep_default_na=False)
    anchors = pd.read_csv(io.BytesIO(data["stock_anchors.csv"]))
    try:
        validate_fits(fits, path=str(SRC.name + "/fits.csv"))
    except ValueError as err:
        sys.exit(str(err))
    n_papers = fits["arxiv"].nunique()
    fits_view = fits[["fit_id", "form", "E", "alpha", "beta", "a_alloc", "loss_unit", "family"]]
    fits_view = fits_view.assign(form=fits["form"].str.slice(0, 40))
    papers = (
        fits.groupby("arxiv", sort=False)
        .agg(paper=("paper", "first"), rows=("fit_id", "size"), source=("source_type", "first"))
        .reset_index()
    )
    papers["paper"] = papers["paper"].str.split(",| \\(| Approach", regex=True).str[0]
    anchors_view = anchors[["quantity", "value", "low", "high", "unit"]]
    source_md = f"""# published_fits — published scaling-law fits and data-stock anchors ("table")

- **Origin:** hand-compiled tables of published numbers, each row citing its paper (`paper`,
  `arxiv`), where in the paper or repository the numbers were read (`where_in_source`) and
  how (`verification`, `source_type`). The tables are kept in the repository at
  `scripts/datasets/published_fits/`; no raw-data directory is needed to rebuild them.
- **License:** facts with citations; no upstream license applies (see `LICENSE`).
- **Rows:** {len(fits)} in `fits.csv`, {len(anchors)} in `stock_anchors.csv`.
- **Build script:** `scripts/datasets/{NAME}.py` validates the schema of `fits.csv`
  (required columns, units, one citation per row, unique `fit_id`, numbers numeric and in
  range) and writes **byte-identical copies** of both tables; meta.json lists their sha256.
- **Use:** priors (`E`, `A`, `B`, `alpha`, `beta`, `*_se`), allocation exponents
  (`a_alloc`), leave-one-family-out validation (`family`) and the data-exhaustion module
  (`stock_anchors.csv`).

## fits.csv — {len(fits)} rows (fitted laws) from {n_papers} papers, {len(fits.columns)} columns

Three kinds of rows: full Chinchilla form (`E`, `A`, `B`, `alpha`, `beta`), Kaplan forms
(constants in `extra`) and allocation-only laws (`a_alloc`, no `E`/`A`/`B`). All numbers are
as printed in the source; values computed here are marked (`a_alloc_derived` = True).
Empty cell = not given by the source (or not read).

{columns_md()}

`source_type`: {"; ".join(f"`{k}` = {v}" for k, v in SOURCE_TYPES.items())}.

### Per-paper provenance

{md_table(papers)}

### Rows

{md_table(fits_view)}

## stock_anchors.csv — {len(anchors)} rows, {len(anchors.columns)} columns

Columns: {", ".join(f"`{c}`" for c in anchors.columns)}. `unit` per row (tokens,
calendar year, FLOP, x per year).

{md_table(anchors_view)}

## Caveats

- Units differ between rows: `loss_unit` is nats/token for most rows, bits/byte for
  DeepSeek LLM and nats/byte for MiniCPM (loss averaged per byte); E values are not
  comparable across units or evaluation sets. Krajewski et al. fit the smoothed training
  loss on C4 and Shen et al. the training loss on their own corpus (neither states the
  unit; cross-entropy taken as nats).
- Values computed here from stored ones are named in `extra` and `verification`:
  Gemstones and (Mis)Fitting store log-parameters (e, a, b); E, A, B are their
  exponentials. Range columns of the Gemstones rows are min/max of the authors' fitting
  data. Gadre et al. Table 6 (as read in a text copy) does not reproduce the bundled
  gadre2024 runs with C in FLOPs (loss under-predicted about 2x; halving the printed eta
  gives rms log error 0.08): only its E enters the numeric columns, a, b, eta are in
  `extra`, no exponent or allocation is derived from it.
- `a_alloc` is an exponent of parameters except for DeepSeek LLM (non-embedding FLOPs per
  token M, C = MD) and Llama 3 (the paper fits training tokens; a_alloc = 1 - 0.53 derived
  assuming C = 6ND). Porian et al. rows differ by how parameters/FLOPs are counted; Shen et
  al. count non-embedding parameters and their own FLOPs (their a + b is not 1), Beck et
  al. count total parameters and attention FLOPs (not 6ND).
  Krajewski et al. MoE rows have no a_alloc (their compute depends on granularity).
- Kaplan et al. (2020) constants, DeepSeek LLM numbers and the Cerebras-GPT compute law were
  read in secondary sources (`source_type` = secondary); Hoffmann et al. Table 2 intervals
  were not readable (image). MiniCPM gives only averaged exponents in its text (per-corpus
  C_N, C_D, L_0 are in an image, Fig. 10).
- Besiroglu et al. refit digitized points; the Hoffmann Approach-3 rows are the paper's.
- Not included (searched, some only briefly, but no text copy of the paper or of its table
  of fitted numbers was found in the searchable public copies; no number is typed from
  memory):
  Bhagia et al. 2024 OLMo ladder (repository has predictions, not parameters), Pearce & Song
  2024 (repository script only simulates from the Chinchilla/Epoch coefficients), Choshen
  et al. 2024, Tay et al. 2021/2022, Haegele et al. 2024 (its repository lists no fitted values),
  Sardana & Frankle 2023 (uses Chinchilla's coefficients), Kumar et al. 2024 (precision),
  Goyal et al. 2024, Busbridge et al. 2025 (distillation), Henighan et al. 2020, Hernandez
  et al. 2021, Clark et al. 2022, Rae et al. 2021, Ruan et al. 2024, Alabdulmohsin et al.
  2022, Everett et al. 2024; Hoffmann et al. Table A2 (image). Allocation exponents of
  non-text or non-autoregressive models (diffusion LMs, multimodal, DNA, protein) quoted in
  Open-Athena/scaling-law-analysis were left out on purpose (other domains).
- Li et al. (2025) and Gemstones rows are fits stored in the authors' repositories (data
  behind figures), not numbers printed in the paper text; the (Mis)Fitting Chinchilla-form
  fit (alpha 0.20, beta 0.64) and the Gemstones Approach-3 fits (beta about 0.69) are far
  from the Chinchilla exponents, which is what those papers discuss. Their `form` carries a
  qualifier, so `forecast.extrapolation` (which reads only the two printed Chinchilla forms)
  leaves them out of the published compute-optimal range: at N = 1e13 they would put its
  lower end at 0.01 tokens/param. The population prior uses them (exponents, E, A, B).
- The dataset-growth rate (3.7x/yr) in stock_anchors is a living Epoch estimate (later
  versions: 3.1x, 3x). `muennighoff2023_c4_untied` is the notebook's superseded fit, for
  sensitivity only.
"""
    license_text = (
        "The files in this folder are tables of published numbers (facts), each row citing\n"
        "its source paper and location. They were compiled by hand for this project; no\n"
        "upstream license applies. Cite the original papers named in each row.\n"
    )
    write_dataset(
        out,
        NAME,
        tables=data,
        title="Published scaling-law fits and data-stock anchors (with citations)",
        license_name="facts with citations (no license)",
        citation=CITATION,
        source_md=source_md,
        license_text=license_text,
        kind="table",
        group_columns=(),
    )
    print(f"{NAME}: fits {len(fits)} rows from {n_papers} papers, anchors {len(anchors)} rows")


def columns_md() -> str:
    lines = ["| column | unit | meaning |", "|---|---|---|"]
    lines += [f"| {c} | {u} | {m} |" for c, u, m in COLUMNS]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
