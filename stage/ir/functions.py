"""The NumPy-named functions users call (`st.exp`, `st.sum(x, axis=0, keepdims=True)`, ...).

Each one converts its arguments (Python scalars are weakly typed: `x * 2` keeps x's dtype), normalises
static parameters (axes, shapes, index keys) and reflects one op of the table. Composite functions
(`mean`, `stack`, `one_hot`, ...) are written over those. Called outside staging with NumPy inputs,
they evaluate eagerly with the ops' NumPy references. Their docstrings and type hints are kept in
one table, `function_docs.py` (as NumPy keeps its ufuncs' documentation), applied at the end.
"""
from __future__ import annotations

import builtins
import numbers

import numpy as np

from .graph import Const, Exp, StageTypeError, current_scope, reflect
from .rep import Rep
from .types import FLOATS, INTS, canonical_dtype, result_dtype

DEFAULT_FLOAT = "float32"
DEFAULT_INT = "int64"


# ----------------------------------------------------------------------------------------- conversion

def _is_weak(x):
    return isinstance(x, (bool, numbers.Number)) and not isinstance(x, (np.generic, np.ndarray))


def _weak_dtype(x):
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, numbers.Integral):
        return DEFAULT_INT
    if isinstance(x, numbers.Real):
        return DEFAULT_FLOAT
    raise TypeError(f"stage does not support {type(x).__name__} values ({x!r})")


def _dtype_of(x):
    if isinstance(x, Rep):
        return x.dtype
    if _is_weak(x):
        return None
    return canonical_dtype(np.asarray(x).dtype)


def _to_exp(x, dtype=None) -> Exp:
    if isinstance(x, Rep):
        return x.exp if dtype is None or x.dtype == dtype else astype(x, dtype).exp
    if _is_weak(x):
        return Const(x, dtype or _weak_dtype(x))
    arr = np.asarray(x)
    return Const(arr if dtype is None else arr.astype(dtype))


def as_rep(x, dtype=None) -> Rep:
    """A staged value for x (Python scalars and NumPy arrays become constants)."""
    if isinstance(x, Rep) and (dtype is None or x.dtype == dtype):
        return x
    return Rep(_to_exp(x, dtype))


def _common_dtype(*xs, float_only=False):
    """Promotion in which Python scalars adapt to the staged operands (JAX's weak types)."""
    strong = [d for d in map(_dtype_of, xs) if d is not None]
    dt = result_dtype(*strong) if strong else None
    weak = [x for x in xs if _is_weak(x)]
    if dt is None:
        dt = result_dtype(*[_weak_dtype(x) for x in weak]) if weak else DEFAULT_FLOAT
    elif any(isinstance(x, float) for x in weak) and dt not in FLOATS:
        dt = DEFAULT_FLOAT
    if float_only and dt not in FLOATS:
        dt = DEFAULT_FLOAT
    return dt


def _staging(*xs):
    return current_scope() is not None or builtins.any(isinstance(x, Rep) for x in xs)


def apply(op, *args, **params):
    """Reflect `op` on already converted arguments (or run its NumPy reference outside staging)."""
    if not _staging(*args):
        from .ops import OPS
        return OPS[op].ref(*[np.asarray(a) for a in args], **params)
    outs = reflect(op, *[_to_exp(a) for a in args], **params)
    return Rep(outs[0]) if len(outs) == 1 else tuple(Rep(o) for o in outs)


def _nary(op, *xs, float_only=False, dtype=None):
    dt = dtype or _common_dtype(*xs, float_only=float_only)
    if not _staging(*xs):
        from .ops import OPS
        return OPS[op].ref(*[np.asarray(x, dtype=dt) for x in xs])
    return apply(op, *[as_rep(x, dt) for x in xs])


# ----------------------------------------------------------------------------------------- elementwise

