"""Tests generated from the op table (DESIGN.md §6): completeness, shape rule vs NumPy reference,
interpreter vs reference, compiled vs interpreter (float32 and float64), gradients vs central finite
differences in a random direction (interpreted and compiled), Hessian-vector products (the gradient
of the staged gradient) vs finite differences of the gradient, PyTorch as a second oracle; then the
user-facing NumPy-named functions on a few cases each.

Cases live in `optest.py`. Native checks compile one program per op module, dtype and mode.
"""
import functools
import os

import numpy as np
import pytest

import stage as st
from stage.ir.graph import StageTypeError
from stage.ir.ops import KINDS, NONDIFF, OPS
from stage.ir.ops.control import CONTROL
from stage.ir.interp import RULES as INTERP_RULES
from stage.ir.types import TensorType

import optest as T

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")    # NumPy on NaN, 0/0, log(0)



# ------------------------------------------------------------------------------------------ helpers

def _param(case, dt, check):
    marks = []
    if check in case.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=case.xfail[check]))
    return pytest.param(case, dt, id=f"{case.id}-{dt}", marks=marks)


def params(check, dtypes=None, only=None):
    out = []
    for c in T.all_cases():
        if only is not None and not only(c):
            continue
        for dt in (dtypes or c.dtypes):
            if dt in c.dtypes:
                out.append(_param(c, dt, check))
    return out


def _tol(dt):
    return 1e-5 if dt == "float32" else 1e-11


