"""Neural-network kernels: softmax, log_softmax, nll_loss (the losses are composed in stage.nn)."""
import numpy as np

from ..types import FLOATS, TensorType
from . import NONDIFF, OpDef, shape_error
from .. import functions as F

REDUCTIONS = ("mean", "sum", "none")


def _axis_split(shape, axis):
    return int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))


def _softmax_infer(name):
    def infer(ts, axis):
        (x,) = ts
        if x.dtype not in FLOATS or not 0 <= axis < max(x.ndim, 1):
            raise shape_error(name, f"needs a floating-point array and a valid axis ({axis})", x)
        return x
    return infer


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_ref(x, axis):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _softmax_cpp(kernel):
    def cpp(lw, node):
        (x,) = node.args
        outer, n, inner = _axis_split(x.type.shape, node.params["axis"]) if x.type.shape else (1, 1, 1)
        return [f"stage::{kernel}({lw.ptr(x)}, {lw.out_ptr(node.sym)}, {outer}, {n}, {inner});"]
    return cpp


OpDef("softmax", _softmax_infer("softmax"), _softmax_ref, "kernel", _softmax_cpp("softmax"),
      lambda g, out, x, axis: (out * (g - F.sum(g * out, axis, keepdims=True)),), nargs=1,
      domain={"params": {"axis": -1}})
OpDef("log_softmax", _softmax_infer("log_softmax"), _log_softmax_ref, "kernel",
      _softmax_cpp("log_softmax"),
      lambda g, out, x, axis: (g - F.exp(out) * F.sum(g, axis, keepdims=True),), nargs=1,
      domain={"params": {"axis": -1}})


def _nll_infer(ts, reduction, ignore_index):
    logp, target = ts
    if logp.dtype not in FLOATS or target.dtype not in ("int32", "int64") or \
            logp.ndim not in (1, 2) or target.shape != logp.shape[:-1]:
        raise shape_error("nll_loss", "needs log-probabilities (N, C) or (C,) and integer targets "
                                      "(N,) or ()", logp, target)
    if reduction not in REDUCTIONS:
        raise shape_error("nll_loss", f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
    return TensorType(logp.dtype, target.shape if reduction == "none" else ())


def _nll_ref(logp, target, reduction, ignore_index):
    lp = logp.reshape(-1, logp.shape[-1])
    t = target.reshape(-1)
    valid = t != ignore_index
    if np.any(valid & ((t < 0) | (t >= lp.shape[1]))):
        raise IndexError(f"nll_loss: a target is out of range for {lp.shape[1]} classes")
    picked = np.where(valid, -lp[np.arange(len(t)), np.where(valid, t, 0)], 0).astype(logp.dtype)
    if reduction == "none":
        return picked.reshape(target.shape)
    if reduction == "sum":
        return picked.sum(dtype=logp.dtype)
    return (picked.sum(dtype=logp.dtype) / valid.sum()).astype(logp.dtype)


def _nll_cpp(lw, node):
    logp, target = node.args
    n = target.type.size
    c = logp.type.shape[-1]
    red = REDUCTIONS.index(node.params["reduction"])
    return [f"stage::nll_loss({lw.ptr(logp)}, {lw.ptr(target)}, {lw.out_ptr(node.sym)}, {n}, {c}, "
            f"{red}, {node.params['ignore_index']}, {lw.where(node)});"]


def _nll_grad(g, out, logp, target, reduction, ignore_index):
    w = F.not_equal(target, ignore_index).astype(logp.dtype)
    if reduction == "mean":
        w = w * (g / F.sum(w))
    else:
        w = w * g
    hot = F.equal(target[..., None], F.iota(logp.shape, -1, target.dtype))
    return F.where(hot, -w[..., None], 0), None


OpDef("nll_loss", _nll_infer, _nll_ref, "kernel", _nll_cpp, _nll_grad, nargs=2,
      domain={"params": {"reduction": "mean", "ignore_index": -100}, "log_probs": True})
