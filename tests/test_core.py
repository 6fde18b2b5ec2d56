"""Core behaviour: staging (static folding, CSE, DCE, specialisation), higher-order gradients,
gradients used inside staged code, and large programs."""
import numpy as np
import pytest

import stage as st
from stage.codegen.build import generate
from stage.program import trace

rng = np.random.default_rng(0)


def test_python_values_are_static_and_fold():
    def f(x, k):
        y = x
        for _ in range(k):          # unrolled at staging time
            y = y * 2.0
        return y + (3 + 4)          # folded in Python
    c = st.compile(f, backend="interp")
    np.testing.assert_allclose(c(np.float32(1.5), 3), 1.5 * 8 + 7)
    assert c.ir.count("multiply") == 3 and "add(" in c.ir
    c(np.float32(1.5), 2)           # a new static value: a new specialisation
    assert c.num_specializations == 2
    c(np.float32(2.5), 2)           # same signature: cached
    assert c.num_specializations == 2


def test_cse_and_dce():
    def f(x, y):
        a = st.exp(x) * y
        b = st.exp(x) * y           # same pure computation: hash-consed
        st.tanh(x) @ y              # dead: never used
        return a + b
    p = trace(f, (np.ones((3, 3), np.float32), np.ones((3, 3), np.float32)))
    ops = [n.op for n in p.block.nodes]
    assert ops.count("exp") == 1 and ops.count("multiply") == 1 and "matmul" not in ops


def test_printer_names_match_cpp():
    f = st.compile(lambda x, w: st.tanh(x @ w))
    f(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
    for line in f.ir.splitlines():
        if "matmul" in line:
            name = line.split("=")[0].strip()
    assert f"float* {name} =" in f.source and f.library_path.endswith(".so")


def test_outputs_keep_structure_and_dtype():
    f = st.compile(lambda d: {"s": st.sum(d["a"]), "p": (d["a"] * 2, d["b"] + 1)})
    out = f({"a": np.ones(3, np.float32), "b": np.arange(4)})
    assert out["s"].dtype == np.float32 and out["s"].shape == ()
    assert out["p"][0].dtype == np.float32 and out["p"][1].dtype == np.int64
    np.testing.assert_array_equal(out["p"][1], np.arange(4) + 1)


def test_grad_of_grad_scalar():
    h = lambda x: st.sin(x) * x                                   # noqa: E731
    g2 = st.compile(st.grad(st.grad(h)))
    x = 0.5
    assert float(g2(np.float64(x))) == pytest.approx(-np.sin(x) * x + 2 * np.cos(x), rel=1e-12)
    g3 = st.compile(st.grad(st.grad(st.grad(h))), backend="interp")
    assert float(g3(np.float64(x))) == pytest.approx(-np.cos(x) * x - 3 * np.sin(x), rel=1e-12)


def test_hessian_vector_product_against_torch():
    torch = pytest.importorskip("torch")
    f = lambda x: st.sum(st.tanh(x) * x * x) + st.sum(st.softmax(x) * x)     # noqa: E731
    v = np.array([1.0, 2.0, -0.5])
    hvp = st.compile(st.grad(lambda x: st.sum(st.grad(f)(x) * v)))
    x = np.array([0.3, -0.7, 1.1])
    tx = torch.tensor(x, requires_grad=True)
    y = (torch.tanh(tx) * tx * tx).sum() + (torch.softmax(tx, 0) * tx).sum()
    gx, = torch.autograd.grad(y, tx, create_graph=True)
    (gx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(hvp(x), tx.grad.numpy(), rtol=1e-10)


def test_sgd_step_compiled_as_one_function():
    def loss(w, x, y):
        return st.nn.cross_entropy(x @ w, y)

    def step(w, x, y, lr):
        l, g = st.value_and_grad(loss)(w, x, y)
        return l, w - lr * g
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((5, 3)), axis=1)      # learnable labels
    w = np.zeros((5, 3), np.float32)
    f = st.compile(step)
    first, _ = f(w, x, y, np.float32(0.5))
    for _ in range(50):
        l, w = f(w, x, y, np.float32(0.5))
    assert l < first * 0.7
    assert "matmul" in f.ir and f.source.count("stage::matmul(") == 2   # forward and dW only


def test_assign_updates_inputs_in_place():
    def step(w, x, y, lr):
        l, g = st.value_and_grad(lambda w: st.nn.cross_entropy(x @ w, y))(w)
        st.assign(w, w - lr * g)
        return l
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    w1 = np.zeros((4, 3), np.float32)
    w2 = w1.copy()
    f, fi = st.compile(step), st.compile(step, backend="interp")
    buf = w1.__array_interface__["data"][0]
    for _ in range(3):
        np.testing.assert_allclose(f(w1, x, y, np.float32(0.5)), fi(w2, x, y, np.float32(0.5)),
                                   rtol=1e-6)
    np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-7)
    assert w1.__array_interface__["data"][0] == buf and np.abs(w1).sum() > 0


