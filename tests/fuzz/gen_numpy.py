"""Generators of statements from the NumPy vocabulary added after the fuzzer's first version (see
gen_ops.py for the protocol): more elementwise functions, scans (cumsum, cumprod), reorderings
(flip, roll, sort), differences, products over axes, triangles, tiling and repetition. Their
results compose with every other statement and control form, so the new ops' lowerings meet views,
broadcasting, size-0 dims, loops and nested gradients as the first vocabulary does."""
from __future__ import annotations

import numpy as np

from .features import enabled
from .gen_arrays import _axis_arg, np_shape


def elementwise(g):
    if not enabled("numpy_ops"):
        return None
    a = g.float_var()
    if g.rng.random() < 0.6:
        ops = ["sinh", "cosh", "arctan", "arcsinh", "erf", "expm1", "log1p", "exp2", "log2", "cbrt"]
        if enabled("nondiff"):
            ops += ["ceil", "trunc", "rint"]
        return [g.op(g.choice(ops), [a], a.shape, g.fdt)]
    b = g.var_of(g.variant(a.shape), g.fdt)
    if g.rng.random() < 0.5:
        a, b = b, a
    op = g.choice(["arctan2", "hypot", "logaddexp", "fmax", "fmin"])
    return [g.op(op, [a, b], np.broadcast_shapes(a.shape, b.shape), g.fdt)]


def scan(g):
    if not enabled("scans"):
        return None
    a = g.float_var(min_ndim=1)
    nd = a.ndim
    axis = int(g.rng.integers(-nd, nd))
    kind = g.choice(["cumsum", "cumprod", "flip", "roll", "diff", "sort", "prod", "tril", "tile",
                     "repeat"])
    if kind in ("cumsum", "cumprod", "flip", "roll") and g.rng.random() < 0.25:
        axis = None
    kw = {"axis": axis}
    if kind in ("cumsum", "cumprod"):
        fn = lambda x: getattr(np, kind)(x, axis=axis)              # noqa: E731
    elif kind == "flip":
        fn = lambda x: np.flip(x, axis=axis)                        # noqa: E731
    elif kind == "roll":
        kw["shift"] = shift = int(g.rng.integers(-3, 4))
        fn = lambda x: np.roll(x, shift, axis=axis)                 # noqa: E731
    elif kind == "diff":
        fn = lambda x: np.diff(x, axis=axis)                        # noqa: E731
    elif kind == "sort":
        fn = lambda x: np.sort(x, axis=axis)                        # noqa: E731
    elif kind == "prod":
        kw = {"axis": _axis_arg(g, nd), "keepdims": bool(g.rng.random() < 0.4)}
        fn = lambda x: np.prod(x, **kw)                             # noqa: E731
    elif kind == "tril":
        if nd < 2:
            return None
        kind = g.choice(["tril", "triu"])
        kw = {"k": int(g.rng.integers(-1, 2))}
        fn = lambda x: np.tril(x, **kw)                             # noqa: E731
    elif kind == "tile":
        kw = {"reps": tuple(int(r) for r in g.rng.integers(1, 3, size=int(g.rng.integers(1, nd + 1))))}
        fn = lambda x: np.tile(x, kw["reps"])                       # noqa: E731
    else:
        kw["repeats"] = int(g.rng.integers(1, 3))
        fn = lambda x: np.repeat(x, kw["repeats"], axis=axis)       # noqa: E731
    try:
        shape = np_shape(fn, a.shape)
    except ValueError:
        return None
    if len(shape) > 4 or int(np.prod(shape)) > 512:
        return None
    return [g.op(kind, [a], shape, g.fdt, **kw)]
