"""The convolutions of `st.nn.functional`: conv2d, conv1d and conv_transpose2d, with PyTorch's
arguments (string paddings 'valid' / 'same', groups, dilation, output_padding).

All three run on the IR's conv2d family (runtime_cpp/stage/conv.h, im2col + gemm): conv1d is a
conv2d of height 1, and conv_transpose2d *is* conv2d's input gradient (the op `conv2d_grad_input`
maps (N, C_in, H, W) through weights (C_in, C_out, kH, kW) back to the larger image), so the
transposed convolution and its derivatives of any order reuse the same kernels. Non-zero padding
modes of the layers ('reflect', 'replicate', 'circular') pad explicitly with `pad_for_mode` and
convolve with no padding.
"""
from __future__ import annotations

import functools
from typing import Callable, Optional, Sequence, Tuple, Union

from ..ir import functions as F
from ..ir.functions import apply, as_rep
from ..ir.graph import StageTypeError
from ..ir.hints import ArrayLike
from ..ir.rep import Rep

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "ntuple", "conv_padding", "pad_for_mode",
           "unbatched"]

IntOrTuple = Union[int, Sequence[int]]
Padding = Union[int, Sequence[int], str]

# PyTorch's padding_mode -> NumPy's pad mode
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
                 "circular": "wrap"}


def unbatched(nd: int) -> Callable:
    """PyTorch's unbatched inputs for a function of (N, C, *spatial) arrays with `nd` spatial
    dimensions: a (C, *spatial) input runs as a batch of one, and the result loses that batch
    dimension again (`conv2d` of a (3, 32, 32) image gives (C_out, H_out, W_out))."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def call(x, *args, **kwargs):
            x = as_rep(x)
            if x.ndim == nd + 1:
                return F.squeeze(fn(F.expand_dims(x, 0), *args, **kwargs), 0)
            return fn(x, *args, **kwargs)
        return call
    return wrap


def ntuple(v: IntOrTuple, n: int, name: str, fn: str) -> Tuple[int, ...]:
    """An int or a sequence of `n` ints as a tuple of `n` ints.

    Raises
    ------
    ValueError
        A sequence of another length, naming the argument `name` of `fn`.
    """
    if isinstance(v, str):
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n}, got {v!r}")
    try:
        t = (int(v),) * n if not hasattr(v, "__len__") else tuple(int(a) for a in v)
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n}, got {v!r}") from None
    if len(t) != n:
        raise ValueError(f"{fn}: {name} must be an int or a tuple of {n}, got {tuple(v)}")
    return t


def conv_padding(padding: Padding, kernel: Sequence[int], stride: Sequence[int],
                 dilation: Sequence[int], fn: str) -> Tuple[Tuple[int, int], ...]:
    """The (before, after) zero padding of each spatial dimension, as PyTorch reads `padding`.

    'valid' is no padding; 'same' pads dilation * (kernel - 1) in total, the odd one at the end
    (stride 1 only, as PyTorch); an int or a tuple pads both sides alike.

    Raises
    ------
    ValueError
        An unknown string, 'same' with a stride, or a negative padding.
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{fn}: padding must be an int, a tuple, 'valid' or 'same', got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{fn}: padding='same' is not supported for strided convolutions "
                             f"(stride={tuple(stride)})")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    p = ntuple(padding, n, "padding", fn)
    if min(p) < 0:
        raise ValueError(f"{fn}: padding must be >= 0, got {p}")
    return tuple((a, a) for a in p)


