"""`parallel_map`: many small independent examples at once, one thread each, inside one call.

A minibatch of examples whose structure differs -- trees of different shapes, sequences of different
runtime lengths -- cannot be batched into bigger arrays; `parallel_map` runs their forward (and,
under `st.grad`, their backward: each example its own CPS recursion) on different threads of one
native call, and sums the gradients of the values they share in a fixed order, so the result does
not depend on the number of threads.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import pytree
from .control import _conform, _where
from .ir.functions import as_rep
from .ir.graph import StageError, StageTypeError, current_scope, reflect, reify
from .ir.ops import OPS
from .ir.rep import Rep
from .ir.types import TensorType


def parallel_map(fn: Callable, *xs: Any) -> Any:
    """`fn` applied to every example, each example on its own thread; results stacked.

    ``parallel_map(fn, x, y)`` is ``stack([fn(x[i], y[i]) for i in range(len(x))])`` and
    ``parallel_map(fn, n)`` (a Python int) is ``stack([fn(i) for i in range(n)])``, `i` a staged
    int64 scalar. The examples must be independent: `fn` reads arrays of the enclosing function
    (parameters, a forest of trees) but updates none (no `st.assign`). Inside `fn` anything goes --
    staged recursion over a tree, loops to a runtime length -- and under `st.grad` every example
    runs its forward and its backward on its own thread, the gradients of the shared values summed in
    an order fixed by the number of examples alone (the same result with any number of threads).
    The number of examples is static (the leading dimension of the inputs, or `n`).

    Parameters
    ----------
    fn : callable
        ``fn(*example) -> pytree of arrays``: one example's values (the i-th rows of `xs`), or its
        index.
    *xs : arrays, pytrees of arrays, or one int
        Arrays sharing their leading dimension (the examples), or the number of examples.

    Returns
    -------
    pytree of Rep
        `fn`'s results, each with a new leading dimension (one row per example).

    Raises
    ------
    StageTypeError
        The inputs do not share a leading dimension, or `fn` returns something other than arrays.
    StageError
        `fn` updates an input in place.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> f = st.compile(lambda x: st.parallel_map(lambda r: (r * r).sum(), x), backend="interp")
    >>> f(np.arange(6, dtype=np.float32).reshape(3, 2))
    array([ 1., 13., 41.], dtype=float32)
    """
    index_mode = len(xs) == 1 and isinstance(xs[0], (int, np.integer)) and \
        not isinstance(xs[0], bool)
    leaves, td = pytree.flatten(list(xs)) if not index_mode else ([], None)
    if current_scope() is None and not any(isinstance(x, Rep) for x in leaves):
        return _eager(fn, xs, index_mode)
    if index_mode:
        n = int(xs[0])
        if n < 0:
            raise StageTypeError(f"parallel_map: the number of examples must be >= 0, not {n}"
                                 f"{_where()}")
        reps = []
    else:
        if not leaves:
            raise StageTypeError(f"parallel_map: give arrays of examples or their number{_where()}")
        reps = [as_rep(x) for x in leaves]
        shapes = [r.shape for r in reps]
        if any(len(s) == 0 for s in shapes) or len({s[0] for s in shapes}) != 1:
            raise StageTypeError(f"parallel_map: the inputs must share a leading dimension (the "
                                 f"examples), not shapes {', '.join(map(str, shapes))}{_where()}")
        n = shapes[0][0]
    out = {}

    def body(i):
        i = Rep(i)
        from .frontend import convert        # (the frontend builds on the control forms)
        if index_mode:
            res = convert(fn)(i)
        else:
            res = convert(fn)(*pytree.unflatten(td, [r[i] for r in reps]))
        rreps, out["td"] = _conform(res, None)
        for r in rreps:
            if not isinstance(r.type, TensorType):
                raise StageTypeError(f"parallel_map: fn must return arrays, not {r.type}{_where()}")
        return [r.exp for r in rreps]
    block = reify(body, [TensorType("int64", ())], is_function=True)
    for m in block.walk():
        if OPS[m.op].effects.target == "input":
            raise StageError(f"parallel_map: the examples must not update inputs in place "
                             f"(st.assign); return the new values and assign them outside"
                             f"{_where()}")
    outs = reflect("parallel_map", blocks=(block,), n=n)
    return pytree.unflatten(out["td"], [Rep(o) for o in outs])


def _eager(fn, xs, index_mode):
    """Outside staging: a Python loop over NumPy values."""
    if index_mode:
        res = [fn(i) for i in range(int(xs[0]))]
    else:
        leaves, td = pytree.flatten(list(xs))
        arrays = [np.asarray(x) for x in leaves]
        n = arrays[0].shape[0] if arrays and arrays[0].ndim else 0
        res = [fn(*pytree.unflatten(td, [a[i] for a in arrays])) for i in range(n)]
    if not res:
        raise ValueError("parallel_map: no examples (outside staging the result's structure is "
                         "unknown)")
    flat = [pytree.flatten(r) for r in res]
    return pytree.unflatten(flat[0][1], [np.stack([np.asarray(f[0][j]) for f in flat])
                                        for j in range(len(flat[0][0]))])
