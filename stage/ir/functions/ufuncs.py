"""More of NumPy's elementwise functions: one op each where the standard math library has the exact
function (`log2`, `arctan2`, `erf`, `rint`, ...), composites where NumPy itself defines the function
from simpler ones (`logaddexp`, `degrees`, `heaviside`, `nan_to_num`, `round`), and NumPy's aliases
(`absolute`, `true_divide`, `remainder`, `pow`, `around`, ...)."""
from __future__ import annotations

import math

import numpy as np

from ..rep import Rep
from ..types import FLOATS
from .base import _common_dtype, _dtype_of, _nary, _staging, as_rep, astype
from .elementwise import (abs, divide, equal, exp, greater, less, less_equal, log1p, logical_and,
                          logical_or, maximum, mod, multiply, power, where)

_LOG2E = 1.0 / math.log(2.0)


def _convert(dt, *xs):
    """xs in dtype dt: staged values while staging, NumPy arrays otherwise."""
    if _staging(*xs):
        return [as_rep(x, dt) for x in xs]
    return [np.asarray(x, dt) for x in xs]


def _is_integral(x):
    dt = _dtype_of(x)
    return dt is not None and dt not in FLOATS


def log2(x): return _nary("log2", x, float_only=True)


def log10(x): return _nary("log10", x, float_only=True)


def exp2(x): return _nary("exp2", x, float_only=True)


def cbrt(x): return _nary("cbrt", x, float_only=True)


def sinh(x): return _nary("sinh", x, float_only=True)


def cosh(x): return _nary("cosh", x, float_only=True)


def arcsin(x): return _nary("arcsin", x, float_only=True)


def arccos(x): return _nary("arccos", x, float_only=True)


def arctan(x): return _nary("arctan", x, float_only=True)


def arcsinh(x): return _nary("arcsinh", x, float_only=True)


def arccosh(x): return _nary("arccosh", x, float_only=True)


def arctanh(x): return _nary("arctanh", x, float_only=True)


def arctan2(x, y): return _nary("arctan2", x, y, float_only=True)


def hypot(x, y): return _nary("hypot", x, y, float_only=True)


def erf(x): return _nary("erf", x, float_only=True)


def erfc(x): return _nary("erfc", x, float_only=True)


def copysign(x, y): return _nary("copysign", x, y, float_only=True)


def fmax(x, y): return _nary("fmax", x, y)


def fmin(x, y): return _nary("fmin", x, y)


def isnan(x): return _nary("isnan", x)


def isinf(x): return _nary("isinf", x)


def isfinite(x): return _nary("isfinite", x)


def signbit(x): return _nary("signbit", x)


def logical_xor(x, y): return _nary("logical_xor", x, y, dtype="bool")


# -- rounding: integers are already integral (NumPy 2 keeps their dtype) ------------------------------

def ceil(x): return x if _is_integral(x) else _nary("ceil", x, float_only=True)


def trunc(x): return x if _is_integral(x) else _nary("trunc", x, float_only=True)


def fix(x): return trunc(x)


def rint(x): return _nary("rint", x, float_only=True)


def round(x, decimals=0):
    decimals = int(decimals)
    if _dtype_of(x) == "bool":               # (NumPy rounds bools in float16: the default float)
        x = astype(x, "float64")
    if _is_integral(x):
        if decimals >= 0:
            return x
        dt = _dtype_of(x)
        return astype(round(astype(x, "float64"), decimals), dt)
    if decimals == 0:
        return rint(x)
    # as NumPy: scale by a power of ten, round half to even, scale back
    if decimals > 0:
        f = 10.0 ** decimals
        return divide(rint(multiply(x, f)), f)
    f = 10.0 ** -decimals
    return multiply(rint(divide(x, f)), f)


around = round


# -- composites ---------------------------------------------------------------------------------------

def logaddexp(x, y):
    x, y = _convert(_common_dtype(x, y, float_only=True), x, y)
    out = maximum(x, y) + log1p(exp(-abs(x - y)))
    # equal infinities: x - y is NaN, NumPy (and the limit) give x
    return where(logical_and(equal(x, y), isinf(x)), x, out)


def logaddexp2(x, y):
    x, y = _convert(_common_dtype(x, y, float_only=True), x, y)
    out = maximum(x, y) + log1p(exp2(-abs(x - y))) * _LOG2E
    return where(logical_and(equal(x, y), isinf(x)), x, out)


def fabs(x):
    (x,) = _convert(_common_dtype(x, float_only=True), x)
    return abs(x)


def reciprocal(x):
    if _dtype_of(x) == "bool":
        x = astype(x, "int64")
    if not _is_integral(x):
        (x,) = _convert(_common_dtype(x, float_only=True), x)
        return divide(1, x)
    # integer 1 / x truncates (NumPy): 1 and -1 stay, everything else is 0 (also 1 / 0)
    return where(equal(abs(x), 1), x, 0)


def _scale(x, factor):
    (x,) = _convert(_common_dtype(x, float_only=True), x)
    return multiply(x, factor)


def degrees(x): return _scale(x, 180.0 / math.pi)


def radians(x): return _scale(x, math.pi / 180.0)


def rad2deg(x): return _scale(x, 180.0 / math.pi)


def deg2rad(x): return _scale(x, math.pi / 180.0)


def heaviside(x, y):
    x, y = _convert(_common_dtype(x, y, float_only=True), x, y)
    return where(less(x, 0), 0, where(greater(x, 0), 1, where(equal(x, 0), y, x)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    dt = _dtype_of(x) or _common_dtype(x)
    if dt not in FLOATS:
        return x
    info = np.finfo(dt)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    x, nan, posinf, neginf = _convert(dt, x, nan, posinf, neginf)
    return where(isnan(x), nan, where(isinf(x), where(greater(x, 0), posinf, neginf), x))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _convert(_common_dtype(a, b, float_only=True), a, b)
    close = less_equal(abs(a - b), atol + rtol * abs(b))
    out = where(logical_and(isfinite(a), isfinite(b)), close, equal(a, b))
    return logical_or(out, logical_and(isnan(a), isnan(b))) if equal_nan else out


# -- NumPy's other names ------------------------------------------------------------------------------
absolute = abs
true_divide = divide
remainder = mod
pow = power


def positive(x):
    if _common_dtype(x) == "bool":
        raise TypeError("positive is not defined for booleans (as in NumPy)")
    return as_rep(x) if isinstance(x, Rep) or _staging(x) else np.positive(x)


__all__ = ["log2", "log10", "exp2", "cbrt", "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh",
           "arccosh", "arctanh", "arctan2", "hypot", "erf", "erfc", "copysign", "fmax", "fmin",
           "isnan", "isinf", "isfinite", "signbit", "logical_xor", "ceil", "trunc", "fix", "rint",
           "round", "around", "logaddexp", "logaddexp2", "fabs", "reciprocal", "degrees",
           "radians", "rad2deg", "deg2rad", "heaviside", "nan_to_num", "absolute", "true_divide",
           "remainder", "pow", "positive", "isclose"]
