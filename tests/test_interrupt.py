"""Ctrl-C stops a native program that would never end: SIGINT while a compiled function runs
raises KeyboardInterrupt, the library stays usable and Python's own SIGINT handling is back
afterwards. Run in a subprocess with a timeout, so that a failure cannot hang the suite.

The loop here is a `while_loop` under `grad`: a recursive native closure, each of whose calls
starts with STAGE_CHECK_STACK(), which polls the interrupt flag. (Plain loops poll through
STAGE_POLL_INTERRUPT(), emitted by the code generator inside generated loops.)"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import os, signal, sys, threading, time
# Python's own SIGINT handling, as in an interactive session: a test run started in the background
# by a non-interactive shell (`pytest ... &`) has SIGINT ignored, and its children inherit that
# (then Python raises no KeyboardInterrupt and stage, rightly, leaves the signal ignored too)
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import stage as st
import faulthandler                  # not interrupted after all: the stacks, and an end (a loop
faulthandler.dump_traceback_later(120, exit=True)   # under grad would fill the memory)

def f(x, w, n):
    h, k = st.while_loop(lambda c: c[1] < n, lambda c: (st.tanh(c[0] @ w), c[1] + 1),
                         (x, np.int64(0)))
    return st.sum(h)

g = st.compile(st.grad(f, argnums=1))
x, w = np.ones((100, 100)), np.eye(100) * 0.5
expected = g(x, w, np.int64(3))                          # built and run once: it terminates
threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t0 = time.monotonic()
try:
    g(x, w, np.int64(10**15))                            # "forever" (it would end in RecursionError
    print("not interrupted")                             # after hours and a GiB of stack)
except KeyboardInterrupt as e:
    print("interrupted after", round(time.monotonic() - t0, 1), "s:", e)
np.testing.assert_array_equal(g(x, w, np.int64(3)), expected)      # still usable, same answer
print("usable again")
try:
    os.kill(os.getpid(), signal.SIGINT)                  # Python's handler is back in place
    time.sleep(5)
    print("SIGINT lost")
except KeyboardInterrupt:
    print("python handles SIGINT again")
"""


def _run(script):
    try:
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                              text=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"not interrupted: stdout {e.stdout!r}, stderr {e.stderr!r}") from None


def test_ctrl_c_interrupts_a_never_ending_native_loop():
    r = _run(SCRIPT)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    lines = r.stdout.splitlines()
    assert lines[0].startswith("interrupted after") and "KeyboardInterrupt" not in lines[0], lines
    assert "interrupted (SIGINT)" in lines[0]
    assert lines[1:] == ["usable again", "python handles SIGINT again"], lines


PLAIN = r"""
import os, signal, sys, threading, time
# Python's own SIGINT handling, as in an interactive session: a test run started in the background
# by a non-interactive shell (`pytest ... &`) has SIGINT ignored, and its children inherit that
# (then Python raises no KeyboardInterrupt and stage, rightly, leaves the signal ignored too)
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import stage as st
import faulthandler                  # not interrupted after all: the stacks, and an end (a loop
faulthandler.dump_traceback_later(120, exit=True)   # under grad would fill the memory)

loops = {
    "while_loop": lambda x, n: st.while_loop(lambda c: c[1] < n, lambda c: (c[0] * 0.5 + 1.0, c[1] + 1),
                                             (x, np.int64(0)))[0],
    "fori_loop": lambda x, n: st.fori_loop(0, n, lambda i, c: c * 0.5 + 1.0, x),
}
for name, fn in loops.items():
    g = st.compile(fn)
    g(np.ones(4), np.int64(3))
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    try:
        g(np.ones(4), np.int64(10**15))
        print(name, "not interrupted")
    except KeyboardInterrupt as e:
        print(name, "interrupted:", e)
"""


def test_ctrl_c_interrupts_plain_native_loops():
    """A loop not under grad is a C++ `for`/`while`: the code generator polls in every iteration."""
    r = _run(PLAIN)
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and all("interrupted (SIGINT)" in ln for ln in lines), lines
