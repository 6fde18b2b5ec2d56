"""Docstrings of the shape/join/split functions, array creation and selection (`arrays.py`,
`creation.py`, `selection.py`; see `docs.py`)."""
from __future__ import annotations

from typing import Dict

DOCS: Dict[str, str] = {}


def _doc(summary, numpy, returns, params, notes=""):
    return f"""{summary}, as `numpy.{numpy}`.

Parameters
----------
{chr(10).join(params)}

Returns
-------
{returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}
Outside staging, on NumPy arrays, it computes eagerly and returns NumPy arrays.
"""


_A = "a : Rep or array_like\n    The values."
_ARY = "ary : Rep or array_like\n    The array to split."
_IOS = """indices_or_sections : int or sequence of int
    A number of (equal, for split) parts, or the static positions where to split."""
_TUP = "tup : sequence of Rep or array_like\n    The arrays (a list or tuple)."
_PARTS = "list of Rep\n    Views of the array (their gradients flow back to it)."
_VIEW = "Rep\n    A view of the input (no copy)."
_M = "m : Rep or array_like\n    The values."

DOCS["ravel"] = _doc("The elements of `a` as a 1-d array (row-major)", "ravel", _VIEW,
                     [_A, 'order : {"C", "A", "K"}, default "C"\n    Only row-major orders.'])
DOCS["repeat"] = _doc(
    "Each element of `a` repeated", "repeat", "Rep\n    The repeated array.",
    [_A, "repeats : int or sequence of int\n    Static: one count, or one per element along "
     "the axis.", "axis : int, optional\n    The axis; default: the flattened array."])
DOCS["tile"] = _doc("`A` repeated `reps` times along each axis", "tile",
                    "Rep\n    The tiled array.",
                    ["A : Rep or array_like\n    The values.",
                     "reps : int or sequence of int\n    Repetitions per axis (static)."])
DOCS["split"] = _doc("`ary` split into equal parts or at given positions", "split", _PARTS,
                     [_ARY, _IOS, "axis : int, default 0\n    The axis."])
DOCS["array_split"] = _doc("`ary` split into parts that may differ in length by one",
                           "array_split", _PARTS, [_ARY, _IOS, "axis : int, default 0\n    The axis."])
for _n, _ax in (("hsplit", "1 (0 for 1-d arrays)"), ("vsplit", "0"), ("dsplit", "2")):
    DOCS[_n] = _doc(f"`ary` split along axis {_ax}", _n, _PARTS, [_ARY, _IOS])
for _n, _d in (("atleast_1d", 1), ("atleast_2d", 2), ("atleast_3d", 3)):
    DOCS[_n] = _doc(f"Each argument viewed with at least {_d} dimension(s)", _n,
                    "Rep or list of Rep\n    One array for one argument, else a list.",
                    ["*arys : Rep or array_like\n    The arrays."])
_DT = "dtype : str or numpy.dtype, optional\n    The result's dtype."
DOCS["hstack"] = _doc("The arrays joined along axis 1 (0 for 1-d arrays)", "hstack",
                      "Rep\n    The joined array.", [_TUP, _DT])
DOCS["vstack"] = _doc("The arrays (1-d ones as rows) joined along axis 0", "vstack",
                      "Rep\n    The joined array.", [_TUP, _DT])
DOCS["dstack"] = _doc("The arrays joined along axis 2 (made at least 3-d)", "dstack",
                      "Rep\n    The joined array.", [_TUP])
DOCS["column_stack"] = _doc("1-d arrays as columns (2-d ones as they are) joined along axis 1",
                            "column_stack", "Rep\n    A 2-d array.", [_TUP])
DOCS["moveaxis"] = _doc("`a` with axes moved to new positions", "moveaxis", _VIEW,
                        [_A, "source, destination : int or sequence of int\n    Where the axes are "
                         "and where they go (the others keep their order)."])
DOCS["rollaxis"] = _doc("`a` with `axis` moved before position `start`", "rollaxis", _VIEW,
                        [_A, "axis : int\n    The axis to move.",
                         "start : int, default 0\n    The position it is moved before."])
DOCS["roll"] = _doc(
    "`a` with elements shifted cyclically along axes", "roll",
    "Rep\n    a's shape: two slices joined for static shifts, a gather for a staged one.",
    [_A, "shift : int, tuple of int or staged int\n    The shift(s); a staged integer scalar is "
     "allowed.", "axis : int or tuple of int, optional\n    The axes; default: the flattened "
     "array (its shape restored)."])
