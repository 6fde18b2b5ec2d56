"""Convolution layers over NCL sequences and NCHW images, with PyTorch's parameters,
initialisation and reprs (functional forms in `convolution.py`; pooling layers in `pooling.py`)."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import functional as Fn
from . import init
from .checks import check_input, input_type
from .convolution import (PADDING_MODES, conv_padding, ntuple, pad_for_mode, transposed_size)
from .module import Module, Parameter

IntOrPair = Union[int, Tuple[int, int]]
Padding = Union[int, Tuple[int, ...], str]


class _ConvNd(Module):
    """What Conv1d, Conv2d and ConvTranspose2d share: checked geometry, PyTorch's initialisation
    (U(-sqrt(k), sqrt(k)), k = 1 / fan_in of the weight), the input check and the repr."""
    nd = 2
    transposed = False
    layout = "(N, C, H, W)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str, seed: Optional[int],
                 dtype: str, output_padding=0):
        super().__init__()
        name, nd = type(self).__name__, self.nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES or (self.transposed and padding_mode != "zeros"):
            allowed = ("zeros",) if self.transposed else tuple(PADDING_MODES)
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(map(repr, allowed))}"
                             f", got {padding_mode!r}")
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size", name)
        self.stride = ntuple(stride, nd, "stride", name)
        self.dilation = ntuple(dilation, nd, "dilation", name)
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be positive, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        if isinstance(padding, str) and self.transposed:
            raise ValueError(f"{name}: padding must be an int or {nd} ints, got {padding!r}")
        conv_padding(padding, self.kernel_size, self.stride, self.dilation, name)   # checks it
        self.padding = padding if isinstance(padding, str) else ntuple(padding, nd, "padding",
                                                                         name)
        self.output_padding = ntuple(output_padding, nd, "output_padding", name)
        self.groups, self.padding_mode = int(groups), padding_mode
        self.in_channels, self.out_channels = in_channels, out_channels
        rng = init.generator(seed)
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(init.kaiming_uniform(rng, shape, dtype=dtype))
        self.bias = Parameter(init.uniform(rng, (out_channels,), 1 / math.sqrt(init.fan_in(shape)),
                                           dtype)) if bias else None

    def _check(self, x):
        c, nd = self.in_channels, self.nd
        got = np.shape(x)[np.ndim(x) - nd - 1] if np.ndim(x) in (nd + 1, nd + 2) else None
        batched = self.layout.replace('C', str(c), 1)
        check_input(got == c, f"input {batched} or {batched.replace('(N, ', '(')} unbatched "
                    f"(in_channels={c}), "
                    "got " + (f"{got} channels" if got is not None else f"{np.ndim(x)}-d input")
                    + f" (input {input_type(x)})")

    def _padded(self, x):
        """x padded by padding_mode when it is not 'zeros', and the padding left to the kernel."""
        if self.padding_mode == "zeros":
            return x, self.padding
        pairs = conv_padding(self.padding, self.kernel_size, self.stride, self.dilation,
                             type(self).__name__)
        return pad_for_mode(x, pairs, self.padding_mode, type(self).__name__), 0

    def extra_repr(self):
        nd = self.nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """A 1-D convolution (cross-correlation) over (N, C, L) sequences, as `torch.nn.Conv1d`.

    Parameters
    ----------
    in_channels : int
        Channels of the input (C_in).
    out_channels : int
        Channels produced (C_out).
    kernel_size : int or (int,)
        Length of the kernel.
    stride : int or (int,), default 1
        Stride of the convolution.
    padding : int, (int,), 'valid' or 'same', default 0
        Padding added to both ends; 'same' keeps the length (stride 1 only; an odd total puts
        the extra position at the end).
    dilation : int or (int,), default 1
        Spacing between kernel elements.
    groups : int, default 1
        Blocked connections from input channels to output channels; both must be divisible by it.
    bias : bool, default True
        Add a learnable bias per output channel.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}, default 'zeros'
        What the padding holds.
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype.

    Attributes
    ----------
    weight : numpy.ndarray
        (out_channels, in_channels / groups, kL), from U(-sqrt(k), sqrt(k)) with
        k = groups / (in_channels * kL).
    bias : numpy.ndarray or None
        (out_channels,), from the same distribution.

    Shape
    -----
    - Input: (N, C_in, L_in), or (C_in, L_in) unbatched.
    - Output: (N, C_out, L_out) (unbatched: (C_out, L_out)) with
      L_out = floor((L_in + 2 padding - dilation (kL - 1) - 1) / stride + 1).

    Raises
    ------
    ValueError
        Channels not divisible by `groups`, an unknown padding or padding_mode, 'same' with a
        stride, or non-positive sizes.
    StageTypeError
        An input that is not 3-d or has the wrong number of channels.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Conv1d(4, 8, 3, padding=1)(np.zeros((2, 4, 10), np.float32)).shape
    (2, 8, 10)
    """
    nd = 1
    layout = "(N, C, L)"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int]],
                 stride: Union[int, Tuple[int]] = 1, padding: Padding = 0,
                 dilation: Union[int, Tuple[int]] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", seed: Optional[int] = None,
                 dtype: str = "float32"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, seed, dtype)

    def forward(self, x):
        self._check(x)
        x, padding = self._padded(x)
        return Fn.conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                         self.groups)


class Conv2d(_ConvNd):
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
    padding : int, (int, int), 'valid' or 'same', default 0
        Padding added to both sides of height and width; 'same' keeps the size (stride 1 only).
    dilation : int or (int, int), default 1
        Spacing between kernel elements.
    groups : int, default 1
        Blocked connections: the channels are split into `groups` groups, each convolved with
        its own filters; in_channels and out_channels must be divisible by it.
    bias : bool, default True
        Add a learnable bias per output channel.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}, default 'zeros'
        What the padding holds.
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
    - Input: (N, C_in, H_in, W_in), or (C_in, H_in, W_in) unbatched.
    - Output: (N, C_out, H_out, W_out) (unbatched: (C_out, H_out, W_out)) with
      H_out = floor((H_in + 2 padding[0] - dilation[0] (kH - 1) - 1) / stride[0] + 1), and W_out
      likewise.

    Raises
    ------
    ValueError
        Channels not divisible by `groups`, an unknown padding or padding_mode, 'same' with a
        stride, or non-positive sizes.
    StageTypeError
        An input that is not 4-d or has the wrong number of channels.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Conv2d(1, 10, 5)(np.zeros((2, 1, 28, 28), np.float32)).shape
    (2, 10, 24, 24)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: Padding = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 seed: Optional[int] = None, dtype: str = "float32"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, seed, dtype)

    def forward(self, x):
        self._check(x)
        x, padding = self._padded(x)
        return Fn.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                         self.groups)


class ConvTranspose2d(_ConvNd):
    """A 2-D transposed convolution over NCHW images (the gradient of a Conv2d with respect to its
    input, sometimes called a deconvolution), as `torch.nn.ConvTranspose2d`.

    Parameters
    ----------
    in_channels : int
        Channels of the input (C_in).
    out_channels : int
        Channels produced (C_out).
    kernel_size : int or (int, int)
        Size of the kernel.
    stride : int or (int, int), default 1
        Stride of the convolution this one transposes.
    padding : int or (int, int), default 0
        dilation * (kernel_size - 1) - padding zeros pad both sides of the input.
    output_padding : int or (int, int), default 0
        Extra size on one side of the output, smaller than stride or dilation.
    groups : int, default 1
        Blocked connections from input channels to output channels; both must be divisible by it.
    bias : bool, default True
        Add a learnable bias per output channel.
    dilation : int or (int, int), default 1
        Spacing between kernel elements.
    padding_mode : {'zeros'}, default 'zeros'
        The only mode PyTorch's transposed convolutions have.
    seed : int, optional
        Seed of the initialisation.
    dtype : str, default "float32"
        The parameters' dtype.

    Attributes
    ----------
    weight : numpy.ndarray
        (in_channels, out_channels / groups, kH, kW), from U(-sqrt(k), sqrt(k)) with
        k = groups / (out_channels * kH * kW).
    bias : numpy.ndarray or None
        (out_channels,), from the same distribution.

    Shape
    -----
    - Input: (N, C_in, H_in, W_in), or (C_in, H_in, W_in) unbatched.
    - Output: (N, C_out, H_out, W_out) (unbatched: 3-d) with H_out = (H_in - 1) stride[0] - 2 padding[0] +
      dilation[0] (kH - 1) + output_padding[0] + 1, and W_out likewise.

    Raises
    ------
    ValueError
        Channels not divisible by `groups`, an output_padding not smaller than stride or dilation,
        a padding_mode other than 'zeros', or non-positive sizes.
    StageTypeError
        An input that is not 4-d or has the wrong number of channels.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> up = st.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    >>> up(np.zeros((2, 8, 5, 5), np.float32)).shape
    (2, 4, 10, 10)
    """
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                 groups: int = 1, bias: bool = True, dilation: IntOrPair = 1,
                 padding_mode: str = "zeros", seed: Optional[int] = None,
                 dtype: str = "float32"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, seed, dtype, output_padding)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                 self.dilation)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                             f"smaller than either stride {self.stride} or dilation "
                             f"{self.dilation}")

    def forward(self, x, output_size: Optional[Sequence[int]] = None):
        self._check(x)
        return Fn.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                   self._output_padding(x, output_size), self.groups,
                                   self.dilation)

    def _output_padding(self, x, output_size):
        """PyTorch's choice among the output sizes one input size can come from: output_size
        (H, W) or (N, C, H, W) picks the output_padding."""
        if output_size is None:
            return self.output_padding
        size = tuple(int(v) for v in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must end with (H, W), got "
                             f"{output_size}")
        pads = []
        for i in range(2):
            low = transposed_size(np.shape(x)[2 + i], self.kernel_size[i], self.stride[i],
                                  self.padding[i], 0, self.dilation[i])
            if not low <= size[i] < low + self.stride[i]:
                raise ValueError(f"ConvTranspose2d: output_size {tuple(output_size)} is not "
                                 f"reachable: dimension {i} must be in [{low}, "
                                 f"{low + self.stride[i] - 1}] for input {np.shape(x)}")
            pads.append(size[i] - low)
        return tuple(pads)
