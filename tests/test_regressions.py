"""Regressions of issue 10's defect list (found by an outside fuzzing audit): each program runs on
both backends and agrees with the interpreter / NumPy / PyTorch."""
import numpy as np
import pytest

import stage as st

BACKENDS = ["interp", "native"]


def _agree(fn, *args, rtol=1e-12):
    """Run fn with both backends; return the native result after checking it equals the
    interpreter's (pytrees flattened)."""
    from stage import pytree
    native = st.compile(fn)(*args)
    a = pytree.flatten(st.compile(fn, backend="interp")(*args))[0]
    b = pytree.flatten(native)[0]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=rtol, atol=1e-12)
    return native


def test_1_cond_returning_broadcast_views_under_grad():
    """Copies of views passed to a continuation must not reuse the memory of its other arguments."""
    def f(p, c, s, w):
        r = lambda: st.broadcast_to(s, (1, 2))      # noqa: E731
        y, _, _ = st.cond(p, lambda: (c * np.ones((4, 2)), st.zeros((1, 2), "float64"),
                                      st.zeros((2,), "float64")),
                          lambda: (c * np.ones((4, 2)), r(), r()[0]))
        return st.sum(y * w), y
    vg = st.value_and_grad(f, argnums=1, has_aux=True)
    for p in (False, True):
        out = _agree(vg, np.array(p), np.array([[1., 2.]]), np.array(-7.), np.ones((4, 2)))
        np.testing.assert_array_equal(out[0][1], np.tile([1., 2.], (4, 1)))    # y


def test_2_matmul_with_a_1x1_result_under_grad():
    ga, gb = _agree(st.grad(lambda a, b: st.sum(a @ b), argnums=(0, 1)),
                    np.ones((1, 3)), np.arange(3.0).reshape(3, 1))
    np.testing.assert_array_equal(ga, [[0., 1., 2.]])
    np.testing.assert_array_equal(gb, np.ones((3, 1)))


def test_3_copy_made_in_a_branch_is_not_used_outside_it():
    def f(x, k, b, c, p):
        v = x[:, None, :, k]
        y = v @ b
        return st.cond(p, lambda: st.mean(st.tanh(y)) + st.mean(v @ c), lambda: st.sum(c))
    for p in (True, False):
        _agree(st.grad(f, argnums=(2, 3)), np.arange(20.).reshape(2, 5, 2) / 10, np.int64(1),
               np.ones((5, 2)), np.ones(5), np.array(p))


def test_4_integer_output_passed_through_a_continuation():
    a = np.ones(3)

    def g(x, n, b, w, k):
        c = st.fori_loop(0, n, lambda i, c: c * 0.5, x)
        return st.sum(c) + st.sum((a @ b) * w), k
    out = _agree(st.value_and_grad(g, argnums=(0, 2), has_aux=True), np.ones((1, 2)), np.int64(4),
                 np.ones((3, 1)), np.ones(1), np.arange(3).reshape(1, 3))
    np.testing.assert_array_equal(out[0][1], [[0, 1, 2]])


def test_5_a_kernel_reading_its_argument_twice():
    g = _agree(st.grad(lambda x, w: st.sum((x[::-1] + x) * w)), np.ones(3), np.array([1., 2., 4.]))
    np.testing.assert_array_equal(g, [5., 4., 5.])


@pytest.mark.parametrize("backend", BACKENDS)
def test_6_empty_negative_step_slice(backend):
    x = np.arange(5.)
    for key in (slice(-6, None, -2), slice(-7, -9, -1), slice(None, -7, -1), slice(3, 1, 1)):
        out = st.compile(lambda x, key=key: x[key] * 1.0, backend=backend)(x)
        np.testing.assert_array_equal(out, x[key])


@pytest.mark.parametrize("backend", BACKENDS)
def test_9_reductions_without_identity_of_empty_arrays(backend):
    for fn in (lambda x: st.max(x), lambda x: st.argmax(x), lambda x: st.logsumexp(x),
               lambda x: st.max(x, axis=1)):
        with pytest.raises(ValueError, match="zero-size|empty"):
            st.compile(fn, backend=backend)(np.zeros((3, 0)))
    # an empty result of a reduction over a non-empty axis is fine, as in NumPy
    out = st.compile(lambda x: st.max(x, axis=1), backend=backend)(np.zeros((0, 3)))
    assert out.shape == (0,)


