"""`grad` and `value_and_grad`: differentiate a Python function over staged values.

Called while staging, they trace the function into a forward block and run the CPS transformation
into the current scope, so the gradient is ordinary staged code the caller can keep using (an SGD
step `p - lr * g`, a loop around it, another `grad`). Called on NumPy arrays outside staging, they
stage and run the program with the NumPy interpreter.
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence, Union

from .. import pytree
from ..errors import filtered
from ..frontend import convert
from ..ir import functions as F
from ..ir.graph import StageTypeError, current_scope, reify
from ..ir.passes import dce
from ..ir.rep import Rep
from . import ad


# Called on NumPy arrays outside staging, a gradient is staged and run by the interpreter: the
# public API (stage.compile) installs that runner here, so this layer does not import the API.
EAGER = {"run": None}


def _is_staged(x):
    import numpy as np
    return isinstance(x, (Rep, np.ndarray, np.generic))


def value_and_grad(fun: Callable, argnums: Union[int, Sequence[int]] = 0,
                   has_aux: bool = False) -> Callable:
    """A function returning `(fun(*args), gradient)`, by reverse mode with continuations (CPS).

    Inside staged code the gradient is ordinary staged code (use it in an update, a loop, another
    `grad`); called on NumPy arrays outside staging, it stages and runs with the interpreter.

    Parameters
    ----------
    fun : callable
        A function of staged values returning a floating-point scalar (or `(scalar, aux)` with
        `has_aux`).
    argnums : int or tuple of int, default 0
        Which positional arguments to differentiate with respect to. Each may be a pytree; its
        floating-point leaves get gradients (integer leaves get zeros).
    has_aux : bool, default False
        `fun` returns `(loss, aux)`; `aux` (any pytree of staged values) is passed through.

    Returns
    -------
    callable
        ``g(*args)`` returning ``(value, gradient)``, or ``((value, aux), gradient)`` with
        `has_aux`. The gradient has the structure of ``args[argnums]`` (a tuple of them when
        `argnums` is a tuple).

    Raises
    ------
    StageTypeError
        `fun` does not return a floating-point scalar.
    TypeError
        `argnums` is out of range.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> v, g = st.value_and_grad(lambda w: st.sum(w * w))(np.array([1.0, 2.0], np.float32))
    >>> float(v), g
    (5.0, array([2., 4.], dtype=float32))
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    @functools.wraps(fun)
    def wrapped(*args):
        leaves, td = pytree.flatten(args)
        if current_scope() is None:
            try:
                return EAGER["run"](wrapped, args)
            except Exception as e:
                raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them
        for n in nums:
            if not 0 <= n < len(args):
                raise TypeError(f"argnums {argnums} out of range for {len(args)} arguments")
        owner = _leaf_owners(args)
        staged = [i for i, x in enumerate(leaves) if _is_staged(x)]
        reps = [F.as_rep(leaves[i]) for i in staged]
        active = [owner[i] in nums and r.type.is_float for i, r in zip(staged, reps)]
        out = {}

        def body(*syms):
            full = list(leaves)
            for i, s in zip(staged, syms):
                full[i] = Rep(s)
            res = convert(fun)(*pytree.unflatten(td, full))
            loss, aux = res if has_aux else (res, None)
            loss = F.as_rep(loss)
            if loss.shape != () or not loss.type.is_float:
                raise StageTypeError(f"grad needs a function returning a floating-point scalar, "
                                     f"got {loss.type}" + (" (use has_aux=True to return more)"
                                                           if isinstance(res, tuple) else ""))
            aux_reps, out["aux"] = pytree.flatten(aux)
            return [loss.exp] + [F.as_rep(a).exp for a in aux_reps]
        # Only what reaches the results is differentiated: a loop whose results are unused would
        # otherwise run backward with zero cotangents, and 0 * nan is nan (PyTorch and JAX give 0).
        fwd = dce(reify(body, [r.type for r in reps], root=True))
        values, grads = ad.run(fwd, reps, active)
        g_by_leaf = {i: g for i, g in zip(staged, grads)}
        results = []
        for n in nums:
            sub_leaves, sub_td = pytree.flatten(args[n])
            base = _leaf_offset(args, n)
            gl = []
            for j, x in enumerate(sub_leaves):
                g = g_by_leaf.get(base + j)
                if g is None:
                    g = F.zeros_like(x) if _is_staged(x) else None
                gl.append(g)
            results.append(pytree.unflatten(sub_td, gl))
        grad_out = results[0] if single else tuple(results)
        value = values[0]
        if has_aux:
            return (value, pytree.unflatten(out["aux"], values[1:])), grad_out
        return value, grad_out
    return wrapped


def grad(fun: Callable, argnums: Union[int, Sequence[int]] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function with respect to ``args[argnums]``.

    Parameters
    ----------
    fun : callable
        A function of staged values returning a floating-point scalar (or `(scalar, aux)`).
    argnums : int or tuple of int, default 0
        The positional arguments (pytrees) to differentiate with respect to.
    has_aux : bool, default False
        `fun` returns `(loss, aux)`; the result is then `(gradient, aux)`.

    Returns
    -------
    callable
        ``g(*args)`` returning the gradient, shaped as ``args[argnums]``. `grad` of `grad` gives
        higher derivatives.

    See Also
    --------
    value_and_grad : the value and the gradient in one pass.

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> d2 = st.grad(st.grad(lambda x: x ** 3))
    >>> float(d2(np.float32(2.0)))
    12.0
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def wrapped(*args):
        try:
            v, g = vg(*args)
        except Exception as e:
            raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them
        return (g, v[1]) if has_aux else g
    return wrapped


def _leaf_owners(args):
    owners = []
    for n, a in enumerate(args):
        owners += [n] * len(pytree.flatten(a)[0])
    return owners


def _leaf_offset(args, n):
    return sum(len(pytree.flatten(a)[0]) for a in args[:n])
