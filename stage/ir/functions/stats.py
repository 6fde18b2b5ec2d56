"""Logical reductions and statistics composed of the reductions and of sort: all, any,
count_nonzero, ptp, average, median, quantile, percentile, trace, diagonal."""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep
from ..types import FLOATS
from .base import DEFAULT_FLOAT, _axes, _axis, apply, as_rep, astype
from .elementwise import equal, logical_not, not_equal, where
from .reduce import _dtype_name, _no_out, _value, max, mean, min, sum
from .scans import sort
from .shape import broadcast_to, full, reshape, stack, transpose
from .ufuncs import isnan as _isnan


def _truth(a):
    a = _value(a)
    return a if _dtype_name(a) == "bool" else not_equal(a, 0)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    from .ufuncs import isclose
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    a1, a2 = _value(a1), _value(a2)
    if np.shape(a1) != np.shape(a2):
        return _value(np.bool_(False))
    same = equal(a1, a2)
    if equal_nan:
        same = same | (_isnan(a1) & _isnan(a2))
    return all(same)


def count_nonzero(a, axis=None, *, keepdims=False):
    return sum(_truth(a), axis, keepdims=keepdims)


def any(a, axis=None, out=None, keepdims=False, *, where=True):
    _no_out("any", out)
    return not_equal(sum(_truth(a), axis, keepdims=keepdims, where=where), 0)


def all(a, axis=None, out=None, keepdims=False, *, where=True):
    _no_out("all", out)
    return equal(sum(logical_not(_truth(a)), axis, keepdims=keepdims, where=where), 0)


def ptp(a, axis=None, out=None, keepdims=False):
    return max(a, axis, out, keepdims) - min(a, axis, out, keepdims)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    a = _value(a)
    if _dtype_name(a) not in FLOATS:
        a = astype(a, DEFAULT_FLOAT)
    axes = _axes(axis, np.ndim(a))
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        count = int(np.prod([np.shape(a)[d] for d in axes]))
        scl = full(np.shape(avg), np.asarray(count, _dtype_name(avg)))
    else:
        w = _value(weights)
        if np.shape(w) != np.shape(a):
            if axis is None or np.ndim(w) != 1 or isinstance(axis, tuple) and len(axis) != 1:
                raise StageTypeError("average: weights of a shape other than the array's must "
                                     "be 1-d along one given axis")
            ax = axes[0]
            if np.shape(w)[0] != np.shape(a)[ax]:
                raise StageTypeError("average: the weights' length differs from the axis' length")
            w = reshape(w, tuple(-1 if d == ax else 1 for d in range(np.ndim(a))))
        w = astype(w, _dtype_name(a)) if _dtype_name(w) != _dtype_name(a) else w
        scl = sum(broadcast_to(w, np.shape(a)), axes, keepdims=keepdims)
        avg = sum(a * w, axes, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


def _sorted_lines(a, axis):
    """a sorted along its last axis (the given axis moved there, or everything flattened)."""
    a = _value(a)
    if _dtype_name(a) not in FLOATS:
        a = astype(a, DEFAULT_FLOAT)
    if axis is None:
        return sort(reshape(a, (-1,))), a, tuple(range(np.ndim(a)))
    axes = _axes(axis, np.ndim(a))
    rest = tuple(d for d in range(np.ndim(a)) if d not in axes)
    moved = transpose(a, rest + axes)
    n = int(np.prod([np.shape(a)[d] for d in axes]))
    return sort(reshape(moved, tuple(np.shape(a)[d] for d in rest) + (n,)), -1), a, axes


def _lerp(lo, hi, t):
    """NumPy's quantile interpolation (the two forms keep it monotonic and exact at the ends)."""
    if t == 0:
        return lo
    return lo + (hi - lo) * t if t < 0.5 else hi - (hi - lo) * (1 - t)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    _no_out("quantile", out)
    if method != "linear":
        raise StageTypeError(f"quantile: method {method!r} is not supported (only 'linear')")
    from .creation import _contains_rep
    if _contains_rep(q):
        raise StageTypeError("quantile: q must be static (Python numbers or a NumPy array)")
    qs = np.asarray(q, np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    if _dtype_name(_value(a)) == "bool":
        raise TypeError("quantile of booleans is not supported (as in NumPy)")
    if not isinstance(q, (int, float)):         # a strong q (a list or array) promotes, as NumPy
        qdt = np.asarray(q).dtype
        a = astype(_value(a), np.result_type(_dtype_name(_value(a)),
                                             qdt if qdt.kind == "f" else np.float64).name)
    s, a, axes = _sorted_lines(a, axis)
    n = np.shape(s)[-1]
    if n == 0:
        raise StageTypeError("quantile of an empty axis")
    nan = _isnan(s[..., -1])            # NaN sorts last: any NaN makes the quantile NaN

    def one(qv):
        v = qv * (n - 1)
        lo = int(math.floor(v))
        hi = builtins.min(lo + 1, n - 1)
        r = _lerp(s[..., lo], s[..., hi], v - lo)
        r = where(nan, float("nan"), r)
        if keepdims:
            r = reshape(r, tuple(1 if d in axes else m for d, m in enumerate(np.shape(a))))
        return r
    if qs.ndim == 0:
        return one(float(qs))
    return stack([one(float(v)) for v in qs.reshape(-1)]).reshape(qs.shape + np.shape(one(0.0)))


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return quantile(a, np.asarray(q, np.float64) / 100, axis, out, overwrite_input, method,
                    keepdims)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("median", out)
    s, a, axes = _sorted_lines(a, axis)
    n = np.shape(s)[-1]
    if n == 0:
        raise StageTypeError("median of an empty axis")
    r = s[..., n // 2] if n % 2 else (s[..., n // 2 - 1] + s[..., n // 2]) / 2
    r = where(_isnan(s[..., -1]), float("nan"), r)
    if keepdims:
        r = reshape(r, tuple(1 if d in axes else m for d, m in enumerate(np.shape(a))))
    return r


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = _value(a)
    if np.ndim(a) < 2:
        raise StageTypeError("diagonal requires an array of at least two dimensions")
    a1, a2 = _axis(axis1, np.ndim(a)), _axis(axis2, np.ndim(a))
    if a1 == a2:
        raise StageTypeError("diagonal: axis1 and axis2 cannot be the same")
    rest = tuple(d for d in range(np.ndim(a)) if d not in (a1, a2))
    n, m = np.shape(a)[a1], np.shape(a)[a2]
    lines = reshape(transpose(a, rest + (a1, a2)), tuple(np.shape(a)[d] for d in rest) + (n * m,))
    rows = np.arange(builtins.max(0, -offset), builtins.min(n, m - offset))
    flat = rows * m + rows + offset
    if not isinstance(lines, Rep):
        return np.take(lines, flat, axis=-1)
    return apply("take", lines, as_rep(flat), axis=np.ndim(lines) - 1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _no_out("trace", out)
    return sum(diagonal(a, offset, axis1, axis2), -1, dtype=dtype)


__all__ = ["allclose", "array_equal", "count_nonzero", "any", "all", "ptp", "average", "quantile", "percentile", "median",
           "diagonal", "trace"]
