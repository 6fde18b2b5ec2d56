"""Normalisation layers: batch normalization (PyTorch's parameters, buffers and running-average
rules), LayerNorm, RMSNorm and GroupNorm (functional forms in `normalize.py`)."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from ..ir import functions as F
from . import functional as Fn
from . import normalize as N
from .checks import check_input, input_type
from .module import Module, Parameter


class _BatchNorm(Module):
    """Normalises per channel; keeps running averages (momentum as PyTorch: new = (1 - m) old + m
    batch, with the unbiased batch variance; momentum=None averages every batch so far equally,
    m = 1 / num_batches_tracked), used in eval mode."""
    ndims: Tuple[int, ...] = ()
    shapes: Tuple[str, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: str = "float32"):
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


_BN_DOC = """Batch normalization over {what}, as `torch.nn.{name}`.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, per channel C. In training mode the
    statistics are the batch's (biased variance) and the running averages are updated inside the
    compiled step; in eval mode the running averages are used.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float, default 1e-5
        Added to the variance.
    momentum : float or None, default 0.1
        running = (1 - momentum) running + momentum batch (the unbiased batch variance for
        running_var); None averages all batches so far equally (m = 1 / num_batches_tracked).
    affine : bool, default True
        Learn `weight` (init 1) and `bias` (init 0).
    track_running_stats : bool, default True
        Keep the buffers `running_mean` (init 0), `running_var` (init 1) and
        `num_batches_tracked`; without them batch statistics are used in eval mode too.
    dtype : str, default "float32"
        The parameters' dtype.

    Shape
    -----
    - Input: {shape}.
    - Output: the same shape.

    Raises
    ------
    StageTypeError
        An input of another rank or channel count: `BatchNorm1d(10, ...) at model.layers[2]:
        expects input (N, 10) or (N, 10, L) (num_features=10), got 12 features`.
    """


class BatchNorm1d(_BatchNorm):
    __doc__ = _BN_DOC.format(what="(N, C) or (N, C, L) inputs", name="BatchNorm1d",
                             shape="(N, C) or (N, C, L)")
    ndims = (2, 3)
    shapes = ("(N, C)", "(N, C, L)")


class BatchNorm2d(_BatchNorm):
    __doc__ = _BN_DOC.format(what="NCHW images", name="BatchNorm2d", shape="(N, C, H, W)")
    ndims = (4,)
    shapes = ("(N, C, H, W)",)


class LayerNorm(Module):
    """Layer normalisation over the trailing dimensions, as `torch.nn.LayerNorm`.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, the statistics (biased variance) taken
    over the last len(normalized_shape) dimensions of each sample; the same in training and
    evaluation.

    Parameters
    ----------
    normalized_shape : int or sequence of int
        The trailing shape normalised over (an int: the last dimension's size).
    eps : float, default 1e-5
        Added to the variance.
    elementwise_affine : bool, default True
        Learn `weight` (init 1) and `bias` (init 0) of shape `normalized_shape`.
    bias : bool, default True
        With `elementwise_affine`, also learn the shift.
    dtype : str, default "float32"
        The parameters' dtype.

    Shape
    -----
    - Input: (*, *normalized_shape). Output: the same.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> y = st.nn.LayerNorm(4)(np.arange(8, dtype=np.float32).reshape(2, 4))
    >>> np.round(y[0], 3)
    array([-1.342, -0.447,  0.447,  1.342], dtype=float32)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: str = "float32"):
        super().__init__()
        self.normalized_shape = N.normalized_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine \
            else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) \
            if elementwise_affine and bias else None

    def forward(self, x):
        return N.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """Root-mean-square normalisation, as `torch.nn.RMSNorm`: x / sqrt(mean(x^2) + eps) * weight
    over the trailing `normalized_shape` dimensions.

    Parameters
    ----------
    normalized_shape : int or sequence of int
        The trailing shape normalised over.
    eps : float, optional
        Added to the mean square; default: `numpy.finfo(dtype).eps` of the input (PyTorch's).
    elementwise_affine : bool, default True
        Learn `weight` (init 1) of shape `normalized_shape`.
    dtype : str, default "float32"
        The parameters' dtype.

    Shape
    -----
    - Input: (*, *normalized_shape). Output: the same.
    """

    def __init__(self, normalized_shape, eps: Optional[float] = None,
                 elementwise_affine: bool = True, dtype: str = "float32"):
        super().__init__()
        self.normalized_shape = N.normalized_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine \
            else None

    def forward(self, x):
        return N.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalisation, as `torch.nn.GroupNorm`: the channels are split into `num_groups`
    groups, each normalised over its channels and positions, then scaled and shifted per channel.

    Parameters
    ----------
    num_groups : int
        The number of groups; must divide `num_channels`.
    num_channels : int
        C, the number of channels of the input.
    eps : float, default 1e-5
        Added to the variance.
    affine : bool, default True
        Learn per-channel `weight` (init 1) and `bias` (init 0).
    dtype : str, default "float32"
        The parameters' dtype.

    Shape
    -----
    - Input: (N, C, *). Output: the same.

    Raises
    ------
    ValueError
        `num_channels` not divisible by `num_groups`.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: str = "float32"):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = \
            num_groups, num_channels, eps, affine
        self.weight = Parameter(np.ones(num_channels, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype)) if affine else None

    def forward(self, x):
        c = self.num_channels
        check_input(np.ndim(x) >= 2 and np.shape(x)[1] == c,
                    f"input (N, {c}, *) (num_channels={c}), got {input_type(x)}")
        return N.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
