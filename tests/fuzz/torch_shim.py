"""The NumPy-named functions of the fuzzer's programs, implemented eagerly with PyTorch.

A program rendered with `target="torch"` calls `st.<name>` with this module bound to `st`, so the
same program runs as plain PyTorch (control forms become Python `if`/`for`/`while`) and PyTorch's
autograd is a second gradient oracle. Semantics follow NumPy where torch differs (negative slice
steps, negative take indices, `np.pad` widths, `axis=None`).
"""
import numpy as np
import torch

F = torch.nn.functional


def _t(x):
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x)


def const(a):
    return torch.from_numpy(np.array(a))


def _tensors(tree):
    if isinstance(tree, dict):
        return {k: _tensors(v) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(_tensors(c) for c in tree)
    return _t(tree)


def tanh(x): return torch.tanh(x)
def sigmoid(x): return torch.sigmoid(x)
def sin(x): return torch.sin(x)
def cos(x): return torch.cos(x)
def exp(x): return torch.exp(x)
def log(x): return torch.log(x)
def sqrt(x): return torch.sqrt(x)
def square(x): return x * x
def abs(x): return torch.abs(x)
def relu(x): return torch.relu(x)
def floor(x): return torch.floor(x)
def sign(x): return torch.where(torch.isnan(x), x, torch.sign(x))     # NumPy: sign(nan) is nan
def stop_gradient(x): return x.detach()
def clip(x, lo, hi): return torch.clamp(x, lo, hi)
def maximum(a, b): return torch.maximum(_t(a), _t(b))
def minimum(a, b): return torch.minimum(_t(a), _t(b))
def power(a, b): return torch.pow(a, b)
def where(c, a, b): return torch.where(c, a, b)
def equal(a, b): return torch.eq(a, b)
def not_equal(a, b): return torch.ne(a, b)
def floor_divide(a, c): return torch.div(a, c, rounding_mode="floor")
def mod(a, c): return torch.remainder(a, c)
def astype(x, dtype): return x.to(getattr(torch, dtype))


def _dims(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    return (axis,) if isinstance(axis, int) else tuple(axis)


def _reduce(fn, x, axis, keepdims, **kw):
    dims = _dims(x, axis)
    if not dims:
        return x
    return fn(x, dim=dims, keepdim=keepdims, **kw)


def sum(x, axis=None, keepdims=False):
    return _reduce(torch.sum, x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _reduce(torch.mean, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce(torch.amax, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(torch.amin, x, axis, keepdims)


def var(x, axis=None, keepdims=False):
    if not _dims(x, axis):
        return (x - x.detach()) * 0                        # the variance of one value: 0
    return _reduce(torch.var, x, axis, keepdims, correction=0)


def logsumexp(x, axis=None, keepdims=False):
    return _reduce(torch.logsumexp, x, axis, keepdims)


def argmax(x, axis=None):
    if x.ndim == 0:
        return torch.tensor(0)
    return torch.argmax(x, dim=axis)


def sinh(x): return torch.sinh(x)
def cosh(x): return torch.cosh(x)
def arctan(x): return torch.atan(x)
def arcsinh(x): return torch.asinh(x)
def erf(x): return torch.erf(x)
def expm1(x): return torch.expm1(x)
def log1p(x): return torch.log1p(x)
def exp2(x): return torch.exp2(x)
def log2(x): return torch.log2(x)
def cbrt(x): return torch.pow(x, 1.0 / 3.0)        # the templates keep x > 0
def ceil(x): return torch.ceil(x)
def trunc(x): return torch.trunc(x)
def rint(x): return torch.round(x)                   # half to even, as NumPy
def arctan2(a, b): return torch.atan2(a, b)
def hypot(a, b): return torch.hypot(a, b)
def logaddexp(a, b): return torch.logaddexp(a, b)
def fmax(a, b): return torch.fmax(a, b)
def fmin(a, b): return torch.fmin(a, b)


def _flat(x, axis):
    return (x.reshape(-1), 0) if axis is None else (x, axis)


def cumsum(x, axis=None): return torch.cumsum(*_flat(x, axis))
def cumprod(x, axis=None): return torch.cumprod(*_flat(x, axis))
def flip(x, axis=None): return torch.flip(x, _dims(x, axis))
def roll(x, shift, axis=None): return torch.roll(x, shift, axis)
def diff(x, axis=-1): return torch.diff(x, dim=axis)
def sort(x, axis=-1): return torch.sort(x, dim=axis, stable=True).values
def tril(x, k=0): return torch.tril(x, k)
def triu(x, k=0): return torch.triu(x, k)
def tile(x, reps): return torch.tile(x, reps)
def repeat(x, repeats, axis=None): return torch.repeat_interleave(x, repeats, dim=axis)


def prod(x, axis=None, keepdims=False):
    for d in sorted((a % x.ndim for a in _dims(x, axis)), reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdims)
    return x


def conv2d(x, w, b, s, p, d, g): return F.conv2d(x, w, b, s, p, d, g)
def conv1d(x, w, b, s, p, d, g): return F.conv1d(x, w, b, s, p, d, g)
def max_pool2d(x, k, s, p): return F.max_pool2d(x, k, s, p)
def avg_pool2d(x, k, s, p): return F.avg_pool2d(x, k, s, p)
def layer_norm(x, shape, w=None, b=None): return F.layer_norm(x, shape, w, b)
def group_norm(x, groups, w, b): return F.group_norm(x, groups, w, b)
def sdpa(q, k, v, causal): return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
def gelu(x): return F.gelu(x)
def gelu_tanh(x): return F.gelu(x, approximate="tanh")
def silu(x): return F.silu(x)
def softplus(x): return F.softplus(x)
def elu(x): return F.elu(x)
def leaky_relu(x): return F.leaky_relu(x)


def outer(a, b): return torch.outer(a, b)
def reshape(x, shape): return torch.reshape(x, shape)


def transpose(x, axes=None):
    return x.permute(*(range(x.ndim - 1, -1, -1) if axes is None else axes))


def swapaxes(x, a, b): return torch.swapaxes(x, a, b)
def expand_dims(x, axis): return torch.unsqueeze(x, axis)
def squeeze(x, axis=None): return torch.squeeze(x) if axis is None else torch.squeeze(x, axis)
def broadcast_to(x, shape): return torch.broadcast_to(x, shape)


def getitem(x, key):
    """NumPy basic indexing (ints, staged ints, slices of any step, None, Ellipsis) by selects."""
    real = [k for k in key if k is not None and k is not Ellipsis]
    if Ellipsis in key:
        k = key.index(Ellipsis)
        key = key[:k] + (slice(None),) * (x.ndim - len(real)) + key[k + 1:]
    key = key + (slice(None),) * (x.ndim - len([k for k in key if k is not None]))
    d = 0
    for k in key:
        if k is None:
            x = x.unsqueeze(d)
            d += 1
        elif isinstance(k, slice):
            idx = np.arange(x.shape[d])[k]
            x = x.index_select(d, torch.tensor(idx.tolist(), dtype=torch.int64))
            d += 1
        else:
            i = int(k)
            n = x.shape[d]
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for size {n}")
            x = x.select(d, i % n)
    return x


def take(a, idx, axis=0):
    idx = _t(idx)
    n = a.shape[axis]
    flat = idx.reshape(-1) % n if n else idx.reshape(-1)
    out = torch.index_select(a, axis, flat)
    ax = axis % a.ndim
    return out.reshape(a.shape[:ax] + idx.shape + a.shape[ax + 1:])


def concatenate(xs, axis=0): return torch.cat(xs, dim=axis)
def stack(xs, axis=0): return torch.stack(xs, dim=axis)


def pad(x, width):
    w = np.broadcast_to(np.asarray(width, dtype=np.int64), (x.ndim, 2))
    return F.pad(x, [int(v) for pair in w[::-1] for v in pair])


def scatter_add(x, idx, v, axis=0):
    n = x.shape[axis]
    return x.index_add(axis, idx.reshape(-1) % n if n else idx.reshape(-1), v)


def one_hot(x, k, dtype):
    return (x[..., None] == torch.arange(k)).to(getattr(torch, dtype))


def softmax(x, axis=-1): return torch.softmax(x, dim=axis)
def log_softmax(x, axis=-1): return torch.log_softmax(x, dim=axis)
def cross_entropy(logits, t): return F.cross_entropy(logits, t)
def mse_loss(a, b): return F.mse_loss(a, b)
def zeros(shape, dtype): return torch.zeros(shape, dtype=getattr(torch, dtype))
def full(shape, c, dtype): return torch.full(shape, c, dtype=getattr(torch, dtype))


def iota(shape, axis):
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return torch.arange(shape[axis]).reshape(view).expand(shape)


def grad(fn):
    """d fn / dx, itself differentiable (create_graph) so an outer gradient sees through it."""
    def g(x):
        xx = x.clone() if x.requires_grad else x.detach().requires_grad_(True)   # a node of its own
        y = fn(xx)
        if not y.requires_grad:
            return torch.zeros_like(x)
        (gx,) = torch.autograd.grad(y, xx, create_graph=True, allow_unused=True)
        return torch.zeros_like(x) if gx is None else gx
    return g


def cond(p, true_fn, false_fn, *operands):
    return true_fn(*operands) if bool(p) else false_fn(*operands)


def fori_loop(lo, hi, body, init):
    c = _tensors(init)
    for i in range(int(lo), int(hi)):
        c = body(torch.tensor(i), c)
    return c


def while_loop(cond_fn, body_fn, init):
    c = _tensors(init)
    while bool(cond_fn(c)):
        c = body_fn(c)
    return c
