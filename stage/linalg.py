"""`st.linalg`: numpy.linalg's functions over staged values (and NumPy arrays outside staging).

`inv`, `solve`, `det`, `slogdet` and `cholesky` call LAPACK (the OpenBLAS stage links against) on
each matrix of a stack `(..., n, n)`, with their gradients; `norm` computes vector and matrix norms
from reductions. A singular matrix (or, for `cholesky`, one that is not positive definite) raises
`ValueError` when the compiled code runs, as NumPy's `LinAlgError` (a `ValueError`) does.
"""
from .ir.functions.linalg import (SlogdetResult, cholesky, det, inv, matmul, norm,  # noqa: F401
                                  outer, slogdet, solve, tensordot, vdot)

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "norm", "matmul", "outer", "tensordot",
           "vdot", "SlogdetResult"]
