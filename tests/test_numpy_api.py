"""NumPy code staged as it is (issue 13): NumPy's functions and operators on staged values dispatch to
stage (both backends, gradients), `Rep` has ndarray's attributes, NumPy 2's promotion, clear errors
for what stage refuses (data-dependent shapes, in-place writes, functions it does not have, singular
matrices), and the NumPy-named functions evaluate eagerly on NumPy arrays."""
import numpy as np
import pytest

import stage as st
from stage.ir.graph import StageError, StageTypeError

LIGHT = {"cxxflags": "-O1"}
rng = np.random.default_rng(2024)
X = rng.standard_normal((4, 3))
W = rng.standard_normal((3, 5))
A = rng.standard_normal(3)
B = rng.standard_normal(3)
M = rng.standard_normal((3, 3)) + 3 * np.eye(3)


def numpy_program(x, w, a, b, m):
    """Plain NumPy: every call dispatches to stage when the arguments are staged."""
    h = np.tanh(x @ w)
    return (np.sum(h, axis=0), np.concatenate([a, b]), np.dot(a, b), np.linalg.inv(m),
            np.maximum(h, 0).mean(), np.add.reduce(h, axis=1), np.multiply.outer(a, b),
            np.where(a > 0, a, 0), np.clip(a, -0.1, 0.2), np.linalg.trace(m[None]),
            np.float32(2) * x, np.einsum("ij,jk->ik", x, w), np.sort(h, axis=1)[:, -1],
            np.linalg.det(m), np.cumsum(a), np.exp(np.logaddexp(a, b)), np.std(x, ddof=1),
            np.stack([a, b], axis=1) @ np.ones(2), np.expand_dims(a, (0, 2)),
            np.zeros_like(x) + np.ones_like(x, dtype=np.float32), np.abs(-a) ** 2,
            a[np.array([2, 0])] + np.take(b, [1, 1]), np.linalg.norm(x, axis=0))


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_numpy_functions_on_staged_values(backend):
    fn = st.compile(numpy_program, backend=backend, **({} if backend == "interp" else LIGHT))
    got = fn(X, W, A, B, M)
    want = numpy_program(X, W, A, B, M)
    assert len(got) == len(want)
    for k, (g, e) in enumerate(zip(got, want)):
        e = np.asarray(e)
        assert np.shape(g) == e.shape and np.asarray(g).dtype == e.dtype, (k, np.shape(g), e.shape)
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12, err_msg=str(k))


def loss_numpy(x, w):
    """A NumPy function a user already has."""
    h = np.tanh(x @ w)
    return np.mean(np.square(h - 0.5)) + 0.1 * np.sum(np.abs(w) ** 2)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_grad_of_an_existing_numpy_function(backend):
    g = st.compile(st.grad(loss_numpy, argnums=(0, 1)), backend=backend,
                   **({} if backend == "interp" else LIGHT))(X, W)
    tx, tw = rng.standard_normal(X.shape), rng.standard_normal(W.shape)
    eps = 1e-6
    fd = (loss_numpy(X + eps * tx, W + eps * tw) - loss_numpy(X - eps * tx, W - eps * tw)) / (2 * eps)
    assert abs(np.sum(g[0] * tx) + np.sum(g[1] * tw) - fd) <= 1e-7 * max(1, abs(fd))


def test_unsupported_numpy_functions_are_named():
    run = st.compile(lambda x: np.fft.fft(x), backend="interp")
    with pytest.raises(StageError, match=r"numpy\.fft\.fft is not supported"):
        run(A)
    with pytest.raises(StageError, match=r"numpy\.unwrap is not supported"):
        st.compile(lambda x: np.unwrap(x), backend="interp")(A)
    with pytest.raises(StageError, match=r"numpy\.linalg\.eig is not supported"):
        st.compile(lambda x: np.linalg.eig(x), backend="interp")(M)
    with pytest.raises(StageError, match="out= is not supported"):
        st.compile(lambda x: np.add(x, 1, out=x), backend="interp")(A)
    with pytest.raises(StageError, match="cannot convert"):
        st.compile(lambda x: np.asarray(x) * 2, backend="interp")(A)


def test_rep_has_ndarrays_attributes():
    seen = {}

    def f(x, i):
        seen.update(dtype=x.dtype, idtype=i.dtype, shape=x.shape, ndim=x.ndim, size=x.size,
                    itemsize=x.itemsize, nbytes=x.nbytes, T=x.T.shape, mT=x[None].mT.shape)
        return x.sum(0, keepdims=True), x.std(ddof=1), x.cumsum(1), x.round(1), x.argsort(0), \
            x.prod(), x.var(1), x.all(), x.ravel(), x.take([0, 2], 1), x.dot(x.T), x.trace(), \
            x.clip(min=-0.5, max=0.5), x.astype(np.float32), x.argmin(1, keepdims=True)
    out = st.compile(f, backend="interp")(X, np.int32(3))
    assert seen["dtype"] == np.float64 and seen["dtype"] == "float64"
    assert isinstance(seen["dtype"], np.dtype) and seen["idtype"] == np.dtype(np.int32)
    assert (seen["shape"], seen["ndim"], seen["size"], seen["itemsize"], seen["nbytes"]) == \
        ((4, 3), 2, 12, 8, 96)
    assert seen["T"] == (3, 4) and seen["mT"] == (1, 3, 4)
    want = (X.sum(0, keepdims=True), X.std(ddof=1), X.cumsum(1), X.round(1), X.argsort(0,
            kind="stable"), X.prod(), X.var(1), X.all(), X.ravel(), X.take([0, 2], 1), X.dot(X.T),
            X.trace(), X.clip(min=-0.5, max=0.5), X.astype(np.float32), X.argmin(1, keepdims=True))
    for g, e in zip(out, want):
        np.testing.assert_allclose(g, e, rtol=1e-12)
        assert np.asarray(g).dtype == np.asarray(e).dtype


