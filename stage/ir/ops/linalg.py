"""matmul (NumPy semantics: vectors, matrices, broadcast batches) and outer products."""
import numpy as np

from ..types import FLOATS, TensorType, broadcast_shapes
from . import OpDef, shape_error
from .. import functions as F


def _matmul_infer(ts):
    a, b = ts
    if a.dtype != b.dtype or a.dtype not in FLOATS:
        raise shape_error("matmul", "needs two floating-point arguments of the same dtype", a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise shape_error("matmul", "arguments must have at least one dimension", a, b)
    ash = (1,) + a.shape if a.ndim == 1 else a.shape
    bsh = b.shape + (1,) if b.ndim == 1 else b.shape
    if ash[-1] != bsh[-2]:
        raise shape_error("matmul", f"inner dimensions differ ({ash[-1]} vs {bsh[-2]})", a, b)
    try:
        batch = broadcast_shapes(ash[:-2], bsh[:-2])
    except ValueError:
        raise shape_error("matmul", "batch dimensions cannot be broadcast", a, b) from None
    shape = batch + (ash[-2],) * (a.ndim > 1) + (bsh[-1],) * (b.ndim > 1)
    return TensorType(a.dtype, shape)


def _swap(x):
    return F.swapaxes(x, -1, -2)


def _rows(x):
    """x's leading dims folded into rows (explicit sizes: with a last dim of 0, -1 is ambiguous)."""
    return F.reshape(x, (int(np.prod(x.shape[:-1])), x.shape[-1]))


def _matmul_grad(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a
    if a.ndim == 1:                                   # (k,) @ (..., k, n) -> (..., n)
        gb = F.outer(a, g) if b.ndim == 2 else a[:, None] * g[..., None, :]
        return F.matmul(b, g[..., None])[..., 0], gb
    if b.ndim == 1:                                   # (..., m, k) @ (k,) -> (..., m)
        ga = F.outer(g, b) if a.ndim == 2 else g[..., :, None] * b
        if a.ndim > 2:                                # fold the batch into the rows: one gemv
            return ga, F.matmul(_swap(_rows(a)), F.reshape(g, (g.size,)))
        return ga, F.matmul(_swap(a), g)
    ga = F.matmul(g, _swap(b))
    if b.ndim == 2 and a.ndim > 2:                    # shared weight: one gemm over all rows
        gb = F.matmul(_swap(_rows(a)), _rows(g))
    else:
        gb = F.matmul(_swap(a), g)
    return ga, gb


OpDef("matmul", _matmul_infer, np.matmul, "general", _matmul_grad, nargs=2)


def _outer_infer(ts):
    a, b = ts
    if a.dtype != b.dtype or a.dtype not in FLOATS or a.ndim != 1 or b.ndim != 1:
        raise shape_error("outer", "needs two floating-point vectors of the same dtype", a, b)
    return TensorType(a.dtype, a.shape + b.shape)


# outer(a, b)[i, j] = a[i] * b[j]: the weight gradient of a vector-matrix product
OpDef("outer", _outer_infer, np.outer, "general",
      lambda g, out, a, b: (F.matmul(g, b), F.matmul(a, g)), nargs=2)
