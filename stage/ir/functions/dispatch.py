"""NumPy's dispatch protocols for staged values: `np.tanh(x @ w)`, `np.sum(h, axis=0)`,
`np.concatenate([a, b])`, `np.linalg.inv(m)` on a `Rep` call the stage function of the same name
(NEP 13 `__array_ufunc__`, NEP 18 `__array_function__`), so NumPy code stages unchanged and
`st.grad` differentiates a NumPy function a user already has. A NumPy function stage does not have
raises a `StageError` naming it."""
from __future__ import annotations

import numpy as np

from ..graph import StageError
from ..types import canonical_dtype

_UFUNC_METHODS = {"reduce": {"add": "sum", "multiply": "prod", "maximum": "max",
                             "minimum": "min", "logical_and": "all", "logical_or": "any",
                             "fmax": "max", "fmin": "min"},
                  "accumulate": {"add": "cumsum", "multiply": "cumprod"}}
# ufuncs whose stage function has another name
_UFUNC_NAMES = {"conjugate": "_identity", "float_power": "_float_power", "invert": "_invert",
                "bitwise_not": "_invert"}


def _F():
    from .. import functions
    return functions


def _unsupported(what):
    return StageError(f"{what} is not supported on staged values: stage has no such function "
                      f"(the NumPy functions stage supports are the st.<name> functions of the "
                      f"API reference)")


def _empty(out):
    """No output array given (NumPy passes `out` to ufuncs as a tuple)."""
    return out is None or (isinstance(out, tuple) and all(o is None for o in out))


def _no_out(what, kwargs):
    out = kwargs.pop("out", None)
    if not _empty(out):
        raise StageError(f"{what}: out= is not supported on staged values (they are immutable)")
    where = kwargs.pop("where", True)
    if where is not True:
        raise StageError(f"{what}: where= is not supported on staged values; use "
                         f"st.where(mask, {what}(...), fallback)")
    for k in ("casting", "order", "subok", "signature"):
        kwargs.pop(k, None)


def array_ufunc(ufunc, method, inputs, kwargs):
    F = _F()
    name = ufunc.__name__
    what = f"numpy.{name}" + ("" if method == "__call__" else f".{method}")
    kwargs = dict(kwargs)
    if method == "__call__":
        _no_out(what, kwargs)
        fn = getattr(F, _UFUNC_NAMES.get(name, name), None) or _LOCAL.get(_UFUNC_NAMES.get(name))
        if fn is None or not callable(fn):
            raise _unsupported(what)
        dtype = kwargs.pop("dtype", None)
        if dtype is not None:
            inputs = [F.astype(F.as_value(x), canonical_dtype(dtype)) for x in inputs]
        if kwargs:
            raise StageError(f"{what}: unsupported keyword arguments {sorted(kwargs)}")
        return fn(*inputs)
    if method in _UFUNC_METHODS and name in _UFUNC_METHODS[method]:
        fn = getattr(F, _UFUNC_METHODS[method][name])
        out = kwargs.pop("out", None)
        if not _empty(out):
            raise StageError(f"{what}: out= is not supported on staged values")
        axis = kwargs.pop("axis", 0)
        (x,) = inputs
        if method == "reduce":
            return fn(x, axis, **{k: v for k, v in kwargs.items()
                                  if k in ("keepdims", "initial", "where", "dtype")})
        return fn(x, axis, dtype=kwargs.pop("dtype", None))
    if method == "outer":
        _no_out(what, kwargs)
        a, b = (F.as_value(x) for x in inputs)
        a = F.reshape(a, np.shape(a) + (1,) * np.ndim(b))
        return array_ufunc(ufunc, "__call__", (a, b), kwargs)
    raise _unsupported(what)


def _identity(x):
    return _F().as_value(x)


def _float_power(x, y):
    F = _F()
    return F.power(F.as_value(x, "float64"), F.as_value(y, "float64"))


def _invert(x):
    F = _F()
    x = F.as_value(x)
    if np.dtype(x.dtype) != np.bool_:
        raise StageError("numpy.invert (~) of integers (bitwise not) is not supported on staged "
                         "values; stage supports it for bools (logical not)")
    return F.logical_not(x)


_LOCAL = {"_identity": _identity, "_float_power": _float_power, "_invert": _invert}


# -- __array_function__ -------------------------------------------------------------------------------

def _shape(a):
    return tuple(np.shape(a)) if not hasattr(a, "exp") else tuple(a.shape)


def _ndim(a):
    return len(_shape(a))


