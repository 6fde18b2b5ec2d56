"""Activation functions with PyTorch's names, arguments and numerics, written over the NumPy-named
functions (each is one fused elementwise loop in the generated code, forward and backward).

Where a branch of a `where` could overflow (exp of a large input), its input is clamped first, so
the gradient of the branch not taken is 0 rather than 0 * inf = NaN.
"""
from __future__ import annotations

import numpy as np

from ..ir import functions as F
from ..ir.hints import ArrayLike
from ..ir.rep import Rep

__all__ = ["gelu", "silu", "elu", "softplus", "mish", "hardtanh", "leaky_relu", "gelu_tanh"]


def _arr(x):
    """A staged value as it is; anything else as a NumPy array (the functions then run eagerly)."""
    return x if isinstance(x, Rep) else np.asarray(x)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Rep:
    """x where x > 0, else negative_slope * x, as `torch.nn.functional.leaky_relu`.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    negative_slope : float, default 0.01
        The slope for negative inputs.

    Returns
    -------
    Rep
        x's shape.
    """
    x = _arr(x)
    return F.where(x > 0, x, x * negative_slope)


def gelu_tanh(x: ArrayLike) -> Rep:
    """The tanh approximation of GELU, as ``torch.nn.functional.gelu(x, approximate="tanh")``:
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).

    Parameters
    ----------
    x : Rep or array_like
        Any shape.

    Returns
    -------
    Rep
        x's shape.
    """
    return F.apply("gelu", _arr(x), approximate="tanh")


def gelu(x: ArrayLike, approximate: str = "none") -> Rep:
    """Gaussian error linear unit, as `torch.nn.functional.gelu`: x Phi(x), Phi the standard normal
    distribution function, 0.5 x (1 + erf(x / sqrt(2))).

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    approximate : {"none", "tanh"}, default "none"
        "tanh" uses 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (GPT-2's form).

    Returns
    -------
    Rep
        x's shape.

    Raises
    ------
    ValueError
        An unknown `approximate`.
    """
    if approximate == "tanh":
        return gelu_tanh(x)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return F.apply("gelu", _arr(x), approximate="none")     # one op, its derivative another


def silu(x: ArrayLike) -> Rep:
    """Sigmoid linear unit (swish), x sigmoid(x), as `torch.nn.functional.silu`.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.

    Returns
    -------
    Rep
        x's shape.
    """
    x = _arr(x)
    return x * F.sigmoid(x)


def elu(x: ArrayLike, alpha: float = 1.0) -> Rep:
    """Exponential linear unit, as `torch.nn.functional.elu`: x if x > 0, else
    alpha (exp(x) - 1).

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    alpha : float, default 1.0
        The value the negative branch tends to is -alpha.

    Returns
    -------
    Rep
        x's shape.
    """
    x = _arr(x)
    return F.where(x > 0, x, alpha * F.expm1(F.minimum(x, 0.0)))


def softplus(x: ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> Rep:
    """log(1 + exp(beta x)) / beta, as `torch.nn.functional.softplus`; x itself where
    beta x > threshold (numerical stability, as PyTorch).

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    beta : float, default 1.0
        The sharpness.
    threshold : float, default 20.0
        Above it (in beta x) the function is linear.

    Returns
    -------
    Rep
        x's shape.
    """
    x = _arr(x)
    bx = x * beta if beta != 1 else x
    soft = F.log1p(F.exp(F.minimum(bx, threshold)))
    return F.where(bx > threshold, x, soft * (1.0 / beta) if beta != 1 else soft)


def mish(x: ArrayLike) -> Rep:
    """x tanh(softplus(x)), as `torch.nn.functional.mish`.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.

    Returns
    -------
    Rep
        x's shape.
    """
    x = _arr(x)
    return x * F.tanh(softplus(x))


def hardtanh(x: ArrayLike, min_val: float = -1.0, max_val: float = 1.0) -> Rep:
    """x clamped to [min_val, max_val], as `torch.nn.functional.hardtanh`.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    min_val : float, default -1.0
        The lower bound.
    max_val : float, default 1.0
        The upper bound.

    Returns
    -------
    Rep
        x's shape.

    Raises
    ------
    ValueError
        max_val < min_val.
    """
    if max_val < min_val:
        raise ValueError(f"hardtanh: max_val ({max_val}) must not be below min_val ({min_val})")
    return F.clip(_arr(x), min_val, max_val)
