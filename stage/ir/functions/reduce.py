"""Reductions along axes: sum, max, min, mean, var, argmax, logsumexp."""
from __future__ import annotations

import builtins

import numpy as np

from ..rep import Rep
from ..types import FLOATS
from .base import DEFAULT_FLOAT, _axes, _axis, _staging, apply, as_rep, astype
from .elementwise import exp, log, negative, square, stop_gradient
from .shape import squeeze


def sum(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    axes = _axes(axis, np.ndim(x))
    if not axes and not isinstance(x, Rep):
        return x
    if isinstance(x, Rep) and not axes:
        return x if x.dtype in FLOATS else astype(x, "int64")
    return apply("sum", x, axis=axes, keepdims=bool(keepdims))


def max(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    axes = _axes(axis, np.ndim(x))
    if not axes:
        return x
    return apply("max", x, axis=axes, keepdims=bool(keepdims))


def min(x, axis=None, keepdims=False):
    return negative(max(negative(x), axis, keepdims))


def mean(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    if (x.dtype if isinstance(x, Rep) else x.dtype.name) not in FLOATS:
        x = astype(x, DEFAULT_FLOAT)
    axes = _axes(axis, np.ndim(x))
    n = int(np.prod([np.shape(x)[a] for a in axes]))
    return sum(x, axes, keepdims) * (1.0 / n if n else float("nan"))


def var(x, axis=None, keepdims=False, ddof=0):
    m = mean(x, axis, keepdims=True)
    axes = _axes(axis, np.ndim(x))
    n = int(np.prod([np.shape(x)[a] for a in axes]))
    # NumPy divides by max(n - ddof, 0): no degrees of freedom give inf or nan, not an error
    return sum(square(x - m), axes, keepdims) / float(builtins.max(n - ddof, 0))


def argmax(x, axis=None):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    return apply("argmax", x, axis=None if axis is None else _axis(axis, np.ndim(x)))


def logsumexp(x, axis=None, keepdims=False):
    m = stop_gradient(max(x, axis, keepdims=True))
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, _axes(axis, np.ndim(x)))
