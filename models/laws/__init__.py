"""Registry of scaling-law forms: one :class:`LawSpec` per law, keyed by name.

Each law lives in its own module (formula, parameter names, support); this module only
collects them so the model builder, ``predict`` and the CLI look laws up in one place. Every
``log_loss`` has the same signature and works on numpy arrays and pytensor tensors alike,
so the formula exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from models.errors import ConfigError
from models.laws import broken, chinchilla, data_constrained, kaplan

__all__ = ["LAWS", "LawSpec", "get_law"]


@dataclass(frozen=True)
class LawSpec:
    r"""A scaling law as the model builder sees it.

    Parameters
    ----------
    name : str
        Registry key.
    params : tuple of str
        Free parameters in the sampled space, e.g. ``("E", "log_A", "alpha", "log_B", "beta")``.
    positive : frozenset of str
        Parameters that must be > 0; the builder pools them multiplicatively (on the log scale).
    centring : mapping of str to (str or None, str)
        Log-scale parameter -> (slope parameter or ``None``, covariate ``"log_N"`` or
        ``"log_D"``). The builder samples :math:`p_c` and sets
        :math:`p = p_c + s \cdot \overline{\text{covariate}}` with :math:`s` the slope
        parameter (1 when ``None``).
    needs_unique_tokens : bool
        Whether ``log_loss`` uses ``log_U`` (unique tokens).
    log_loss : callable
        ``log_loss(log_N, log_D, params, *, xp=np, log_U=None)`` -> :math:`\log L` (L in
        nats/token); params may be scalars, tensors or arrays broadcasting against the data.
    doc : str
        One-line formula for tables.
    """

    name: str
    params: tuple[str, ...]
    positive: frozenset[str]
    centring: Mapping[str, tuple[str | None, str]]
    needs_unique_tokens: bool
    log_loss: Callable
    doc: str


LAWS: dict[str, LawSpec] = {
    "chinchilla": LawSpec(
        name="chinchilla",
        params=chinchilla.PARAMS,
        positive=chinchilla.POSITIVE,
        centring=MappingProxyType(chinchilla.CENTRING),
        needs_unique_tokens=False,
        log_loss=chinchilla.log_loss,
        doc=chinchilla.FORMULA,
    ),
    "chinchilla_broken": LawSpec(
        name="chinchilla_broken",
        params=broken.PARAMS,
        positive=broken.POSITIVE,
        centring=MappingProxyType(broken.CENTRING),
        needs_unique_tokens=False,
        log_loss=broken.log_loss,
        doc=broken.FORMULA,
    ),
    "kaplan": LawSpec(
        name="kaplan",
        params=kaplan.PARAMS,
        positive=kaplan.POSITIVE,
        centring=MappingProxyType(kaplan.CENTRING),
        needs_unique_tokens=False,
        log_loss=kaplan.log_loss,
        doc=kaplan.FORMULA,
    ),
    "kaplan_floor": LawSpec(
        name="kaplan_floor",
        params=kaplan.FLOOR_PARAMS,
        positive=kaplan.FLOOR_POSITIVE,
        centring=MappingProxyType(kaplan.CENTRING),
        needs_unique_tokens=False,
        log_loss=kaplan.log_loss_floor,
        doc=kaplan.FLOOR_FORMULA,
    ),
    "data_constrained": LawSpec(
        name="data_constrained",
        params=data_constrained.PARAMS,
        positive=data_constrained.POSITIVE,
        centring=MappingProxyType(data_constrained.CENTRING),
        needs_unique_tokens=True,
        log_loss=data_constrained.log_loss,
        doc=data_constrained.FORMULA,
    ),
}


def get_law(name: str) -> LawSpec:
    """Look up a law by name.

    Parameters
    ----------
    name : str
        A key of :data:`LAWS`.

    Returns
    -------
    LawSpec
        The law's specification.

    Raises
    ------
    ConfigError
        If ``name`` is not a key of :data:`LAWS`; the message lists the valid names.

    Examples
    --------
    >>> get_law("chinchilla").params
    ('E', 'log_A', 'alpha', 'log_B', 'beta')
    """
    try:
        return LAWS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown law {name!r}; choose one of {sorted(LAWS)}") from None
