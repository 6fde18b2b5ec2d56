"""Convolution and pooling layers over NCHW images, with PyTorch's parameters and initialisation."""
from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import numpy as np

from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .module import Module, Parameter

IntOrPair = Union[int, Tuple[int, int]]


class Conv2d(Module):
    """A 2-D convolution (cross-correlation) over NCHW images, as `torch.nn.Conv2d`.

    Parameters
    ----------
    in_channels : int
        Channels of the input (C_in).
    out_channels : int
        Channels produced (C_out).
    kernel_size : int or (int, int)
        Size of the kernel.
    stride : int or (int, int), default 1
        Stride of the convolution.
    padding : int or (int, int), default 0
        Zero padding added to both sides of height and width.
    dilation : int or (int, int), default 1
        Spacing between kernel elements.
    groups : int, default 1
        Blocked connections: the channels are split into `groups` groups, each convolved with
        its own filters; in_channels and out_channels must be divisible by it.
    bias : bool, default True
        Add a learnable bias per output channel.
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype.

    Attributes
    ----------
    weight : numpy.ndarray
        (out_channels, in_channels / groups, kH, kW), from U(-sqrt(k), sqrt(k)) with
        k = groups / (in_channels * kH * kW).
    bias : numpy.ndarray or None
        (out_channels,), from the same distribution.

    Shape
    -----
    - Input: (N, C_in, H_in, W_in).
    - Output: (N, C_out, H_out, W_out) with
      H_out = floor((H_in + 2 padding[0] - dilation[0] (kH - 1) - 1) / stride[0] + 1), and W_out
      likewise.

    Raises
    ------
    ValueError
        Channels not divisible by `groups`.
    StageTypeError
        An input that is not 4-d or has the wrong number of channels.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Conv2d(1, 10, 5)(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10, 24, 24)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, seed: Optional[int] = None,
                 dtype: str = "float32"):
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
    """2-D max pooling over NCHW images, as `torch.nn.MaxPool2d`.

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window.
    stride : int or (int, int), optional
        Default: `kernel_size`.
    padding : int or (int, int), default 0
        Implicit padding (never selected) on both sides.

    Shape
    -----
    - Input: (N, C, H_in, W_in).
    - Output: (N, C, H_out, W_out), H_out = floor((H_in + 2 padding - kernel_size) / stride + 1).
    """

    def __init__(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None,
                 padding: IntOrPair = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return Fn.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class AvgPool2d(MaxPool2d):
    """2-D average pooling over NCHW images, as `torch.nn.AvgPool2d` (zero padding counts in the
    average: PyTorch's default ``count_include_pad=True``).

    Parameters
    ----------
    kernel_size : int or (int, int)
        The window.
    stride : int or (int, int), optional
        Default: `kernel_size`.
    padding : int or (int, int), default 0
        Zero padding on both sides.

    Shape
    -----
    - Input: (N, C, H_in, W_in).
    - Output: (N, C, H_out, W_out), as `MaxPool2d`.
    """

    def forward(self, x):
        return Fn.avg_pool2d(x, self.kernel_size, self.stride, self.padding)
