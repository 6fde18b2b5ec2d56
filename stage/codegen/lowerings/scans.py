"""prod (a reduction loop), and the runtime kernels of runtime_cpp/stage/scans.h: cumulative sums and
products, argmin, argsort, gathers and scatters along an axis."""
import numpy as np

from . import Kernel, Reduction, register

register("prod", Reduction("one", "{acc} * {x}", "*"))


def _split(shape, axis):
    """(outer, n, inner) of an axis of a contiguous array."""
    if not shape:
        return 1, 1, 1
    return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))


def _along(kernel):
    def emit(ctx, node):
        (x,) = node.args
        axis = node.params["axis"]
        outer, n, inner = (1, x.type.size, 1) if axis is None else _split(x.type.shape, axis)
        return [ctx.call(f"stage::{kernel}", ctx.ptr(x), ctx.out(node.sym), outer, n, inner)]
    return emit


for _op in ("cumsum", "cumprod", "argmin", "argsort"):
    register(_op, Kernel(_along(_op)))


def _linear_scan(ctx, node):
    a, b = node.args
    outer, n, inner = _split(b.type.shape, node.params["axis"])
    return [ctx.call("stage::linear_scan", ctx.ptr(a), ctx.ptr(b), ctx.out(node.sym), outer, n,
                     inner, "true" if node.params["reverse"] else "false")]


register("linear_scan", Kernel(_linear_scan))


def _take_along_axis(ctx, node):
    a, idx = node.args
    outer, n, inner = _split(a.type.shape, node.params["axis"])
    m = idx.type.shape[node.params["axis"]]
    return [ctx.call("stage::take_along_axis", ctx.ptr(a), ctx.ptr(idx), ctx.out(node.sym), outer,
                     n, m, inner, ctx.where(node))]


register("take_along_axis", Kernel(_take_along_axis))


def _scatter(kernel):
    def emit(ctx, node):
        x, idx, v = node.args
        outer, n, inner = _split(x.type.shape, node.params["axis"])
        m = idx.type.shape[node.params["axis"]]
        return ctx.copy_into(node.sym, x) + [
            ctx.call(f"stage::{kernel}", ctx.out(node.sym), ctx.ptr(idx), ctx.ptr(v), outer, n, m,
                     inner, ctx.where(node))]
    return emit


# accumulated into a ref (a gradient), the ref is updated in place
register("scatter_add_along_axis", Kernel(
    _scatter("scatter_add_along_axis"),
    into=lambda ctx, node, target, acc: ctx.sparse_into(node, target), into_combine=("add",)))
register("scatter_along_axis", Kernel(_scatter("scatter_along_axis")))
