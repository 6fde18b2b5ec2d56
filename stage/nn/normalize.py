"""Functional normalisations over the trailing dimensions or channel groups, as PyTorch's
`layer_norm`, `rms_norm` and `group_norm` (re-exported by `stage.nn.functional`).

Each is written over reductions and elementwise ops, so the gradient comes from the op table's
rules and the generated code fuses the elementwise parts into the reductions' neighbours.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..ir import functions as F
from ..ir.graph import StageTypeError
from ..ir.hints import ArrayLike
from ..ir.rep import Rep

Shape = Union[int, Sequence[int]]

__all__ = ["layer_norm", "rms_norm", "group_norm", "normalized_shape"]


def _arr(x):
    return x if isinstance(x, Rep) else np.asarray(x)


def normalized_shape(shape: Shape) -> Tuple[int, ...]:
    """PyTorch's `normalized_shape` argument as a tuple (an int is a 1-tuple).

    Parameters
    ----------
    shape : int or sequence of int
        The trailing dimensions normalised over.

    Returns
    -------
    tuple of int
    """
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)


def _trailing(name, x, shape):
    shape = normalized_shape(shape)
    k = len(shape)
    if k == 0 or np.ndim(x) < k or tuple(np.shape(x)[-k:]) != shape:
        raise StageTypeError(f"{name}: the input's trailing dimensions must be normalized_shape "
                             f"{shape}, got an input of shape {tuple(np.shape(x))}")
    return tuple(range(np.ndim(x) - k, np.ndim(x)))


def layer_norm(input: ArrayLike, normalized_shape: Shape, weight: Optional[ArrayLike] = None,
               bias: Optional[ArrayLike] = None, eps: float = 1e-5) -> Rep:
    """Layer normalisation over the trailing `normalized_shape` dimensions, as
    `torch.nn.functional.layer_norm`: (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, with the
    biased variance.

    Parameters
    ----------
    input : Rep or array_like
        (*, *normalized_shape).
    normalized_shape : int or sequence of int
        The trailing dimensions the statistics are taken over.
    weight, bias : Rep or array_like, optional
        Of shape `normalized_shape`: the elementwise scale and shift.
    eps : float, default 1e-5
        Added to the variance.

    Returns
    -------
    Rep
        input's shape.

    Raises
    ------
    StageTypeError
        The input's trailing dimensions are not `normalized_shape`.
    """
    x = _arr(input)
    axes = _trailing("layer_norm", x, normalized_shape)
    mean = F.mean(x, axes, keepdims=True)
    xc = x - mean
    var = F.mean(F.square(xc), axes, keepdims=True)
    y = xc * (1.0 / F.sqrt(var + eps))
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def rms_norm(input: ArrayLike, normalized_shape: Shape, weight: Optional[ArrayLike] = None,
             eps: Optional[float] = None) -> Rep:
    """Root-mean-square normalisation, as `torch.nn.functional.rms_norm`:
    x / sqrt(mean(x^2) + eps) * weight over the trailing `normalized_shape` dimensions.

    Parameters
    ----------
    input : Rep or array_like
        (*, *normalized_shape).
    normalized_shape : int or sequence of int
        The trailing dimensions the mean is taken over.
    weight : Rep or array_like, optional
        Of shape `normalized_shape`: the elementwise scale.
    eps : float, optional
        Added to the mean square; default: the machine epsilon of the input's dtype
        (`numpy.finfo(dtype).eps`), as PyTorch.

    Returns
    -------
    Rep
        input's shape.

    Raises
    ------
    StageTypeError
        The input's trailing dimensions are not `normalized_shape`.
    """
    x = _arr(input)
    axes = _trailing("rms_norm", x, normalized_shape)
    if eps is None:
        eps = float(np.finfo(np.dtype(x.dtype)).eps)
    y = x * (1.0 / F.sqrt(F.mean(F.square(x), axes, keepdims=True) + eps))
    return y if weight is None else y * weight


def group_norm(input: ArrayLike, num_groups: int, weight: Optional[ArrayLike] = None,
               bias: Optional[ArrayLike] = None, eps: float = 1e-5) -> Rep:
    """Group normalisation, as `torch.nn.functional.group_norm`: the C channels of (N, C, *) are
    split into `num_groups` groups, each normalised over its channels and positions (biased
    variance), then scaled and shifted per channel.

    Parameters
    ----------
    input : Rep or array_like
        (N, C, *), C divisible by `num_groups`.
    num_groups : int
        The number of groups.
    weight, bias : Rep or array_like, optional
        (C,): the per-channel scale and shift.
    eps : float, default 1e-5
        Added to the variance.

    Returns
    -------
    Rep
        input's shape.

    Raises
    ------
    StageTypeError
        Fewer than 2 dimensions, or C not divisible by `num_groups`.
    """
    x = _arr(input)
    shape = tuple(np.shape(x))
    if len(shape) < 2 or num_groups < 1 or shape[1] % num_groups:
        raise StageTypeError(f"group_norm: needs (N, C, *) with C divisible by num_groups="
                             f"{num_groups}, got an input of shape {shape}")
    n, c = shape[:2]
    g = F.reshape(x, (n, num_groups, -1))
    mean = F.mean(g, 2, keepdims=True)
    gc = g - mean
    var = F.mean(F.square(gc), 2, keepdims=True)
    y = F.reshape(gc * (1.0 / F.sqrt(var + eps)), shape)
    cshape = (1, c) + (1,) * (len(shape) - 2)
    if weight is not None:
        y = y * F.reshape(weight, cshape)
    return y if bias is None else y + F.reshape(bias, cshape)
