"""Fused scaled dot-product attention: softmax(q k^T * scale [causal]) v in one op, so a backend can
compute it one block of query rows at a time instead of keeping the (..., L, S) scores of the whole
batch (for the forward pass and, again, for the backward pass).

`attention(q, k, v, causal, scale)`: q (..., L, E), k (..., S, E), v (..., S, Ev) with the same
leading (batch) dimensions, one float dtype, S >= 1; `causal` masks key j > query i (PyTorch's
top-left aligned `is_causal`). Its gradient is `attention_grad(q, k, v, g)`, which recomputes the
probabilities from q and k (nothing of the forward pass is kept) and returns the three cotangents
packed in one array, (..., L*E + S*E + S*Ev): dq, dk, dv flattened one after the other (an op of
the table has one output). The gradient of `attention_grad` (second derivatives) is written with
the table's unfused ops: it is rarely needed, and then exactness matters more than memory.
"""
import numpy as np

from ..types import FLOATS, TensorType
from . import OpDef, shape_error
from .. import functions as F


def _check(name, q, k, v):
    ok = q.ndim >= 2 and k.ndim == q.ndim == v.ndim and q.shape[:-2] == k.shape[:-2] == \
        v.shape[:-2] and q.shape[-1] == k.shape[-1] and k.shape[-2] == v.shape[-2] and \
        k.shape[-2] >= 1 and q.dtype in FLOATS and q.dtype == k.dtype == v.dtype
    if not ok:
        raise shape_error(name, "needs q (..., L, E), k (..., S, E), v (..., S, Ev) with the same "
                                "batch dimensions, S >= 1 and one floating dtype", q, k, v)
    return q.shape[:-2], q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]


def _params(name, causal, scale):
    if not isinstance(causal, bool) or not isinstance(scale, float):
        raise shape_error(name, f"causal must be a bool and scale a float (got {causal!r}, "
                                f"{scale!r})")


def _infer(ts, causal, scale):
    q, k, v = ts
    _params("attention", causal, scale)
    batch, L, _, _, Ev = _check("attention", q, k, v)
    return TensorType(q.dtype, batch + (L, Ev))


def _grad_infer(ts, causal, scale):
    q, k, v, g = ts
    _params("attention_grad", causal, scale)
    batch, L, S, E, Ev = _check("attention_grad", q, k, v)
    if g.shape != batch + (L, Ev) or g.dtype != q.dtype:
        raise shape_error("attention_grad", "the cotangent must have the output's type", q, k, v, g)
    return TensorType(q.dtype, batch + (L * E + S * E + S * Ev,))


# -- NumPy references ---------------------------------------------------------------------------------

def _probs_ref(q, k, causal, scale):
    s = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)
    if causal:
        L, S = s.shape[-2:]
        s = np.where(np.tril(np.ones((L, S), bool)), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(q.dtype)


def _ref(q, k, v, causal, scale):
    return (_probs_ref(q, k, causal, scale) @ v).astype(q.dtype)


def _grad_ref(q, k, v, g, causal, scale):
    p = _probs_ref(q, k, causal, scale)
    dv = np.swapaxes(p, -1, -2) @ g
    dp = g @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (p * dp).sum(-1, keepdims=True)) * q.dtype.type(scale)
    dq, dk = ds @ k, np.swapaxes(ds, -1, -2) @ q
    batch = q.shape[:-2]
    return np.concatenate([a.reshape(batch + (-1,)) for a in (dq, dk, dv)], -1).astype(q.dtype)


# -- gradient rules (staged code) ---------------------------------------------------------------------

def _T(x):
    return F.swapaxes(x, -1, -2)


def unpack(packed, q, k, v):
    """(dq, dk, dv) from attention_grad's packed output."""
    batch, (L, E), (S, Ev) = q.shape[:-2], q.shape[-2:], v.shape[-2:]
    sizes = [(L, E), (S, E), (S, Ev)]
    out, at = [], 0
    for rows, cols in sizes:
        out.append(F.reshape(packed[..., at:at + rows * cols], batch + (rows, cols)))
        at += rows * cols
    return tuple(out)


def _grad(g, out, q, k, v, causal, scale):
    return unpack(F.apply("attention_grad", q, k, v, g, causal=causal, scale=scale), q, k, v)


def _probs(q, k, causal, scale):
    s = F.matmul(q, _T(k)) * scale
    if causal:
        L, S = q.shape[-2], k.shape[-2]
        s = F.where(F.greater_equal(F.iota((L, S), 0), F.iota((L, S), 1)), s, float("-inf"))
    return F.softmax(s, -1)


def _grad_grad(G, out, q, k, v, g, causal, scale):
    """The cotangents of (q, k, v, g) for cotangents (A, B, C) of attention_grad's (dq, dk, dv).

    attention_grad computes P = softmax(c q k^T), dP = g v^T, r = rowsum(P dP), dS = P (dP - r),
    dq = c dS k, dk = c dS^T q, dv = P^T g; this is that program's reverse pass."""
    A, B, C = unpack(G, q, k, v)
    p = _probs(q, k, causal, scale)
    dp = F.matmul(g, _T(v))
    r = F.sum(p * dp, -1, keepdims=True)
    ds = p * (dp - r)
    t = scale * (F.matmul(A, _T(k)) + F.matmul(q, _T(B)))          # the cotangent of dS
    tr = -F.sum(t * p, -1, keepdims=True)                          # ... of r
    p_bar = t * (dp - r) + tr * dp + F.matmul(g, _T(C))            # ... of P
    dp_bar = t * p + tr * p                                        # ... of dP
    s_bar = p * (p_bar - F.sum(p_bar * p, -1, keepdims=True))      # ... of the scaled scores
    q_bar = scale * (F.matmul(ds, B) + F.matmul(s_bar, k))
    k_bar = scale * (F.matmul(_T(ds), A) + F.matmul(_T(s_bar), q))
    v_bar = F.matmul(_T(dp_bar), g)
    g_bar = F.matmul(p, C) + F.matmul(dp_bar, v)
    return q_bar, k_bar, v_bar, g_bar


OpDef("attention", _infer, _ref, "general", _grad, nargs=3,
      domain={"params": {"causal": False, "scale": 0.5}})
OpDef("attention_grad", _grad_infer, _grad_ref, "general", _grad_grad, nargs=4,
      domain={"params": {"causal": False, "scale": 0.5}})
