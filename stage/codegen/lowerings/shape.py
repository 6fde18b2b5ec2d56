"""Shape ops: views are layouts over the input's memory (no copy); the rest are loops and runtime
kernels."""
import numpy as np

from ...ir.ops.shape import _spec_shape
from . import Kernel, View, register

register("reshape", View(lambda ctx, node: ctx.layout(node.args[0]).reshape(node.params["shape"])))
register("transpose", View(lambda ctx, node: ctx.layout(node.args[0]).transpose(node.params["axes"])))
register("broadcast_to", View(
    lambda ctx, node: ctx.layout(node.args[0]).broadcast_to(node.params["shape"])))
register("getitem", View(lambda ctx, node: ctx.index_view(node, 1)))


def _setitem_add(ctx, node):
    x, v = node.args[:2]
    stmts = ctx.copy_into(node.sym, x)
    target = ctx.index_view(node, 2, base=ctx.out_layout(node.sym))
    return stmts + ctx.loop_into(target, v, accumulate=True)


# out = x with out[spec] += v. Accumulated into a ref, only the indexed positions of the ref are
# touched; the value added is computed in the loop that adds it.
register("setitem_add", Kernel(
    _setitem_add, into=lambda ctx, node, target, acc: ctx.sparse_into(node, target),
    into_combine=("add",),
    fuses=lambda node, s: node.args[1] is s and
    _spec_shape(node.args[0].type.shape, node.params["spec"]) == s.type.shape))


def _concatenate(ctx, node):
    axis = node.params["axis"]
    out = ctx.out_layout(node.sym)
    stmts, start = [], 0
    for x in node.args:
        n = x.type.shape[axis]
        stmts += ctx.loop_into(out.slice(axis, start, n), x)
        start += n
    return stmts


register("concatenate", Kernel(_concatenate))


def _axis_split(shape, axis):
    return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))


def _take(ctx, node):
    a, idx = node.args
    outer, n, inner = _axis_split(a.type.shape, node.params["axis"])
    return [ctx.call("stage::take", ctx.ptr(a), ctx.ptr(idx), ctx.out(node.sym), outer, n,
                     idx.type.size, inner, ctx.where(node))]


register("take", Kernel(_take))


def _scatter_add(ctx, node):
    x, idx, v = node.args
    outer, n, inner = _axis_split(x.type.shape, node.params["axis"])
    stmts = ctx.copy_into(node.sym, x)
    return stmts + [ctx.call("stage::scatter_add", ctx.out(node.sym), ctx.ptr(idx), ctx.ptr(v),
                             outer, n, idx.type.size, inner, ctx.where(node))]


# out = x; out[idx] += v along axis: accumulated into a ref, the ref is updated in place
register("scatter_add", Kernel(
    _scatter_add, into=lambda ctx, node, target, acc: ctx.sparse_into(node, target),
    into_combine=("add",)))
