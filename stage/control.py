"""Staged control flow: `cond`, `fori_loop`, `while_loop` (`@function`, possibly recursive, is in
`stage.staged_function`).

Each traces its Python callables into blocks and reflects one special-form node. Static predicates
and bounds (plain Python values) are evaluated at staging time instead. The forms are differentiated
by `stage.cps` (the continuation becomes a staged function).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import pytree
from .ir.functions import as_rep, astype, not_equal
from .ir.graph import (StageTypeError, current_scope, current_trace, reflect, reify,
                       user_location)
from .checkpointing import loop_body, loop_checkpoints
from .ir.inplace import program_writes
from .ir.rep import Rep
from .ir.types import TensorType


class _NeedResult(Exception):
    """Raised while probing a recursive function whose result type is not known yet."""


def _flat_reps(tree, dtypes=None):
    leaves, td = pytree.flatten(tree)
    reps = [as_rep(x, None if dtypes is None else dtypes[i]) for i, x in enumerate(leaves)]
    return reps, td


def _where():
    loc = user_location()
    return f" (at {loc})" if loc else ""


def probe_float() -> str:
    """The float dtype a Python float returned while a recursive function's result type is probed
    takes: the widest float among that function's arguments (float64 when there is none)."""
    floats = current_trace().probe_floats
    return floats[-1] if floats else "float64"


def _trace_fn(fn, in_td, in_types, out_dtypes=None, parent=None, is_function=False):
    """Reify `fn` over pytree inputs; returns (block, output treedef)."""
    out = {}

    def body(*syms):
        args = pytree.unflatten(in_td, [Rep(s) for s in syms]) if in_td is not None else \
            [Rep(s) for s in syms]
        res = fn(*args) if in_td is None or in_td.kind in ("tuple", "list") else fn(args)
        reps, out["td"] = _conform(res, out_dtypes)
        return [r.exp for r in reps]
    block = reify(body, in_types, parent=parent, is_function=is_function)
    return block, out["td"]


def _check_same(what, td_a, types_a, td_b, types_b):
    if td_a != td_b:
        raise StageTypeError(f"{what}: structures differ: {td_a} vs {td_b}{_where()}")
    for i, (a, b) in enumerate(zip(types_a, types_b)):
        if a != b:
            raise StageTypeError(f"{what}: output {i} is {a} in one and {b} in the other{_where()}")


def _as_pred(pred):
    p = as_rep(pred)
    if p.shape != ():
        raise StageTypeError(f"a staged predicate must be a scalar, not {p.type}{_where()}")
    return p if p.dtype == "bool" else not_equal(p, 0)


# ------------------------------------------------------------------------------------------- cond

def cond(pred: Any, true_fn: Callable, false_fn: Callable, *operands: Any) -> Any:
    """`true_fn(*operands)` if `pred` else `false_fn(*operands)`; a staged branch when `pred` is staged.

    With a Python `pred`, the branch is chosen while staging (only one is traced). With a staged
    `pred`, both branches are traced and the compiled code runs one of them; under `st.grad` the
    rest of the program becomes a continuation both branches call (no tape).

    Parameters
    ----------
    pred : bool or Rep
        A scalar; nonzero numbers are true.
    true_fn, false_fn : callable
        Functions of `*operands` returning pytrees of the same structure, shapes and dtypes
        (Python scalars adapt to the other branch's dtype). They may close over staged values.
    *operands
        Pytrees passed to the chosen branch.

    Returns
    -------
    pytree of Rep
        The chosen branch's result.

    Raises
    ------
    StageTypeError
        `pred` is not a scalar, or the branches' results differ in structure, shape or dtype.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> f = st.compile(lambda x: st.cond(st.sum(x) > 0, lambda: x * 2, lambda: -x),
    ...                backend="interp")
    >>> f(np.array([1.0, -3.0], np.float32))
    array([-1.,  3.], dtype=float32)
    """
    if not isinstance(pred, Rep):
        return true_fn(*operands) if pred else false_fn(*operands)
    p = _as_pred(pred)
    reps, td = _flat_reps(tuple(operands))
    types = [r.type for r in reps]
    trace = current_trace()
    branches, failed = [], None
    for fn in (true_fn, false_fn):
        try:
            branches.append(_trace_fn(fn, td, types))
        except _NeedResult as e:
            if not trace.probing:
                raise
            failed = e
            branches.append(None)
    if failed is not None:
        ok = [b for b in branches if b is not None]
        if not ok:
            raise failed
        # probing a recursive function: the base case's type, a Python float there taking the
        # function's float dtype (NumPy's rule for the weak scalar it is added to on the way back)
        fn = true_fn if branches[0] is not None else false_fn
        wide = probe_float()
        have = [t.dtype for t in ok[0][0].result_types]
        want = [wide if d in ("float32", "float64") else d for d in have]
        base = ok[0] if want == have else _trace_fn(fn, td, types, want)
        branches = [base, base]
    (tb, ttd), (fb, ftd) = branches
    if ttd != ftd or tb.result_types != fb.result_types:
        # retrace with the other branch's dtypes so weakly typed Python scalars adapt
        tb2, ttd2 = _trace_fn(true_fn, td, types, [t.dtype for t in fb.result_types]) \
            if len(tb.result) == len(fb.result) else (tb, ttd)
        if tb2.result_types == fb.result_types:
            tb, ttd = tb2, ttd2
        else:
            fb, ftd = _trace_fn(false_fn, td, types, [t.dtype for t in tb.result_types]) \
                if len(tb.result) == len(fb.result) else (fb, ftd)
    _check_same("cond: the branches' results", ttd, tb.result_types, ftd, fb.result_types)
    outs = reflect("cond", p.exp, *[r.exp for r in reps], blocks=(tb, fb),
                   out_types=tb.result_types)
    return pytree.unflatten(ttd, [Rep(o) for o in outs])