def pad_for_mode(x: Rep, pairs: Sequence[Tuple[int, int]], mode: str, fn: str) -> Rep:
    """x padded on its trailing spatial dimensions by `pairs` with PyTorch's `padding_mode`
    ('zeros', 'reflect', 'replicate' or 'circular').

    Raises
    ------
    ValueError
        An unknown mode, or a reflection (circular) padding wider than the input allows.
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"{fn}: padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}"
                         f", got {mode!r}")
    spatial = x.shape[x.ndim - len(pairs):]
    for (before, after), size in zip(pairs, spatial):
        limit = size - 1 if mode == "reflect" else size
        if mode in ("reflect", "circular") and max(before, after) > limit:
            raise ValueError(f"{fn}: padding_mode={mode!r} needs a padding of at most {limit} "
                             f"for an input of size {size}, got {(before, after)}")
    if not any(b or a for b, a in pairs):
        return x
    width = [(0, 0)] * (x.ndim - len(pairs)) + [tuple(p) for p in pairs]
    return F.pad(x, width, mode=PADDING_MODES[mode])


def _check_ndim(x: Rep, weight: Rep, nd: int, fn: str) -> None:
    if x.ndim != nd + 2:
        raise StageTypeError(f"{fn}: input must be {nd + 2}-d (N, C, {'H, W' if nd == 2 else 'L'})"
                             f" or {nd + 1}-d (C, {'H, W' if nd == 2 else 'L'}), got shape "
                             f"{x.shape}")
    if weight.ndim != nd + 2:
        raise StageTypeError(f"{fn}: weight must be {nd + 2}-d, got shape {weight.shape}")


@unbatched(2)
def conv2d(x: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
           stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
           groups: int = 1) -> Rep:
    """2-D convolution (cross-correlation) of NCHW images, as `torch.nn.functional.conv2d`.

    With groups > 1 the input channels and the filters are split into that many groups, each
    convolved separately (one convolution per group, outputs concatenated in order).

    Parameters
    ----------
    x : Rep or array_like
        (N, C_in, H, W), or (C_in, H, W) unbatched (the result is then 3-d too).
    weight : Rep or array_like
        (C_out, C_in / groups, kH, kW).
    bias : Rep or array_like, optional
        (C_out,).
    stride, dilation : int or (int, int)
        As `st.nn.Conv2d`.
    padding : int, (int, int), 'valid' or 'same'
        Zero padding of both sides; 'same' keeps the input's size (stride 1 only).
    groups : int, default 1
        The number of channel groups.

    Returns
    -------
    Rep
        (N, C_out, H_out, W_out), see `st.nn.Conv2d`.

    Raises
    ------
    StageTypeError
        Channels that do not match the weight and `groups`.
    ValueError
        A bad `padding`, `stride` or `dilation`.
    """
    x, weight = as_rep(x), as_rep(weight)
    _check_ndim(x, weight, 2, "conv2d")
    stride, dilation = ntuple(stride, 2, "stride", "conv2d"), ntuple(dilation, 2, "dilation",
                                                                        "conv2d")
    pairs = conv_padding(padding, weight.shape[2:], stride, dilation, "conv2d")
    if any(b != a for b, a in pairs):          # 'same' with an even span: pad the odd one
        x, pairs = pad_for_mode(x, pairs, "zeros", "conv2d"), ((0, 0), (0, 0))
    geo = {"stride": stride, "padding": tuple(b for b, _ in pairs)}
    if dilation != (1, 1):
        geo["dilation"] = dilation
    groups = int(groups)
    if groups == 1:
        y = apply("conv2d", x, weight, **geo)
    else:
        o, c = weight.shape[0], x.shape[1]
        if groups < 1 or o % groups or c != groups * weight.shape[1]:
            raise StageTypeError(f"conv2d: groups={groups} needs input channels = groups x the "
                                 f"weight's {weight.shape[1]} and filters divisible by groups "
                                 f"(input {x.shape}, weight {weight.shape})")
        cg, og = weight.shape[1], o // groups
        y = F.concatenate([apply("conv2d", x[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og],
                                 **geo) for g in range(groups)], axis=1)
    return y if bias is None else y + F.reshape(bias, (1, -1, 1, 1))


@unbatched(1)
def conv1d(x: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
           stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
           groups: int = 1) -> Rep:
    """1-D convolution (cross-correlation) of (N, C, L) sequences, as
    `torch.nn.functional.conv1d` (a `conv2d` of height 1).

    Parameters
    ----------
    x : Rep or array_like
        (N, C_in, L), or (C_in, L) unbatched (the result is then 2-d too).
    weight : Rep or array_like
        (C_out, C_in / groups, kL).
    bias : Rep or array_like, optional
        (C_out,).
    stride, dilation : int or (int,)
        Stride and spacing of the kernel's elements.
    padding : int, (int,), 'valid' or 'same'
        Zero padding of both ends; 'same' keeps the length (stride 1 only).
    groups : int, default 1
        The number of channel groups.

    Returns
    -------
    Rep
        (N, C_out, L_out), L_out = floor((L + 2 padding - dilation (kL - 1) - 1) / stride + 1).

    Raises
    ------
    StageTypeError
        An input or weight that is not 3-d, or channels that do not match.
    ValueError
        A bad `padding`, `stride` or `dilation`.
    """
    x, weight = as_rep(x), as_rep(weight)
    _check_ndim(x, weight, 1, "conv1d")
    (s,), (d,) = ntuple(stride, 1, "stride", "conv1d"), ntuple(dilation, 1, "dilation", "conv1d")
    ((before, after),) = conv_padding(padding, weight.shape[2:], (s,), (d,), "conv1d")
    if before != after:
        x, before = pad_for_mode(x, ((before, after),), "zeros", "conv1d"), 0
    y = conv2d(F.expand_dims(x, 2), F.expand_dims(weight, 2), None, (1, s), (0, before), (1, d),
               groups)
    y = F.squeeze(y, 2)
    return y if bias is None else y + F.reshape(bias, (1, -1, 1))


def transposed_size(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
    """PyTorch's output size of a transposed convolution along one dimension."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


