"""Arrays in as users have them (views, Fortran order, read-only, PyTorch tensors, __array__ and
__dlpack__ objects), in-place targets that must be the user's own writable memory, and errors that
name the user's argument."""
import numpy as np
import pytest

import stage as st

try:
    import torch
except ImportError:                                   # the torch cases need it; the rest do not
    torch = None

BACKENDS = ["native", "interp"]


def _matmul_plus(a, b, c):
    return a @ b + c


@pytest.mark.parametrize("backend", BACKENDS)
def test_any_layout_is_read(backend):
    f = st.compile(_matmul_plus, backend=backend)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 4))
    B = rng.standard_normal((3, 5))
    c = rng.standard_normal(10)
    ro = B.copy()
    ro.flags.writeable = False
    layouts = [
        (A.T, B, c[:5]),                              # transposed view
        (np.asfortranarray(A.T), ro, c[::2]),         # Fortran order, read-only, strided view
        (A.T[::1, :], B[:, ::-1][:, ::-1], c[5:]),     # round-trip views
        (np.broadcast_to(A.T[:1], (4, 3)), B, np.broadcast_to(c[0], (5,))),   # zero strides
    ]
    for a, b, cc in layouts:
        np.testing.assert_allclose(f(a, b, cc), np.asarray(a) @ b + cc, rtol=1e-12)
    assert f.num_specializations == 1
    assert not ro.flags.writeable and np.array_equal(ro, B)


class ArrayLike:
    """An object NumPy reads through __array__ only."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


class DLPackOnly:
    """An object NumPy reads through __dlpack__ only."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_protocol_objects_are_runtime(backend):
    f = st.compile(lambda x, y: x * 2 + y, backend=backend)
    for k in range(3):                                 # new values each time: runtime, not static
        x, y = np.full(3, float(k)), np.arange(3.0)
        np.testing.assert_array_equal(f(ArrayLike(x), DLPackOnly(y)), x * 2 + y)
    assert f.num_specializations == 1


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_tensors_are_runtime_arrays(backend):
    f = st.compile(lambda x, w: st.tanh(x @ w), backend=backend)
    for seed in range(3):                             # a second tensor used to be an error
        g = torch.Generator().manual_seed(seed)
        x, w = torch.randn(4, 3, generator=g), torch.randn(5, 3, generator=g)
        np.testing.assert_allclose(f(x, w.T), np.tanh(x.numpy() @ w.numpy().T), rtol=1e-5)
    assert f.num_specializations == 1
    y = f(torch.randn(2, 3), torch.randn(3, 5))       # another shape: another specialisation
    assert y.shape == (2, 5) and f.num_specializations == 2
    with pytest.raises(TypeError, match=r"argument `x`.*requires? grad"):
        f(torch.randn(4, 3, requires_grad=True), w.T)


def _sgd(w, g):
    new = w - 0.5 * g
    st.assign(w, new)
    return st.sum(new)


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_place_targets_are_the_users_memory(backend):
    f = st.compile(_sgd, backend=backend)
    w, g = np.ones(4), np.ones(4)
    f(w, g)
    np.testing.assert_array_equal(w, 0.5)
    f(w, g[::1])
    np.testing.assert_array_equal(w, 0.0)
    if torch is not None:                             # a tensor is updated through DLPack, no copy
        t = torch.ones(4, dtype=torch.float64)
        f(t, torch.ones(8, dtype=torch.float64)[::2])
        assert t.tolist() == [0.5] * 4

    ro = np.ones(4)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"argument `w` is updated in place.*read-only"):
        f(ro, g)
    data = bytes(32)
    fb = np.frombuffer(data, np.float64)
    with pytest.raises(ValueError, match=r"argument `w`.*read-only"):
        f(fb, g)
    assert data == bytes(32)
    base = np.ones(8)
    with pytest.raises(ValueError, match=r"argument `w`.*not C-contiguous"):
        f(base[::2], g)
    with pytest.raises(ValueError, match=r"argument `w`.*not C-contiguous"):
        f(np.ones((4, 2))[:, 0], g)
    with pytest.raises(ValueError, match=r"argument `w`.*cannot be shared without a copy"):
        f(ArrayLike(np.ones(4)), g)
    np.testing.assert_array_equal(base, 1.0)
    np.testing.assert_array_equal(ro, 1.0)


def test_read_only_memmap_target_is_refused(tmp_path):
    f = st.compile(_sgd)
    path = tmp_path / "w.bin"
    np.ones(4).tofile(path)
    mm = np.memmap(path, np.float64, mode="r", shape=(4,))
    with pytest.raises(ValueError, match=r"argument `w`.*read-only"):
        f(mm, np.ones(4))
    rw = np.memmap(path, np.float64, mode="r+", shape=(4,))
    f(rw, np.ones(4))
    rw.flush()
    np.testing.assert_array_equal(np.fromfile(path), 0.5)


def test_errors_name_the_argument_and_its_path():
    def loss(params, x):
        return st.sum(st.tanh(x @ params[0]["w"]) * params[1])
    f = st.compile(loss)
    params = [{"w": np.ones((3, 2), np.float32)}, np.ones(2, np.float32)]
    exe = f.lower(params, np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match=r"argument `params\[0\]\['w'\]` has dtype float64"):
        exe([{"w": np.ones((3, 2))}, params[1]], np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"argument `x` has shape \(5, 3\)"):
        exe(params, np.ones((5, 3), np.float32))
    with pytest.raises(ValueError, match=r"argument `params\[1\]` has shape"):
        exe([params[0], np.ones(3, np.float32)], np.ones((4, 3), np.float32))


def test_train_step_names_a_read_only_parameter():
    model = st.nn.Sequential(st.nn.Linear(3, 2))
    step = st.train_step(lambda x, y: st.mse_loss(model(x), y), model, st.optim.SGD(lr=0.1))
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    step(x, y)
    w = model[0].weight
    before = w.copy()
    w.flags.writeable = False
    with pytest.raises(ValueError, match=r"argument `params\['0.weight'\]` is updated in place"):
        step(x, y)
    np.testing.assert_array_equal(w, before)
    w.flags.writeable = True
    step(x, y)
    assert not np.array_equal(w, before)
    with pytest.raises(ValueError, match=r"argument `y` has shape \(4, 3\)"):
        _strict_train_call(step, x, np.zeros((4, 3), np.float32))


def _strict_train_call(step, x, y):
    """Call the step's current specialisation strictly with (x, y) (shape errors name `y`)."""
    trainable, frozen, buffers = step._state()
    opt = step.optimizer
    return step.compiled.last(trainable, frozen, buffers, opt.state, opt.hyper(),
                              (np.int64(0), np.int64(0)), step.model.modes(), (x, y))
