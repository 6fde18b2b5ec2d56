"""Docstrings of NumPy's further elementwise functions (`ufuncs.py`; see `docs.py`)."""
from __future__ import annotations

from typing import Dict

from .docs_templates import _BOOL, _FLOAT, _PROMOTED, _SAME, _binary, _unary

_NOGRAD = " Piecewise constant: no gradient flows through it."
_INTS_KEPT = " Integers and bools are returned as they are (NumPy 2 keeps their dtype)."

DOCS: Dict[str, str] = {
    "log2": _unary("The base-2 logarithm", "log2", _FLOAT),
    "log10": _unary("The base-10 logarithm", "log10", _FLOAT),
    "exp2": _unary("2 ** x", "exp2", _FLOAT),
    "cbrt": _unary("The cube root (real, also of negative x)", "cbrt", _FLOAT,
                   "The gradient is infinite at 0."),
    "sinh": _unary("The hyperbolic sine", "sinh", _FLOAT),
    "cosh": _unary("The hyperbolic cosine", "cosh", _FLOAT),
    "arcsin": _unary("The inverse sine (NaN outside [-1, 1])", "arcsin", _FLOAT),
    "arccos": _unary("The inverse cosine (NaN outside [-1, 1])", "arccos", _FLOAT),
    "arctan": _unary("The inverse tangent", "arctan", _FLOAT),
    "arcsinh": _unary("The inverse hyperbolic sine", "arcsinh", _FLOAT),
    "arccosh": _unary("The inverse hyperbolic cosine (NaN below 1)", "arccosh", _FLOAT),
    "arctanh": _unary("The inverse hyperbolic tangent (NaN outside [-1, 1])", "arctanh", _FLOAT),
    "arctan2": _binary("The angle arctan(x / y) in the quadrant of the point with abscissa y and "
                       "ordinate x", "arctan2", _FLOAT,
                       "The ordinate comes first, as in NumPy's `arctan2(y, x)`."),
    "hypot": _binary("sqrt(x ** 2 + y ** 2) without overflow", "hypot", _FLOAT,
                     "The gradient at the origin is 0 (a subgradient of the norm)."),
    "erf": _unary("The error function", "scipy.special.erf", _FLOAT,
                  "Exact GELU is `x * 0.5 * (1 + erf(x / sqrt(2)))`."),
    "erfc": _unary("The complementary error function 1 - erf(x), accurate for large x",
                   "scipy.special.erfc", _FLOAT),
    "copysign": _binary("The magnitude of x with the sign of y", "copysign", _FLOAT,
                        "The gradient flows to x only."),
    "fmax": _binary("The larger of x and y, ignoring NaN", "fmax", _PROMOTED,
                    "A NaN operand is ignored (NaN only when both are). The gradient goes to the "
                    "chosen operand; ties share it equally."),
    "fmin": _binary("The smaller of x and y, ignoring NaN", "fmin", _PROMOTED,
                    "A NaN operand is ignored (NaN only when both are). The gradient goes to the "
                    "chosen operand; ties share it equally."),
    "isnan": _unary("Whether x is NaN", "isnan", _BOOL),
    "isinf": _unary("Whether x is plus or minus infinity", "isinf", _BOOL),
    "isfinite": _unary("Whether x is neither NaN nor infinite", "isfinite", _BOOL),
    "signbit": _unary("Whether the sign bit of x is set (also for -0.0 and -NaN)", "signbit",
                      _BOOL),
    "logical_xor": _binary("x xor y (nonzero is true)", "logical_xor", _BOOL),
    "ceil": _unary("The smallest integer >= x", "ceil", _SAME + _INTS_KEPT + _NOGRAD),
    "trunc": _unary("x rounded toward zero", "trunc", _SAME + _INTS_KEPT + _NOGRAD),
    "fix": _unary("x rounded toward zero", "fix", _SAME + _INTS_KEPT + _NOGRAD),
    "rint": _unary("x rounded to the nearest integer, halves to even", "rint",
                   _FLOAT + _NOGRAD),
    "logaddexp": _binary("log(exp(x) + exp(y)), computed stably", "logaddexp", _FLOAT,
                         "Composed as `maximum(x, y) + log1p(exp(-|x - y|))`, as NumPy computes "
                         "it. Each operand's gradient is its softmax weight (1/2 each at ties)."),
    "logaddexp2": _binary("log2(2 ** x + 2 ** y), computed stably", "logaddexp2", _FLOAT),
    "fabs": _unary("|x| as a float", "fabs", _FLOAT, "The gradient at 0 is 0."),
    "reciprocal": _unary("1 / x", "reciprocal", _SAME,
                         "Integers divide as integers, as NumPy's: 1 / x truncated (0 for |x| > 1 "
                         "and, here, for x = 0)."),
    "degrees": _unary("Radians converted to degrees", "degrees", _FLOAT),
    "rad2deg": _unary("Radians converted to degrees", "rad2deg", _FLOAT),
    "radians": _unary("Degrees converted to radians", "radians", _FLOAT),
    "deg2rad": _unary("Degrees converted to radians", "deg2rad", _FLOAT),
    "heaviside": _binary("The Heaviside step: 0 where x < 0, y where x == 0, 1 where x > 0",
                         "heaviside", _FLOAT,
                         "NaN in x gives NaN. The gradient flows to y where x == 0 (none to x)."),
    "positive": _unary("+x (a copy)", "positive", _SAME),
}

_ROUND = """x rounded to `decimals` decimal places, halves to even, as `numpy.round`.

Parameters
----------
x : Rep or array_like
    The values.
decimals : int, default 0
    Decimal places; negative rounds to tens, hundreds, ...

Returns
-------
Rep
    x's dtype. Floats are scaled by 10 ** decimals, rounded with `rint` and scaled back, as NumPy
    does (the same results, including its binary-fraction surprises); integers are returned as
    they are for `decimals >= 0`. Piecewise constant: no gradient flows through it.
"""
DOCS["round"] = _ROUND
DOCS["around"] = _ROUND

DOCS["nan_to_num"] = """`x` with NaN and infinities replaced by finite numbers, as `numpy.nan_to_num`.

Parameters
----------
x : Rep or array_like
    The values (integers and bools are returned as they are).
copy : bool, default True
    Accepted for NumPy's signature; staged values are never modified in place.
nan : float, default 0.0
    The value for NaN.
posinf, neginf : float, optional
    The values for +inf and -inf; default: the largest and the most negative finite number of
    x's dtype.

Returns
-------
Rep
    x's shape and dtype. The gradient flows through the finite elements.
"""

DOCS["isclose"] = """Whether a and b are equal within a tolerance, elementwise, as `numpy.isclose`.

Parameters
----------
a, b : Rep or array_like
    Broadcast together (computed in floating point).
rtol, atol : float, default 1e-05 and 1e-08
    ``|a - b| <= atol + rtol * |b|``; infinities are close only to themselves.
equal_nan : bool, default False
    Whether NaN is close to NaN.

Returns
-------
Rep
    bool, the broadcast shape.
"""