@unbatched(2)
def conv_transpose2d(x: ArrayLike, weight: ArrayLike, bias: Optional[ArrayLike] = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Rep:
    """2-D transposed convolution of NCHW images (the gradient of `conv2d` with respect to its
    input), as `torch.nn.functional.conv_transpose2d`.

    Parameters
    ----------
    x : Rep or array_like
        (N, C_in, H, W), or (C_in, H, W) unbatched (the result is then 3-d too).
    weight : Rep or array_like
        (C_in, C_out / groups, kH, kW), PyTorch's layout for transposed convolutions.
    bias : Rep or array_like, optional
        (C_out,).
    stride, dilation : int or (int, int)
        Of the convolution this one transposes.
    padding : int or (int, int)
        dilation * (k - 1) - padding zeros are added to both sides of the input.
    output_padding : int or (int, int), default 0
        Extra size added to one side of the output (smaller than stride or dilation), telling
        which of the input sizes a strided convolution maps to one size this one produces.
    groups : int, default 1
        The number of channel groups.

    Returns
    -------
    Rep
        (N, C_out, H_out, W_out), H_out = (H - 1) stride - 2 padding + dilation (kH - 1) +
        output_padding + 1, and W_out likewise.

    Raises
    ------
    StageTypeError
        An input or weight that is not 4-d, or channels that do not match the weight and `groups`.
    ValueError
        Negative sizes, an output_padding not smaller than stride or dilation, or an empty output.
    """
    fn = "conv_transpose2d"
    x, weight = as_rep(x), as_rep(weight)
    _check_ndim(x, weight, 2, fn)
    s, p = ntuple(stride, 2, "stride", fn), ntuple(padding, 2, "padding", fn)
    op, d = ntuple(output_padding, 2, "output_padding", fn), ntuple(dilation, 2, "dilation", fn)
    if min(s) < 1 or min(d) < 1 or min(p) < 0 or min(op) < 0:
        raise ValueError(f"{fn}: needs stride >= 1, dilation >= 1, padding >= 0 and "
                         f"output_padding >= 0 (got {s}, {d}, {p}, {op})")
    if any(o >= max(a, b) for o, a, b in zip(op, s, d)):
        raise ValueError(f"{fn}: output_padding {op} must be smaller than either stride {s} or "
                         f"dilation {d}")
    groups, c_in = int(groups), weight.shape[0]
    if x.shape[1] != c_in:
        raise StageTypeError(f"{fn}: the input has {x.shape[1]} channels, the weight "
                             f"{weight.shape} expects {c_in} (its first dimension)")
    if groups < 1 or c_in % groups:
        raise StageTypeError(f"{fn}: groups={groups} must divide the input's {c_in} channels")
    hw, khw = x.shape[2:], weight.shape[2:]
    out_hw = tuple(transposed_size(hw[i], khw[i], s[i], p[i], op[i], d[i]) for i in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"{fn}: the output size {out_hw} is empty (input {tuple(hw)}, kernel "
                         f"{tuple(khw)}, stride {s}, padding {p}, dilation {d})")
    # conv2d of the output image has as many windows as x has positions, plus one more per
    # multiple of stride in output_padding (when dilation > stride): those see zeros
    extra = [(out_hw[i] + 2 * p[i] - d[i] * (khw[i] - 1) - 1) // s[i] + 1 - hw[i]
             for i in range(2)]
    if any(extra):
        x = F.pad(x, [(0, 0), (0, 0), (0, extra[0]), (0, extra[1])])
    geo = {"stride": s, "padding": p, "input_hw": out_hw}
    if d != (1, 1):
        geo["dilation"] = d
    if groups == 1:
        y = apply("conv2d_grad_input", x, weight, **geo)
    else:
        cg = c_in // groups
        y = F.concatenate([apply("conv2d_grad_input", x[:, g * cg:(g + 1) * cg],
                                 weight[g * cg:(g + 1) * cg], **geo) for g in range(groups)],
                          axis=1)
    return y if bias is None else y + F.reshape(bias, (1, -1, 1, 1))
