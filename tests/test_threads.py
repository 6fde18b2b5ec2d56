"""Threads: generated loops, kernels and split products run on stage's pool with results identical
for any thread count; the pool survives errors, concurrent callers and fork, sleeps when idle; the
defaults and the exported library's set_num_threads. (Speed is benchmarks/' business.)"""
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import stage as st
from stage.codegen import parallel
from stage.codegen.compiler import RUNTIME_DIR

nn = st.nn
rng = np.random.default_rng(0)
COUNTS = (1, 2, 3)


@pytest.fixture
def restore_threads():
    n = st.get_num_threads()
    yield
    st.set_num_threads(n)


def at_counts(f, *args):
    """f(*args) at each thread count."""
    out = []
    for n in COUNTS:
        st.set_num_threads(n)
        out.append(f(*args))
    return out


def assert_identical(results):
    first = [np.asarray(a) for a in st.pytree.flatten(results[0])[0]]
    for r in results[1:]:
        for a, b in zip(first, st.pytree.flatten(r)[0]):
            assert np.array_equal(a, np.asarray(b), equal_nan=True)


# --------------------------------------------------------------------------------- loops and kernels

X = rng.standard_normal((400, 300)).astype(np.float32)
Y = rng.standard_normal((400, 300)).astype(np.float32)
A = rng.standard_normal((300, 200)).astype(np.float32)
B = rng.standard_normal((200, 300)).astype(np.float32)
BA = rng.standard_normal((8, 64, 64)).astype(np.float32)
IMG = rng.standard_normal((24, 1, 16, 16)).astype(np.float32)
LBL = rng.integers(0, 10, 24)
IDX = rng.integers(0, 400, 5000)


def many(x, y, a, b, ba, img, lbl, idx, w1, w2):
    """Every parallel path at once: fused elementwise loops, a reduction to one value (chunks), kept
    reductions over either axis, a split product, a batch of products, softmax rows, a gather of
    many rows, and a small CNN's forward and backward (convolution, pooling, cross-entropy)."""
    e = st.tanh(x * 2.0) + y
    h = nn.functional.max_pool2d(st.relu(nn.functional.conv2d(img, w1, padding=2)), 2)
    loss = nn.functional.cross_entropy(st.reshape(h, (24, -1)) @ w2, lbl)
    return (e, e.sum(), st.exp(x * 0.1).sum(axis=0), (x * y).sum(axis=1), a @ b, ba @ ba,
            st.softmax(x, axis=1), st.take(x, idx, axis=0), loss)


W1 = (rng.standard_normal((4, 1, 5, 5)) * 0.2).astype(np.float32)
W2 = (rng.standard_normal((4 * 8 * 8, 10)) * 0.05).astype(np.float32)
MANY_ARGS = (X, Y, A, B, BA, IMG, LBL, IDX, W1, W2)