def add(x, y): return _nary("add", x, y)
def subtract(x, y): return _nary("subtract", x, y)
def multiply(x, y): return _nary("multiply", x, y)
def divide(x, y): return _nary("divide", x, y, float_only=True)
def floor_divide(x, y): return _nary("floor_divide", x, y)
def mod(x, y): return _nary("mod", x, y)
def maximum(x, y): return _nary("maximum", x, y)
def minimum(x, y): return _nary("minimum", x, y)
def negative(x): return _nary("negative", x)
def exp(x): return _nary("exp", x, float_only=True)
def log(x): return _nary("log", x, float_only=True)
def sqrt(x): return _nary("sqrt", x, float_only=True)
def square(x): return _nary("square", x)
def tanh(x): return _nary("tanh", x, float_only=True)
def sigmoid(x): return _nary("sigmoid", x, float_only=True)
def relu(x): return _nary("relu", x)
def abs(x): return _nary("abs", x)
def sign(x): return _nary("sign", x)
def log1p(x): return _nary("log1p", x, float_only=True)
def expm1(x): return _nary("expm1", x, float_only=True)
def tan(x): return _nary("tan", x, float_only=True)
def sin(x): return _nary("sin", x, float_only=True)
def cos(x): return _nary("cos", x, float_only=True)
def floor(x): return _nary("floor", x, float_only=True)
def less(x, y): return _nary("less", x, y)
def less_equal(x, y): return _nary("less_equal", x, y)
def greater(x, y): return _nary("greater", x, y)
def greater_equal(x, y): return _nary("greater_equal", x, y)
def equal(x, y): return _nary("equal", x, y)
def not_equal(x, y): return _nary("not_equal", x, y)
def logical_and(x, y): return _nary("logical_and", x, y, dtype="bool")
def logical_or(x, y): return _nary("logical_or", x, y, dtype="bool")
def logical_not(x): return _nary("logical_not", x, dtype="bool")


def power(x, y):
    if _is_weak(y) and isinstance(x, Rep):       # static exponents take cheaper forms
        if y == 1:
            return x
        if y == 2:
            return square(x)
        if y == 0.5:
            return sqrt(x)
    return _nary("power", x, y, float_only=True)


def where(condition, x, y):
    dt = _common_dtype(x, y)
    if not _staging(condition, x, y):
        return np.where(condition, np.asarray(x, dt), np.asarray(y, dt))
    return apply("where", as_rep(condition, "bool"), as_rep(x, dt), as_rep(y, dt))


def clip(x, a_min=None, a_max=None):
    if isinstance(a_min, Rep) or isinstance(a_max, Rep):
        x = x if a_min is None else maximum(x, a_min)
        return x if a_max is None else minimum(x, a_max)
    dt = _common_dtype(x, *[b for b in (a_min, a_max) if b is not None])   # as maximum/minimum
    return apply("clip", as_rep(x, dt) if _staging(x) else np.asarray(x, dt), lo=a_min, hi=a_max)


def astype(x, dtype):
    dtype = canonical_dtype(dtype)
    if isinstance(x, Rep) and x.dtype == dtype:
        return x
    if not _staging(x):
        return np.asarray(x).astype(dtype)
    return apply("astype", as_rep(x), dtype=dtype)


def stop_gradient(x):
    """x, with no gradient flowing through it."""
    return apply("stop_gradient", as_rep(x))


def iota(shape, axis, dtype=DEFAULT_INT):
    """An array whose value at each position is its index along `axis`."""
    shape = tuple(int(d) for d in shape)
    return apply("iota", shape=shape, axis=_axis(axis, len(shape)), dtype=canonical_dtype(dtype))


# ----------------------------------------------------------------------------------------- creation

def full(shape, fill_value, dtype=None):
    shape = _shape(shape)
    dt = canonical_dtype(dtype) if dtype is not None else (
        _dtype_of(fill_value) or _weak_dtype(fill_value))
    if not _staging(fill_value):
        if current_scope() is None:
            return np.full(shape, fill_value, dtype=dt)
    return broadcast_to(as_rep(fill_value, dt), shape)


