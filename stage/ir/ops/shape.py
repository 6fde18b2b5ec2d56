"""Shape ops. reshape/transpose/broadcast_to/getitem are views (their output aliases the input's
elements: a backend can give them a strided layout over the input's buffer, no copy);
concatenate/setitem_add/take/scatter_add compute new arrays."""
import numpy as np

from ..types import TensorType, broadcast_shapes
from . import OpDef, shape_error
from .. import functions as F


def _same_dtype(name, ts):
    if len(set(t.dtype for t in ts)) > 1:
        raise shape_error(name, "arguments must have the same dtype", *ts)


# -- views --------------------------------------------------------------------------------------------
def _reshape_infer(ts, shape):
    (x,) = ts
    if int(np.prod(shape, dtype=np.int64)) != x.size:
        raise shape_error("reshape", f"cannot reshape {x} into shape {tuple(shape)}", x)
    return TensorType(x.dtype, tuple(shape))


OpDef("reshape", _reshape_infer, lambda x, shape: np.reshape(x, shape), "view",
      lambda g, out, x, shape: (F.reshape(g, x.shape),), nargs=1,
      domain={"params": {"shape": (-1,)}})


def _transpose_infer(ts, axes):
    (x,) = ts
    if sorted(axes) != list(range(x.ndim)):
        raise shape_error("transpose", f"axes {axes} are not a permutation of the dims", x)
    return TensorType(x.dtype, tuple(x.shape[a] for a in axes))


OpDef("transpose", _transpose_infer, lambda x, axes: np.transpose(x, axes), "view",
      lambda g, out, x, axes: (F.transpose(g, tuple(np.argsort(axes))),), nargs=1,
      domain={"params": {"axes": "reverse"}})


def _broadcast_infer(ts, shape):
    (x,) = ts
    out = TensorType(x.dtype, tuple(shape))      # a size that overflows is refused here
    try:
        if broadcast_shapes(x.shape, shape) != tuple(shape):
            raise ValueError
    except ValueError:
        raise shape_error("broadcast_to", f"cannot broadcast to {tuple(shape)}", x) from None
    return out


# the gradient is g itself: the CPS step sums it back to x's shape (un-broadcasting is done there)
OpDef("broadcast_to", _broadcast_infer, lambda x, shape: np.broadcast_to(x, shape), "view",
      lambda g, out, x, shape: (g,), nargs=1, domain={"params": {"shape": "lead2"}})


# getitem's `spec` has one entry per dimension of x (plus new axes): ("int", k) a static index,
# ("dyn", j) the j-th staged index argument, ("slice", start, stop, step), ("new",).
def _spec_shape(shape, spec):
    out, d = [], 0
    for s in spec:
        if s[0] == "new":
            out.append(1)
            continue
        if s[0] == "slice":
            out.append(len(range(s[1], s[2], s[3])))
        d += 1
    return tuple(out)


def _getitem_infer(ts, spec):
    x, *idx = ts
    for t in idx:
        if t.dtype not in ("int32", "int64") or t.shape != ():
            raise shape_error("getitem", "staged indices must be integer scalars", *ts)
    return TensorType(x.dtype, _spec_shape(x.shape, spec))


def numpy_key(shape, spec, dyn):
    """The NumPy index for `spec` (staged indices given as ints); raises IndexError when out of range."""
    key, d = [], 0
    for s in spec:
        if s[0] == "new":
            key.append(None)
            continue
        if s[0] == "int":
            key.append(s[1])
        elif s[0] == "dyn":
            i = int(dyn[s[1]])
            n = shape[d]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {n}")
            key.append(i % n)
        else:            # (start, stop, step) as slice.indices gives them: -1 is "before 0"
            start, stop, step = s[1], s[2], s[3]
            key.append(slice(start, stop if stop >= 0 else None, step)
                       if len(range(start, stop, step)) else slice(0, 0))
        d += 1
    return tuple(key)


def _getitem_ref(x, *dyn, spec):
    return x[numpy_key(x.shape, spec, dyn)]


