"""Docstrings (and type hints) of the NumPy-named functions in `functions.py`, kept in one table.

As NumPy keeps its ufuncs' documentation apart from their definitions (`ufunc_docstrings.py`), the
documentation of `st.exp`, `st.sum`, ... lives here: thirty elementwise functions share one shape of
docstring, generated from a line each, and `functions.py` stays a file of short definitions.
`document(namespace)` runs once when `functions.py` is imported; `help(st.exp)` and the API
reference read the result. A test fails for a public function of `functions.py` missing here.
"""
from __future__ import annotations

from typing import Dict

__all__ = ["document", "DOCS"]

_STAGED = """
Outside staging, on NumPy arrays, it computes eagerly and returns a NumPy array."""

_BROADCAST = """Broadcast together by NumPy's rules. Python scalars are weakly typed: they
    take the other operand's dtype (`x * 2` keeps float32)."""


def _unary(summary: str, like: str, returns: str, notes: str = "") -> str:
    like = like if "." in like else f"numpy.{like}"
    return f"""{summary}, elementwise, as `{like}`.

Parameters
----------
x : Rep or array_like
    A staged value, NumPy array or scalar.

Returns
-------
Rep
    x's shape; {returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}{_STAGED}
"""


def _binary(summary: str, like: str, returns: str, notes: str = "") -> str:
    like = like if "." in like else f"numpy.{like}"
    return f"""{summary}, elementwise, as `{like}`.

Parameters
----------
x, y : Rep or array_like
    {_BROADCAST}

Returns
-------
Rep
    The broadcast shape; {returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}{_STAGED}
"""


_PROMOTED = "the promoted dtype of x and y."
_FLOAT = "floating point (integers and bools compute in float32)."
_SAME = "x's dtype."
_BOOL = "bool."

DOCS: Dict[str, str] = {
    "add": _binary("x + y", "add", _PROMOTED),
    "subtract": _binary("x - y", "subtract", _PROMOTED),
    "multiply": _binary("x * y", "multiply", _PROMOTED),
    "divide": _binary("True division x / y", "divide", _FLOAT),
    "floor_divide": _binary("Floor division x // y", "floor_divide", _PROMOTED + " No gradient.",
                            "As NumPy: floats round toward minus infinity (`1.0 // 0.1` is 9.0);\n"
                            "integer division by zero gives 0 (NumPy warns and gives 0 too)."),
    "mod": _binary("The remainder x % y with the sign of y", "mod", _PROMOTED,
                   "Integer `x % 0` is 0, as in NumPy."),
    "maximum": _binary("The larger of x and y", "maximum", _PROMOTED,
                       "NaN propagates. The gradient goes to the larger; ties share it equally."),
    "minimum": _binary("The smaller of x and y", "minimum", _PROMOTED,
                       "NaN propagates. The gradient goes to the smaller; ties share it equally."),
    "power": _binary("x ** y", "power", _FLOAT,
                     "A static exponent of 1, 2 or 0.5 is x, `square(x)` or `sqrt(x)`."),
    "less": _binary("x < y", "less", _BOOL),
    "less_equal": _binary("x <= y", "less_equal", _BOOL),
    "greater": _binary("x > y", "greater", _BOOL),
    "greater_equal": _binary("x >= y", "greater_equal", _BOOL),
    "equal": _binary("x == y", "equal", _BOOL),
    "not_equal": _binary("x != y", "not_equal", _BOOL),
    "logical_and": _binary("x and y (nonzero is true)", "logical_and", _BOOL),
    "logical_or": _binary("x or y (nonzero is true)", "logical_or", _BOOL),
    "logical_not": _unary("not x (nonzero is true)", "logical_not", _BOOL),
    "negative": _unary("-x", "negative", _SAME),
    "exp": _unary("e ** x", "exp", _FLOAT),
    "log": _unary("The natural logarithm", "log", _FLOAT),
    "sqrt": _unary("The square root", "sqrt", _FLOAT),
    "square": _unary("x * x", "square", _SAME),
    "tanh": _unary("The hyperbolic tangent", "tanh", _FLOAT),
    "sigmoid": _unary("The logistic function 1 / (1 + exp(-x))", "scipy.special.expit", _FLOAT),
    "relu": _unary("max(x, 0)", "torch.relu", _SAME, "The gradient at 0 is 0, as PyTorch's."),
    "abs": _unary("|x|", "abs", _SAME),
    "sign": _unary("-1, 0 or 1 by the sign of x", "sign", _SAME + " No gradient flows through it."),
    "log1p": _unary("log(1 + x), accurate for small x", "log1p", _FLOAT),
    "expm1": _unary("exp(x) - 1, accurate for small x", "expm1", _FLOAT),
    "tan": _unary("The tangent", "tan", _FLOAT),
    "sin": _unary("The sine", "sin", _FLOAT),
    "cos": _unary("The cosine", "cos", _FLOAT),
    "floor": _unary("The largest integer <= x", "floor", _FLOAT + " No gradient flows through it."),
}

