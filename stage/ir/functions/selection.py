"""Selection: where (with one argument only when the condition is static: its result's shape
depends on the values), nonzero, argwhere, flatnonzero, select, compress, extract."""
from __future__ import annotations

import numpy as np

from ..graph import Const, StageTypeError, current_scope
from ..rep import Rep
from .base import _common_dtype, as_rep, as_value
from .elementwise import where as _where3

_MISSING = object()


def _static_value(condition, name):
    """The value of a condition known while staging (a NumPy value or a staged constant)."""
    if isinstance(condition, Rep):
        if isinstance(condition.exp, Const):
            return np.asarray(condition.exp.value)
        raise StageTypeError(
            f"{name} of a staged array: the number of positions depends on the data, which "
            f"compiled code cannot have as a shape; use st.where(condition, x, y) to select "
            f"elementwise, or a static condition")
    return np.asarray(condition)


def _out(arrays):
    if current_scope() is None:
        return arrays
    return tuple(as_rep(a) for a in arrays) if isinstance(arrays, tuple) else as_rep(arrays)


def nonzero(a):
    return _out(tuple(i.astype(np.int64) for i in np.nonzero(_static_value(a, "nonzero"))))


def argwhere(a):
    return _out(np.argwhere(_static_value(a, "argwhere")).astype(np.int64))


def flatnonzero(a):
    return _out(np.flatnonzero(_static_value(a, "flatnonzero")).astype(np.int64))


def where(condition, x=_MISSING, y=_MISSING):
    if x is _MISSING and y is _MISSING:
        return _out(tuple(i.astype(np.int64) for i in np.nonzero(
            _static_value(condition, "where(condition) with one argument"))))
    if x is _MISSING or y is _MISSING:
        raise ValueError("either both or neither of x and y should be given")
    return _where3(condition, x, y)


def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    dt = _common_dtype(*choicelist, default)
    out = as_value(default, dt)
    for cond, choice in reversed(list(zip(condlist, choicelist))):   # the first match wins
        c = as_value(cond)
        if (c.dtype if isinstance(c, Rep) else c.dtype.name) != "bool":
            raise TypeError("invalid entry in condlist: should be boolean ndarray")
        out = _where3(c, as_value(choice, dt), out)
    shape = np.broadcast_shapes(*[np.shape(c) for c in condlist],
                                *[np.shape(c) for c in choicelist], np.shape(default))
    if np.shape(out) != shape:
        from .shape import broadcast_to
        out = broadcast_to(out, shape)
    return out


def compress(condition, a, axis=None):
    idx = np.nonzero(np.ravel(_static_value(condition, "compress")))[0]
    from .shape import reshape, take
    a = as_value(a)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return take(a, idx, axis)


def extract(condition, arr):
    return compress(np.ravel(_static_value(condition, "extract")), arr)


__all__ = ["nonzero", "argwhere", "flatnonzero", "where", "select", "compress", "extract"]


