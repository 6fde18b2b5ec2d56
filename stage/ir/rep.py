"""`Rep[T]`: the staged value users program with.

A `Rep` wraps an IR expression (`Sym` or `Const`). Its Python operators and methods are one-liners that
call the NumPy-named functions of `stage.ir.functions`, which reflect ops into the current scope.
"""
from __future__ import annotations

from typing import Generic, TypeVar

from .graph import Const, Exp, StageError

T = TypeVar("T")


class Rep(Generic[T]):
    """A staged value: what a function sees for an array argument while stage traces it.

    A `Rep` has a static type -- `shape`, `dtype`, `ndim`, `size` are known while staging -- but
    no value: its value exists only when the compiled code runs. Python operators and the NumPy
    method names build the program: ``+ - * / // % ** @``, comparisons (elementwise, giving
    bool), ``& | ~`` (logical), ``-x``, ``abs(x)``, indexing ``x[i]`` (static or staged integers,
    slices, ``None``, ``...``, one integer-array index), ``x.T``, and the methods `sum`, `mean`,
    `max`, `min`, `argmax`, `reshape`, `transpose`, `astype`, `clip`, `squeeze`, `flatten`,
    `tanh`, `sigmoid`, `relu` (each as the `st.` function of the same name). NumPy arrays on the
    other side of an operator defer to it (``np_array + rep`` is staged).

    Using a `Rep` where Python needs a concrete value -- `if x > 0:`, `int(x)`, `bool(x)` --
    raises `StageError` saying what to use instead (`st.cond`, `st.where`, a staged index).

    Parameters
    ----------
    exp : Exp
        The IR expression (a `Sym` or `Const`) it stands for; users get `Rep`s from stage rather
        than make them (`st.asarray(x)` converts a constant).

    Attributes
    ----------
    shape : tuple of int
    dtype : str
        "float32", "float64", "int32", "int64" or "bool".
    ndim, size : int
    type : TensorType
        Shape and dtype together, printed as `f32[4,8]`.
    """
    __slots__ = ("exp",)
    __array_ufunc__ = None          # NumPy defers to our reflected operators (np_array + rep -> rep)

    def __init__(self, exp: Exp):
        assert isinstance(exp, Exp), exp
        self.exp = exp

    # -- type ---------------------------------------------------------------------------------------
    @property
    def type(self):
        return self.exp.type

    @property
    def shape(self):
        return self.exp.type.shape

    @property
    def dtype(self):
        return self.exp.type.dtype

    @property
    def ndim(self):
        return len(self.exp.type.shape)

    @property
    def size(self):
        return self.exp.type.size

    @property
    def is_const(self):
        return isinstance(self.exp, Const)

    def __repr__(self):
        return f"Rep({self.exp!r}: {self.exp.type})"

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d staged value")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        raise StageError(
            "the truth value of a staged value is only known when the compiled code runs; use "
            "st.cond(pred, true_fn, false_fn, ...) for a staged branch or st.where for a selection")

    def __index__(self):
        raise StageError("a staged value cannot be used as a Python int; pass it as a staged index "
                         "(x[i] works with a staged i) or make it static")

    __hash__ = object.__hash__

    # -- operators ----------------------------------------------------------------------------------
    def __add__(self, o): return F.add(self, o)
    def __radd__(self, o): return F.add(o, self)
    def __sub__(self, o): return F.subtract(self, o)
    def __rsub__(self, o): return F.subtract(o, self)
    def __mul__(self, o): return F.multiply(self, o)
    def __rmul__(self, o): return F.multiply(o, self)
    def __truediv__(self, o): return F.divide(self, o)
    def __rtruediv__(self, o): return F.divide(o, self)
    def __floordiv__(self, o): return F.floor_divide(self, o)
    def __rfloordiv__(self, o): return F.floor_divide(o, self)
    def __mod__(self, o): return F.mod(self, o)
    def __rmod__(self, o): return F.mod(o, self)
    def __pow__(self, o): return F.power(self, o)
    def __rpow__(self, o): return F.power(o, self)
    def __matmul__(self, o): return F.matmul(self, o)
    def __rmatmul__(self, o): return F.matmul(o, self)
    def __neg__(self): return F.negative(self)
    def __pos__(self): return self
    def __abs__(self): return F.abs(self)
    def __lt__(self, o): return F.less(self, o)
    def __le__(self, o): return F.less_equal(self, o)
    def __gt__(self, o): return F.greater(self, o)
    def __ge__(self, o): return F.greater_equal(self, o)
    def __eq__(self, o): return F.equal(self, o)
    def __ne__(self, o): return F.not_equal(self, o)
    def __and__(self, o): return F.logical_and(self, o)
    def __rand__(self, o): return F.logical_and(o, self)
    def __or__(self, o): return F.logical_or(self, o)
    def __ror__(self, o): return F.logical_or(o, self)
    def __invert__(self): return F.logical_not(self)
    def __getitem__(self, key): return F.getitem(self, key)

    # -- methods (NumPy names) ----------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return F.sum(self, axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return F.mean(self, axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return F.max(self, axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return F.min(self, axis, keepdims=keepdims)
    def argmax(self, axis=None): return F.argmax(self, axis)
    def reshape(self, *shape): return F.reshape(self, shape[0] if len(shape) == 1 else shape)
    def transpose(self, *axes): return F.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)
    def astype(self, dtype): return F.astype(self, dtype)
    def clip(self, a_min=None, a_max=None): return F.clip(self, a_min, a_max)
    def squeeze(self, axis=None): return F.squeeze(self, axis)
    def flatten(self): return F.reshape(self, (-1,))
    def tanh(self): return F.tanh(self)
    def sigmoid(self): return F.sigmoid(self)
    def relu(self): return F.relu(self)

    @property
    def T(self): return F.transpose(self)


from . import functions as F  # noqa: E402  (functions imports Rep)

for _name in ("sum", "mean", "max", "min", "argmax", "reshape", "transpose", "astype", "clip",
              "squeeze", "tanh", "sigmoid", "relu"):       # the methods say which function they are
    getattr(Rep, _name).__doc__ = (f"`x.{_name}(...)` is `st.{_name}(x, ...)`" +
                                   (" (the shape may also be given as separate ints)"
                                    if _name in ("reshape", "transpose") else "") +
                                   f"; its documentation:\n\n{getattr(F, _name).__doc__}")
Rep.flatten.__doc__ = "`x.flatten()` is `st.reshape(x, (-1,))`: a 1-d view of every element."
