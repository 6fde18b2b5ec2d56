"""NumPy's shape, join and split functions, composed of views (reshape, transpose, slices,
broadcasts) and concatenate, so their gradients are those of the pieces: ravel, repeat, tile,
split family, stack family, moveaxis, rollaxis, roll, flipud/fliplr, rot90, atleast_nd, append,
broadcast_arrays, pad (constant, edge, reflect, symmetric, wrap)."""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import StageTypeError
from ..rep import Rep
from ..types import INTS
from .base import _axis, apply, as_value, astype
from .elementwise import add, greater_equal, less, logical_and, mod, where
from .scans import flip
from .shape import (broadcast_to, concatenate, expand_dims, iota, reshape, setitem_add, swapaxes,
                    transpose, zeros)


def _nd(a):
    return np.ndim(a)


def ravel(a, order="C"):
    if order not in ("C", "A", "K"):
        raise StageTypeError(f"ravel: order={order!r} is not supported (row-major only)")
    return reshape(as_value(a), (-1,))


def repeat(a, repeats, axis=None):
    a = as_value(a)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = _axis(axis, _nd(a))
    if isinstance(repeats, Rep):
        raise StageTypeError("repeat: repeats must be static (the result's shape depends on them)")
    reps = np.asarray(repeats)
    n = np.shape(a)[axis]
    if reps.ndim == 0:
        r = int(reps)
        shape = np.shape(a)
        y = broadcast_to(expand_dims(a, axis + 1), shape[:axis + 1] + (r,) + shape[axis + 1:])
        return reshape(y, shape[:axis] + (n * r,) + shape[axis + 1:])
    if reps.shape != (n,) or np.any(reps < 0):
        raise ValueError(f"repeat: repeats must be a non-negative int or have length {n}")
    idx = np.repeat(np.arange(n), reps)
    return apply("take", a, as_value(idx) if isinstance(a, Rep) else idx, axis=axis)