def test_results_identical_for_any_thread_count(restore_threads):
    f = st.compile(st.value_and_grad(lambda *a: many(*a)[-1] + 0.0 * many(*a)[1], argnums=(8, 9),
                                     has_aux=False))
    g = st.compile(many)
    res = at_counts(g, *MANY_ARGS)
    grads = at_counts(f, *MANY_ARGS)
    src = g.last.source + f.last.source
    # the code really is parallel: loops split, reductions in chunks, kernels on the pool
    assert src.count("stage::parallel_loop(") >= 4
    assert re.search(r"part\d+\[\d+\]", src)
    assert_identical(res)
    assert_identical(grads)
    e, total, s0, s1, ab, bb, sm, tk, _ = res[0]
    np.testing.assert_allclose(e, np.tanh(X * 2) + Y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(total, (np.tanh(X.astype(np.float64) * 2) + Y).sum(), rtol=1e-4)
    np.testing.assert_allclose(s0, np.exp(X * 0.1).sum(0), rtol=1e-5)
    np.testing.assert_allclose(s1, (X * Y).sum(1), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ab, A @ B, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(bb, BA @ BA, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(sm.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(tk, X[IDX])


def test_products_split_over_their_long_inner_dimension(restore_threads):
    # K much longer than M and N: the sum over K is split into slices (each thread reads its own
    # part of both operands), the partial products added in a fixed order: identical for any
    # thread count, and equal to NumPy's product within float32 rounding, transposes included
    r = np.random.default_rng(7)
    x = r.standard_normal((100, 784)).astype(np.float32)
    w = r.standard_normal((784, 128)).astype(np.float32)
    p = r.standard_normal((64, 8192)).astype(np.float32)
    q = r.standard_normal((8192, 48)).astype(np.float32)
    f = st.compile(lambda x, w, xt, wt, p, q: (x @ w, st.transpose(xt) @ st.transpose(wt), p @ q,
                                               x @ w + 1.0))
    args = (x, w, np.ascontiguousarray(x.T), np.ascontiguousarray(w.T), p, q)
    res = at_counts(f, *args)
    assert_identical(res)
    xw = x.astype(np.float64) @ w
    for got, want in zip(res[0], (xw, xw, p.astype(np.float64) @ q, xw + 1.0)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-3)


def test_reductions_over_a_leading_axis_in_chunks(restore_threads):
    # bias gradients and the like (column sums; N, H, W of NCHW) sum fixed chunks of the leading
    # axis on the threads into partial outputs, added in chunk order: identical for any thread
    # count, NaNs kept by max, integers in int64, as NumPy
    r = np.random.default_rng(3)
    x = r.standard_normal((512, 128)).astype(np.float32)
    y = r.standard_normal((100, 10, 24, 24)).astype(np.float32)
    z = r.standard_normal((300, 7, 40)).astype(np.float32)
    z[17, 3, 5] = np.nan
    ii = r.integers(-5, 5, (2000, 33)).astype(np.int32)
    f = st.compile(lambda x, y, z, ii: (x.sum(axis=0), y.sum(axis=(0, 2, 3)), st.max(z, axis=(0, 2)),
                                        ii.sum(axis=0), st.tanh(x).mean(axis=0), st.min(y, axis=0)))
    res = at_counts(f, x, y, z, ii)
    assert f.last.source.count("std::vector<") == 6          # every one of them in chunks
    assert_identical(res)
    want = (x.sum(0), y.sum((0, 2, 3)), np.max(z, axis=(0, 2)), ii.sum(0), np.tanh(x).mean(0),
            y.min(0))
    for got, w in zip(res[0], want):
        assert got.dtype == w.dtype
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-3)


def test_small_loops_stay_serial_large_ones_split():
    small = st.compile(lambda x: st.tanh(x) * 2.0)
    small(np.ones(64, np.float32))
    assert "parallel_loop" not in small.last.source
    big = st.compile(lambda x: st.tanh(x) * 2.0)
    big(np.ones(1 << 18, np.float32))
    assert "stage::parallel_loop(" in big.last.source
    assert not parallel.worth(64, 11) and parallel.worth(1 << 18, 11)
    assert parallel.reduction_chunks(64, 64) == 1
    header = (RUNTIME_DIR / "stage" / "parallel.h").read_text()
    assert re.search(r"PARALLEL_GRAIN = int64_t\(1\) << (\d+);", header).group(1) == \
        str(parallel.GRAIN.bit_length() - 1)


def test_errors_inside_parallel_loops_and_after(restore_threads):
    f = st.compile(lambda x, i: st.take(x, i, axis=0) * 2.0)
    bad = IDX.copy()
    bad[4321] = 400
    for n in (1, 2):
        st.set_num_threads(n)
        with pytest.raises(IndexError, match="take: index 400 is out of bounds"):
            f(X, bad)
        np.testing.assert_array_equal(f(X, IDX), X[IDX] * 2)     # the pool still works


def test_concurrent_callers_share_the_pool(restore_threads):
    st.set_num_threads(2)
    f = st.compile(lambda x, y: (st.tanh(x) * y).sum(axis=1))
    want = f(X, Y)
    errors = []

    def hammer():
        try:
            for _ in range(30):
                assert np.array_equal(f(X, Y), want)
        except Exception as e:          # noqa: BLE001 (reported below)
            errors.append(e)
    ts = [threading.Thread(target=hammer) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts) and not errors, errors


# --------------------------------------------------------------------------------- parallel examples

LEFT = np.array([-1, -1, 0, -1, 2, -1, -1, 5, -1, 7, 4], np.int64)   # a forest of three trees
RIGHT = np.array([-1, -1, 1, -1, 3, -1, -1, 6, -1, 8, 9], np.int64)
WORD = np.array([0, 1, 0, 2, 0, 3, 1, 0, 2, 0, 0], np.int64)
ROOTS = np.array([4, 9, 10, 2, 0, 7, 4], np.int64)
EMB = rng.standard_normal((4, 6)).astype(np.float32)
WT = (rng.standard_normal((12, 6)) * 0.5).astype(np.float32)
VT = rng.standard_normal(6).astype(np.float32)


@st.function
def tree_state(i, left, right, word, E, W):
    if left[i] < 0:
        h = st.tanh(E[word[i]])
    else:
        hl = tree_state(left[i], left, right, word, E, W)
        hr = tree_state(right[i], left, right, word, E, W)
        h = st.tanh(st.concatenate([hl, hr]) @ W)
    return h


def tree_losses(W, E, v, roots):
    return st.parallel_map(lambda r: st.sigmoid(tree_state(r, LEFT, RIGHT, WORD, E, W) @ v) * 3.0,
                           roots)


WEIGHTS = np.arange(1, len(ROOTS) + 1, dtype=np.float32)     # a different cotangent per example


def weighted(W, E, v, roots):
    return (tree_losses(W, E, v, roots) * WEIGHTS).sum()


def weighted_seq(W, E, v, roots):
    def body(k, acc):
        h = tree_state(roots[k], LEFT, RIGHT, WORD, E, W)
        return acc + st.sigmoid(h @ v) * 3.0 * st.astype(k + 1, "float32")
    return st.fori_loop(0, roots.shape[0], body, 0.0)


def test_parallel_map_forward_and_gradients(restore_threads):
    """Trees of different shapes, each its own recursion (forward and CPS backward) on its own
    thread; per-example cotangents differ (a weighted sum); gradients identical for any thread
    count, equal to the sequential loop's and to the interpreter's."""
    grad = st.value_and_grad(weighted, argnums=(0, 1, 2))
    f = st.compile(grad)
    fwd = st.compile(tree_losses)
    res = at_counts(f, WT, EMB, VT, ROOTS)
    outs = at_counts(fwd, WT, EMB, VT, ROOTS)
    assert_identical(res)
    assert_identical(outs)
    assert "parallel_examples_grad" in f.last.source and "parallel_examples<true>" in \
        fwd.last.source
    seq = st.compile(st.value_and_grad(weighted_seq, argnums=(0, 1, 2)), backend="interp")
    ref = st.compile(grad, backend="interp")
    for other in (seq(WT, EMB, VT, ROOTS), ref(WT, EMB, VT, ROOTS)):
        np.testing.assert_allclose(res[0][0], other[0], rtol=1e-5)
        for a, b in zip(res[0][1], other[1]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outs[0], st.compile(tree_losses, backend="interp")(
        WT, EMB, VT, ROOTS), rtol=1e-5)


def test_parallel_map_failure_cancels_the_other_examples(restore_threads):
    f = st.compile(st.value_and_grad(weighted, argnums=(0, 1, 2)))
    bad = ROOTS.copy()
    bad[5] = 11                                  # out of the forest: IndexError in example 5
    for n in (1, 2, 3):
        st.set_num_threads(n)
        with pytest.raises(IndexError, match="out of bounds"):
            f(WT, EMB, VT, bad)
        v, _ = f(WT, EMB, VT, ROOTS)             # every fiber unwound: the next call is fine
        assert np.isfinite(v)


def test_parallel_map_errors_and_eager():
    with pytest.raises(st.StageTypeError, match="share a leading dimension"):
        st.compile(lambda x, y: st.parallel_map(lambda a, b: a + b, x, y), backend="interp")(
            np.ones((3, 2), np.float32), np.ones((4, 2), np.float32))
    with pytest.raises(st.StageError, match="must not update inputs"):
        def upd(x):
            def one(i):
                st.assign(x, x + 1.0)
                return x[i]
            return st.parallel_map(one, 3)
        st.compile(upd, backend="interp")(np.ones(3, np.float32))
    out = st.parallel_map(lambda a: {"s": a.sum(), "d": a * 2}, np.ones((3, 2)))
    np.testing.assert_array_equal(out["s"], [2, 2, 2])
    assert out["d"].shape == (3, 2)


# --------------------------------------------------------------------------------- the pool itself

def _thread_states():
    states = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        states[int(tid)] = stat[stat.rindex(")") + 2]
    return states


def test_idle_threads_sleep(restore_threads):
    st.set_num_threads(3)
    f = st.compile(lambda x: st.tanh(x) * 2.0)
    x = np.ones(1 << 20, np.float32)
    for _ in range(5):
        f(x)
    me = threading.get_native_id()
    deadline = time.monotonic() + 10
    while True:            # a worker on a busy machine needs to be scheduled once to fall asleep
        busy = {t for t, s in _thread_states().items() if s == "R" and t != me}
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not busy, f"threads still running after the call: {busy}"
    t0 = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - t0 < 0.1       # nothing spins meanwhile


LINGER_CHECK = r"""
import time, numpy as np, stage as st
from stage.threads import _pool
st.set_num_threads(2)
warm = _pool().stage_pool_warm
f = st.compile(lambda x: st.tanh(x) * 2.0)
x = np.ones(1 << 20, np.float32)
awake = 0
for _ in range(10):
    f(x)                             # a parallel loop: the worker is awake when the call ends
    time.sleep(0.02)
    awake += bool(warm())            # 20 ms later: still polling for the next call?
time.sleep(0.3)                      # beyond any linger: asleep
print(awake, bool(warm()))
"""


@pytest.mark.parametrize("linger_us, lingers", [("100000", True), ("0", False)])
def test_awake_threads_linger_for_the_next_call_then_sleep(linger_us, lingers):
    # back-to-back steps find the pool awake (no futex wake-up per call); it sleeps soon after
    # (a long STAGE_SPIN_US too: on a loaded machine the caller's own part may outlast the
    # worker's by more than the default 50 us, and the worker would sleep inside the call)
    env = dict(os.environ, STAGE_LINGER_US=linger_us, STAGE_SPIN_US="100000")
    out = subprocess.run([sys.executable, "-c", LINGER_CHECK], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    awake, warm_later = out.stdout.split()
    assert (int(awake) >= 6) if lingers else (int(awake) <= 2), out.stdout
    assert warm_later == "False"


UPDATE_CHECK = r"""
import time, numpy as np, stage as st
from stage.threads import _pool
st.set_num_threads(2)
warm = _pool().stage_pool_warm

def adagrad(w, m, g):
    m2 = m + g * g
    st.assign(m, m2)
    st.assign(w, w - 0.5 * g / st.sqrt(m2 + 1e-8))
    return st.sum(g[0])

small, big = st.compile(adagrad), st.compile(adagrad)
args = {small: [np.ones((300, 450), np.float32), np.zeros((300, 450), np.float32),
                np.full((300, 450), 2.0, np.float32)],              # 1 MB updated in place
        big: [np.ones((1500, 1500), np.float32), np.zeros((1500, 1500), np.float32),
              np.full((1500, 1500), 2.0, np.float32)]}              # 18 MB
woke = []
for f, a in args.items():
    for _ in range(3):
        time.sleep(0.3)              # the pool asleep
        f(*a)
    # a worker woken by the call polls on after it (100 ms): look for it awake a while, as on a
    # busy machine it may be scheduled only after the caller ran every part itself
    t = time.perf_counter()
    while not warm() and time.perf_counter() - t < 0.08:
        time.sleep(0.001)
    woke.append(bool(warm()))
    assert np.allclose(a[0], 1 - 0.5 * (1 + 1 / np.sqrt(2) + 1 / np.sqrt(3)), atol=1e-5)
print(*woke, "parallel_loop_awake(" in small.last.source, "stage::parallel_loop(" in big.last.source)
"""


def test_small_in_place_updates_wake_no_thread():
    # an optimizer step over parameters that fit in the caches stays on the caller unless the
    # pool is awake already (codegen/parallel.py, UPDATE_WAKE_BYTES): a batch-1 step then reads
    # its parameters from its own core's cache; a bigger update still wakes the pool
    env = dict(os.environ, STAGE_LINGER_US="100000", STAGE_SPIN_US="100000")
    out = subprocess.run([sys.executable, "-c", UPDATE_CHECK], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stdout


AFFINITY_CHECK = r"""
import ctypes, threading, time, stage as st
from stage.threads import _pool
st.set_num_threads(2)
lib = _pool()
PART = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)
lib.stage_pool_run.argtypes = [PART, ctypes.c_void_p, ctypes.c_int64]
ran = []
@PART
def part(ctx, p, n):
    ran.append((p, threading.get_native_id()))
    time.sleep(0.005)                # (without the GIL) time for the other thread to claim its part
lib.stage_pool_call_begin()          # as inside a native call: the worker polls between regions
for _ in range(5):
    lib.stage_pool_run(part, None, 2)
ran.clear()
for _ in range(100):
    lib.stage_pool_run(part, None, 2)
lib.stage_pool_call_end()
me = threading.get_native_id()
print(sum(t == me for p, t in ran if p == 0), sum(t != me for p, t in ran if p == 1))
"""


def test_each_thread_runs_its_own_part_region_after_region():
    # part 0 on the caller and part 1 on the worker region after region, so a loop's range is in
    # the cache of the thread that wrote it in the last loop. The caller claims part 0 as it
    # starts a region: always its own (claiming the next free part, the worker got part 0 about
    # 1 time in 20 here, whenever it saw the region first). The worker gets part 1 unless it is
    # not scheduled within 5 ms (a busy machine: the caller takes the part left over).
    env = dict(os.environ, STAGE_SPIN_US="100000", STAGE_LINGER_US="100000")
    out = subprocess.run([sys.executable, "-c", AFFINITY_CHECK], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    caller_part0, worker_part1 = map(int, out.stdout.split())
    assert caller_part0 == 100 and worker_part1 >= 50, out.stdout


def test_defaults_and_bad_values():
    code = "import stage as st; print(st.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "STAGE_NUM_THREADS"}
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert int(out.stdout) == len(os.sched_getaffinity(0))
    out = subprocess.run(run, env=dict(env, STAGE_NUM_THREADS="3"), capture_output=True, text=True,
                         timeout=300)
    assert int(out.stdout) == 3
    with pytest.raises(ValueError, match="positive count"):
        st.set_num_threads(0)
    os.environ["STAGE_NUM_THREADS"], old = "two", os.environ.get("STAGE_NUM_THREADS")
    try:
        with pytest.raises(ValueError, match="STAGE_NUM_THREADS='two'"):
            st.threads.default_threads()
    finally:
        if old is None:
            del os.environ["STAGE_NUM_THREADS"]
        else:
            os.environ["STAGE_NUM_THREADS"] = old


def test_fork_after_parallel_work(restore_threads):
    st.set_num_threads(2)
    f = st.compile(lambda x: st.tanh(x).sum())
    x = np.ones(1 << 20, np.float32)
    want = f(x)
    pid = os.fork()
    if pid == 0:                                  # the child: the pool starts afresh
        ok = False
        try:
            ok = f(x) == want
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in a parallel loop")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


EXPORT_CHECK = r"""
import ctypes, os, sys
import numpy as np
lib = ctypes.CDLL(sys.argv[1])
for f in ("tm_create", "tm_predict", "tm_set_num_threads"):
    assert hasattr(lib, f), f
lib.tm_create.restype = ctypes.c_void_p
lib.tm_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
err = ctypes.create_string_buffer(512)
m = lib.tm_create(sys.argv[2].encode(), err, 512)
assert m, err.value
x = np.linspace(-2, 2, 1 << 18).astype(np.float32)
outs = []
for n in (1, 2, 3):
    lib.tm_set_num_threads(n)
    y = np.empty_like(x)
    rc = lib.tm_predict(ctypes.c_void_p(m), x.ctypes.data_as(ctypes.c_void_p),
                           y.ctypes.data_as(ctypes.c_void_p))
    assert rc == 0, rc
    outs.append(y)
    if n == 3:
        print(len(os.listdir("/proc/self/task")))
assert all(np.array_equal(outs[0], o) for o in outs)
assert np.allclose(outs[0], np.tanh(x * np.float32(0.5)) * 2.0, atol=1e-5)
"""


def test_exported_library_set_num_threads(tmp_path):
    scale = np.float32(0.5)

    def predict(s, x):
        return st.tanh(x * s) * 2.0
    x = np.zeros(1 << 18, np.float32)
    exp = st.export({"predict": (predict, (scale, x))}, tmp_path / "tm", params=(0,), name="tm")
    header = (exp.path / "tm.h").read_text()
    assert "tm_set_num_threads" in header
    lib = exp.path / "libtm.so"
    params = exp.path / "tm.safetensors"
    env = {k: v for k, v in os.environ.items() if k != "STAGE_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", EXPORT_CHECK, str(lib), str(params)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    # the library's own pool: the caller and (at 3 threads) two workers, besides OpenBLAS's threads
    assert int(out.stdout.split()[-1]) >= 3


def test_parallel_grain_knob(monkeypatch):
    # STAGE_PARALLEL_GRAIN (a testing knob: the fuzzer's threaded profile) changes the grain of
    # codegen and runtime together; by default a library defines nothing
    from stage.codegen import parallel
    assert parallel.runtime_defines() == []
    for bad in ("0", "-3", "fine"):
        monkeypatch.setenv("STAGE_PARALLEL_GRAIN", bad)
        with pytest.raises(ValueError, match=f"STAGE_PARALLEL_GRAIN='{bad}'"):
            parallel._grain_from_env()
    monkeypatch.setenv("STAGE_PARALLEL_GRAIN", "1")
    monkeypatch.setattr(parallel, "GRAIN", parallel._grain_from_env())
    f = st.compile(lambda x: st.tanh(x) * 2.0)
    x = np.linspace(-1, 1, 12)
    np.testing.assert_allclose(f(x), np.tanh(x) * 2.0, rtol=1e-13)
    src = f.last.source
    assert "#define STAGE_PARALLEL_GRAIN 1\n#define STAGE_COLD_GRAINS 0" in src
    assert "stage::parallel_loop(12, 1," in src
