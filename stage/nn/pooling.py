"""Pooling and resizing layers without weights: max and average pooling over NCHW images, adaptive
average pooling to a fixed output size, and nearest-neighbour upsampling, as PyTorch's (functional
forms in `functional.py` and `resampling.py`)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from . import functional as Fn
from . import resampling as R
from .checks import check_input, input_type
from .module import Module

IntOrPair = Union[int, Tuple[int, int]]


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
    - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
    - Output: (N, C, H_out, W_out) or (C, H_out, W_out), H_out = floor((H_in + 2 padding - kernel_size) / stride + 1).
    """

    def __init__(self, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None,
                 padding: IntOrPair = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return Fn.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):                   # as PyTorch's (the options stage has fixed included)
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
                f"padding={self.padding}, dilation=1, ceil_mode=False")


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
    - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
    - Output: (N, C, H_out, W_out) or (C, H_out, W_out), as `MaxPool2d`.
    """

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, "
                f"padding={self.padding}")

    def forward(self, x):
        return Fn.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class _AdaptiveAvgPool(Module):
    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average pooling of NCHW images to a fixed output size, as `torch.nn.AdaptiveAvgPool2d`.

    Output (i, j) averages rows floor(i H / H_out) .. ceil((i + 1) H / H_out) - 1 and the columns
    likewise, for any input size (windows of different lengths when the sizes do not divide).

    Parameters
    ----------
    output_size : int or (int or None, int or None)
        (H_out, W_out); an int for both; None keeps that dimension of the input.

    Shape
    -----
    - Input: (N, C, H_in, W_in) or (C, H_in, W_in).
    - Output: (N, C, H_out, W_out) or (C, H_out, W_out).

    Raises
    ------
    ValueError
        An output_size that is not positive or has more than two entries.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.AdaptiveAvgPool2d((1, None))(np.zeros((2, 3, 7, 5), np.float32)).shape
    (2, 3, 1, 5)
    """

    def __init__(self, output_size: Union[int, None, Sequence[Optional[int]]]):
        super().__init__()
        R._output_sizes(output_size, (1, 1), type(self).__name__)           # checks it
        self.output_size = output_size

    def forward(self, x):
        return Fn.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Average pooling of (N, C, L) sequences to a fixed length, as `torch.nn.AdaptiveAvgPool1d`.

    Parameters
    ----------
    output_size : int or (int,)
        L_out; output i averages positions floor(i L / L_out) .. ceil((i + 1) L / L_out) - 1.

    Shape
    -----
    - Input: (N, C, L_in) or (C, L_in).
    - Output: (N, C, L_out) or (C, L_out).

    Raises
    ------
    ValueError
        An output_size that is not positive.
    """

    def __init__(self, output_size: Union[int, Sequence[int]]):
        super().__init__()
        if output_size is None:
            raise ValueError("AdaptiveAvgPool1d: output_size must be an int, got None")
        R._output_sizes(output_size, (1,), type(self).__name__)
        self.output_size = output_size

    def forward(self, x):
        return Fn.adaptive_avg_pool1d(x, self.output_size)


class Upsample(Module):
    """Resizes (N, C, L), (N, C, H, W) or (N, C, D, H, W) inputs by nearest-neighbour
    interpolation, as `torch.nn.Upsample` (see `st.nn.functional.interpolate`).

    Parameters
    ----------
    size : int or tuple of int, optional
        The output's spatial size.
    scale_factor : float or tuple of float, optional
        Multiplier of each spatial size; exactly one of `size` and `scale_factor` is given.
    mode : {'nearest', 'nearest-exact', 'area'}, default 'nearest'
        PyTorch's linear modes are not implemented (NotImplementedError).
    align_corners : None
        Only meaningful for the linear modes.
    recompute_scale_factor : bool, optional
        True: index with the ratio of the sizes rather than the given scale_factor.

    Shape
    -----
    - Input: (N, C, *spatial), 1 to 3 spatial dimensions.
    - Output: (N, C, *out) with out = size, or floor(spatial * scale_factor).

    Raises
    ------
    NotImplementedError
        A mode other than 'nearest', 'nearest-exact' or 'area'.
    ValueError
        Both or neither of `size` and `scale_factor`, or non-positive ones.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> st.nn.Upsample(scale_factor=2)(np.zeros((1, 3, 4, 5), np.float32)).shape
    (1, 3, 8, 10)
    """

    def __init__(self, size: Union[int, Sequence[int], None] = None,
                 scale_factor: Union[float, Sequence[float], None] = None, mode: str = "nearest",
                 align_corners: Optional[bool] = None,
                 recompute_scale_factor: Optional[bool] = None):
        super().__init__()
        if mode not in R.INTERPOLATE_MODES:
            raise NotImplementedError(f"Upsample: mode={mode!r} is not implemented (supported: "
                                      f"{', '.join(map(repr, R.INTERPOLATE_MODES))})")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        given = np.ravel(np.asarray(size if size is not None else scale_factor, dtype=object))
        if not all(isinstance(v, (int, float, np.integer, np.floating)) and v > 0 for v in given):
            raise ValueError(f"Upsample: size and scale_factor must be positive, got "
                             f"{size if size is not None else scale_factor}")
        self.size, self.mode = size, mode
        self.scale_factor = scale_factor if scale_factor is None else float(scale_factor) \
            if np.ndim(scale_factor) == 0 else tuple(float(f) for f in scale_factor)
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x):
        check_input(np.ndim(x) in (3, 4, 5), f"input (N, C, *spatial) with 1 to 3 spatial "
                    f"dimensions, got {input_type(x)}")
        return Fn.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                              self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.size is None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"
