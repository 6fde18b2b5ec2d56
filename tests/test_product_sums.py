"""A matrix product that is one term of an elementwise sum (`w - lr * (x.T @ d)`, `x + h @ w + b`)
is added into the sum's buffer by the gemm itself (codegen.fusion.Epilogue): the same values as the
interpreter for every sign, scale, broadcast, layout and product shape, and left alone where it
would be wrong (the product used twice, other dtypes, a sum fused into a later loop)."""
import re

import numpy as np
import pytest

import stage as st

rng = np.random.default_rng(0)
f32, f64 = np.float32, np.float64


def arr(*shape, dtype=f32):
    return rng.standard_normal(shape).astype(dtype)


def fused(source: str) -> int:
    """How many products the generated code adds into a sum: matmul calls given an alpha (their
    13th argument) with beta 1 (the 10th)."""
    calls = [c.split(", ") for c in re.findall(r"stage::matmul\(([^;]*)\);", source)]
    return sum(len(c) == 13 and c[9] in ("1.0f", "1.0") for c in calls)


def check(fn, *args, expect_fused, rtol=2e-5):
    native = st.compile(fn)
    got = native(*args)
    want = st.compile(fn, backend="interp")(*args)
    for g, w in zip(np.atleast_1d(got) if not isinstance(got, tuple) else got,
                    np.atleast_1d(want) if not isinstance(want, tuple) else want):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)
    assert fused(native.source) == expect_fused, native.source
    return native.source


lr = f32(0.25)
P, A, B = arr(6, 5), arr(6, 7), arr(7, 5)


@pytest.mark.parametrize("name, fn", [
    ("p - lr * (a @ b)", lambda p, a, b, lr: p - lr * (a @ b)),
    ("p - (a @ b) * lr", lambda p, a, b, lr: p - (a @ b) * lr),
    ("p + a @ b", lambda p, a, b, lr: p + a @ b),
    ("a @ b + p", lambda p, a, b, lr: a @ b + p),
    ("a @ b - p", lambda p, a, b, lr: a @ b - p),
    ("p - a @ b", lambda p, a, b, lr: p - a @ b),
    ("p + -(a @ b)", lambda p, a, b, lr: p + -(a @ b)),
    ("p - 0.5 * (a @ b)", lambda p, a, b, lr: p - 0.5 * (a @ b)),
    ("(p + lr) - lr * (a @ b) + p", lambda p, a, b, lr: (p + lr) - lr * (a @ b) + p),
    ("p - lr * (a @ b) - p * lr", lambda p, a, b, lr: p - lr * (a @ b) - p * lr),
])
def test_signs_and_scales(name, fn):
    check(fn, P, A, B, lr, expect_fused=1)


def test_broadcast_terms_transposed_operands_and_residuals():
    bias = arr(5)
    check(lambda a, b, c: a @ b + c, A, B, bias, expect_fused=1)          # a Linear layer (addmm)
    check(lambda x, h, w, c: x + (h @ w + c), P, A, B, bias, expect_fused=1)   # residual + bias
    check(lambda a, b, p: p - 0.1 * (a.T @ b), arr(7, 6), B, P, expect_fused=1)
    check(lambda a, b, p: p + a @ b.T, A, arr(5, 7), P, expect_fused=1)
    check(lambda a, b, s: a @ b + s, A, B, f32(3.0), expect_fused=1)       # a 0-d term


