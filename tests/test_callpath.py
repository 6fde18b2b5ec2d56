"""The C call path (stage/codegen/callpath.py, runtime_cpp/python/callpath.cpp) against the Python
path: the same calls accepted, the same results, the same errors; what it declines goes to the
Python path (which copies, refuses and explains); it holds nothing alive."""
import collections
import gc
import weakref

import numpy as np
import pytest

import stage as st
from stage import pytree
from stage.codegen import callpath

Pair = collections.namedtuple("Pair", "a b")


def model(params, batch, pair, nothing, k, lr):
    """Every kind of pytree node, a static int, a NumPy scalar and 0-d / int / bool arrays."""
    h = st.tanh(batch["x"] @ params[0]["w"] + params[0]["b"])
    s = st.sum(h * pair.a) * lr + st.sum(pair.b.astype("float32")) * k
    flag = batch["y"] > 1
    return Pair(s, {"h": h, "n": None, "list": [flag, batch["y"] * k]}), (params[0]["w"] * lr,)


def model_args(rng, k=2):
    params = [{"w": rng.standard_normal((5, 3)).astype(np.float32),
               "b": rng.standard_normal(3).astype(np.float32)}]
    batch = {"x": rng.standard_normal((4, 5)).astype(np.float32), "y": np.arange(4, dtype=np.int64)}
    pair = Pair(np.array(1.5, np.float32), rng.random(3) > 0.5)
    return params, batch, pair, None, k, np.float32(0.1)


def python_path(fn, monkeypatch):
    """`fn` compiled, called with $STAGE_CALL_PATH=python (its specialisations have no C plan)."""
    f = st.compile(fn)

    def call(*args):
        with monkeypatch.context() as m:
            m.setenv("STAGE_CALL_PATH", "python")
            return f(*args)
    call.compiled = f
    return call


def c_only(f):
    """Make the Python path of f's last specialisation fail: what still works took the C path."""
    def boom(*a):
        raise AssertionError("the Python path ran")
    f.last.call = f.last.run = boom


def assert_same_tree(a, b):
    la, ta = pytree.flatten(a)
    lb, tb = pytree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert type(x) is type(y)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


def test_every_structure_takes_the_c_path_with_the_python_paths_results(monkeypatch):
    rng = np.random.default_rng(0)
    f, g = st.compile(model), python_path(model, monkeypatch)
    args = model_args(rng)
    f(*args), g(*args)
    assert f.last.c_plan is not None and g.compiled.last.c_plan is None
    c_only(f)
    for _ in range(3):
        args = model_args(rng)
        out = f(*args)
        assert_same_tree(out, g(*args))
        assert type(out[0]) is Pair and out[0].b["n"] is None and type(out[0].b["list"]) is list


def test_a_changed_static_value_or_shape_respecialises(monkeypatch):
    rng = np.random.default_rng(1)
    f, g = st.compile(model), python_path(model, monkeypatch)
    for k in (2, 3, 2, 3):
        args = model_args(rng, k)
        assert_same_tree(f(*args), g(*args))
    assert f.num_specializations == 2
    params, batch, pair, nothing, k, lr = model_args(rng)
    batch = {"x": np.ones((6, 5), np.float32), "y": np.arange(6)}
    assert_same_tree(f(params, batch, pair, None, k, lr), g(params, batch, pair, None, k, lr))
    assert f.num_specializations == 3


def sgd(w, g, lr):
    new = w - lr * g
    st.assign(w, new)
    return st.sum(new * new)


def test_inputs_updated_in_place_on_the_c_path(monkeypatch):
    f, g = st.compile(sgd), python_path(sgd, monkeypatch)
    w1, w2 = np.ones((3, 4), np.float32), np.ones((3, 4), np.float32)
    grad = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    f(w1, grad, np.float32(0.5)), g(w2, grad, np.float32(0.5))
    c_only(f)
    for _ in range(3):
        assert f(w1, grad, np.float32(0.5)) == g(w2, grad, np.float32(0.5))
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_allclose(w1, 1 - 2 * grad, rtol=1e-6)


def _error(call):
    try:
        call()
    except Exception as e:       # noqa: BLE001
        return type(e), str(e)
    return None


# Calls the C path declines after a clean first call: each gets the Python path's answer (a result
# computed on a copy, or the same named error), and an array refused is left as it was.
DECLINED = {
    "transposed read input": lambda w, g: (np.ones((3, 4), np.float32), np.ones((4, 3), np.float32).T),
    "strided read input": lambda w, g: (np.ones((3, 4), np.float32), np.ones((3, 8), np.float32)[:, ::2]),
    "an object with __array__": lambda w, g: (np.ones((3, 4), np.float32), _ArrayLike(g)),
    "read-only target": lambda w, g: (_readonly(w), g),
    "Fortran-order target": lambda w, g: (np.asfortranarray(w), g),
    "target aliased by the other input": lambda w, g: (w, w),
    "target overlapping the other input": lambda w, g: _overlapping(),
    "a float64 gradient": lambda w, g: (w, g.astype(np.float64)),
    "a masked array": lambda w, g: (w, np.ma.masked_array(g)),
    "a NumPy scalar target": lambda w, g: (np.float32(1), g),
}


