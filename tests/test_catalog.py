"""forecast.data.catalog: bundled datasets are discovered, checksummed and validated."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.data import catalog
from forecast.data.catalog import list_datasets, load_dataset
from forecast.data.runs import load_runs
from forecast.errors import ConfigError, DataError

DATA = Path(__file__).parent / "data"
GADRE_EVAL_SETS = {
    "openlm_val",
    "c4_val",
    "paloma_c4_en",
    "paloma_dolma100_code",
    "paloma_refinedweb",
    "paloma_ptb",
    "paloma_redpajama",
    "c4_german",
}


@pytest.fixture(scope="module")
def gadre() -> pd.DataFrame:
    return load_dataset("gadre2024")


def copy_bundled(dest: Path, names: list[str]) -> Path:
    """Copy bundled dataset folders (through importlib.resources) into ``dest``."""
    root = resources.files("forecast").joinpath("_data")
    for name in names:
        folder = root.joinpath(name)
        (dest / name).mkdir(parents=True)
        for entry in folder.iterdir():
            if entry.is_file():
                (dest / name / entry.name).write_bytes(entry.read_bytes())
    return dest


@pytest.fixture
def fake_root(tmp_path, monkeypatch) -> Path:
    root = copy_bundled(tmp_path / "_data", ["gadre2024"])
    monkeypatch.setattr(catalog, "_data_root", lambda: root)
    return root


# ------------------------------------------------------------------ the real bundle


def test_list_datasets_shows_gadre(gadre):
    table = list_datasets()
    assert isinstance(table.index, pd.RangeIndex)
    assert list(table.columns) == [
        "name",
        "title",
        "kind",
        "rows",
        "groups",
        "default_group",
        "N_min",
        "N_max",
        "D_min",
        "D_max",
        "license",
    ]
    row = table.set_index("name").loc["gadre2024"]
    assert row["kind"] == "runs"
    assert row["rows"] == 760 == len(gadre)
    assert row["groups"] == 3
    assert row["default_group"] == "corpus"
    assert row["license"] == "MIT"
    assert row["N_min"] == 10_569_312
    assert row["N_max"] == 411_616_256
    assert row["D_min"] == 52_846_560
    assert row["D_max"] == 263_434_403_840


def test_gadre_schema(gadre):
    assert isinstance(gadre.index, pd.RangeIndex)
    for column in ("N", "D", "loss", "loss_sd", "N_non_embedding", "C", "checkpoint_fraction"):
        assert gadre[column].dtype == np.float64, column
    for column in ("group", "run_id", "corpus", "eval_set", "tokenizer", "source"):
        assert pd.api.types.is_string_dtype(gadre[column]), column
    assert set(gadre["eval_set"]) == GADRE_EVAL_SETS
    assert (gadre["group"] == gadre["corpus"]).all()
    assert set(gadre["corpus"]) == {"c4", "redpajama", "refinedweb"}
    assert (gadre.groupby("eval_set").size() == 95).all()
    assert gadre["run_id"].nunique() == 95
    assert not gadre.duplicated(["run_id", "eval_set"]).any()
    np.testing.assert_allclose(gadre["C"], 6 * gadre["N"] * gadre["D"], rtol=1e-15)
    assert (gadre["checkpoint_fraction"] == 1.0).all()
    assert (gadre["tokenizer"] == "GPT-NeoX-20B").all()
    assert gadre["loss_sd"].between(0.004, 0.02).all()
    assert (gadre["N_non_embedding"] < gadre["N"]).all()


def test_gadre_main_eval_values(gadre):
    c4 = gadre[gadre["eval_set"] == "c4_val"]
    assert len(c4) == 95
    assert c4.groupby("corpus").size().to_dict() == {"c4": 31, "redpajama": 32, "refinedweb": 32}
    one = c4.set_index("run_id").loc["c4_original-d=96_l=8_h=4-0.25"]
    assert one["loss"] == pytest.approx(5.974923739894816, abs=1e-12)
    assert one["N"] == 10_569_312
    assert one["D"] == 52_846_560
    # 95% interval (5.963299, 5.986548) from the JSON, as an SD
    assert one["loss_sd"] == pytest.approx(0.005930548469387616, rel=1e-9)
    # loss falls with tokens at fixed size on the main eval
    small = c4[(c4["N"] == 10_569_312) & (c4["corpus"] == "c4")].sort_values("D")
    assert np.all(np.diff(small["loss"].to_numpy()) < 0)


def test_gadre_meta_and_license():
    folder = resources.files("forecast").joinpath("_data").joinpath("gadre2024")
    meta = json.loads(folder.joinpath("meta.json").read_text(encoding="utf-8"))
    data = folder.joinpath("runs.csv").read_bytes()
    assert meta["files"]["runs.csv"] == hashlib.sha256(data).hexdigest()
    assert meta["kind"] == "runs" and meta["rows"] == 760
    assert meta["default_group"] == "corpus"
    license_text = folder.joinpath("LICENSE").read_text(encoding="utf-8")
    assert license_text.startswith("MIT License")
    assert "Copyright (c) 2024 mlfoundations" in license_text
    source = folder.joinpath("SOURCE.md").read_text(encoding="utf-8")
    assert 'eval_set == "c4_val"' in source
    assert meta["files"]["runs.csv"] in source


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        load_dataset("chinchilla")
    assert "unknown dataset 'chinchilla'" in str(info.value)
    assert "'gadre2024'" in str(info.value)


# ------------------------------------------------------------------ integrity (on copies)


def test_copy_loads_like_the_original(fake_root, gadre):
    pd.testing.assert_frame_equal(load_dataset("gadre2024"), gadre)


def test_tampered_file_is_detected(fake_root):
    path = fake_root / "gadre2024" / "runs.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("5.974923739894816", "5.874923739894816", 1), encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_dataset("gadre2024")
    assert info.value.path == "gadre2024/runs.csv"
    assert str(info.value).startswith("gadre2024/runs.csv: sha256 mismatch")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in str(info.value)


def test_missing_file_is_detected(fake_root):
    (fake_root / "gadre2024" / "runs.csv").unlink()
    with pytest.raises(DataError, match=r"^gadre2024/runs\.csv: file listed in .* is missing"):
        load_dataset("gadre2024")


def test_row_count_mismatch_is_detected(fake_root):
    meta_path = fake_root / "gadre2024" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["rows"] = 761
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="has 760 rows but gadre2024/meta.json records 761"):
        load_dataset("gadre2024")


def test_invalid_bundled_rows_fail_validation(fake_root):
    folder = fake_root / "gadre2024"
    text = (folder / "runs.csv").read_text(encoding="utf-8")
    bad = text.replace("5.974923739894816", "-1.0", 1).encode("utf-8")
    (folder / "runs.csv").write_bytes(bad)
    meta = json.loads((folder / "meta.json").read_text())
    meta["files"]["runs.csv"] = hashlib.sha256(bad).hexdigest()
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError) as info:
        load_dataset("gadre2024")
    assert info.value.path == "gadre2024/runs.csv"
    assert info.value.column == "loss"
    assert info.value.rows == (3,)


def test_meta_name_must_match_folder(fake_root):
    (fake_root / "gadre2024").rename(fake_root / "other")
    with pytest.raises(DataError, match="names the dataset 'gadre2024' but its folder is 'other'"):
        load_dataset("other")


def test_kind_without_validator_is_parsed_only(fake_root):
    meta_path = fake_root / "gadre2024" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["kind"] = "hologram"
    meta_path.write_text(json.dumps(meta))
    raw = load_dataset("gadre2024")  # checksum still checked, no schema conversion
    assert len(raw) == 760
    assert raw.columns[0] == "run_id"


def write_dataset(
    root: Path, name: str, kind: str, table: pd.DataFrame, fname: str = "runs.csv"
) -> None:
    folder = root / name
    folder.mkdir()
    data = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    (folder / fname).write_bytes(data)
    (folder / "notes.csv").write_bytes(b"a\n1\n")
    meta = {
        "name": name,
        "title": f"toy {kind}",
        "kind": kind,
        "license": "CC-BY-4.0",
        "citation": "nobody",
        "default_group": None,
        "group_columns": [],
        "rows": len(table),
        "files": {
            fname: hashlib.sha256(data).hexdigest(),
            "notes.csv": hashlib.sha256(b"a\n1\n").hexdigest(),
        },
    }
    (folder / "meta.json").write_text(json.dumps(meta))


def test_published_models_kind_is_validated(fake_root):
    models = pd.DataFrame({"model": ["a", "b"], "parameters": [7e9, 7e10], "year": [2023, 2024]})
    write_dataset(fake_root, "notable", "published_models", models)
    (fake_root / "not_a_dataset").mkdir()  # folders without meta.json are ignored
    with pytest.raises(DataError, match="notable/runs.csv: column 'date'"):
        load_dataset("notable")


def test_table_kind_returns_first_listed_file(fake_root):
    fits = pd.DataFrame({"paper": ["hoffmann2022"], "E": [1.69]})
    write_dataset(fake_root, "fits", "table", fits, fname="fits.csv")
    pd.testing.assert_frame_equal(load_dataset("fits"), fits)
    (fake_root / "fits" / "notes.csv").write_bytes(b"a\n2\n")  # every listed file is checked
    with pytest.raises(DataError, match="^fits/notes.csv: sha256 mismatch"):
        load_dataset("fits")


def test_adding_a_kind_is_one_function(fake_root, monkeypatch):
    def load_toy(data: bytes, shown: str, meta) -> pd.DataFrame:
        return pd.DataFrame({"size": [len(data)], "file": [shown]})

    monkeypatch.setitem(catalog._KIND_LOADERS, "toy", load_toy)
    write_dataset(fake_root, "toyset", "toy", pd.DataFrame({"x": [1]}))
    out = load_dataset("toyset")
    assert out["file"].tolist() == ["toyset/runs.csv"]
    assert out["size"].tolist() == [4]  # b"x\n1\n"


# ------------------------------------------------------------------ test data


def test_chinchilla_test_csv():
    runs = load_runs(DATA / "chinchilla.csv")
    assert list(runs.columns) == ["N", "D", "loss", "C"]
    assert len(runs) == 240
    np.testing.assert_allclose(runs["D"], runs["C"] / (6.0 * runs["N"]), rtol=1e-14)
    # Epoch dropped the 5 highest losses (>= 3.446995); the next value is kept
    assert runs["loss"].max() == pytest.approx(3.4059279641864753, abs=1e-15)
    assert runs["loss"].min() == pytest.approx(2.077394, abs=1e-6)
    source = (DATA / "SOURCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((DATA / "chinchilla.csv").read_bytes()).hexdigest()
    assert re.search(rf"Output sha256.*\n\s*`{digest}`", source)


def test_table_keyword_picks_a_file_of_a_multi_file_dataset():
    anchors = load_dataset("published_fits", table="stock_anchors.csv")
    assert len(anchors) == 12
    stock = anchors.iloc[0]
    assert stock["unit"] == "tokens"
    assert (float(stock["value"]), float(stock["low"]), float(stock["high"])) == (3e14, 1e14, 1e15)
    fits = load_dataset("published_fits", table="fits.csv")
    pd.testing.assert_frame_equal(fits, load_dataset("published_fits"))
    with pytest.raises(ConfigError, match="'fits.csv', 'stock_anchors.csv'"):
        load_dataset("published_fits", table="stock.csv")
