"""Scans and sorting along an axis: cumsum, cumprod, diff, sort, argsort, partition, argpartition,
take_along_axis, put_along_axis. `sort` is `take_along_axis(a, argsort(a))`, so its gradient flows
back through the permutation; a full sort is also a valid `partition` (NumPy leaves the order
within each side unspecified)."""
from __future__ import annotations

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep
from ..types import INTS
from .base import _axis, _staging, apply, as_rep, astype
from .elementwise import not_equal, subtract
from .reduce import _dtype_name, _no_out, _value
from .shape import broadcast_to, concatenate, reshape


def _flat_or(a, axis):
    """(a, axis) with axis=None meaning the flattened array (NumPy's convention for scans)."""
    if axis is None:
        return reshape(a, (-1,)), 0
    return a, _axis(axis, np.ndim(a))


def _scan(op, a, axis, dtype, out):
    _no_out(op, out)
    a, ax = _flat_or(_value(a, dtype), axis)
    if np.ndim(a) == 0:
        a = reshape(a, (1,))
    r = apply(op, a, axis=ax)
    return r if dtype is None else astype(r, dtype)


def cumsum(a, axis=None, dtype=None, out=None):
    return _scan("cumsum", a, axis, dtype, out)


def cumprod(a, axis=None, dtype=None, out=None):
    return _scan("cumprod", a, axis, dtype, out)


cumulative_sum = cumsum          # NumPy 2.1's names (for axis given, without include_initial)
cumulative_prod = cumprod


def _along(a, axis, start, stop):
    key = [slice(None)] * np.ndim(a)
    key[axis] = slice(start, stop)
    return a[tuple(key)]


def diff(a, n=1, axis=-1, prepend=None, append=None):
    a = _value(a)
    if np.ndim(a) == 0:
        raise StageTypeError("diff requires input that is at least one dimensional")
    axis = _axis(axis, np.ndim(a))
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")

    def edge(v):
        v = _value(v, _dtype_name(a))
        if np.ndim(v) == 0:
            shape = tuple(1 if d == axis else m for d, m in enumerate(np.shape(a)))
            v = broadcast_to(v, shape)
        return v
    parts = ([edge(prepend)] if prepend is not None else []) + [a] + \
        ([edge(append)] if append is not None else [])
    if len(parts) > 1:
        a = concatenate(parts, axis)
    op = not_equal if _dtype_name(a) == "bool" else subtract
    for _ in range(n):
        a = op(_along(a, axis, 1, None), _along(a, axis, None, -1))
    return a


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise StageTypeError("argsort: order= (structured arrays) is not supported")
    a, ax = _flat_or(_value(a), axis)
    if np.ndim(a) == 0:
        a = reshape(a, (1,))
    return apply("argsort", a, axis=ax)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise StageTypeError("sort: order= (structured arrays) is not supported")
    a, ax = _flat_or(_value(a), axis)
    if np.ndim(a) == 0:
        a = reshape(a, (1,))
    return take_along_axis(a, apply("argsort", a, axis=ax), ax)


def _check_kth(kth, a, axis):
    a, ax = _flat_or(_value(a), axis)
    n = np.shape(a)[ax] if np.ndim(a) else 1
    for k in np.atleast_1d(np.asarray(kth)).tolist():
        if isinstance(k, Rep) or not isinstance(k, int):
            raise StageTypeError("partition: kth must be static integers")
        if not -n <= k < n:
            raise ValueError(f"kth(={k}) out of bounds ({n})")


def partition(a, kth, axis=-1, kind="introselect", order=None):
    _check_kth(kth, a, axis)
    return sort(a, axis, order=order)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    _check_kth(kth, a, axis)
    return argsort(a, axis, order=order)


def _broadcast_along(arr, indices, axis):
    """arr and indices broadcast to each other outside `axis` (NumPy's take_along_axis rule)."""
    if np.ndim(arr) != np.ndim(indices):
        raise StageTypeError(f"take_along_axis: indices must have as many dimensions as the array "
                             f"({np.ndim(indices)} vs {np.ndim(arr)})")
    try:
        common = tuple(1 if d == axis else np.broadcast_shapes((m,), (n,))[0]
                       for d, (m, n) in enumerate(zip(np.shape(arr), np.shape(indices))))
    except ValueError:
        raise StageTypeError(f"take_along_axis: shapes {np.shape(arr)} and {np.shape(indices)} do "
                             f"not broadcast outside axis {axis}") from None

    def to(x, keep):
        return broadcast_to(x, tuple(m if d != axis else keep for d, m in enumerate(common)))
    return to(arr, np.shape(arr)[axis]), to(indices, np.shape(indices)[axis])


def _indices(indices, staged):
    idx = as_rep(indices) if staged else np.asarray(indices)
    if _dtype_name(idx) not in INTS:
        raise StageTypeError("take_along_axis: indices must be integers")
    return idx


def take_along_axis(arr, indices, axis=-1):
    staged = _staging(arr, indices)
    arr, idx = _value(arr), _indices(indices, staged)
    if axis is None:
        arr, axis = reshape(arr, (-1,)), 0
    axis = _axis(axis, np.ndim(arr))
    arr, idx = _broadcast_along(arr, idx, axis)
    return apply("take_along_axis", arr, idx, axis=axis)


def put_along_axis(arr, indices, values, axis):
    """NumPy's put_along_axis, returning the new array (staged values are immutable)."""
    staged = _staging(arr, indices, values)
    arr, idx = _value(arr), _indices(indices, staged)
    if axis is None:
        arr, axis = reshape(arr, (-1,)), 0
    axis = _axis(axis, np.ndim(arr))
    arr2, idx = _broadcast_along(arr, idx, axis)
    if np.shape(arr2) != np.shape(arr):
        raise StageTypeError(f"put_along_axis: indices {np.shape(idx)} do not fit the array "
                             f"{np.shape(arr)} outside axis {axis}")
    values = broadcast_to(_value(values, _dtype_name(arr)), np.shape(idx))
    return apply("scatter_along_axis", arr, idx, values, axis=axis)


def flip(m, axis=None):
    m = _value(m)
    axes = range(np.ndim(m)) if axis is None else \
        [_axis(a, np.ndim(m)) for a in ((axis,) if np.isscalar(axis) else axis)]
    key = [slice(None)] * np.ndim(m)
    for a in axes:
        key[a] = slice(None, None, -1)
    return m[tuple(key)]


__all__ = ["cumsum", "cumprod", "cumulative_sum", "cumulative_prod", "diff", "argsort", "sort",
           "partition", "argpartition", "take_along_axis", "put_along_axis", "flip"]
