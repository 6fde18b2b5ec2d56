"""Generators of nn.functional statements (see gen_ops.py for the protocol): convolutions (1-D and
2-D, strides, padding, dilation, groups, with and without bias), max and average pooling, layer
and group normalisation, scaled dot-product attention (causal or not, query and key lengths
differing), and the smooth activations. Their kernels (runtime_cpp conv.h, attention.h, kernels.h)
then meet odd sizes, views and control forms -- and, in the threaded profile, splits of any size."""
from __future__ import annotations

from .features import enabled


def _out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv(g):
    if not enabled("nn_layers"):
        return None
    two = g.rng.random() < 0.7
    groups = int(g.choice([1, 1, 1, 2]))
    cin, cout = groups * int(g.rng.integers(1, 3)), groups * int(g.rng.integers(1, 3))
    n = int(g.rng.integers(1, 3))
    sp = [int(g.rng.integers(1, 6)) for _ in range(2 if two else 1)]
    ks = [int(g.rng.integers(1, 4)) for _ in sp]
    s, p, d = int(g.choice([1, 1, 2])), int(g.choice([0, 0, 1])), int(g.choice([1, 1, 2]))
    out = [_out(a, k, s, p, d) for a, k in zip(sp, ks)]
    if min(out) < 1:
        return None
    x = g.var_of((n, cin, *sp), g.fdt)
    w = g.var_of((cout, cin // groups, *ks), g.fdt)
    args = [x, w] + ([g.var_of((cout,), g.fdt)] if g.rng.random() < 0.6 else [])
    op = ("conv2d" if two else "conv1d") + ("_bias" if len(args) == 3 else "")
    return [g.op(op, args, (n, cout, *out), g.fdt, stride=s, padding=p, dilation=d, groups=groups)]


def pool(g):
    if not enabled("nn_layers"):
        return None
    n, c = int(g.rng.integers(1, 3)), int(g.rng.integers(1, 3))
    h, w = int(g.rng.integers(1, 6)), int(g.rng.integers(1, 6))
    k = int(g.rng.integers(1, 4))
    s = int(g.choice([1, 2])) if g.rng.random() < 0.5 else None
    p = int(g.choice([0, 0, 1])) if k >= 2 else 0          # PyTorch: padding at most k // 2
    oh, ow = _out(h, k, s or k, p, 1), _out(w, k, s or k, p, 1)
    if min(oh, ow) < 1:
        return None
    x = g.var_of((n, c, h, w), g.fdt)
    op = g.choice(["max_pool2d", "avg_pool2d"])
    return [g.op(op, [x], (n, c, oh, ow), g.fdt, k=k, stride=s, padding=p)]


def norm(g):
    # always with a weight and a bias: a normalised array sums to 0 up to rounding, and a branch
    # on that sum (the generator's data predicates) went one way here and the other in PyTorch
    # (seeds 9528, 9767, 10726: false findings)
    # float64 only: normalising a few values that nearly agree (a group of 2, a size-1 axis) in
    # float32 leaves rounding noise of 1e-5 where the exact gradient is 0 -- PyTorch's noise and
    # stage's differ (seeds 3567, 4437), which says nothing about either
    if not enabled("nn_layers") or g.fdt != "float64":
        return None
    if g.rng.random() < 0.5:
        a = g.float_var(min_ndim=1)
        k = int(g.rng.integers(1, min(a.ndim, 2) + 1))
        shape = a.shape[a.ndim - k:]
        wt, b = g.var_of(shape, g.fdt), g.var_of(shape, g.fdt)
        return [g.op("layer_norm_affine", [a, wt, b], a.shape, g.fdt, shape=shape)]
    groups = int(g.choice([1, 2]))
    shape = (int(g.rng.integers(1, 3)), groups * int(g.rng.integers(1, 3)),
             *[int(g.rng.integers(1, 4)) for _ in range(int(g.rng.integers(0, 3)))])
    x = g.var_of(shape, g.fdt)
    wt, b = g.var_of(shape[1:2], g.fdt), g.var_of(shape[1:2], g.fdt)
    return [g.op("group_norm", [x, wt, b], shape, g.fdt, groups=groups)]


def attention(g):
    if not enabled("nn_layers"):
        return None
    b = [int(g.rng.integers(1, 3)) for _ in range(int(g.rng.integers(0, 3)))]
    L, S = int(g.rng.integers(1, 5)), int(g.rng.integers(1, 5))
    E, Ev = int(g.rng.integers(1, 5)), int(g.rng.integers(1, 5))
    causal = bool(g.rng.random() < 0.4)
    q = g.var_of((*b, L, E), g.fdt)
    k = g.var_of((*b, S, E), g.fdt)
    v = g.var_of((*b, S, Ev), g.fdt)
    return [g.op("sdpa", [q, k, v], (*b, L, Ev), g.fdt, causal=causal)]


def activation(g):
    if not enabled("nn_layers"):
        return None
    a = g.float_var()
    return [g.op(g.choice(["gelu", "gelu_tanh", "silu", "softplus", "elu", "leaky_relu"]), [a],
                 a.shape, g.fdt)]
