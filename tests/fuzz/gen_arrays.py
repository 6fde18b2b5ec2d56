"""Generators of statements over whole arrays: reductions, products, views, indexing, gathers and
joins, nn functions, creation, and a gradient inside the program (see gen_ops.py for the protocol)."""
from __future__ import annotations

import numpy as np

from .features import enabled
from .program import Dyn

FLOAT = "float64"


def np_shape(fn, *shapes):
    return tuple(fn(*[np.zeros(s) for s in shapes]).shape)


def _axis_arg(g, ndim):
    """None, an int (maybe negative) or a tuple of distinct axes."""
    if ndim == 0 or g.rng.random() < 0.25:
        return None
    k = int(g.rng.integers(1, ndim + 1))
    axes = sorted(g.rng.choice(ndim, size=k, replace=False).tolist())
    axes = [a - ndim if g.rng.random() < 0.3 else a for a in axes]
    return axes[0] if k == 1 and g.rng.random() < 0.6 else tuple(axes)


def _reduced_sizes(shape, axis):
    axes = range(len(shape)) if axis is None else ([axis] if isinstance(axis, int) else axis)
    return [shape[a] for a in axes]


def reduction(g):
    if not enabled("reductions"):
        return None
    a = g.float_var()
    axis = _axis_arg(g, a.ndim)
    keepdims = bool(g.rng.random() < 0.4)
    ops = ["sum", "sum", "mean", "max", "min", "logsumexp"] + ["var"] * enabled("var")
    op = g.choice(ops)
    empty = 0 in _reduced_sizes(a.shape, axis)
    if empty and op in ("max", "min", "logsumexp") and not enabled("empty_reduce"):
        op = "sum"
    if empty and op == "var" and not enabled("var_empty"):
        op = "mean"
    if empty and op in ("max", "min", "logsumexp"):
        g.expect.append("empty_reduce")
    shape = np_shape(lambda x: np.sum(x, axis=axis, keepdims=keepdims), a.shape)
    return [g.op(op, [a], shape, g.fdt, axis=axis, keepdims=keepdims)]


def argmax(g):
    if not enabled("argmax"):
        return None
    a = g.float_var(min_ndim=1)
    axis = None if g.rng.random() < 0.3 else int(g.rng.integers(-a.ndim, a.ndim))
    if 0 in _reduced_sizes(a.shape, axis):
        if not enabled("empty_reduce"):
            return None
        g.expect.append("empty_reduce")
    return [g.op("argmax", [a], np_shape(lambda x: np.sum(x, axis=axis), a.shape), "int64", axis=axis)]


def matmul(g):
    if not enabled("matmul"):
        return None
    a = g.float_var(min_ndim=1)
    if a.ndim > 3:
        return None
    k = a.shape[-1]
    form = g.choice(["vec", "mat", "mat", "batch"])
    n = g.dim()
    if a.ndim > 2 and form != "batch" and not enabled("batched_matmul_empty"):
        n = n or 1                                  # defect D: its gradient reshapes with -1
        if k == 0:
            form = "batch"
    if form == "vec":
        bshape = (k,)
    elif form == "mat":
        bshape = (k, n)
    else:
        batch = g.variant(a.shape[:-2]) if a.ndim > 2 else (g.dim(),)
        bshape = tuple(batch) + (k, n)
    b = g.var_of(bshape, g.fdt)
    if a.ndim == 1 and b.ndim == 1 and g.rng.random() < 0.5:
        return [g.op("outer", [a, b], (a.shape[0], b.shape[0]), g.fdt)]
    if a.ndim == 2 and b.ndim == 2 and g.rng.random() < 0.3:     # (a @ b).T written b.T @ a.T
        bt = g.op("T", [b], b.shape[::-1], g.fdt)
        at = g.op("T", [a], a.shape[::-1], g.fdt)
        return [bt, at, g.op("matmul", [bt.outs[0], at.outs[0]], (b.shape[1], a.shape[0]), g.fdt)]
    return [g.op("matmul", [a, b], np_shape(np.matmul, a.shape, b.shape), g.fdt)]


def _factor_shape(g, size):
    if size == 0:
        nd = int(g.rng.integers(1, 4))
        shape = [g.dim() for _ in range(nd)]
        shape[int(g.rng.integers(nd))] = 0
        return tuple(shape)
    primes, n, p = [], size, 2
    while n > 1:
        while n % p == 0:
            primes.append(p)
            n //= p
        p += 1
    nd = int(g.rng.integers(0 if size == 1 else 1, 4))
    nd = max(nd, 1) if primes else nd
    shape = [1] * nd
    for q in primes:
        shape[int(g.rng.integers(nd))] *= q
    return tuple(shape)


