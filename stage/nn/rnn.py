"""Recurrent cells with PyTorch's parameter names, gate order and initialisation
(every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden))). A cell maps one step's input (N, in) or
(in,) and state to the next state; loops over time are Python loops (unrolled) or `st.fori_loop`."""
from __future__ import annotations

import math

import numpy as np

from ..ir import functions as F
from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .module import Module, Parameter


class _Cell(Module):
    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, seed=None, dtype="float32"):
        super().__init__()
        rng = init.generator(seed)
        self.input_size, self.hidden_size = input_size, hidden_size
        k = 1 / math.sqrt(hidden_size)
        g = self.gates * hidden_size
        self.weight_ih = Parameter(init.uniform(rng, (g, input_size), k, dtype))
        self.weight_hh = Parameter(init.uniform(rng, (g, hidden_size), k, dtype))
        self.bias_ih = Parameter(init.uniform(rng, (g,), k, dtype)) if bias else None
        self.bias_hh = Parameter(init.uniform(rng, (g,), k, dtype)) if bias else None

    def check(self, x):
        n = self.input_size
        check_input(np.ndim(x) in (1, 2) and np.shape(x)[-1] == n,
                    f"input (N, {n}) or ({n},) (input_size={n}), got "
                    f"{input_type(x)}")

    def zero_state(self, batch=None, dtype="float32"):
        shape = (self.hidden_size,) if batch is None else (batch, self.hidden_size)
        return F.zeros(shape, dtype)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", seed=None,
                 dtype="float32"):
        super().__init__(input_size, hidden_size, bias, seed, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None):
        self.check(x)
        if h is None:
            h = self.zero_state(x.shape[0] if x.ndim == 2 else None, x.dtype)
        pre = Fn.linear(x, self.weight_ih, self.bias_ih) + Fn.linear(h, self.weight_hh, self.bias_hh)
        return F.tanh(pre) if self.nonlinearity == "tanh" else F.relu(pre)


class LSTMCell(_Cell):
    """Gates i, f, g, o (PyTorch's order); returns (h', c')."""
    gates = 4

    def forward(self, x, state=None):
        self.check(x)
        if state is None:
            z = self.zero_state(x.shape[0] if x.ndim == 2 else None, x.dtype)
            state = (z, z)
        h, c = state
        pre = Fn.linear(x, self.weight_ih, self.bias_ih) + Fn.linear(h, self.weight_hh, self.bias_hh)
        H = self.hidden_size
        i, f, g, o = (pre[..., k * H:(k + 1) * H] for k in range(4))
        c2 = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        return F.sigmoid(o) * F.tanh(c2), c2


class GRUCell(_Cell):
    """Gates r, z, n (PyTorch's order): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h."""
    gates = 3

    def forward(self, x, h=None):
        self.check(x)
        if h is None:
            h = self.zero_state(x.shape[0] if x.ndim == 2 else None, x.dtype)
        gi = Fn.linear(x, self.weight_ih, self.bias_ih)
        gh = Fn.linear(h, self.weight_hh, self.bias_hh)
        H = self.hidden_size
        part = lambda a, k: a[..., k * H:(k + 1) * H]                          # noqa: E731
        r = F.sigmoid(part(gi, 0) + part(gh, 0))
        z = F.sigmoid(part(gi, 1) + part(gh, 1))
        n = F.tanh(part(gi, 2) + r * part(gh, 2))
        return (1 - z) * n + z * h
