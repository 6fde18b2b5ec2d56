"""Docstrings of the reductions with NumPy's signatures and of the statistics built on them
(`reduce.py`, `stats.py`; see `docs.py`)."""
from __future__ import annotations

from typing import Dict

DOCS: Dict[str, str] = {}

_X = """x : Rep or array_like
    The values."""
_AXIS = """axis : int or tuple of int, optional
    The axes to reduce; default: all."""
_DTYPE = """dtype : str or numpy.dtype, optional
    Compute in this dtype (x is converted first) and return it."""
_OUT = """out : None
    Only None: staged values are immutable (a `StageTypeError` otherwise)."""
_KEEP = """keepdims : bool, default False
    Keep the reduced axes with size 1."""
_WHERE = """where : array_like of bool, optional
    Only these elements take part (broadcast against x)."""


def _reduction(summary, numpy, returns, params):
    return f"""{summary}, as `numpy.{numpy}`.

Parameters
----------
{chr(10).join(params)}

Returns
-------
Rep
    {returns}
"""


def _initial(what):
    return f"""initial : scalar, optional
    {what}"""


DOCS["sum"] = _reduction(
    "The sum of `x` over `axis`", "sum",
    "Floats keep their dtype; integers and bools sum in int64 (or `dtype`).",
    [_X, _AXIS, _DTYPE, _OUT, _KEEP, _initial("Added to the sum."), _WHERE])
DOCS["prod"] = _reduction(
    "The product of `x` over `axis`", "prod",
    "Floats keep their dtype; integers and bools multiply in int64 (or `dtype`). The gradient is "
    "the product of the other elements, computed without division (exact with zeros).",
    [_X, _AXIS, _DTYPE, _OUT, _KEEP, _initial("Multiplies the product."), _WHERE])
for _name, _what, _grad in (("max", "maximum", "larger"), ("min", "minimum", "smaller")):
    _doc = _reduction(
        f"The {_what} of `x` over `axis`", _name,
        f"x's dtype; NaN propagates. Ties share the gradient equally (as JAX and PyTorch's "
        f"amax); with `initial`, the gradient goes to the {_grad} of the two.",
        [_X, _AXIS, _OUT, _KEEP,
         _initial("Compared with the result; needed for an empty axis and for `where`."),
         _WHERE])
    DOCS[_name] = _doc
    DOCS["a" + _name] = _doc
DOCS["mean"] = _reduction(
    "The arithmetic mean of `x` over `axis`", "mean",
    "Floating point (integers average in the default float dtype).",
    [_X, _AXIS, _DTYPE, _OUT, _KEEP, _WHERE])
_DDOF = """ddof : int, default 0
    Delta degrees of freedom: divides by ``n - ddof`` (1 for the unbiased estimate).
correction : int, optional
    The Array API's name for `ddof` (NumPy 2 accepts both)."""
DOCS["var"] = _reduction("The variance of `x` over `axis`", "var",
                         "Floating point: ``mean(abs(x - x.mean())**2)`` scaled by n / (n - ddof).",
                         [_X, _AXIS, _DTYPE, _OUT, _DDOF, _KEEP])
DOCS["std"] = _reduction("The standard deviation of `x` over `axis`", "std",
                         "Floating point: the square root of `var` (whose gradient is infinite "
                         "where the variance is 0).", [_X, _AXIS, _DTYPE, _OUT, _DDOF, _KEEP])
_ARG = """axis : int, optional
    The axis; default: the flattened array."""
DOCS["argmax"] = _reduction(
    "Indices of the maxima along `axis` (the first on ties; a NaN wins)", "argmax",
    "int64, x's shape without `axis` (a scalar without an axis). Not differentiable.",
    [_X, _ARG, _OUT, "keepdims : bool, default False\n    Keep the axis with size 1."])
DOCS["argmin"] = _reduction(
    "Indices of the minima along `axis` (the first on ties; a NaN wins)", "argmin",
    "int64, x's shape without `axis` (a scalar without an axis). Not differentiable.",
    [_X, _ARG, _OUT, "keepdims : bool, default False\n    Keep the axis with size 1."])

_A = """a : Rep or array_like
    The values."""
DOCS["count_nonzero"] = _reduction(
    "The number of nonzero elements of `a` over `axis`", "count_nonzero", "int64.",
    [_A, _AXIS, _KEEP])
DOCS["any"] = _reduction("Whether any element of `a` over `axis` is nonzero", "any", "bool.",
                         [_A, _AXIS, _OUT, _KEEP, _WHERE])
DOCS["all"] = _reduction("Whether every element of `a` over `axis` is nonzero", "all", "bool.",
                         [_A, _AXIS, _OUT, _KEEP, _WHERE])
DOCS["ptp"] = _reduction("The range (maximum minus minimum) of `a` over `axis`", "ptp",
                         "a's dtype.", [_A, _AXIS, _OUT, _KEEP])
DOCS["average"] = _reduction(
    "The weighted average of `a` over `axis`", "average",
    "Floating point; with `returned`, the pair (average, sum of the weights).",
    [_A, _AXIS, """weights : array_like, optional
    a's shape, or 1-d along a single given `axis`; default: equal weights.
returned : bool, default False
    Also return the sum of the weights.""", _KEEP])
