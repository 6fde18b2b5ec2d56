"""Products and linear algebra as NumPy: dot (N-d, 0-d), vdot, inner, outer, tensordot, kron,
cross, diag, diagflat, and numpy.linalg's inv, solve, det, slogdet, cholesky, norm. Float
contractions go through BLAS (transposes and reshapes to one matmul); integer ones multiply and sum
(NumPy keeps their dtype)."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep
from ..types import FLOATS
from .base import _axis, _common_dtype, _staging, apply, as_value, astype
from .elementwise import abs, equal, greater, multiply, not_equal, power, sqrt, where
from .nn import matmul
from .reduce import _dtype_name, max, min, sum
from .shape import broadcast_to, concatenate, expand_dims, iota, reshape, stack, transpose
from .stats import diagonal

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SlogdetResult.__doc__ = """What `st.linalg.slogdet` returns, as NumPy's SlogdetResult.

Parameters
----------
sign : Rep
    The sign of each determinant: 1, -1, or 0 for a singular matrix.
logabsdet : Rep
    The natural log of its absolute value (-inf for a singular matrix).
"""


def _pair(a, b):
    """a and b in their common dtype (staged values while staging, NumPy arrays otherwise)."""
    dt = _common_dtype(a, b)
    return as_value(a, dt), as_value(b, dt)


def _contract(a, b, axes_a, axes_b):
    """tensordot: a's free axes, then b's; one matmul for floats."""
    free_a = [d for d in range(np.ndim(a)) if d not in axes_a]
    free_b = [d for d in range(np.ndim(b)) if d not in axes_b]
    sa, sb = np.shape(a), np.shape(b)
    k = int(np.prod([sa[d] for d in axes_a]))
    if [sa[x] for x in axes_a] != [sb[y] for y in axes_b]:
        raise StageTypeError(f"shape-mismatch for sum: {sa} and {sb} along axes {axes_a} and "
                             f"{axes_b}")
    shape = tuple(sa[d] for d in free_a) + tuple(sb[d] for d in free_b)
    m = int(np.prod([sa[d] for d in free_a]))
    n = int(np.prod([sb[d] for d in free_b]))
    A = reshape(transpose(a, free_a + list(axes_a)), (m, k))
    B = reshape(transpose(b, list(axes_b) + free_b), (k, n))
    if _dtype_name(A) in FLOATS:
        out = matmul(A, B)
    else:                                    # integers: NumPy keeps them exact, in their dtype
        out = sum(expand_dims(A, 2) * expand_dims(B, 0), 1)
        dt = _dtype_name(A)
        out = not_equal(out, 0) if dt == "bool" else astype(out, dt)
    return reshape(out, shape)


def tensordot(a, b, axes=2):
    a, b = _pair(a, b)
    if np.ndim(axes) == 0:
        n = int(axes)
        axes_a = list(range(np.ndim(a) - n, np.ndim(a)))
        axes_b = list(range(n))
    else:
        axes_a, axes_b = ([int(x)] if np.ndim(x) == 0 else [int(y) for y in x] for x in axes)
        axes_a = [_axis(x, np.ndim(a)) for x in axes_a]
        axes_b = [_axis(x, np.ndim(b)) for x in axes_b]
    if len(axes_a) != len(axes_b):
        raise StageTypeError("tensordot: the two axes lists must have the same length")
    return _contract(a, b, axes_a, axes_b)


def dot(a, b, out=None):
    if out is not None:
        raise StageTypeError("dot: out= is not supported (staged values are immutable)")
    a, b = _pair(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    if np.ndim(b) <= 2 and _dtype_name(a) in FLOATS:        # matmul's shapes coincide here
        return matmul(a, b)
    return _contract(a, b, [np.ndim(a) - 1], [builtins.max(np.ndim(b) - 2, 0)])


def vdot(a, b):
    a, b = _pair(a, b)
    return dot(reshape(a, (-1,)), reshape(b, (-1,)))


def inner(a, b):
    a, b = _pair(a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    return _contract(a, b, [np.ndim(a) - 1], [np.ndim(b) - 1])


def outer(a, b, out=None):
    if out is not None:
        raise StageTypeError("outer: out= is not supported (staged values are immutable)")
    a, b = _pair(a, b)
    a, b = reshape(a, (-1,)), reshape(b, (-1,))
    if _dtype_name(a) in FLOATS and _staging(a, b):
        return apply("outer", a, b)
    return multiply(expand_dims(a, 1), expand_dims(b, 0))


def kron(a, b):
    a, b = _pair(a, b)
    nd = builtins.max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    A = reshape(a, tuple(v for n in sa for v in (n, 1)))
    B = reshape(b, tuple(v for n in sb for v in (1, n)))
    return reshape(multiply(A, B), tuple(m * n for m, n in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _pair(a, b)
    from .arrays import moveaxis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    if na == 2 and nb == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    c0 = (a1 * b2 if b2 is not None else 0) - (a2 * b1 if a2 is not None else 0)
    c1 = (a2 * b0 if a2 is not None else 0) - (a0 * b2 if b2 is not None else 0)
    c2 = a0 * b1 - a1 * b0
    parts = [c0, c1, c2]
    shape = np.broadcast_shapes(*[np.shape(p) for p in parts])
    c = stack([broadcast_to(as_value(p, _dtype_name(a)), shape) for p in parts], -1)
    return moveaxis(c, -1, axisc)


def diag(v, k=0):
    v = as_value(v)
    if np.ndim(v) == 2:
        return diagonal(v, k)
    if np.ndim(v) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = np.shape(v)[0] + builtins.abs(k)
    pad = concatenate([v, as_value(np.zeros(builtins.abs(k), _dtype_name(v)))])
    r = iota((n, n), 0) if isinstance(v, Rep) else np.arange(n)[:, None]
    c = iota((n, n), 1) if isinstance(v, Rep) else np.arange(n)[None, :]
    vals = expand_dims(pad, 1) if k >= 0 else expand_dims(pad, 0)   # indexed by row or column
    return where(equal(c - r, int(k)), vals, 0)


def diagflat(v, k=0):
    return diag(reshape(as_value(v), (-1,)), k)


# -- numpy.linalg -------------------------------------------------------------------------------------

def _float_matrix(a, name):
    a = as_value(a, _common_dtype(a, float_only=True))
    if np.ndim(a) < 2 or np.shape(a)[-1] != np.shape(a)[-2]:
        raise StageTypeError(f"{name}: Last 2 dimensions of the array must be square "
                             f"(got shape {np.shape(a)})")
    return a


def inv(a):
    return apply("inv", _float_matrix(a, "inv"))


def solve(a, b):
    a = _float_matrix(a, "solve")
    b = as_value(b, _dtype_name(a))
    vector = np.ndim(b) == 1                   # NumPy 2: only a 1-d b is a vector
    if vector:
        b = reshape(b, (-1, 1))
    batch = np.broadcast_shapes(np.shape(a)[:-2], np.shape(b)[:-2])
    a = broadcast_to(a, batch + np.shape(a)[-2:])
    b = broadcast_to(b, batch + np.shape(b)[-2:])
    x = apply("solve", a, b)
    return reshape(x, np.shape(x)[:-1]) if vector else x


def det(a):
    return apply("det", _float_matrix(a, "det"))


def slogdet(a):
    r = apply("slogdet", _float_matrix(a, "slogdet"))
    return SlogdetResult(r[..., 0], r[..., 1])


def cholesky(a, /, *, upper=False):
    L = apply("cholesky", _float_matrix(a, "cholesky"))
    return transpose(L, tuple(range(np.ndim(L) - 2)) + (np.ndim(L) - 1, np.ndim(L) - 2)) \
        if upper else L


def _safe_sqrt(s):
    """sqrt with the subgradient 0 at 0 (a norm's kink), not 0 * inf = NaN."""
    pos = greater(s, 0)
    return where(pos, sqrt(where(pos, s, 1)), 0)


def norm(x, ord=None, axis=None, keepdims=False):
    x = as_value(x, _common_dtype(x, float_only=True))
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            return _keep(_safe_sqrt(sum(x * x)), nd, range(nd), keepdims)
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(_axis(a, nd) for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _keep(r, nd, axes, keepdims):
    return reshape(r, _kept(np.shape(r), nd, axes)) if keepdims else r


def _kept(rshape, nd, axes):
    it = iter(rshape)
    return tuple(1 if d in axes else next(it) for d in range(nd))


def _vector_norm(x, ord, ax, keepdims):
    nd = np.ndim(x)
    if ord is None or ord == 2:
        r = _safe_sqrt(sum(x * x, ax))
    elif ord == np.inf:
        r = max(abs(x), ax)
    elif ord == -np.inf:
        r = min(abs(x), ax)
    elif ord == 0:
        r = astype(sum(astype(x != 0, _dtype_name(x)), ax), _dtype_name(x))
    elif ord == 1:
        r = sum(abs(x), ax)
    elif isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    else:
        r = power(sum(power(abs(x), float(ord)), ax), 1.0 / float(ord))
    return _keep(r, nd, (ax,), keepdims)


def _matrix_norm(x, ord, axes, keepdims):
    nd = np.ndim(x)
    r0, c0 = axes
    if ord is None or ord == "fro":
        r = _safe_sqrt(sum(x * x, axes))
    elif ord in (1, -1):
        s = sum(abs(x), r0)                         # column sums
        c = c0 - 1 if c0 > r0 else c0
        r = max(s, c) if ord == 1 else min(s, c)
    elif ord in (np.inf, -np.inf):
        s = sum(abs(x), c0)                         # row sums
        r_ = r0 - 1 if r0 > c0 else r0
        r = max(s, r_) if ord == np.inf else min(s, r_)
    elif ord in (2, -2, "nuc"):
        raise StageTypeError(f"norm: ord={ord!r} needs singular values, which stage does not "
                             f"compute (supported: None, 'fro', 1, -1, inf, -inf)")
    else:
        raise ValueError("Invalid norm order for matrices.")
    return _keep(r, nd, axes, keepdims)


__all__ = ["tensordot", "dot", "vdot", "inner", "outer", "kron", "cross", "diag", "diagflat"]
LINALG = ["inv", "solve", "det", "slogdet", "cholesky", "norm"]
