"""Recurrent cells with PyTorch's parameter names, gate order and initialisation
(every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden))). A cell maps one step's input (N, in) or
(in,) and state to the next state; loops over time are Python loops (unrolled) or `st.fori_loop`."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..ir import functions as F
from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .module import Module, Parameter


_CELL_PARAMS = """input_size : int
        The number of features of the input x.
    hidden_size : int
        The number of features of the hidden state h.
    bias : bool, default True
        Learn `bias_ih` and `bias_hh`.{extra}
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype."""


class _Cell(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 seed: Optional[int] = None, dtype: str = "float32"):
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

    def zero_state(self, batch: Optional[int] = None, dtype: str = "float32"):
        """A zero hidden state: (batch, hidden_size), or (hidden_size,) without a batch."""
        shape = (self.hidden_size,) if batch is None else (batch, self.hidden_size)
        return F.zeros(shape, dtype)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    __doc__ = f"""An Elman RNN cell, as `torch.nn.RNNCell`: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    Parameters
    ----------
    {_CELL_PARAMS.format(extra=chr(10) + '    nonlinearity : {"tanh", "relu"}, default "tanh"'
                         + chr(10) + '        The activation act.')}

    Attributes
    ----------
    weight_ih : (hidden_size, input_size)
    weight_hh : (hidden_size, hidden_size)
    bias_ih, bias_hh : (hidden_size,)
        All initialised from U(-sqrt(k), sqrt(k)), k = 1 / hidden_size.

    Shape
    -----
    - Input: x (N, input_size) or (input_size,); h of the matching (N, hidden_size) or
      (hidden_size,), optional (zeros).
    - Output: h' of h's shape.

    Loops over time are Python loops (unrolled) or `st.fori_loop` (one compiled loop).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> cell = st.nn.RNNCell(10, 20)
    >>> cell(np.ones((3, 10), np.float32)).shape
    (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", seed: Optional[int] = None, dtype: str = "float32"):
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
    __doc__ = f"""A long short-term memory cell, as `torch.nn.LSTMCell`.

    i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh) (PyTorch's gate order);
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g); h' = sigmoid(o) * tanh(c').

    Parameters
    ----------
    {_CELL_PARAMS.format(extra="")}

    Attributes
    ----------
    weight_ih : (4 hidden_size, input_size)
    weight_hh : (4 hidden_size, hidden_size)
    bias_ih, bias_hh : (4 hidden_size,)
        All initialised from U(-sqrt(k), sqrt(k)), k = 1 / hidden_size.

    Shape
    -----
    - Input: x (N, input_size) or (input_size,); state (h, c), each (N, hidden_size) or
      (hidden_size,), optional (zeros).
    - Output: (h', c'), the state's shapes.
    """
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
    __doc__ = f"""A gated recurrent unit cell, as `torch.nn.GRUCell`.

    Gates r, z, n (PyTorch's order): r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Parameters
    ----------
    {_CELL_PARAMS.format(extra="")}

    Attributes
    ----------
    weight_ih : (3 hidden_size, input_size)
    weight_hh : (3 hidden_size, hidden_size)
    bias_ih, bias_hh : (3 hidden_size,)
        All initialised from U(-sqrt(k), sqrt(k)), k = 1 / hidden_size.

    Shape
    -----
    - Input: x (N, input_size) or (input_size,); h (N, hidden_size) or (hidden_size,),
      optional (zeros).
    - Output: h' of h's shape.
    """
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