def zeros(shape, dtype=DEFAULT_FLOAT): return full(shape, 0, dtype)
def ones(shape, dtype=DEFAULT_FLOAT): return full(shape, 1, dtype)
def zeros_like(x, dtype=None): return full(np.shape(x) if not isinstance(x, Rep) else x.shape, 0, dtype or _dtype_of(x))
def ones_like(x, dtype=None): return full(np.shape(x) if not isinstance(x, Rep) else x.shape, 1, dtype or _dtype_of(x))
def full_like(x, v, dtype=None): return full(x.shape, v, dtype or _dtype_of(x))


def one_hot(indices, num_classes, dtype=DEFAULT_FLOAT):
    idx = as_rep(indices)
    return astype(equal(idx[..., None], iota(idx.shape + (num_classes,), -1, idx.dtype)), dtype)


# ----------------------------------------------------------------------------------------- shapes

def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _axis(axis, ndim):
    a = int(axis)
    if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
        raise StageTypeError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    return a % builtins.max(ndim, 1)


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(sorted(_axis(a, ndim) for a in axis))
    return axes if ndim else ()         # a 0-d array has no axis to reduce (np.sum(x, 0) is x)


def reshape(x, shape):
    x = as_rep(x)
    shape = list(_shape(shape))
    if shape.count(-1) == 1:
        rest = int(np.prod([d for d in shape if d != -1]))
        shape[shape.index(-1)] = x.size // rest if rest else 0
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return apply("reshape", x, shape=shape)


def transpose(x, axes=None):
    x = as_rep(x)
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(_axis(a, x.ndim) for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return apply("transpose", x, axes=axes)


def swapaxes(x, a, b):
    x = as_rep(x)
    axes = list(range(x.ndim))
    a, b = _axis(a, x.ndim), _axis(b, x.ndim)
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def broadcast_to(x, shape):
    x = as_rep(x)
    shape = _shape(shape)
    if x.shape == shape:
        return x
    return apply("broadcast_to", x, shape=shape)


def expand_dims(x, axis):
    x = as_rep(x)
    a = _axis(axis, x.ndim + 1)
    return reshape(x, x.shape[:a] + (1,) + x.shape[a:])


def squeeze(x, axis=None):
    x = as_rep(x)
    axes = [d for d, n in enumerate(x.shape) if n == 1] if axis is None else _axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise StageTypeError(f"squeeze: axis {a} of {x.type} does not have size 1")
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in axes))


def concatenate(arrays, axis=0):
    reps = [as_rep(a) for a in arrays]
    if not reps:
        raise StageTypeError("concatenate needs at least one array")
    dt = _common_dtype(*reps)
    reps = [as_rep(r, dt) for r in reps]
    if len(reps) == 1:
        return reps[0]
    return apply("concatenate", *reps, axis=_axis(axis, reps[0].ndim))


def stack(arrays, axis=0):
    reps = [as_rep(a) for a in arrays]
    if not reps:
        raise StageTypeError("stack needs at least one array")
    a = _axis(axis, reps[0].ndim + 1)
    return concatenate([expand_dims(r, a) for r in reps], a)


def take(a, indices, axis=0):
    a = as_rep(a)
    idx = as_rep(indices)
    return apply("take", a, idx, axis=_axis(axis, a.ndim))


def scatter_add(x, indices, values, axis=0):
    x = as_rep(x)
    return apply("scatter_add", x, as_rep(indices), as_rep(values, x.dtype),
                 axis=_axis(axis, x.ndim))


# ----------------------------------------------------------------------------------------- indexing