OpDef("getitem", _getitem_infer, _getitem_ref, "view",
      lambda g, out, x, *dyn, spec: (F.setitem_add(F.zeros_like(x), g, dyn, spec),)
      + (None,) * len(dyn), domain={"params": {"spec": "row1"}})


def _setitem_add_infer(ts, spec):
    x, v, *idx = ts
    target = _getitem_infer([x] + idx, spec)
    _same_dtype("setitem_add", (x, v))
    try:
        if broadcast_shapes(v.shape, target.shape) != target.shape:
            raise ValueError
    except ValueError:
        raise shape_error("setitem_add", f"value cannot be broadcast to {target}", x, v) from None
    return TensorType(x.dtype, x.shape)


def _setitem_add_ref(x, v, *dyn, spec):
    out = np.array(x, copy=True)
    out[numpy_key(x.shape, spec, dyn)] += v
    return out


# out = x with out[spec] += v: the gradient of getitem (and a JAX-style `x.at[...].add(v)`)
OpDef("setitem_add", _setitem_add_infer, _setitem_add_ref, "general",
      lambda g, out, x, v, *dyn, spec: (g, F.getitem_spec(g, dyn, spec)) + (None,) * len(dyn),
      domain={"params": {"spec": "row1"}}, sparse_update=True)


# -- copies -------------------------------------------------------------------------------------------
def _concat_infer(ts, axis):
    _same_dtype("concatenate", ts)
    x0 = ts[0]
    for t in ts[1:]:
        if t.ndim != x0.ndim or any(a != b for d, (a, b) in enumerate(zip(t.shape, x0.shape))
                                    if d != axis):
            raise shape_error("concatenate", f"shapes differ outside axis {axis}", *ts)
    shape = list(x0.shape)
    shape[axis] = sum(t.shape[axis] for t in ts)
    return TensorType(x0.dtype, tuple(shape))


def _concat_grad(g, out, *xs, axis):
    cots, start = [], 0
    for x in xs:
        n = x.shape[axis]
        cots.append(F.getitem(g, (slice(None),) * axis + (slice(start, start + n),)))
        start += n
    return tuple(cots)


OpDef("concatenate", _concat_infer, lambda *xs, axis: np.concatenate(xs, axis=axis), "general",
      _concat_grad, domain={"params": {"axis": 0}})


def _take_infer(ts, axis):
    a, idx = ts
    if idx.dtype not in ("int32", "int64"):
        raise shape_error("take", "indices must be integers", a, idx)
    if not 0 <= axis < a.ndim:
        raise shape_error("take", f"invalid axis {axis}", a)
    return TensorType(a.dtype, a.shape[:axis] + idx.shape + a.shape[axis + 1:])


def _take_ref(a, idx, axis):
    n = a.shape[axis]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"take: index out of range for axis {axis} with size {n}")
    return np.take(a, idx, axis=axis)


OpDef("take", _take_infer, _take_ref, "general",
      lambda g, out, a, idx, axis: (F.scatter_add(F.zeros_like(a), idx, g, axis), None), nargs=2,
      domain={"params": {"axis": 0}})


def _scatter_add_infer(ts, axis):
    x, idx, v = ts
    expect = _take_infer([x, idx], axis)
    if v.shape != expect.shape or v.dtype != x.dtype:
        raise shape_error("scatter_add", f"values must be {expect}", x, idx, v)
    return x


def _scatter_add_ref(x, idx, v, axis):
    _take_ref(x, idx, axis)
    out = np.array(x, copy=True)
    sl = (slice(None),) * axis
    np.add.at(out, sl + (idx,), v)
    return out


# out = x; out[idx] += v along axis (repeated indices accumulate): the gradient of take
OpDef("scatter_add", _scatter_add_infer, _scatter_add_ref, "general",
      lambda g, out, x, idx, v, axis: (g, None, F.take(g, idx, axis)), nargs=3,
      domain={"params": {"axis": 0}}, sparse_update=True)