def view(g):
    if not enabled("views"):
        return None
    a = g.any_var()
    kind = g.choice(["reshape", "transpose", "T", "swapaxes", "expand_dims", "squeeze",
                     "broadcast_to", "broadcast_to"])
    nd = a.ndim
    if kind == "reshape":
        shape = _factor_shape(g, a.size)
        if a.size and shape and g.rng.random() < 0.3:
            j = int(g.rng.integers(len(shape)))
            shape = tuple(-1 if d == j else n for d, n in enumerate(shape))
        return [g.op("reshape", [a], np.zeros(a.shape).reshape(shape).shape, a.dtype, shape=shape)]
    if kind in ("transpose", "T", "swapaxes") and nd >= 2:
        if kind == "T":
            return [g.op("T", [a], a.shape[::-1], a.dtype)]
        if kind == "swapaxes":
            i, j = (int(x) for x in g.rng.integers(-nd, nd, size=2))
            return [g.op("swapaxes", [a], np.swapaxes(np.zeros(a.shape), i, j).shape, a.dtype, a=i, b=j)]
        axes = tuple(int(x) for x in g.rng.permutation(nd))
        return [g.op("transpose", [a], tuple(a.shape[x] for x in axes), a.dtype, axes=axes)]
    if kind == "expand_dims":
        ax = int(g.rng.integers(-nd - 1, nd + 1))
        return [g.op("expand_dims", [a], np.expand_dims(np.zeros(a.shape), ax).shape, a.dtype, axis=ax)]
    if kind == "squeeze" and 1 in a.shape:
        ones = [d for d, n in enumerate(a.shape) if n == 1]
        ax = None if g.rng.random() < 0.3 else int(g.choice(ones))
        return [g.op("squeeze", [a], np.squeeze(np.zeros(a.shape), ax).shape, a.dtype, axis=ax)]
    shape = list(a.shape)
    for d, n in enumerate(shape):
        if n == 1 and g.rng.random() < 0.6:
            shape[d] = g.dim()
    shape = [g.dim() for _ in range(int(g.rng.integers(0, 3)))] + shape
    if len(shape) > 4:
        return None
    return [g.op("broadcast_to", [a], tuple(shape), a.dtype, shape=tuple(shape))]


def getitem(g):
    if not enabled("getitem"):
        return None
    a = g.any_var(min_ndim=1)
    key, dyn, pre = [], [], []
    for d, n in enumerate(a.shape):
        r = g.rng.random()
        if r < 0.25 and n > 0:
            key.append(int(g.rng.integers(-n, n)))
        elif r < 0.45 and n > 0 and enabled("dyn_index"):
            i, stmts = g.index_var(n)
            pre += stmts
            key.append(Dyn(len(dyn)))
            dyn.append(i)
        elif r < 0.8:
            step = g.choice([1, 2, 3, -1, -2] if enabled("negative_step") else [1, 2, 3])
            pick = lambda: None if g.rng.random() < 0.3 else int(g.rng.integers(-n - 2, n + 3))
            key.append(slice(pick(), pick(), None if step == 1 and g.rng.random() < 0.5 else step))
        else:
            key.append(slice(None))
        if g.rng.random() < 0.1:
            key.append(None)
    while key and key[-1] == slice(None) and g.rng.random() < 0.6:
        key.pop()
    if len(key) >= 1 and g.rng.random() < 0.15 and slice(None) in key:
        k = key.index(slice(None))
        key[k] = Ellipsis
    if not key:
        key = [slice(None, None, -1) if enabled("negative_step") else slice(1, None)]
    npkey = tuple(0 if isinstance(k, Dyn) else k for k in key)
    shape = np.zeros(a.shape)[npkey].shape
    return pre + [g.op("getitem", [a] + dyn, shape, a.dtype, key=tuple(key))]


def take(g):
    if not enabled("take"):
        return None
    a = g.any_var(min_ndim=1)
    axis = int(g.rng.integers(-a.ndim, a.ndim))
    n = a.shape[axis]
    ishape = tuple(g.dim() for _ in range(int(g.rng.integers(0, 3))))
    if n == 0:
        if not enabled("size0"):
            return None
        ishape = ishape + (0,)
    idx = g.index_array(ishape, n)
    shape = np.take(np.zeros(a.shape), np.zeros(ishape, np.int64), axis=axis).shape
    form = "take"
    if idx.ndim >= 1 and axis % a.ndim == 0 and g.rng.random() < 0.4:
        form = "take0"
    elif idx.ndim >= 1 and axis % a.ndim == 1 and a.ndim == 2 and g.rng.random() < 0.4:
        form = "take1"
    return [g.op(form, [a, idx], shape, a.dtype, **({"axis": axis} if form == "take" else {}))]