def _size(a, axis=None):
    s = _shape(a)
    return int(np.prod(s)) if axis is None else s[axis]


def _result_type(*args):
    return np.result_type(*[a.dtype if hasattr(a, "exp") else a for a in args])


def _like(fill):
    def like(a, dtype=None, order="K", subok=True, shape=None, **kw):
        F = _F()
        s = _shape(a) if shape is None else shape
        dt = dtype if dtype is not None else a.dtype
        if fill is None:
            return F.full(s, kw["fill_value"], dt)
        return F.full(s, fill, dt)
    return like


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    return _like(None)(a, dtype, order, subok, shape, fill_value=fill_value)


def _concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    F = _F()
    _no_out("numpy.concatenate", {"out": out})
    if axis is None:
        arrays, axis = [F.reshape(F.as_value(a), (-1,)) for a in arrays], 0
    r = F.concatenate(list(arrays), axis)
    return r if dtype is None else F.astype(r, dtype)


def _stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    F = _F()
    _no_out("numpy.stack", {"out": out})
    r = F.stack(list(arrays), axis)
    return r if dtype is None else F.astype(r, dtype)


def _expand_dims(a, axis):
    F = _F()
    a = F.as_value(a)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    nd = np.ndim(a) + len(axes)
    axes = sorted(int(x) % nd for x in axes)
    shape = list(np.shape(a))
    for x in axes:
        shape.insert(x, 1)
    return F.reshape(a, tuple(shape))


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    return _F().reshape(a, newshape if shape is None else shape)


def _clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue,
          max=np._NoValue, **kwargs):
    _no_out("numpy.clip", {"out": out})
    lo = min if a_min is np._NoValue else a_min
    hi = max if a_max is np._NoValue else a_max
    return _F().clip(a, None if lo is np._NoValue else lo, None if hi is np._NoValue else hi)


_ADAPTERS = {
    "shape": _shape, "ndim": _ndim, "size": _size, "result_type": _result_type,
    "zeros_like": _like(0), "ones_like": _like(1), "empty_like": _like(0),
    "full_like": _full_like, "concatenate": _concatenate, "concat": _concatenate,
    "stack": _stack, "expand_dims": _expand_dims, "reshape": _reshape, "clip": _clip,
    "permute_dims": lambda a, axes=None: _F().transpose(a, axes),
    "iscomplexobj": lambda x: False, "isrealobj": lambda x: True,
}
_LINALG = {"inv": "inv", "solve": "solve", "det": "det", "slogdet": "slogdet",
           "cholesky": "cholesky", "norm": "norm", "matmul": "matmul", "outer": "outer",
           "tensordot": "tensordot", "vdot": "vdot"}
# NumPy 2's numpy.linalg.trace/diagonal work on the last two axes
_LINALG_ADAPTERS = {
    "trace": lambda x, *, offset=0, dtype=None: _F().trace(x, offset, -2, -1, dtype),
    "diagonal": lambda x, *, offset=0: _F().diagonal(x, offset, -2, -1),
    "cross": lambda x1, x2, *, axis=-1: _F().cross(x1, x2, axis=axis),
    "matrix_transpose": lambda x: _F().swapaxes(x, -1, -2),
}
_SAME = None


def _table():
    """NumPy's functions that have a stage function of the same name and signature."""
    global _SAME
    if _SAME is None:
        F = _F()
        _SAME = {n: getattr(F, n) for n in dir(F)
                 if not n.startswith("_") and n not in _ADAPTERS and callable(getattr(F, n)) and
                 getattr(getattr(F, n), "__module__", "").startswith("stage.ir.functions.")}
    return _SAME


def array_function(func, types, args, kwargs):
    from ..rep import Rep
    if not all(issubclass(t, (Rep, np.ndarray, np.generic)) for t in types):
        return NotImplemented
    module = getattr(func, "__module__", "") or ""
    name = func.__name__
    if module.startswith("numpy.linalg"):
        fn = _LINALG_ADAPTERS.get(name) or (getattr(_F(), _LINALG[name]) if name in _LINALG
                                            else None)
        if fn is None:
            raise _unsupported(f"numpy.linalg.{name}")
        return fn(*args, **kwargs)
    if module not in ("numpy", "numpy.lib") and not module.startswith(("numpy._core",
                                                                      "numpy.core",
                                                                      "numpy.lib.")):
        raise _unsupported(f"{module}.{name}")
    fn = _ADAPTERS.get(name) or _table().get(name)
    if fn is None:
        raise _unsupported(f"numpy.{name}")
    return fn(*args, **kwargs)
