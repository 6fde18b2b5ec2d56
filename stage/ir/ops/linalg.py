"""matmul: NumPy semantics (vectors, matrices, broadcast batches); one BLAS call per product, with
transpose flags and leading dimensions taken from the operands' layouts instead of copies."""
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


def _matmul_grad(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a
    if a.ndim == 1:                                   # (k,) @ (..., k, n) -> (..., n)
        gb = F.outer(a, g) if b.ndim == 2 else a[:, None] * g[..., None, :]
        return F.matmul(b, g[..., None])[..., 0], gb
    if b.ndim == 1:                                   # (..., m, k) @ (k,) -> (..., m)
        ga = F.outer(g, b) if a.ndim == 2 else g[..., :, None] * b
        if a.ndim > 2:                                # fold the batch into the rows: one gemv
            return ga, F.matmul(_swap(F.reshape(a, (-1, a.shape[-1]))), F.reshape(g, (-1,)))
        return ga, F.matmul(_swap(a), g)
    ga = F.matmul(g, _swap(b))
    if b.ndim == 2 and a.ndim > 2:                    # shared weight: one gemm over all rows
        gb = F.matmul(_swap(F.reshape(a, (-1, a.shape[-1]))), F.reshape(g, (-1, g.shape[-1])))
    else:
        gb = F.matmul(_swap(a), g)
    return ga, gb


def _as_matrix(shape, strides, rows, cols):
    """BLAS (transpose flag, leading dimension) for a 2-D operand, or None if it needs a copy."""
    s0, s1 = strides
    if rows == 0 or cols == 0:          # nothing is read (stage::matmul fills C when K == 0)
        return "false", max(cols, 1)
    if cols == 1:
        s1 = 1
    if rows == 1:
        s0 = max(cols, 1)
    if s1 == 1 and s0 >= max(cols, 1):
        return "false", s0
    if s0 == 1 and s1 >= max(rows, 1):
        return "true", s1
    return None


def _matmul_cpp(lw, node, out=None, beta=0):
    a, b = node.args
    C = out or lw.out_ptr(node.sym)
    lines = _emit(lw.layout(a), lw.layout(b), C, beta)
    if lines is None:       # an operand BLAS cannot read in place is copied to a contiguous buffer
        lines = _emit(lw.layout(a, contiguous=True), lw.layout(b, contiguous=True), C, beta)
    return lines


_CALL = "stage::matmul({ta}, {tb}, {M}, {N}, {K}, {A}, {lda}, {B}, {ldb}, {beta}, {C}, {ldc});"


def _emit(la, lb, C, beta):
    ash, ast = la.shape, la.strides
    bsh, bst = lb.shape, lb.strides
    if len(ash) == 1:
        ash, ast = (1,) + ash, (0,) + ast
    if len(bsh) == 1:
        bsh, bst = bsh + (1,), bst + (0,)
    m, k, n = ash[-2], ash[-1], bsh[-1]
    batch = broadcast_shapes(ash[:-2], bsh[:-2])
    nb = len(batch)
    abst = (0,) * (nb - len(ash) + 2) + _batch_strides(ash, ast)
    bbst = (0,) * (nb - len(bsh) + 2) + _batch_strides(bsh, bst)
    fa = _as_matrix(ash[-2:], ast[-2:], m, k)
    fb = _as_matrix(bsh[-2:], bst[-2:], k, n)
    if fa is None or fb is None:
        return None
    A, B = la.pointer(), lb.pointer()
    args = dict(ta=fa[0], tb=fb[0], N=n, K=k, lda=fa[1], ldb=fb[1], beta=beta, ldc=n)
    if not nb:
        return [_CALL.format(M=m, A=A, B=B, C=C, **args)]
    if all(s == 0 for s in bbst) and fa[0] == "false" and \
            _rows_collapse(batch, abst, ash[-2:], ast[-2:]):
        # a shared right operand: the whole batch is one product with batch*m rows
        return [_CALL.format(M=int(np.prod(batch)) * m, A=A, B=B, C=C, **args)]
    # a loop over the batch, one product each
    lines, ia, ib, ic = [], [], [], []
    for d in range(nb):
        lines.append(f"{'  ' * d}for (int64_t b{d} = 0; b{d} < {batch[d]}; ++b{d}) {{")
        ia.append(f"b{d} * {abst[d]}")
        ib.append(f"b{d} * {bbst[d]}")
        ic.append(f"b{d} * {int(np.prod(batch[d + 1:])) * m * n}")
    lines.append("  " * nb + _CALL.format(M=m, A=f"{A} + {' + '.join(ia)}",
                                          B=f"{B} + {' + '.join(ib)}",
                                          C=f"{C} + {' + '.join(ic)}", **args))
    lines += ["  " * d + "}" for d in reversed(range(nb))]
    return lines


def _batch_strides(shape, strides):
    """Strides of an operand's batch dims; a size-1 dim broadcast over the batch is read again."""
    return tuple(0 if n == 1 else s for n, s in zip(shape[:-2], strides[:-2]))


def _rows_collapse(batch, bstrides, mshape, mstrides):
    """Whether the batch dims and the row dim of an operand form one evenly strided row range."""
    expect = mstrides[0]
    step = mshape[0]
    for n, s in zip(reversed(batch), reversed(bstrides)):
        if n != 1 and s != expect * step:
            return False
        step *= n
    return True


def _matmul_into(lw, node, target, accumulate):
    from ...codegen.cpp import literal
    return _matmul_cpp(lw, node, out=target.pointer(),
                       beta=literal(1, target.dtype) if accumulate else 0)


OpDef("matmul", _matmul_infer, np.matmul, "kernel", _matmul_cpp, _matmul_grad, nargs=2,
      into=_matmul_into, into_effects=("accum", "store"))


def _outer_infer(ts):
    a, b = ts
    if a.dtype != b.dtype or a.dtype not in FLOATS or a.ndim != 1 or b.ndim != 1:
        raise shape_error("outer", "needs two floating-point vectors of the same dtype", a, b)
    return TensorType(a.dtype, a.shape + b.shape)


def _outer_cpp(lw, node):
    a, b = node.args
    m, n = a.type.shape[0], b.type.shape[0]
    return [f"stage::outer({lw.ptr(a)}, {lw.ptr(b)}, {lw.out_ptr(node.sym)}, {m}, {n});"]


# outer(a, b)[i, j] = a[i] * b[j]: the weight gradient of a vector-matrix product. Accumulated into a
# ref (a weight's gradient inside a recursion) it is deferred and applied as one gemm per ref.
def _outer_into(lw, node, target, accumulate):
    a, b = node.args
    return [f"stage::defer_outer({target.pointer()}, {lw.ptr(a)}, {lw.ptr(b)}, "
            f"{a.type.shape[0]}, {b.type.shape[0]});"]


OpDef("outer", _outer_infer, np.outer, "kernel", _outer_cpp,
      lambda g, out, a, b: (F.matmul(g, b), F.matmul(a, g)), nargs=2,
      into=_outer_into, into_effects=("accum",), deferred=True)
