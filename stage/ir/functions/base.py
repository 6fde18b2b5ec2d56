"""Conversion and promotion: how Python and NumPy values become staged ones, and `apply`, the one
way the NumPy-named functions reflect an op (or, outside staging, run its NumPy reference).

Python scalars are weakly typed (`x * 2` keeps x's dtype, as NEP 50 and JAX's weak types); static
parameters (axes, shapes) are normalised here.
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from ..graph import Const, Exp, StageTypeError, current_scope, reflect
from ..rep import Rep
from ..types import FLOATS, canonical_dtype, result_dtype

# NumPy's default float: integers promote to it (int / int, mean of ints, float functions of ints,
# int * 1.5), Python floats alone take it, and zeros/ones/eye/arange/linspace default to it (the
# PyTorch-like st.nn layers and st.one_hot keep float32, as PyTorch does)
DEFAULT_FLOAT = "float64"
DEFAULT_INT = "int64"


def _is_weak(x):
    return isinstance(x, (bool, numbers.Number)) and not isinstance(x, (np.generic, np.ndarray))


def _weak_dtype(x):
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, numbers.Integral):
        return DEFAULT_INT
    if isinstance(x, numbers.Real):
        return DEFAULT_FLOAT
    raise TypeError(f"stage does not support {type(x).__name__} values ({x!r})")


_INT_RANGE = {"int32": (-2 ** 31, 2 ** 31 - 1), "int64": (-2 ** 63, 2 ** 63 - 1)}


def _dtype_of(x):
    if isinstance(x, Rep):
        return x.type.dtype
    if _is_weak(x):
        return None
    return canonical_dtype(np.asarray(x).dtype)


def _to_exp(x, dtype=None) -> Exp:
    if isinstance(x, Rep):
        return x.exp if dtype is None or x.dtype == dtype else astype(x, dtype).exp
    if _is_weak(x):
        dt = dtype or _weak_dtype(x)
        if isinstance(x, int) and not isinstance(x, bool) and dt in _INT_RANGE and \
                not _INT_RANGE[dt][0] <= x <= _INT_RANGE[dt][1]:
            raise OverflowError(f"Python integer {x} out of bounds for {dt}")   # (as NumPy 2)
        return Const(x, dt)
    arr = np.asarray(x)
    return Const(arr if dtype is None else arr.astype(dtype))


def as_rep(x, dtype=None) -> Rep:
    """A staged value for x (Python scalars and NumPy arrays become constants)."""
    if isinstance(x, Rep) and (dtype is None or x.dtype == dtype):
        return x
    return Rep(_to_exp(x, dtype))


def as_value(x, dtype=None):
    """x as a staged value while staging, else as a NumPy array (the eager path), in `dtype` if
    given: the functions built of other functions accept both."""
    if _staging(x):
        return as_rep(x, dtype)
    arr = np.asarray(x)
    return arr if dtype is None else arr.astype(canonical_dtype(dtype))


def _common_dtype(*xs, float_only=False):
    """NEP 50's promotion: Python scalars adapt to the arrays' precision but not below their own
    kind (a float scalar makes integers the default float, an int scalar makes bools int64)."""
    strong = [d for d in map(_dtype_of, xs) if d is not None]
    dt = result_dtype(*strong) if strong else None
    weak = [x for x in xs if _is_weak(x)]
    if dt is None:
        dt = result_dtype(*[_weak_dtype(x) for x in weak]) if weak else DEFAULT_FLOAT
    elif any(isinstance(x, float) for x in weak) and dt not in FLOATS:
        dt = DEFAULT_FLOAT
    elif dt == "bool" and any(not isinstance(x, bool) for x in weak):
        dt = DEFAULT_INT
    if float_only and dt not in FLOATS:
        dt = DEFAULT_FLOAT
    return dt


def _staging(*xs):
    return current_scope() is not None or builtins.any(isinstance(x, Rep) for x in xs)


def apply(op, *args, **params):
    """Reflect `op` on already converted arguments (or run its NumPy reference outside staging)."""
    params = {k: canonical_dtype(v) if isinstance(v, np.dtype) else v for k, v in params.items()}
    if not _staging(*args):
        from ..ops import OPS
        return OPS[op].ref(*[np.asarray(a) for a in args], **params)
    outs = reflect(op, *[_to_exp(a) for a in args], **params)
    return Rep(outs[0]) if len(outs) == 1 else tuple(Rep(o) for o in outs)


def _nary(op, *xs, float_only=False, dtype=None):
    dt = dtype or _common_dtype(*xs, float_only=float_only)
    if not _staging(*xs):
        from ..ops import OPS
        return OPS[op].ref(*[np.asarray(x, dtype=dt) for x in xs])
    return apply(op, *[as_rep(x, dt) for x in xs])


def _shape(shape):
    """A static shape as a tuple of ints; like NumPy, anything but integers is a TypeError."""
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"shape {shape!r}: dimensions must be integers, not "
                            f"{type(d).__name__} ({d!r})")
    return tuple(int(d) for d in dims)


def _axis(axis, ndim):
    a = int(axis)
    if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
        raise StageTypeError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return a % builtins.max(ndim, 1)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(sorted(_axis(a, ndim) for a in axis))
    return axes if ndim else ()         # a 0-d array has no axis to reduce (np.sum(x, 0) is x)


def astype(x, dtype):
    dtype = canonical_dtype(dtype)
    if isinstance(x, Rep) and x.dtype == dtype:
        return x
    if not _staging(x):
        return np.asarray(x).astype(dtype)
    return apply("astype", as_rep(x), dtype=dtype)