@pytest.mark.parametrize("shapes", [
    ((2, 3, 4), (2, 4, 5)),       # a batch of products
    ((2, 3, 4), (4, 5)),          # a shared right operand (rows folded into one product)
    ((3, 4), (4,)),               # matrix-vector
    ((4,), (4, 5)),               # vector-matrix
    ((40, 600), (600, 30)),       # K much longer than M and N: split over K on threads
    ((300, 64), (64, 200)),       # big enough to be split into blocks of rows
])
def test_product_shapes(shapes):
    a, b = arr(*shapes[0]), arr(*shapes[1])
    p = arr(*np.broadcast_shapes((a @ b).shape))
    check(lambda p, a, b, lr: p - lr * (a @ b), p, a, b, lr, expect_fused=1, rtol=1e-4)
    f = st.compile(lambda p, a, b, lr: p - lr * (a @ b))
    threads = st.get_num_threads()
    try:                                    # the same bits at any thread count
        outs = []
        for n in (1, 2, 3):
            st.set_num_threads(n)
            outs.append(f(p, a, b, lr))
    finally:
        st.set_num_threads(threads)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_float64_and_gradients_through_fused_sums():
    check(lambda p, a, b: p - 0.5 * (a @ b), P.astype(f64), A.astype(f64), B.astype(f64),
          expect_fused=1, rtol=1e-12)

    def loss(w1, w2, x):                    # a residual block: the forward sums fuse, and so do
        h = x + x @ w1                      # the backward's
        return st.sum(st.tanh(h @ w2 + h) ** 2)
    w1, w2, x = arr(5, 5, dtype=f64) * 0.3, arr(5, 5, dtype=f64) * 0.3, arr(4, 5, dtype=f64)
    g = st.compile(st.grad(loss, argnums=(0, 1)))
    gi = st.compile(st.grad(loss, argnums=(0, 1)), backend="interp")
    for a, b in zip(g(w1, w2, x), gi(w1, w2, x)):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    assert fused(g.source) >= 1
    eps = 1e-6                              # and against finite differences
    d = np.zeros_like(w1)
    d[1, 2] = eps
    fd = (st.compile(loss)(w1 + d, w2, x) - st.compile(loss)(w1 - d, w2, x)) / (2 * eps)
    np.testing.assert_allclose(g(w1, w2, x)[0][1, 2], fd, rtol=1e-6)


@pytest.mark.parametrize("name, fn, args", [
    ("the product used twice", lambda p, a, b: (p + a @ b, a @ b * 2.0), (P, A, B)),
    ("the sum fused into tanh", lambda p, a, b: st.tanh(p + a @ b), (P, A, B)),
    ("a float64 sum of a float32 product", lambda p, a, b: p + a @ b,
     (P.astype(f64), A, B)),
    ("a product broadcast into a bigger sum", lambda p, a, b: p + a @ b,
     (arr(3, 6, 5), A, B)),
    ("a product times an array", lambda p, a, b: p - p * (a @ b), (P, A, B)),
    # one node reading the product twice (fuzz seed 300117: q + q came out as q, the second read
    # zero): `uses` counts consuming nodes, so the term must be the product's only read
    ("q + q", lambda p, a, b: (lambda q: q + q)(a @ b), (P, A, B)),
    ("q - q", lambda p, a, b: (lambda q: q - q)(a @ b), (P, A, B)),
    ("p + (q + q)", lambda p, a, b: (lambda q: p + (q + q))(a @ b), (P, A, B)),
    # a sum holding the product, read twice by the next (fuzz seed 3844: outer(x + x, x + x)'s
    # gradient, s + s with s = g @ b + g.T @ a, added the product once)
    ("s + s, s = p + q", lambda p, a, b: (lambda s: s + s)(p + a @ b), (P, A, B)),
    ("an integer product", lambda p, a, b: p + a @ b,
     (np.ones((6, 5), np.int64), np.ones((6, 7), np.int64), np.ones((7, 5), np.int64))),
])
def test_left_alone(name, fn, args):
    check(fn, *args, expect_fused=0)


def test_special_values_and_empty_products():
    p = P.copy()
    p[0, 0], p[1, 1] = np.nan, np.inf
    check(lambda p, a, b, lr: p - lr * (a @ b), p, A, B, lr, expect_fused=1)
    # K == 0: the sum is its other terms
    check(lambda p, a, b: p + a @ b, P, np.zeros((6, 0), f32), np.zeros((0, 5), f32),
          expect_fused=1)
