"""The values converted code hands between branches and iterations, leaf by leaf.

A variable's value is a pytree; each leaf is one of
- staged: a `Rep`, or a NumPy array or scalar (a constant), always carried by the staged form;
- a Python number (bool, int, float): static while it is the same on every path, staged (a weakly
  typed scalar, as `st.cond` and the loops treat Python scalars) where it differs;
- `Undefined`: a variable not bound yet on this path;
- anything else (a module, a string, None inside a tuple, a function): static, and must be the same
  object on every path of a staged branch or loop.
"""
from __future__ import annotations

import numbers
import sys
from typing import Tuple

import numpy as np

from .. import pytree
from ..ir import functions as F
from ..ir.rep import Rep
from ..ir.types import canonical_dtype

RETVAL = "retval__"        # the variable a converted `return` assigns (see jumps)


class Undefined:
    """The value of a variable that is not bound on this path (Python would raise NameError)."""
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"<undefined {self.name}>"

    def _fail(self, *args, **kwargs):
        raise UnboundLocalError(f"local variable {self.name!r} is used before it is assigned "
                                f"(it is assigned on some paths only)")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()

    __bool__ = __call__ = __iter__ = __len__ = __getitem__ = __index__ = __float__ = __int__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __pow__ = __lt__ = __gt__ = _fail
    __le__ = __ge__ = __floordiv__ = __mod__ = __and__ = __or__ = _fail


class Site:
    """Where a converted statement is in the user's source: the file and line of the original."""
    __slots__ = ("file", "line")

    def __init__(self, depth: int = 2):
        f = sys._getframe(depth)
        self.file, self.line = f.f_code.co_filename, f.f_lineno

    def __str__(self):
        return f"{self.file}:{self.line}"


def is_staged(x) -> bool:
    return isinstance(x, (Rep, np.ndarray, np.generic))


def is_number(x) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, (np.generic, np.ndarray)) and \
        isinstance(x, (bool, int, float))


def kind(x) -> str:
    """'staged', 'number', 'undefined' or 'static'."""
    if is_staged(x):
        return "staged"
    if is_number(x):
        return "number"
    if isinstance(x, Undefined):
        return "undefined"
    return "static"


def same_static(a, b) -> bool:
    """Whether two static leaves are the same value (identity, or equality of simple values)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, Undefined):
        return a.name == b.name
    if isinstance(a, (str, bytes, bool, int, float, complex, tuple, frozenset)):
        try:
            return bool(a == b)
        except Exception:
            return False
    return False


def type_of(x) -> Tuple[tuple, str]:
    """(shape, dtype) of a staged leaf."""
    if isinstance(x, Rep):
        return tuple(x.shape), x.type.dtype
    a = np.asarray(x)
    return tuple(a.shape), canonical_dtype(a.dtype)


def describe(x) -> str:
    if is_staged(x):
        shape, dtype = type_of(x)
        return f"a staged {dtype} array of shape {shape}" if shape else f"a staged {dtype} scalar"
    if isinstance(x, Undefined):
        return "not assigned"
    return f"{type(x).__name__} {x!r}" if is_number(x) else f"the {type(x).__name__} {x!r}"


def copy_containers(values):
    """The same leaves in fresh containers, so that tracing one path cannot mutate another's."""
    out = []
    for v in values:
        leaves, td = pytree.flatten(v)
        out.append(pytree.unflatten(td, leaves))
    return tuple(out)


# ------------------------------------------------------------------------------------------ templates

def template(value):
    """A description of a value's structure and types, to make a placeholder of it elsewhere."""
    leaves, td = pytree.flatten(value)
    return td, [("staged",) + type_of(x) if is_staged(x) else ("static", x) for x in leaves]


def placeholder(tmpl):
    """Zeros of a template's types (for a return value not computed on this path: never read)."""
    td, leaves = tmpl
    out = []
    for leaf in leaves:
        if leaf[0] == "staged":
            out.append(F.zeros(leaf[1], leaf[2]))
        else:
            x = leaf[1]
            out.append(type(x)(0) if is_number(x) else x)
    return pytree.unflatten(td, out)