def concat(g):
    if not enabled("concatenate"):
        return None
    a = g.any_var()
    if g.rng.random() < 0.4:
        axis = int(g.rng.integers(-a.ndim - 1, a.ndim + 1))
        others = [g.var_of(a.shape, a.dtype) for _ in range(int(g.rng.integers(1, 3)))]
        args = [a] + others
        return [g.op("stack", args, np.stack([np.zeros(a.shape)] * len(args), axis).shape, a.dtype,
                     axis=axis)]
    if a.ndim == 0:
        return None
    axis = int(g.rng.integers(-a.ndim, a.ndim))
    args = [a]
    for _ in range(int(g.rng.integers(1, 3))):
        s = list(a.shape)
        s[axis] = g.dim()
        args.append(g.var_of(tuple(s), a.dtype))
    g.rng.shuffle(args)
    shape = np.concatenate([np.zeros(v.shape) for v in args], axis).shape
    return [g.op("concatenate", args, shape, a.dtype, axis=axis)]


def pad(g):
    if not enabled("pad"):
        return None
    a = g.float_var(min_ndim=1)
    r = g.rng.random()
    width = int(g.rng.integers(0, 3)) if r < 0.3 else (
        tuple(int(x) for x in g.rng.integers(0, 3, size=2)) if r < 0.5 else
        tuple(tuple(int(x) for x in g.rng.integers(0, 3, size=2)) for _ in range(a.ndim)))
    return [g.op("pad", [a], np.pad(np.zeros(a.shape), width).shape, g.fdt, width=width)]


def scatter_add(g):
    if not enabled("scatter_add"):
        return None
    x = g.float_var(min_ndim=1)
    axis = int(g.rng.integers(-x.ndim, x.ndim))
    n = x.shape[axis]
    ishape = (g.dim(),) if n else (0,)
    idx = g.index_array(ishape, n)
    vshape = np.take(np.zeros(x.shape), np.zeros(ishape, np.int64), axis=axis).shape
    v = g.var_of(vshape, g.fdt)
    return [g.op("scatter_add", [x, idx, v], x.shape, g.fdt, axis=axis)]


def nn(g):
    if not enabled("nn"):
        return None
    r = g.rng.random()
    if r < 0.4:
        a = g.float_var(min_ndim=1)
        axis = int(g.rng.integers(-a.ndim, a.ndim))
        if a.shape[axis] == 0 and not enabled("softmax_empty"):
            return None
        return [g.op(g.choice(["softmax", "log_softmax"]), [a], a.shape, g.fdt, axis=axis)]
    if r < 0.6:
        a = g.float_var()
        b = g.var_of(a.shape, g.fdt)
        return [g.op("mse_loss", [a, b], (), g.fdt)]
    if r < 0.8:
        a = g.int_var()
        k = int(g.rng.integers(1, 5))
        return [g.op("one_hot", [a], a.shape + (k,), g.fdt, k=k)]
    logits = g.pick(lambda v: v.is_float and v.ndim == 2 and v.shape[1] > 0) or \
        g.var_of((g.dim(nonzero=True), g.dim(nonzero=True)), g.fdt)
    t = g.index_array((logits.shape[0],), logits.shape[1], nonneg=True)
    return [g.op("cross_entropy", [logits, t], (), g.fdt)]


def creation(g):
    if not enabled("creation"):
        return None
    shape = g.shape()
    r = g.rng.random()
    if r < 0.4:
        return [g.op("zeros", [], shape, g.fdt, shape=shape)]
    if r < 0.7:
        return [g.op("full", [], shape, g.fdt, shape=shape, c=float(g.choice([1.0, -0.5])))]
    if not shape:
        return None
    return [g.op("iota", [], shape, "int64", shape=shape, axis=int(g.rng.integers(len(shape))))]


def inner_grad(g):
    if not enabled("inner_grad"):
        return None
    a = g.float_var()
    b = g.var_of(g.variant(a.shape) if g.rng.random() < 0.5 else a.shape, g.fdt)
    if np.broadcast_shapes(a.shape, b.shape) != a.shape:
        b = g.var_of(a.shape, g.fdt)
    return [g.op("inner_grad", [a, b], a.shape, g.fdt)]