_QUANTILE_PARAMS = [_A, """q : float or sequence of float
    Static: Python numbers or a NumPy array, in [0, 1] (percentile: [0, 100]).""", _AXIS, _OUT,
                    """overwrite_input : bool
    Ignored (staged values are never modified).
method : str, default "linear"
    Only "linear" (NumPy's default).""", _KEEP]
DOCS["quantile"] = _reduction(
    "The q-th quantiles of `a` over `axis`", "quantile",
    "Floating point, shaped ``q.shape + reduced shape``. Computed from a sort, so the gradient "
    "flows to the (one or two) elements each quantile interpolates; NaN in a line gives NaN.",
    _QUANTILE_PARAMS)
DOCS["percentile"] = _reduction(
    "The q-th percentiles of `a` over `axis`", "percentile", "As `quantile` with q / 100.",
    _QUANTILE_PARAMS)
DOCS["median"] = _reduction(
    "The median of `a` over `axis`", "median",
    "Floating point. Computed from a sort, so the gradient goes to the middle element (or half "
    "to each of the two middle ones); NaN in a line gives NaN.",
    [_A, _AXIS, _OUT, "overwrite_input : bool\n    Ignored (staged values are never modified).",
     _KEEP])
_DIAG = """offset : int, default 0
    The diagonal above (> 0) or below (< 0) the main one.
axis1, axis2 : int, default 0 and 1
    The two axes whose diagonal is taken."""
DOCS["diagonal"] = _reduction(
    "The diagonal of `a` along two axes", "diagonal",
    "The other axes first, then the diagonal (a copy gathered from a's elements).",
    [_A, _DIAG])
DOCS["trace"] = _reduction("The sum along a diagonal of `a`", "trace",
                           "The other axes' shape; ints sum in int64.",
                           [_A, _DIAG, _DTYPE, _OUT])
DOCS["allclose"] = _reduction(
    "Whether every element of a is close to b's", "allclose", "A bool scalar (`all(isclose(...))`).",
    ["a, b : Rep or array_like\n    Broadcast together.",
     "rtol, atol : float, default 1e-05 and 1e-08\n    The tolerances (see `isclose`).",
     "equal_nan : bool, default False\n    Whether NaN is close to NaN."])
DOCS["array_equal"] = _reduction(
    "Whether two arrays have the same shape and elements", "array_equal",
    "A bool scalar (False for different shapes, known while staging).",
    ["a1, a2 : Rep or array_like\n    The arrays.",
     "equal_nan : bool, default False\n    Whether NaN equals NaN."])

# -- the NaN-ignoring reductions (nanfuncs.py) --------------------------------------------------------
_NAN = " NaN elements are left out (no gradient flows to them); integers and bools as the plain one."
for _name, _plain, _summary, _returns, _params in (
        ("nansum", "sum", "The sum of `a` over `axis`, NaN counted as 0",
         "As `sum`; an all-NaN slice sums to 0.", [_DTYPE, _OUT, _KEEP, _initial("Added."), _WHERE]),
        ("nanprod", "prod", "The product of `a` over `axis`, NaN counted as 1",
         "As `prod`; an all-NaN slice gives 1.",
         [_DTYPE, _OUT, _KEEP, _initial("Multiplies the product."), _WHERE]),
        ("nanmax", "max", "The maximum of `a` over `axis`, ignoring NaN",
         "a's dtype; an all-NaN slice gives NaN (NumPy also warns).",
         [_OUT, _KEEP, _initial("Compared with the result (then an all-NaN slice gives it)."),
          _WHERE]),
        ("nanmin", "min", "The minimum of `a` over `axis`, ignoring NaN",
         "a's dtype; an all-NaN slice gives NaN (NumPy also warns).",
         [_OUT, _KEEP, _initial("Compared with the result (then an all-NaN slice gives it)."),
          _WHERE]),
        ("nanmean", "mean", "The mean of the non-NaN elements of `a` over `axis`",
         "Floating point; an all-NaN slice gives NaN (NumPy also warns).",
         [_DTYPE, _OUT, _KEEP, _WHERE]),
        ("nanvar", "var", "The variance of the non-NaN elements of `a` over `axis`",
         "Floating point, divided by (non-NaN count - ddof); no degrees of freedom give inf or "
         "NaN.", [_DTYPE, _OUT, _DDOF, _KEEP, _WHERE]),
        ("nanstd", "std", "The standard deviation of the non-NaN elements of `a` over `axis`",
         "Floating point: the square root of `nanvar`.", [_DTYPE, _OUT, _DDOF, _KEEP, _WHERE])):
    DOCS[_name] = _reduction(_summary, _name, _returns + _NAN, [_A, _AXIS] + _params)
for _name, _what, _one in (("nancumsum", "sums", "0"), ("nancumprod", "products", "1")):
    DOCS[_name] = _reduction(
        f"Cumulative {_what} of `a` along `axis`, NaN counted as {_one}", _name,
        f"a's shape (flattened without an axis); integers and bools in int64.{_NAN}",
        [_A, "axis : int, optional\n    The axis; default: the flattened array.", _DTYPE, _OUT])
