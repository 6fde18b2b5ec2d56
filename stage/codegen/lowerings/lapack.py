"""inv, solve, det, slogdet, cholesky: runtime kernels (runtime_cpp/stage/linalg.h) over a stack of
matrices, each calling LAPACK."""
import numpy as np

from . import Kernel, register


def _batch(t):
    return int(np.prod(t.shape[:-2])), t.shape[-1]


def _one(kernel):
    def emit(ctx, node):
        (a,) = node.args
        batch, n = _batch(a.type)
        return [ctx.call(f"stage::{kernel}", ctx.ptr(a), ctx.out(node.sym), batch, n,
                         ctx.where(node))]
    return emit


for _op in ("inv", "det", "slogdet", "cholesky"):
    register(_op, Kernel(_one(_op)))


def _solve(ctx, node):
    a, b = node.args
    batch, n = _batch(a.type)
    return [ctx.call("stage::solve", ctx.ptr(a), ctx.ptr(b), ctx.out(node.sym), batch, n,
                     b.type.shape[-1], ctx.where(node))]


register("solve", Kernel(_solve))
