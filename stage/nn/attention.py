"""Scaled dot-product attention, as `torch.nn.functional.scaled_dot_product_attention`, and the
attention of `MultiheadAttention` (masks in PyTorch's conventions).

softmax(q k^T * scale + mask) v over the last two dimensions, batched over the leading ones.
Without a mask (or with the causal one) and without dropout it is the IR's fused `attention` op
(stage/ir/ops/attention.py): one block of query rows at a time, the probabilities recomputed for
the backward pass, never the (..., L, S) scores in memory. With an explicit mask or dropout it is
the composite of batched matmul, masking `where`, softmax and matmul, which keeps the scores (for
the backward pass too); the causal mask there is built from index views (`iota`) and takes no
memory. `attention_weights` (MultiheadAttention's need_weights) is always the composite.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..ir import functions as F
from ..ir.graph import StageTypeError
from ..ir.hints import ArrayLike
from ..ir.rep import Rep
from ..ir.types import FLOATS

__all__ = ["scaled_dot_product_attention", "attention_weights", "fused_attention"]


def _arr(x):
    return x if isinstance(x, Rep) else F.as_rep(np.asarray(x))


def _check(q, k, v):
    qs, ks, vs = q.shape, k.shape, v.shape
    ok = q.ndim >= 2 and k.ndim == q.ndim and v.ndim == q.ndim and qs[-1] == ks[-1] and \
        ks[-2] == vs[-2] and q.dtype in FLOATS and q.dtype == k.dtype == v.dtype
    if ok:
        try:
            np.broadcast_shapes(qs[:-2], ks[:-2], vs[:-2])
        except ValueError:
            ok = False
    if not ok:
        raise StageTypeError(
            "scaled_dot_product_attention: needs query (..., L, E), key (..., S, E) and value "
            f"(..., S, Ev) of one floating dtype and broadcastable batch dimensions, got "
            f"{q.type}, {k.type}, {v.type}")


def causal_mask(L: int, S: int) -> Rep:
    """A (L, S) bool mask, True where query i may attend key j (j <= i): PyTorch's is_causal
    (top-left aligned). Built from index views: it occupies no memory.

    Parameters
    ----------
    L, S : int
        The numbers of queries and keys.

    Returns
    -------
    Rep
        bool (L, S).
    """
    return F.greater_equal(F.iota((L, S), 0), F.iota((L, S), 1))


def attention_weights(query: ArrayLike, key: ArrayLike, attn_mask: Optional[ArrayLike] = None,
                      is_causal: bool = False, scale: Optional[float] = None) -> Rep:
    """softmax(query key^T * scale + mask): the attention weights, (..., L, S).

    Parameters
    ----------
    query, key : Rep or array_like
        (..., L, E) and (..., S, E).
    attn_mask : Rep or array_like, optional
        Broadcastable to (..., L, S): bool (True: may attend) or a float added to the scores.
    is_causal : bool, default False
        Apply the causal mask (query i attends keys j <= i).
    scale : float, optional
        Default 1 / sqrt(E).

    Returns
    -------
    Rep
        The weights; each row sums to 1 (NaN where a row is fully masked, as PyTorch's math form).
    """
    q, k = _arr(query), _arr(key)
    L, S, E = q.shape[-2], k.shape[-2], q.shape[-1]
    s = F.matmul(q * (scale if scale is not None else 1 / math.sqrt(E)), F.swapaxes(k, -1, -2))
    if is_causal:
        s = F.where(causal_mask(L, S), s, float("-inf"))
    if attn_mask is not None:
        m = _arr(attn_mask)
        s = F.where(m, s, float("-inf")) if m.dtype == "bool" else s + F.astype(m, s.dtype)
    return F.softmax(s, -1)


def fused_attention(q: Rep, k: Rep, v: Rep, causal: bool, scale: float) -> Rep:
    """softmax(q k^T * scale [causal]) v as the IR's fused `attention` op: computed one block of
    query rows at a time, and its gradient recomputes the probabilities instead of keeping the
    (..., L, S) scores. The batch dimensions are broadcast first (the op wants them equal)."""
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    q, k, v = (x if x.shape[:-2] == batch else F.broadcast_to(x, batch + x.shape[-2:])
               for x in (q, k, v))
    return F.apply("attention", q, k, v, causal=bool(causal), scale=float(scale))


def scaled_dot_product_attention(query: ArrayLike, key: ArrayLike, value: ArrayLike,
                                 attn_mask: Optional[ArrayLike] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 training: bool = True) -> Rep:
    """Scaled dot-product attention, as `torch.nn.functional.scaled_dot_product_attention`:
    softmax(query key^T * scale + mask) value, with dropout on the weights.

    Parameters
    ----------
    query : Rep or array_like
        (N, ..., L, E).
    key : Rep or array_like
        (N, ..., S, E).
    value : Rep or array_like
        (N, ..., S, Ev).
    attn_mask : Rep or array_like, optional
        Broadcastable to (N, ..., L, S): bool (True: the query may attend the key) or a float
        added to the scores (-inf to forbid).
    dropout_p : float, default 0.0
        Dropout probability of the weights (drawn from the training step's key).
    is_causal : bool, default False
        Query i attends keys j <= i (top-left aligned); not together with `attn_mask`.
    scale : float, optional
        The factor of the scores; default 1 / sqrt(E).
    training : bool, default True
        Static: False disables dropout (a module passes its mode).

    Returns
    -------
    Rep
        (N, ..., L, Ev).

    Raises
    ------
    StageTypeError
        Shapes or dtypes that do not fit.
    ValueError
        Both `attn_mask` and `is_causal`, or `dropout_p` outside [0, 1).
    """
    q, k, v = _arr(query), _arr(key), _arr(value)
    _check(q, k, v)
    if attn_mask is not None and is_causal:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got "
                         f"{dropout_p}")
    sc = float(scale) if scale is not None else 1 / math.sqrt(q.shape[-1])
    drop = dropout_p > 0 and training
    if attn_mask is None and not drop and q.shape[-2] > 0 and k.shape[-2] > 0:
        return fused_attention(q, k, v, is_causal, sc)
    p = attention_weights(q, k, attn_mask, is_causal, sc)
    if drop:
        from .functional import dropout
        p = dropout(p, dropout_p)
    return F.matmul(p, v)