DOCS["as_rep"] = """A staged value for `x`: Python scalars and NumPy arrays become constants.

Parameters
----------
x : Rep, array_like or scalar
    A staged value is returned as it is (converted when `dtype` differs).
dtype : str or numpy.dtype, optional
    The dtype to convert to. Python ints default to int64, floats to float32.

Returns
-------
Rep
    The staged value (also available as `st.asarray`).

Raises
------
TypeError
    An unsupported dtype (stage has float32, float64, int32, int64 and bool).
"""

DOCS["where"] = """`x` where `condition` is true, else `y`, elementwise, as `numpy.where`.

Parameters
----------
condition : Rep or array_like
    Converted to bool (nonzero is true).
x, y : Rep or array_like
    The values; promoted to a common dtype. All three broadcast together.

Returns
-------
Rep
    The broadcast shape and the promoted dtype. The gradient flows to the selected operand.

Examples
--------
>>> import numpy as np, stage as st
>>> st.where(np.array([True, False]), np.float32(1), np.float32(-1))
array([ 1., -1.], dtype=float32)
"""

DOCS["clip"] = """`x` limited to [a_min, a_max], as `numpy.clip`.

Parameters
----------
x : Rep or array_like
    The values.
a_min, a_max : scalar, Rep or None
    The bounds (None: unbounded on that side). Static bounds are folded into the code; staged
    ones are allowed too.

Returns
-------
Rep
    x's shape. The gradient is 1 inside the bounds, 0 outside.
"""

DOCS["astype"] = """`x` converted to `dtype`, as `numpy.ndarray.astype`.

Parameters
----------
x : Rep or array_like
    The values.
dtype : str or numpy.dtype
    float32, float64, int32, int64 or bool. Float to int truncates toward zero.

Returns
-------
Rep
    x's shape in the new dtype (x itself when it already has it). The gradient converts back
    (and is zero through integer dtypes).

Raises
------
TypeError
    An unsupported dtype.
"""

DOCS["stop_gradient"] = """`x`, with no gradient flowing back through it (as `jax.lax.stop_gradient`,
PyTorch's `x.detach()`).

Parameters
----------
x : Rep or array_like
    The value.

Returns
-------
Rep
    The same value, treated as a constant by `st.grad`.
"""

DOCS["iota"] = """An array whose value at each position is its index along `axis`.

Parameters
----------
shape : tuple of int
    The result's shape.
axis : int
    The axis whose index is the value.
dtype : str, default "int64"
    The result's dtype.

Returns
-------
Rep
    Computed in the loop that reads it: no memory is allocated.

Examples
--------
>>> import stage as st
>>> st.iota((2, 3), 1)
array([[0, 1, 2],
       [0, 1, 2]])
"""