def tile(A, reps):
    A = as_value(A)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    nd = builtins.max(_nd(A), len(reps))
    shape = (1,) * (nd - _nd(A)) + np.shape(A)
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, shape)
    wide = broadcast_to(reshape(A, tuple(v for n in shape for v in (1, n))),
                        tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return reshape(wide, tuple(r * n for r, n in zip(reps, shape)))


def _split_points(n, indices_or_sections, even):
    if isinstance(indices_or_sections, Rep):
        raise StageTypeError("split: the split points must be static")
    if np.ndim(indices_or_sections) == 0:
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % k:
            raise ValueError("array split does not result in an equal division")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        return np.cumsum([0] + sizes).tolist()
    pts = [int(i) for i in indices_or_sections]
    return [0] + pts + [n]


def array_split(ary, indices_or_sections, axis=0):
    ary = as_value(ary)
    axis = _axis(axis, _nd(ary))
    n = np.shape(ary)[axis]
    pts = _split_points(n, indices_or_sections, even=False)
    out = []
    for lo, hi in zip(pts[:-1], pts[1:]):
        key = [slice(None)] * _nd(ary)
        key[axis] = slice(lo, hi)
        out.append(ary[tuple(key)])
    return out


def split(ary, indices_or_sections, axis=0):
    ary = as_value(ary)
    _split_points(np.shape(ary)[_axis(axis, _nd(ary))], indices_or_sections, even=True)
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    ary = as_value(ary)
    if _nd(ary) == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if _nd(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    if _nd(ary) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    if _nd(ary) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


def _atleast(a, nd):
    a = as_value(a)
    if _nd(a) >= nd:
        return a
    if nd == 3 and _nd(a) == 2:
        return reshape(a, np.shape(a) + (1,))
    if nd == 3 and _nd(a) == 1:
        return reshape(a, (1,) + np.shape(a) + (1,))
    return reshape(a, (1,) * (nd - _nd(a)) + np.shape(a))


def _each(arys, nd):
    out = [_atleast(a, nd) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_1d(*arys): return _each(arys, 1)


def atleast_2d(*arys): return _each(arys, 2)


def atleast_3d(*arys): return _each(arys, 3)


def _arrays(tup, name):
    if isinstance(tup, Rep) or not isinstance(tup, (list, tuple)):
        raise StageTypeError(f"{name}: arrays to stack must be passed as a list or tuple")
    return list(tup)


def hstack(tup, *, dtype=None):
    arrs = [_atleast(a, 1) for a in _arrays(tup, "hstack")]
    return _as(concatenate(arrs, 0 if _nd(arrs[0]) == 1 else 1), dtype)


def vstack(tup, *, dtype=None):
    return _as(concatenate([_atleast(a, 2) for a in _arrays(tup, "vstack")], 0), dtype)


def dstack(tup):
    return concatenate([_atleast(a, 3) for a in _arrays(tup, "dstack")], 2)


def column_stack(tup):
    arrs = []
    for a in _arrays(tup, "column_stack"):
        a = as_value(a)
        arrs.append(reshape(a, (-1, 1)) if _nd(a) < 2 else a)
    return concatenate(arrs, 1)


def _as(x, dtype):
    return x if dtype is None else astype(x, dtype)


def moveaxis(a, source, destination):
    a = as_value(a)
    src = [_axis(s, _nd(a)) for s in np.atleast_1d(source)]
    dst = [_axis(d, _nd(a)) for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of "
                         "elements")
    order = [d for d in range(_nd(a)) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def rollaxis(a, axis, start=0):
    a = as_value(a)
    n = _nd(a)
    axis = _axis(axis, n)
    if not -n <= start <= n:
        raise StageTypeError(f"rollaxis: start {start} out of range for {n} dimensions")
    start = start % (n + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start) if axis != start else a


def roll(a, shift, axis=None):
    a = as_value(a)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), np.shape(a))
    axes = [_axis(x, _nd(a)) for x in np.atleast_1d(axis)]
    shifts = list(shift) if isinstance(shift, (list, tuple)) else [shift] * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same length")
    for ax, s in zip(axes, shifts):
        n = np.shape(a)[ax]
        if n == 0:
            continue
        if isinstance(s, Rep):        # a staged shift: gather at (i - shift) mod n
            if s.dtype not in INTS or s.ndim:
                raise StageTypeError("roll: a staged shift must be an integer scalar")
            src = mod(add(iota((n,), 0, s.dtype), -s), n)
            a = apply("take", a, src, axis=ax)
            continue
        s = int(s) % n
        if s:
            lo = [slice(None)] * _nd(a)
            hi = [slice(None)] * _nd(a)
            lo[ax], hi[ax] = slice(n - s, None), slice(None, n - s)
            a = concatenate([a[tuple(lo)], a[tuple(hi)]], ax)
    return a


def flipud(m):
    if _nd(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def fliplr(m):
    if _nd(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def rot90(m, k=1, axes=(0, 1)):
    m = as_value(m)
    a0, a1 = (_axis(x, _nd(m)) for x in axes)
    if a0 == a1 or len(axes) != 2:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    return swapaxes(flip(m, a1), a0, a1) if k == 1 else flip(swapaxes(m, a0, a1), a1)


def append(arr, values, axis=None):
    arr, values = as_value(arr), as_value(values)
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], 0)
    return concatenate([arr, values], axis)


def broadcast_arrays(*args):
    vals = [as_value(a) for a in args]
    shape = np.broadcast_shapes(*[np.shape(v) for v in vals])
    return tuple(broadcast_to(v, shape) for v in vals)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap", "empty")


def pad(array, pad_width, mode="constant", **kwargs):
    """NumPy's `np.pad`. Constant padding is a scatter into zeros (its gradient a free slice);
    the other modes gather each axis from NumPy's own index pattern (`np.pad` of the positions)."""
    x = as_value(array)
    if callable(mode) or mode not in _PAD_MODES:
        raise StageTypeError(f"pad: mode {mode!r} is not supported (supported: "
                             f"{', '.join(_PAD_MODES)})")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
               "symmetric": {"reflect_type"}}.get(mode, set())
    if set(kwargs) - allowed:
        raise TypeError(f"pad: unsupported keyword arguments for mode {mode!r}: "
                        f"{sorted(set(kwargs) - allowed)}")
    if kwargs.get("reflect_type", "even") != "even":
        raise StageTypeError("pad: reflect_type='odd' is not supported")
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (_nd(x), 2)).tolist()
    if builtins.any(a < 0 or b < 0 for a, b in pw):
        raise ValueError(f"pad: widths must be non-negative, got {pad_width}")
    if mode in ("constant", "empty"):
        return _pad_constant(x, pw, kwargs.get("constant_values", 0) if mode == "constant" else 0)
    for d, (a, b) in enumerate(pw):
        if a or b:
            n = np.shape(x)[d]
            if n == 0:
                raise ValueError(f"pad: can't extend empty axis {d} using modes other than "
                                 f"'constant' or 'empty'")
            idx = np.pad(np.arange(n), (a, b), mode=mode)
            x = apply("take", x, as_value(idx) if isinstance(x, Rep) else idx, axis=d)
    return x


def _pad_constant(x, pw, constant_values):
    shape = tuple(n + a + b for n, (a, b) in zip(np.shape(x), pw))
    spec = tuple(("slice", a, a + n, 1) for n, (a, _) in zip(np.shape(x), pw))
    dt = x.dtype if isinstance(x, Rep) else x.dtype.name
    out = setitem_add(zeros(shape, dt), x, [], spec)
    cv = np.asarray(constant_values)
    if cv.ndim == 0 and not isinstance(constant_values, Rep) and cv == 0:
        return out
    if cv.ndim or isinstance(constant_values, Rep) and constant_values.ndim:
        raise StageTypeError("pad: constant_values must be one scalar")
    inside = None                       # index masks (iota views: no memory) of the interior
    for d, (n, (a, b)) in enumerate(zip(np.shape(x), pw)):
        if a or b:
            i = iota(shape, d)
            m = logical_and(greater_equal(i, a), less(i, a + n))
            inside = m if inside is None else logical_and(inside, m)
    return out if inside is None else where(inside, out, as_value(constant_values, dt))


__all__ = ["ravel", "repeat", "tile", "array_split", "split", "hsplit", "vsplit", "dsplit",
           "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "dstack",
           "column_stack", "moveaxis", "rollaxis", "roll", "flipud", "fliplr", "rot90", "append",
           "broadcast_arrays", "pad"]