def assert_close(actual, expected, dt, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} vs {expected.dtype}"
    if actual.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
        return
    tol = _tol(actual.dtype.name if dt is None else dt)
    scale = max(1.0, float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


def assert_same(actual, expected, what=""):
    """Bit-identical (NaNs equal): the interpreter runs the references themselves."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, \
        f"{what}: {actual.dtype}{actual.shape} vs {expected.dtype}{expected.shape}"
    np.testing.assert_array_equal(actual, expected, err_msg=what)


def _flags(o3):
    return {} if o3 else {"cxxflags": T.LIGHT_FLAGS}


class _Failed:
    def __init__(self, exc):
        self.exc = exc


def _memo(fn):
    """lru_cache that also remembers failures (a failed batch is not rebuilt for each case)."""
    @functools.lru_cache(maxsize=None)
    def safe(*key):
        try:
            return fn(*key)
        except Exception as e:          # noqa: BLE001 (re-raised in every test that needs it)
            return _Failed(e)

    @functools.wraps(fn)
    def get(*key):
        r = safe(*key)
        if isinstance(r, _Failed):
            raise r.exc
        return r
    return get


def _batch(check, group, o3, dt, grad):
    return [c for c in T.all_cases() if T.group_of(c.op) == group and c.o3 == o3 and
            check not in c.xfail and dt in c.dtypes and (not grad or _has_grad_check(c))]


def _has_grad_check(c):
    return c.has_float and c.grad and bool(c.grad_args)


@_memo
def native_forward(group, o3, dt):
    cases = _batch("native", group, o3, dt, False)
    fn = st.compile(T.forward_fn(cases, dt), **_flags(o3))
    return dict(zip([c.id for c in cases], fn(*T.forward_inputs(cases, dt))))


@_memo
def native_grads(group, o3):
    cases = _batch("grad_native", group, o3, "float64", True)
    fn = st.compile(T.grad_fn(cases), **_flags(o3))
    return dict(zip([c.id for c in cases], fn(*T.grad_inputs(cases))))


def _batch_key(item):
    """The native batch a collected test needs (None: none)."""
    name = getattr(item, "originalname", None)
    p = getattr(getattr(item, "callspec", None), "params", {})
    if name == "test_native_forward" and "native" not in p["case"].xfail:
        return (native_forward, T.group_of(p["case"].op), p["case"].o3, p["dt"])
    if name == "test_grad_native" and "grad_native" not in p["case"].xfail:
        return (native_grads, T.group_of(p["case"].op), p["case"].o3)
    if name == "test_hvp_native" and "hvp_native" not in p["case"].xfail:
        return (native_hvps, T.group_of(p["case"].op))
    if name == "test_user_function_native" and "native" not in p["c"].xfail:
        return (user_native_forward, p["c"].group)
    if name == "test_user_function_grad_native" and "grad_native" not in p["c"].xfail:
        return (user_native_grads, p["c"].group)
    return None


@pytest.fixture(scope="module", autouse=True)
def _prebuild(request):
    """Under pytest-xdist the workers run neighbouring tests, so they would need the same batch at
    the same time and one would wait for the other's compiler. Instead each worker first builds
    its share of the batches this run needs (the on-disk cache hands the others over)."""
    worker, n = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not worker or not n or int(n) < 2:
        return
    keys = sorted({k for k in map(_batch_key, request.session.items) if k is not None},
                  key=lambda k: (k[0].__name__,) + tuple(map(str, k[1:])))
    k, n = int(worker.lstrip("gw")), int(n)
    for key in keys[k::n]:
        try:
            key[0](*key[1:])
        except Exception:       # noqa: BLE001 (remembered; reported by the tests that need it)
            pass


def run_forward(case, dt, backend):
    if backend == "native" and "native" not in case.xfail:
        return native_forward(T.group_of(case.op), case.o3, dt)[case.id]
    fn = st.compile(T.forward_fn([case], dt), backend=backend, **_flags(case.o3))
    return fn(*T.inputs(case, dt))[0]


def run_grads(case, backend):
    if backend == "native" and "grad_native" not in case.xfail:
        return native_grads(T.group_of(case.op), case.o3)[case.id]
    fn = st.compile(T.grad_fn([case]), backend=backend, **_flags(case.o3))
    return fn(*T.grad_inputs([case]))[0]


# ------------------------------------------------------------------------------------------ completeness

@pytest.mark.parametrize("op", sorted(OPS))
def test_op_is_complete(op):
    """The IR half of completeness (each interpretation's rules: tests/test_tables.py)."""
    d = OPS[op]
    assert d.name == op
    assert callable(d.infer), f"{op}: no shape rule"
    assert d.kind in KINDS, f"{op}: unknown kind {d.kind!r}"
    assert isinstance(d.domain, dict)
    if d.grad is CONTROL:
        assert d.kind in ("control", "closure", "call"), f"{op}: only control forms are CONTROL"
        return
    if op in INTERP_RULES:      # a kernel CPS makes that runs closures (parallel_map_grad)
        assert d.ref is None and d.grad is NONDIFF and not d.pure, f"{op}: a rule and a reference"
        return
    assert callable(d.ref), f"{op}: no NumPy reference"
    assert d.grad is NONDIFF or callable(d.grad), f"{op}: no gradient rule (nor NONDIFF)"
    if d.kind == "effect":      # refs, in-place updates, print: tested in their own files
        assert not d.pure and d.grad is NONDIFF
        return
    assert d.pure, f"{op}: a table op with effects"
    cases = T.CASES.get(op)
    assert cases, f"{op}: no test cases in tests/optest.py"
    for c in cases:
        if d.nargs is not None:
            assert len(c.args) == d.nargs, f"{c.id}: {len(c.args)} arguments for nargs={d.nargs}"


def test_cases_name_known_ops():
    assert set(T.CASES) <= set(OPS)


def test_effect_ops_through_staged_control_flow():
    """new_var / accum / read_var are what gradients of staged control flow are made of."""
    def f(x, w, n):
        def body(i, h):
            return st.tanh(h * w + x[i])
        h = st.fori_loop(0, n, body, st.zeros((3,), "float64"))
        return st.sum(h * h)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    n = np.int64(3)
    g_interp = st.compile(st.grad(f, (0, 1)), backend="interp")
    gi = g_interp(x, w, n)
    ir = g_interp.ir
    for op in ("new_var", "accum", "read_var"):
        assert f" {op}(" in ir, f"{op} not used by a gradient through fori_loop:\n{ir}"
    gn = st.compile(st.grad(f, (0, 1)), cxxflags=T.LIGHT_FLAGS)(x, w, n)
    ev = st.compile(f, backend="interp")
    rng = np.random.default_rng(1)
    tx, tw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    eps = 1e-6
    fd = (ev(x + eps * tx, w + eps * tw, n) - ev(x - eps * tx, w - eps * tw, n)) / (2 * eps)
    for g in (gi, gn):
        lhs = np.sum(g[0] * tx) + np.sum(g[1] * tw)
        assert abs(lhs - fd) <= 1e-6 * max(1, abs(fd))
    for a, b in zip(gi, gn):
        assert_close(a, b, "float64")


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_store_updates_an_input_in_place(backend):
    def step(w, g):
        s = st.sum(w * w)
        st.assign(w, w - 0.5 * g)
        return s
    fn = st.compile(step, backend=backend, cxxflags=T.LIGHT_FLAGS) if backend == "native" else \
        st.compile(step, backend=backend)
    w = np.arange(6.0).reshape(2, 3)
    g = np.ones((2, 3))
    s = fn(w, g)
    assert s == 55.0
    np.testing.assert_array_equal(w, np.arange(6.0).reshape(2, 3) - 0.5)
    assert " store(" in fn.ir


# ------------------------------------------------------------------------------------------ per case

@pytest.mark.parametrize("case,dt", params("infer"))
def test_infer_matches_reference(case, dt):
    t = T.out_type(case, dt)
    assert isinstance(t, TensorType)
    ref = T.reference(case, dt)
    assert (ref.dtype.name, ref.shape) == (t.dtype, t.shape), \
        f"shape rule says {t}, reference gives {ref.dtype.name}{list(ref.shape)}"


@pytest.mark.parametrize("case,dt", params("interp"))
def test_interpreter_forward(case, dt):
    assert_same(run_forward(case, dt, "interp"), T.reference(case, dt), case.id)


@pytest.mark.parametrize("case,dt", params("native"))
def test_native_forward(case, dt):
    expected = run_forward(case, dt, "interp") if "interp" not in case.xfail else T.reference(case, dt)
    assert_close(run_forward(case, dt, "native"), expected, dt, case.id)


def check_grads(case, g):
    for gi, i in zip(g, case.grad_args):
        assert gi.shape == case.runtime[i].source_shape and gi.dtype == np.float64
    if OPS[case.op].grad is NONDIFF:          # no gradient flows through a non-differentiable op
        assert all(not np.any(gi) for gi in g), f"{case.id}: nonzero gradient through a NONDIFF op"
    if case.fd_ok and case.op != "stop_gradient":
        T.fd_check(case, g)


@pytest.mark.parametrize("case,dt", params("grad", ("float64",), _has_grad_check))
def test_grad_interpreter(case, dt):
    check_grads(case, run_grads(case, "interp"))


@pytest.mark.parametrize("case,dt", params("grad_native", ("float64",), _has_grad_check))
def test_grad_native(case, dt):
    g = run_grads(case, "native")
    check_grads(case, g)
    if "grad" not in case.xfail:
        for a, b in zip(g, run_grads(case, "interp")):
            assert_close(a, b, "float64", case.id)


# -- second order: gradient rules are staged Rep code, so they differentiate again -----------------

def _has_hvp_check(c):
    return _has_grad_check(c) and c.fd_ok and OPS[c.op].grad is not NONDIFF


@_memo
def native_hvps(group):
    cases = [c for c in T.all_cases() if T.group_of(c.op) == group and _has_hvp_check(c) and
             "hvp_native" not in c.xfail]
    fn = st.compile(T.hvp_fn(cases), cxxflags=T.LIGHT_FLAGS)
    return dict(zip([c.id for c in cases], fn(*T.hvp_inputs(cases))))


def _interp_grad_at(case):
    fn = st.compile(T.grad_fn([case]), backend="interp")
    return lambda xs: fn(*(xs + [T.cotangent(case)]))[0]


@pytest.mark.parametrize("case,dt", params("hvp", ("float64",), _has_hvp_check))
def test_hvp_interpreter(case, dt):
    hv = st.compile(T.hvp_fn([case]), backend="interp")(*T.hvp_inputs([case]))[0]
    T.hvp_check(case, hv, _interp_grad_at(case))


@pytest.mark.parametrize("case,dt", params("hvp_native", ("float64",), _has_hvp_check))
def test_hvp_native(case, dt):
    if "hvp_native" in case.xfail:
        hv = st.compile(T.hvp_fn([case]), cxxflags=T.LIGHT_FLAGS)(*T.hvp_inputs([case]))[0]
    else:
        hv = native_hvps(T.group_of(case.op))[case.id]
    T.hvp_check(case, hv, _interp_grad_at(case))


def _has_torch_counterpart(c):
    """Cases of ops PyTorch has (when torch is not installed, every case: they skip on import)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return c.torch
    return c.torch and c.op in T.torch_table()


@pytest.mark.parametrize("case,dt", params("torch", ("float64",), _has_torch_counterpart))
def test_torch_oracle(case, dt):
    pytest.importorskip("torch")
    out, grads = T.torch_run(case)
    ref = T.reference(case, "float64")
    assert_close(out.astype(ref.dtype) if out.dtype.kind == ref.dtype.kind else out, ref,
                 "float64", case.id)
    if grads is not None and _has_grad_check(case) and "grad" not in case.xfail:
        for a, b in zip(run_grads(case, "interp"), grads):
            assert_close(a, b, "float64", case.id)


# ------------------------------------------------------------------------------------------ user-facing

def user_params(check, only=None):
    out = []
    for c in T.USER.values():
        if only is not None and not only(c):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail[check])] if check in c.xfail else []
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


@_memo
def user_native_forward(group):
    cases = [c for c in T.USER.values() if "native" not in c.xfail and c.group == group]
    fn = st.compile(T.user_forward_fn(cases), cxxflags=T.LIGHT_FLAGS)
    return dict(zip([c.name for c in cases], fn(*[a for c in cases for a in c.args])))


@_memo
def user_native_grads(group):
    cases = [c for c in T.USER.values() if c.has_grad and "grad_native" not in c.xfail and
             c.group == group]
    fn = st.compile(T.user_grad_fn(cases), cxxflags=T.LIGHT_FLAGS)
    return dict(zip([c.name for c in cases], fn(*T.user_grad_inputs(cases))))


def user_run(c, backend):
    if backend == "native" and "native" not in c.xfail:
        return user_native_forward(c.group)[c.name]
    fn = st.compile(T.user_forward_fn([c]), backend=backend, **_flags(False))
    return fn(*c.args)[0]


def user_grads(c, backend):
    if backend == "native" and "grad_native" not in c.xfail:
        return user_native_grads(c.group)[c.name]
    fn = st.compile(T.user_grad_fn([c]), backend=backend, **_flags(False))
    return fn(*T.user_grad_inputs([c]))[0]


@pytest.mark.parametrize("c", user_params("interp"))
def test_user_function_interpreter(c):
    assert_close(user_run(c, "interp"), c.expected(), None, c.name)


@pytest.mark.parametrize("c", user_params("native"))
def test_user_function_native(c):
    assert_close(user_run(c, "native"), c.expected(), None, c.name)


@pytest.mark.parametrize("c", user_params("grad", lambda c: c.has_grad))
def test_user_function_grad_interpreter(c):
    T.user_fd_check(c, user_grads(c, "interp"))


@pytest.mark.parametrize("c", user_params("grad_native", lambda c: c.has_grad))
def test_user_function_grad_native(c):
    g = user_grads(c, "native")
    T.user_fd_check(c, g)
    for a, b in zip(g, user_grads(c, "interp")):
        assert_close(a, b, "float64", c.name)


def test_python_scalars_are_weak():
    seen = {}

    def f(a32, a64, i32):
        seen.update(mul=(a32 * 2.0).dtype, radd=(1 + a32).dtype, div=(a32 / 2).dtype,
                    pow=(a32 ** 2).dtype, rpow=(2.0 ** a32).dtype, f64=(a64 * 2.0).dtype,
                    int=(i32 + 1).dtype, intf=(i32 * 1.5).dtype, where=st.where(a32 > 0, a32, 0.0).dtype,
                    where_i=st.where(a32 > 0, 1, 0).dtype, full=st.full((2,), 1.0).dtype)
        return a32
    st.compile(f, backend="interp")(np.zeros(2, np.float32), np.zeros(2), np.zeros(2, np.int32))
    assert seen == dict(mul="float32", radd="float32", div="float32", pow="float32", rpow="float32",
                        f64="float64", int="int32", intf="float64", where="float32", where_i="int64",
                        full="float64")                 # (NumPy 2: int * 1.5 and full(1.0) are float64)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_indices_out_of_range_raise_index_error(backend):
    opts = {"backend": backend} if backend == "interp" else {"cxxflags": T.LIGHT_FLAGS}
    fn = st.compile(lambda a, i, k: (a[i], st.take(a, k, axis=0)), **opts)
    a = np.arange(12.0).reshape(4, 3)
    out = fn(a, np.int64(-4), np.array([3, -4]))
    np.testing.assert_array_equal(out[0], a[-4])
    np.testing.assert_array_equal(out[1], a[[3, -4]])
    with pytest.raises(IndexError):
        fn(a, np.int64(4), np.array([0]))
    with pytest.raises(IndexError):
        fn(a, np.int64(-5), np.array([0]))
    with pytest.raises(IndexError):
        fn(a, np.int64(0), np.array([0, 4]))
    losses = st.compile(lambda x, t: (st.nll_loss(x, t), st.cross_entropy(x, t)), **opts)
    losses(a, np.array([0, 2, 1, -100]))
    for bad in ([0, 3, 1, 1], [0, -1, 1, 1]):
        with pytest.raises(IndexError):
            losses(a, np.array(bad))


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_integer_division_by_zero_is_zero(backend):
    """As in NumPy (natively this once threw out of an `omp simd` loop: std::terminate)."""
    opts = {"backend": backend} if backend == "interp" else {"cxxflags": T.LIGHT_FLAGS}
    fn = st.compile(lambda a, b: (a // b, a % b), **opts)
    a = np.array([7, -7, 3])
    q, r = fn(a, np.array([2, 2, -2]))
    np.testing.assert_array_equal(q, [3, -4, -2])
    np.testing.assert_array_equal(r, [1, 1, -1])
    q, r = fn(a, np.array([2, 0, 0]))
    np.testing.assert_array_equal(q, [3, 0, 0])
    np.testing.assert_array_equal(r, [1, 0, 0])


def test_static_errors_are_numpy_like():
    def run(f, *args):
        return st.compile(f, backend="interp")(*args)
    x = np.zeros((3, 4))
    with pytest.raises(StageTypeError):
        run(lambda a: st.sum(a, axis=2), x)
    with pytest.raises(StageTypeError):
        run(lambda a: st.sum(a, axis=-3), x)
    with pytest.raises(IndexError):
        run(lambda a: a[3], x)
    with pytest.raises(IndexError):
        run(lambda a: a[0, 0, 0], x)
    with pytest.raises(StageTypeError):
        run(lambda a: a + a[:2], x)
    with pytest.raises(StageTypeError):
        run(lambda a: a @ a, x)


# ------------------------------------------------------------------------------------------ cross_entropy

CE_VARIANTS = [(red, ign) for red in ("mean", "sum", "none") for ign in (-100, 1)] + \
              [(red, "probs") for red in ("mean", "sum", "none")] + [("sum", "one")]


def _ce_data():
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((6, 4))
    target = np.array([0, 1, 3, -100, 2, 1])
    probs = rng.random((6, 4))
    probs /= probs.sum(1, keepdims=True)
    cot = rng.standard_normal(6)
    return logits, target, probs, cot


def _ce_program(logits, target, probs, cot):
    res = []
    for red, ign in CE_VARIANTS:
        t = probs if ign == "probs" else target if ign in (-100, "one") else st.abs(target) % 4
        kw = {} if ign in ("probs", -100, "one") else {"ignore_index": ign}
        lg = logits[1] if ign == "one" else logits            # one sample: (C,) and a 0-d target
        t = t[1] if ign == "one" else t

        def loss(lg, red=red, t=t, kw=kw):
            out = st.cross_entropy(lg, t, reduction=red, **kw)
            return st.sum(out * cot) if red == "none" else out
        res.append(st.value_and_grad(loss)(lg))
    return tuple(res)


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_cross_entropy_matches_torch(backend):
    torch = pytest.importorskip("torch")
    opts = {"backend": backend} if backend == "interp" else {"cxxflags": T.LIGHT_FLAGS}
    logits, target, probs, cot = _ce_data()
    got = st.compile(_ce_program, **opts)(logits, target, probs, cot)
    for (red, ign), (v, g) in zip(CE_VARIANTS, got):
        lg = torch.tensor(logits[1] if ign == "one" else logits, requires_grad=True)
        if ign == "one":
            out = torch.nn.functional.cross_entropy(lg, torch.tensor(target[1]), reduction=red)
        elif ign == "probs":
            out = torch.nn.functional.cross_entropy(lg, torch.tensor(probs), reduction=red)
        else:
            t = target if ign == -100 else np.abs(target) % 4
            out = torch.nn.functional.cross_entropy(lg, torch.tensor(t), reduction=red,
                                                    ignore_index=ign)
        loss = (out * torch.tensor(cot)).sum() if red == "none" else out
        loss.backward()
        what = f"cross_entropy(reduction={red}, target={ign})"
        assert_close(v, np.asarray(loss.item()), "float64", what)
        assert_close(g, lg.grad.numpy(), "float64", what)
