"""Reductions: loops built by `codegen.loops` from an identity and a combination; argmax is a
runtime kernel."""
import numpy as np

from . import Kernel, Reduction, register

# a sum whose only use is an accumulation into a ref is computed straight into the ref
register("sum", Reduction("zero", "{acc} + {x}", "+",
                          into=lambda ctx, node, target, acc: ctx.reduce_into(node, target),
                          into_combine=("add",)))
register("max", Reduction("lowest", "({x} > {acc} || {x} != {x}) ? {x} : {acc}", "max",
                          nan_propagating=True))


def _argmax(ctx, node):
    (x,) = node.args
    axis = node.params["axis"]
    shape = x.type.shape
    outer, n, inner = (1, x.type.size, 1) if axis is None else (
        int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:])))
    return [ctx.call("stage::argmax", ctx.ptr(x), ctx.out(node.sym), outer, n, inner)]


register("argmax", Kernel(_argmax))
