"""Transformer layers, as `torch.nn.TransformerEncoderLayer`, `TransformerDecoderLayer`,
`TransformerEncoder` and `TransformerDecoder`: the same submodules (so state dicts move both ways),
defaults, pre-norm (`norm_first=True`) and post-norm forms, masks and dropout placement."""
from __future__ import annotations

import copy
from typing import Callable, Optional, Union

from ..ir import functions as F
from . import activations as A
from .containers import ModuleList
from .layers import Dropout, Linear
from .mha import MultiheadAttention
from .module import Module
from .norm import LayerNorm

_ACTIVATIONS = {"relu": F.relu, "gelu": A.gelu}

_LAYER_PARAMS = """d_model : int
        The model width.
    nhead : int
        The number of attention heads.
    dim_feedforward : int, default 2048
        The width of the feed-forward block.
    dropout : float, default 0.1
        Dropout after attention and in and after the feed-forward block (training mode).
    activation : {"relu", "gelu"} or callable, default "relu"
        The feed-forward activation.
    layer_norm_eps : float, default 1e-5
        The layer norms' eps.
    batch_first : bool, default False
        Inputs are (N, L, E) instead of (L, N, E).
    norm_first : bool, default False
        Pre-norm: x + f(norm(x)) (GPT-2's form) instead of norm(x + f(x)).
    bias : bool, default True
        Biases in the linear layers and layer norms.
    seed : int, optional
        Seed of the initialisation (each submodule draws from it in turn).
    dtype : str, default "float32"
        The parameters' dtype."""


def _activation(a):
    if callable(a):
        return a
    if a not in _ACTIVATIONS:
        raise ValueError(f"activation must be 'relu', 'gelu' or a callable, got {a!r}")
    return _ACTIVATIONS[a]


class _Layer(Module):
    def _common(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                batch_first, norm_first, bias, seed, dtype, norms):
        sub = (lambda i: None if seed is None else seed + i)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=batch_first,
                                            seed=sub(0), dtype=dtype)
        self._extra(d_model, nhead, dropout, bias, batch_first, sub, dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias, seed=sub(2), dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias, seed=sub(3), dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    def _extra(self, *args):
        pass

    def _sa(self, x, mask, pad, is_causal):
        return self.dropout1(self.self_attn(x, x, x, pad, need_weights=False, attn_mask=mask,
                                            is_causal=is_causal)[0])

    def _ff(self, x, drop):
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Layer):
    __doc__ = f"""Self-attention and a feed-forward block with residual connections and layer
    norms, as `torch.nn.TransformerEncoderLayer`.

    Post-norm: x = norm1(x + sa(x)); x = norm2(x + ff(x)). Pre-norm (`norm_first`):
    x = x + sa(norm1(x)); x = x + ff(norm2(x)). ff(x) = linear2(dropout(act(linear1(x)))).

    Parameters
    ----------
    {_LAYER_PARAMS}

    Shape
    -----
    - src (L, N, E) ((N, L, E) with batch_first, or unbatched (L, E)); src_mask (L, S) or
      (N nhead, L, S) (bool True: not allowed, or float added); src_key_padding_mask (N, S);
      is_causal: apply the causal mask (PyTorch's hint: src_mask is then not needed).
    - Output: src's shape.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Union[str, Callable] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__()
        self._common(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                     batch_first, norm_first, bias, seed, dtype, norms=2)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    __doc__ = f"""Self-attention, attention over an encoder's output (`memory`) and a feed-forward
    block, with residual connections and layer norms, as `torch.nn.TransformerDecoderLayer`.

    Post-norm: x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x));
    pre-norm (`norm_first`): x = x + sa(norm1(x)), and so on.

    Parameters
    ----------
    {_LAYER_PARAMS}

    Shape
    -----
    - tgt (T, N, E), memory (S, N, E) (batch first, or unbatched, likewise); tgt_mask (T, T),
      memory_mask (T, S); the key padding masks (N, T) and (N, S); tgt_is_causal and
      memory_is_causal apply causal masks.
    - Output: tgt's shape.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: Union[str, Callable] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__()
        self._common(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                     batch_first, norm_first, bias, seed, dtype, norms=3)

    def _extra(self, d_model, nhead, dropout, bias, batch_first, sub, dtype):
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout, bias,
                                                 batch_first=batch_first, seed=sub(1), dtype=dtype)

    def _mha(self, x, mem, mask, pad, is_causal):
        return self.dropout2(self.multihead_attn(x, mem, mem, pad, need_weights=False,
                                                 attn_mask=mask, is_causal=is_causal)[0])

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False):
        x = tgt
        if self.norm_first:
            x = x + self._sa(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                              memory_is_causal)
            return x + self._ff(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._sa(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha(x, memory, memory_mask, memory_key_padding_mask,
                                     memory_is_causal))
        return self.norm3(x + self._ff(x, self.dropout3))


def _clones(layer, n):
    """n deep copies of a module (PyTorch's `_get_clones`), without cached eager functions."""
    out = []
    for _ in range(n):
        c = copy.deepcopy(layer)
        for m in c.modules():
            m.__dict__.pop("_eager_fn", None)
        out.append(c)
    return ModuleList(out)


class TransformerEncoder(Module):
    """A stack of `num_layers` copies of an encoder layer, then an optional norm, as
    `torch.nn.TransformerEncoder`.

    Parameters
    ----------
    encoder_layer : TransformerEncoderLayer
        The layer copied (each copy has its own parameters, starting from its values).
    num_layers : int
        The number of layers.
    norm : Module, optional
        Applied to the output (a final LayerNorm for pre-norm stacks).
    enable_nested_tensor : bool, default True
        Accepted for PyTorch's signature; no effect.
    mask_check : bool, default True
        Accepted for PyTorch's signature; no effect.

    Shape
    -----
    - src, mask, src_key_padding_mask as `TransformerEncoderLayer`; is_causal applies the causal
      mask in every layer. Output: src's shape.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Optional[Module] = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: Optional[bool] = None):
        x = src
        for layer in self.layers:
            x = layer(x, mask, src_key_padding_mask, bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """A stack of `num_layers` copies of a decoder layer, then an optional norm, as
    `torch.nn.TransformerDecoder`.

    Parameters
    ----------
    decoder_layer : TransformerDecoderLayer
        The layer copied.
    num_layers : int
        The number of layers.
    norm : Module, optional
        Applied to the output.

    Shape
    -----
    - As `TransformerDecoderLayer`. Output: tgt's shape.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Optional[Module] = None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: Optional[bool] = None,
                memory_is_causal: bool = False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, bool(tgt_is_causal), memory_is_causal)
        return x if self.norm is None else self.norm(x)