def test_in_place_methods_and_item_are_refused_clearly():
    for body, msg in [(lambda x: x.sort(), "st.sort"), (lambda x: x.fill(0), "full_like"),
                      (lambda x: x.item(), "value"), (lambda x: x.__setitem__(0, 1.0), "immutable")]:
        with pytest.raises(StageError, match=msg):
            st.compile(body, backend="interp")(A)


def test_data_dependent_shapes_are_refused_with_advice():
    run = st.compile(lambda x: x[x > 0], backend="interp")
    with pytest.raises(IndexError, match=r"st\.where"):
        run(A)
    with pytest.raises(StageTypeError, match=r"st\.where"):
        st.compile(lambda x: st.where(x > 0), backend="interp")(A)
    with pytest.raises(StageTypeError, match="static"):
        st.compile(lambda x, n: st.arange(n), backend="interp")(A, np.int64(3))
    with pytest.raises(StageTypeError, match="static"):
        st.compile(lambda x, n: st.repeat(x, n), backend="interp")(A, np.int64(3))
    # static masks and conditions are fine: their positions are known while staging
    mask = np.array([True, False, True])
    out = st.compile(lambda x: (x[mask], st.where(mask)[0], st.nonzero(mask)[0]),
                     backend="interp")(A)
    np.testing.assert_array_equal(out[0], A[mask])
    np.testing.assert_array_equal(out[1], [0, 2])


def test_refusals_name_what_is_missing():
    with pytest.raises(StageTypeError, match="mode"):
        st.compile(lambda x: st.pad(x, 1, mode="mean"), backend="interp")(A)
    with pytest.raises(StageTypeError, match="singular values"):
        st.compile(lambda x: st.linalg.norm(x, 2), backend="interp")(M)
    with pytest.raises(StageTypeError, match="out="):
        st.compile(lambda x: st.sum(x, out=x), backend="interp")(A)
    with pytest.raises(StageTypeError, match="linear"):
        st.compile(lambda x: st.quantile(x, 0.5, method="nearest"), backend="interp")(A)
    with pytest.raises(StageTypeError, match="inhomogeneous"):
        st.compile(lambda x: st.array([x, x[:2]]), backend="interp")(A)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_singular_and_indefinite_matrices_raise_value_error(backend):
    fn = st.compile(lambda m: (st.linalg.inv(m), st.linalg.solve(m, m[0]), st.linalg.det(m)),
                    backend=backend, **({} if backend == "interp" else LIGHT))
    inv, x, d = fn(M)
    np.testing.assert_allclose(inv, np.linalg.inv(M), rtol=1e-10)
    singular = np.ones((3, 3))
    with pytest.raises(ValueError, match="[Ss]ingular"):
        fn(singular)
    chol = st.compile(st.linalg.cholesky, backend=backend, **({} if backend == "interp" else LIGHT))
    np.testing.assert_allclose(chol(M @ M.T), np.linalg.cholesky(M @ M.T), rtol=1e-10)
    with pytest.raises(ValueError, match="positive definite"):
        chol(-np.eye(3))
    assert st.compile(st.linalg.det, backend=backend)(singular) == 0.0


def test_nep50_promotion():
    seen = {}

    def f(i64, i32, f32, b):
        seen.update(int_plus_float=(i64 + 1.5).dtype, int_div=(i64 / i32).dtype,
                    int_mean=st.mean(i32).dtype, f32_weak=(f32 * 2.5).dtype,
                    i32_weak=(i32 + 7).dtype, bool_int=(b + 1).dtype, np_scalar=(f32 * np.float64(2)).dtype,
                    zeros=st.zeros(3).dtype, arange=st.arange(3.0).dtype, eye=st.eye(2).dtype,
                    sqrt_int=st.sqrt(i32).dtype, pow_int=(i32 ** 2).dtype)
        return f32
    st.compile(f, backend="interp")(np.int64(3), np.int32(2), np.float32(1), np.bool_(True))
    assert seen == dict(int_plus_float="float64", int_div="float64", int_mean="float64",
                        f32_weak="float32", i32_weak="int32", bool_int="int64",
                        np_scalar="float64", zeros="float64", arange="float64", eye="float64",
                        sqrt_int="float64", pow_int="int32")
    with pytest.raises(OverflowError):
        st.compile(lambda i: i + 2 ** 40, backend="interp")(np.int32(1))


def test_functions_evaluate_eagerly_on_numpy_arrays():
    x = rng.standard_normal((3, 4))
    checks = [(st.sort(x, 0), np.sort(x, 0)), (st.cumprod(x, 1), np.cumprod(x, 1)),
              (st.median(x), np.median(x)), (st.einsum("ij->j", x), np.einsum("ij->j", x)),
              (st.roll(x, 2), np.roll(x, 2)), (st.pad(x, 1, mode="reflect"), np.pad(x, 1, "reflect")),
              (st.linspace(0, 1, 5), np.linspace(0, 1, 5)), (st.kron(x, x), np.kron(x, x)),
              (st.take(x, [1, 5]), np.take(x, [1, 5])), (st.tile(x, 2), np.tile(x, 2)),
              (st.linalg.inv(M), np.linalg.inv(M)), (st.diff(x, 2), np.diff(x, 2))]
    for k, (got, want) in enumerate(checks):
        assert isinstance(got, (np.ndarray, np.generic)), k
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(k))
