"""Elementwise functions: arithmetic, comparisons and logic, selection (`where`, `clip`)."""
from __future__ import annotations

import numpy as np

from ..rep import Rep
from .base import _common_dtype, _dtype_of, _is_weak, _nary, _staging, apply, as_rep


def add(x, y): return _nary("add", x, y)


def subtract(x, y):
    if _common_dtype(x, y) == "bool":
        raise TypeError("numpy boolean subtract, the `-` operator, is not supported, use the "
                        "bitwise_xor, the `^` operator, or the logical_xor function instead.")
    return _nary("subtract", x, y)


def multiply(x, y): return _nary("multiply", x, y)


def divide(x, y): return _nary("divide", x, y, float_only=True)


def floor_divide(x, y): return _nary("floor_divide", x, y, dtype=_arith_dtype(x, y))


def mod(x, y): return _nary("mod", x, y, dtype=_arith_dtype(x, y))


def maximum(x, y): return _nary("maximum", x, y)


def minimum(x, y): return _nary("minimum", x, y)


def negative(x):
    if _common_dtype(x) == "bool":
        raise TypeError("The numpy boolean negative, the `-` operator, is not supported, use the "
                        "`~` operator or the logical_not function instead.")
    return _nary("negative", x)


def exp(x): return _nary("exp", x, float_only=True)


def log(x): return _nary("log", x, float_only=True)


def sqrt(x): return _nary("sqrt", x, float_only=True)


def square(x): return _nary("square", x, dtype=_arith_dtype(x))


def _arith_dtype(*xs):
    """The promoted dtype, with bools as int64 (NumPy computes their arithmetic in small ints)."""
    dt = _common_dtype(*xs)
    return "int64" if dt == "bool" else dt


def tanh(x): return _nary("tanh", x, float_only=True)


def sigmoid(x): return _nary("sigmoid", x, float_only=True)


def relu(x): return _nary("relu", x)


def abs(x): return _nary("abs", x)


def sign(x):
    if _common_dtype(x) == "bool":
        raise TypeError("sign is not defined for booleans (as in NumPy)")
    return _nary("sign", x)


def log1p(x): return _nary("log1p", x, float_only=True)


def expm1(x): return _nary("expm1", x, float_only=True)


def tan(x): return _nary("tan", x, float_only=True)


def sin(x): return _nary("sin", x, float_only=True)


def cos(x): return _nary("cos", x, float_only=True)


def floor(x):      # integers are already integral: NumPy 2 keeps them as they are
    return x if _dtype_of(x) not in (None, "float32", "float64") else _nary("floor", x, float_only=True)


def less(x, y): return _nary("less", x, y)


def less_equal(x, y): return _nary("less_equal", x, y)


def greater(x, y): return _nary("greater", x, y)


def greater_equal(x, y): return _nary("greater_equal", x, y)


def equal(x, y): return _nary("equal", x, y)


def not_equal(x, y): return _nary("not_equal", x, y)


def logical_and(x, y): return _nary("logical_and", x, y, dtype="bool")


def logical_or(x, y): return _nary("logical_or", x, y, dtype="bool")


def logical_not(x): return _nary("logical_not", x, dtype="bool")


def power(x, y):
    dt = _arith_dtype(x, y)
    if _is_weak(y) and not isinstance(y, bool) and isinstance(x, Rep) and x.type.dtype == dt:
        if y == 1:                                 # static exponents take cheaper forms
            return x
        if y == 2:
            return square(x)
        if y == 0.5 and dt in ("float32", "float64"):
            return sqrt(x)
    if dt not in ("float32", "float64"):
        return _integer_power(x, y, dt)
    return _nary("power", x, y, float_only=True)


def _integer_power(x, y, dt):
    """Integers to integer powers stay integers, as NumPy's (negative exponents are an error)."""
    from .base import as_value, astype
    if _is_weak(y):
        y = int(y)
        if y < 0:
            raise ValueError("Integers to negative integer powers are not allowed.")
        x = as_value(x, dt)
        result, base = None, x
        while y:                                   # by squaring: exact
            if y & 1:
                result = base if result is None else multiply(result, base)
            y >>= 1
            if y:
                base = multiply(base, base)
        return result if result is not None else as_value(np.ones(np.shape(x), dt))
    from .ufuncs import rint                       # a staged exponent: exact below 2**53
    return astype(rint(_nary("power", astype(x, "float64"), astype(y, "float64"))), dt)


def where(condition, x, y):
    dt = _common_dtype(x, y)
    if not _staging(condition, x, y):
        return np.where(condition, np.asarray(x, dt), np.asarray(y, dt))
    return apply("where", as_rep(condition, "bool"), as_rep(x, dt), as_rep(y, dt))


def clip(x, a_min=None, a_max=None):
    if isinstance(a_min, Rep) or isinstance(a_max, Rep):
        x = x if a_min is None else maximum(x, a_min)
        return x if a_max is None else minimum(x, a_max)
    dt = _common_dtype(x, *[b for b in (a_min, a_max) if b is not None])   # as maximum/minimum
    return apply("clip", as_rep(x, dt) if _staging(x) else np.asarray(x, dt), lo=a_min, hi=a_max)


def stop_gradient(x):
    """x, with no gradient flowing through it."""
    return apply("stop_gradient", as_rep(x) if _staging(x) else np.asarray(x))
