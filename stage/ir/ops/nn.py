"""Neural-network kernels: softmax, log_softmax, nll_loss (the losses are composed in stage.nn)."""
import numpy as np

from ..types import FLOATS, TensorType
from . import OpDef, shape_error
from .. import functions as F

REDUCTIONS = ("mean", "sum", "none")


def _softmax_infer(name):
    def infer(ts, axis):
        (x,) = ts
        if x.dtype not in FLOATS or not 0 <= axis < max(x.ndim, 1):
            raise shape_error(name, f"needs a floating-point array and a valid axis ({axis})", x)
        return x
    return infer


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True, initial=-np.inf))    # an empty axis: empty
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_ref(x, axis):
    s = x - x.max(axis=axis, keepdims=True, initial=-np.inf)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


OpDef("softmax", _softmax_infer("softmax"), _softmax_ref, "general",
      lambda g, out, x, axis: (out * (g - F.sum(g * out, axis, keepdims=True)),), nargs=1,
      domain={"params": {"axis": -1}})
OpDef("log_softmax", _softmax_infer("log_softmax"), _log_softmax_ref, "general",
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


def _target_weights(g, target, ignore_index, reduction, dtype):
    """The cotangent of each target's term: g (shared by the valid targets for a mean); an
    ignored target gets 0, also when every target is ignored (the mean is 0/0 = NaN, but no
    NaN flows back to the inputs, as in PyTorch)."""
    valid = F.not_equal(target, ignore_index)
    if reduction == "mean":
        g = g / F.sum(valid.astype(dtype))
    return F.where(valid, g, 0)


def _nll_grad(g, out, logp, target, reduction, ignore_index):
    w = _target_weights(g, target, ignore_index, reduction, logp.dtype)
    hot = F.equal(target[..., None], F.iota(logp.shape, -1, target.dtype))
    return F.where(hot, -w[..., None], 0), None


OpDef("nll_loss", _nll_infer, _nll_ref, "general", _nll_grad, nargs=2,
      domain={"params": {"reduction": "mean", "ignore_index": -100}, "log_probs": True})


# -- softmax cross-entropy, fused ---------------------------------------------------------------------
# log_softmax followed by nll_loss, in one kernel each way: forward one pass per row, backward
# (softmax - onehot) * weight in one pass (PyTorch fuses the same pair).

def _ce_infer(ts, reduction, ignore_index):
    logits, target = ts
    if logits.dtype not in FLOATS or target.dtype not in ("int32", "int64") or \
            logits.ndim not in (1, 2) or target.shape != logits.shape[:-1]:
        raise shape_error("cross_entropy", "needs logits (N, C) or (C,) and integer targets (N,) "
                                           "or ()", logits, target)
    if reduction not in REDUCTIONS:
        raise shape_error("cross_entropy", f"reduction must be one of {REDUCTIONS}, not "
                                           f"{reduction!r}")
    return TensorType(logits.dtype, target.shape if reduction == "none" else ())


def _ce_ref(logits, target, reduction, ignore_index):
    return _nll_ref(_log_softmax_ref(logits, -1), target, reduction, ignore_index)


def _ce_grad(g, out, logits, target, reduction, ignore_index):
    w = _target_weights(g, target, ignore_index, reduction, logits.dtype)
    return F.apply("cross_entropy_grad", logits, target, w, ignore_index=ignore_index), None


OpDef("softmax_cross_entropy", _ce_infer, _ce_ref, "general", _ce_grad, nargs=2,
      domain={"params": {"reduction": "mean", "ignore_index": -100}})


def _ce_grad_infer(ts, ignore_index):
    logits, target, w = ts
    if w.shape != target.shape or w.dtype != logits.dtype:
        raise shape_error("cross_entropy_grad", "weights must be one per target", logits, target, w)
    return logits


def _onehot(logits, target, ignore_index):
    c = logits.shape[-1]
    t = target.reshape(-1)
    oh = np.zeros((t.size, c), logits.dtype)
    rows = np.nonzero(t != ignore_index)[0]
    oh[rows, t[rows]] = 1
    return oh.reshape(logits.shape)


def _ce_grad_ref(logits, target, w, ignore_index):
    return ((_softmax_ref(logits, -1) - _onehot(logits, target, ignore_index))
            * np.asarray(w)[..., None]).astype(logits.dtype)


def _ce_grad_grad(G, out, logits, target, w, ignore_index):
    """Second derivatives: (softmax(l) - onehot) * w is differentiable in l and w."""
    s = F.softmax(logits, -1)
    hot = F.logical_and(F.equal(target[..., None], F.iota(logits.shape, -1, target.dtype)),
                        F.not_equal(target, ignore_index)[..., None])
    gw = G * w[..., None]
    dl = s * (gw - F.sum(gw * s, -1, keepdims=True))
    dw = F.sum(F.where(hot, s - 1, s) * G, -1)
    return dl, None, dw


# the gradient of softmax_cross_entropy: (softmax(logits) - onehot(target)) * w per row
OpDef("cross_entropy_grad", _ce_grad_infer, _ce_grad_ref, "general", _ce_grad_grad,
      nargs=3, domain={"params": {"ignore_index": -100}})