DOCS["flipud"] = _doc("`m` reversed along axis 0", "flipud", _VIEW, [_M])
DOCS["fliplr"] = _doc("`m` reversed along axis 1", "fliplr", _VIEW, [_M])
DOCS["rot90"] = _doc("`m` rotated by 90 degrees k times in the plane of `axes`", "rot90", _VIEW,
                     [_M, "k : int, default 1\n    Number of quarter turns (counterclockwise).",
                      "axes : (int, int), default (0, 1)\n    The plane."])
DOCS["append"] = _doc("`values` joined after `arr`", "append", "Rep\n    A new array.",
                      ["arr : Rep or array_like\n    The values.",
                       "values : Rep or array_like\n    The values appended.",
                       "axis : int, optional\n    The axis; default: both flattened."])
DOCS["broadcast_arrays"] = _doc("The arguments broadcast to one shape", "broadcast_arrays",
                                "tuple of Rep\n    Broadcast views (no memory).",
                                ["*args : Rep or array_like\n    The arrays."])

# -- creation -----------------------------------------------------------------------------------------
_ORDER = 'order : str, optional\n    Accepted for NumPy\'s signature (row-major only).'
_COPY = "copy : bool, optional\n    Accepted for NumPy's signature (staged values are immutable)."
DOCS["array"] = _doc(
    "An array from an array, a scalar or nested sequences that may mix staged and Python values",
    "array", "Rep or numpy.ndarray\n    Staged when any element is staged (or while staging), "
    "else a NumPy array. Nested sequences become stacks (gradients flow to each staged element).",
    ["object : Rep, array_like or nested sequence\n    The values.",
     "dtype : str or numpy.dtype, optional\n    Default: NumPy's promotion of the elements "
     "(Python numbers count as int64/float64, as in np.array).", _COPY, _ORDER,
     "ndmin : int, default 0\n    Leading size-1 dims added up to this many dims."])
DOCS["asarray"] = _doc(
    "`a` as an array: a staged value as it is, nested sequences as `array`", "asarray",
    "Rep or numpy.ndarray\n    The array.",
    ["a : Rep, array_like or nested sequence\n    The values.",
     "dtype : str or numpy.dtype, optional\n    Converted to this dtype.", _ORDER, _COPY])
DOCS["copy"] = _doc("A copy of `a` (staged values are immutable: the same value)", "copy",
                    "Rep or numpy.ndarray\n    The values.", [_A, _ORDER])
DOCS["empty"] = _doc("An array of `shape` (zeros: stage never exposes uninitialised memory)",
                     "empty", "Rep or numpy.ndarray\n    Zeros.",
                     ["shape : int or tuple of int\n    The shape.",
                      "dtype : str or numpy.dtype, optional\n    Default: the default float."])
DOCS["empty_like"] = _doc("Zeros shaped like `prototype`", "empty_like",
                          "Rep or numpy.ndarray\n    Zeros.",
                          ["prototype : Rep or array_like\n    Gives the shape and dtype.",
                           "dtype : str or numpy.dtype, optional\n    Overrides the dtype.",
                           "shape : int or tuple of int, optional\n    Overrides the shape."])
DOCS["arange"] = _doc(
    "Evenly spaced values in [start, stop)", "arange",
    "Rep or numpy.ndarray\n    1-d; int64 for integer arguments, else the default float. "
    "While staging an index expression (no memory until used).",
    ["start : int or float\n    The first value (the stop when it is the only argument).",
     "stop : int or float, optional\n    The end (excluded).",
     "step : int or float, optional\n    The spacing, default 1.",
     "dtype : str or numpy.dtype, optional\n    The result's dtype."],
    "The bounds must be static: the length of the result is its shape.")
_SPACE = ["start, stop : scalar, array_like or staged\n    The ends (broadcast; the result is "
          "differentiable with respect to staged ends).",
          "num : int, default 50\n    Number of samples (static).",
          "endpoint : bool, default True\n    Whether stop is the last sample."]
DOCS["linspace"] = _doc(
    "`num` evenly spaced samples from start to stop", "linspace",
    "Rep or numpy.ndarray\n    Shape ``(num,) + broadcast(start, stop).shape`` (the new axis at "
    "`axis`); with `retstep`, also the step.",
    _SPACE + ["retstep : bool, default False\n    Also return the step.",
              "dtype : str or numpy.dtype, optional\n    The result's dtype.",
              "axis : int, default 0\n    Where the samples' axis goes."])
