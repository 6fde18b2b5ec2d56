"""Layers: parameters named, shaped and initialised as in PyTorch, so state dicts move both ways.

Linear, Embedding, Dropout, Flatten, Unflatten and ReLU/Tanh/Sigmoid here; more activations in
`activation.py`, convolution in `conv.py`, pooling and resizing in `pooling.py`, normalisation in
`norm.py`, recurrent cells in `rnn.py`.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from ..ir import functions as F
from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .module import Module, Parameter


class Linear(Module):
    """Applies an affine linear transformation to the incoming data: y = x A^T + b.

    As `torch.nn.Linear`: the same parameter names, shapes and initialisation, so state dicts
    move both ways.

    Parameters
    ----------
    in_features : int
        Size of each input sample (H_in).
    out_features : int
        Size of each output sample (H_out).
    bias : bool, default True
        If False, the layer does not learn an additive bias.
    seed : int, optional
        Seed of the initialisation (default: the generator `st.nn.manual_seed` sets).
    dtype : str, default "float32"
        The parameters' dtype.

    Attributes
    ----------
    weight : numpy.ndarray
        (out_features, in_features), initialised from U(-sqrt(k), sqrt(k)) with
        k = 1 / in_features (PyTorch's kaiming_uniform with a = sqrt(5)).
    bias : numpy.ndarray or None
        (out_features,), initialised from U(-sqrt(k), sqrt(k)), k = 1 / in_features.

    Shape
    -----
    - Input: (N, *, H_in), any number of leading dimensions (including none), H_in = in_features.
    - Output: (N, *, H_out), H_out = out_features.

    Raises
    ------
    StageTypeError
        The input's last dimension is not `in_features` (the message names the module and its
        place in the model).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> m = st.nn.Linear(20, 30)
    >>> m(np.ones((128, 20), np.float32)).shape
    (128, 30)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__()
        rng = init.generator(seed)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.kaiming_uniform(rng, (out_features, in_features), dtype=dtype))
        self.bias = Parameter(init.uniform(rng, (out_features,), 1 / math.sqrt(in_features), dtype)) \
            if bias else None

    def forward(self, x):
        n = self.in_features
        check_input(np.ndim(x) >= 1 and np.shape(x)[-1] == n,
                    f"input (*, {n}) (in_features={n}), got "
                    f"{np.shape(x)[-1] if np.ndim(x) else 'a scalar'} (input {input_type(x)})")
        return Fn.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A lookup table of embeddings, as `torch.nn.Embedding`.

    Parameters
    ----------
    num_embeddings : int
        Size of the dictionary.
    embedding_dim : int
        Size of each embedding vector.
    padding_idx : int, optional
        The row at this index starts at zero (when initialised here) and never receives a
        gradient (negative counts from the end).
    freeze : bool, default False
        Keep the table out of training (a frozen parameter).
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The table's dtype.

    Attributes
    ----------
    weight : numpy.ndarray
        (num_embeddings, embedding_dim), initialised from N(0, 1).

    Shape
    -----
    - Input: (*), integer indices of any shape (staged or static); an index out of range is an
      `IndexError` at run time.
    - Output: (*, embedding_dim).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Embedding(10, 3)(np.array([[1, 2], [4, 9]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None,
                 freeze: bool = False, seed: Optional[int] = None, dtype: str = "float32",
                 _weight: Optional[np.ndarray] = None):
        super().__init__()
        self.padding_idx = Fn.padding_index(padding_idx, num_embeddings)
        w = init.normal(init.generator(seed), (num_embeddings, embedding_dim), dtype=dtype) \
            if _weight is None else np.asarray(_weight, dtype)
        if _weight is None and self.padding_idx is not None:
            w[self.padding_idx] = 0
        self.weight = Parameter(w, requires_grad=not freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: Optional[int] = None) -> "Embedding":
        """An Embedding holding the given table (e.g. GloVe vectors), frozen by default.

        Parameters
        ----------
        embeddings : array_like
            (num_embeddings, embedding_dim); its dtype is kept.
        freeze : bool, default True
            Keep the table out of training.
        padding_idx : int, optional
            As in the constructor (the given row is kept as it is).

        Returns
        -------
        Embedding

        Raises
        ------
        ValueError
            `embeddings` is not 2-d.
        """
        e = np.asarray(embeddings)
        if e.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: needs a 2-d array, got shape {e.shape}")
        return cls(e.shape[0], e.shape[1], padding_idx=padding_idx, freeze=freeze,
                   dtype=e.dtype.name, _weight=e)

    def forward(self, indices):
        dt = getattr(indices, "dtype", None) or np.asarray(indices).dtype
        check_input(np.dtype(dt).kind in "iu",
                    f"integer indices, got {input_type(indices)}")
        return Fn.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}{pad}"


class Dropout(Module):
    """Zeroes each element with probability `p` in training mode and scales the rest by
    1 / (1 - p), as `torch.nn.Dropout`; the identity in eval mode.

    The mask is drawn in native code from a counter-based generator keyed by the step's
    (seed, counter): `st.train_step(..., seed=s)` advances the counter on every call, so each step
    draws new masks and a run is reproducible from its seed. A dropout in training mode outside
    such a step needs an explicit key (`st.nn.functional.dropout(x, p, key=(seed, counter))`).

    Parameters
    ----------
    p : float, default 0.5
        Probability of zeroing an element, in [0, 1).

    Shape
    -----
    - Input: any shape. Output: the same.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return Fn.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """Flattens dimensions start_dim..end_dim into one, as `torch.nn.Flatten`.

    Parameters
    ----------
    start_dim : int, default 1
        First dimension flattened (the batch dimension 0 is kept by default).
    end_dim : int, default -1
        Last dimension flattened.

    Shape
    -----
    - Input: (N, *dims). Output: (N, prod(dims)) with the defaults.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return Fn.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dimension `dim` into `unflattened_size`, as `torch.nn.Unflatten`.

    Parameters
    ----------
    dim : int
        The dimension expanded.
    unflattened_size : sequence of int
        Its new shape (one entry may be -1); the product must be the dimension's size.

    Shape
    -----
    - Input: (*, S, *) with S at `dim`. Output: (*, *unflattened_size, *).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Unflatten(1, (2, 5))(np.zeros((3, 10), np.float32)).shape
    (3, 2, 5)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(d) for d in unflattened_size)

    def forward(self, x):
        shape = tuple(np.shape(x))
        d = self.dim % len(shape) if shape else 0
        return F.reshape(x, shape[:d] + self.unflattened_size + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0) elementwise, as `torch.nn.ReLU`. Shape: any; the output has the input's."""

    fn = staticmethod(Fn.relu)


class Tanh(_Activation):
    """tanh(x) elementwise, as `torch.nn.Tanh`. Shape: any; the output has the input's."""

    fn = staticmethod(Fn.tanh)


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)) elementwise, as `torch.nn.Sigmoid`. Shape: any; the output has the
    input's."""

    fn = staticmethod(Fn.sigmoid)
