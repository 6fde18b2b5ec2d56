"""`@st.function`: staged functions, possibly recursive (recursion over runtime data), and
`st.ShapeDtype` to declare a result the base case cannot tell.

Each specialisation (per argument types and static values) is staged once as a closure (a `fun`
node) and every call becomes a `call` node; under `grad` the continuation is a runtime argument, so
a tree recursion's backward pass runs on the native stack. Split from `stage.control` (the
combinators), whose helpers it shares.
"""
from __future__ import annotations

import functools
from typing import Callable, Optional

import numpy as np

from . import pytree
from .control import _NeedResult, _conform, _where, probe_float
from .ir.functions import as_rep

FLOAT_DTYPES = ("float32", "float64")
from .ir.graph import StageError, StageTypeError, current_scope, current_trace, reflect, reify
from .ir.rep import Rep
from .ir.types import FunType, TensorType


class _Spec:
    """One specialisation of a staged function: its closure symbol and result structure."""

    def __init__(self):
        self.sym = None
        self.out_td = None
        self.out_types = None
        self.state = "new"        # new -> probing -> typed -> staging -> done


def _is_staged_leaf(x):
    return isinstance(x, (Rep, np.ndarray, np.generic))


class function:
    """Decorator for staged functions, which may call themselves (recursion over runtime data).

    Called while staging, a specialisation (per argument types and static values) is staged once as a
    native function and every call becomes a staged call. The result type of a recursive function is
    inferred from its base case (the branch of a `cond` that does not recurse); give
    `result=` pytrees of `st.ShapeDtype` when it cannot be. Under `st.grad` the function receives
    its continuation as a runtime argument, so the backward pass of a tree recursion runs on the
    native stack. Called outside staging on plain values, it is the Python function.

    Parameters
    ----------
    fn : callable, optional
        The function to stage (`@st.function`); omitted in ``@st.function(result=...)``.
    result : pytree of ShapeDtype, optional
        The result type, for recursive functions without a non-recursive branch.

    Raises
    ------
    StageError
        The result type of a recursive function cannot be inferred, or a staged function uses a
        value computed inside a branch or loop body of its caller (pass it as an argument).

    Examples
    --------
    >>> import numpy as np, stage as st
    >>> @st.function
    ... def depth(i, left, right):           # i: a runtime node index; -1 is no child
    ...     return st.cond(left[i] < 0, lambda: np.int64(1),
    ...                    lambda: 1 + st.maximum(depth(left[i], left, right),
    ...                                           depth(right[i], left, right)))
    >>> f = st.compile(depth, backend="interp")
    >>> int(f(np.int64(2), np.array([-1, -1, 0]), np.array([-1, -1, 1])))
    2
    """

    def __init__(self, fn: Optional[Callable] = None, *, result=None):
        self.fn = fn
        self.result = result
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __call__(self, *args):
        if self.fn is None:                   # @function(result=...)
            return function(args[0], result=self.result)
        leaves, td = pytree.flatten(args)
        if current_scope() is None and not any(isinstance(x, Rep) for x in leaves):
            return self.fn(*args)
        staged = [as_rep(x) for x in leaves if _is_staged_leaf(x)]
        static = tuple((i, x) for i, x in enumerate(leaves) if not _is_staged_leaf(x))
        in_types = tuple(r.type for r in staged)
        root = current_scope().staging_root()
        key = (self, td, static, in_types)
        spec = root.functions.get(key)
        if spec is None:
            spec = root.functions[key] = _Spec()
        trace = current_trace()
        if spec.out_types is None:
            if spec.state == "probing":
                raise _NeedResult(self.fn.__name__)
            self._type(spec, td, leaves, in_types, root)
        if not trace.probing and spec.state == "typed":
            self._stage(spec, td, leaves, in_types, root)
        outs = reflect("call", spec.sym, *[r.exp for r in staged], out_types=spec.out_types)
        return pytree.unflatten(spec.out_td, [Rep(o) for o in outs])

    def _body(self, td, leaves, spec=None):
        def body(*syms):
            it = iter(syms)
            full = [Rep(next(it)) if _is_staged_leaf(x) else x for x in leaves]
            from .frontend import convert       # (frontend builds on this module)
            res = convert(self.fn)(*pytree.unflatten(td, full))
            if spec is not None and spec.out_types:
                dtypes = [t.dtype for t in spec.out_types]
            elif spec is not None and spec.state == "probing":   # a base case's bare 0.0
                wide = probe_float()
                dtypes = [wide if isinstance(x, float) else None for x in pytree.flatten(res)[0]]
            else:
                dtypes = None
            reps, out_td = _conform(res, dtypes)
            if spec is not None and spec.out_td is None:
                spec.out_td = out_td
            return [r.exp for r in reps]
        return body

    def _type(self, spec, td, leaves, in_types, root):
        if self.result is not None:
            rl, spec.out_td = pytree.flatten(self.result, is_leaf=lambda x: isinstance(x, ShapeDtype))
            spec.out_types = tuple(TensorType(str(np.dtype(r.dtype)), tuple(r.shape)) for r in rl)
        else:
            spec.state = "probing"
            trace = current_trace()
            trace.probing += 1
            floats = [t.dtype for t in in_types if getattr(t, "dtype", None) in FLOAT_DTYPES]
            trace.probe_floats.append(max(floats, default="float64"))   # float64 > float32
            try:
                block = reify(self._body(td, leaves, spec), in_types, parent=root, is_function=True)
            except _NeedResult:
                raise StageError(
                    f"cannot infer the result type of recursive function {self.fn.__name__!r}: no "
                    f"branch returns without recursing; give it with "
                    f"@st.function(result=st.ShapeDtype(shape, dtype)){_where()}") from None
            finally:
                trace.probing -= 1
                trace.probe_floats.pop()
            spec.out_types = block.result_types
        spec.sym = current_trace().fresh(FunType(in_types, spec.out_types))
        spec.state = "typed"

    def _stage(self, spec, td, leaves, in_types, root):
        spec.state = "staging"
        block = reify(self._body(td, leaves, spec), in_types, parent=root, is_function=True)
        if block.result_types != spec.out_types:
            raise StageTypeError(f"function {self.fn.__name__!r} returns {block.result_types} "
                                 f"but was typed {spec.out_types}{_where()}")
        _check_visible(self.fn.__name__, block, root)
        reflect("fun", blocks=(block,), out_types=(spec.sym.type,), scope=root, syms=(spec.sym,),
                name=self.fn.__name__)
        spec.state = "done"


def _check_visible(name, block, root):
    from .ir.graph import free_syms
    for f in free_syms(block):
        s = root
        while s is not None and f.id not in s.defined:
            s = s.parent
        if s is None and not isinstance(f.type, FunType):
            raise StageError(f"staged function {name!r} uses {f} ({f.type}), a value computed "
                             f"inside a branch or loop body; pass it as an argument{_where()}")


class ShapeDtype:
    """The type of a staged value, for declaring a recursive function's result.

    Parameters
    ----------
    shape : tuple of int
        The shape (``()`` for a scalar).
    dtype : str, default "float32"
        One of float32, float64, int32, int64, bool.

    Examples
    --------
    >>> import stage as st
    >>> st.ShapeDtype((), "float32").shape
    ()
    """

    def __init__(self, shape, dtype="float32"):
        self.shape = tuple(shape)
        self.dtype = dtype