class _ArrayLike:
    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


def _readonly(w):
    w = w.copy()
    w.flags.writeable = False
    return w


def _overlapping():
    base = np.ones(16, np.float32)
    return base[:12].reshape(3, 4), base[4:].reshape(3, 4)


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_calls_the_c_path_declines_get_the_python_paths_answer(case, monkeypatch):
    f, g = st.compile(sgd), python_path(sgd, monkeypatch)
    w0, grad = np.ones((3, 4), np.float32), np.full((3, 4), 0.25, np.float32)
    f(w0.copy(), grad, np.float32(0.5)), g(w0.copy(), grad, np.float32(0.5))
    assert f.last.c_plan is not None
    wa, ga = DECLINED[case](w0.copy(), grad)
    wb, gb = DECLINED[case](w0.copy(), grad)
    ra = _error(lambda: f(wa, ga, np.float32(0.5)))
    rb = _error(lambda: g(wb, gb, np.float32(0.5)))
    assert ra == rb
    if ra is None:
        assert f(wa, ga, np.float32(0.5)) == g(wb, gb, np.float32(0.5))
    np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb))


def test_native_errors_raise_the_same_exception_on_both_paths(monkeypatch):
    def gather(x, i):
        return x[i] * 2
    f, g = st.compile(gather), python_path(gather, monkeypatch)
    x = np.arange(5, dtype=np.float32)
    f(x, np.int64(1)), g(x, np.int64(1))
    c_only(f)
    assert f(x, np.int64(4)) == 8
    ra, rb = _error(lambda: f(x, np.int64(7))), _error(lambda: g(x, np.int64(7)))
    assert ra is not None and ra == rb and ra[0] is IndexError
    assert f(x, np.int64(3)) == 6                      # and the next call works


def test_outputs_are_recycled_on_the_c_path_only_when_unreachable():
    f = st.compile(lambda p, x: (p - 0.5 * x, st.sum(p)))
    p, x = np.ones(1 << 15, np.float32), np.full(1 << 15, 2.0, np.float32)   # 128 KiB: recycled
    p, _ = f(p, x)
    c_only(f)
    held = [f(p, x)[0] for _ in range(4)]                # every result stays reachable
    assert len({a.ctypes.data for a in held}) == 4
    np.testing.assert_array_equal(held[0], -1.0)
    addresses = set()
    for _ in range(6):
        p, s = f(p, x)                                   # the previous p dies: reused
        addresses.add(p.ctypes.data)
    assert len(addresses) <= 3
    np.testing.assert_array_equal(p, -6.0)
    for a in held:                                       # never overwritten
        np.testing.assert_array_equal(a, -1.0)


def test_the_plan_keeps_nothing_alive():
    f = st.compile(lambda x, k: x * k)
    f(np.ones(3, np.float32), 2.0)
    out = f(np.ones(3, np.float32), 2.0)
    assert f.last.c_plan is not None
    exe = weakref.ref(f.last)
    del f
    gc.collect()
    assert exe() is None
    np.testing.assert_array_equal(out, 2.0)


def test_without_the_extension_calls_take_the_python_path(monkeypatch):
    monkeypatch.setattr(callpath, "module", lambda: None)
    f = st.compile(sgd)
    w = np.ones(3, np.float32)
    for _ in range(2):
        f(w, np.ones(3, np.float32), np.float32(0.25))
    assert f.last.c_plan is None
    np.testing.assert_array_equal(w, 0.5)


def test_a_bad_stage_call_path_is_named(monkeypatch):
    monkeypatch.setenv("STAGE_CALL_PATH", "fast")
    with pytest.raises(ValueError, match="STAGE_CALL_PATH='fast'"):
        st.compile(lambda x: x + 1)(np.ones(2, np.float32))


def test_train_step_calls_take_the_c_path():
    model_ = st.nn.Linear(4, 2)
    step = st.train_step(lambda x, y: st.mse_loss(model_(x), y), model_, st.optim.SGD(lr=0.1))
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32)
    losses = [float(step(x, y)) for _ in range(2)]
    c_only(step.compiled)
    losses += [float(step(x, y)) for _ in range(3)]
    assert all(b < a for a, b in zip(losses, losses[1:]))
