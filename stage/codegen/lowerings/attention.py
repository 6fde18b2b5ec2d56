"""Fused attention: the kernels of runtime_cpp/stage/attention.h, given the geometry of the node
(the batch dimensions flattened: the operands are made contiguous first)."""
import math

from . import Kernel, register


def _shape(node):
    q, k, v = (a.type.shape for a in node.args[:3])
    dims = (math.prod(q[:-2]), q[-2], k[-2], q[-1], v[-1])
    causal = "true" if node.params["causal"] else "false"
    return "stage::AttentionShape{" + ", ".join(str(d) for d in dims) + \
        f", {causal}, {float(node.params['scale'])!r}}}"


def _emit(fn, nargs):
    def emit(ctx, node):
        out = ctx.out(node.sym)          # defined before the inputs are made contiguous
        args = [ctx.ptr(a) for a in node.args[:nargs]]
        return [ctx.call(f"stage::{fn}", _shape(node), *args, out)]
    return emit


register("attention", Kernel(_emit("attention", 3)))
register("attention_grad", Kernel(_emit("attention_grad", 4)))
