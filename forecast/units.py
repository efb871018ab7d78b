"""Units, constants and thresholds used across the package.

There are no global settings: every default lives here or in a dataclass field.
"""

from __future__ import annotations

import math

import numpy as np

#: Interval probability our bands are judged at (backtests check 90% coverage).
CI_PROB = 0.90
#: Training FLOP per parameter per token, C = 6 N D (forward + backward pass).
FLOP_PER_PARAM_TOKEN = 6.0
#: Convergence thresholds applied to every fit.
RHAT_MAX = 1.01
ESS_BULK_MIN = 400.0
EBFMI_MIN = 0.3
MAX_DIVERGENCES = 0

LOSS_ATTRS = {"units": "nats/token", "long_name": "loss (natural-log cross-entropy)"}
N_ATTRS = {"units": "parameters", "long_name": "total parameters N (embeddings included)"}
D_ATTRS = {"units": "tokens", "long_name": "training tokens D (repeats included)"}
C_ATTRS = {"units": "FLOP", "long_name": "training compute C"}
PROB_ATTRS = {"units": "1", "long_name": "probability"}


def to_bits_per_byte(loss, bytes_per_token):
    r"""Convert a loss in nats/token to bits per byte.

    .. math:: \mathrm{bpb} = \frac{L}{\ln 2 \cdot \mathrm{bytes\_per\_token}}

    Parameters
    ----------
    loss : array_like
        Loss in nats/token.
    bytes_per_token : array_like
        Average UTF-8 bytes per token of the tokenizer on the eval text, > 0.

    Returns
    -------
    numpy.ndarray
        Loss in bits/byte. Losses from different tokenizers are comparable only in this unit.

    Examples
    --------
    >>> round(float(to_bits_per_byte(2.0, 4.0)), 4)
    0.7213
    """
    return np.asarray(loss, dtype=float) / (
        math.log(2.0) * np.asarray(bytes_per_token, dtype=float)
    )


def from_bits_per_byte(bpb, bytes_per_token):
    r"""Convert bits per byte to nats/token, the inverse of :func:`to_bits_per_byte`.

    .. math:: L = \mathrm{bpb} \cdot \ln 2 \cdot \mathrm{bytes\_per\_token}

    Parameters
    ----------
    bpb : array_like
        Loss in bits/byte.
    bytes_per_token : array_like
        Average bytes per token, > 0.

    Returns
    -------
    numpy.ndarray
        Loss in nats/token.

    Examples
    --------
    >>> round(float(from_bits_per_byte(0.7213475, 4.0)), 4)
    2.0
    """
    return np.asarray(bpb, dtype=float) * math.log(2.0) * np.asarray(bytes_per_token, dtype=float)
