"""matmul: one BLAS call per product (runtime `stage::matmul`, row-major gemm/gemv), with transpose
flags and leading dimensions read off the operands' layouts instead of copying them; a batch shared
by a right operand folds into the rows; the products of a batch run on several threads when they
are worth it (a big product is split by the runtime itself). outer: a runtime kernel, deferred when
accumulated."""
import numpy as np

from ...ir.types import broadcast_shapes
from .. import parallel
from ..cpp import literal
from ..loopir import loop_nest
from . import Kernel, register


def _as_matrix(strides, rows, cols):
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


def _matmul(ctx, node, out=None, beta=0, alpha=None):
    a, b = node.args
    C = out or ctx.out(node.sym)
    stmts = _products(ctx, ctx.layout(a), ctx.layout(b), C, beta, alpha)
    if stmts is None:       # an operand BLAS cannot read in place is copied to a contiguous buffer
        stmts = _products(ctx, ctx.layout(a, contiguous=True), ctx.layout(b, contiguous=True), C,
                          beta, alpha)
    return stmts


def _products(ctx, la, lb, C, beta, alpha):
    if la.kind != "ptr" or lb.kind != "ptr":      # a broadcast scalar: BLAS needs memory
        return None
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
    fa = _as_matrix(ast[-2:], m, k)
    fb = _as_matrix(bst[-2:], k, n)
    if fa is None or fb is None:
        return None
    A, B = la.pointer(), lb.pointer()

    def gemm(M, A, B, C):
        scale = () if alpha is None else (alpha,)
        return ctx.call("stage::matmul", fa[0], fb[0], M, n, k, A, fa[1], B, fb[1], beta, C, n,
                        *scale)
    if not nb:
        return [gemm(m, A, B, C)]
    # (the rows' stride is the leading dimension the gemm is given: for a single row _as_matrix
    # chose it, whatever the layout's own stride of that size-1 dim -- a broadcast has 0)
    if all(s == 0 for s in bbst) and fa[0] == "false" and \
            _rows_collapse(batch, abst, ash[-2:], (fa[1], ast[-1])):
        # a shared right operand: the whole batch is one product with batch*m rows
        return [gemm(int(np.prod(batch)) * m, A, B, C)]

    def body(v):                            # a loop over the batch, one product each
        def at(base, strides):
            terms = [f"{v[d]} * {strides[d]}" for d in range(nb) if strides[d]]
            return f"{base} + {' + '.join(terms)}" if terms else base
        cst = [int(np.prod(batch[d + 1:])) * m * n for d in range(nb)]
        return [gemm(m, at(A, abst), at(B, bbst), at(C, cst))]
    nest = loop_nest(batch, body, pragma_inner=None, names=[f"b{d}" for d in range(nb)])
    per_iter = int(np.prod(batch[1:])) * m * n * k         # multiply-adds per outermost iteration
    if parallel.worth(batch[0], per_iter):
        nest[0].parallel = parallel.grain(per_iter)         # independent products: one per thread
    return nest


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


# into an accumulation (beta = 1) or an in-place update (beta = 0): a gemm straight into the target;
# one term of a sum: alpha times it added to the target holding the other terms (beta = 1)
register("matmul", Kernel(
    _matmul, into=lambda ctx, node, target, accumulate: _matmul(
        ctx, node, out=target.pointer(), beta=literal(1, target.dtype) if accumulate else 0),
    into_combine=("add", "replace"),
    scaled_into=lambda ctx, node, target, alpha: _matmul(
        ctx, node, out=target.pointer(), beta=literal(1, target.dtype), alpha=alpha)))


def _outer(ctx, node):
    a, b = node.args
    return [ctx.call("stage::outer", ctx.ptr(a), ctx.ptr(b), ctx.out(node.sym),
                     a.type.shape[0], b.type.shape[0])]


# Accumulated into a ref (a weight's gradient inside a recursion) an outer product is deferred and
# applied as one gemm per ref when the ref is read (runtime deferred.h).
register("outer", Kernel(
    _outer, into=lambda ctx, node, target, accumulate: [ctx.call(
        "stage::defer_outer", target.pointer(), ctx.ptr(node.args[0]), ctx.ptr(node.args[1]),
        node.args[0].type.shape[0], node.args[1].type.shape[0])],
    into_combine=("add",), deferred=True))
