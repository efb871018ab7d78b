"""Bundled real datasets: schema, units, documented sizes, row counts, checksums.

Covers the folders built by ``scripts/datasets/{olmo_ladder,datablations,gpt3,opt,olmo1,
epoch_notable,published_fits}.py``. Every runs dataset is read twice: as plain CSV with
pandas, and through :func:`forecast.data.catalog.load_dataset` (checksum + schema validation).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.data.catalog import list_datasets, load_dataset
from forecast.data.published_models import validate_published_models
from forecast.errors import DataError

DATA = Path(__file__).resolve().parents[1] / "forecast" / "_data"

#: dataset -> documented parameter counts (exact sets)
SIZES = {
    "olmo_ladder": {190_354_176, 371_262_464, 758_220_288, 1_279_395_840, 3_169_537_280},
    "gpt3": {125e6, 350e6, 760e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 175e9},
    "opt": {125e6, 1.3e9, 6.7e9, 13e9, 30e9, 175e9},
    "olmo1": {1_176_764_416, 6_888_095_744},
}
RUNS_DATASETS = ["olmo_ladder", "datablations", "gpt3", "opt", "olmo1"]
#: plausible range of the loss in nats/token for each dataset (tighter than the schema's 20)
LOSS_RANGE = {
    "olmo_ladder": (0.5, 6.0),
    "datablations": (2.0, 11.5),
    "gpt3": (1.7, 2.8),
    "opt": (2.2, 3.5),
    "olmo1": (2.3, 2.7),
}
REQUIRED = ["N", "D", "loss"]
OPTIONAL = {
    "group", "run_id", "unique_tokens", "loss_sd", "source", "N_non_embedding", "corpus",
    "eval_set", "tokenizer", "family", "checkpoint_fraction", "bytes_per_token", "C",
}  # fmt: skip
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])/[A-Za-z_][\w.-]*/[\w.-]+")
EXTRA = {  # documented non-schema columns per dataset
    "olmo_ladder": {"token_multiplier"},
    "datablations": {"epochs", "high_loss"},
}


def _meta(name: str) -> dict:
    return json.loads((DATA / name / "meta.json").read_text(encoding="utf-8"))


def _csv(name: str, fname: str = "runs.csv") -> pd.DataFrame:
    return pd.read_csv(DATA / name / fname)


def _source_rows(name: str) -> dict[str, int]:
    text = (DATA / name / "SOURCE.md").read_text(encoding="utf-8")
    line = re.search(r"^- \*\*Rows:\*\* (.+)$", text, flags=re.M)
    assert line, f"{name}/SOURCE.md has no '- **Rows:**' line"
    return {f: int(n) for n, f in re.findall(r"(\d+) in `([^`]+)`", line.group(1))}


# ----------------------------------------------------------------------------- all folders


@pytest.mark.parametrize("name", [*RUNS_DATASETS, "epoch_notable", "published_fits"])
def test_folder_complete_and_checksummed(name):
    folder = DATA / name
    meta = _meta(name)
    assert meta["name"] == name
    assert {"title", "kind", "license", "citation", "default_group", "rows", "files"} <= set(meta)
    for fname in ("SOURCE.md", "LICENSE"):
        assert (folder / fname).stat().st_size > 200, fname
    assert meta["files"], "meta.json lists no files"
    for fname, digest in meta["files"].items():
        assert hashlib.sha256((folder / fname).read_bytes()).hexdigest() == digest, fname
    # row counts: meta.json == SOURCE.md == the files
    documented = _source_rows(name)
    assert set(documented) == set(meta["files"])
    for fname, n in documented.items():
        assert len(_csv(name, fname)) == n, fname
    first = "runs.csv" if "runs.csv" in meta["files"] else next(iter(meta["files"]))
    assert meta["rows"] == documented[first]
    # no absolute machine paths in shipped text (URLs and relative paths are fine)
    for fname in ("SOURCE.md", "LICENSE", "meta.json"):
        text = (folder / fname).read_text(encoding="utf-8")
        assert not ABSOLUTE_PATH.search(text), (fname, ABSOLUTE_PATH.search(text))


def test_bundled_data_stays_small():
    total = sum(f.stat().st_size for f in DATA.rglob("*") if f.is_file())
    assert total < 3 * 1024**2  # well under the 10 MB package budget


# ----------------------------------------------------------------------------- runs kind


@pytest.mark.parametrize("name", RUNS_DATASETS)
def test_runs_schema_and_units(name):
    raw = _csv(name)
    meta = _meta(name)
    assert meta["kind"] == "runs"
    assert list(raw.columns[:3]) == REQUIRED
    assert set(raw.columns) <= set(REQUIRED) | OPTIONAL | EXTRA.get(name, set())
    for col in [
        "N",
        "D",
        "loss",
        *(
            {"unique_tokens", "loss_sd", "checkpoint_fraction", "N_non_embedding"}
            & set(raw.columns)
        ),
    ]:
        assert raw[col].dtype == np.float64, col
        assert np.isfinite(raw[col]).all(), col
    lo, hi = LOSS_RANGE[name]
    assert raw["loss"].between(lo, hi).all()
    assert (raw["loss"] <= 20).all() and (raw["loss"] > 0).all()
    assert (raw["D"] >= raw["N"] / 1000).all()
    assert (raw["N"] > 1e6).all()
    if "checkpoint_fraction" in raw:
        assert raw["checkpoint_fraction"].between(0, 1, inclusive="right").all()
    if "loss_sd" in raw:
        assert raw["loss_sd"].between(0.001, 0.02).all()
    if "unique_tokens" in raw:
        assert (raw["unique_tokens"] <= raw["D"]).all()
    if name in SIZES:
        assert set(raw["N"].unique()) == SIZES[name]
    group = meta["default_group"]
    assert group is None or group in raw.columns


@pytest.mark.parametrize("name", RUNS_DATASETS)
def test_runs_load_through_catalog(name):
    raw = _csv(name)
    runs = load_dataset(name)
    assert len(runs) == len(raw) == _meta(name)["rows"]
    for col in REQUIRED:
        assert runs[col].dtype == np.float64
        np.testing.assert_allclose(runs[col].to_numpy(), raw[col].to_numpy(), rtol=0, atol=0)


def test_catalog_lists_every_dataset():
    names = set(list_datasets()["name"])
    assert {*RUNS_DATASETS, "epoch_notable", "published_fits"} <= names


# ----------------------------------------------------------------------------- per dataset


def test_olmo_ladder_values():
    runs = _csv("olmo_ladder")
    assert runs["run_id"].nunique() == 30
    assert runs["eval_set"].nunique() == 11
    per_run = runs.groupby(["run_id", "eval_set"]).size()
    assert per_run.max() <= 10
    assert (runs["checkpoint_fraction"] >= 0.3).all()
    final = runs[runs["checkpoint_fraction"] == 1.0]
    assert len(final) == 30 * 11  # every run keeps its final checkpoint, once per eval set
    c4 = final[final["eval_set"] == "c4_en"].set_index("run_id")
    assert c4.loc["3B-10xC", "loss"] == pytest.approx(2.66440, abs=1e-6)
    assert c4.loc["190M-1xC", "loss"] == pytest.approx(3.60097, abs=1e-6)
    # reruns: same N and D, run-to-run noise of order 1e-3 nats
    diff = c4.loc["190M-1xC", "loss"] - c4.loc["190M-1xC-rerun", "loss"]
    assert 0 < abs(diff) < 0.01
    assert c4.loc["190M-1xC", "D"] == c4.loc["190M-1xC-rerun", "D"]
    # final D = k x 20 tokens/parameter x N up to batch rounding (< 0.3 %)
    planned = 20 * c4["token_multiplier"] * c4["N"]
    np.testing.assert_allclose(c4["D"], planned, rtol=3e-3)
    # loss falls with N at fixed budget multiple, and with D at fixed N
    one = c4[c4.index.str.endswith("-1xC")].sort_values("N")
    assert one["loss"].is_monotonic_decreasing
    n190 = c4[c4["N"] == 190_354_176].sort_values("D")
    assert n190["loss"].is_monotonic_decreasing


def test_olmo_ladder_n_non_embedding():
    runs = _csv("olmo_ladder")
    d_model = {190_354_176: 768, 371_262_464: 1024, 758_220_288: 1536,
               1_279_395_840: 2048, 3_169_537_280: 3328}  # fmt: skip
    expected = runs["N"] - 100_352 * runs["N"].map(d_model)
    np.testing.assert_array_equal(runs["N_non_embedding"], expected)


def test_datablations_values():
    runs = _csv("datablations")
    assert len(runs) == 296
    assert runs["run_id"].is_unique
    assert (runs["group"] == "c4").all()
    np.testing.assert_allclose(runs["epochs"], runs["D"] / runs["unique_tokens"], rtol=1e-5)
    assert runs["high_loss"].dtype == bool
    assert runs["high_loss"].sum() == 31
    np.testing.assert_array_equal(runs["high_loss"], runs["loss"] > 5)
    assert runs["loss"].max() == pytest.approx(11.0184, abs=1e-4)
    row = runs.set_index("run_id").loc["2b84b4b"]
    assert (row["N"], row["D"], row["unique_tokens"]) == (2.81e9, 4e9, 4e9)
    assert row["loss"] == pytest.approx(3.26502, abs=1e-6)


def test_gpt3_values():
    runs = _csv("gpt3")
    assert (runs.groupby("run_id").size() == 10).all()
    assert (runs["checkpoint_fraction"] >= 0.7).all()
    np.testing.assert_allclose(runs["checkpoint_fraction"], runs["D"] / 300e9, rtol=1e-5)
    last = runs.sort_values("D").groupby("run_id").last()
    assert last.loc["GPT-3 175B", "loss"] == pytest.approx(1.79153, abs=1e-6)
    # larger models end lower
    assert last.sort_values("N")["loss"].is_monotonic_decreasing
    assert set(runs["tokenizer"]) == {"r50k_base"}


def test_opt_values():
    runs = _csv("opt")
    assert (runs["checkpoint_fraction"] >= 0.7).all()
    np.testing.assert_allclose(runs["checkpoint_fraction"], runs["D"] / 300e9, rtol=1e-5)
    last = runs.sort_values("D").groupby("run_id").last()
    # loss = ln(perplexity): OPT-175B at 140k steps x 2M tokens has ppl 9.768875
    assert last.loc["OPT-175B", "D"] == 2.8e11
    assert last.loc["OPT-175B", "loss"] == pytest.approx(math.log(9.768875), abs=1e-5)
    assert last.sort_values("N")["loss"].is_monotonic_decreasing


def test_olmo1_values():
    runs = _csv("olmo1")
    assert set(runs["run_id"]) == {"OLMo-1B", "OLMo-7B", "OLMo-7B-Twin-2T"}
    assert (runs.groupby("run_id").size() == 10).all()
    last = runs[runs["checkpoint_fraction"] == 1.0].set_index("run_id")
    # tokens per step: 1B 2048 x 2048; 7B 2160 x 2048
    assert last.loc["OLMo-1B", "D"] == 738_000 * 4_194_304
    assert last.loc["OLMo-7B", "D"] == 556_000 * 4_423_680
    assert last.loc["OLMo-7B", "loss"] == pytest.approx(2.3712, abs=1e-4)
    assert last.loc["OLMo-7B", "loss"] < last.loc["OLMo-1B", "loss"]


def test_family_columns_filled():
    for name, family, tokenizer in (
        ("gpt3", "GPT-3", "r50k_base"),
        ("opt", "OPT", "gpt2"),
        ("olmo1", "OLMo-1", "gpt-neox-20b"),
    ):
        runs = _csv(name)
        assert set(runs["group"]) == set(runs["family"]) == {family}
        assert set(runs["tokenizer"]) == {tokenizer}
        assert runs["eval_set"].nunique() == 1


# ----------------------------------------------------------------------- published models


def test_epoch_notable_published_models_table():
    raw = _csv("epoch_notable")
    meta = _meta("epoch_notable")
    assert meta["kind"] == "published_models" and meta["license"] == "CC-BY-4.0"
    expected_cols = ["model", "organization", "date", "year", "N", "D", "dataset_tokens", "C",
                     "epochs", "epochs_assumed", "frontier", "confidence", "C_ratio",
                     "d_unit_rule"]  # fmt: skip
    assert list(raw.columns) == expected_cols
    table = validate_published_models(raw, path="epoch_notable/runs.csv")
    assert len(table) == meta["rows"] == 145
    assert table["date"].is_monotonic_increasing
    assert raw["model"].is_unique
    np.testing.assert_allclose(table["D"], table["dataset_tokens"] * table["epochs"], rtol=1e-5)
    assert set(raw["d_unit_rule"].str.split(";").str[0]) == {"tokens", "words"}
    assert table["year"].sub(table["date"].dt.year).between(0, 1).all()
    loaded = load_dataset("epoch_notable")
    assert len(loaded) == len(raw)


@pytest.mark.parametrize(
    ("model", "dataset_tokens", "D"),
    [
        ("GPT-3 175B (davinci)", 3.74e11 / 0.75, 2.992e11),  # 374B words = 499B tokens, 0.6 ep
        ("Chinchilla", 1.4e12, 1.4e12),  # 1.05e12 words
        ("Llama 2-70B", 2e12, 2e12),  # 1.5e12 words
        ("Llama 3.1-405B", 1.56e13, 1.56e13),  # stored in tokens
        ("OPT-175B", 1.8e11, 3.0e11),  # 180B tokens x 1.6667 epochs
        ("Gopher (280B)", 3e11, 3e11),  # stored in tokens, unconverted
    ],
)
def test_epoch_notable_normalised_d(model, dataset_tokens, D):
    row = _csv("epoch_notable").set_index("model").loc[model]
    assert row["dataset_tokens"] == pytest.approx(dataset_tokens, rel=1e-4)
    assert row["D"] == pytest.approx(D, rel=1e-3)


def test_epoch_notable_excludes_finetunes_and_fixes_typos():
    raw = _csv("epoch_notable").set_index("model")
    for finetune in ("InstructGPT 175B", "Codex", "FLAN 137B", "Minerva (540B)"):
        assert finetune not in raw.index
    assert raw.loc["Llama 2-7B", "N"] == 7e9
    assert raw.loc["Hybrid H3-2.7B", "D"] == 4e11
    assert "T5-3B" not in raw.index


def test_validate_published_models_reports_all_problems():
    raw = _csv("epoch_notable").astype({"frontier": object})
    raw.loc[3, "N"] = -5.0
    raw.loc[7, "date"] = "2023-13-01"
    raw.loc[9, "frontier"] = "maybe"
    with pytest.raises(DataError) as info:
        validate_published_models(raw, path="runs.csv")
    err = info.value
    assert err.path == "runs.csv" and err.column == "date" and err.rows == (9,)
    msg = str(err)
    assert "3 problems" in msg and "column 'N', line 5" in msg and "line 11" in msg
    with pytest.raises(DataError, match="missing required column"):
        validate_published_models(raw.drop(columns=["D"]))


# ----------------------------------------------------------------------------- table kind


def test_published_fits_tables():
    meta = _meta("published_fits")
    assert meta["kind"] == "table"
    assert set(meta["files"]) == {"fits.csv", "stock_anchors.csv"}
    fits = _csv("published_fits", "fits.csv").set_index("fit_id")
    assert fits.index.is_unique and len(fits) >= 30
    a3 = fits.loc["hoffmann2022_a3_rounded"]
    assert (a3["E"], a3["A"], a3["B"], a3["alpha"], a3["beta"]) == (1.69, 406.4, 410.7, 0.34, 0.28)
    assert fits.loc["besiroglu2024", "E"] == pytest.approx(1.8172)
    anchors = _csv("published_fits", "stock_anchors.csv")
    assert len(anchors) == 12
    stock = anchors[anchors["quantity"].str.startswith("effective stock")].iloc[0]
    assert float(stock["value"]) == 3.0e14
    # through the catalogue: checksums verified, the first listed file returned
    loaded = load_dataset("published_fits")
    pd.testing.assert_frame_equal(loaded, fits.reset_index())


# ----------------------------------------------------------------------------- published fits

FITS_SRC = Path(__file__).resolve().parents[1] / "scripts" / "datasets" / "published_fits"


def _fits_text() -> pd.DataFrame:
    return pd.read_csv(DATA / "published_fits" / "fits.csv", dtype=str, keep_default_na=False)


def _validator():
    import importlib.util
    import sys

    scripts = FITS_SRC.parent
    sys.path.insert(0, str(scripts))
    try:
        spec = importlib.util.spec_from_file_location("_pf_build", scripts / "published_fits.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(scripts))
    return module


def test_published_fits_bundled_equals_repo_source():
    # the bundled tables are byte copies of the hand-compiled sources kept in the repo
    for fname in ("fits.csv", "stock_anchors.csv"):
        assert (DATA / "published_fits" / fname).read_bytes() == (FITS_SRC / fname).read_bytes()


def test_published_fits_schema_units_and_citations():
    fits = _fits_text()
    build = _validator()
    build.validate_fits(fits)  # raises on any schema problem
    assert set(build.REQUIRED) <= set(fits.columns)
    # the columns other code reads are still there
    for col in ("fit_id", "E", "A", "B", "alpha", "beta", "E_se", "alpha_se", "beta_se", "extra"):
        assert col in fits.columns
    assert fits["loss_unit"].isin(["nats/token", "bits/byte", "nats/byte"]).all()
    # one citation per row: paper + arXiv id + where in the source
    for col in ("paper", "arxiv", "where_in_source", "verification"):
        assert (fits[col].str.strip() != "").all(), col
    assert fits["arxiv"].str.fullmatch(r"\d{4}\.\d{4,5}").all()
    assert fits["family"].str.fullmatch(r"[a-z0-9_]+").all()
    assert len(fits) >= 30
    # issue 18: at least 30 laws from at least 15 papers
    assert fits["arxiv"].nunique() >= 15
    # families of bundled datasets are spelt as the dataset names
    fam = fits.set_index("fit_id")["family"]
    assert fam["hoffmann2022_a3_rounded"] == fam["besiroglu2024"] == "chinchilla"
    assert fam["muennighoff2023_c4_tied"] == "datablations"
    # ... and as the family keys of the population prior (build_population_prior.families)
    assert fam["gadre2024_c4"] == "gadre_c4" and fam["gadre2024_refinedweb"] == "gadre_refinedweb"


def test_published_fits_numbers_and_derived_allocation():
    fits = load_dataset("published_fits").set_index("fit_id")
    for col in ("E", "A", "B", "alpha", "beta", "a_alloc", "N_min", "C_max"):
        assert fits[col].dtype == np.float64, col
    a3 = fits.loc["hoffmann2022_a3_rounded"]
    assert a3["a_alloc"] == 0.46 and a3["loss_unit"] == "nats/token"
    assert fits.loc["hoffmann2022_a1", "a_alloc"] == 0.50
    assert fits.loc["hoffmann2022_a2", "a_alloc"] == 0.49
    assert fits.loc["besiroglu2024", "a_alloc_se"] == 0.020
    assert fits.loc["deepseek2024_current", "loss_unit"] == "bits/byte"
    assert fits.loc["hu2024_minicpm_wsd_avg", "loss_unit"] == "nats/byte"
    # Gadre et al. Table 6: only E is used (its eta does not reproduce the runs, see SOURCE.md)
    gadre = fits.loc["gadre2024_c4"]
    assert gadre["E"] == 1.51 and gadre[["A", "B", "alpha", "beta", "a_alloc"]].isna().all()
    assert fits.loc["shen2024_llama", "a_alloc"] == 0.7118
    assert fits.loc["beck2025_xlstm_isoflop", "a_alloc_se"] == 0.004761
    # Krajewski et al. Table 1: MoE and dense laws share the irreducible term c = 0.47
    moe, dense = fits.loc["krajewski2024_moe_e64"], fits.loc["krajewski2024_dense"]
    assert moe["E"] == dense["E"] == 0.47 and (moe["alpha"], dense["alpha"]) == (0.115, 0.126)
    assert np.isnan(moe["a_alloc"]) and str(dense["a_alloc_derived"]) == "True"
    # allocation-only rows carry no Chinchilla constants
    alloc_only = fits["form"].str.contains("allocation only")
    assert alloc_only.sum() >= 15 and fits.loc[alloc_only, ["E", "A", "B"]].isna().all().all()
    assert fits["a_alloc"].dropna().between(0, 1, inclusive="neither").all()
    # values marked derived are beta/(alpha+beta) where the row has the Chinchilla form
    chin = fits["a_alloc_derived"].astype(str).eq("True") & fits["alpha"].notna()
    expected = fits["beta"] / (fits["alpha"] + fits["beta"])
    np.testing.assert_allclose(fits.loc[chin, "a_alloc"], expected[chin], atol=1e-4)
    lo, hi = fits["a_alloc_lo"], fits["a_alloc_hi"]
    has = lo.notna()
    assert ((lo[has] <= fits.loc[has, "a_alloc"]) & (fits.loc[has, "a_alloc"] <= hi[has])).all()


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("arxiv", "not-an-id", "no arXiv id"),
        ("where_in_source", "", "empty"),
        ("loss_unit", "nats", "'loss_unit'"),
        ("alpha", "-0.3", "out of range"),
        ("a_alloc", "1.5", "out of range"),
        ("E", "abc", "is not a number"),
        ("fit_id", "besiroglu2024", "duplicated"),
    ],
)
def test_published_fits_validator_rejects_bad_rows(column, value, message):
    fits = _fits_text()
    fits.loc[0, column] = value
    with pytest.raises(ValueError, match=message) as info:
        _validator().validate_fits(fits, path="fits.csv")
    assert "line 2" in str(info.value)


def test_published_fits_sha256_checked_on_load(tmp_path, monkeypatch):
    import shutil

    import forecast.data.catalog as catalog

    root = tmp_path / "_data"
    shutil.copytree(DATA / "published_fits", root / "published_fits")
    target = root / "published_fits" / "fits.csv"
    target.write_bytes(target.read_bytes().replace(b"1.8172", b"1.8173", 1))
    monkeypatch.setattr(catalog, "_data_root", lambda: root)
    with pytest.raises(DataError, match="sha256 mismatch"):
        catalog.load_dataset("published_fits")
