"""Array creation as NumPy: array/asarray of (nested) lists mixing staged and Python values, arange,
linspace, logspace, eye, identity, tri, tril, triu, empty, copy. Ranges and triangles are index
expressions (iota views: no memory until used) while staging, NumPy arrays otherwise."""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from ..graph import StageTypeError, current_scope
from ..rep import Rep
from ..types import FLOATS, canonical_dtype, result_dtype
from .base import DEFAULT_FLOAT, _axis, _dtype_of, _staging, as_rep, as_value, astype
from .elementwise import add, equal, greater_equal, less_equal, multiply, power, where
from .shape import broadcast_to, full, iota, reshape, stack, transpose


def _contains_rep(obj):
    if isinstance(obj, Rep):
        return True
    if isinstance(obj, (list, tuple)):
        return builtins.any(_contains_rep(o) for o in obj)
    return False


def _leaf_dtypes(obj, out):
    """The dtypes of a nested sequence's leaves, Python scalars strongly typed (as np.array does:
    `np.array([np.float32(1), 2.0])` is float64)."""
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _leaf_dtypes(o, out)
    elif isinstance(obj, bool):
        out.append("bool")
    elif isinstance(obj, numbers.Integral) and not isinstance(obj, np.generic):
        out.append("int64")
    elif isinstance(obj, numbers.Real) and not isinstance(obj, np.generic):
        out.append("float64")
    else:
        out.append(_dtype_of(obj))
    return out


def _build(obj, dt):
    if isinstance(obj, (list, tuple)):
        if not obj:
            raise StageTypeError("array: an empty sequence among staged values has no shape")
        parts = [_build(o, dt) for o in obj]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise StageTypeError(f"array: the nested sequences have different shapes "
                                 f"({sorted(shapes)}): an inhomogeneous array")
        return stack(parts)
    return as_rep(obj, dt)


def array(object, dtype=None, *, copy=True, order="K", ndmin=0):
    """NumPy's array; staged values may appear anywhere in nested lists."""
    if order not in ("K", "A", "C", None):
        raise StageTypeError(f"array: order={order!r} is not supported (row-major only)")
    if not _contains_rep(object):
        if current_scope() is None:
            return np.array(object, dtype=dtype, ndmin=ndmin)
        arr = np.array(object, dtype=dtype, ndmin=ndmin)
        return as_rep(arr, canonical_dtype(arr.dtype))
    dt = canonical_dtype(dtype) if dtype is not None else result_dtype(*_leaf_dtypes(object, []))
    out = _build(object, dt)
    if out.ndim < ndmin:
        out = reshape(out, (1,) * (ndmin - out.ndim) + out.shape)
    return out


def asarray(a, dtype=None, order=None, *, copy=None):
    """NumPy's asarray: a staged value is returned as it is (converted when dtype differs)."""
    if isinstance(a, Rep):
        return a if dtype is None else astype(a, dtype)
    return array(a, dtype, order=order or "K")


def copy(a, order="K"):
    return asarray(a) if _staging(a) else np.array(a, copy=True)


def empty(shape, dtype=None):
    return full(shape, 0, DEFAULT_FLOAT if dtype is None else dtype)


def empty_like(prototype, dtype=None, shape=None):
    s = np.shape(prototype) if shape is None else shape
    return full(s, 0, dtype or _dtype_of(prototype) or DEFAULT_FLOAT)


def _static(name, *values):
    for v in values:
        if isinstance(v, Rep):
            raise StageTypeError(f"{name}: the length of the result depends on this value; it must "
                                 f"be static (a Python number)")


def _range(n, dtype):
    """0, 1, ..., n-1: an index view while staging, a NumPy array otherwise."""
    if current_scope() is None:
        return np.arange(n, dtype=dtype)
    return iota((n,), 0, dtype)