# ------------------------------------------------------------------------------------------- loops

def _conform(tree, dtypes):
    """Flatten a result; Python scalars take the expected dtypes, staged values keep theirs."""
    leaves, td = pytree.flatten(tree)
    if dtypes is None or len(dtypes) != len(leaves):
        return [as_rep(x) for x in leaves], td
    return [as_rep(x, dt if not isinstance(x, Rep) else None) for x, dt in zip(leaves, dtypes)], td


def _loop_carry(init, what):
    """The carries as staged values. A Python float carried next to floating-point arrays takes
    the widest of their dtypes (a float64 program's `0.0` accumulator is float64, a float32
    program's float32, as NumPy's weak-scalar rule makes it in `x + 0.0`); alone it has the
    default float64. The body may still widen it."""
    leaves, td = pytree.flatten(init)
    weak = [not isinstance(x, (Rep, np.ndarray, np.generic)) for x in leaves]
    strong = [as_rep(x).dtype for x, w in zip(leaves, weak) if not w]
    floats = [d for d in strong if d in ("float32", "float64")]
    wide = max(floats, default=None)         # ("float64" > "float32")
    reps = [as_rep(x, wide) if w and wide and isinstance(x, float) else as_rep(x)
            for x, w in zip(leaves, weak)]
    for r in reps:
        if not isinstance(r.type, TensorType):
            raise StageTypeError(f"{what}: loop carries must be arrays or scalars{_where()}")
    return reps, td, weak, leaves


def _ckpt_param(k):
    """The loop node's `checkpoints` parameter (absent without checkpointing)."""
    return {} if k is None else {"checkpoints": k}


def _check_body(what, td, types, btd, block):
    if btd != td:
        raise StageTypeError(f"{what}: the body returned {btd}, but the carry is {td}{_where()}")
    for i, (a, b) in enumerate(zip(types, block.result_types)):
        if a != b:
            raise StageTypeError(f"{what}: carry {i} enters the loop as {a} but the body returns "
                                 f"{b}{_where()}")


def _trace_loop(what, init, trace_body):
    """Trace a loop body; Python-scalar carries adopt the dtype the body gives them. A body that
    updates an input in place (`st.assign`) is traced again without sharing expressions with the
    enclosing scopes, so each iteration reads the input's current value (see stage.ir.inplace)."""
    reps, td, weak, leaves = _loop_carry(init, what)
    barrier = False
    for _ in range(4):
        types = [r.type for r in reps]
        blocks, btd = trace_body(td, types, barrier)
        body = blocks[-1]
        fix = [i for i, (t, b) in enumerate(zip(types, body.result_types))
               if weak[i] and t != b and t.shape == b.shape and btd == td]
        if not barrier and any(program_writes(b) for b in blocks):
            barrier = True
            continue
        if not fix:
            break
        reps = [as_rep(leaves[i], body.result_types[i].dtype) if i in fix else r
                for i, r in enumerate(reps)]
    _check_body(what, td, types, btd, body)
    return reps, td, types, blocks