DOCS["full"] = """An array of `shape` filled with `fill_value`, as `numpy.full`.

Parameters
----------
shape : int or tuple of int
    The shape.
fill_value : scalar or Rep
    The value; a staged scalar is broadcast.
dtype : str, optional
    Default: the fill value's dtype (Python ints int64, floats float32).

Returns
-------
Rep or numpy.ndarray
    A staged broadcast of the value (no memory until used), or a NumPy array outside staging.
"""

_LIKE = """An array of {what}, as `numpy.{numpy}`.

Parameters
----------
{first}
dtype : str, {default}

Returns
-------
Rep or numpy.ndarray
    Staged while staging (a broadcast constant: no memory until used), else a NumPy array.
"""
DOCS["zeros"] = _LIKE.format(what="zeros of `shape`", numpy="zeros",
                             first="shape : int or tuple of int\n    The shape.",
                             default='default "float32"\n    The dtype.')
DOCS["ones"] = _LIKE.format(what="ones of `shape`", numpy="ones",
                            first="shape : int or tuple of int\n    The shape.",
                            default='default "float32"\n    The dtype.')
DOCS["zeros_like"] = _LIKE.format(what="zeros shaped like `x`", numpy="zeros_like",
                                  first="x : Rep or array_like\n    Gives the shape (and dtype).",
                                  default="optional\n    Default: x's dtype.")
DOCS["ones_like"] = _LIKE.format(what="ones shaped like `x`", numpy="ones_like",
                                 first="x : Rep or array_like\n    Gives the shape (and dtype).",
                                 default="optional\n    Default: x's dtype.")
DOCS["full_like"] = _LIKE.format(
    what="`v` shaped like `x`", numpy="full_like",
    first="x : Rep or array_like\n    Gives the shape (and dtype).\nv : scalar or Rep\n    The fill value.",
    default="optional\n    Default: x's dtype.")

DOCS["one_hot"] = """One-hot vectors of integer class indices (`torch.nn.functional.one_hot`).

Parameters
----------
indices : Rep or array_like
    Integers in [0, num_classes), any shape.
num_classes : int
    The length of each vector.
dtype : str, default "float32"
    The result's dtype.

Returns
-------
Rep
    Shape ``indices.shape + (num_classes,)``.
"""

DOCS["reshape"] = """`x` with a new shape (same elements, row-major order), as `numpy.reshape`.

Parameters
----------
x : Rep or array_like
    The values.
shape : int or tuple of int
    The new shape; one entry may be -1 (inferred).

Returns
-------
Rep
    A view where possible (no copy in the generated code).

Raises
------
StageTypeError
    The sizes differ.
"""

DOCS["transpose"] = """`x` with its axes permuted, as `numpy.transpose`.

Parameters
----------
x : Rep or array_like
    The values.
axes : tuple of int, optional
    The permutation; default: reversed (`x.T`).

Returns
-------
Rep
    Shape ``[x.shape[a] for a in axes]``.
"""

DOCS["swapaxes"] = """`x` with axes `a` and `b` exchanged, as `numpy.swapaxes`.

Parameters
----------
x : Rep or array_like
    The values.
a, b : int
    The axes (negative counts from the end).

Returns
-------
Rep
    The transposed value.
"""

DOCS["broadcast_to"] = """`x` broadcast to `shape`, as `numpy.broadcast_to` (no memory: read in place).

Parameters
----------
x : Rep or array_like
    The values.
shape : int or tuple of int
    A shape x broadcasts to by NumPy's rules.

Returns
-------
Rep
    Shape `shape`. The gradient sums over the broadcast axes.

Raises
------
StageTypeError
    x does not broadcast to `shape`.
"""

DOCS["expand_dims"] = """`x` with a new axis of size 1 at `axis`, as `numpy.expand_dims`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int
    Where the new axis goes in the result (negative counts from the end).

Returns
-------
Rep
    One more dimension than x.
"""

