"""Counter-based random numbers: runtime `stage::random_uniform` (bit-identical to the NumPy
reference of stage/ir/ops/random.py)."""
from ..cpp import ctype
from . import Kernel, register


def _uniform(ctx, node):
    seed, counter = node.args
    T = ctype(node.sym.type.dtype)
    return [ctx.call(f"stage::random_uniform<{T}>", ctx.scalar(seed), ctx.scalar(counter),
                     int(node.params["stream"]), ctx.out(node.sym), node.sym.type.size)]


register("random_uniform", Kernel(_uniform))
