"""Full recurrent layers, as `torch.nn.RNN`, `torch.nn.LSTM` and `torch.nn.GRU`: stacked layers,
both directions, batch-first layouts, dropout between layers and initial states, with PyTorch's
parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...), gate order and initialisation, so a
PyTorch `state_dict` of the same layer loads as it is.

The time loop is one staged loop (`st.fori_loop`: compiled once, whatever the length; under
`st.grad` a recursive native function), not an unrolled Python loop. The input projections of all
time steps are one product before the loop; the loop does the recurrent product and the gates.
`lengths` (a runtime integer array, one length per sequence) gives PyTorch's packed-sequence
semantics: a sequence's state stops at its length, its outputs beyond are zero, and the reverse
direction starts at its last valid step.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..control import fori_loop
from ..ir import functions as F
from ..ir.functions import as_rep
from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .module import Module, Parameter


def _lstm(gx, gh, state):
    H = state[0].shape[-1]
    i, f, g, o = (gx[:, k * H:(k + 1) * H] + gh[:, k * H:(k + 1) * H] for k in range(4))
    c = F.sigmoid(f) * state[1] + F.sigmoid(i) * F.tanh(g)
    return F.sigmoid(o) * F.tanh(c), c


def _gru(gx, gh, state):
    H = state[0].shape[-1]
    part = lambda a, k: a[:, k * H:(k + 1) * H]                     # noqa: E731
    r = F.sigmoid(part(gx, 0) + part(gh, 0))
    z = F.sigmoid(part(gx, 1) + part(gh, 1))
    n = F.tanh(part(gx, 2) + r * part(gh, 2))
    return ((1 - z) * n + z * state[0],)


def _rnn(act):
    return lambda gx, gh, state: (act(gx + gh),)


def _step_into(out, t, value):
    """out with value added at out[t] (zero before): one step of the output sequence."""
    spec = (("dyn", 0),) + tuple(("slice", 0, n, 1) for n in out.shape[1:])
    return F.setitem_add(out, value, [t], spec)


class _RNNBase(Module):
    gates = 1
    nstate = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__()
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(f"{type(self).__name__}: num_layers and hidden_size must be positive")
        if not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        D = 2 if bidirectional else 1
        rng = init.generator(seed)
        k, G = 1 / math.sqrt(hidden_size), self.gates * hidden_size
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * D
            for sfx in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{layer}{sfx}",
                        Parameter(init.uniform(rng, (G, n_in), k, dtype)))
                setattr(self, f"weight_hh_l{layer}{sfx}",
                        Parameter(init.uniform(rng, (G, hidden_size), k, dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{sfx}", Parameter(init.uniform(rng, (G,), k, dtype)))
                    setattr(self, f"bias_hh_l{layer}{sfx}", Parameter(init.uniform(rng, (G,), k, dtype)))

    def _weights(self, layer, sfx):
        g = lambda n: getattr(self, f"{n}_l{layer}{sfx}") if self.bias or "weight" in n else None  # noqa: E731
        return g("weight_ih"), g("weight_hh"), g("bias_ih"), g("bias_hh")

    def _direction(self, x, state, weights, lengths):
        """One layer in one direction over x (L, N, in): the outputs (L, N, H) and final state."""
        w_ih, w_hh, b_ih, b_hh = weights
        L = x.shape[0]
        gx_all = Fn.linear(x, w_ih, b_ih)                       # every step's input product
        valid = None if lengths is None else F.expand_dims(lengths, 1)

        def body(t, carry):
            state, out = carry[:-1], carry[-1]
            new = self.cell(gx_all[t], Fn.linear(state[0], w_hh, b_hh), state)
            if valid is not None:
                keep = F.less(t, valid)
                new = tuple(F.where(keep, s1, s0) for s1, s0 in zip(new, state))
                h_out = F.where(keep, new[0], 0.0)
            else:
                h_out = new[0]
            return tuple(new) + (_step_into(out, t, h_out),)
        out0 = F.zeros((L,) + tuple(state[0].shape), state[0].dtype)
        res = fori_loop(0, L, body, tuple(state) + (out0,))
        return res[-1], res[:-1]

    def _reverse(self, x, lengths):
        """x with each sequence reversed in time (within its length; padding stays in place)."""
        if lengths is None:
            return x[::-1]
        L, N = x.shape[0], x.shape[1]
        t = F.iota((L, N), 0, "int64")
        n = F.expand_dims(F.astype(lengths, "int64"), 0)
        src = F.where(F.less(t, n), n - 1 - t, t) * N + F.iota((L, N), 1, "int64")
        flat = F.reshape(x, (L * N,) + tuple(x.shape[2:]))
        return F.reshape(F.take(flat, F.reshape(src, (-1,)), 0), x.shape)

    def forward(self, input, hx=None, lengths=None):
        n_in = self.input_size
        check_input(np.ndim(input) in (2, 3) and np.shape(input)[-1] == n_in,
                    f"input (L, N, {n_in}), (N, L, {n_in}) or (L, {n_in}) (input_size={n_in}), "
                    f"got {input_type(input)}")
        x = as_rep(input)
        batched = x.ndim == 3
        x = (F.swapaxes(x, 0, 1) if self.batch_first else x) if batched else F.expand_dims(x, 1)
        N, D = x.shape[1], 2 if self.bidirectional else 1
        states = self._initial(hx, N, x.dtype, batched)
        if lengths is not None:
            lengths = as_rep(lengths)
            check_input(lengths.shape == (N,) and lengths.dtype in ("int32", "int64"),
                        f"lengths of {N} integers, got {lengths.type}")
        finals = [[] for _ in range(self.nstate)]
        for layer in range(self.num_layers):
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:D]):
                st0 = tuple(s[layer * D + d] for s in states)
                xin = self._reverse(x, lengths) if d else x
                out, fin = self._direction(xin, st0, self._weights(layer, sfx), lengths)
                outs.append(self._reverse(out, lengths) if d else out)
                for acc, s in zip(finals, fin):
                    acc.append(s)
            x = outs[0] if D == 1 else F.concatenate(outs, -1)
            if layer < self.num_layers - 1 and self.dropout and self.training:
                x = Fn.dropout(x, self.dropout)
        out = (F.swapaxes(x, 0, 1) if self.batch_first else x) if batched else x[:, 0]
        fins = tuple(F.stack(f, 0) if batched else F.stack(f, 0)[:, 0] for f in finals)
        return out, (fins if self.nstate > 1 else fins[0])

    def _initial(self, hx, N, dtype, batched):
        shape = (self.num_layers * (2 if self.bidirectional else 1), N, self.hidden_size)
        if hx is None:
            z = F.zeros(shape, dtype)
            return (z,) * self.nstate
        hs = tuple(hx) if self.nstate > 1 else (hx,)
        out = []
        for h in hs:
            h = as_rep(h, dtype)
            h = h if batched else F.expand_dims(h, 1)
            check_input(tuple(h.shape) == shape, f"initial state {shape}, got {h.type}")
            out.append(h)
        return tuple(out)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_PARAMS = """input_size : int
        The number of features of the input.
    hidden_size : int
        The number of features of the hidden state.
    num_layers : int, default 1
        Stacked layers (each takes the previous one's outputs).{extra}
    bias : bool, default True
        Learn `bias_ih_l[k]` and `bias_hh_l[k]`.
    batch_first : bool, default False
        Input and output are (N, L, *) instead of (L, N, *) (the states keep their layout).
    dropout : float, default 0.0
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool, default False
        Also run each layer backwards in time; the outputs of both directions are concatenated.
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype."""

_SHAPE = """Shape
    -----
    - input: (L, N, H_in) ((N, L, H_in) with batch_first; unbatched (L, H_in)).
    - {state}: (D num_layers, N, H) (unbatched: (D num_layers, H)), zeros when omitted;
      D = 2 if bidirectional else 1.
    - lengths (optional, forward's third argument): (N,) runtime integers, each sequence's length
      (as a packed sequence): states stop at the length, outputs beyond it are zero.
    - output: (L, N, D H), the last layer's h at every step; and the final {state}, as the input
      {state} (layers in order, forward direction first).

    Attributes
    ----------
    weight_ih_l[k], weight_hh_l[k] : numpy.ndarray
        ({G} H, H_in or D H) and ({G} H, H); `_reverse` for the backward direction.
    bias_ih_l[k], bias_hh_l[k] : numpy.ndarray
        ({G} H,). All initialised from U(-sqrt(k), sqrt(k)), k = 1 / hidden_size.
    """


class RNN(_RNNBase):
    __doc__ = f"""A multi-layer Elman RNN, as `torch.nn.RNN`:
    h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh).

    Parameters
    ----------
    {_PARAMS.format(extra=chr(10) + '    nonlinearity : {"tanh", "relu"}, default "tanh"' +
                    chr(10) + '        The activation act.')}

    {_SHAPE.format(state="h_0", G="")}
    Examples
    --------
    >>> import numpy as np, stage as st
    >>> rnn = st.nn.RNN(10, 20, num_layers=2)
    >>> out, h = rnn(np.ones((5, 3, 10), np.float32))
    >>> out.shape, h.shape
    ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, seed: Optional[int] = None,
                 dtype: str = "float32"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, seed, dtype)
        self.nonlinearity = nonlinearity
        self.cell = _rnn(F.tanh if nonlinearity == "tanh" else F.relu)


class LSTM(_RNNBase):
    __doc__ = f"""A multi-layer long short-term memory network, as `torch.nn.LSTM`: per step
    i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh) (PyTorch's gate order),
    c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').

    Parameters
    ----------
    {_PARAMS.format(extra="")}

    {_SHAPE.format(state="(h_0, c_0)", G="4")}
    Examples
    --------
    >>> import numpy as np, stage as st
    >>> lstm = st.nn.LSTM(10, 20, batch_first=True, bidirectional=True)
    >>> out, (h, c) = lstm(np.ones((3, 5, 10), np.float32))
    >>> out.shape, h.shape, c.shape
    ((3, 5, 40), (2, 3, 20), (2, 3, 20))
    """
    gates, nstate = 4, 2
    cell = staticmethod(_lstm)


class GRU(_RNNBase):
    __doc__ = f"""A multi-layer gated recurrent unit network, as `torch.nn.GRU`: per step
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in +
    r (W_hn h + b_hn)), h' = (1 - z) n + z h.

    Parameters
    ----------
    {_PARAMS.format(extra="")}

    {_SHAPE.format(state="h_0", G="3")}
    """
    gates = 3
    cell = staticmethod(_gru)
