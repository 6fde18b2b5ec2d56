"""Docstrings of the creation, shape, indexing and in-place functions (see `docs.py`)."""
from __future__ import annotations

from typing import Dict


DOCS: Dict[str, str] = {}

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

DOCS["swapaxes"] = """`a` with axes `axis1` and `axis2` exchanged, as `numpy.swapaxes`.

Parameters
----------
a : Rep or array_like
    The values.
axis1, axis2 : int
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
axis : int, optional
    The axis to index; default (as NumPy): the flattened array. An embedding lookup is
    ``st.take(table, ids, axis=0)``.
out : None
    Only None (staged values are immutable).
mode : {"raise"}
    Only "raise": an index out of range raises IndexError.

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

DOCS["getitem"] = """`x[key]`: NumPy's basic and advanced indexing, plus staged indices.

Parameters
----------
x : Rep or array_like
    The array.
key : index
    Basic indices -- static ints, slices (static bounds), `None`, `...`, staged integer scalars
    (`x[i]` with a runtime i: one compiled library serves every i) -- give views. Advanced
    indices -- integer arrays (static or staged) and static boolean masks (their positions) --
    gather, with NumPy's rules: the index arrays broadcast together, integers among them count as
    advanced, and the indexed dimensions replace the advanced ones in place when those are
    adjacent (`x[:, [0, 1], [2, 3]]`), else come first (`x[3, 2:, [1, 3]]`).

Returns
-------
Rep
    A view for basic indexing, a gather (its gradient a scatter-add) for advanced indexing.

Raises
------
IndexError
    A static index out of range (while staging), a staged boolean mask (its result's shape would
    depend on the data: use `st.where(mask, x, 0)` or a reduction's `where=`), or at run time a
    staged index out of range.
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

DOCS["pad"] = """`array` padded, as `numpy.pad`.

Parameters
----------
array : Rep or array_like
    The values.
pad_width : int, (before, after) or sequence of (before, after)
    Elements added before and after each dimension (one pair for all, or one pair per
    dimension); non-negative.
mode : {"constant", "edge", "reflect", "symmetric", "wrap", "empty"}, default "constant"
    NumPy's modes: a constant; the edge value repeated; a mirror without / with the edge
    value; the other end of the axis; "empty" pads with zeros (NumPy leaves them undefined).
    The statistic modes ("mean", "maximum", ...) and callables are refused.
**kwargs
    `constant_values` (scalar, default 0) for "constant"; `reflect_type` ("even" only).

Returns
-------
Rep
    The padded array. Constant padding's gradient is a slice of the incoming gradient (a free
    view); the other modes gather each axis from NumPy's own index pattern, so their gradient
    adds every copy back to the element it came from.

Raises
------
StageTypeError
    An unsupported mode or a non-scalar constant.
ValueError
    A negative width, or a non-constant mode on an empty axis (as NumPy).

See Also
--------
stage.nn.functional.pad : PyTorch's form (pairs from the last dimension).
"""

