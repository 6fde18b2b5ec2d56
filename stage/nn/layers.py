"""Layers: parameters named, shaped and initialised as in PyTorch, so state dicts move both ways."""
from __future__ import annotations

import math

import numpy as np

from ..ir import functions as F
from . import functional as Fn
from . import init
from .module import Module, Parameter, check_input, input_type


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, seed=None, dtype="float32"):
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
    """A lookup table; `freeze=True` (or from_pretrained) keeps it out of training. The row at
    `padding_idx` starts at zero (when initialised here) and never receives a gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, freeze=False, seed=None,
                 dtype="float32", _weight=None):
        super().__init__()
        self.padding_idx = Fn.padding_index(padding_idx, num_embeddings)
        w = init.normal(init.generator(seed), (num_embeddings, embedding_dim), dtype=dtype) \
            if _weight is None else np.asarray(_weight, dtype)
        if _weight is None and self.padding_idx is not None:
            w[self.padding_idx] = 0
        self.weight = Parameter(w, requires_grad=not freeze)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
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


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, seed=None, dtype="float32"):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        rng = init.generator(seed)
        kh, kw = Fn._pair(kernel_size)
        self.stride, self.padding = Fn._pair(stride), Fn._pair(padding)
        self.dilation, self.groups = Fn._pair(dilation), int(groups)
        shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Parameter(init.kaiming_uniform(rng, shape, dtype=dtype))
        self.bias = Parameter(init.uniform(rng, (out_channels,), 1 / math.sqrt(init.fan_in(shape)),
                                           dtype)) if bias else None

    def forward(self, x):
        c = self.weight.shape[1] * self.groups
        got = np.shape(x)[1] if np.ndim(x) == 4 else None
        check_input(got == c, f"input (N, {c}, H, W) (in_channels={c}), got "
                    + (f"{got} channels" if got is not None else f"{np.ndim(x)}-d input") +
                    f" (input {input_type(x)})")
        return Fn.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                         self.groups)

    def extra_repr(self):
        o, c, kh, kw = self.weight.shape
        extra = (f", dilation={self.dilation}" if self.dilation != (1, 1) else "") + \
            (f", groups={self.groups}" if self.groups != 1 else "")
        return f"{c * self.groups}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}, " \
               f"padding={self.padding}{extra}"


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return Fn.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class AvgPool2d(MaxPool2d):
    def forward(self, x):
        return Fn.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class _BatchNorm(Module):
    """Normalises per channel; keeps running averages (momentum as PyTorch: new = (1 - m) old + m
    batch, with the unbiased batch variance; momentum=None averages every batch so far equally,
    m = 1 / num_batches_tracked), used in eval mode."""
    ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype="float32"):
        super().__init__()
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, "
                             f"got {momentum}")
        self.num_features = num_features
        self.eps, self.momentum, self.track = eps, momentum, track_running_stats
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def forward(self, x):
        n = self.num_features
        shapes = " or ".join(self.shapes).replace("C", str(n))
        check_input(np.ndim(x) in self.ndims and np.shape(x)[1] == n,
                    f"input {shapes} (num_features={n}), got " +
                    (f"{np.shape(x)[1]} features" if np.ndim(x) in self.ndims else
                     f"{np.ndim(x)}-d input") + f" (input {input_type(x)})")
        use_batch = self.training or not self.track
        if self.training and self.track:
            mean, var, axes = Fn.batch_stats(x)
            n = x.size // x.shape[1]
            count = self.num_batches_tracked + 1
            self.update_buffer("num_batches_tracked", count)
            # a runtime value for the cumulative average: one compiled step serves every batch
            m = self.momentum if self.momentum is not None else 1.0 / F.astype(count, x.dtype)
            self.update_buffer("running_mean", (1 - m) * self.running_mean + m * mean.reshape(-1))
            self.update_buffer("running_var", (1 - m) * self.running_var +
                               (m * n / max(n - 1, 1)) * var.reshape(-1))
        return Fn.batch_norm(x, getattr(self, "running_mean", None),
                             getattr(self, "running_var", None), self.weight, self.bias,
                             training=use_batch, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    ndims = (2, 3)
    shapes = ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    ndims = (4,)
    shapes = ("(N, C, H, W)",)


class Dropout(Module):
    """Zeroes elements with probability p in training mode (in native code, from the step's seed
    and counter); the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return Fn.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return Fn.flatten(x, self.start_dim, self.end_dim)


class _Activation(Module):
    fn = None

    def forward(self, x):
        return type(self).fn(x)


class ReLU(_Activation):
    fn = staticmethod(Fn.relu)


class Tanh(_Activation):
    fn = staticmethod(Fn.tanh)


class Sigmoid(_Activation):
    fn = staticmethod(Fn.sigmoid)