def _index_key(shape, key):
    """Normalise a basic index key into (spec, staged indices); see ops/shape.py for `spec`."""
    if not isinstance(key, tuple):
        key = (key,)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > len(shape):
        raise IndexError(f"too many indices for an array of shape {shape}")
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_real)
        else:
            expanded.append(k)
    expanded += [slice(None)] * (len(shape) - builtins.sum(1 for k in expanded if k is not None))
    spec, dyn, d = [], [], 0
    for k in expanded:
        if k is None:
            spec.append(("new",))
            continue
        n = shape[d]
        if isinstance(k, Rep):
            if k.shape != () or k.dtype not in INTS:
                raise IndexError("a staged index must be an integer scalar (use st.take for arrays)")
            spec.append(("dyn", len(dyn)))
            dyn.append(k)
        elif isinstance(k, slice):
            if builtins.any(isinstance(v, Rep) for v in (k.start, k.stop, k.step)):
                raise IndexError("slice bounds must be static (use x[i] with a staged i, or "
                                 "st.take, for staged positions)")
            start, stop, step = k.indices(n)
            spec.append(("slice", start, stop, step))
        elif isinstance(k, (int, np.integer)):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {d} with size {n}")
            spec.append(("int", int(k) % n))
        else:
            raise IndexError(f"unsupported index {k!r}")
        d += 1
    return tuple(spec), dyn


def _advanced_axis(key):
    """For x[idx] / x[:, idx] with an integer array idx: the axis to take along, else None."""
    if not isinstance(key, tuple):
        key = (key,)
    arrays = [i for i, k in enumerate(key) if isinstance(k, (np.ndarray, list)) or
              (isinstance(k, Rep) and k.ndim > 0)]
    if not arrays:
        return None
    if len(arrays) > 1 or builtins.any(not (isinstance(k, slice) and k == slice(None))
                                       for i, k in enumerate(key) if i != arrays[0]):
        raise IndexError("only one integer-array index, with full slices elsewhere, is supported "
                         "(x[idx] or x[:, idx]); use st.take")
    return arrays[0]


def getitem(x, key):
    if not isinstance(x, Rep):
        return np.asarray(x)[key]
    ax = _advanced_axis(key)
    if ax is not None:
        k = key[ax] if isinstance(key, tuple) else key
        return take(x, np.asarray(k) if isinstance(k, list) else k, axis=ax)
    spec, dyn = _index_key(x.shape, key)
    return getitem_spec(x, dyn, spec)


def getitem_spec(x, dyn, spec):
    if builtins.all(s == ("slice", 0, n, 1) for s, n in zip(spec, x.shape)) and len(spec) == x.ndim:
        return x
    return apply("getitem", x, *dyn, spec=spec)


def setitem_add(x, v, dyn, spec):
    """`x` with `v` added at the positions selected by a normalised index (see `_index_key`)."""
    x = as_rep(x)
    return apply("setitem_add", x, as_rep(v, x.dtype), *dyn, spec=spec)


# ----------------------------------------------------------------------------------------- reductions

