"""Indexing as NumPy defines it: basic indices (ints, staged int scalars, slices, None, Ellipsis)
are views; advanced indices (integer arrays, static or staged; static boolean masks, which become
their `nonzero()` positions; integers among them) gather with `take`, their dimensions placed where
NumPy places them (in place when the advanced indices are adjacent, first otherwise). A staged
boolean mask is refused: its result's shape depends on the data."""
from __future__ import annotations

import builtins

import numpy as np

from ..rep import Rep
from ..types import INTS
from .base import apply, as_rep
from .elementwise import add, multiply
from .shape import getitem_spec, iota, reshape, transpose

_MASK_MESSAGE = ("boolean mask indexing x[mask] with a staged mask has a data-dependent shape, "
                 "which compiled code cannot have; use st.where(mask, x, 0) (or st.sum(x, "
                 "where=mask), st.mean(x, where=mask)) to keep the shape, or make the mask static")


def _index_key(shape, key):
    """Normalise a basic index key into (spec, staged indices); see ops/shape.py for `spec`."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}")
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_real)
        else:
            expanded.append(k)
    expanded += [slice(None)] * (len(shape) - builtins.sum(1 for k in expanded if k is not None))
    spec, dyn, d = [], [], 0
    for k in expanded:
        if k is None:
            spec.append(("new",))
            continue
        n = shape[d]
        if isinstance(k, Rep):
            if k.shape != () or k.dtype not in INTS:
                raise IndexError("a staged index must be an integer scalar (use st.take for arrays)")
            spec.append(("dyn", len(dyn)))
            dyn.append(k)
        elif isinstance(k, slice):
            if builtins.any(isinstance(v, Rep) for v in (k.start, k.stop, k.step)):
                raise IndexError("slice bounds must be static (use x[i] with a staged i, or "
                                 "st.take, for staged positions)")
            start, stop, step = k.indices(n)
            spec.append(("slice", start, stop, step))
        elif isinstance(k, (int, np.integer)):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {d} with size {n}")
            spec.append(("int", int(k) % n))
        else:
            raise IndexError(f"unsupported index {k!r}")
        d += 1
    return tuple(spec), dyn


def _is_array_index(k):
    return isinstance(k, (np.ndarray, list)) or (isinstance(k, Rep) and k.ndim > 0)


def _normalise(key, shape):
    """The key as a list with lists made arrays, static boolean masks replaced by the integer
    arrays of their positions, and a flag: whether it has advanced indices."""
    key = list(key) if isinstance(key, tuple) else [key]
    out = []
    for k in key:
        if isinstance(k, bool) or isinstance(k, np.bool_):
            raise IndexError("a boolean scalar index is not supported; use x[None] or st.where")
        if isinstance(k, Rep) and k.dtype == "bool":
            raise IndexError(_MASK_MESSAGE)
        if isinstance(k, list):
            from .creation import _contains_rep, asarray
            if _contains_rep(k):
                k = asarray(k)
            else:
                k = np.asarray(k)
                if k.size == 0:
                    k = k.astype(np.int64)
        if isinstance(k, np.ndarray) and k.dtype == bool:
            out.extend(np.nonzero(k))            # static: as many int arrays as mask dims
            continue
        if isinstance(k, np.ndarray) and k.dtype.kind not in "iu":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        if isinstance(k, Rep) and k.dtype not in INTS:
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        out.append(k)
    return out, builtins.any(_is_array_index(k) for k in out)


def _expand(key, ndim):
    """Ellipsis replaced by full slices and missing trailing dims added (None adds a dim)."""
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > ndim:
        raise IndexError(f"too many indices for an array of dimension {ndim}")
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    out = []
    for k in key:
        out += [slice(None)] * (ndim - n_real) if k is Ellipsis else [k]
    return out + [slice(None)] * (ndim - builtins.sum(1 for k in out if k is not None))


def getitem(x, key):
    if not isinstance(x, Rep):
        return np.asarray(x)[key]
    key, advanced = _normalise(key, x.shape)
    if not advanced:
        spec, dyn = _index_key(x.shape, tuple(key))
        return getitem_spec(x, dyn, spec)
    key = _expand(key, x.ndim)
    # 1. the basic part as a view, advanced entries kept as full dims (their dims in y noted)
    basic, adv, ydim = [], [], 0
    for pos, k in enumerate(key):
        if k is None or isinstance(k, slice):
            basic.append(k)
            ydim += 1
            continue
        basic.append(slice(None))
        adv.append((pos, ydim, k))
        ydim += 1
    spec, dyn = _index_key(x.shape, tuple(basic))
    y = getitem_spec(x, dyn, spec)
    dims = [d for _, d, _ in adv]
    sizes = [y.shape[d] for d in dims]
    # 2. the indices, broadcast, checked and made non-negative
    bshape = np.broadcast_shapes(*[np.shape(k) for _, _, k in adv])
    if len(adv) == 1:             # one index array: take along its own dim (take checks it)
        k = adv[0][2]
        return apply("take", y, k if isinstance(k, Rep) else _checked(k, sizes[0], dims[0]),
                     axis=dims[0])
    idx = [_checked(k, n, d) for (_, d, k), n in zip(adv, sizes)]
    adjacent = [p for p, _, _ in adv] == list(range(adv[0][0], adv[0][0] + len(adv)))
    # 3. the advanced dims first and merged: one gather at the raveled positions
    rest = [d for d in range(y.ndim) if d not in dims]
    merged = reshape(transpose(y, dims + rest), (int(np.prod(sizes)),) + tuple(y.shape[d] for d in rest))
    flat = None
    for i, n_after in zip(idx, [int(np.prod(sizes[j + 1:])) for j in range(len(sizes))]):
        term = multiply(i, n_after) if n_after != 1 else i
        flat = term if flat is None else add(flat, term)
    r = apply("take", merged, _broadcast_index(flat, bshape), axis=0)
    if not adjacent:
        return r                                # NumPy puts the index dims first
    # 4. adjacent advanced indices: their dims go where the first one was
    before = builtins.sum(1 for d in rest if d < dims[0])
    nb = len(bshape)
    order = list(range(nb, nb + before)) + list(range(nb)) + list(range(nb + before, r.ndim))
    return transpose(r, order)


def _broadcast_index(flat, bshape):
    if isinstance(flat, Rep):
        from .shape import broadcast_to
        return broadcast_to(flat, bshape)
    return as_rep(np.ascontiguousarray(np.broadcast_to(flat, bshape)))


def _checked(k, n, dim):
    """An index array (or integer) for a dim of size n: non-negative, bounds-checked (static ones
    now, staged ones when the code runs: a `take` from the positions 0..n-1)."""
    if isinstance(k, Rep):
        return apply("take", iota((n,), 0, k.dtype), k, axis=0)
    k = np.asarray(k)
    if k.size and (k.min() < -n or k.max() >= n):
        bad = k[(k < -n) | (k >= n)].flat[0]
        raise IndexError(f"index {bad} is out of bounds for axis {dim} with size {n}")
    return np.where(k < 0, k + n, k).astype(np.int64)
