"""Products, scans, sorting and gathers along one axis: prod (a reduction), cumsum, cumprod,
argmin, argsort, take_along_axis and its scatters. Gradients are exact also with zeros (prod and
cumprod never divide by an element that may be 0) and flow through the permutation of a sort (sort
is take_along_axis of argsort)."""
import numpy as np

from ..graph import StageValueError
from ..types import INTS, TensorType
from . import NONDIFF, OpDef, shape_error
from .reduce import _reduce_infer, _unreduce
from .. import functions as F
from ..functions.scans import _along


def _int64_or_float(dt):
    """NumPy accumulates bools and integers in int64 (sum, prod, cumsum, cumprod)."""
    return dt if dt in ("float32", "float64") else "int64"


# -- prod ---------------------------------------------------------------------------------------------
def _lines(x, axis):
    """x with the axes `axis` moved last and merged: (rest..., n), and how to undo it."""
    rest = tuple(d for d in range(x.ndim) if d not in axis)
    perm = rest + tuple(axis)
    xt = F.transpose(x, perm)
    n = int(np.prod([x.shape[a] for a in axis]))
    lines = F.reshape(xt, tuple(x.shape[d] for d in rest) + (n,))

    def back(y):
        return F.transpose(F.reshape(y, xt.shape), tuple(np.argsort(perm)))
    return lines, back


def _shift(v, axis, by, fill):
    """v moved one place along `axis` (by = +1: v[k-1] at k; -1: v[k+1] at k), `fill` coming in."""
    n = v.shape[axis]
    edge = F.full_like(_along(v, axis, 0, 1), fill)
    if by > 0:
        return F.concatenate([edge, _along(v, axis, 0, n - 1)], axis)
    return F.concatenate([_along(v, axis, 1, n), edge], axis)


def _exclusive_cumprod(x, axis=-1):
    """Products of the elements before each one along `axis` (1 for the first)."""
    return F.cumprod(_shift(x, axis, 1, 1), axis)


def _prod_grad(g, out, x, axis, keepdims):
    # d prod / d x_i = the product of the others: products before i times products after i
    lines, back = _lines(x, axis)
    others = _exclusive_cumprod(lines) * F.flip(_exclusive_cumprod(F.flip(lines, -1)), -1)
    return (F.broadcast_to(_unreduce(g, x, axis, keepdims), x.shape) * back(others),)


OpDef("prod", _reduce_infer("prod", _int64_or_float),
      lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims,
                                        dtype=_int64_or_float(x.dtype.name)),
      "reduce", _prod_grad, nargs=1, domain={"params": {"axis": (0,), "keepdims": False}})


# -- scans --------------------------------------------------------------------------------------------
def _scan_infer(name):
    def infer(ts, axis):
        (x,) = ts
        if not 0 <= axis < x.ndim:
            raise shape_error(name, f"invalid axis {axis}", x)
        return TensorType(_int64_or_float(x.dtype), x.shape)
    return infer


def _cumsum_grad(g, out, x, axis):
    return (F.flip(F.cumsum(F.flip(g, axis), axis), axis),)


def _cumprod_grad(g, out, x, axis):
    """d/dx_j = (prod_{k<j} x_k) * S_j with S_j = sum_{i>=j} g_i prod_{j<k<=i} x_k, i.e. the reverse
    linear recurrence S_j = g_j + x_{j+1} S_{j+1}: no division, so exact with zeros -- and so are
    its own derivatives (the Hessian at exact zeros too, which a formula dividing by x away from
    zeros and switching to a constant after a line's first zero gets wrong)."""
    if x.shape[axis] == 0:
        return (F.zeros_like(x),)
    before = _exclusive_cumprod(x, axis)                       # prod_{k<j} x_k
    after = F.apply("linear_scan", _shift(x, axis, -1, 0), g, axis=axis, reverse=True)
    return (before * after,)


OpDef("cumsum", _scan_infer("cumsum"),
      lambda x, axis: np.cumsum(x, axis=axis, dtype=_int64_or_float(x.dtype.name)), "general",
      _cumsum_grad, nargs=1, domain={"params": {"axis": 0}})
OpDef("cumprod", _scan_infer("cumprod"),
      lambda x, axis: np.cumprod(x, axis=axis, dtype=_int64_or_float(x.dtype.name)), "general",
      _cumprod_grad, nargs=1, domain={"params": {"axis": 0}})


# -- linear recurrences -------------------------------------------------------------------------------
# y_k = b_k + a_k y_{k-1} along `axis` (the first y is b: its coefficient is not read); reverse:
# y_k = b_k + a_k y_{k+1}.
# The scan of first-order linear recurrences: cumprod's gradient, and its own gradient is one too.
def _linear_scan_infer(ts, axis, reverse):
    a, b = ts
    if a.shape != b.shape or a.dtype != b.dtype or a.dtype not in ("float32", "float64"):
        raise shape_error("linear_scan", "coefficients and terms must be float arrays of one shape "
                                         "and dtype", a, b)
    if not 0 <= axis < a.ndim:
        raise shape_error("linear_scan", f"invalid axis {axis}", a, b)
    return b


def _linear_scan_ref(a, b, axis, reverse):
    a, b = np.moveaxis(a, axis, 0), np.moveaxis(b, axis, 0)
    out = np.empty_like(b)
    for s, k in enumerate(range(len(b) - 1, -1, -1) if reverse else range(len(b))):
        out[k] = b[k] if s == 0 else b[k] + a[k] * out[k + 1 if reverse else k - 1]
    return np.moveaxis(out, 0, axis)


