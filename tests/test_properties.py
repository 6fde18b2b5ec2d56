"""Property-based checks (hypothesis): NumPy broadcasting and reduction semantics on random shapes,
staged and interpreted against NumPy itself, and a few compiled; gradients of random broadcasting
expressions by finite differences (the un-broadcasting of cotangents is done once, in the CPS step)."""
import numpy as np
from hypothesis import given, settings, strategies as hs

import stage as st

dims = hs.integers(min_value=1, max_value=4)


@hs.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast: a common shape, with dims dropped or set to 1 on either side."""
    shape = draw(hs.lists(dims, min_size=0, max_size=3))
    def variant():
        s = [1 if draw(hs.booleans()) else n for n in shape]
        return tuple(s[draw(hs.integers(0, len(s))):])
    return variant(), variant()


@settings(max_examples=60, deadline=None)
@given(broadcastable_pair(), hs.sampled_from(["add", "multiply", "maximum", "subtract"]),
       hs.integers(0, 2**31 - 1))
def test_binary_broadcasting_matches_numpy(shapes, op, seed):
    r = np.random.default_rng(seed)
    a, b = (r.standard_normal(s) for s in shapes)
    f = st.compile(lambda a, b: getattr(st, op)(a, b), backend="interp")
    np.testing.assert_allclose(f(a, b), getattr(np, op)(a, b), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(hs.lists(dims, min_size=1, max_size=4), hs.data(), hs.booleans(),
       hs.sampled_from(["sum", "max", "mean"]))
def test_reductions_match_numpy(shape, data, keepdims, op):
    axes = data.draw(hs.lists(hs.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape),
                              max_size=len(shape)))
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    axis = tuple(axes) if axes else None
    f = st.compile(lambda x: getattr(st, op)(x, axis=axis, keepdims=keepdims), backend="interp")
    np.testing.assert_allclose(f(x), getattr(np, op)(x, axis=axis, keepdims=keepdims), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(broadcastable_pair(), hs.integers(0, 2**31 - 1))
def test_gradient_of_broadcasting_expression(shapes, seed):
    """d/da and d/db of sum(tanh(a * b + a)) agree with finite differences, whatever broadcasts."""
    r = np.random.default_rng(seed)
    a, b = (r.standard_normal(s) for s in shapes)

    def f(a, b):
        return st.sum(st.tanh(a * b + a))
    ga, gb = st.compile(st.grad(f, (0, 1)), backend="interp")(a, b)
    assert ga.shape == a.shape and gb.shape == b.shape
    ev = st.compile(f, backend="interp")
    for x, g, k in ((a, ga, 0), (b, gb, 1)):
        t = r.standard_normal(x.shape)
        args = [a, b]
        args[k] = x + 1e-6 * t
        up = float(ev(*args))
        args[k] = x - 1e-6 * t
        fd = (up - float(ev(*args))) / 2e-6
        assert abs(float(np.sum(g * t)) - fd) <= 1e-6 * max(1.0, abs(fd))


@settings(max_examples=6, deadline=None)
@given(broadcastable_pair(), hs.integers(0, 2**31 - 1))
def test_compiled_broadcasting_matches_interpreter(shapes, seed):
    r = np.random.default_rng(seed)
    a, b = (r.standard_normal(s).astype(np.float32) for s in shapes)

    def f(a, b):
        return st.tanh(a * b - st.sum(a)), st.grad(lambda a: st.sum(st.square(a * b)))(a)
    (y, g), (y2, g2) = st.compile(f, cxxflags="-O1")(a, b), st.compile(f, backend="interp")(a, b)
    # float32: the sum's rounding (summation order differs) is about n * eps * max|a|
    tol = a.size * 6e-8 * max(1.0, float(np.abs(a).max()))
    np.testing.assert_allclose(y, y2, rtol=1e-5, atol=tol)
    np.testing.assert_allclose(g, g2, rtol=1e-5, atol=1e-5)
