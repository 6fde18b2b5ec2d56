"""Creation, shapes, joins, indexing and in-place updates (`assign`)."""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import StageTypeError, current_scope
from ..rep import Rep
from ..types import canonical_dtype
from .base import (DEFAULT_FLOAT, DEFAULT_INT, _axes, _axis, _common_dtype, _dtype_of, _shape,
                   _staging, _weak_dtype, apply, as_rep, as_value, astype)
from .elementwise import equal


def iota(shape, axis, dtype=DEFAULT_INT):
    """An array whose value at each position is its index along `axis`."""
    shape = tuple(int(d) for d in shape)
    return apply("iota", shape=shape, axis=_axis(axis, len(shape)), dtype=canonical_dtype(dtype))


def full(shape, fill_value, dtype=None):
    shape = _shape(shape)
    dt = canonical_dtype(dtype) if dtype is not None else (
        _dtype_of(fill_value) or _weak_dtype(fill_value))
    if not _staging(fill_value):
        if current_scope() is None:
            return np.full(shape, fill_value, dtype=dt)
    return broadcast_to(as_rep(fill_value, dt), shape)


def zeros(shape, dtype=DEFAULT_FLOAT): return full(shape, 0, dtype)


def ones(shape, dtype=DEFAULT_FLOAT): return full(shape, 1, dtype)


def zeros_like(x, dtype=None): return full(np.shape(x) if not isinstance(x, Rep) else x.shape, 0, dtype or _dtype_of(x))


def ones_like(x, dtype=None): return full(np.shape(x) if not isinstance(x, Rep) else x.shape, 1, dtype or _dtype_of(x))


def full_like(x, v, dtype=None): return full(x.shape, v, dtype or _dtype_of(x))


def one_hot(indices, num_classes, dtype="float32"):     # (PyTorch-like: float32 for the losses)
    idx = as_value(indices)
    return astype(equal(idx[..., None], iota(idx.shape + (num_classes,), -1, idx.dtype)), dtype)


def reshape(x, shape):
    x = as_value(x)
    shape = list(_shape(shape))
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension (shape {tuple(shape)})")
    if shape.count(-1) == 1:
        rest = int(np.prod([d for d in shape if d != -1]))
        if rest == 0:              # as NumPy: -1 next to a 0 is ambiguous
            raise ValueError(f"reshape: cannot reshape an array of size {x.size} into shape "
                             f"{tuple(shape)} (the -1 is ambiguous)")
        shape[shape.index(-1)] = x.size // rest
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return apply("reshape", x, shape=shape)


def transpose(x, axes=None):
    x = as_value(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim) for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return apply("transpose", x, axes=axes)


def swapaxes(a, axis1, axis2):
    a = as_value(a)
    axes = list(range(a.ndim))
    i, j = _axis(axis1, a.ndim), _axis(axis2, a.ndim)
    axes[i], axes[j] = axes[j], axes[i]
    return transpose(a, axes)


def broadcast_to(x, shape):
    x = as_value(x)
    shape = _shape(shape)
    if x.shape == shape:
        return x
    return apply("broadcast_to", x, shape=shape)


def expand_dims(x, axis):
    x = as_value(x)
    a = _axis(axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


def squeeze(x, axis=None):
    x = as_value(x)
    axes = [d for d, n in enumerate(x.shape) if n == 1] if axis is None else _axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise StageTypeError(f"squeeze: axis {a} of shape {x.shape} does not have size 1")
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in axes))


def concatenate(arrays, axis=0):
    reps = [as_value(a) for a in arrays]
    if not reps:
        raise StageTypeError("concatenate needs at least one array")
    dt = _common_dtype(*reps)
    reps = [as_value(r, dt) for r in reps]
    if len(reps) == 1:
        return reps[0]
    return apply("concatenate", *reps, axis=_axis(axis, reps[0].ndim))


def stack(arrays, axis=0):
    from .creation import asarray       # elements may be nested lists of staged values
    if isinstance(arrays, Rep):
        arrays = list(arrays)
    reps = [asarray(a) for a in arrays]
    if not reps:
        raise StageTypeError("stack needs at least one array")
    shapes = {np.shape(r) for r in reps}
    if len(shapes) > 1:
        raise StageTypeError(f"stack: all input arrays must have the same shape (got "
                             f"{sorted(shapes)})")
    a = _axis(axis, np.ndim(reps[0]) + 1)
    return concatenate([expand_dims(r, a) for r in reps], a)


def take(a, indices, axis=None, out=None, mode="raise"):
    """NumPy's take: along `axis`, or from the flattened array without one."""
    if out is not None or mode != "raise":
        raise StageTypeError("take: only out=None and mode='raise' are supported (an index out "
                             "of range raises IndexError)")
    a = as_value(a)
    idx = as_value(indices)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return apply("take", a, idx, axis=_axis(axis, a.ndim))


def scatter_add(x, indices, values, axis=0):
    x = as_value(x)
    return apply("scatter_add", x, as_value(indices), as_value(values, x.dtype),
                 axis=_axis(axis, x.ndim))


def getitem(x, key):
    """x[key] (see `indexing.getitem`: basic and advanced indexing as NumPy defines them)."""
    from .indexing import getitem as _getitem
    return _getitem(x, key)


def getitem_spec(x, dyn, spec):
    if builtins.all(s == ("slice", 0, n, 1) for s, n in zip(spec, x.shape)) and len(spec) == x.ndim:
        return x
    return apply("getitem", x, *dyn, spec=spec)


def setitem_add(x, v, dyn, spec):
    """`x` with `v` added at the positions selected by a normalised index (see `_index_key`)."""
    x = as_value(x)
    return apply("setitem_add", x, as_value(v, x.dtype), *dyn, spec=spec)


def assign(x, value):
    """Write `value` into the input array `x` of the compiled function, in place (its last use).
    This is how a training step updates parameters and optimizer state without copies."""
    x = as_rep(x)
    apply("store", x, as_rep(value, x.dtype) if not isinstance(value, Rep) else value)