@pytest.mark.parametrize("backend", BACKENDS)
def test_12_no_nan_from_ignored_targets(backend):
    x, t = np.ones((2, 3)), np.array([-100, -100])
    for loss in (lambda x, t: st.nn.cross_entropy(x, t),
                 lambda x, t: st.nn.functional.nll_loss(st.log_softmax(x, -1), t)):
        value, g = st.compile(st.value_and_grad(loss), backend=backend)(x, t)
        assert np.isnan(value)                  # 0 / 0, as PyTorch says
        np.testing.assert_array_equal(g, np.zeros((2, 3)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_12_python_float_carry_next_to_float64_arrays(backend):
    """A Python float carried with float64 arrays is float64 (NumPy's weak-scalar rule), with
    float32 arrays float32."""
    for dt in (np.float64, np.float32):
        f = st.compile(lambda x, n: st.fori_loop(0, n, lambda i, c: (c[0] + 0.1, c[1] * 2),
                                                 (0.0, x)), backend=backend)
        total, x = f(np.ones(2, dt), np.int64(3))
        assert total.dtype == dt and x.dtype == dt
        np.testing.assert_allclose(total, 0.30000000000000004 if dt == np.float64 else 0.3,
                                   rtol=1e-15 if dt == np.float64 else 1e-6)


def test_bad_shapes_and_leaked_values_are_clear_errors():
    with pytest.raises(TypeError, match="integers"):
        st.compile(lambda x: st.zeros((2.5,)) + x)(np.float64(0))
    with pytest.raises(ValueError, match="too large"):
        st.compile(lambda x: st.broadcast_to(x, (2**62, 4)))(np.ones(4))
    keep = {}

    def first(x):
        keep["r"] = x * 2.0
        return keep["r"]
    st.compile(first, backend="interp")(np.ones(2))
    with pytest.raises(st.StageError, match="staging that has ended"):
        st.compile(lambda y: y + keep["r"], backend="interp")(np.ones(2))


def test_sanitizer_option_of_compile():
    """st.compile(fn, sanitize=...) builds with the sanitizer (UBSan needs no preloading)."""
    import subprocess
    f = st.compile(lambda x: st.sum(x * 2.0), sanitize="undefined")
    assert f(np.ones(3)) == 6.0
    deps = subprocess.run(["ldd", f.library_path], capture_output=True, text=True).stdout
    assert "ubsan" in deps


# -- found by the differential fuzzer (tests/fuzz) -----------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzz_a_loop_carries_are_assigned_all_at_once(backend):
    x, z = np.array([1., 2.]), np.array([5., 6.])
    swap = st.compile(lambda x, z, n: st.fori_loop(0, n, lambda i, c: (c[1], c[0]), (x, z)),
                      backend=backend)
    for n, expect in ((1, (z, x)), (2, (x, z)), (3, (z, x))):
        out = swap(x, z, np.int64(n))
        np.testing.assert_array_equal(out[0], expect[0])
        np.testing.assert_array_equal(out[1], expect[1])
    rot = st.compile(lambda x, z, n: st.while_loop(lambda c: c[0] < n,
                                                   lambda c: (c[0] + 1, c[2], c[1]), (0, x, z)),
                     backend=backend)
    k, a, b = rot(x, z, np.int64(1))
    np.testing.assert_array_equal(a, z)
    np.testing.assert_array_equal(b, x)
    # a carry whose result is unused still owns its memory through the loop
    dead = st.compile(lambda x, z, n: st.fori_loop(0, n, lambda i, c: (z, c[1]), (z, x))[1],
                      backend=backend)
    np.testing.assert_array_equal(dead(np.array([1., 2., 3.]), np.full(3, 5.0), np.int64(2)),
                                  [1., 2., 3.])


@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzz_b_c_d_empty_axes(backend):
    assert st.compile(lambda x: st.log_softmax(x, axis=1), backend=backend)(
        np.zeros((2, 0))).shape == (2, 0)
    assert st.compile(lambda x: st.softmax(x, axis=1), backend=backend)(
        np.zeros((2, 0))).shape == (2, 0)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(
            st.compile(lambda x: st.var(x, axis=0), backend=backend)(np.zeros((0, 2))),
            np.var(np.zeros((0, 2)), axis=0))
        assert st.compile(lambda x: st.var(x, ddof=2), backend=backend)(
            np.array([1., 2.])) == np.var(np.array([1., 2.]), ddof=2)
    g = st.compile(st.grad(lambda a, b: st.sum(a @ b), argnums=(0, 1)), backend=backend)
    assert [r.shape for r in g(np.ones((2, 4, 3)), np.ones((3, 0)))] == [(2, 4, 3), (3, 0)]
    assert [r.shape for r in g(np.ones((2, 4, 0)), np.ones((0,)))] == [(2, 4, 0), (0,)]
    with pytest.raises(ValueError, match="ambiguous"):
        st.compile(lambda x: st.reshape(x, (-1, 0)), backend=backend)(np.zeros((0, 3)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_assigned_input_aliasing_another_input_is_refused(backend):
    def step(w, x):
        st.assign(w, w - 0.1 * x)
        return st.sum(x)
    f = st.compile(step, backend=backend)
    w, x = np.ones(4), np.ones(4)
    f(w, x)                                          # fine: distinct arrays
    for other in (w, w[:]):                          # the same array, or a view of it
        with pytest.raises(ValueError, match="shares its memory"):
            f(w, other)
    np.testing.assert_allclose(w, 0.9)               # nothing was written by the refused calls


@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzz_e_f_copies_for_a_call_keep_the_continuations_captures(backend):
    # The copies of a branch's views made to call the continuation were placed in slots of values
    # the continuation captures (its last use was taken before the copies): wrong values (fuzz E, F).
    def f(x, w, p, s, t):
        v = st.sum(x, keepdims=True)
        st.cond(p, lambda: (t, t), lambda: (st.broadcast_to(s, (2, 1)), st.broadcast_to(s, (2, 1))))
        return st.sum(v * w)
    args = (np.array([1., 2., 3.]), np.array([0.5]), np.array(False), np.float64(-7.0), np.ones((2, 1)))
    val, dx = st.compile(st.value_and_grad(f), backend=backend)(*args)
    assert float(val) == 3.0
    np.testing.assert_array_equal(dx, 0.5)

    def g(b, w, p, s, t):
        _, y1 = st.cond(p, lambda: (t, t),
                        lambda: (st.broadcast_to(b, (2, 3)), st.broadcast_to(s, (2, 3))))
        return st.sum(y1 * w)
    args = (np.array([[-0.3], [0.07]]), np.ones((2, 3)), np.array(False), np.float64(1.5),
            np.full((2, 3), 9.0))
    db, dw = st.compile(st.grad(g, argnums=(0, 1)), backend=backend)(*args)
    np.testing.assert_array_equal(db, 0.0)
    np.testing.assert_array_equal(dw, 1.5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzz_g_a_repeated_loop_result_stays_live_through_the_carry_copies(backend):
    # One body result returned as two carries (CSE makes the two tanh one value): the temporary of
    # a later carry took its slot before the second copy read it (fuzz seed 229).
    def f(x, p):
        def body(i, c):
            a, b, d = c
            v = st.where(p, b, d)
            return st.tanh(v), a, st.tanh(v)
        return st.fori_loop(0, 3, body, (x, x, x))
    x, p = np.array([0.3, 1.8, -0.77]), np.array([True, False, True])
    a, b, d = st.compile(f, backend=backend)(x, p)
    ra, rb, rd = x, x, x
    for _ in range(3):
        v = np.where(p, rb, rd)
        ra, rb, rd = np.tanh(v), ra, np.tanh(v)
    for got, want in ((a, ra), (b, rb), (d, rd)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fuzz_h_an_unused_loop_is_not_differentiated(backend):
    # A loop whose results never reach the loss ran backward with zero cotangents: 0 * nan = nan
    # where PyTorch and JAX give 0 (fuzz seed 501). Only what reaches the results is differentiated.
    def f(x, y, e):
        nan = st.mse_loss(e, e)                      # the mean of nothing
        st.fori_loop(0, 2, lambda i, c: st.power(st.abs(c) + 0.5, nan), x)
        return y * 2.0
    dx, dy = st.compile(st.grad(f, argnums=(0, 1)), backend=backend)(
        np.float64(0.7), np.float64(0.9), np.zeros(0))
    assert float(dx) == 0.0 and float(dy) == 2.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_dead_loop_carries_give_no_nan_gradient(backend):
    """A carry nothing reads after the loop (here NaN from power(., nan)) used to send 0 * NaN
    into the other gradients; loops drop such carries (stage.ir.carries). A carry read only by a
    while loop's condition, or feeding a used carry, stays (PyTorch gives the same gradients)."""
    def fori(x, y):
        def body(i, c):
            a, b, k = c
            return a * 2.0 + k, st.power(st.abs(b) + 0.5, np.nan), k * 0.5
        return st.sum(st.fori_loop(0, 3, body, (x, y, x))[0])

    def while_(x, y):
        def body(c):
            n, a, b, dead = c
            return n + 1, a * b, b * 1.5, dead / 0.0
        return st.sum(st.while_loop(lambda c: c[0] < 3, body, (0, x, y, x))[1])
    x, y = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    gx, gy = st.compile(st.grad(fori, (0, 1)), backend=backend)(x, y)
    np.testing.assert_allclose(gx, [13.25, 13.25])      # a_3 = 2 (2 (3x) + x/2) + x/4
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    gx, gy = st.compile(st.grad(while_, (0, 1)), backend=backend)(x, y)
    # a_3 = x * y^3 * 1.5^3: d/dx = y^3 1.5^3, d/dy = 3 x y^2 1.5^3
    np.testing.assert_allclose(gx, y ** 3 * 1.5 ** 3)
    np.testing.assert_allclose(gy, 3 * x * y ** 2 * 1.5 ** 3)


@pytest.mark.parametrize("fill", [-0.5, -np.inf, -3])
def test_fuzz_i_negating_a_negative_constant(fill):
    # -full(..., -0.5) became `--0.5` in C++ (a decrement of a literal: the build failed) where the
    # interpreter gave 0.5 (fuzz seed 1345, found after the NumPy vocabulary joined the fuzzer)
    dtype = "int64" if isinstance(fill, int) else "float64"
    def f(x):
        return x - st.full((3,), fill, dtype), -st.full((2, 3), fill, dtype) * x
    _agree(f, np.arange(3.0))


def test_fuzz_j_a_broadcast_row_times_a_shared_matrix():
    # (b, 1, k) @ (k, n) with the single row broadcast over the batch (stride 0): the batch was
    # folded into the rows of one gemm with the row's own leading dimension, so rows after the
    # first were read past the operand (fuzz seed 1739: garbage, 1e-321)
    x, w = np.array([0.75, -0.25, 2.0]), np.arange(6.0).reshape(3, 2)
    for shape in ((2, 1, 3), (3, 2, 1, 3)):
        out = _agree(lambda x, w: st.broadcast_to(x, shape) @ w, x, w)
        np.testing.assert_allclose(out, np.broadcast_to(x, shape) @ w, rtol=1e-14)
    out = _agree(lambda x, w: st.broadcast_to(x[None, :], (4, 3)) @ w, x, w)     # 2-D: fine
    np.testing.assert_allclose(out, np.broadcast_to(x, (4, 3)) @ w, rtol=1e-14)


def test_fuzz_k_an_empty_sum_added_to_a_gradient_keeps_it():
    # the gradient of minimum(e, x) with e of shape (0, 2) sums over the empty axis into x's
    # gradient, which other terms (the flip) had filled: the empty sum overwrote it with zeros
    # instead of adding nothing (fuzz seed 2744; seed 2923 the same through a scatter_add)
    def f(e, p, x, w):
        u = st.cond(p, lambda: st.sum(st.minimum(e * 1.0, x)), lambda: st.sum(x + 2.0))
        return u + st.sum(st.flip(x, axis=-1) * w)
    w = np.array([-0.8, -0.03])
    for p in (True, False):
        g = _agree(st.grad(f, argnums=2), np.zeros((0, 2)), np.array(p), np.array([-0.9, 0.7]), w)
        np.testing.assert_allclose(g, w[::-1] + (0.0 if p else 1.0), rtol=1e-14)


def test_fuzz_l_a_gradient_sum_read_twice():
    # outer(a, a) with a = x + x: a's gradient g @ a + g.T @ a is summed twice (the gradient of
    # x + x); the second product was added once into that sum's buffer, not twice (seed 3844)
    g = _agree(st.grad(lambda x, w: st.sum(st.outer(x + x, x + x) * w)),
               np.array([0.5, -1.5]), np.array([[1.0, 2.0], [3.0, 4.0]]))
    a, w = np.array([1.0, -3.0]), np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(g, 2 * (w @ a + w.T @ a), rtol=1e-14)