def fori_loop(lower: Any, upper: Any, body: Callable, init: Any, *,
              checkpoints: Optional[int] = None) -> Any:
    """`for i in range(lower, upper): carry = body(i, carry)`; the bounds may be staged integers.

    With static bounds outside staging it is a Python loop. Inside staging it is one staged loop
    (compiled once for every trip count); under `st.grad` it becomes a recursive native function
    that runs iteration i, calls itself for i + 1, then runs iteration i's backward.

    Parameters
    ----------
    lower, upper : int or Rep
        Integer scalars (int32 or int64).
    body : callable
        ``body(i, carry) -> carry``, with `i` a staged int64 scalar; returns a carry of the same
        structure, shapes and dtypes (Python scalars in `init` adopt the body's dtype).
    init : pytree
        The initial carry: arrays, scalars, nested tuples/lists/dicts of them.
    checkpoints : int, optional
        Under `st.grad`, store at most this many carries and recompute the iterations between them
        during the backward (Griewank's binomial schedule: bounded memory for any trip count; see
        `st.checkpoints`). Default: the enclosing `with st.checkpoints(k)`, else every iteration's
        intermediate values are kept (fastest).

    Returns
    -------
    pytree of Rep
        The final carry (`init` when `upper <= lower`).

    Raises
    ------
    StageTypeError
        The bounds are not integer scalars, or the body changes the carry's structure or types.
    StageValueError
        `checkpoints` is less than 1.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> f = st.compile(lambda x, n: st.fori_loop(0, n, lambda i, c: c * x, 1.0), backend="interp")
    >>> float(f(np.float32(2.0), np.int64(10)))
    1024.0
    """
    k = loop_checkpoints(checkpoints, "fori_loop")
    if not isinstance(lower, Rep) and not isinstance(upper, Rep) and current_scope() is None:
        carry = init
        for i in range(int(lower), int(upper)):
            carry = body(i, carry)
        return carry
    lo, hi = as_rep(lower), as_rep(upper)
    for b in (lo, hi):
        if b.shape != () or b.dtype not in ("int32", "int64"):
            raise StageTypeError(f"fori_loop: bounds must be integer scalars, not {b.type}{_where()}")
    lo, hi = astype(lo, "int64"), astype(hi, "int64")

    def trace_body(td, types, barrier):
        out = {}

        def blk(i, *cs):
            res = body(Rep(i), pytree.unflatten(td, [Rep(c) for c in cs]))
            rreps, out["td"] = _conform(res, [t.dtype for t in types])
            return [r.exp for r in rreps]
        with loop_body():
            return [reify(blk, [TensorType("int64", ())] + types, cse_barrier=barrier)], out["td"]
    reps, td, types, (block,) = _trace_loop("fori_loop", init, trace_body)
    outs = reflect("fori_loop", lo.exp, hi.exp, *[r.exp for r in reps], blocks=(block,),
                   out_types=tuple(types), **_ckpt_param(k))
    return pytree.unflatten(td, [Rep(o) for o in outs])


def while_loop(cond_fn: Callable, body_fn: Callable, init: Any, *,
               checkpoints: Optional[int] = None) -> Any:
    """`while cond_fn(carry): carry = body_fn(carry)`, staged: the condition is evaluated at run time.

    Parameters
    ----------
    cond_fn : callable
        ``cond_fn(carry) -> scalar`` (nonzero is true).
    body_fn : callable
        ``body_fn(carry) -> carry`` of the same structure, shapes and dtypes.
    init : pytree
        The initial carry.
    checkpoints : int, optional
        Under `st.grad`, store at most this many carries and recompute the iterations between them
        during the backward, with an online schedule (the trip count is only known at the end;
        see `st.checkpoints`). Default: the enclosing `with st.checkpoints(k)`, else every
        iteration's intermediate values are kept.

    Returns
    -------
    pytree of Rep
        The carry once `cond_fn` is false.

    Raises
    ------
    StageTypeError
        The condition is not a scalar, or the body changes the carry's structure or types.
    StageValueError
        `checkpoints` is less than 1.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> collatz = st.compile(lambda n: st.while_loop(
    ...     lambda c: c[0] != 1,
    ...     lambda c: (st.where(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1), c[1] + 1),
    ...     (n, np.int64(0)))[1], backend="interp")
    >>> int(collatz(np.int64(6)))
    8
    """
    k = loop_checkpoints(checkpoints, "while_loop")

    def trace_body(td, types, barrier):
        out = {}

        def cblk(*cs):
            return [_as_pred(cond_fn(pytree.unflatten(td, [Rep(c) for c in cs]))).exp]

        def bblk(*cs):
            res = body_fn(pytree.unflatten(td, [Rep(c) for c in cs]))
            rreps, out["td"] = _conform(res, [t.dtype for t in types])
            return [r.exp for r in rreps]
        with loop_body():
            cblock = reify(cblk, types, cse_barrier=barrier)
            return [cblock, reify(bblk, types, cse_barrier=barrier)], out["td"]
    reps, td, types, (cblock, bblock) = _trace_loop("while_loop", init, trace_body)
    outs = reflect("while_loop", *[r.exp for r in reps], blocks=(cblock, bblock),
                   out_types=tuple(types), **_ckpt_param(k))
    return pytree.unflatten(td, [Rep(o) for o in outs])


# ------------------------------------------------------------------------------------------- functions
