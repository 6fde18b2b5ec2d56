"""`Rep[T]`: the staged value users program with.

A `Rep` wraps an IR expression (`Sym` or `Const`). Its Python operators and methods are one-liners that
call the NumPy-named functions of `stage.ir.functions`, which reflect ops into the current scope.
"""
from __future__ import annotations

from typing import Generic, TypeVar

import numpy as _np

from .graph import Const, Exp, StageError

T = TypeVar("T")


class Rep(Generic[T]):
    """A staged value: what a function sees for an array argument while stage traces it.

    A `Rep` has a static type -- `shape`, `dtype`, `ndim`, `size` are known while staging -- but
    no value: its value exists only when the compiled code runs. Python operators and the NumPy
    method names build the program: ``+ - * / // % ** @``, comparisons (elementwise, giving
    bool), ``& | ~`` (logical), ``-x``, ``abs(x)``, indexing ``x[...]`` as NumPy's (static or
    staged integers, slices, ``None``, ``...``, integer arrays, static boolean masks), ``x.T``,
    ``x.mT``, and ndarray's methods (`sum`, `mean`, `std`, `var`, `prod`, `max`, `min`, `argmax`,
    `argmin`, `argsort`, `cumsum`, `cumprod`, `all`, `any`, `reshape`, `transpose`, `swapaxes`,
    `ravel`, `flatten`, `squeeze`, `repeat`, `take`, `diagonal`, `trace`, `dot`, `round`, `clip`,
    `astype`, `copy`, ...: each the `st.` function of the same name). NumPy arrays on the other
    side of an operator, and NumPy's functions called on it (``np.tanh(x)``, ``np.sum(x, 0)``),
    dispatch to stage.

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
    dtype : numpy.dtype
        float32, float64, int32, int64 or bool (``x.dtype == np.float32`` and
        ``x.dtype == "float32"`` both hold).
    ndim, size, itemsize, nbytes : int
    T, mT : Rep
        The transpose, and the transpose of the last two axes (a view).
    type : TensorType
        Shape and dtype together, printed as `f32[4,8]`.
    """
    __slots__ = ("exp",)

    # NumPy's dispatch protocols: its ufuncs and functions called on a staged value (np.tanh(x),
    # np.sum(x, 0), np_array + x) call the stage function of the same name
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .functions.dispatch import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from .functions.dispatch import array_function
        return array_function(func, types, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise StageError("a staged value has no value while stage traces the function, so NumPy "
                         "cannot convert it to an array (np.asarray, np.array, float(...)); use "
                         "st.asarray / st.array, or NumPy's functions on it (they dispatch to "
                         "stage)")

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
        return _np.dtype(self.exp.type.dtype)

    @property
    def itemsize(self):
        return _np.dtype(self.exp.type.dtype).itemsize

    @property
    def nbytes(self):
        return self.exp.type.size * self.itemsize

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

    def __setitem__(self, key, value):
        raise StageError("staged values are immutable: x[key] = v cannot change x; compute a new "
                         "array (st.where(mask, v, x), st.put_along_axis, x + st.scatter_add(...)) "
                         "or write into an input array with st.assign")

    # -- methods (NumPy names): each the `st.` function of the same name ---------------------------
    def reshape(self, *shape, order="C"):
        return F.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return F.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return F.astype(self, dtype)

    def clip(self, min=None, max=None, out=None, **kwargs):
        return F.clip(self, kwargs.get("a_min", min), kwargs.get("a_max", max))

    def flatten(self, order="C"):
        return F.reshape(self, (-1,))

    def copy(self, order="C"):
        return self

    def conj(self):
        return self

    def sort(self, axis=-1, kind=None, order=None):
        raise StageError("x.sort() sorts in place, and staged values are immutable: use "
                         "st.sort(x) (np.sort(x)), which returns the sorted array")

    def fill(self, value):
        raise StageError("x.fill() writes in place, and staged values are immutable: use "
                         "st.full_like(x, value)")

    def item(self, *args):
        raise StageError("x.item() needs the value, which exists only when the compiled code runs; "
                         "return the staged value from the function instead")

    def tolist(self):
        raise StageError("x.tolist() needs the value, which exists only when the compiled code "
                         "runs; return the staged value from the function instead")

    @property
    def T(self):
        return F.transpose(self)

    @property
    def mT(self):
        if self.ndim < 2:
            raise ValueError("matrix transpose with ndim < 2 is undefined")
        return F.swapaxes(self, -1, -2)

    @property
    def real(self):
        return self


from . import functions as F  # noqa: E402  (functions imports Rep)



def _method(name):
    fn = getattr(F, name)

    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"`x.{name}(...)` is `st.{name}(x, ...)`; its documentation:\n\n{fn.__doc__}"
    return method


for _name in ("sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin", "argsort",
              "cumsum", "cumprod", "all", "any", "squeeze", "swapaxes", "ravel", "repeat", "take",
              "diagonal", "trace", "dot", "round", "nonzero", "tanh", "sigmoid", "relu"):
    setattr(Rep, _name, _method(_name))
for _name, _extra in (("reshape", "The shape may also be given as separate ints; `order` must be "
                                  "'C' (row-major)."),
                      ("transpose", "The axes may also be given as separate ints."),
                      ("astype", "`order`, `casting`, `subok` and `copy` are accepted for "
                                 "NumPy's signature (a staged conversion is always a new value)."),
                      ("clip", "`min`/`max` are NumPy 2's names of the bounds (`a_min`/`a_max` "
                               "also work as keywords); `out` must be None.")):
    getattr(Rep, _name).__doc__ = (f"`x.{_name}(...)` is `st.{_name}(x, ...)`. {_extra} Its "
                                   f"documentation:\n\n{getattr(F, _name).__doc__}")
Rep.flatten.__doc__ = ("`x.flatten()` is `st.reshape(x, (-1,))`: a 1-d view of every element "
                       "(`order` must be 'C').")
Rep.copy.__doc__ = ("`x.copy()`: the same value (staged values are immutable, so a copy is "
                    "never needed); `order` is accepted for NumPy's signature.")
Rep.conj.__doc__ = "`x.conj()`: x itself (stage's dtypes are real)."
Rep.sort.__doc__ = ("NumPy's `x.sort()` sorts in place: refused (staged values are immutable) "
                    "with a StageError pointing to `st.sort(x)`; `axis`, `kind`, `order` as "
                    "NumPy's.")
Rep.fill.__doc__ = ("NumPy's `x.fill(value)` writes in place: refused (staged values are "
                    "immutable); use `st.full_like(x, value)`.")
Rep.item.__doc__ = "Refused: the value exists only when the compiled code runs (a StageError)."
Rep.tolist.__doc__ = "Refused: the value exists only when the compiled code runs (a StageError)."
