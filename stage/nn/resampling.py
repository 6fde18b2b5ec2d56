"""Resizing without weights: adaptive average pooling and nearest-neighbour interpolation, with
PyTorch's window and index rules, as compositions of existing ops.

Each spatial axis is resized on its own (both operations are separable):

- adaptive average pooling of n positions to m: output i averages positions floor(i n / m) up to
  ceil((i + 1) n / m). When m divides n the windows tile the axis (a reshape and a mean, or the
  avg_pool2d kernel when both axes of an image tile); otherwise the windows overlap or differ in
  length, and the axis is multiplied by the constant (m, n) averaging matrix (one small gemm,
  whose transpose is the gradient);
- nearest interpolation: output i reads input index min(floor(i * scale), n - 1), PyTorch's float32
  arithmetic reproduced so the same source rows are picked; an integer upscale is a `repeat` (a
  broadcast), an integer downscale a strided slice, anything else a `take` of static indices.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from ..ir import functions as F
from ..ir.functions import apply, as_rep
from ..ir.graph import StageTypeError
from ..ir.hints import ArrayLike
from ..ir.rep import Rep

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "interpolate", "pool_windows",
           "nearest_indices"]

SizeSpec = Union[int, None, Sequence[Optional[int]]]
INTERPOLATE_MODES = ("nearest", "nearest-exact", "area")


def pool_windows(n: int, m: int) -> Tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive pooling windows of `n` positions to `m`: starts floor(i n / m) and ends
    ceil((i + 1) n / m) (exclusive), i = 0..m-1."""
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _check_ndim(x: Rep, ndims: Sequence[int], shapes: str, fn: str) -> None:
    if x.ndim not in ndims:
        raise StageTypeError(f"{fn}: input must be {shapes}, got shape {x.shape}")


def _output_sizes(output_size: SizeSpec, spatial: Sequence[int], fn: str,
                  name: str = "output_size") -> Tuple[int, ...]:
    """output_size (an int, or one entry per spatial axis, None keeping that axis) as ints."""
    k = len(spatial)
    sizes = (output_size,) * k if output_size is None or np.ndim(output_size) == 0 \
        else tuple(output_size)
    if len(sizes) != k:
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {k} for {k} spatial "
                         f"dimensions, got {output_size}")
    out = tuple(n if s is None else int(s) for s, n in zip(sizes, spatial))
    if min(out) < 1:
        raise ValueError(f"{fn}: {name} must be positive, got {output_size}")
    return out


