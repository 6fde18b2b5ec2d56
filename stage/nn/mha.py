"""`MultiheadAttention`, as `torch.nn.MultiheadAttention`: the same parameters (`in_proj_weight`,
`in_proj_bias`, `out_proj`, or separate `q/k/v_proj_weight` when key and value have other sizes),
initialisation, masks (True in a bool `attn_mask` or `key_padding_mask` means *not* allowed, as
PyTorch's module; floats are added) and returned weights."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import functions as F
from ..ir.rep import Rep
from . import attention as A
from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .layers import Linear
from .module import Module, Parameter


def _masked_scores(mask, dtype):
    """A MHA mask (bool: True = masked out; or float, added) as an additive float mask."""
    if mask is None:
        return None
    m = mask if isinstance(mask, Rep) else F.as_rep(np.asarray(mask))
    return F.where(m, float("-inf"), F.zeros((), dtype)) if m.dtype == "bool" else F.astype(m, dtype)


class MultiheadAttention(Module):
    """Multi-head attention, as `torch.nn.MultiheadAttention`:
    out_proj(concat_h softmax(q_h k_h^T / sqrt(d) + mask) v_h), q, k, v the input projections.

    Parameters
    ----------
    embed_dim : int
        E, the model width (query features and output).
    num_heads : int
        The number of heads; must divide `embed_dim` (head size d = E / num_heads).
    dropout : float, default 0.0
        Dropout on the attention weights in training mode.
    bias : bool, default True
        Learn `in_proj_bias` and `out_proj.bias` (initialised to 0).
    add_bias_kv : bool, default False
        Learn `bias_k` and `bias_v` (1, 1, E), appended to the keys and values.
    add_zero_attn : bool, default False
        Append a zero key and value.
    kdim, vdim : int, optional
        The key's and value's feature sizes (default E); when they differ from E the
        projections are separate parameters `q_proj_weight`, `k_proj_weight`, `v_proj_weight`.
    batch_first : bool, default False
        Inputs and outputs are (N, L, E) instead of (L, N, E).
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype.

    Attributes
    ----------
    in_proj_weight : numpy.ndarray
        (3 E, E), xavier-uniform; rows [0, E) project queries, then keys, then values.
    in_proj_bias : numpy.ndarray
        (3 E,), zeros.
    out_proj : Linear
        (E, E), its bias zeros.

    Shape
    -----
    - query (L, N, E), key (S, N, kdim), value (S, N, vdim) ((N, L, E) ... with batch_first;
      unbatched (L, E) ... also).
    - key_padding_mask (N, S) (or (S,)); attn_mask (L, S) or (N num_heads, L, S).
    - Output: (attn_output (L, N, E), weights (N, L, S) averaged over heads, or
      (N, num_heads, L, S), or None without need_weights).
    - is_causal: PyTorch's hint that attn_mask is the causal mask (without a key padding mask and
      need_weights, the causal attention runs and attn_mask is not read); without attn_mask it
      applies the causal mask (where PyTorch asks for the mask).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> mha = st.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = np.ones((3, 5, 8), np.float32)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        E = embed_dim
        self.embed_dim, self.num_heads, self.head_dim = E, num_heads, E // num_heads
        self.kdim, self.vdim = kdim or E, vdim or E
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        self.same_dims = self.kdim == E and self.vdim == E
        rng = init.generator(seed)
        if self.same_dims:
            self.in_proj_weight = Parameter(init.xavier_uniform(rng, (3 * E, E), dtype=dtype))
        else:
            self.q_proj_weight = Parameter(init.xavier_uniform(rng, (E, E), dtype=dtype))
            self.k_proj_weight = Parameter(init.xavier_uniform(rng, (E, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(init.xavier_uniform(rng, (E, self.vdim), dtype=dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype)) if bias else None
        self.out_proj = Linear(E, E, bias=bias, seed=None if seed is None else seed + 1,
                               dtype=dtype)
        if bias:
            self.out_proj.bias[...] = 0
        if add_bias_kv:
            self.bias_k = Parameter(init.xavier_normal(rng, (1, 1, E), dtype=dtype))
            self.bias_v = Parameter(init.xavier_normal(rng, (1, 1, E), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None

    def _project(self, x, i, weight):
        E = self.embed_dim
        b = self.in_proj_bias[i * E:(i + 1) * E] if self.in_proj_bias is not None else None
        return Fn.linear(x, weight, b)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        E, H, d = self.embed_dim, self.num_heads, self.head_dim
        check_input(np.ndim(query) in (2, 3) and np.shape(query)[-1] == E,
                    f"query (L, N, {E}), (N, L, {E}) or (L, {E}) (embed_dim={E}), got "
                    f"{input_type(query)}")
        batched = np.ndim(query) == 3
        if not batched:                                   # unbatched (L, E): a batch of one
            query, key, value = (F.expand_dims(t, 0) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = F.expand_dims(key_padding_mask, 0)
        elif not self.batch_first:                        # (L, N, E) -> (N, L, E)
            query, key, value = (F.swapaxes(t, 0, 1) for t in (query, key, value))
        N, L = query.shape[0], query.shape[1]
        if self.same_dims:
            W = self.in_proj_weight
            q, k, v = (self._project(t, i, W[i * E:(i + 1) * E])
                       for i, t in enumerate((query, key, value)))
        else:
            q, k, v = (self._project(t, i, w) for i, (t, w) in enumerate(
                ((query, self.q_proj_weight), (key, self.k_proj_weight),
                 (value, self.v_proj_weight))))
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None        # PyTorch's hint: the mask is the causal one (built from iota)
        causal = is_causal and attn_mask is None
        mask = _masked_scores(attn_mask, q.dtype)
        if mask is not None and mask.ndim == 3:
            mask = F.reshape(mask, (N, H) + mask.shape[1:])
        pad = _masked_scores(key_padding_mask, q.dtype)
        if self.bias_k is not None:                       # one more key and value, never masked
            k = F.concatenate([k, F.broadcast_to(self.bias_k, (N, 1, E))], 1)
            v = F.concatenate([v, F.broadcast_to(self.bias_v, (N, 1, E))], 1)
            mask, pad = (None if m is None else Fn.pad(m, (0, 1)) for m in (mask, pad))
        if self.add_zero_attn:
            k = F.concatenate([k, F.zeros((N, 1, E), k.dtype)], 1)
            v = F.concatenate([v, F.zeros((N, 1, E), v.dtype)], 1)
            mask, pad = (None if m is None else Fn.pad(m, (0, 1)) for m in (mask, pad))
        S = k.shape[1]
        if pad is not None:
            pad = F.reshape(pad, (N, 1, 1, S))
            mask = pad if mask is None else mask + pad
        heads = lambda t, n: F.swapaxes(F.reshape(t, (N, n, H, d)), 1, 2)   # noqa: E731
        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        drop = self.dropout if self.training else 0.0
        if need_weights:
            w = A.attention_weights(q, k, mask, causal)
            if drop:
                w = Fn.dropout(w, drop)
            o = F.matmul(w, v)
        else:
            o = A.scaled_dot_product_attention(q, k, v, mask, drop, causal and mask is None)
        o = self.out_proj(F.reshape(F.swapaxes(o, 1, 2), (N, L, E)))
        if not batched:
            o = o[0]
        elif not self.batch_first:
            o = F.swapaxes(o, 0, 1)
        if not need_weights:
            return o, None
        w = F.mean(w, 1) if average_attn_weights else w
        return o, (w if batched else w[0])

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, " \
               f"batch_first={self.batch_first}"
