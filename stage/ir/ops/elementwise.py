"""Elementwise ops: one value per element of the broadcast arguments (a backend may compute chains
of them in one loop)."""
import numpy as np

from ..graph import Const
from ..types import TensorType, broadcast_shapes
from . import NONDIFF, OpDef, defbinary, defcompare, defunary, shape_error
from .. import functions as F


def _is_const(e, v):
    return isinstance(e, Const) and e.value.size == 1 and bool(np.all(e.value == v))


def _identity_if(const_pos, value):
    """Simplifier: `op(x, c)` is `x` when `c == value` and the result has x's type."""
    def simplify(args, params, out_types):
        for i in const_pos:
            other = args[1 - i]
            if _is_const(args[i], value) and other.type == out_types[0]:
                return other
        return None
    return simplify


def _where0(mask, g):
    return F.where(mask, g, 0)


# -- arithmetic ---------------------------------------------------------------------------------------
defbinary("add", np.add, lambda g, out, a, b: (g, g),
          simplify=_identity_if((0, 1), 0), signs=(1, 1))
defbinary("subtract", np.subtract, lambda g, out, a, b: (g, -g),
          simplify=_identity_if((1,), 0), signs=(1, -1))
defbinary("multiply", np.multiply, lambda g, out, a, b: (g * b, g * a),
          simplify=_identity_if((0, 1), 1), product=True)
defbinary("divide", np.divide, lambda g, out, a, b: (g / b, -g * out / b),
          float_only=True, simplify=_identity_if((1,), 1))
defbinary("power", np.power,
          lambda g, out, a, b: (g * b * F.power(a, b - 1), g * out * F.log(a)),
          float_only=True, domain={"positive": True})
# NaN-propagating like NumPy (a NaN in either operand gives NaN)
defbinary("maximum", np.maximum,
          lambda g, out, a, b: _split_ties(g, a > b, F.equal(a, b)))
defbinary("minimum", np.minimum,
          lambda g, out, a, b: _split_ties(g, a < b, F.equal(a, b)))
defbinary("floor_divide", np.floor_divide, NONDIFF,
          domain={"nonzero": True})
defbinary("mod", np.mod,
          lambda g, out, a, b: (g, -g * F.floor_divide(a, b)), domain={"nonzero": True})


def _split_ties(g, wins, ties):
    """maximum/minimum: the winner takes the gradient, ties share it (as PyTorch does)."""
    ga = F.where(wins, g, F.where(ties, g * 0.5, 0))
    return ga, g - ga


defunary("negative", np.negative, lambda g, out, a: (-g,), float_only=False, signs=(-1,))
defunary("exp", np.exp, lambda g, out, a: (g * out,))
defunary("log", np.log, lambda g, out, a: (g / a,), domain={"positive": True})
defunary("sqrt", np.sqrt, lambda g, out, a: (g / (2 * out),),
         domain={"positive": True})
defunary("square", np.square, lambda g, out, a: (g * (2 * a),), float_only=False)
defunary("tanh", np.tanh, lambda g, out, a: (g * (1 - out * out),))
defunary("sigmoid", lambda x: 1 / (1 + np.exp(-x)),
         lambda g, out, a: (g * out * (1 - out),))
defunary("relu", lambda x: np.maximum(x, 0),                  # NaN stays NaN
         lambda g, out, a: (_where0(out > 0, g),), float_only=False, domain={"away_from": 0.0})
defunary("abs", np.abs, lambda g, out, a: (g * F.sign(a),), float_only=False,
         domain={"away_from": 0.0})
defunary("sign", np.sign, NONDIFF, float_only=False)
defunary("log1p", np.log1p, lambda g, out, a: (g / (1 + a),), domain={"positive": True})
defunary("expm1", np.expm1, lambda g, out, a: (g * (out + 1),))
defunary("tan", np.tan, lambda g, out, a: (g * (1 + out * out),), domain={"scale": 0.5})
defunary("sin", np.sin, lambda g, out, a: (g * F.cos(a),))
defunary("cos", np.cos, lambda g, out, a: (-g * F.sin(a),))
defunary("floor", np.floor, NONDIFF)
defunary("logical_not", np.logical_not, NONDIFF, float_only=False, out_dtype="bool")

# -- comparisons and logic (non-differentiable, bool results) ----------------------------------------
defcompare("less", np.less)
defcompare("less_equal", np.less_equal)
defcompare("greater", np.greater)
defcompare("greater_equal", np.greater_equal)
defcompare("equal", np.equal)
defcompare("not_equal", np.not_equal)
defcompare("logical_and", np.logical_and)
defcompare("logical_or", np.logical_or)


# -- where, clip, astype, iota ------------------------------------------------------------------------
def _where_infer(ts):
    c, x, y = ts
    if c.dtype != "bool":
        raise shape_error("where", "condition must be bool", *ts)
    if x.dtype != y.dtype:
        raise shape_error("where", "branches must have the same dtype", *ts)
    try:
        return TensorType(x.dtype, broadcast_shapes(c.shape, x.shape, y.shape))
    except ValueError:
        raise shape_error("where", "shapes cannot be broadcast together", *ts) from None


OpDef("where", _where_infer, np.where, "elementwise",
      lambda g, out, c, x, y: (None, _where0(c, g), F.where(c, 0, g)), nargs=3)


def _clip_ref(x, lo, hi):
    return np.clip(x, lo, hi).astype(x.dtype)


def _clip_infer(ts, lo, hi):
    (x,) = ts
    return TensorType(x.dtype, x.shape)


def _clip_grad(g, out, x, lo, hi):
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        mask = (x <= hi) if mask is None else mask & (x <= hi)
    return (g if mask is None else _where0(mask, g),)


OpDef("clip", _clip_infer, _clip_ref, "elementwise", _clip_grad,
      nargs=1, domain={"params": {"lo": -0.5, "hi": 0.5}, "away_from": (-0.5, 0.5)})


def _astype_infer(ts, dtype):
    return TensorType(dtype, ts[0].shape)


OpDef("astype", _astype_infer, lambda x, dtype: x.astype(dtype), "elementwise",
      lambda g, out, x, dtype: (F.astype(g, x.dtype),), nargs=1,
      domain={"params": {"dtype": "float64"}})


def _iota_infer(ts, shape, axis, dtype):
    return TensorType(dtype, tuple(shape))


def _iota_ref(shape, axis, dtype):
    idx = np.arange(shape[axis], dtype=dtype)
    return np.broadcast_to(idx.reshape([-1 if d == axis else 1 for d in range(len(shape))]), shape)


# The index along `axis`, as a value: a view that reads no memory (a backend gives it the strides of
# that axis), so one_hot and masks built from it need no buffer.
OpDef("iota", _iota_infer, _iota_ref, "view", NONDIFF, nargs=0)

# identity whose output carries no gradient
defunary("stop_gradient", lambda x: x, NONDIFF, float_only=False)
