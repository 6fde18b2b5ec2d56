"""st.assign: one set of rules for both backends (stage.ir.inplace), with imperative meaning: a loop
body that assigns an input is a loop-carried in-place update."""
import numpy as np
import pytest

import stage as st

BACKENDS = ["interp", "native"]


def _both(fn, *args):
    """Run fn on copies of args with each backend; returns [(result, args after), ...]."""
    out = []
    for b in BACKENDS:
        a = [np.array(x, copy=True) for x in args]
        out.append((st.compile(fn, backend=b)(*a), a))
    return out


def test_sgd_epoch_in_one_loop():
    """An epoch of SGD steps, each assigning the weights, inside one fori_loop."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((5, 8, 3)), rng.standard_normal((5, 8))

    def epoch(w, X, Y, n):
        def body(i, total):
            loss, g = st.value_and_grad(lambda w: st.mean((X[i] @ w - Y[i]) ** 2))(w)
            st.assign(w, w - 0.1 * g)
            return total + loss
        return st.fori_loop(0, n, body, 0.0)
    w0 = rng.standard_normal(3)
    expect_w, expect_total = w0.copy(), 0.0
    for i in range(5):
        r = X[i] @ expect_w - Y[i]
        expect_total += np.mean(r ** 2)
        expect_w = expect_w - 0.1 * (2 * X[i].T @ r / 8)
    for total, (w, *_rest) in _both(epoch, w0, X, Y, np.int64(5)):
        np.testing.assert_allclose(total, expect_total, rtol=1e-10)
        np.testing.assert_allclose(w, expect_w, rtol=1e-10)


def test_loop_reads_the_current_value_not_an_outer_copy():
    """An expression computed before the loop is not reused for the same expression in a body
    that updates the array it reads (each iteration sees the new values)."""
    def f(w, n):
        before = st.sum(w * 2.0)
        def body(i, acc):
            now = st.sum(w * 2.0)
            st.assign(w, w + 1.0)
            return acc + now
        return st.fori_loop(0, n, body, 0.0), before
    w0 = np.arange(3.0)
    for (total, before), (w, _) in _both(f, w0, np.int64(3)):
        assert before == 6.0
        assert total == 6.0 + 12.0 + 18.0
        np.testing.assert_array_equal(w, w0 + 3)


def test_value_computed_before_the_update_keeps_the_old_values():
    """A value computed from x before x's update is used after it (native fusion must not
    compute it after the store)."""
    def f(x):
        y = x * 2.0
        st.assign(x, x + 1.0)
        return st.sum(y)
    x0 = np.arange(4.0)
    for total, (x,) in _both(f, x0):
        assert total == 12.0
        np.testing.assert_array_equal(x, x0 + 1)


def test_while_loop_with_assign():
    def f(x, k):
        def cond(c):
            return c < k
        def body(c):
            st.assign(x, x * 2.0)
            return c + 1
        return st.while_loop(cond, body, np.int64(0))
    for n, (x, _k) in _both(f, np.ones(2), np.int64(4)):
        assert n == 4
        np.testing.assert_array_equal(x, [16.0, 16.0])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ["read_after", "view_after", "returned", "in_function", "not_input"])
def test_rules_are_the_same_for_both_backends(backend, case):
    @st.function
    def helper(x):
        st.assign(x, x + 1.0)
        return x

    def read_after(x):
        st.assign(x, x * 2.0)
        return x + 1.0

    def view_after(x):
        v = x.T
        st.assign(x, x * 2.0)
        return v * 1.0

    def returned(x):
        st.assign(x, x * 2.0)
        return x

    def in_function(x):
        return helper(x) * 1.0

    def not_input(x):
        y = x * 2.0
        st.assign(y, y + 1.0)
        return y.sum()
    fn = locals()[case]
    with pytest.raises(st.StageError, match="assign"):
        st.compile(fn, backend=backend)(np.ones((2, 2)))


def test_interpreter_runs_deep_loops_under_grad():
    """The oracle is not the weaker backend: a loop under grad is a recursion as deep as the trip
    count, which the interpreter runs on an explicit stack (it used to stop near 30,000)."""
    def loss(w, n):
        return st.fori_loop(0, n, lambda i, c: c * w, 1.0)
    g = st.compile(st.grad(loss), backend="interp")(np.float64(1.0), np.int64(40_000))
    assert g == 40_000.0
