"""Softmax, log-softmax and the losses: runtime kernels (runtime_cpp/stage/kernels.h) over rows."""
import numpy as np

from ...ir.ops.nn import REDUCTIONS
from . import Kernel, register


def _axis_split(shape, axis):
    return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))


def _softmax(kernel):
    def emit(ctx, node):
        (x,) = node.args
        outer, n, inner = _axis_split(x.type.shape, node.params["axis"]) if x.type.shape \
            else (1, 1, 1)
        return [ctx.call(f"stage::{kernel}", ctx.ptr(x), ctx.out(node.sym), outer, n, inner)]
    return emit


register("softmax", Kernel(_softmax("softmax")))
register("log_softmax", Kernel(_softmax("log_softmax")))


def _nll(ctx, node):
    logp, target = node.args
    return [ctx.call("stage::nll_loss", ctx.ptr(logp), ctx.ptr(target), ctx.out(node.sym),
                     target.type.size, logp.type.shape[-1],
                     REDUCTIONS.index(node.params["reduction"]), node.params["ignore_index"],
                     ctx.where(node))]


def _cross_entropy(ctx, node):
    logits, target = node.args
    return [ctx.call("stage::cross_entropy", ctx.ptr(logits), ctx.ptr(target), ctx.out(node.sym),
                     target.type.size, logits.type.shape[-1],
                     REDUCTIONS.index(node.params["reduction"]), node.params["ignore_index"],
                     ctx.where(node))]


def _cross_entropy_grad(ctx, node):
    logits, target, w = node.args
    return [ctx.call("stage::cross_entropy_grad", ctx.ptr(logits), ctx.ptr(target), ctx.ptr(w),
                     ctx.out(node.sym), target.type.size, logits.type.shape[-1],
                     node.params["ignore_index"], ctx.where(node))]


register("nll_loss", Kernel(_nll))
register("softmax_cross_entropy", Kernel(_cross_entropy))
register("cross_entropy_grad", Kernel(_cross_entropy_grad))
