"""NumPy's NaN-ignoring reductions and scans: nansum, nanprod, nanmax, nanmin, nanmean, nanvar,
nanstd, nancumsum, nancumprod. Each is its plain reduction over the array with NaN replaced by the
reduction's neutral element (a `where`, so no gradient flows to a NaN), as NumPy computes them; on
integers and bools (which hold no NaN) they are the plain functions."""
from __future__ import annotations

import numpy as np

from ..rep import Rep  # noqa: F401  (the docstrings' return annotations resolve here)
from ..types import FLOATS
from .base import DEFAULT_FLOAT, _axes, astype
from .elementwise import logical_not, sqrt, square, where as _select
from .reduce import _dtype_name, _no_out, _value, max, min, prod, sum
from .scans import cumprod, cumsum
from .stats import all as _all
from .ufuncs import isnan


def _is_float(a):
    return _dtype_name(a) in FLOATS


def _filled(a, fill):
    """a with NaN replaced by `fill` (a itself for integers and bools)."""
    return _select(isnan(a), fill, a) if _is_float(a) else a


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    a = _value(a, dtype)
    return sum(_filled(a, 0), axis, None, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    a = _value(a, dtype)
    return prod(_filled(a, 1), axis, None, out, keepdims, initial, where)


def _nan_extremum(reduce, worst, a, axis, out, keepdims, initial, where):
    a = _value(a)
    r = reduce(_filled(a, worst), axis, out, keepdims, initial, where)
    if not _is_float(a) or initial is not None:
        return r               # (fmax.reduce with a number as initial: an all-NaN slice gives it)
    ignored = isnan(a) if where is True else isnan(a) | logical_not(where)
    return _select(_all(ignored, axis, keepdims=keepdims), float("nan"), r)   # all NaN: NaN


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _nan_extremum(max, -np.inf, a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return _nan_extremum(min, np.inf, a, axis, out, keepdims, initial, where)


def _kept(a, where):
    """The elements that take part: not NaN, and selected by `where`."""
    kept = logical_not(isnan(a))
    return kept if where is True else kept & where


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    _no_out("nanmean", out)
    a = _value(a, dtype)
    if not _is_float(a):
        a = astype(a, DEFAULT_FLOAT)
    kept = _kept(a, where)
    n = sum(kept, axis, _dtype_name(a), keepdims=keepdims)
    return sum(_select(kept, a, 0), axis, keepdims=keepdims) / n     # (all NaN: 0 / 0 = NaN)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
           correction=None):
    _no_out("nanvar", out)
    if correction is not None:
        ddof = correction
    a = _value(a, dtype)
    if not _is_float(a):
        a = astype(a, DEFAULT_FLOAT)
    kept = _kept(a, where)
    m = nanmean(a, axis, keepdims=True, where=where)
    n = sum(kept, _axes(axis, np.ndim(a)), _dtype_name(a), keepdims=keepdims) - ddof
    # NumPy divides by max(n - ddof, 0): no degrees of freedom give inf or nan, not an error
    d = _select(kept, a - m, 0)
    return sum(square(d), axis, keepdims=keepdims) / _select(n > 0, n, 0)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True,
           correction=None):
    return sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where, correction=correction))


def nancumsum(a, axis=None, dtype=None, out=None):
    return cumsum(_filled(_value(a, dtype), 0), axis, None, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    return cumprod(_filled(_value(a, dtype), 1), axis, None, out)


__all__ = ["nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd", "nancumsum",
           "nancumprod"]
