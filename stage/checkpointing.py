"""Trading recomputation for memory in reverse mode: `checkpoint` and `checkpoints`.

- `st.checkpoint(fn)`: rematerialisation. Under `st.grad` the forward of `fn` runs without keeping
  its intermediate values, and is run again, with them, when the backward pass reaches it (as
  `jax.checkpoint` and `torch.utils.checkpoint`).
- `with st.checkpoints(k):` (or the `checkpoints=k` argument of `st.fori_loop` / `st.while_loop`):
  under `st.grad`, a loop stages its reverse mode storing at most k of its carries, recomputing the
  iterations between them during the backward (see `stage.cps.checkpoint`). It applies to the loops
  staged in the block -- plain Python `for` and `while` over staged values included -- but not to
  loops inside their bodies, which need their own.

Recomputation is deterministic in stage, so gradients are bit-for-bit those of the program without
checkpoints: every op is a pure function of its inputs, and random numbers (`nn.dropout`) are a
counter-based function of (seed, counter, stream), so a recomputed dropout mask is the same mask.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from typing import Any, Callable, Optional

import numpy as np

from . import pytree
from .ir.graph import StageTypeError, StageValueError, current_scope, reflect, reify
from .ir.functions import as_rep
from .ir.rep import Rep

_state = threading.local()


def check_checkpoints(k: Any, where: str) -> Optional[int]:
    """Validate a `checkpoints` argument: None, or an int >= 1."""
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise StageTypeError(f"{where}: checkpoints must be None or a Python int >= 1 (the number "
                             f"of loop carries stored), not {type(k).__name__}")
    if k < 1:
        raise StageValueError(f"{where}: checkpoints must be >= 1 (the number of loop carries "
                              f"stored), not {k}")
    return int(k)


def loop_checkpoints(k: Any, where: str) -> Optional[int]:
    """A loop's `checkpoints`: its own argument, else the enclosing `with st.checkpoints(k)`."""
    if k is None:
        k = getattr(_state, "k", None)
    return check_checkpoints(k, where)


@contextlib.contextmanager
def loop_body():
    """While a loop's body is traced, loops inside it take no enclosing `checkpoints` default."""
    saved = getattr(_state, "k", None)
    _state.k = None
    try:
        yield
    finally:
        _state.k = saved


class checkpoints(contextlib.ContextDecorator):
    """Checkpointed reverse mode for the staged loops in a block: at most `k` carries stored.

    Under `st.grad`, a `st.fori_loop` or `st.while_loop` (or a plain Python `for`/`while` over
    staged values) staged inside the block keeps at most `k` of its carries for the backward pass
    instead of every iteration's: the backward recomputes the iterations between two stored carries
    from the earlier one. A `fori_loop`, whose trip count is known when it starts, uses Griewank's
    binomial schedule (the fewest recomputations for `k`: with beta(k, r) = C(k + r, k) >= n, each
    iteration runs forward at most r + 1 times, e.g. r = 2 or 3 for k near sqrt(n)); a
    `while_loop` uses an online schedule (each iteration runs forward about once more than that).
    Memory: k carries, k cotangents of the carry and one iteration's intermediate values, whatever
    the number of iterations. Gradients are identical to those without checkpoints. Loops inside a
    checkpointed loop's body are not affected (give them their own). Also a decorator.

    Parameters
    ----------
    k : int or None
        Carries stored, at least 1 (1: everything is recomputed from the loop's start, quadratic
        time); None turns an enclosing setting off.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> def loss(w, n):
    ...     with st.checkpoints(8):
    ...         h = st.fori_loop(0, n, lambda i, h: st.tanh(w * h + 0.5), 0.0)
    ...     return h
    >>> g = st.compile(st.grad(loss), backend="interp")
    >>> float(g(np.float64(0.9), np.int64(100))) == float(
    ...     st.compile(st.grad(lambda w, n: st.fori_loop(0, n, lambda i, h: st.tanh(w * h + 0.5),
    ...                                                  0.0)), backend="interp")(np.float64(0.9),
    ...                                                                           np.int64(100)))
    True
    """

    def __init__(self, k: Optional[int]):
        self.k = check_checkpoints(k, "st.checkpoints")

    def __enter__(self):
        self._saved = getattr(_state, "k", None)
        _state.k = self.k
        return self

    def __exit__(self, *exc):
        _state.k = self._saved
        return False


def _is_staged(x) -> bool:
    return isinstance(x, (Rep, np.ndarray, np.generic))


def checkpoint(fn: Callable) -> Callable:
    """Rematerialise `fn` under grad: its forward is recomputed in the backward instead of kept.

    Calling the result while staging traces `fn` into one block. Without `st.grad` it is `fn`.
    Under `st.grad` the forward runs as a separate native function whose intermediate values are
    freed when it returns; when the backward pass reaches the call, `fn`'s forward runs again, this
    time keeping them, and its backward follows. Inside a loop under grad (e.g. on an RNN cell or a
    layer), every iteration's frame then holds the cell's inputs and outputs only. Gradients are
    identical to those of `fn` itself (stage's ops and random numbers are deterministic).

    Parameters
    ----------
    fn : callable
        A function (or `st.nn.Module`) of pytrees of arrays and static Python values, returning a
        pytree of arrays. It may close over staged values (e.g. parameters).

    Returns
    -------
    callable
        The same function, rematerialised under grad.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> cell = st.checkpoint(lambda h, w: st.tanh(h @ w))
    >>> g = st.compile(st.grad(lambda w, h: st.sum(cell(cell(h, w), w))), backend="interp")
    >>> g(np.eye(2), np.ones((1, 2))).shape
    (2, 2)
    """
    if not callable(fn):
        raise TypeError(f"st.checkpoint needs a callable, not {type(fn).__name__}")

    def remat(*args, **kwargs):
        if current_scope() is None:
            return fn(*args, **kwargs)
        leaves, td = pytree.flatten((args, kwargs))
        staged = [as_rep(x) for x in leaves if _is_staged(x)]
        out = {}

        def body(*syms):
            it = iter(syms)
            full = [Rep(next(it)) if _is_staged(x) else x for x in leaves]
            a, kw = pytree.unflatten(td, full)
            from .frontend import convert        # (the front end builds on the staging API)
            res = convert(fn)(*a, **kw)
            reps_out, out["td"] = pytree.flatten(res)
            return [as_rep(r).exp for r in reps_out]
        block = reify(body, [r.type for r in staged])
        outs = reflect("remat", *[r.exp for r in staged], blocks=(block,),
                       out_types=block.result_types)
        return pytree.unflatten(out["td"], [Rep(o) for o in outs])
    return functools.update_wrapper(remat, fn, updated=())
