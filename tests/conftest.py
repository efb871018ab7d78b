"""Shared, seeded fixtures: synthetic runs from a known law and one small real fit."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from filelock import FileLock

from forecast import FitConfig, SamplerConfig, fit, load, save
from forecast.config import PLAIN_MODEL
from forecast.errors import ConvergenceWarning
from models.laws import chinchilla


def pytest_collection_modifyitems(items):
    """Run the slow end-to-end tests first, keeping file order within each kind.

    Under pytest-xdist the suite lasts as long as its busiest worker; a minute-long test
    started last would run alone at the end while the other worker idles.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every pyplot figure a test leaves open.

    Plot tests return figures without closing them; under pytest-xdist one worker runs
    hundreds of tests, and the 21st open figure makes matplotlib warn (an error here), so
    a later test that draws figures failed depending on the order the workers chose.
    """
    yield
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


DATA = Path(__file__).parent / "data"
SEED = 20260101

#: The law the synthetic runs come from (Besiroglu-like values; group "b" has a higher floor).
TRUE = {"E": 1.80, "A": 480.0, "alpha": 0.35, "B": 2000.0, "beta": 0.37}
TRUE_E_B = 2.10
NOISE_SD = 0.01  # on log loss


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(SEED)


def make_synthetic_runs(seed: int = SEED) -> pd.DataFrame:
    """40 runs: 2 groups × 4 sizes × 5 token multipliers, lognormal noise 1%."""
    gen = np.random.default_rng(seed)
    rows = []
    for group, floor in (("a", TRUE["E"]), ("b", TRUE_E_B)):
        for n in np.geomspace(3e7, 1e9, 4):
            for m in (5, 10, 20, 40, 80):
                d = m * n
                mean = chinchilla.loss(
                    n, d, floor, TRUE["A"], TRUE["alpha"], TRUE["B"], TRUE["beta"]
                )
                rows.append(
                    {
                        "N": n,
                        "D": d,
                        "loss": float(mean * np.exp(gen.normal(0, NOISE_SD))),
                        "group": group,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def synthetic_runs() -> pd.DataFrame:
    return make_synthetic_runs()


SMALL_SAMPLER = SamplerConfig(draws=200, tune=300, chains=2, progress=False)
#: For tests of machinery (caches, log-prior bookkeeping): a set target_accept, never rerun.
MACHINERY_SAMPLER = SamplerConfig(draws=200, tune=300, chains=2, target_accept=0.8, progress=False)


def fit_quietly(runs, **options):
    """Fit with few draws; ESS below the production threshold is expected and not an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(runs, **options)


@pytest.fixture(scope="session")
def small_fit(synthetic_runs, tmp_path_factory):
    """One real seeded fit of the plain model shared by predict, io, plot and CLI tests.

    The plain model (Normal, no discrepancy) keeps exact checks simple (noise SD = sigma,
    no discrepancy variance); ``discrepancy_fit`` is the default model. Do not mutate.

    Under pytest-xdist the first worker to need it fits and saves it; the others load
    the file (``save``/``load`` round-trips bit for bit, see ``tests/test_io.py``) instead
    of repeating the fit.
    """

    def make():
        config = FitConfig(groups="group", **PLAIN_MODEL, sampler=SMALL_SAMPLER, seed=7)
        return fit_quietly(synthetic_runs, config=config)

    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return make()
    path = tmp_path_factory.getbasetemp().parent / "small_fit.nc"  # one per test run
    with FileLock(f"{path}.lock"):
        if path.exists():
            return load(path)
        result = make()
        save(result, path)
        return result


@pytest.fixture(scope="session")
def chinchilla_runs() -> pd.DataFrame:
    return pd.read_csv(DATA / "chinchilla.csv")


@pytest.fixture(scope="session")
def discrepancy_fit(synthetic_runs):
    """A small seeded fit of the default model: Student-t, ``discrepancy="compute"``."""
    config = FitConfig(groups="group", sampler=SMALL_SAMPLER, seed=7)
    return fit_quietly(synthetic_runs, config=config)