DOCS["logspace"] = _doc("base ** linspace(start, stop)", "logspace",
                        "Rep or numpy.ndarray\n    As linspace.",
                        _SPACE + ["base : float, default 10.0\n    The base.",
                                  "dtype : str or numpy.dtype, optional\n    The result's dtype.",
                                  "axis : int, default 0\n    Where the samples' axis goes."])
_NM = ["N : int\n    Rows.", "M : int, optional\n    Columns; default N.",
       "k : int, default 0\n    The diagonal (> 0 above, < 0 below).",
       "dtype : str or numpy.dtype, optional\n    Default: the default float."]
DOCS["eye"] = _doc("Ones on diagonal k, zeros elsewhere", "eye",
                   "Rep or numpy.ndarray\n    (N, M); an index expression while staging.",
                   _NM + [_ORDER])
DOCS["identity"] = _doc("The n x n identity", "identity", "Rep or numpy.ndarray\n    (n, n).",
                        ["n : int\n    The size.",
                         "dtype : str or numpy.dtype, optional\n    Default: the default float."])
DOCS["tri"] = _doc("Ones at and below diagonal k, zeros above", "tri",
                   "Rep or numpy.ndarray\n    (N, M).", _NM)
DOCS["tril"] = _doc("`m` with the elements above diagonal k zeroed", "tril",
                    "Rep\n    m's shape (the last two axes); the gradient is masked alike.",
                    [_M, "k : int, default 0\n    The diagonal."])
DOCS["triu"] = _doc("`m` with the elements below diagonal k zeroed", "triu",
                    "Rep\n    m's shape (the last two axes); the gradient is masked alike.",
                    [_M, "k : int, default 0\n    The diagonal."])

# -- selection ----------------------------------------------------------------------------------------
_STATIC = ("Its result's shape depends on the values, so the condition must be known while "
           "staging (a NumPy array or a staged constant); a staged condition raises "
           "StageTypeError suggesting st.where(condition, x, y).")
_COND = "a : array_like\n    The values (static)."
DOCS["nonzero"] = _doc("The indices of the nonzero elements, one array per dimension", "nonzero",
                       "tuple of Rep or numpy.ndarray\n    int64 indices.", [_COND], _STATIC)
DOCS["argwhere"] = _doc("The indices of the nonzero elements, one row each", "argwhere",
                        "Rep or numpy.ndarray\n    (count, ndim) int64.", [_COND], _STATIC)
DOCS["flatnonzero"] = _doc("The indices of the nonzero elements of the flattened array",
                           "flatnonzero", "Rep or numpy.ndarray\n    int64.", [_COND], _STATIC)
DOCS["select"] = _doc(
    "Elements from the choice of the first true condition, else `default`", "select",
    "Rep\n    The broadcast shape, the choices' common dtype; the gradient flows to the "
    "selected choice.",
    ["condlist : sequence of bool arrays\n    The conditions (staged allowed).",
     "choicelist : sequence of arrays\n    One choice per condition.",
     "default : scalar or array_like, default 0\n    Where no condition holds."])
DOCS["compress"] = _doc("The slices of `a` where `condition` is true", "compress",
                        "Rep\n    A gather of a.",
                        ["condition : array_like of bool\n    Static (the result's shape).", _A,
                         "axis : int, optional\n    The axis; default: the flattened array."])
DOCS["extract"] = _doc("The elements of `arr` where `condition` is true", "extract",
                       "Rep\n    1-d.", ["condition : array_like of bool\n    Static.",
                                         "arr : Rep or array_like\n    The values."])
DOCS["meshgrid"] = _doc(
    "Coordinate matrices from coordinate vectors", "meshgrid",
    "tuple of Rep or numpy.ndarray\n    One array per input, shaped (len(x2), len(x1), ...) with "
    "indexing \"xy\" (the first two swapped), (len(x1), len(x2), ...) with \"ij\".",
    ["*xi : Rep or array_like\n    The coordinate vectors (flattened).",
     "copy : bool, default True\n    Ignored (staged values are immutable).",
     "sparse : bool, default False\n    Keep each result's size-1 axes (no broadcast).",
     "indexing : {\"xy\", \"ij\"}, default \"xy\"\n    Cartesian or matrix indexing."])
