"""Convolution and pooling over NCHW arrays (PyTorch's conventions: weights (O, C, KH, KW), floor
division for the output size, `stride`/`padding`/`dilation` as (h, w) pairs; a dilated window
reads every dilation-th input position, spanning dilation * (k - 1) + 1 of them).

Each gradient is another op of this table, and the set is closed under differentiation: conv2d's
cotangents are `conv2d_grad_input` (a transposed convolution) and `conv2d_grad_weight`, each of which
is bilinear with cotangents expressed by the other two, so second derivatives stay staged code.
Max pooling's gradient `max_pool2d_grad` routes the cotangent to each window's maximum in one pass;
its own gradient gathers through `max_pool2d_indices` (where each maximum came from) and `take`;
average pooling and `avg_pool2d_grad` are each other's transposes.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..types import FLOATS, TensorType
from . import NONDIFF, OpDef, shape_error
from .. import functions as F


NO_DILATION = (1, 1)


def out_size(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _pair_params(name, stride, padding, dilation=NO_DILATION):
    for v in (stride, padding, dilation):
        if len(v) != 2:
            raise shape_error(name, f"stride, padding and dilation must be (h, w) pairs, got "
                                    f"{stride}, {padding}, {dilation}")
    if min(stride) < 1 or min(padding) < 0 or min(dilation) < 1:
        raise shape_error(name, f"needs stride >= 1, padding >= 0 and dilation >= 1 (got {stride}, "
                                f"{padding}, {dilation})")


def _out_hw(name, hw, khw, stride, padding, *ts, dilation=NO_DILATION):
    oh, ow = (out_size(hw[d], khw[d], stride[d], padding[d], dilation[d]) for d in range(2))
    if oh < 1 or ow < 1:
        dil = "" if tuple(dilation) == NO_DILATION else f" dilated by {tuple(dilation)}"
        raise shape_error(name, f"a {khw[0]}x{khw[1]} window{dil} with padding {padding} does not "
                                f"fit a {hw[0]}x{hw[1]} input", *ts)
    return oh, ow


def _float4(name, *ts):
    for t in ts:
        if t.ndim != 4 or t.dtype not in FLOATS:
            raise shape_error(name, "needs 4-d floating-point NCHW arrays", *ts)
    if len({t.dtype for t in ts}) > 1:
        raise shape_error(name, "arguments must have the same dtype", *ts)


# ------------------------------------------------------------------------------------ NumPy references

def _windows(x, khw, stride, padding, fill=0.0, dilation=NO_DILATION):
    """(N, C, OH, OW, KH, KW) view of the padded input's windows."""
    (ph, pw), (dh, dw) = padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span = tuple(dilation[d] * (khw[d] - 1) + 1 for d in range(2))
    win = sliding_window_view(xp, span, axis=(2, 3))[..., ::dh, ::dw]
    oh, ow = (out_size(x.shape[2 + d], khw[d], stride[d], padding[d], dilation[d])
              for d in range(2))
    return win[:, :, ::stride[0], ::stride[1]][:, :, :oh, :ow]


def _conv_ref(x, w, stride, padding, dilation=NO_DILATION):
    win = _windows(x, w.shape[2:], stride, padding, dilation=dilation)
    return np.einsum("ncijkl,ockl->noij", win, w).astype(x.dtype)


def _scatter_windows(n, c, hw, khw, stride, padding, per_offset, dtype, dilation=NO_DILATION):
    """The transpose of `_windows`: sum per_offset(ki, kj) (N, C, OH, OW) back into the input."""
    (h, w), (ph, pw) = hw, padding
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype)
    for ki in range(khw[0]):
        for kj in range(khw[1]):
            v = per_offset(ki, kj)
            oh, ow = v.shape[2:]
            i0, j0 = ki * dilation[0], kj * dilation[1]
            out[:, :, i0:i0 + stride[0] * (oh - 1) + 1:stride[0],
                j0:j0 + stride[1] * (ow - 1) + 1:stride[1]] += v
    return out[:, :, ph:ph + h, pw:pw + w]


def _conv_grad_input_ref(g, w, stride, padding, input_hw, dilation=NO_DILATION):
    return _scatter_windows(g.shape[0], w.shape[1], input_hw, w.shape[2:], stride, padding,
                            lambda ki, kj: np.einsum("noij,oc->ncij", g, w[:, :, ki, kj]), g.dtype,
                            dilation)


def _conv_grad_weight_ref(x, g, stride, padding, kernel_hw, dilation=NO_DILATION):
    win = _windows(x, kernel_hw, stride, padding, dilation=dilation)
    return np.einsum("ncijkl,noij->ockl", win, g).astype(x.dtype)


