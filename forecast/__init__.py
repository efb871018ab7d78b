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

from forecast.catalog import list_datasets, load_dataset  # noqa: E402
from forecast.config import FitConfig, SamplerConfig  # noqa: E402
from forecast.data import load_runs  # noqa: E402
from forecast.diagnostics import diagnostics  # noqa: E402
from forecast.errors import (  # noqa: E402
    ConfigError,
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    IncompatibleFileError,
)
from forecast.fit import Fit, fit, prior_predictive  # noqa: E402
from forecast.io import load, save  # noqa: E402
from forecast.predict import predict  # noqa: E402
from models.laws import LAWS  # noqa: E402
from models.priors import PRESETS, PriorSpec  # noqa: E402

__all__ = [
    "LAWS",
    "PRESETS",
    "ConfigError",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "Fit",
    "FitConfig",
    "IncompatibleFileError",
    "PriorSpec",
    "SamplerConfig",
    "diagnostics",
    "fit",
    "list_datasets",
    "load",
    "load_dataset",
    "load_runs",
    "predict",
    "prior_predictive",
    "save",
]