DOCS["squeeze"] = """`x` without axes of size 1, as `numpy.squeeze`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int or tuple of int, optional
    The axes to remove (each must have size 1); default: all axes of size 1.

Returns
-------
Rep
    The reshaped value.

Raises
------
StageTypeError
    A given axis does not have size 1.
"""

DOCS["concatenate"] = """Arrays joined along an existing axis, as `numpy.concatenate`.

Parameters
----------
arrays : sequence of Rep or array_like
    At least one; the same shape except along `axis`. Promoted to a common dtype.
axis : int, default 0
    The axis to join along.

Returns
-------
Rep
    The joined array.
"""

DOCS["stack"] = """Arrays of one shape joined along a new axis, as `numpy.stack`.

Parameters
----------
arrays : sequence of Rep or array_like
    At least one, all of the same shape.
axis : int, default 0
    Where the new axis goes.

Returns
-------
Rep
    One more dimension than the inputs.
"""

DOCS["take"] = """Slices of `a` at integer `indices` along `axis`, as `numpy.take`.

Parameters
----------
a : Rep or array_like
    The table (e.g. an embedding matrix).
indices : Rep or array_like
    Integers of any shape, staged or static. Negative indices count from the end.
axis : int, default 0
    The axis to index.

Returns
-------
Rep
    Shape ``a.shape[:axis] + indices.shape + a.shape[axis + 1:]``. The gradient is a
    `scatter_add` into zeros.

Raises
------
IndexError
    At run time, an index out of range (the message names the op and your line).
"""

DOCS["scatter_add"] = """`x` with `values` added at integer `indices` along `axis` (NumPy's
`np.add.at`); repeated indices accumulate.

Parameters
----------
x : Rep or array_like
    The array added into (not modified: the result is a new value).
indices : Rep or array_like
    Integers of any shape.
values : Rep or array_like
    Shape ``x.shape[:axis] + indices.shape + x.shape[axis + 1:]`` (what `take` would return).
axis : int, default 0
    The axis indexed.

Returns
-------
Rep
    x's shape and dtype.

Raises
------
StageTypeError
    `values` has the wrong shape or dtype.
IndexError
    At run time, an index out of range.
"""

DOCS["getitem"] = """`x[key]`: NumPy's basic indexing, plus staged integer indices.

Parameters
----------
x : Rep or array_like
    The array.
key : index
    Static ints, slices (static bounds), `None`, `...`; staged integer scalars (`x[i]` with a
    runtime i: one compiled library serves every i); or one integer-array index with full
    slices elsewhere (`x[idx]`, `x[:, idx]`, as `take`).

Returns
-------
Rep
    A view where possible.

Raises
------
IndexError
    A static index out of range (while staging), an unsupported key, or at run time a staged
    index out of range.
"""

_REDUCE = """The {what} of `x` over `axis`, as `numpy.{numpy}`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int or tuple of int, optional
    The axes to reduce; default: all.
keepdims : bool, default False
    Keep the reduced axes with size 1.

Returns
-------
Rep
    {returns}
"""
DOCS["sum"] = _REDUCE.format(what="sum", numpy="sum",
                             returns="Floats keep their dtype; integers and bools sum in int64.")
DOCS["max"] = _REDUCE.format(what="maximum", numpy="max",
                             returns="x's dtype. Ties share the gradient equally (as JAX and "
                             "PyTorch's amax).")
DOCS["min"] = _REDUCE.format(what="minimum", numpy="min", returns="x's dtype.")
DOCS["mean"] = _REDUCE.format(what="mean", numpy="mean",
                              returns="Floating point (integers average in float32).")
DOCS["var"] = """The variance of `x` over `axis`, as `numpy.var`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int or tuple of int, optional
    The axes to reduce; default: all.
keepdims : bool, default False
    Keep the reduced axes with size 1.
ddof : int, default 0
    Delta degrees of freedom: divides by ``n - ddof`` (1 for the unbiased estimate).

Returns
-------
Rep
    Floating point.
"""

