"""Gradient clipping, staged: applied to a dict of gradients inside the compiled step."""
from __future__ import annotations

from typing import Any, Dict

from ..ir import functions as F


def global_norm(grads: Dict[str, Any]) -> Any:
    """The global L2 norm: sqrt of the sum of squares of every gradient, staged.

    Parameters
    ----------
    grads : dict of str to Rep
        Gradients by name.

    Returns
    -------
    Rep
        A float scalar.
    """
    return F.sqrt(sum(F.sum(F.square(g)) for g in grads.values()))


def clip_grad_norm(grads: Dict[str, Any], max_norm: Any) -> Dict[str, Any]:
    """All gradients scaled by min(1, max_norm / (norm + 1e-6)), as
    `torch.nn.utils.clip_grad_norm_` (staged; returns new values).

    Parameters
    ----------
    grads : dict of str to Rep
        Gradients by name.
    max_norm : float or Rep
        The largest global norm allowed.

    Returns
    -------
    dict of str to Rep
        The scaled gradients.
    """
    norm = global_norm(grads)
    coef = F.minimum(max_norm / (norm + 1e-6), 1.0)
    return {k: g * F.astype(coef, g.dtype) for k, g in grads.items()}


def clip_grad_value(grads: Dict[str, Any], clip_value: Any) -> Dict[str, Any]:
    """Every gradient element clamped to [-clip_value, clip_value], as
    `torch.nn.utils.clip_grad_value_` (staged; returns new values).

    Parameters
    ----------
    grads : dict of str to Rep
        Gradients by name.
    clip_value : float or Rep
        The bound.

    Returns
    -------
    dict of str to Rep
        The clamped gradients.
    """
    return {k: F.clip(g, -clip_value, clip_value) for k, g in grads.items()}