def test_assign_must_be_last_use():
    def bad(w):
        st.assign(w, w * 2)
        return w + 1
    with pytest.raises(st.StageError, match="after it was updated"):
        st.compile(bad)(np.ones(3, np.float32))


def big_chain(x):
    for i in range(10_000):
        x = st.tanh(x * 0.999 + 0.001) if i % 2 else x * 1.0001 - 0.0001
    return st.sum(x)


def test_ten_thousand_op_program_stages():
    """No Python frame per op: a 10,000-op program traces, differentiates, lowers and runs."""
    x = np.linspace(-1, 1, 3)
    p = trace(st.value_and_grad(big_chain), (x,))
    assert len(p.block.nodes) > 20_000
    lowered, src = generate(p)
    assert src.count("tanh(") >= 5000
    v, g = st.compile(st.value_and_grad(big_chain), backend="interp")(x)
    ev = st.compile(big_chain, backend="interp")
    t = np.array([0.3, -1.0, 0.5])
    fd = (float(ev(x + 1e-6 * t)) - float(ev(x - 1e-6 * t))) / 2e-6
    assert float(np.sum(g * t)) == pytest.approx(fd, rel=1e-5)


def test_eager_grad_on_numpy():
    g = st.grad(lambda x: st.sum(x * x))(np.array([1.0, -2.0]))
    np.testing.assert_allclose(g, [2.0, -4.0])


def test_grouped_in_place_updates_match_the_interpreter():
    """Updates of one shape share one loop; through a transposed read they fall back safely."""
    def fused(a, b, g):
        s = a + g * g                    # shared by both updates
        st.assign(a, s)
        st.assign(b, b - 0.5 * g / st.sqrt(st.abs(s) + 1.0))

    def crossed(a, b):
        m = a + 1.0                      # read before a is overwritten
        st.assign(a, m * 2.0)
        st.assign(b, m + b.T)            # reads b through another layout

    r = np.random.default_rng(3)
    for fn, n in ((fused, 3), (crossed, 2)):
        args = [r.standard_normal((4, 4)).astype(np.float32) for _ in range(n)]
        copies = [a.copy() for a in args]
        st.compile(fn)(*args)
        st.compile(fn, backend="interp")(*copies)
        for a, b in zip(args, copies):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    f = st.compile(fused)
    f(*[np.ones((4, 4), np.float32) for _ in range(3)])
    assert f.source.count("#pragma omp simd") == 1        # one loop for both updates


def test_profiling_build_times_op_kinds():
    f = st.compile(lambda x, w: st.sum(st.tanh(x @ w)), profile=True)
    x, w = np.ones((8, 4), np.float32), np.ones((4, 3), np.float32)
    for _ in range(3):
        f(x, w)
    prof = f.profile()
    assert set(prof) == {"matmul", "tanh", "sum"} or {"matmul", "sum"} <= set(prof)
    assert all(calls == 3 and sec >= 0 for sec, calls in prof.values())
    assert all(calls == 0 for _, calls in f.profile().values())     # reading resets
    with pytest.raises(RuntimeError, match="profiling build"):
        g = st.compile(lambda x: x * 2)
        g(x)
        g.profile()