DOCS["argmax"] = """Indices of the maxima along `axis`, as `numpy.argmax` (first on ties).

Parameters
----------
x : Rep or array_like
    The values.
axis : int, optional
    The axis; default: the flattened array.

Returns
-------
Rep
    int64, x's shape without `axis` (a scalar without an axis). Not differentiable.
"""

DOCS["logsumexp"] = """log(sum(exp(x))) over `axis`, computed stably (the maximum subtracted
first), as `scipy.special.logsumexp`.

Parameters
----------
x : Rep or array_like
    The values.
axis : int or tuple of int, optional
    The axes to reduce; default: all.
keepdims : bool, default False
    Keep the reduced axes with size 1.

Returns
-------
Rep
    Floating point. The gradient is `softmax(x)`.
"""

DOCS["matmul"] = """The matrix product `a @ b`, as `numpy.matmul` (also `st.dot`).

Parameters
----------
a, b : Rep or array_like
    At least 1-d; 1-d operands are vectors, leading (batch) dimensions broadcast. Integers are
    promoted to float32; both take a common floating dtype.

Returns
-------
Rep
    NumPy's matmul shape. Computed with BLAS (gemm/gemv) in native code.

Raises
------
StageTypeError
    The inner dimensions differ or the batch dimensions do not broadcast.
"""

DOCS["outer"] = """The outer product of two vectors, as `numpy.outer`.

Parameters
----------
a, b : Rep or array_like
    1-d; a common floating dtype.

Returns
-------
Rep
    Shape ``(len(a), len(b))``.
"""

DOCS["softmax"] = """exp(x) / sum(exp(x)) along `axis`, computed stably, as
`torch.softmax` / `scipy.special.softmax`.

Parameters
----------
x : Rep or array_like
    The logits.
axis : int, default -1
    The axis normalised.

Returns
-------
Rep
    x's shape, floating point.
"""

DOCS["log_softmax"] = """log(softmax(x)) along `axis`, computed stably, as `torch.log_softmax`.

Parameters
----------
x : Rep or array_like
    The logits.
axis : int, default -1
    The axis normalised.

Returns
-------
Rep
    x's shape, floating point.
"""

DOCS["nll_loss"] = """Negative log-likelihood of integer class targets, as
`torch.nn.functional.nll_loss`.

Parameters
----------
log_probs : Rep or array_like
    (N, C) log-probabilities (e.g. from `log_softmax`).
target : Rep or array_like
    (N,) integer classes in [0, C).
reduction : {"mean", "sum", "none"}, default "mean"
    "mean" averages over the targets that are not ignored; "none" returns the (N,) losses.
ignore_index : int, default -100
    Targets with this value contribute nothing (and do not count in the mean).

Returns
-------
Rep
    A scalar, or (N,) with reduction="none".

Raises
------
IndexError
    At run time, a target outside [0, C) that is not `ignore_index`.
"""

DOCS["cross_entropy"] = """Softmax cross-entropy of logits and targets, as
`torch.nn.functional.cross_entropy`.

Parameters
----------
logits : Rep or array_like
    (N, C) unnormalised scores.
target : Rep or array_like
    (N,) integer classes in [0, C), or class probabilities of the logits' shape (floating).
reduction : {"mean", "sum", "none"}, default "mean"
    As in `nll_loss`.
ignore_index : int, default -100
    For integer targets: targets with this value contribute nothing.

Returns
-------
Rep
    A scalar, or (N,) with reduction="none". One fused op for integer targets (its gradient is
    ``softmax(logits) - one_hot(target)``).

Raises
------
StageTypeError
    Probability targets whose shape differs from the logits'.
IndexError
    At run time, an integer target outside [0, C) that is not `ignore_index`.

Examples
--------
>>> import numpy as np, stage as st
>>> float(st.cross_entropy(np.zeros((2, 4), np.float32), np.array([1, 3])))  # log(4)
1.3862943649291992
"""

