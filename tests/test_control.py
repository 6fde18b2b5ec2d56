"""Gradients through staged control flow (cond, loops with runtime trip counts, recursion), checked by
finite differences in float64 on both tiers (interpreter and compiled), and against PyTorch eager
running the same model in plain Python when torch is installed."""
import numpy as np
import pytest

import stage as st

BACKENDS = ["interp", "native"]


def fd_directional(f, args, argnum, direction, eps=1e-6):
    a1, a2 = list(args), list(args)
    a1[argnum] = args[argnum] + eps * direction
    a2[argnum] = args[argnum] - eps * direction
    return (float(f(*a1)) - float(f(*a2))) / (2 * eps)


def check_grad(f, args, argnum=0, backend="native", rtol=1e-6, seed=0):
    """<grad, t> == central difference of f along t (float64)."""
    g = st.compile(st.grad(f, argnum), backend=backend)(*args)
    ev = st.compile(f, backend="interp")
    t = np.random.default_rng(seed).standard_normal(np.shape(args[argnum]))
    lhs = float(np.sum(g * t))
    rhs = fd_directional(ev, args, argnum, t)
    assert lhs == pytest.approx(rhs, rel=rtol, abs=1e-8), (lhs, rhs)
    return g


rng = np.random.default_rng(42)


# ------------------------------------------------------------------------------------------ cond

def branchy(x, w):
    y = st.cond(st.sum(x) > 0, lambda a: st.tanh(a * w), lambda a: a * a * w, x)
    return st.sum(y * x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [1, -1])
def test_cond_both_branches(backend, sign):
    x = sign * np.abs(rng.standard_normal(4)) + 0.1 * sign
    w = rng.standard_normal(4)
    check_grad(branchy, [x, w], 0, backend)
    check_grad(branchy, [x, w], 1, backend)


def test_cond_static_predicate_is_evaluated_at_staging():
    f = st.compile(lambda x: st.cond(True, lambda: x * 2, lambda: x * 3), backend="interp")
    assert float(f(np.float64(1.0))) == 2.0
    assert "cond" not in f.ir


def test_cond_branches_must_agree():
    f = st.compile(lambda x: st.cond(x > 0, lambda: x, lambda: st.stack([x, x])))
    with pytest.raises(st.StageTypeError, match="cond"):
        f(np.float32(1.0))


# ------------------------------------------------------------------------------------------ loops

def rnn_loss(w, x, n):
    def body(i, c):
        h, l = c
        h = st.tanh(x[i] @ w + h)
        return h, l + st.sum(h * h)
    h, l = st.fori_loop(0, n, body, (st.zeros((3,), "float64"), 0.0))
    return l


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_fori_runtime_trip_count(backend, n):
    w = rng.standard_normal((2, 3)) * 0.5
    x = rng.standard_normal((6, 2))
    g = check_grad(rnn_loss, [w, x, np.int64(n)], 0, backend)
    if n == 0:
        assert np.all(g == 0)


def test_one_library_for_every_trip_count():
    w = rng.standard_normal((2, 3)) * 0.5
    x = rng.standard_normal((6, 2))
    step = st.compile(st.value_and_grad(rnn_loss))
    ev = st.compile(st.value_and_grad(rnn_loss), backend="interp")
    for n in (3, 0, 6, 1):
        v, g = step(w, x, np.int64(n))
        v2, g2 = ev(w, x, np.int64(n))
        np.testing.assert_allclose(v, v2, rtol=1e-12)
        np.testing.assert_allclose(g, g2, rtol=1e-10, atol=1e-12)
    assert step.num_specializations == 1


def collatz_like(x):
    """A while loop whose trip count depends on the data."""
    def cond(s):
        return s[1] < 5.0

    def body(s):
        return s[0] * 1.5, s[1] + st.sum(s[0])
    v, _ = st.while_loop(cond, body, (x, 0.0))
    return st.sum(v * v)


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_loop_data_dependent(backend):
    for x in (np.array([0.3, 0.4]), np.array([2.0, 1.0]), np.array([0.01, 0.02])):
        check_grad(collatz_like, [x], 0, backend)


