"""Configuration errors raised by the math layer.

``models`` may not import ``forecast``, so the one error type it needs lives here and
``forecast.errors`` re-exports it as part of the public error hierarchy.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """An unknown law, preset or prior key, or an invalid prior or option value.

    The message lists the valid names, taken from the registry itself.
    """
