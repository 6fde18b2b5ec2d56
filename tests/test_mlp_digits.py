"""A real model learns: the MLP example on UCI digits, its whole SGD step compiled to native code.

Also checks the compiled loss, gradient and SGD step against the NumPy interpreter on one batch.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import stage as st

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "mlp_digits.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("stage_example_mlp_digits", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mlp = _load_example()


@pytest.fixture(scope="module")
def batch():
    X_train, _, y_train, _ = mlp.load_data(seed=0)
    return mlp.init_params(seed=0), X_train[:32], y_train[:32]


def _assert_tree_close(a, b, rtol=1e-4, atol=1e-5):
    la, ta = st.pytree.flatten(a)
    lb, tb = st.pytree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert np.asarray(x).shape == np.asarray(y).shape
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def test_loss_and_grad_native_matches_interp(batch):
    params, x, y = batch
    vg = st.value_and_grad(mlp.loss_fn)
    native = st.compile(vg, backend="native")
    l_n, g_n = native(params, x, y)
    l_i, g_i = st.compile(vg, backend="interp")(params, x, y)
    assert native.library_path.endswith(".so")
    assert np.isfinite(l_n) and l_n > 0
    np.testing.assert_allclose(l_n, l_i, rtol=1e-5, atol=1e-6)
    _assert_tree_close(g_n, g_i)
    assert any(np.abs(g["w"]).max() > 1e-4 for g in g_n)     # the gradient is not trivially zero


def test_sgd_step_native_matches_interp(batch):
    params, x, y = batch
    lr = np.float32(0.1)
    l_n, p_n = st.compile(mlp.sgd_step, backend="native")(params, x, y, lr)
    l_i, p_i = st.compile(mlp.sgd_step, backend="interp")(params, x, y, lr)
    np.testing.assert_allclose(l_n, l_i, rtol=1e-5, atol=1e-6)
    _assert_tree_close(p_n, p_i)
    # the step moved the parameters by -lr * grad
    _, g = st.compile(st.value_and_grad(mlp.loss_fn), backend="interp")(params, x, y)
    _assert_tree_close(p_n, [{k: p[k] - lr * gp[k] for k in p} for p, gp in zip(params, g)])


def test_mlp_learns_digits():
    m = mlp.train(epochs=20, seed=0, backend="native", verbose=False)
    assert m["test_acc"] >= 0.95, m["history"]
    assert m["train_acc"] >= 0.95
    losses = [row["loss"] for row in m["history"]]
    assert losses[-1] < 0.5 * losses[0]