def nested(x, n, m):
    def outer(i, c):
        return st.fori_loop(0, m, lambda j, d: st.sin(d * 1.1 + c), c) * 0.9
    return st.sum(st.fori_loop(0, n, outer, x))


def loop_in_branch(x, n):
    return st.sum(st.cond(st.sum(x) > 0,
                          lambda: st.fori_loop(0, n, lambda i, c: st.tanh(c * 1.3), x),
                          lambda: x * x))


def branch_in_loop(x, n):
    def body(i, c):
        return st.cond(st.sum(c) > 0, lambda: c * 0.5 - 0.3, lambda: st.tanh(c) + 0.5)
    return st.sum(st.fori_loop(0, n, body, x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_and_mixed_control_flow(backend):
    x = rng.standard_normal(3)
    check_grad(nested, [x, np.int64(3), np.int64(2)], 0, backend)
    check_grad(loop_in_branch, [np.abs(x), np.int64(3)], 0, backend)
    check_grad(loop_in_branch, [-np.abs(x), np.int64(3)], 0, backend)
    check_grad(branch_in_loop, [x, np.int64(6)], 0, backend)


# ------------------------------------------------------------------------------------------ recursion

@st.function
def even(n, x):
    return st.cond(n == 0, lambda: x, lambda: odd(n - 1, x) * 1.5)


@st.function
def odd(n, x):
    return st.cond(n == 0, lambda: st.sin(x), lambda: even(n - 1, st.tanh(x)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 3, 4])
def test_mutual_recursion(backend, n):
    check_grad(lambda x, k: st.sum(even(k, x)), [rng.standard_normal(2), np.int64(n)], 0, backend)


@st.function
def tree_value(i, left, right, feat, w, u):
    return st.cond(left[i] < 0,
                   lambda: st.tanh(feat[i] * w),
                   lambda: st.tanh(tree_value(left[i], left, right, feat, w, u) *
                                   tree_value(right[i], left, right, feat, w, u) + u))


def tree_loss(w, u, left, right, feat, root):
    return st.sum(tree_value(root, left, right, feat, w, u))


def random_tree(n_leaves, seed):
    """A random binary tree as index arrays (children before parents); returns arrays and root."""
    r = np.random.default_rng(seed)
    left, right = [-1] * n_leaves, [-1] * n_leaves
    pool = list(range(n_leaves))
    while len(pool) > 1:
        i = r.integers(len(pool) - 1)
        a, b = pool[i], pool[i + 1]
        left.append(a)
        right.append(b)
        pool[i:i + 2] = [len(left) - 1]
    return np.array(left, np.int64), np.array(right, np.int64), np.int64(pool[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_tree_recursion(backend):
    left, right, root = random_tree(6, 3)
    feat = rng.standard_normal((len(left), 3))
    w, u = rng.standard_normal(3) * 0.5, rng.standard_normal(3) * 0.5
    check_grad(tree_loss, [w, u, left, right, feat, root], 0, backend)
    check_grad(tree_loss, [w, u, left, right, feat, root], 1, backend)


def test_tree_recursion_against_torch():
    torch = pytest.importorskip("torch")
    left, right, root = random_tree(9, 5)
    feat = rng.standard_normal((len(left), 3))
    w, u = rng.standard_normal(3) * 0.5, rng.standard_normal(3) * 0.5
    v, (gw, gu) = st.compile(st.value_and_grad(tree_loss, (0, 1)))(w, u, left, right, feat, root)
    tw = torch.tensor(w, requires_grad=True)
    tu = torch.tensor(u, requires_grad=True)
    tf = torch.tensor(feat)

    def rec(i):
        if left[i] < 0:
            return torch.tanh(tf[i] * tw)
        return torch.tanh(rec(left[i]) * rec(right[i]) + tu)
    tv = rec(int(root)).sum()
    tv.backward()
    np.testing.assert_allclose(v, tv.item(), rtol=1e-12)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gu, tu.grad.numpy(), rtol=1e-10)


def test_rnn_against_torch():
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((2, 3)) * 0.5
    x = rng.standard_normal((6, 2))
    step = st.compile(st.value_and_grad(rnn_loss))
    for n in (4, 6):
        v, g = step(w, x, np.int64(n))
        tw = torch.tensor(w, requires_grad=True)
        h, loss = torch.zeros(3, dtype=torch.float64), 0.0
        for i in range(n):
            h = torch.tanh(torch.tensor(x[i]) @ tw + h)
            loss = loss + (h * h).sum()
        loss.backward()
        np.testing.assert_allclose(v, loss.item(), rtol=1e-12)
        np.testing.assert_allclose(g, tw.grad.numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------------------ depth

def decay(x, n):
    return st.sum(st.fori_loop(0, n, lambda i, c: c * 0.99999 + 0.00001, x))


def test_loop_of_100k_iterations_under_grad():
    g = st.compile(st.grad(decay))(np.ones(2), np.int64(100_000))
    np.testing.assert_allclose(g, 0.99999 ** 100_000, rtol=1e-9)


def test_too_deep_raises_recursion_error():
    with pytest.raises(RecursionError, match="STAGE_STACK_MB"):
        st.compile(st.grad(decay))(np.ones(2), np.int64(50_000_000))


def test_tree_of_depth_10000():
    n = 10_001                      # a left comb: node k has children k-1 (comb) and a leaf
    left = np.full(2 * n, -1, np.int64)
    right = np.full(2 * n, -1, np.int64)
    node = 0                        # leaf 0 starts the comb
    nxt = 1
    for _ in range(n - 1):
        leaf = nxt
        parent = nxt + 1
        left[parent], right[parent] = node, leaf
        node, nxt = parent, nxt + 2
    feat = np.full((2 * n, 3), 0.5)
    w, u = np.full(3, 0.9), np.full(3, 0.1)
    args = [w, u, left, right, feat, np.int64(node)]
    v, g = st.compile(st.value_and_grad(tree_loss, 1))(*args)
    h_leaf = np.tanh(0.5 * 0.9)
    h = h_leaf
    for _ in range(n - 1):
        h = np.tanh(h * h_leaf + 0.1)
    np.testing.assert_allclose(v, 3 * h, rtol=1e-10)
    t = np.array([1.0, -0.5, 0.25])
    fd = fd_directional(st.compile(tree_loss), args, 1, t)
    assert float(np.sum(g * t)) == pytest.approx(fd, rel=1e-6)


# ------------------------------------------------------------------------------------------ composition

def test_grad_inside_loop_body_and_epoch_as_one_call():
    """A whole epoch (loop over examples, gradient, SGD update) is one native call."""
    X = rng.standard_normal((16, 3))
    Y = X @ np.array([1.0, -2.0, 0.5]) + 0.3

    def loss(w, x, y):
        return st.square(st.sum(x * w[:3]) + w[3] - y)

    def epoch(w, X, Y, n, lr):
        def body(i, w):
            g = st.grad(loss)(w, X[i], Y[i])
            return w - lr * g
        return st.fori_loop(0, n, body, w)
    f = st.compile(epoch)
    fi = st.compile(epoch, backend="interp")
    w = np.zeros(4)
    for _ in range(30):
        w = f(w, X, Y, np.int64(16), np.float64(0.05))
    np.testing.assert_allclose(w, [1.0, -2.0, 0.5, 0.3], atol=1e-3)
    np.testing.assert_allclose(f(w, X, Y, np.int64(7), np.float64(0.05)),
                               fi(w, X, Y, np.int64(7), np.float64(0.05)), rtol=1e-12)


@st.function
def _sum_to(x, n):
    if n <= 0:                      # the base case returns a bare Python float
        return 0.0
    return x[n - 1] + _sum_to(x, n - 1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recursive_base_case_python_float_takes_the_arguments_dtype(backend, dtype):
    """A bare `0.0` base case is a weak scalar (NEP 50): the result keeps the arguments' float
    dtype (float32 stays float32, as x[0] + 0.0 does in NumPy), it does not become float64."""
    x = np.array([1.5, 2.0, 4.0], dtype)
    fn = st.compile(lambda x, n: _sum_to(x, n) * 2, backend=backend)
    out = fn(x, np.int64(3))
    assert out.dtype == np.dtype(dtype) and out == 15.0
    g = st.compile(st.grad(lambda x, n: _sum_to(x, n) * 2), backend=backend)(x, np.int64(2))
    assert g.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(g, [2.0, 2.0, 0.0])
