"""Convolution and pooling: runtime kernels of runtime_cpp/stage/conv.h and pooling.h (im2col +
one gemm per chunk of images; tiled pooling). Each op is one row of `_KERNELS`: the runtime
function, the geometry it is given, and the order of its pointer arguments."""
from ...ir.ops.conv import NO_DILATION
from ..cpp import ctype
from . import Kernel, register


def _conv_shape(x_shape, o, khw, out_hw, params):
    n, c, h, w = x_shape
    dims = (n, c, h, w, o) + tuple(khw) + tuple(params["stride"]) + tuple(params["padding"]) + \
        tuple(out_hw) + tuple(params.get("dilation", NO_DILATION))
    return "stage::Conv2dShape{" + ", ".join(str(d) for d in dims) + "}"


def _pool_shape(x_shape, out_hw, p):
    n, c, h, w = x_shape
    dims = (n * c, h, w) + tuple(p["kernel_size"]) + tuple(p["stride"]) + tuple(p["padding"]) + \
        tuple(out_hw)
    return "stage::Pool2dShape{" + ", ".join(str(d) for d in dims) + "}"


def _shape(node, k):
    return node.args[k].type.shape


def _out(node):
    return node.sym.type.shape


# op: (runtime kernel, geometry of the node, pointer arguments: an argument index, "out", or a
# literal such as a null pointer for an output the kernel is not asked for)
_KERNELS = {
    "conv2d": ("conv2d", lambda n: _conv_shape(_shape(n, 0), _shape(n, 1)[0], _shape(n, 1)[2:],
                                               _out(n)[2:], n.params), (0, 1, "out")),
    "conv2d_grad_input": ("conv2d_grad_input", lambda n: _conv_shape(
        _out(n), _shape(n, 1)[0], _shape(n, 1)[2:], _shape(n, 0)[2:], n.params), (0, 1, "out")),
    "conv2d_grad_weight": ("conv2d_grad_weight", lambda n: _conv_shape(
        _shape(n, 0), _shape(n, 1)[1], n.params["kernel_hw"], _shape(n, 1)[2:], n.params),
        (0, 1, "out")),
    "max_pool2d": ("max_pool2d", lambda n: _pool_shape(_shape(n, 0), _out(n)[2:], n.params),
                   (0, "out", "(int64_t*)nullptr")),
    "max_pool2d_indices": ("max_pool2d", lambda n: _pool_shape(_shape(n, 0), _out(n)[2:], n.params),
                           (0, "nullptr_x", "out")),
    "max_pool2d_grad": ("max_pool2d_grad", lambda n: _pool_shape(_shape(n, 0), _shape(n, 1)[2:],
                                                                 n.params), (0, 1, "out")),
    "avg_pool2d": ("avg_pool2d", lambda n: _pool_shape(_shape(n, 0), _out(n)[2:], n.params),
                   (0, "out")),
    "avg_pool2d_grad": ("avg_pool2d_grad", lambda n: _pool_shape(_out(n), _shape(n, 0)[2:],
                                                                 n.params), (0, "out")),
}


def _kernel(fn, geometry, order):
    def emit(ctx, node):
        out = ctx.out(node.sym)          # defined before the inputs are made contiguous
        args = []
        for a in order:
            if a == "out":
                args.append(out)
            elif a == "nullptr_x":       # no values wanted: a null pointer of the input's type
                args.append(f"({ctype(node.args[0].type.dtype)}*)nullptr")
            elif isinstance(a, int):
                args.append(ctx.ptr(node.args[a]))
            else:
                args.append(a)
        return [ctx.call(f"stage::{fn}", geometry(node), *args)]
    return emit


for _op, (_fn, _geometry, _order) in _KERNELS.items():
    register(_op, Kernel(_kernel(_fn, _geometry, _order)))
