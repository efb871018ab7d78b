"""Registry of scaling-law forms: one :class:`LawSpec` per law, keyed by name.

Each law lives in its own module (formula, parameter names, support); this module only
collects them so the model builder, ``predict`` and the CLI look laws up in one place. Every
``log_loss`` has the same signature and works on numpy arrays and pytensor tensors alike,
so the formula exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
    centre_log_factors : callable or None
        ``centre_log_factors(params, centres, *, xp=np)`` -> logs of the factors that multiply
        :math:`A N^{-\alpha}` and :math:`B D^{-\beta}` at the data centre (``"log_A"``,
        ``"log_B"``), for a law whose terms are more than those power laws (the broken law);
        ``None``: the terms are the power laws.
    centre_slope_factors : callable or None
        ``centre_slope_factors(params, centres, *, xp=np)`` -> by exponent, the factor that
        makes it the term's local slope at the data centre (the broken law); ``None``: the
        exponents are the slopes.
    """

    name: str
    params: tuple[str, ...]
    positive: frozenset[str]
    centring: Mapping[str, tuple[str | None, str]]
    needs_unique_tokens: bool
    log_loss: Callable
    doc: str
    centre_log_factors: Callable | None = None
    centre_slope_factors: Callable | None = None


def _from_module(name: str, module, *, needs_unique_tokens: bool = False) -> LawSpec:
    """Build the spec of a law whose module defines PARAMS, POSITIVE, CENTRING, FORMULA."""
    return LawSpec(
        name=name,
        params=module.PARAMS,
        positive=module.POSITIVE,
        centring=MappingProxyType(module.CENTRING),
        needs_unique_tokens=needs_unique_tokens,
        log_loss=module.log_loss,
        doc=module.FORMULA,
        centre_log_factors=getattr(module, "centre_log_factors", None),
        centre_slope_factors=getattr(module, "centre_slope_factors", None),
    )


_KAPLAN = _from_module("kaplan", kaplan)

LAWS: dict[str, LawSpec] = {
    "chinchilla": _from_module("chinchilla", chinchilla),
    "chinchilla_broken": _from_module("chinchilla_broken", broken),
    "kaplan": _KAPLAN,
    "kaplan_floor": replace(  # Kaplan's law with a floor E: same centring, one more parameter
        _KAPLAN,
        name="kaplan_floor",
        params=kaplan.FLOOR_PARAMS,
        positive=kaplan.FLOOR_POSITIVE,
        log_loss=kaplan.log_loss_floor,
        doc=kaplan.FLOOR_FORMULA,
    ),
    "data_constrained": _from_module(
        "data_constrained", data_constrained, needs_unique_tokens=True
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
