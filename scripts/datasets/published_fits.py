"""Build forecast/_data/published_fits/ (kind "table"): published scaling-law fits and
data-stock anchors, byte copies of the hand-compiled tables with citations.

Usage::

    python scripts/datasets/published_fits.py --shared <raw-data-dir> [--out forecast/_data]
"""

from __future__ import annotations

import io

import pandas as pd
from _build import md_table, parse_args, write_dataset

NAME = "published_fits"
RAW = "published_scaling_law_parameters"
FILES = {"fits.csv": "published_fits.csv", "stock_anchors.csv": "data_stock_anchors.csv"}
CITATION = (
    "Hand-compiled from the papers cited in each row (Hoffmann et al. 2022; Besiroglu et al. "
    "2024; Muennighoff et al. 2023; Kaplan et al. 2020; Villalobos et al. 2022, 2024; Epoch "
    "AI data insights)."
)


def main() -> None:
    shared, out = parse_args(__doc__)
    data = {dst: (shared / RAW / src).read_bytes() for dst, src in FILES.items()}
    fits = pd.read_csv(io.BytesIO(data["fits.csv"]))
    anchors = pd.read_csv(io.BytesIO(data["stock_anchors.csv"]))
    for col in ("fit_id", "E", "A", "B", "alpha", "beta"):
        if col not in fits.columns:
            raise SystemExit(f"published_fits.csv lacks column {col!r}")
    if fits["fit_id"].duplicated().any():
        raise SystemExit("duplicate fit_id")

    fits_view = fits[["fit_id", "E", "A", "B", "alpha", "beta", "arxiv"]]
    anchors_view = anchors[["quantity", "value", "low", "high", "unit"]]
    source_md = f"""# published_fits — published scaling-law fits and data-stock anchors ("table")

- **Origin:** hand-compiled tables of published numbers, each row with its paper,
  location in the paper and how it was verified (columns `where_in_source` /
  `where`, `verification`). Repositories were read directly where possible
  (epoch-research/analyzing-chinchilla, huggingface/datablations); otherwise paper text.
- **License:** facts with citations; no upstream license applies (see `LICENSE`).
- **Rows:** {len(fits)} in `fits.csv`, {len(anchors)} in `stock_anchors.csv`.
- **Build script:** `scripts/datasets/{NAME}.py`: **byte-identical copies**, no
  transformation: `published_fits.csv` -> `fits.csv`, `data_stock_anchors.csv` ->
  `stock_anchors.csv`. meta.json lists the sha256 of both files.
- **Use:** priors (`fits.csv`: E, A, B, alpha, beta and their standard errors) and the
  data-exhaustion module (`stock_anchors.csv`).

## fits.csv — {len(fits)} rows, {len(fits.columns)} columns

Columns: {", ".join(f"`{c}`" for c in fits.columns)}.
Units: `E` nats/token; `A`, `B` in the law's units (N in parameters, D in tokens);
`alpha`, `beta` dimensionless; `*_se` standard errors of the same. `form` gives the
functional form; Kaplan rows keep their constants in `extra` (N non-embedding, C in PF-days).

{md_table(fits_view)}

## stock_anchors.csv — {len(anchors)} rows, {len(anchors.columns)} columns

Columns: {", ".join(f"`{c}`" for c in anchors.columns)}. `unit` per row (tokens,
calendar year, FLOP, x per year).

{md_table(anchors_view)}

## Caveats

- Some Kaplan et al. (2020) constants and two Villalobos et al. (2024) overtraining years
  are marked in `verification` as taken from secondary sources ("check PDF"/"check paper").
- The dataset-growth rate (3.7x/yr) is a living Epoch estimate (later versions: 3.1x, 3x).
- `muennighoff2023_c4_untied` is the notebook's superseded fit, for sensitivity only.
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
    print(f"{NAME}: fits {len(fits)} rows, stock anchors {len(anchors)} rows")


if __name__ == "__main__":
    main()