def _max_pool_ref(x, kernel_size, stride, padding):
    return _windows(x, kernel_size, stride, padding, -np.inf).max(axis=(4, 5))


def _max_pool_grad_ref(x, g, kernel_size, stride, padding):
    idx = _max_pool_indices_ref(x, kernel_size, stride, padding).reshape(-1)
    dx = np.zeros(x.size, x.dtype)
    np.add.at(dx, idx, g.reshape(-1))
    return dx.reshape(x.shape)


def _max_pool_indices_ref(x, kernel_size, stride, padding):
    win = _windows(x, kernel_size, stride, padding, -np.inf)
    n, c, oh, ow, kh, kw = win.shape
    flat = win.reshape(n, c, oh, ow, kh * kw)
    at = flat.argmax(axis=-1)                 # the first maximum in scan order, or the first NaN
    nan = np.isnan(flat)
    at = np.where(nan.any(axis=-1), kh * kw - 1 - nan[..., ::-1].argmax(axis=-1), at)  # last NaN
    ih = np.arange(oh)[:, None] * stride[0] - padding[0] + at // kw
    iw = np.arange(ow)[None, :] * stride[1] - padding[1] + at % kw
    plane = np.arange(n * c).reshape(n, c, 1, 1)
    return (plane * x.shape[2] + ih) * x.shape[3] + iw


def _avg_pool_ref(x, kernel_size, stride, padding):
    scale = x.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    return (_windows(x, kernel_size, stride, padding).sum(axis=(4, 5)) * scale).astype(x.dtype)


def _avg_pool_grad_ref(g, kernel_size, stride, padding, input_hw):
    scale = g.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    return _scatter_windows(g.shape[0], g.shape[1], input_hw, kernel_size, stride, padding,
                            lambda ki, kj: g * scale, g.dtype)


# ------------------------------------------------------------------------------------ shape rules

def _conv_infer(ts, stride, padding, dilation=NO_DILATION):
    x, w = ts
    _float4("conv2d", x, w)
    _pair_params("conv2d", stride, padding, dilation)
    if x.shape[1] != w.shape[1]:
        raise shape_error("conv2d", f"input has {x.shape[1]} channels, the weight expects "
                                    f"{w.shape[1]}", x, w)
    oh, ow = _out_hw("conv2d", x.shape[2:], w.shape[2:], stride, padding, x, w, dilation=dilation)
    return TensorType(x.dtype, (x.shape[0], w.shape[0], oh, ow))


def _conv_grad_input_infer(ts, stride, padding, input_hw, dilation=NO_DILATION):
    g, w = ts
    _float4("conv2d_grad_input", g, w)
    _pair_params("conv2d_grad_input", stride, padding, dilation)
    if g.shape[2:] != _out_hw("conv2d_grad_input", input_hw, w.shape[2:], stride, padding, g, w,
                              dilation=dilation) or g.shape[1] != w.shape[0]:
        raise shape_error("conv2d_grad_input", f"the cotangent does not fit an input of size "
                                               f"{tuple(input_hw)}", g, w)
    return TensorType(g.dtype, (g.shape[0], w.shape[1]) + tuple(input_hw))


def _conv_grad_weight_infer(ts, stride, padding, kernel_hw, dilation=NO_DILATION):
    x, g = ts
    _float4("conv2d_grad_weight", x, g)
    _pair_params("conv2d_grad_weight", stride, padding, dilation)
    if g.shape[2:] != _out_hw("conv2d_grad_weight", x.shape[2:], kernel_hw, stride, padding, x, g,
                              dilation=dilation) or g.shape[0] != x.shape[0]:
        raise shape_error("conv2d_grad_weight", "the cotangent does not match the input", x, g)
    return TensorType(x.dtype, (g.shape[1], x.shape[1]) + tuple(kernel_hw))


def _pool_infer(name, dtype=None):
    def infer(ts, kernel_size, stride, padding):
        (x,) = ts
        _float4(name, x)
        _pair_params(name, stride, padding)
        if any(2 * p > k for p, k in zip(padding, kernel_size)):
            raise shape_error(name, f"padding {padding} must be at most half the window "
                                    f"{kernel_size}", x)
        oh, ow = _out_hw(name, x.shape[2:], kernel_size, stride, padding, x)
        return TensorType(dtype or x.dtype, x.shape[:2] + (oh, ow))
    return infer


def _max_pool_grad_infer(ts, kernel_size, stride, padding):
    x, g = ts
    if g != _pool_infer("max_pool2d_grad")([x], kernel_size, stride, padding):
        raise shape_error("max_pool2d_grad", "the cotangent must have the pooled shape", x, g)
    return x


