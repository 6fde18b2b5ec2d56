"""Golden files of generated C++ for small programs, so reviews see codegen changes.

Regenerate with `pytest tests/test_golden.py --update-golden` and read the diff."""
from pathlib import Path

import numpy as np
import pytest

import stage as st
from stage.codegen.build import generate
from stage.program import trace

GOLDEN = Path(__file__).parent / "golden"


def mlp_loss(w, b, x, y):
    h = st.tanh(x @ w + b)
    return st.nn.cross_entropy(h, y)


def rnn_loss(wx, wh, xs, n):
    def body(t, carry):
        h, loss = carry
        h = st.tanh(xs[t] @ wx + h @ wh)
        return h, loss + st.sum(h * h)
    _, loss = st.fori_loop(0, n, body, (st.zeros((2, 4), xs.dtype), 0.0))
    return loss


@st.function
def tree_sum(i, left, right, feat, w):
    return st.cond(left[i] < 0,
                   lambda: st.tanh(feat[i] * w),
                   lambda: st.tanh(tree_sum(left[i], left, right, feat, w)
                                   + tree_sum(right[i], left, right, feat, w)))


def tree_loss(w, left, right, feat, root):
    return st.sum(tree_sum(root, left, right, feat, w))


def sgd_step(w, b, x, y, lr):
    loss, (gw, gb) = st.value_and_grad(mlp_loss, argnums=(0, 1))(w, b, x, y)
    return loss, w - lr * gw, b - lr * gb          # w's gradient product adds into w - ...


f32 = np.float32
CASES = {
    "mlp_step": (st.value_and_grad(mlp_loss, argnums=(0, 1)),
                 (np.ones((8, 4), f32), np.ones(4, f32), np.ones((16, 8), f32),
                  np.zeros(16, np.int64))),
    "sgd_step": (sgd_step, (np.ones((8, 4), f32), np.ones(4, f32), np.ones((16, 8), f32),
                            np.zeros(16, np.int64), f32(0.1))),
    "rnn_loop_grad": (st.value_and_grad(rnn_loss, argnums=(0, 1)),
                      (np.ones((3, 4), f32), np.ones((4, 4), f32), np.ones((5, 2, 3), f32),
                       np.int64(5))),
    "tree_grad": (st.value_and_grad(tree_loss),
                  (np.ones(3, f32), np.array([-1, -1, -1, 0, 3]), np.array([-1, -1, -1, 1, 2]),
                   np.ones((5, 3), f32), np.int64(4))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_cpp(name, update_golden):
    fn, args = CASES[name]
    program = trace(fn, args, name=name)
    _, source = generate(program)
    path = GOLDEN / f"{name}.cpp"
    if update_golden or not path.exists():
        path.write_text(source)
    assert source == path.read_text(), f"generated C++ for {name} changed; review and rerun " \
                                       f"with --update-golden"


def test_golden_programs_run():
    """The golden programs also compile and agree with the interpreter."""
    for name, (fn, args) in CASES.items():
        a = st.compile(fn)(*args)
        b = st.compile(fn, backend="interp")(*args)
        for x, y in zip(np.atleast_1d(a[0]), np.atleast_1d(b[0])):
            np.testing.assert_allclose(x, y, rtol=1e-5)
