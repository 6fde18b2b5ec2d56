"""Reductions along axes (`axis` is a normalised tuple of axes). `max` propagates NaN as NumPy does;
a reduction without an identity (`max`, `argmax`) of an empty axis is refused while staging, as NumPy
raises ValueError."""
import numpy as np

from ..graph import StageValueError
from ..types import FLOATS, TensorType
from . import NONDIFF, OpDef, shape_error
from .. import functions as F


def _kept_shape(shape, axis, keepdims):
    if keepdims:
        return tuple(1 if d in axis else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axis)


def _reduce_infer(name, dtype_rule, identity=True):
    def infer(ts, axis, keepdims):
        (x,) = ts
        if any(not 0 <= a < x.ndim for a in axis) or len(set(axis)) != len(axis):
            raise shape_error(name, f"invalid axis {axis}", x)
        if not identity and any(x.shape[a] == 0 for a in axis):
            raise StageValueError(f"{name}: zero-size array to a reduction which has no identity "
                                  f"(axis {axis} of {x})")
        return TensorType(dtype_rule(x.dtype), _kept_shape(x.shape, axis, keepdims))
    return infer


def _sum_dtype(dt):
    return dt if dt in FLOATS else "int64"


def _unreduce(g, x, axis, keepdims):
    """Bring a reduced cotangent back to x's rank (size-1 dims on the reduced axes)."""
    return g if keepdims else F.reshape(g, _kept_shape(x.shape, axis, True))


def _sum_grad(g, out, x, axis, keepdims):
    return (F.broadcast_to(_unreduce(g, x, axis, keepdims), x.shape),)


def _max_grad(g, out, x, axis, keepdims):
    # ties share the gradient equally (as PyTorch's amax and JAX's max do)
    mask = F.equal(x, _unreduce(out, x, axis, keepdims))
    count = F.sum(mask.astype(x.dtype), axis, keepdims=True)
    return (F.where(mask, _unreduce(g, x, axis, keepdims) / count, 0),)


OpDef("sum", _reduce_infer("sum", _sum_dtype),
      lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims, dtype=_sum_dtype(x.dtype.name)),
      "reduce", _sum_grad, nargs=1, domain={"params": {"axis": (0,), "keepdims": False}})
OpDef("max", _reduce_infer("max", lambda d: d, identity=False),
      lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
      "reduce", _max_grad, nargs=1,
      domain={"params": {"axis": (0,), "keepdims": False}, "distinct": True})


def _argmax_infer(ts, axis):
    (x,) = ts
    if axis is not None and not 0 <= axis < x.ndim:
        raise shape_error("argmax", f"invalid axis {axis}", x)
    if (x.size == 0) if axis is None else x.shape[axis] == 0:
        raise StageValueError(f"argmax: attempt to get the argmax of an empty sequence ({x})")
    shape = () if axis is None else tuple(n for d, n in enumerate(x.shape) if d != axis)
    return TensorType("int64", shape)


OpDef("argmax", _argmax_infer, lambda x, axis: np.argmax(x, axis=axis), "general",
      NONDIFF, nargs=1, domain={"params": {"axis": 0}, "distinct": True})
