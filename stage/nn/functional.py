"""`st.nn.functional`: PyTorch-named functional forms over staged values (or NumPy arrays, eagerly).

Shapes and argument conventions are PyTorch's (NCHW images, Linear weights (out, in)); static
settings (stride, p, training) are Python values, arrays are staged. Layers in `stage.nn` call these.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..ir import functions as F
from ..ir.functions import (apply, as_rep, cross_entropy, log_softmax, mse_loss, nll_loss, relu,
                            sigmoid, softmax, tanh)
from ..ir.graph import StageTypeError
from ..ir.hints import ArrayLike
from ..ir.rep import Rep
from .binding import current_binding
from .convolution import unbatched

IntOrPair = Union[int, Tuple[int, int]]

__all__ = ["linear", "embedding", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d",
           "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "interpolate", "batch_norm",
           "dropout", "flatten", "pad", "cross_entropy", "log_softmax", "mse_loss", "nll_loss",
           "relu", "sigmoid", "softmax", "tanh", "leaky_relu", "gelu_tanh", "gelu", "silu", "elu",
           "softplus", "mish", "hardtanh", "layer_norm", "rms_norm", "group_norm",
           "scaled_dot_product_attention"]


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)


def linear(x: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None) -> Rep:
    """y = x weight^T + bias, as `torch.nn.functional.linear`.

    Parameters
    ----------
    x : Rep or array_like
        (N, *, in_features).
    weight : Rep or array_like
        (out_features, in_features), PyTorch's layout.
    bias : Rep or array_like, optional
        (out_features,).

    Returns
    -------
    Rep
        (N, *, out_features).
    """
    y = F.matmul(x, F.transpose(as_rep(weight)))
    return y if bias is None else y + bias


def padding_index(padding_idx: Optional[int], num_embeddings: int) -> Optional[int]:
    """PyTorch's padding_idx, checked and made non-negative (None stays None).

    Raises
    ------
    ValueError
        The index is outside the table.
    """
    if padding_idx is None:
        return None
    if not -num_embeddings <= int(padding_idx) < num_embeddings:
        raise ValueError(f"embedding: padding_idx {padding_idx} is outside the table of "
                         f"{num_embeddings} rows")
    return int(padding_idx) % num_embeddings


def embedding(indices: ArrayLike, weight: ArrayLike, padding_idx: Optional[int] = None) -> Rep:
    """Rows of `weight` at integer `indices`, as `torch.nn.functional.embedding`.

    Parameters
    ----------
    indices : Rep or array_like
        Integers of any shape (*).
    weight : Rep or array_like
        (num_embeddings, embedding_dim).
    padding_idx : int, optional
        Lookups of this row return it but pass no gradient back to it.

    Returns
    -------
    Rep
        (*, embedding_dim).
    """
    rows = F.take(weight, indices, axis=0)
    if padding_idx is None:
        return rows
    pad = padding_index(padding_idx, as_rep(weight).shape[0])
    keep = F.expand_dims(F.not_equal(indices, pad), -1)
    return F.where(keep, rows, F.stop_gradient(rows))


def _pool(op, x, kernel_size, stride, padding):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    return apply(op, as_rep(x), kernel_size=k, stride=s, padding=_pair(padding))


@unbatched(2)
def max_pool2d(x: ArrayLike, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None,
               padding: IntOrPair = 0) -> Rep:
    """Max pooling over NCHW images, as `torch.nn.functional.max_pool2d`.

    Parameters
    ----------
    x : Rep or array_like
        (N, C, H, W), or (C, H, W) unbatched.
    kernel_size : int or (int, int)
        The window.
    stride : int or (int, int), optional
        Default: `kernel_size`.
    padding : int or (int, int), default 0
        Implicit padding, never selected.

    Returns
    -------
    Rep
        (N, C, H_out, W_out), see `st.nn.MaxPool2d`.
    """
    return _pool("max_pool2d", x, kernel_size, stride, padding)


@unbatched(2)
def avg_pool2d(x: ArrayLike, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None,
               padding: IntOrPair = 0) -> Rep:
    """Average pooling over NCHW images, as `torch.nn.functional.avg_pool2d`; zero padding counts
    in the average (PyTorch's count_include_pad=True).

    Parameters
    ----------
    x : Rep or array_like
        (N, C, H, W), or (C, H, W) unbatched.
    kernel_size : int or (int, int)
        The window.
    stride : int or (int, int), optional
        Default: `kernel_size`.
    padding : int or (int, int), default 0
        Zero padding on both sides.

    Returns
    -------
    Rep
        (N, C, H_out, W_out).
    """
    return _pool("avg_pool2d", x, kernel_size, stride, padding)


def flatten(x: ArrayLike, start_dim: int = 1, end_dim: int = -1) -> Rep:
    """Dimensions start_dim..end_dim merged into one, as `torch.flatten`.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    start_dim : int, default 1
        The first dimension merged.
    end_dim : int, default -1
        The last dimension merged.

    Returns
    -------
    Rep
        A reshaped view.
    """
    x = as_rep(x)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return F.reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def pad(x: ArrayLike, pad: Sequence[int], value: float = 0.0) -> Rep:
    """Constant padding, as `torch.nn.functional.pad`: `pad` lists (before, after) pairs
    starting from the LAST dimension.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    pad : sequence of int
        ``(last_before, last_after, second_last_before, ...)``, an even number of widths for at
        most `x.ndim` dimensions.
    value : float, default 0.0
        The padding value.

    Returns
    -------
    Rep
        The padded array.

    Raises
    ------
    StageTypeError
        An odd number of widths, or more pairs than dimensions.
    """
    x = as_rep(x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise StageTypeError(f"pad: needs (before, after) pairs for at most {x.ndim} dims, got {pad}")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return F.pad(x, pairs, constant_values=value)


def batch_stats(x: ArrayLike) -> Tuple[Rep, Rep, Tuple[int, ...]]:
    """Per-channel mean and biased variance of (N, C) or (N, C, ...) over every other axis.

    Returns
    -------
    (Rep, Rep, tuple of int)
        The mean and variance (with the reduced axes kept, size 1) and the reduced axes.
    """
    axes = (0,) + tuple(range(2, as_rep(x).ndim))
    mean = F.mean(x, axes, keepdims=True)
    var = F.mean(F.square(x - mean), axes, keepdims=True)
    return mean, var, axes


def batch_norm(x: ArrayLike, running_mean: Optional[ArrayLike], running_var: Optional[ArrayLike],
               weight: Optional[ArrayLike] = None, bias: Optional[ArrayLike] = None,
               training: bool = False, eps: float = 1e-5) -> Rep:
    """Batch normalization per channel (axis 1), as `torch.nn.functional.batch_norm`.

    Uses the batch's statistics when `training`, else the running ones; then scales and shifts.
    Unlike PyTorch's, it does not update the running averages (`st.nn.BatchNorm1d` does).

    Parameters
    ----------
    x : Rep or array_like
        (N, C) or (N, C, ...).
    running_mean, running_var : Rep or array_like or None
        (C,); used when not training.
    weight, bias : Rep or array_like, optional
        (C,) scale and shift.
    training : bool, default False
        Static: normalise with the batch's statistics.
    eps : float, default 1e-5
        Added to the variance.

    Returns
    -------
    Rep
        x's shape.
    """
    x = as_rep(x)
    bshape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean, var, _ = batch_stats(x)
    else:
        mean, var = F.reshape(running_mean, bshape), F.reshape(running_var, bshape)
    y = (x - mean) / F.sqrt(var + eps)
    if weight is not None:
        y = y * F.reshape(weight, bshape)
    if bias is not None:
        y = y + F.reshape(bias, bshape)
    return y


def dropout(x: ArrayLike, p: float = 0.5, training: bool = True,
            key: Optional[Tuple[ArrayLike, ArrayLike]] = None, stream: Optional[int] = None) -> Rep:
    """Zero each element with probability `p` and scale the rest by 1 / (1 - p), as
    `torch.nn.functional.dropout`; the identity when not training.

    The mask is ``random_uniform(seed, counter, stream) >= p``, drawn in native code by a
    counter-based generator (no state to carry): the same key gives the same mask, the native and
    interpreted backends agree bit for bit.

    Parameters
    ----------
    x : Rep or array_like
        Any shape.
    p : float, default 0.5
        Probability of zeroing, in [0, 1).
    training : bool, default True
        Static: False returns x.
    key : (seed, counter), optional
        int64 scalars (staged or static); default: the key of the running `st.train_step`, whose
        counter advances every call.
    stream : int, optional
        Distinguishes several dropouts under one key; default: a new stream per call site.

    Returns
    -------
    Rep
        x's shape and dtype.

    Raises
    ------
    ValueError
        `p` outside [0, 1), or no key in training mode outside a training step.
    """
    if not training or p == 0:
        return x
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = as_rep(x)
    b = current_binding()
    if key is None:
        if b is None or b.rng is None:
            raise ValueError("dropout in training mode needs a random key: run it inside "
                             "st.train_step, or pass key=(seed, counter)")
        key = b.rng
    if stream is None:
        stream = b.next_stream() if b is not None else 0
    seed, counter = (as_rep(k, "int64") for k in key)
    u = apply("random_uniform", seed, counter, shape=x.shape, dtype=x.dtype, stream=int(stream))
    return F.where(u >= p, x * (1.0 / (1.0 - p)), 0)


# re-exported: the functional forms that live in their own modules
from .activations import (elu, gelu, gelu_tanh, hardtanh, leaky_relu, mish, silu,  # noqa: E402
                          softplus)
from .normalize import group_norm, layer_norm, rms_norm  # noqa: E402
from .attention import scaled_dot_product_attention  # noqa: E402
from .convolution import conv1d, conv2d, conv_transpose2d  # noqa: E402
from .resampling import adaptive_avg_pool1d, adaptive_avg_pool2d, interpolate  # noqa: E402
