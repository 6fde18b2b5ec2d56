"""Docstrings of the products, einsum and `st.linalg` (`linalg.py`, `einsum.py`; see `docs.py`)."""
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
Rep
    {returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}
Outside staging, on NumPy arrays, it computes eagerly and returns NumPy arrays.
"""


_AB = "a, b : Rep or array_like\n    The operands, promoted to a common dtype."
_OUT = "out : None\n    Only None (staged values are immutable)."
_BLAS = ("Floating-point contractions are one matrix product through BLAS (after transposes and "
         "reshapes); integer ones multiply and sum, exact in their dtype, as NumPy.")

DOCS["dot"] = _doc(
    "The dot product with NumPy's shape rules", "dot",
    "0-d operands multiply; 1-d with 1-d is the inner product; otherwise the sum over a's last "
    "axis and b's second-to-last (b's only axis if 1-d): shape ``a.shape[:-1] + b.shape[:-2] + "
    "b.shape[-1:]``. (Not `matmul`: N-d operands do not broadcast as batches.)",
    [_AB, _OUT], _BLAS)
DOCS["vdot"] = _doc("The dot product of the flattened operands", "vdot", "A scalar.", [_AB])
DOCS["inner"] = _doc("The sum over the last axes of a and b", "inner",
                     "Shape ``a.shape[:-1] + b.shape[:-1]`` (0-d operands multiply).", [_AB], _BLAS)
DOCS["outer"] = _doc("The outer product of the flattened operands", "outer",
                     "Shape ``(a.size, b.size)``.", [_AB, _OUT])
DOCS["tensordot"] = _doc(
    "The sum of products over the given axes", "tensordot",
    "a's free axes followed by b's.",
    [_AB, "axes : int or (sequence, sequence), default 2\n    The last `axes` axes of a with the "
     "first of b, or the two lists of axes summed over."], _BLAS)
DOCS["kron"] = _doc("The Kronecker product", "kron",
                    "Each dimension the product of the operands' (fewer dims padded with 1s).",
                    [_AB])
DOCS["cross"] = _doc(
    "The cross product of 3-vectors (or the z component for 2-vectors)", "cross",
    "The broadcast shape with the vectors' axis at `axisc`.",
    [_AB, "axisa, axisb, axisc : int, default -1\n    The vectors' axis in a, b and the result.",
     "axis : int, optional\n    Overrides all three."])
DOCS["diag"] = _doc(
    "A 1-d array's diagonal matrix, or a 2-d array's diagonal", "diag",
    "2-d for a 1-d input (an index expression: where the diagonal matches), 1-d for a 2-d one.",
    ["v : Rep or array_like\n    1-d or 2-d.", "k : int, default 0\n    The diagonal."])
DOCS["diagflat"] = _doc("The flattened input on diagonal k of a 2-d array", "diagflat",
                        "2-d.", ["v : Rep or array_like\n    Flattened first.",
                                 "k : int, default 0\n    The diagonal."])
DOCS["einsum"] = _doc(
    "Einstein summation over the operands' subscripts", "einsum",
    "The output subscripts' shape (implicit output: the letters appearing once, sorted, after "
    "the ellipsis dims).",
    ["subscripts : str\n    Such as ``'ij,jk->ik'``, ``'ii'`` (repeated: the diagonal), "
     "``'...ij,...jk'`` (ellipsis broadcasting).",
     "*operands : Rep or array_like\n    One per comma-separated term.", _OUT,
     "dtype : str or numpy.dtype, optional\n    Compute and return in this dtype.",
     "order, casting : str\n    Accepted for NumPy's signature.",
     "optimize : bool or str\n    Accepted for NumPy's signature (operands are contracted left "
     "to right)."],
    "Each pairwise contraction becomes transposes, reshapes and one batched matrix product "
    "through BLAS (a broadcast multiply when nothing is summed), so gradients are those of the "
    "pieces.")
DOCS["matmul"] = _doc(
    "The matrix product `a @ b`", "matmul",
    "NumPy's matmul shape: 1-d operands are vectors, leading (batch) dimensions broadcast. Floats "
    "use BLAS (gemm/gemv) in native code; integers stay exact in their dtype.",
    [_AB])

_SQ = "a : Rep or array_like\n    Square matrices (..., n, n); integers compute in floating point."
_SING = ("A singular matrix raises ValueError when the compiled code runs (NumPy raises "
         "LinAlgError, a ValueError).")
DOCS["inv"] = _doc("The inverse of each matrix (LAPACK getrf/getri)", "linalg.inv",
                   "a's shape. The gradient is ``-inv(a).T @ g @ inv(a).T``.", [_SQ], _SING)
DOCS["solve"] = _doc(
    "x with a @ x = b (LAPACK gesv)", "linalg.solve",
    "b's shape (batch broadcast). The gradients are ``solve(a.T, g)`` for b and ``-gb @ x.T`` "
    "for a.",
    [_SQ, "b : Rep or array_like\n    (..., n, k), or (n,) for one vector (NumPy 2's rule)."],
    _SING)
DOCS["det"] = _doc("The determinant of each matrix (from its LU factors)", "linalg.det",
                   "a's batch shape. The gradient is ``g * det(a) * inv(a).T`` (it needs a "
                   "non-singular a).", [_SQ])
DOCS["slogdet"] = _doc(
    "The sign and the log of the absolute value of each determinant", "linalg.slogdet",
    "A named pair (sign, logabsdet), each of a's batch shape; a singular matrix gives sign 0 "
    "and -inf. logabsdet's gradient is ``inv(a).T``; the sign has none.", [_SQ])
DOCS["cholesky"] = _doc(
    "The Cholesky factor L (L @ L.T = a) of each symmetric positive-definite matrix",
    "linalg.cholesky",
    "a's shape, lower triangular (upper: its transpose). The gradient is the symmetric one of "
    "PyTorch and JAX (only a's lower triangle is read).",
    [_SQ, "upper : bool, default False\n    Return the upper factor L.T instead."],
    "A matrix that is not positive definite raises ValueError when the compiled code runs.")
DOCS["norm"] = _doc(
    "Vector or matrix norms", "linalg.norm",
    "The norm over `axis` (all of x without ord and axis). The 2-norm's gradient at 0 is 0.",
    ["x : Rep or array_like\n    The values.",
     "ord : {None, 'fro', inf, -inf, 0, 1, -1, 2, p}, optional\n    Vector orders: None/2, inf, "
     "-inf, 0 (count), 1 and any p; matrix orders: None/'fro', 1, -1, inf, -inf. The spectral "
     "and nuclear norms (2, -2, 'nuc' for matrices) are refused: they need singular values.",
     "axis : int or (int, int), optional\n    One axis: vector norms; two: matrix norms.",
     "keepdims : bool, default False\n    Keep the reduced axes with size 1."])