def _adaptive_axis(x: Rep, axis: int, m: int) -> Rep:
    """Adaptive average pooling of one axis to size m."""
    n = x.shape[axis]
    if m == n:
        return x
    if n % m == 0:                          # tiling windows
        y = F.reshape(x, x.shape[:axis] + (m, n // m) + x.shape[axis + 1:])
        return F.mean(y, axis + 1)
    start, end = pool_windows(n, m)
    cols = np.arange(n)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    mat = (inside / (end - start)[:, None]).astype(np.dtype(x.dtype))      # (m, n)
    if axis == x.ndim - 1:
        return F.matmul(x, mat.T)
    moved = F.moveaxis(x, axis, -2)
    return F.moveaxis(F.matmul(mat, moved), -2, axis)


def _adaptive(x: Rep, sizes: Sequence[int]) -> Rep:
    """Adaptive average pooling of the last len(sizes) axes."""
    first = x.ndim - len(sizes)
    spatial = x.shape[first:]
    if len(sizes) == 2 and x.ndim == 4 and all(n % m == 0 and n != m
                                               for n, m in zip(spatial, sizes)):
        k = tuple(n // m for n, m in zip(spatial, sizes))         # the avg_pool2d kernel
        return apply("avg_pool2d", x, kernel_size=k, stride=k, padding=(0, 0))
    for i, m in enumerate(sizes):
        x = _adaptive_axis(x, first + i, m)
    return x


def adaptive_avg_pool2d(x: ArrayLike, output_size: SizeSpec) -> Rep:
    """Average pooling to a given output size, as `torch.nn.functional.adaptive_avg_pool2d`.

    Output (i, j) averages rows floor(i H / H_out) .. ceil((i + 1) H / H_out) - 1 and the
    columns likewise, for any input size.

    Parameters
    ----------
    x : Rep or array_like
        (N, C, H, W) or (C, H, W).
    output_size : int or (int or None, int or None)
        (H_out, W_out); an int for both; None keeps that dimension's size.

    Returns
    -------
    Rep
        (N, C, H_out, W_out) or (C, H_out, W_out).

    Raises
    ------
    StageTypeError
        An input that is not 3-d or 4-d.
    ValueError
        An output_size that is not positive or has the wrong number of entries.
    """
    x = as_rep(x)
    _check_ndim(x, (3, 4), "(N, C, H, W) or (C, H, W)", "adaptive_avg_pool2d")
    return _adaptive(x, _output_sizes(output_size, x.shape[-2:], "adaptive_avg_pool2d"))


def adaptive_avg_pool1d(x: ArrayLike, output_size: Union[int, Sequence[int]]) -> Rep:
    """Average pooling to a given length, as `torch.nn.functional.adaptive_avg_pool1d`.

    Parameters
    ----------
    x : Rep or array_like
        (N, C, L) or (C, L).
    output_size : int or (int,)
        L_out; output i averages positions floor(i L / L_out) .. ceil((i + 1) L / L_out) - 1.

    Returns
    -------
    Rep
        (N, C, L_out) or (C, L_out).

    Raises
    ------
    StageTypeError
        An input that is not 2-d or 3-d.
    ValueError
        An output_size that is not positive.
    """
    x = as_rep(x)
    _check_ndim(x, (2, 3), "(N, C, L) or (C, L)", "adaptive_avg_pool1d")
    if output_size is None:
        raise ValueError("adaptive_avg_pool1d: output_size must be an int, got None")
    return _adaptive(x, _output_sizes(output_size, x.shape[-1:], "adaptive_avg_pool1d"))


def nearest_indices(n: int, m: int, scale: Optional[float], exact: bool = False) -> np.ndarray:
    """The input index each of `m` outputs reads when `n` positions are resized by nearest
    interpolation, computed as PyTorch's kernels do (float32 scale, sizes equal or doubled exact).

    Parameters
    ----------
    n, m : int
        Input and output sizes.
    scale : float or None
        The user's scale factor (the kernel then uses 1 / scale), or None for n / m.
    exact : bool, default False
        'nearest-exact': index floor((i + 0.5) * scale) (pixel centres) instead of floor(i * scale).

    Returns
    -------
    numpy.ndarray
        int64 (m,).
    """
    i = np.arange(m)
    if not exact and m == n:
        return i
    if not exact and m == 2 * n:
        return i >> 1
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(n) / np.float32(m)
    if exact:       # (i + 0.5) * s in double, floorf: rounded to float first
        src = np.floor(((i + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(i.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), n - 1)


def _gather_axis(x: Rep, axis: int, idx: np.ndarray) -> Rep:
    """x's positions `idx` along `axis`, as cheaply as the pattern allows."""
    n, m = x.shape[axis], len(idx)
    if m == n and np.array_equal(idx, np.arange(n)):
        return x
    if m % n == 0 and np.array_equal(idx, np.arange(m) // (m // n)):
        return F.repeat(x, m // n, axis)
    step = idx[1] - idx[0] if m > 1 else 1
    if idx[0] == 0 and step > 0 and np.array_equal(idx, np.arange(m) * step):
        return x[(slice(None),) * axis + (slice(0, (m - 1) * step + 1, step),)]
    return F.take(x, idx, axis=axis)


def interpolate(x: ArrayLike, size: SizeSpec = None,
                scale_factor: Union[float, Sequence[float], None] = None, mode: str = "nearest",
                align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None, antialias: bool = False) -> Rep:
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) inputs, as
    `torch.nn.functional.interpolate` in its 'nearest' family.

    Parameters
    ----------
    x : Rep or array_like
        (N, C, *spatial) with 1 to 3 spatial dimensions.
    size : int or tuple of int, optional
        The output's spatial size (one int for all dimensions).
    scale_factor : float or tuple of float, optional
        Multiplier of each spatial size (the output size is floor(size * scale_factor)).
        Exactly one of `size` and `scale_factor` is given.
    mode : {'nearest', 'nearest-exact', 'area'}, default 'nearest'
        'nearest' reads index floor(i / scale) (PyTorch's 'nearest', not quite centred);
        'nearest-exact' reads floor((i + 0.5) / scale); 'area' is adaptive average pooling.
    align_corners : None
        Only meaningful for the linear modes, which are not implemented.
    recompute_scale_factor : bool, optional
        True: index with the ratio of the sizes rather than the given scale_factor.
    antialias : bool, default False
        Only meaningful for the linear modes.

    Returns
    -------
    Rep
        (N, C, *output_size).

    Raises
    ------
    NotImplementedError
        Another mode ('linear', 'bilinear', 'bicubic', 'trilinear').
    ValueError
        Both or neither of `size` and `scale_factor`, non-positive sizes or factors, entries not
        matching the spatial dimensions, or align_corners / antialias set.
    StageTypeError
        An input that is not 3-d to 5-d.
    """
    if mode not in INTERPOLATE_MODES:
        raise NotImplementedError(f"interpolate: mode={mode!r} is not implemented (supported: "
                                  f"{', '.join(map(repr, INTERPOLATE_MODES))})")
    if align_corners is not None or antialias:
        raise ValueError(f"interpolate: align_corners and antialias only apply to the linear "
                         f"modes, not mode={mode!r}")
    x = as_rep(x)
    _check_ndim(x, (3, 4, 5), "(N, C, L), (N, C, H, W) or (N, C, D, H, W)", "interpolate")
    spatial = x.shape[2:]
    k = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    scales: Tuple[Optional[float], ...] = (None,) * k
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        out = _output_sizes(size, spatial, "interpolate", "size")
    else:
        scales = (float(scale_factor),) * k if np.ndim(scale_factor) == 0 \
            else tuple(float(s) for s in scale_factor)
        if len(scales) != k:
            raise ValueError(f"interpolate: scale_factor must be a number or {k} numbers for "
                             f"{k} spatial dimensions, got {scale_factor}")
        if not all(math.isfinite(s) and s > 0 for s in scales):
            raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor}")
        out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        if min(out) < 1:
            raise ValueError(f"interpolate: scale_factor {scale_factor} makes an empty output "
                             f"from spatial size {tuple(spatial)}")
        if recompute_scale_factor or mode == "area":
            scales = (None,) * k
    if mode == "area":
        return _adaptive(x, out)
    for i, (n, m, s) in enumerate(zip(spatial, out, scales)):
        x = _gather_axis(x, 2 + i, nearest_indices(n, m, s, exact=mode == "nearest-exact"))
    return x
