"""Creation, shapes, joins, indexing and in-place updates (`assign`)."""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import StageTypeError, current_scope
from ..rep import Rep
from ..types import INTS, canonical_dtype
from .base import (DEFAULT_FLOAT, DEFAULT_INT, _axes, _axis, _common_dtype, _dtype_of, _is_weak,
                   _shape, _staging, _weak_dtype, apply, as_rep, astype)
from .elementwise import equal, greater_equal, less, logical_and, where


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


def one_hot(indices, num_classes, dtype=DEFAULT_FLOAT):
    idx = as_rep(indices)
    return astype(equal(idx[..., None], iota(idx.shape + (num_classes,), -1, idx.dtype)), dtype)


def reshape(x, shape):
    x = as_rep(x)
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
    x = as_rep(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim) for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return apply("transpose", x, axes=axes)


def swapaxes(x, a, b):
    x = as_rep(x)
    axes = list(range(x.ndim))
    a, b = _axis(a, x.ndim), _axis(b, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def broadcast_to(x, shape):
    x = as_rep(x)
    shape = _shape(shape)
    if x.shape == shape:
        return x
    return apply("broadcast_to", x, shape=shape)


def expand_dims(x, axis):
    x = as_rep(x)
    a = _axis(axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


def squeeze(x, axis=None):
    x = as_rep(x)
    axes = [d for d, n in enumerate(x.shape) if n == 1] if axis is None else _axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise StageTypeError(f"squeeze: axis {a} of {x.type} does not have size 1")
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in axes))


def concatenate(arrays, axis=0):
    reps = [as_rep(a) for a in arrays]
    if not reps:
        raise StageTypeError("concatenate needs at least one array")
    dt = _common_dtype(*reps)
    reps = [as_rep(r, dt) for r in reps]
    if len(reps) == 1:
        return reps[0]
    return apply("concatenate", *reps, axis=_axis(axis, reps[0].ndim))


def stack(arrays, axis=0):
    reps = [as_rep(a) for a in arrays]
    if not reps:
        raise StageTypeError("stack needs at least one array")
    a = _axis(axis, reps[0].ndim + 1)
    return concatenate([expand_dims(r, a) for r in reps], a)


def take(a, indices, axis=0):
    a = as_rep(a)
    idx = as_rep(indices)
    return apply("take", a, idx, axis=_axis(axis, a.ndim))


def scatter_add(x, indices, values, axis=0):
    x = as_rep(x)
    return apply("scatter_add", x, as_rep(indices), as_rep(values, x.dtype),
                 axis=_axis(axis, x.ndim))


def _index_key(shape, key):
    """Normalise a basic index key into (spec, staged indices); see ops/shape.py for `spec`."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}")
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_real)
        else:
            expanded.append(k)
    expanded += [slice(None)] * (len(shape) - builtins.sum(1 for k in expanded if k is not None))
    spec, dyn, d = [], [], 0
    for k in expanded:
        if k is None:
            spec.append(("new",))
            continue
        n = shape[d]
        if isinstance(k, Rep):
            if k.shape != () or k.dtype not in INTS:
                raise IndexError("a staged index must be an integer scalar (use st.take for arrays)")
            spec.append(("dyn", len(dyn)))
            dyn.append(k)
        elif isinstance(k, slice):
            if builtins.any(isinstance(v, Rep) for v in (k.start, k.stop, k.step)):
                raise IndexError("slice bounds must be static (use x[i] with a staged i, or "
                                 "st.take, for staged positions)")
            start, stop, step = k.indices(n)
            spec.append(("slice", start, stop, step))
        elif isinstance(k, (int, np.integer)):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {d} with size {n}")
            spec.append(("int", int(k) % n))
        else:
            raise IndexError(f"unsupported index {k!r}")
        d += 1
    return tuple(spec), dyn


def _advanced_axis(key):
    """For x[idx] / x[:, idx] with an integer array idx: the axis to take along, else None."""
    if not isinstance(key, tuple):
        key = (key,)
    arrays = [i for i, k in enumerate(key) if isinstance(k, (np.ndarray, list)) or
              (isinstance(k, Rep) and k.ndim > 0)]
    if not arrays:
        return None
    if len(arrays) > 1 or builtins.any(not (isinstance(k, slice) and k == slice(None))
                                       for i, k in enumerate(key) if i != arrays[0]):
        raise IndexError("only one integer-array index, with full slices elsewhere, is supported "
                         "(x[idx] or x[:, idx]); use st.take")
    return arrays[0]


def getitem(x, key):
    if not isinstance(x, Rep):
        return np.asarray(x)[key]
    ax = _advanced_axis(key)
    if ax is not None:
        k = key[ax] if isinstance(key, tuple) else key
        return take(x, np.asarray(k) if isinstance(k, list) else k, axis=ax)
    spec, dyn = _index_key(x.shape, key)
    return getitem_spec(x, dyn, spec)


def getitem_spec(x, dyn, spec):
    if builtins.all(s == ("slice", 0, n, 1) for s, n in zip(spec, x.shape)) and len(spec) == x.ndim:
        return x
    return apply("getitem", x, *dyn, spec=spec)


def setitem_add(x, v, dyn, spec):
    """`x` with `v` added at the positions selected by a normalised index (see `_index_key`)."""
    x = as_rep(x)
    return apply("setitem_add", x, as_rep(v, x.dtype), *dyn, spec=spec)


def assign(x, value):
    """Write `value` into the input array `x` of the compiled function, in place (its last use).
    This is how a training step updates parameters and optimizer state without copies."""
    x = as_rep(x)
    apply("store", x, as_rep(value, x.dtype) if not isinstance(value, Rep) else value)


def pad(array, pad_width, constant_values=0):
    """NumPy's constant-mode `np.pad`: pad_width is an int, a (before, after) pair, or one pair per
    dimension. Written as a scatter into zeros (then the border filled), so its gradient is a slice
    (a free view)."""
    x = as_rep(array)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    if builtins.any(a < 0 or b < 0 for a, b in pw):
        raise StageTypeError(f"pad: widths must be non-negative, got {pad_width}")
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pw))
    spec = tuple(("slice", a, a + n, 1) for n, (a, _) in zip(x.shape, pw))
    out = setitem_add(zeros(shape, x.dtype), x, [], spec)
    if _is_weak(constant_values) and constant_values == 0:
        return out
    inside = None                       # index masks (iota views: no memory) of the interior
    for d, (n, (a, b)) in enumerate(zip(x.shape, pw)):
        if a or b:
            i = iota(shape, d)
            m = logical_and(greater_equal(i, a), less(i, a + n))
            inside = m if inside is None else logical_and(inside, m)
    return out if inside is None else where(inside, out, as_rep(constant_values, x.dtype))
