r"""The signature and docstring parts every law shares, written once.

Each law module writes its own summary, ``params``, notes and examples; the sections that
are the same for every law (the covariates, ``xp``, the unused ``log_U`` and the returns of
``loss`` and ``log_loss``) stand in its docstrings as placeholders such as ``{log_loss_end}``, which
:func:`shared_doc` fills in from :data:`SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: ``params`` of a ``log_loss``: law parameter name -> value (scalar, array or tensor).
Params = Mapping[str, Any]

_XP = """xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``."""
_UNUSED_LOG_U = """log_U : array_like, optional
        Ignored: the law has no repetition term. Accepted so every law shares one signature."""
_LOG_LOSS_RETURNS = r"""Returns
    -------
    array_like or TensorVariable
        :math:`\log L` with L in nats/token, broadcast shape of the inputs."""
_LOSS_RETURNS = """Returns
    -------
    array_like or TensorVariable
        Loss in nats/token, broadcast over all arguments."""

#: Docstring sections shared by the laws, by placeholder name (indented for a function).
SECTIONS = {
    "log_loss_args": r"""log_N : array_like or TensorVariable
        :math:`\log N`, N in parameters.
    log_D : array_like or TensorVariable
        :math:`\log D`, D in tokens seen (repeats included).
    params : mapping""",
    "xp": _XP,
    "log_loss_returns": _LOG_LOSS_RETURNS,
    "log_loss_end": f"{_XP}\n    {_UNUSED_LOG_U}\n\n    {_LOG_LOSS_RETURNS}",
    "loss_end": f"{_XP}\n\n    {_LOSS_RETURNS}",
}


def shared_doc(func: Callable) -> Callable:
    """Fill the ``{name}`` placeholders of ``func``'s docstring from :data:`SECTIONS`."""
    doc = func.__doc__ or ""
    for name, text in SECTIONS.items():
        doc = doc.replace("{" + name + "}", text)
    func.__doc__ = doc
    return func
