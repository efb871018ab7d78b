"""Command-line interface ``scaling-forecast``: parse arguments, call one public function.

No logic lives here. Errors a user can fix end a command with a one-line message and a
non-zero exit code, not a traceback; outputs are never overwritten without ``--force``.
Every command registers on the one typer :data:`app` of :mod:`forecast.cli._common` (which
also holds the consoles, exit codes and shared helpers). One module per group of verbs:

* :mod:`forecast.cli.fitting`: fit, inspect, datasets;
* :mod:`forecast.cli.forecasting`: exhaustion, forecast, report;
* :mod:`forecast.cli.studies`: sensitivity, simulate, suggest, backtest.

They are imported below in that order, which is the order ``--help`` lists them in.
"""

from __future__ import annotations

import sys

from forecast.cli import fitting, forecasting, studies  # noqa: F401  (register the commands)
from forecast.cli._common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    """Run the CLI."""
    sys.exit(app())
