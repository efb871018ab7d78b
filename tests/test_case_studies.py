"""The case-study notebooks: each ``.py``/``.ipynb`` pair in sync, each runs in FAST mode.

The jupytext percent-format ``case_studies/NN_name.py`` files are the source; the paired
``.ipynb`` (written with ``jupytext --sync``, outputs of a full run allowed) must hold the
same cells. Executing (slow; they run in CI): each notebook's first cell (tagged
``parameters``) is replaced by ``FAST = True`` and a temporary ``FIGURE_DIR``; the
notebook, read from its ``.py``, runs with nbclient in ``case_studies/`` (its relative
paths and ``_setup`` are relative to it) and the executed copy is written to
``tmp_path``, never over the committed notebook. The last cell must display the
notebook's answer sentence.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("ipykernel")

CASE_STUDIES = Path(__file__).resolve().parents[1] / "case_studies"

#: Notebook -> (README figure it writes, words its answer sentence must contain).
NOTEBOOKS = {
    "01_chinchilla_bayesian": (
        "01_chinchilla_bayesian.png",
        ("posterior medians are E =", "tokens/parameter", "times wider than Hoffmann"),
    ),
    "02_loss_at_10T": (
        "02_loss_at_10T.png",
        ("is forecast to reach", "nats/token", "10x more compute buys only"),
    ),
    "03_running_out_of_text": (
        "03_running_out_of_text.png",
        ("more than the stock", "reaches the stock in", "Villalobos"),
    ),
    "04_sensitivity": (
        "04_sensitivity.png",
        ("moves the 10T-parameter loss forecast most", "baseline forecast of"),
    ),
    "05_saved_posteriors": (
        "05_saved_posteriors.png",
        ("identical draws: True", "alpha medians are", "pool of both"),
    ),
    "06_backtests": (
        "06_backtests.png",
        ("our 90% posterior predictive intervals contained", "held-out runs"),
    ),
    "07_next_run": (
        "07_next_run.png",
        ("the suggested next run is", "90% interval of the 10T-parameter loss", "expected"),
    ),
    "08_generations": (
        "08_generations.png",
        (
            "effective-compute multiplier per recipe",
            "halving time of",
            "Ho et al.",
            "10T-parameter model",
            "years of progress",
        ),
    ),
    "09_population_prior": (
        "09_population_prior.png",
        (
            "population predictive contains",
            "published alpha values",
            "tokens/parameter at 1e13 parameters",
            "published compute-optimal fits",
            "the population prior",
        ),
    ),
}
MAX_FIGURE_BYTES = 150_000


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    """What a pair must agree on: each cell's type, source and tags."""
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def test_every_notebook_is_tested():
    sources = {p.stem for p in CASE_STUDIES.glob("[0-9][0-9]_*.py")}
    assert sources == set(NOTEBOOKS)
    assert {p.stem for p in CASE_STUDIES.glob("*.ipynb")} == sources


@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_py_and_ipynb_are_in_sync(stem):
    """The .ipynb holds exactly the cells of its .py source (run ``jupytext --sync``)."""
    source = jupytext.read(CASE_STUDIES / f"{stem}.py")
    paired = nbformat.read(CASE_STUDIES / f"{stem}.ipynb", as_version=4)
    assert paired.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
    assert _cells(paired) == _cells(source), (
        f"case_studies/{stem}.ipynb is out of sync with {stem}.py: run "
        f"`jupytext --sync case_studies/{stem}.py`"
    )


def _answer(cell) -> str:
    """The markdown (or plain text) a code cell displayed."""
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        data = output.get("data", {})
        texts.append(data.get("text/markdown", data.get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.parametrize("stem", list(NOTEBOOKS))
def test_case_study_runs_in_fast_mode(stem, tmp_path):
    figure, phrases = NOTEBOOKS[stem]
    nb = jupytext.read(CASE_STUDIES / f"{stem}.py")
    first = nb.cells[0]
    assert "parameters" in first.metadata.get("tags", []), "first cell must be tagged parameters"
    assert "FAST = False" in first.source, "notebooks default to the full run"
    first.source = f"FAST = True\nFIGURE_DIR = {str(tmp_path)!r}\n"
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(CASE_STUDIES)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        nbformat.write(nb, tmp_path / f"{stem}.ipynb")
    print(f"{stem}: FAST run {time.perf_counter() - start:.0f} s")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    answer = _answer(nb.cells[-1])
    print(answer)
    assert answer.startswith("**Answer.**")
    for phrase in phrases:
        assert phrase in answer, phrase
    # the numbers are computed: no unformatted placeholders, and real numbers present
    assert "{" not in answer and "nan" not in answer.lower()
    assert len(re.findall(r"\d+\.\d+", answer)) >= 3
    saved = tmp_path / figure
    assert saved.exists(), f"{stem} did not write its README figure {figure}"
    assert 0 < saved.stat().st_size <= MAX_FIGURE_BYTES
    committed = CASE_STUDIES / "figures" / figure
    if committed.exists():
        assert committed.stat().st_size <= MAX_FIGURE_BYTES