DOCS["mse_loss"] = """Mean squared error, as `torch.nn.functional.mse_loss`.

Parameters
----------
input, target : Rep or array_like
    Broadcast together.
reduction : {"mean", "sum", "none"}, default "mean"
    How the squared differences are reduced.

Returns
-------
Rep
    A scalar, or the squared differences with reduction="none".
"""

DOCS["assign"] = """Write `value` into the input array `x` of the compiled function, in place.

This is how a training step updates parameters and optimizer state with no copies: after the
compiled call returns, the NumPy array passed as `x` holds `value`. The write happens at `x`'s
last use, so reads of `x` elsewhere in the program see the old value.

Parameters
----------
x : Rep
    A runtime input of the compiled function (an array the caller passed in). It must be a
    writable, C-contiguous array: stage refuses anything else before native code runs, rather
    than update a copy.
value : Rep or array_like
    x's shape; converted to x's dtype.

Raises
------
StageError
    `x` is not an input of the compiled function.

Examples
--------
>>> import numpy as np, stage as st
>>> def sgd(w, x, lr):
...     st.assign(w, w - lr * st.grad(lambda w: st.sum((x @ w) ** 2))(w))
>>> w = np.ones(2, np.float32)
>>> st.compile(sgd, backend="interp")(w, np.ones((1, 2), np.float32), np.float32(0.1))
>>> w
array([0.6, 0.6], dtype=float32)
"""

DOCS["pad"] = """NumPy's constant-mode `np.pad`.

Parameters
----------
array : Rep or array_like
    The values.
pad_width : int, (before, after) or sequence of (before, after)
    Elements added before and after each dimension (one pair for all, or one pair per
    dimension); non-negative.
constant_values : scalar, default 0
    The padding value.

Returns
-------
Rep
    The padded array. Its gradient is a slice of the incoming gradient (a free view).

Raises
------
StageTypeError
    A negative width.

See Also
--------
stage.nn.functional.pad : PyTorch's form (pairs from the last dimension).
"""

_HINTS = {"x": "ArrayLike", "y": "ArrayLike", "a": "ArrayLike", "b": "ArrayLike",
          "array": "ArrayLike", "input": "ArrayLike", "target": "ArrayLike",
          "logits": "ArrayLike", "log_probs": "ArrayLike", "indices": "ArrayLike",
          "values": "ArrayLike", "condition": "ArrayLike", "value": "ArrayLike",
          "fill_value": "ArrayLike", "v": "ArrayLike", "shape": "Shape", "axis": "Axis",
          "dtype": "DTypeLike", "keepdims": "bool", "axes": "Optional[Sequence[int]]",
          "arrays": "Sequence[ArrayLike]", "num_classes": "int", "reduction": "str",
          "ignore_index": "int", "ddof": "int", "a_min": "Optional[ArrayLike]",
          "a_max": "Optional[ArrayLike]", "pad_width": "PadWidth", "constant_values": "float",
          "key": "Any"}


def document(namespace: Dict[str, object]) -> None:
    """Set the docstring and, where the definition has none, the type hints of every function of
    `namespace` named in DOCS (their `ArrayLike`, `Shape`, ... are `stage.ir.hints`' aliases,
    made visible in the namespace so the annotations resolve)."""
    import typing
    from . import hints
    for alias in hints.__all__:
        namespace.setdefault(alias, getattr(hints, alias))
    for alias in ("Any", "Optional", "Sequence"):
        namespace.setdefault(alias, getattr(typing, alias))
    for name, doc in DOCS.items():
        fn = namespace.get(name)
        if not callable(fn):
            continue
        fn.__doc__ = doc
        code = getattr(fn, "__code__", None)
        if code is None or getattr(fn, "__annotations__", None):
            continue
        args = code.co_varnames[:code.co_argcount]
        fn.__annotations__ = {a: _HINTS[a] for a in args if a in _HINTS}
        fn.__annotations__["return"] = "Rep" if name != "assign" else "None"
