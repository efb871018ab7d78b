"""Bayesian forecasting of neural scaling laws.

The public API is what ``__all__`` lists; everything else is internal.

>>> from forecast import fit, predict, load_dataset  # doctest: +SKIP
"""

from __future__ import annotations

import warnings

# pip-installed pytensor may warn that it cannot link a BLAS. Our models are elementwise
# and nutpie compiles them with numba, so the fallback costs little; filter that one
# message (by text) rather than all warnings.
warnings.filterwarnings("ignore", message=".*PyTensor could not link to a BLAS installation.*")

from forecast.allocation import allocate  # noqa: E402
from forecast.averaged import Stack  # noqa: E402
from forecast.config import FitConfig, SamplerConfig  # noqa: E402
from forecast.data.catalog import list_datasets, load_dataset  # noqa: E402
from forecast.data.runs import load_runs  # noqa: E402
from forecast.dataset_trend import fit_dataset_trend  # noqa: E402
from forecast.diagnostics import diagnostics  # noqa: E402
from forecast.errors import (  # noqa: E402
    ConfigError,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    ExtrapolationWarning,
    IncompatibleFileError,
)
from forecast.exhaustion import StockPrior, exhaustion  # noqa: E402
from forecast.fit import Fit, fit, prior_predictive  # noqa: E402
from forecast.generations import (  # noqa: E402
    fit_generations,
    forecast_with_progress,
    generation_summary,
)
from forecast.io import load, save  # noqa: E402
from forecast.population import register as _register_population  # noqa: E402
from forecast.predict import predict, predict_summary  # noqa: E402
from forecast.scenarios import Scenario, forecast, forecast_draws  # noqa: E402
from forecast.studies.backtest import backtest  # noqa: E402
from forecast.studies.design import WeightCollapseWarning, suggest_runs, update  # noqa: E402
from forecast.studies.simulate import ladder, sbc, simulate  # noqa: E402
from forecast.studies.stacking import fit_averaged  # noqa: E402
from forecast.variance import variance_sources  # noqa: E402
from models.laws import LAWS  # noqa: E402
from models.priors import PRESETS, PriorSpec  # noqa: E402

__all__ = [
    "LAWS",
    "PRESETS",
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "ExtrapolationWarning",
    "Fit",
    "FitConfig",
    "IncompatibleFileError",
    "PriorSpec",
    "SamplerConfig",
    "Scenario",
    "Stack",
    "StockPrior",
    "WeightCollapseWarning",
    "allocate",
    "backtest",
    "diagnostics",
    "exhaustion",
    "fit",
    "fit_averaged",
    "fit_dataset_trend",
    "fit_generations",
    "forecast",
    "forecast_draws",
    "forecast_with_progress",
    "generation_summary",
    "ladder",
    "list_datasets",
    "load",
    "load_dataset",
    "load_runs",
    "predict",
    "predict_summary",
    "prior_predictive",
    "save",
    "sbc",
    "simulate",
    "suggest_runs",
    "update",
    "variance_sources",
]

_register_population()  # the stored, hash-checked "population" preset (forecast.population)