def sum(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    axes = _axes(axis, np.ndim(x))
    if not axes and not isinstance(x, Rep):
        return x
    if isinstance(x, Rep) and not axes:
        return x if x.dtype in FLOATS else astype(x, "int64")
    return apply("sum", x, axis=axes, keepdims=bool(keepdims))


def max(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    axes = _axes(axis, np.ndim(x))
    if not axes:
        return x
    return apply("max", x, axis=axes, keepdims=bool(keepdims))


def min(x, axis=None, keepdims=False):
    return negative(max(negative(x), axis, keepdims))


def mean(x, axis=None, keepdims=False):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    if (x.dtype if isinstance(x, Rep) else x.dtype.name) not in FLOATS:
        x = astype(x, DEFAULT_FLOAT)
    axes = _axes(axis, np.ndim(x))
    n = int(np.prod([np.shape(x)[a] for a in axes]))
    return sum(x, axes, keepdims) * (1.0 / n if n else float("nan"))


def var(x, axis=None, keepdims=False, ddof=0):
    m = mean(x, axis, keepdims=True)
    axes = _axes(axis, np.ndim(x))
    n = int(np.prod([np.shape(x)[a] for a in axes]))
    return sum(square(x - m), axes, keepdims) * (1.0 / (n - ddof))


def argmax(x, axis=None):
    x = as_rep(x) if _staging(x) else np.asarray(x)
    return apply("argmax", x, axis=None if axis is None else _axis(axis, np.ndim(x)))


def logsumexp(x, axis=None, keepdims=False):
    m = stop_gradient(max(x, axis, keepdims=True))
    out = log(sum(exp(x - m), axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, _axes(axis, np.ndim(x)))


# ----------------------------------------------------------------------------------------- linalg, nn

def matmul(a, b):
    dt = _common_dtype(a, b, float_only=True)
    if not _staging(a, b):
        return np.matmul(np.asarray(a, dt), np.asarray(b, dt))
    return apply("matmul", as_rep(a, dt), as_rep(b, dt))


dot = matmul


def outer(a, b):
    """The outer product of two vectors (NumPy's np.outer for 1-d arguments)."""
    dt = _common_dtype(a, b, float_only=True)
    if not _staging(a, b):
        return np.outer(np.asarray(a, dt), np.asarray(b, dt))
    return apply("outer", as_rep(a, dt), as_rep(b, dt))


def softmax(x, axis=-1):
    x = as_rep(x, _common_dtype(x, float_only=True))
    return apply("softmax", x, axis=_axis(axis, x.ndim))


def log_softmax(x, axis=-1):
    x = as_rep(x, _common_dtype(x, float_only=True))
    return apply("log_softmax", x, axis=_axis(axis, x.ndim))


def nll_loss(log_probs, target, reduction="mean", ignore_index=-100):
    """Negative log-likelihood of integer class targets, as torch.nn.functional.nll_loss."""
    return apply("nll_loss", as_rep(log_probs), as_rep(target), reduction=reduction,
                 ignore_index=int(ignore_index))


def cross_entropy(logits, target, reduction="mean", ignore_index=-100):
    """Softmax cross-entropy, as torch.nn.functional.cross_entropy: integer class targets (N,), or
    class probabilities of the logits' shape."""
    target = as_rep(target) if _staging(logits, target) else np.asarray(target)
    if (target.dtype if isinstance(target, Rep) else target.dtype.name) in FLOATS:
        logp = log_softmax(logits, axis=-1)
        if target.shape != logp.shape:
            raise StageTypeError(f"cross_entropy: probability targets must have the logits' shape "
                                 f"({target.type} vs {logp.type})")
        per = -sum(target * logp, axis=-1)
        if reduction == "none":
            return per
        return sum(per) if reduction == "sum" else mean(per)
    logits = as_rep(logits, _common_dtype(logits, float_only=True)) if _staging(logits) else \
        np.asarray(logits)
    return apply("softmax_cross_entropy", logits, target, reduction=reduction,
                 ignore_index=int(ignore_index))


def mse_loss(input, target, reduction="mean"):
    d = square(input - target)
    return d if reduction == "none" else (sum(d) if reduction == "sum" else mean(d))


def assign(x, value):
    """Write `value` into the input array `x` of the compiled function, in place (its last use).
    This is how a training step updates parameters and optimizer state without copies."""
    x = as_rep(x)
    apply("store", x, as_rep(value, x.dtype) if not isinstance(value, Rep) else value)


def pad(array, pad_width, constant_values=0):
    """NumPy's constant-mode `np.pad`: pad_width is an int, a (before, after) pair, or one pair per
    dimension. Written as a scatter into zeros (then the border filled), so its gradient is a slice
    (a free view)."""
    x = as_rep(array)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2)).tolist()
    if builtins.any(a < 0 or b < 0 for a, b in pw):
        raise StageTypeError(f"pad: widths must be non-negative, got {pad_width}")
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pw))
    spec = tuple(("slice", a, a + n, 1) for n, (a, _) in zip(x.shape, pw))
    out = setitem_add(zeros(shape, x.dtype), x, [], spec)
    if _is_weak(constant_values) and constant_values == 0:
        return out
    inside = None                       # index masks (iota views: no memory) of the interior
    for d, (n, (a, b)) in enumerate(zip(x.shape, pw)):
        if a or b:
            i = iota(shape, d)
            m = logical_and(greater_equal(i, a), less(i, a + n))
            inside = m if inside is None else logical_and(inside, m)
    return out if inside is None else where(inside, out, as_rep(constant_values, x.dtype))


from .function_docs import document as _document  # noqa: E402  (docstrings and type hints)
_document(globals())
