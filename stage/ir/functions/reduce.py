"""Reductions along axes with NumPy's signatures (`axis`, `dtype`, `keepdims`, `initial`, `where`):
sum, prod, max/amax, min/amin, mean, var, std, argmax, argmin, logsumexp."""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep
from ..types import FLOATS
from .base import DEFAULT_FLOAT, _axes, _axis, _staging, apply, as_rep, as_value, astype
from .elementwise import (exp, log, logical_not, maximum, minimum, negative, sqrt, square,
                          stop_gradient, subtract)
from .elementwise import where as _select      # (the reductions' own `where=` masks shadow it)
from .shape import broadcast_to, full, reshape, squeeze


def _value(x, dtype=None):
    """x as a staged value (while staging) or a NumPy array, converted to dtype if given."""
    return as_value(x, dtype)


def _no_out(name, out):
    if out is not None:
        raise StageTypeError(f"{name}: out= is not supported (staged values are immutable: use the "
                             f"result, or st.assign to write into an input array)")


def _dtype_name(x):
    return x.type.dtype if isinstance(x, Rep) else x.dtype.name


def _count(x, axes):
    return int(np.prod([np.shape(x)[a] for a in axes]))


def _reduce(op, x, axes, keepdims):
    if not axes:         # nothing reduced (a 0-d array, or axis=()): the op's dtype rule still holds
        return x if _dtype_name(x) in FLOATS else astype(x, "int64")
    return apply(op, x, axis=axes, keepdims=bool(keepdims))


def _finish(out, dtype):
    return out if dtype is None else astype(out, dtype)


def sum(x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _no_out("sum", out)
    x = _value(x, dtype)
    axes = _axes(axis, np.ndim(x))
    if where is not True:
        x = _select(where, x, 0)
    s = _reduce("sum", x, axes, keepdims)
    if initial is not None:
        s = s + initial
    return _finish(s, dtype)


def prod(x, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    _no_out("prod", out)
    x = _value(x, dtype)
    axes = _axes(axis, np.ndim(x))
    if where is not True:
        x = _select(where, x, 1)
    p = _reduce("prod", x, axes, keepdims)
    if initial is not None:
        p = p * initial
    return _finish(p, dtype)


def _extremum(name, better, x, axis, out, keepdims, initial, where_):
    _no_out(name, out)
    x = _value(x)
    axes = _axes(axis, np.ndim(x))
    if where_ is not True:
        if initial is None:
            raise StageTypeError(f"{name}: where= needs initial= (the value of an empty selection)")
        x = _select(where_, x, initial)
    if initial is not None and builtins.any(np.shape(x)[a] == 0 for a in axes):
        shape = tuple(1 if d in axes else n for d, n in enumerate(np.shape(x))) if keepdims else \
            tuple(n for d, n in enumerate(np.shape(x)) if d not in axes)
        return full(shape, initial, _dtype_name(x))
    if not axes:
        m = x
    elif name == "max":
        m = apply("max", x, axis=axes, keepdims=bool(keepdims))
    else:                   # the max of an order-reversing map, exact in every dtype
        flip = _REVERSE[_dtype_name(x) if _dtype_name(x) in _REVERSE else "float"]
        m = flip(apply("max", flip(x), axis=axes, keepdims=bool(keepdims)))
    return m if initial is None else better(m, initial)


_REVERSE = {"float": negative, "bool": logical_not,
            "int32": lambda v: subtract(-1, v), "int64": lambda v: subtract(-1, v)}  # (~v: no overflow)


def max(x, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _extremum("max", maximum, x, axis, out, keepdims, initial, where)


def min(x, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _extremum("min", minimum, x, axis, out, keepdims, initial, where)


amax = max
amin = min


def mean(x, axis=None, dtype=None, out=None, keepdims=False, where=True):
    _no_out("mean", out)
    x = _value(x, dtype)
    if _dtype_name(x) not in FLOATS:
        x = astype(x, DEFAULT_FLOAT)
    axes = _axes(axis, np.ndim(x))
    if where is not True:
        w = broadcast_to(as_rep(where, "bool") if _staging(x, where) else np.asarray(where, bool),
                         np.shape(x))
        return sum(x, axes, keepdims=keepdims, where=w) / sum(w, axes, _dtype_name(x),
                                                              keepdims=keepdims)
    n = _count(x, axes)
    return sum(x, axes, keepdims=keepdims) * (1.0 / n if n else float("nan"))


def var(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    _no_out("var", out)
    if correction is not None:
        ddof = correction           # the Array API's name (NumPy 2 accepts both)
    x = _value(x, dtype)
    if _dtype_name(x) not in FLOATS:
        x = astype(x, DEFAULT_FLOAT)
    m = mean(x, axis, keepdims=True)
    axes = _axes(axis, np.ndim(x))
    n = _count(x, axes) - ddof
    # NumPy divides by max(n - ddof, 0): no degrees of freedom give inf or nan, not an error
    return sum(square(x - m), axes, keepdims=keepdims) / float(builtins.max(n, 0))


def std(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    return sqrt(var(x, axis, dtype, out, ddof, keepdims, correction=correction))


def _arg(op, x, axis, out, keepdims):
    _no_out(op, out)
    x = _value(x)
    ax = None if axis is None else _axis(axis, np.ndim(x))
    r = apply(op, x, axis=ax)
    if keepdims:
        r = reshape(r, tuple(1 if ax is None or d == ax else n for d, n in enumerate(np.shape(x))))
    return r


def argmax(x, axis=None, out=None, *, keepdims=False):
    return _arg("argmax", x, axis, out, keepdims)


def argmin(x, axis=None, out=None, *, keepdims=False):
    return _arg("argmin", x, axis, out, keepdims)


def logsumexp(x, axis=None, keepdims=False):
    m = stop_gradient(max(x, axis, keepdims=True))
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, _axes(axis, np.ndim(x)))
