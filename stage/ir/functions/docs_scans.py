"""Docstrings of the scans, sorting and gathers along an axis (`scans.py`; see `docs.py`)."""
from __future__ import annotations

from typing import Dict

DOCS: Dict[str, str] = {}

_A = """a : Rep or array_like
    The values."""
_AXIS = """axis : int, optional
    The axis; default: the flattened array."""
_OUT = """out : None
    Only None: staged values are immutable (a `StageTypeError` otherwise)."""
_SORT_OPTS = """kind : str, optional
    Accepted for NumPy's signature: the sort is always stable (a valid result for every kind).
order : None
    Structured arrays are not supported.
stable : bool, optional
    Accepted for NumPy's signature (always stable)."""


def _doc(summary, numpy, returns, params):
    return f"""{summary}, as `numpy.{numpy}`.

Parameters
----------
{chr(10).join(params)}

Returns
-------
Rep
    {returns}
"""


_DT = """dtype : str or numpy.dtype, optional
    Accumulate in this dtype (a is converted first)."""
for _n, _what in (("cumsum", "sums"), ("cumprod", "products"), ("cumulative_sum", "sums"),
                  ("cumulative_prod", "products")):
    DOCS[_n] = _doc(
        f"Cumulative {_what} of `a` along `axis`", _n,
        "a's shape (flattened without an axis); integers and bools accumulate in int64."
        + (" The gradient is exact also with zeros (no division by an element that is 0)."
           if "prod" in _n else " The gradient is the reversed cumulative sum."),
        [_A, _AXIS, _DT, _OUT])
DOCS["diff"] = _doc(
    "The n-th discrete difference along `axis`", "diff",
    "The axis shortened by n (after prepend/append); bools give not_equal, as NumPy.",
    [_A, """n : int, default 1
    How many times to take differences.
axis : int, default -1
    The axis.
prepend, append : scalar or array_like, optional
    Values joined before / after a along the axis first (scalars: one element)."""])
DOCS["sort"] = _doc(
    "`a` sorted along `axis` (NaN last)", "sort",
    "a's shape and dtype. `take_along_axis(a, argsort(a))`: the gradient flows back through the "
    "permutation (each sorted element's cotangent goes to where it came from).",
    [_A, "axis : int or None, default -1\n    The axis; None sorts the flattened array.",
     _SORT_OPTS])
DOCS["argsort"] = _doc(
    "The indices that sort `a` along `axis` (stable, NaN last)", "argsort",
    "int64, a's shape. Not differentiable.",
    [_A, "axis : int or None, default -1\n    The axis; None sorts the flattened array.",
     _SORT_OPTS])
_KTH = """kth : int or sequence of int
    Static positions that must hold the elements a sort would put there.
axis : int or None, default -1
    The axis; None partitions the flattened array.
kind : str, optional
    Accepted for NumPy's signature.
order : None
    Structured arrays are not supported."""
DOCS["partition"] = _doc(
    "`a` rearranged so that the element at each `kth` position is the one a sort would put "
    "there, smaller ones before and larger ones after", "partition",
    "a's shape. NumPy leaves the order on each side unspecified; stage returns the fully "
    "sorted array, which is one valid answer (differentiable as `sort`).", [_A, _KTH])
DOCS["argpartition"] = _doc(
    "Indices that partition `a` (see `partition`)", "argpartition",
    "int64: the indices of a stable sort (one valid answer).", [_A, _KTH])
_ALONG = """indices : Rep or array_like of int
    As many dimensions as arr; broadcast against arr outside `axis`. Negative indices count
    from the end; an index out of range raises IndexError when the code runs."""
DOCS["take_along_axis"] = _doc(
    "Elements of `arr` picked along `axis` by `indices` (the companion of argsort/argmax with "
    "keepdims)", "take_along_axis",
    "indices' shape. The gradient adds each cotangent back at its position.",
    ["arr : Rep or array_like\n    The values.", _ALONG,
     "axis : int or None, default -1\n    The axis; None: the flattened array."])
DOCS["put_along_axis"] = _doc(
    "`arr` with `values` written along `axis` at `indices`", "put_along_axis",
    "A new array of arr's shape and dtype (NumPy writes into arr and returns None; staged values "
    "are immutable, so stage returns the result). Of repeated indices the last write wins; the "
    "gradient flows to the values that are kept and to the elements of arr not overwritten.",
    ["arr : Rep or array_like\n    The values.", _ALONG,
     "values : Rep or array_like\n    Broadcast to indices' shape.",
     "axis : int or None\n    The axis; None: the flattened array."])
DOCS["flip"] = _doc(
    "`m` with the order of elements reversed along `axis`", "flip",
    "m's shape: a view (no copy).",
    ["m : Rep or array_like\n    The values.",
     "axis : int or tuple of int, optional\n    The axes to reverse; default: all."])
