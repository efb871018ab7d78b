"""forecast.data.runs: reading and validating runs tables; each failure is one located DataError."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.data.runs import MAX_LOSS, REQUIRED_COLUMNS, load_runs, validate_runs
from forecast.errors import ConfigError, DataError

GOOD = [
    (7.0e7, 1.4e9, 3.40),
    (7.0e7, 5.6e9, 3.21),
    (4.0e8, 8.0e9, 2.95),
    (4.0e8, 3.2e10, 2.80),
    (1.0e9, 2.0e10, 2.70),
]


def csv_text(header: str, rows: list[str]) -> str:
    return header + "\n" + "".join(r + "\n" for r in rows)


def good_rows() -> list[str]:
    return [f"{n!r},{d!r},{loss!r}" for n, d, loss in GOOD]


def load_text(text: str, **options) -> pd.DataFrame:
    buffer = io.StringIO(text)
    buffer.name = "runs.csv"
    return load_runs(buffer, **options)


def error_of(text: str, **options) -> DataError:
    with pytest.raises(DataError) as info:
        load_text(text, **options)
    return info.value


# ------------------------------------------------------------------ happy path


def test_good_csv_returns_tidy_frame(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text(
        csv_text("N,D,loss,group,lr", [r + f",g{i % 2},0.003" for i, r in enumerate(good_rows())])
    )
    runs = load_runs(path)
    assert isinstance(runs.index, pd.RangeIndex)
    assert list(runs.columns) == ["N", "D", "loss", "group", "lr"]
    for column in REQUIRED_COLUMNS:
        assert runs[column].dtype == np.float64
    assert pd.api.types.is_string_dtype(runs["group"])
    assert runs["group"].tolist() == ["g0", "g1", "g0", "g1", "g0"]
    np.testing.assert_allclose(runs["D"], [d for _, d, _ in GOOD], rtol=1e-15)
    assert runs["lr"].tolist() == [0.003] * 5  # pass-through column kept as parsed


def test_label_columns_stay_text():
    runs = load_text(csv_text("N,D,loss,group,run_id", [good_rows()[0] + ",007,1e3"]))
    assert runs["group"].tolist() == ["007"]
    assert runs["run_id"].tolist() == ["1e3"]


def test_blank_lines_are_skipped_and_line_numbers_stay_true():
    rows = good_rows()
    text = csv_text("N,D,loss", [rows[0], "", rows[1], "", "7e7,1.4e9,-1", rows[2]])
    err = error_of(text)
    # header 1, rows 2, (blank) 3, row 4, (blank) 5, bad row 6
    assert err.rows == (6,)
    assert "line 6 (1 of 4)" in str(err)


def test_column_mapping_renames_explicitly():
    text = csv_text("params,tokens,val_loss", good_rows())
    runs = load_text(text, columns={"params": "N", "tokens": "D", "val_loss": "loss"})
    assert list(runs.columns) == ["N", "D", "loss"]
    np.testing.assert_allclose(runs["N"], [n for n, _, _ in GOOD])


def test_no_guessing_without_mapping():
    err = error_of(csv_text("params,D,loss", good_rows()))
    assert err.column == "N"
    assert "Did you mean 'params'? Pass columns={'params': 'N'}" in str(err)
    assert "'params', 'D', 'loss'" in str(err)


def test_mapping_key_absent_is_reported():
    err = error_of(csv_text("N,D,loss", good_rows()), columns={"tokens": "D"})
    assert err.column == "tokens"
    assert "columns= maps 'tokens' to 'D'" in str(err)


@pytest.mark.parametrize("columns", [["N"], {"N": 1}, {1: "N"}])
def test_bad_mapping_is_config_error(columns):
    with pytest.raises(ConfigError):
        load_text(csv_text("N,D,loss", good_rows()), columns=columns)


def test_dataframe_input_is_not_mutated_and_rows_are_index_labels():
    df = pd.DataFrame(
        {"params": [7e7, "x", 4e8], "D": [1.4e9, 2e9, 8e9], "loss": [3.4, 3.0, -2.0]},
        index=["a", "b", "c"],
    )
    before = df.copy(deep=True)
    with pytest.raises(DataError) as info:
        load_runs(df, columns={"params": "N"})
    pd.testing.assert_frame_equal(df, before)
    err = info.value
    assert err.path == "<DataFrame>"
    assert err.column == "N"
    assert err.rows == ("b",)
    assert str(err).startswith("<DataFrame>: 2 problems in 3 rows:")
    assert "column 'N', row b (1 of 3): N must be a number" in str(err)
    assert "column 'loss', row c (1 of 3)" in str(err)


def test_dataframe_good_input_copied_with_clean_index():
    df = pd.DataFrame(
        {"N": [7e7, 4e8], "D": [1.4e9, 8e9], "loss": [3, 3], "group": [1, 2]}, index=[10, 20]
    )
    runs = load_runs(df)
    assert isinstance(runs.index, pd.RangeIndex)
    assert runs["loss"].dtype == np.float64
    assert runs["group"].tolist() == ["1", "2"]
    assert df["group"].tolist() == [1, 2]
    runs.loc[0, "N"] = 1.0
    assert df.loc[10, "N"] == 7e7


def test_validate_runs_with_path_reports_file_lines():
    df = pd.DataFrame({"N": [7e7, 4e8, 4e8], "D": [1.4e9, 8e9, 8e9], "loss": [3.4, 0.0, 3.0]})
    with pytest.raises(DataError) as info:
        validate_runs(df, path="runs.csv")
    assert info.value.rows == (3,)
    assert str(info.value).startswith("runs.csv: column 'loss', line 3 (1 of 3)")


def test_validate_runs_rejects_non_frame():
    with pytest.raises(DataError):
        validate_runs([1, 2, 3])  # type: ignore[arg-type]


# ------------------------------------------------------------------ the message shape


def test_style_guide_message_exactly(tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    lines = []
    for i in range(240):
        n = float(rng.choice([7e7, 4e8, 1e9]))
        d = n * (20 + i)
        loss = round(2.5 + rng.uniform(0, 1), 6)
        if i + 2 == 14:
            loss = -0.12
        lines.append(f"{n!r},{d!r}," + ("" if i + 2 == 87 else repr(loss)))
    (tmp_path / "runs.csv").write_text(csv_text("N,D,loss", lines))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        load_runs("runs.csv")
    assert str(info.value) == (
        "runs.csv: column 'loss', lines 14, 87 (2 of 240): loss must be a finite number > 0 "
        "(nats/token); got -0.12, nan. Remove these rows or fix the units (nats/token)."
    )
    assert info.value.path == "runs.csv"
    assert info.value.column == "loss"
    assert info.value.rows == (14, 87)


def test_more_than_five_rows_are_summarised():
    rows = [f"{7e7 * (i + 1)!r},{1.4e9 * (i + 1)!r},-1" for i in range(8)]
    err = error_of(csv_text("N,D,loss", rows))
    assert "lines 2, 3, 4, 5, 6 and 3 more (8 of 8)" in str(err)
    assert err.rows == tuple(range(2, 10))
    assert "got -1, -1, -1, -1, -1, ..." in str(err)


def test_all_problems_are_collected():
    rows = good_rows()
    rows[1] = "7e7,lots,3.2"
    rows[3] = "4e8,3.2e10,-5"
    err = error_of(csv_text("N,D,loss", rows))
    text = str(err)
    assert text.startswith("runs.csv: 2 problems in 5 rows:")
    assert "column 'D', line 3 (1 of 5): D must be a number" in text
    assert "got 'lots'" in text
    assert "column 'loss', line 5 (1 of 5): loss must be a finite number > 0" in text
    # .column/.rows locate the first problem
    assert err.column == "D"
    assert err.rows == (3,)


# ------------------------------------------------------------------ each check


def one_bad(header: str, bad: str, index: int = 2) -> str:
    """Five good rows with row ``index`` replaced: it is on line ``index + 2``."""
    extra = header.split(",")[3:]
    fill = {
        "unique_tokens": "1e8",
        "loss_sd": "0.01",
        "checkpoint_fraction": "1",
        "bytes_per_token": "4.2",
        "N_non_embedding": "5e7",
        "C": "1e18",
        "group": "a",
    }
    rows = [r + "".join("," + fill[c] for c in extra) for r in good_rows()]
    rows[index] = bad
    return csv_text(header, rows)


CASES = [
    # (header, bad row, column, message fragment)
    ("N,D,loss", "4e8,8e9,abc", "loss", "loss must be a number (nats/token); got 'abc'"),
    ("N,D,loss", "1.5e9 params,8e9,3", "N", "got '1.5e9 params'"),
    ("N,D,loss", "4e8,8e9,", "loss", "loss must be a finite number > 0 (nats/token); got nan"),
    ("N,D,loss", "4e8,8e9,nan", "loss", "got nan"),
    ("N,D,loss", "4e8,inf,3", "D", "D must be a finite number > 0 (training tokens); got inf"),
    ("N,D,loss", "4e8,8e9,-inf", "loss", "got -inf"),
    ("N,D,loss", "0,8e9,3", "N", "N must be a finite number > 0 (total parameters); got 0"),
    ("N,D,loss", "-4e8,8e9,3", "N", "got -4e+08"),
    ("N,D,loss", "4e8,0,3", "D", "D must be a finite number > 0"),
    ("N,D,loss", "4e8,8e9,0", "loss", "loss must be a finite number > 0"),
    ("N,D,loss", "4e8,8e9,27.3", "loss", "loss above 20 nats/token is implausible; got 27.3"),
    ("N,D,loss", "4e8,8e9,1e300", "loss", "perplexity"),
    ("N,D,loss,loss_sd", "4e8,8e9,3,-0.1", "loss_sd", "loss_sd must be a finite number >= 0"),
    ("N,D,loss,unique_tokens", "4e8,8e9,3,0", "unique_tokens", "must be a finite number > 0"),
    (
        "N,D,loss,unique_tokens",
        "4e8,8e9,3,8.1e9",
        "unique_tokens",
        "unique_tokens must be <= D (a run cannot see more unique tokens than tokens); "
        "got unique_tokens = 8.1e+09 with D = 8e+09",
    ),
    ("N,D,loss,checkpoint_fraction", "4e8,8e9,3,0", "checkpoint_fraction", "in (0, 1]"),
    ("N,D,loss,checkpoint_fraction", "4e8,8e9,3,1.01", "checkpoint_fraction", "got 1.01"),
    ("N,D,loss,bytes_per_token", "4e8,8e9,3,-4", "bytes_per_token", "> 0 (bytes/token)"),
    ("N,D,loss,N_non_embedding", "4e8,8e9,3,5e8", "N_non_embedding", "must be <= N"),
    ("N,D,loss,C", "4e8,8e9,3,-1", "C", "C must be a finite number > 0 (FLOP)"),
    (
        "N,D,loss",
        "4e8,8,3",
        "D",
        "D is less than N/1000 (under 0.001 tokens per parameter), which looks like a unit "
        "error; got D = 8 with N = 4e+08. Is D in millions or billions of tokens?",
    ),
    ("N,D,loss", "0.4,8e9,3", "N", "N below 1000 parameters looks like a unit error; got 0.4"),
    ("N,D,loss", "True,8e9,3", "N", "N must be a number (total parameters); got 'True'"),
]


@pytest.mark.parametrize(("header", "bad", "column", "fragment"), CASES)
def test_each_check_names_column_and_line(header, bad, column, fragment):
    err = error_of(one_bad(header, bad))
    assert err.column == column
    assert err.rows == (4,)
    assert err.path == "runs.csv"
    text = str(err)
    assert text.startswith(f"runs.csv: column '{column}', line 4 (1 of 5): ")
    assert fragment in text


def test_unique_tokens_equal_to_d_is_fine():
    runs = load_text(one_bad("N,D,loss,unique_tokens", "4e8,8e9,3,8e9"))
    assert runs.loc[2, "unique_tokens"] == 8e9


def test_missing_required_columns_list_present_ones():
    err = error_of(csv_text("N,tokens", ["7e7,1.4e9"]))
    text = str(err)
    assert err.column == "D"
    assert err.rows == ()
    assert "column 'D': required column 'D' is missing; the table has 'N', 'tokens'" in text
    assert "column 'loss': required column 'loss' is missing" in text
    assert "Pass columns={'tokens': 'D'}" in text


def test_header_only_is_empty_table():
    err = error_of("N,D,loss\n")
    assert str(err) == (
        "runs.csv: the table has no rows (only a header?); add at least one training run."
    )


@pytest.mark.parametrize("text", ["", "\n\n", "   "])
def test_empty_file(text):
    err = error_of(text)
    assert "the file is empty" in str(err)


def test_duplicate_rows_are_located():
    rows = good_rows()
    rows.insert(3, rows[1])
    rows.append(rows[1])
    err = error_of(csv_text("N,D,loss", rows))
    assert err.column is None
    assert err.rows == (5, 8)
    assert "lines 5, 8 (2 of 7): exact duplicates of earlier rows" in str(err)
    assert "line 5 repeats line 3; line 8 repeats line 3" in str(err)


def test_duplicate_header_names():
    err = error_of(csv_text("N,D,loss,loss", [r + ",3" for r in good_rows()]))
    assert err.column == "loss"
    assert "the header names 'loss' 2 times" in str(err)


def test_ragged_lines_are_parse_errors():
    rows = good_rows()
    rows[2] = rows[2] + ",oops"
    err = error_of(csv_text("N,D,loss", rows))
    assert err.rows == (4,)
    assert "line 4 cannot be parsed as CSV" in str(err)


def test_every_line_too_long_is_reported():
    err = error_of(csv_text("N,D,loss", [r + ",x" for r in good_rows()]))
    assert err.rows == (2, 3, 4, 5, 6)
    assert "lines 2, 3, 4, 5, 6 (5 of 5): more fields than the header has names (3)" in str(err)


def test_short_lines_are_missing_values():
    rows = good_rows()
    rows[0] = "7e7,1.4e9"
    err = error_of(csv_text("N,D,loss", rows))
    assert err.column == "loss"
    assert err.rows == (2,)


def test_unterminated_quote():
    err = error_of('N,D,loss\n"7e7,1.4e9,3\n')
    assert "cannot be parsed as CSV" in str(err)


def test_file_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_runs(tmp_path / "nope.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("N,D,loss,source\n7e7,1.4e9,3,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="cannot read the file as UTF-8 text") as info:
        load_runs(bad)
    assert info.value.path == str(bad)
    with pytest.raises(DataError, match="cannot read runs from a int"):
        load_runs(3)  # type: ignore[arg-type]


def test_bytes_stream_with_bom():
    runs = load_runs(io.BytesIO(("\ufeff" + csv_text("N,D,loss", good_rows())).encode()))
    assert list(runs.columns) == ["N", "D", "loss"]


# ------------------------------------------------------------------ groups


def grouped(labels: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "N": [n for n, _, _ in GOOD],
            "D": [d for _, d, _ in GOOD],
            "loss": [loss for _, _, loss in GOOD],
            "corpus": labels,
        }
    )


def test_group_column_must_exist():
    with pytest.raises(DataError) as info:
        validate_runs(grouped(["a"] * 5), group="family")
    assert info.value.column == "family"
    assert "the group column 'family' is not in the table; it has 'N', 'D', 'loss', 'corpus'" in (
        str(info.value)
    )


def test_empty_group_labels():
    with pytest.raises(DataError) as info:
        validate_runs(grouped(["a", "", "a", None, " "]), path="runs.csv", group="corpus")
    assert info.value.rows == (3, 5, 6)
    assert "column 'corpus', lines 3, 5, 6 (3 of 5): group labels must be non-empty" in str(
        info.value
    )


def test_small_groups():
    with pytest.raises(DataError) as info:
        validate_runs(grouped(["a", "b", "a", "c", "a"]), group="corpus", min_group_size=2)
    assert info.value.rows == (1, 3)
    assert "groups with fewer than 2 rows: 'b' (1 row), 'c' (1 row)" in str(info.value)
    runs = validate_runs(grouped(["a", "b", "a", "b", "a"]), group="corpus", min_group_size=2)
    assert runs["corpus"].tolist() == ["a", "b", "a", "b", "a"]


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_min_group_size_must_be_positive_int(size):
    with pytest.raises(ConfigError):
        validate_runs(grouped(["a"] * 5), group="corpus", min_group_size=size)


# ------------------------------------------------------------------ fuzzing

NAMES = [
    "N",
    "D",
    "loss",
    "group",
    "run_id",
    "unique_tokens",
    "loss_sd",
    "checkpoint_fraction",
    "bytes_per_token",
    "N_non_embedding",
    "C",
    "other",
]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-320, max_value=1e300),
    st.sampled_from([0.0, -0.0, 1.0, 7e7, 1.4e9, 3.4, 20.0, 1e3, 1e-9, 1e308, 1e-310]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-(10**400), max_value=10**400),
)
CELLS = st.one_of(
    NUMBERS.map(repr),
    NUMBERS.map(str),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "None", "NA", "True", "1,5", "1e9 ", " 3"]),
    st.sampled_from(["1" * 400, "-" + "9" * 30, "0x1F", "1_000", "\u0661", "1e-400", "2e308"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    st.text(alphabet='0123456789e.,-+"\n\r ', max_size=8),
)


@st.composite
def plausible_rows(draw) -> tuple[list[str], list[list[str]]]:
    """Mostly valid runs (so the success path is exercised), sometimes with one bad cell."""
    header = ["N", "D", "loss"] + draw(
        st.lists(st.sampled_from(["group", "run_id", "loss_sd", "other"]), unique=True)
    )
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        n = draw(st.floats(1e3, 1e13))
        d = n * draw(st.floats(1e-3, 1e4))
        cells = {
            "N": repr(n),
            "D": repr(d),
            "loss": repr(draw(st.floats(1e-3, 20.0))),
            "group": draw(st.sampled_from(["a", "b", "c4", "007"])),
            "run_id": draw(st.text(alphabet="abc123", min_size=1, max_size=4)),
            "loss_sd": repr(draw(st.floats(0.0, 1.0))),
            "other": draw(st.sampled_from(["x", "1", ""])),
        }
        rows.append([cells[c] for c in header])
    if draw(st.booleans()):
        row = draw(st.integers(0, len(rows) - 1))
        col = draw(st.integers(0, len(header) - 1))
        rows[row][col] = draw(CELLS)
    return header, rows


@st.composite
def csv_texts(draw) -> str:
    shape = draw(st.sampled_from(["empty", "header", "table", "table", "plausible", "plausible"]))
    if shape == "plausible":
        header, rows = draw(plausible_rows())
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
        return buffer.getvalue()
    if shape == "empty":
        return draw(st.sampled_from(["", "\n", " \n\n"]))
    header = draw(
        st.one_of(
            st.just(["N", "D", "loss"]),
            st.lists(st.sampled_from(NAMES), min_size=0, max_size=7),
            st.permutations(["N", "D", "loss", "group"]),
        )
    )
    if shape == "header":
        return ",".join(header) + "\n"
    width = len(header)
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=max(0, width - 1), max_size=width + 1),
            min_size=1,
            max_size=8,
        )
    )
    if draw(st.booleans()) and rows:  # duplicate a row
        rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
    if draw(st.booleans()):  # proper quoting
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue()
    return "\n".join(",".join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n"]))


def check_tidy(runs: pd.DataFrame) -> None:
    assert isinstance(runs.index, pd.RangeIndex)
    assert len(runs) > 0
    for column in REQUIRED_COLUMNS:
        values = runs[column].to_numpy()
        assert values.dtype == np.float64
        assert np.all(np.isfinite(values)) and np.all(values > 0)
    assert np.all(runs["loss"].to_numpy() <= MAX_LOSS)
    assert np.all(runs["N"].to_numpy() >= 1e3)
    assert np.all(runs["D"].to_numpy() >= runs["N"].to_numpy() * 1e-3)
    assert not runs.duplicated().any()


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=csv_texts(), as_bytes=st.booleans())
def test_fuzzed_csv_raises_only_data_error(text, as_bytes):
    source = io.BytesIO(text.encode("utf-8")) if as_bytes else io.StringIO(text)
    try:
        runs = load_runs(source)
    except DataError as err:
        assert str(err)
        assert err.path == "<stream>"
        return
    check_tidy(runs)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=60))
def test_fuzzed_bytes_raise_only_data_error(raw):
    try:
        runs = load_runs(io.BytesIO(b"N,D,loss\n" + raw))
    except DataError:
        return
    check_tidy(runs)


OBJECTS = st.one_of(
    NUMBERS,
    st.none(),
    st.booleans(),
    st.text(max_size=4),
    st.just(math.nan),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    cells=st.lists(st.tuples(OBJECTS, OBJECTS, OBJECTS), min_size=0, max_size=6),
    group=st.sampled_from([None, "group", "loss"]),
    min_group_size=st.integers(1, 3),
)
def test_fuzzed_dataframe_raises_only_data_error(cells, group, min_group_size):
    df = pd.DataFrame(cells, columns=["N", "D", "loss"], dtype=object)
    df["group"] = ["a", "b"] * (len(df) // 2) + ["a"] * (len(df) % 2)
    before = df.copy(deep=True)
    try:
        runs = validate_runs(df, group=group, min_group_size=min_group_size)
    except DataError:
        pass
    else:
        check_tidy(runs)
    pd.testing.assert_frame_equal(df, before)