def arange(start, stop=None, step=None, dtype=None):
    _static("arange", start, stop, step)
    ref = np.arange(start, stop, step) if step is not None else np.arange(start, stop) \
        if stop is not None else np.arange(start)
    dt = canonical_dtype(dtype) if dtype is not None else (
        DEFAULT_FLOAT if ref.dtype.kind == "f" else canonical_dtype(ref.dtype))
    if current_scope() is None:
        return ref.astype(dt)
    first = start if stop is not None else 0
    st = 1 if step is None else step
    i = iota((len(ref),), 0, dt)
    return add(multiply(i, st), first) if (st, first) != (1, 0) else i


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    dts = [d for d in (_dtype_of(start), _dtype_of(stop)) if d is not None]
    dt = result_dtype(*dts) if dts else None           # (as NumPy's result_type(start, stop, 1.0))
    dt = dt if dt in FLOATS else DEFAULT_FLOAT
    start, stop = as_value(start, dt), as_value(stop, dt)
    div = num - 1 if endpoint else num
    bshape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    i = reshape(_range(num, dt), (num,) + (1,) * len(bshape))
    delta = stop - start
    step = delta / div if div > 0 else delta * float("nan")
    y = add(multiply(i, step), start) if div > 0 else add(multiply(i, delta), start)
    if endpoint and num > 1:
        last = equal(reshape(_range(num, "int64"), (num,) + (1,) * len(bshape)), num - 1)
        y = where(last, stop, y)
    y = broadcast_to(y, (num,) + tuple(bshape))
    if axis != 0 and len(bshape):
        a = _axis(axis, len(bshape) + 1)
        order = list(range(1, len(bshape) + 1))
        order.insert(a, 0)
        y = transpose(y, order)
    if dtype is not None:
        y = astype(y, dtype)
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    y = power(base, linspace(start, stop, num, endpoint, axis=axis))
    return y if dtype is None else astype(y, dtype)


def _grid(N, M):
    M = N if M is None else M
    _static("eye", N, M)
    return int(N), int(M)


def _index_pair(n, m):
    if current_scope() is None:
        return np.arange(n)[:, None], np.arange(m)[None, :]
    return iota((n, m), 0), iota((n, m), 1)


def eye(N, M=None, k=0, dtype=None, order="C"):
    n, m = _grid(N, M)
    dt = DEFAULT_FLOAT if dtype is None else canonical_dtype(dtype)
    r, c = _index_pair(n, m)
    return astype(equal(c - r, int(k)), dt)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    n, m = _grid(N, M)
    dt = DEFAULT_FLOAT if dtype is None else canonical_dtype(dtype)
    r, c = _index_pair(n, m)
    return astype(less_equal(c - r, int(k)), dt)


def _triangle(m, k, lower):
    m = as_value(m)
    if np.ndim(m) == 0:
        raise StageTypeError("tril/triu need an array of at least one dimension")
    if np.ndim(m) == 1:
        m = broadcast_to(m, (np.shape(m)[0],) * 2)
    n, c = np.shape(m)[-2:]
    r, cc = _index_pair(n, c)
    keep = less_equal(cc - r, int(k)) if lower else greater_equal(cc - r, int(k))
    dt = m.type.dtype if isinstance(m, Rep) else m.dtype.name
    return where(keep, m, as_value(np.zeros((), dt)))


def tril(m, k=0):
    return _triangle(m, k, lower=True)


def triu(m, k=0):
    return _triangle(m, k, lower=False)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """NumPy's coordinate matrices (a tuple): each 1-d `xi` laid along its own axis, the first two
    swapped with indexing="xy", broadcast to the common shape unless sparse."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    n = len(xi)
    one = (1,) * n
    out = [reshape(as_value(x), one[:i] + (-1,) + one[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and n > 1:
        out[0] = reshape(out[0], (1, -1) + one[2:])
        out[1] = reshape(out[1], (-1, 1) + one[2:])
    if sparse:
        return tuple(out)
    from .arrays import broadcast_arrays
    return tuple(broadcast_arrays(*out))


__all__ = ["array", "asarray", "copy", "empty", "empty_like", "arange", "linspace", "logspace",
           "eye", "identity", "tri", "tril", "triu", "meshgrid"]