def _avg_pool_grad_infer(ts, kernel_size, stride, padding, input_hw):
    (g,) = ts
    _float4("avg_pool2d_grad", g)
    if g.shape[2:] != _out_hw("avg_pool2d_grad", input_hw, kernel_size, stride, padding, g):
        raise shape_error("avg_pool2d_grad", f"the cotangent does not fit an input of size "
                                             f"{tuple(input_hw)}", g)
    return TensorType(g.dtype, g.shape[:2] + tuple(input_hw))


# ------------------------------------------------------------------------------------ gradients

def _geometry(stride, padding, dilation):
    """The static settings every op of the family shares (dilation only when not 1)."""
    p = {"stride": stride, "padding": padding}
    if tuple(dilation) != NO_DILATION:
        p["dilation"] = tuple(dilation)
    return p


def _conv_grad(g, out, x, w, stride, padding, dilation=NO_DILATION):
    geo = _geometry(stride, padding, dilation)
    return (F.apply("conv2d_grad_input", g, w, input_hw=x.shape[2:], **geo),
            F.apply("conv2d_grad_weight", x, g, kernel_hw=w.shape[2:], **geo))


def _conv_grad_input_grad(c, out, g, w, stride, padding, input_hw, dilation=NO_DILATION):
    # out = A_w^T g is bilinear: <c, out> = <conv2d(c, w), g>
    geo = _geometry(stride, padding, dilation)
    return (F.apply("conv2d", c, w, **geo),
            F.apply("conv2d_grad_weight", c, g, kernel_hw=w.shape[2:], **geo))


def _conv_grad_weight_grad(c, out, x, g, stride, padding, kernel_hw, dilation=NO_DILATION):
    # <c, out> = <conv2d(x, c), g>
    geo = _geometry(stride, padding, dilation)
    return (F.apply("conv2d_grad_input", g, c, input_hw=x.shape[2:], **geo),
            F.apply("conv2d", x, c, **geo))


def _max_pool_grad(g, out, x, kernel_size, stride, padding):
    return (F.apply("max_pool2d_grad", x, g, kernel_size=kernel_size, stride=stride,
                    padding=padding),)


def _max_pool_grad_grad(c, out, x, g, kernel_size, stride, padding):
    # out scatters g to the maxima's positions (piecewise constant in x): its transpose gathers
    idx = F.apply("max_pool2d_indices", x, kernel_size=kernel_size, stride=stride, padding=padding)
    return None, F.reshape(F.take(F.reshape(c, (-1,)), F.reshape(idx, (-1,))), g.shape)


def _avg_pool_grad(g, out, x, kernel_size, stride, padding):
    return (F.apply("avg_pool2d_grad", g, kernel_size=kernel_size, stride=stride, padding=padding,
                    input_hw=x.shape[2:]),)


def _avg_pool_grad_grad(c, out, g, kernel_size, stride, padding, input_hw):
    return (F.apply("avg_pool2d", c, kernel_size=kernel_size, stride=stride, padding=padding),)


CONV = {"stride": (1, 1), "padding": (0, 0)}
POOL = {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}

OpDef("conv2d", _conv_infer, _conv_ref, "general", _conv_grad, nargs=2,
      domain={"params": CONV})
OpDef("conv2d_grad_input", _conv_grad_input_infer, _conv_grad_input_ref, "general",
      _conv_grad_input_grad, nargs=2)
OpDef("conv2d_grad_weight", _conv_grad_weight_infer, _conv_grad_weight_ref, "general",
      _conv_grad_weight_grad, nargs=2)
OpDef("max_pool2d", _pool_infer("max_pool2d"), _max_pool_ref, "general",
      _max_pool_grad, nargs=1, domain={"params": POOL, "distinct": True})
OpDef("max_pool2d_grad", _max_pool_grad_infer, _max_pool_grad_ref, "general",
      _max_pool_grad_grad, nargs=2, domain={"params": POOL, "distinct": True})
OpDef("max_pool2d_indices", _pool_infer("max_pool2d_indices", "int64"), _max_pool_indices_ref,
      "general", NONDIFF, nargs=1, domain={"params": POOL, "distinct": True})
OpDef("avg_pool2d", _pool_infer("avg_pool2d"), _avg_pool_ref, "general",
      _avg_pool_grad, nargs=1, domain={"params": POOL})
OpDef("avg_pool2d_grad", _avg_pool_grad_infer, _avg_pool_grad_ref, "general",
      _avg_pool_grad_grad, nargs=1)
