"""The sanitizer build mode: STAGE_SANITIZE=address,undefined builds every library with ASan and
UBSan; the programs most likely to hide a memory error (control flow under grad on the private
stack, a recursive staged function, an exception thrown on that stack, convolution and pooling, a
training step, an exported library) run in a process with the sanitizer runtime preloaded, and must
run clean and agree with the NumPy interpreter.

Python is not built with ASan, so the runtime is preloaded (LD_PRELOAD) together with libstdc++:
ASan intercepts `__cxa_throw` and must find the real one when it starts. The switch to stage's
private stack (ucontext) is announced to ASan with `__sanitizer_start/finish_switch_fiber` in
runtime_cpp/stage/entry.h; without it, an exception unwinding on that stack is reported as a
stack-buffer error (a false positive). Leak detection is off: the interpreter's own allocations at
exit are not ours to judge.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _runtime(name):
    cxx = os.environ.get("STAGE_CXX") or os.environ.get("CXX") or "g++"
    if shutil.which(cxx) is None:
        return None
    p = subprocess.run([cxx, f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    return os.path.realpath(p) if p and os.path.isabs(p) and os.path.exists(p) else None


ASAN, STDCXX = _runtime("libasan.so"), _runtime("libstdc++.so")

PRELUDE = r'''
import ctypes, os, sys
import numpy as np
import stage as st
sys.path.insert(0, os.path.join(sys.argv[1], "tests"))
from test_control import tree_loss, random_tree

rng = np.random.default_rng(0)
checked = []

def same(name, fn, args):
    f = st.compile(fn)
    native = f(*args)
    data = open(f.library_path, "rb").read()                # really a sanitized build
    assert b"__asan_report" in data and b"__ubsan_handle" in data, name
    interp = st.compile(fn, backend="interp")(*args)
    for a, b in zip(st.pytree.flatten(native)[0], st.pytree.flatten(interp)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=name)
    checked.append(name)
'''

# three groups of programs, each in its own sanitized process (so that pytest's workers share them)
PROGRAMS = {"control flow": r'''
def branchy(x, p):
    return st.sum(st.cond(p > 0, lambda: st.tanh(x) * 2, lambda: st.sin(x)[::-1] + 1))

def loop(x, n):
    return st.sum(st.fori_loop(0, n, lambda i, c: st.tanh(c * 1.1 + x), x))

def whiled(x, n):
    h, k = st.while_loop(lambda c: c[1] < n, lambda c: (st.tanh(c[0] * 1.5), c[1] + 1), (x, np.int64(0)))
    return st.sum(h)

x = rng.standard_normal(5)
same("cond under grad", st.value_and_grad(branchy), (x, np.float64(-1)))
same("fori_loop under grad", st.value_and_grad(loop), (x, np.int64(7)))
same("while_loop under grad", st.value_and_grad(whiled), (x, np.int64(5)))
left, right, root = random_tree(7, 1)
feat = rng.standard_normal((len(left), 3))
same("recursive function under grad", st.value_and_grad(tree_loss, argnums=(0, 1)),
     (rng.standard_normal(3) * .5, rng.standard_normal(3) * .5, left, right, feat, root))

# an exception thrown while on the private stack (an index out of range inside a loop under grad)
def bad_index(x, idx, n):
    return st.sum(st.fori_loop(0, n, lambda i, c: c * x[idx[i]], x))
try:
    st.compile(st.grad(bad_index))(x, np.array([0, 1, 9]), np.int64(3))
    raise SystemExit("no IndexError")
except IndexError:
    checked.append("IndexError on the private stack")
''', "training": r'''
# convolution, pooling and a training step with an optimizer
model = st.nn.Sequential(st.nn.Conv2d(1, 3, 3, padding=1), st.nn.ReLU(), st.nn.MaxPool2d(2),
                         st.nn.Conv2d(3, 4, 3), st.nn.ReLU(), st.nn.AvgPool2d(2), st.nn.Flatten(),
                         st.nn.Linear(4, 3))
step = st.train_step(lambda a, b: st.nn.cross_entropy(model(a), b), model, st.optim.Adam(lr=1e-2))
xb = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
yb = np.array([0, 1, 2, 1])
losses = [float(step(xb, yb)) for _ in range(5)]
assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
checked.append("conv/pool training step")
''', "export": r'''
# an exported library (built with the sanitizers too), loaded and called here
def rnn_grad(w, xs, n):
    return st.grad(lambda w: st.sum(st.fori_loop(0, n, lambda i, h: st.tanh(xs[i] * w + h), xs[0])))(w)
w = rng.standard_normal(3)
xs = rng.standard_normal((6, 3))
out_dir = sys.argv[2]
san = "-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined"
st.export(rnn_grad, (w, xs, np.int64(4)), out_dir, params=(0,), name="rnn", cxxflags=san)
lib = ctypes.CDLL(os.path.join(out_dir, "librnn.so"))
lib.rnn_create.restype = ctypes.c_void_p
lib.rnn_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
err = ctypes.create_string_buffer(256)
m = lib.rnn_create(os.path.join(out_dir, "rnn.safetensors").encode(), err, 256)
assert m, err.value
lib.rnn_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
out = np.zeros(3)
assert lib.rnn_run(m, xs.ctypes.data, 4, out.ctypes.data) == 0
np.testing.assert_allclose(out, st.compile(rnn_grad, backend="interp")(w, xs, np.int64(4)), rtol=1e-9)
lib.rnn_destroy.argtypes = [ctypes.c_void_p]
lib.rnn_destroy(m)
checked.append("export")
'''}
CHECKED = {"control flow": "cond under grad; fori_loop under grad; while_loop under grad; "
                           "recursive function under grad; IndexError on the private stack",
           "training": "conv/pool training step", "export": "export"}


@pytest.mark.skipif(ASAN is None or STDCXX is None, reason="the compiler has no libasan")
@pytest.mark.parametrize("group", list(PROGRAMS))
def test_sanitized_builds_run_clean(tmp_path, group):
    env = dict(os.environ,
               STAGE_SANITIZE="address,undefined",
               LD_PRELOAD=f"{ASAN}:{STDCXX}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    code = PRELUDE + PROGRAMS[group] + '\nprint("CHECKED", "; ".join(checked))\n'
    r = subprocess.run([sys.executable, "-c", code, str(ROOT), str(tmp_path / "export")],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = r.stdout[-3000:] + r.stderr[-6000:]
    assert r.returncode == 0, report
    assert "AddressSanitizer" not in r.stderr and "runtime error:" not in r.stderr, report
    assert f"CHECKED {CHECKED[group]}\n" in r.stdout, report


def test_sanitize_option_is_validated(monkeypatch):
    from stage.codegen import compiler
    monkeypatch.setenv("STAGE_SANITIZE", "adress")
    with pytest.raises(ValueError, match="unknown sanitizer 'adress'"):
        compiler.sanitizers()
    monkeypatch.setenv("STAGE_SANITIZE", "undefined, address")
    assert compiler.sanitizers() == ["address", "undefined"]
    flags = compiler.command("a.cpp", "a.so")
    assert "-fsanitize=address,undefined" in flags