def _linear_scan_grad(g, out, a, b, axis, reverse):
    # the cotangent of y_k reaches y_k itself and, through a_{k+1} (forward), y_{k+1}: a recurrence
    # running the other way with the coefficients moved one place
    if b.shape[axis] == 0:
        return F.zeros_like(a), F.zeros_like(b)
    by = -1 if reverse else 1
    lam = F.apply("linear_scan", _shift(a, axis, -by, 0), g, axis=axis, reverse=not reverse)
    return lam * _shift(out, axis, by, 0), lam


OpDef("linear_scan", _linear_scan_infer, _linear_scan_ref, "general", _linear_scan_grad, nargs=2,
      domain={"params": {"axis": 0, "reverse": False}})


# -- argmin, argsort ----------------------------------------------------------------------------------
def _argmin_infer(ts, axis):
    (x,) = ts
    if axis is not None and not 0 <= axis < x.ndim:
        raise shape_error("argmin", f"invalid axis {axis}", x)
    if (x.size == 0) if axis is None else x.shape[axis] == 0:
        raise StageValueError(f"argmin: attempt to get the argmin of an empty sequence ({x})")
    shape = () if axis is None else tuple(n for d, n in enumerate(x.shape) if d != axis)
    return TensorType("int64", shape)


OpDef("argmin", _argmin_infer, lambda x, axis: np.argmin(x, axis=axis), "general",
      NONDIFF, nargs=1, domain={"params": {"axis": 0}, "distinct": True})


def _argsort_infer(ts, axis):
    (x,) = ts
    if not 0 <= axis < x.ndim:
        raise shape_error("argsort", f"invalid axis {axis}", x)
    return TensorType("int64", x.shape)


# stable (a valid answer for every `kind`), NaN last as in NumPy
OpDef("argsort", _argsort_infer, lambda x, axis: np.argsort(x, axis=axis, kind="stable"),
      "general", NONDIFF, nargs=1, domain={"params": {"axis": 0}})


# -- gathers and scatters along an axis ---------------------------------------------------------------
def _along_infer(name, a, idx, axis):
    if idx.dtype not in INTS:
        raise shape_error(name, "indices must be integers", a, idx)
    if a.ndim != idx.ndim or not 0 <= axis < a.ndim or any(
            m != n for d, (m, n) in enumerate(zip(a.shape, idx.shape)) if d != axis):
        raise shape_error(name, f"indices must have the array's shape outside axis {axis}", a, idx)
    return TensorType(a.dtype, idx.shape)


def _check_along(name, n, idx):
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{name}: index out of range for an axis of size {n}")


def _take_along_ref(a, idx, axis):
    _check_along("take_along_axis", a.shape[axis], idx)
    return np.take_along_axis(a, idx, axis=axis)


OpDef("take_along_axis", lambda ts, axis: _along_infer("take_along_axis", *ts, axis),
      _take_along_ref, "general",
      lambda g, out, a, idx, axis: (F.apply("scatter_add_along_axis", F.zeros_like(a), idx, g,
                                            axis=axis), None),
      nargs=2, domain={"params": {"axis": 0}})


def _scatter_along_infer(name):
    def infer(ts, axis):
        x, idx, v = ts
        expect = _along_infer(name, x, idx, axis)
        if v.shape != expect.shape or v.dtype != x.dtype:
            raise shape_error(name, f"values must be {expect}", x, idx, v)
        return x
    return infer


def _scatter_along_ref(add):
    def ref(x, idx, v, axis):
        _check_along("put_along_axis", x.shape[axis], idx)
        out = np.array(x, copy=True)
        key = tuple(idx if d == axis else np.arange(n).reshape(
            [-1 if e == d else 1 for e in range(idx.ndim)]) for d, n in enumerate(idx.shape))
        if add:
            np.add.at(out, key, v)
        else:
            out[key] = v
        return out
    return ref


# out = x; out[..., idx, ...] += v along axis: take_along_axis's gradient
OpDef("scatter_add_along_axis", _scatter_along_infer("scatter_add_along_axis"),
      _scatter_along_ref(True), "general",
      lambda g, out, x, idx, v, axis: (g, None, F.take_along_axis(g, idx, axis)), nargs=3,
      domain={"params": {"axis": 0}}, sparse_update=True)


def _scatter_grad(g, out, x, idx, v, axis):
    # the positions written receive nothing from x; a value that a later duplicate overwrote gets
    # nothing either (NumPy's last write wins: the kept value is the one read back at its position)
    written = F.apply("scatter_along_axis", F.zeros_like(g, "bool"), idx, F.ones_like(v, "bool"),
                      axis=axis)
    pos = F.iota(idx.shape, axis, idx.dtype)
    winner = F.apply("scatter_along_axis", F.full(x.shape, -1, idx.dtype), idx, pos, axis=axis)
    kept = F.equal(F.take_along_axis(winner, idx, axis), pos)
    return F.where(written, 0, g), None, F.where(kept, F.take_along_axis(g, idx, axis), 0)


# out = x; out[..., idx, ...] = v along axis (NumPy's put_along_axis, as a new array)
OpDef("scatter_along_axis", _scatter_along_infer("scatter_along_axis"), _scatter_along_ref(False),
      "general", _scatter_grad, nargs=3, domain={"params": {"axis": 0}})
