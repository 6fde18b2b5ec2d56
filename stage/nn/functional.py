"""`st.nn.functional`: PyTorch-named functional forms over staged values (or NumPy arrays, eagerly).

Shapes and argument conventions are PyTorch's (NCHW images, Linear weights (out, in)); static
settings (stride, p, training) are Python values, arrays are staged. Layers in `stage.nn` call these.
"""
from __future__ import annotations


import numpy as np

from ..ir import functions as F
from ..ir.functions import (apply, as_rep, cross_entropy, log_softmax, mse_loss, nll_loss, relu,
                            sigmoid, softmax, tanh)
from ..ir.graph import StageTypeError
from .module import current_binding

__all__ = ["linear", "embedding", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "dropout",
           "flatten", "pad", "cross_entropy", "log_softmax", "mse_loss", "nll_loss", "relu",
           "sigmoid", "softmax", "tanh", "leaky_relu", "gelu_tanh"]


def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(a) for a in v)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight (out_features, in_features) as in PyTorch."""
    y = F.matmul(x, F.transpose(as_rep(weight)))
    return y if bias is None else y + bias


def padding_index(padding_idx, num_embeddings):
    """PyTorch's padding_idx, checked and made non-negative (None stays None)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= int(padding_idx) < num_embeddings:
        raise ValueError(f"embedding: padding_idx {padding_idx} is outside the table of "
                         f"{num_embeddings} rows")
    return int(padding_idx) % num_embeddings


def embedding(indices, weight, padding_idx=None):
    """Rows of weight (num_embeddings, dim) at integer indices of any shape. Lookups of row
    `padding_idx` return it but pass no gradient back to it."""
    rows = F.take(weight, indices, axis=0)
    if padding_idx is None:
        return rows
    pad = padding_index(padding_idx, as_rep(weight).shape[0])
    keep = F.expand_dims(F.not_equal(indices, pad), -1)
    return F.where(keep, rows, F.stop_gradient(rows))


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of NCHW x with weight (O, C / groups, KH, KW).

    With groups > 1 the input channels and the filters are split into that many groups, each
    convolved separately (one convolution per group, outputs concatenated in order)."""
    x, weight = as_rep(x), as_rep(weight)
    geo = {"stride": _pair(stride), "padding": _pair(padding)}
    if _pair(dilation) != (1, 1):
        geo["dilation"] = _pair(dilation)
    groups = int(groups)
    if groups == 1:
        y = apply("conv2d", x, weight, **geo)
    else:
        o, c = weight.shape[0], x.shape[1] if x.ndim == 4 else None
        if groups < 1 or o % groups or c is None or c != groups * weight.shape[1]:
            raise StageTypeError(f"conv2d: groups={groups} needs input channels = groups x the "
                                 f"weight's {weight.shape[1]} and filters divisible by groups "
                                 f"(input {x.shape}, weight {weight.shape})")
        cg, og = weight.shape[1], o // groups
        y = F.concatenate([apply("conv2d", x[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og],
                                 **geo) for g in range(groups)], axis=1)
    return y if bias is None else y + F.reshape(bias, (1, -1, 1, 1))


def _pool(op, x, kernel_size, stride, padding):
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    return apply(op, as_rep(x), kernel_size=k, stride=s, padding=_pair(padding))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return _pool("max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling; zero padding counts in the average (PyTorch's count_include_pad=True)."""
    return _pool("avg_pool2d", x, kernel_size, stride, padding)


def flatten(x, start_dim=1, end_dim=-1):
    x = as_rep(x)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return F.reshape(x, x.shape[:s] + (-1,) + x.shape[e + 1:])


def pad(x, pad, value=0.0):
    """PyTorch's constant F.pad: `pad` lists (before, after) pairs starting from the LAST dim."""
    x = as_rep(x)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise StageTypeError(f"pad: needs (before, after) pairs for at most {x.ndim} dims, got {pad}")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return F.pad(x, pairs, value)


def batch_stats(x):
    """Per-channel mean and biased variance of (N, C) or (N, C, ...) over every other axis."""
    axes = (0,) + tuple(range(2, as_rep(x).ndim))
    mean = F.mean(x, axes, keepdims=True)
    var = F.mean(F.square(x - mean), axes, keepdims=True)
    return mean, var, axes


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               eps=1e-5):
    """Normalise per channel (axis 1) with the batch's statistics when training, else with the
    running ones; then scale and shift. (The module updates the running averages.)"""
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


def dropout(x, p=0.5, training=True, key=None, stream=None):
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not
    training. The mask is `random_uniform(seed, counter) >= p`, drawn in native code: `key` is a
    (seed, counter) pair of int64 scalars, by default the training step's (see st.train_step)."""
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


def leaky_relu(x, negative_slope=0.01):
    return F.where(x > 0, x, x * negative_slope)


def gelu_tanh(x):
    return 0.5 * x * (1 + F.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
