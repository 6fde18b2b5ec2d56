"""Errors are part of the product: clear Python exceptions, never a crash or a wrong answer."""
import os

import numpy as np
import pytest

import stage as st
from stage.codegen.compiler import CompileError


def test_shape_mismatch_names_op_shapes_and_user_line():
    def f(x, w):
        return x @ w                            # the offending line
    with pytest.raises(st.StageTypeError) as e:
        st.compile(f)(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))
    msg = str(e.value)
    assert "matmul" in msg and "f32[2,3]" in msg and "f32[4,5]" in msg
    assert f"test_errors.py:{f.__code__.co_firstlineno + 1}" in msg


def test_broadcast_mismatch():
    with pytest.raises(st.StageTypeError, match=r"add: shapes cannot be broadcast.*f32\[3\].*f32\[4\]"):
        st.compile(lambda a, b: a + b)(np.ones(3, np.float32), np.ones(4, np.float32))


def test_dtype_mismatch_in_grad():
    with pytest.raises(st.StageTypeError, match="floating-point scalar"):
        st.compile(st.grad(lambda x: x * 2))(np.ones(3, np.float32))


def test_truth_value_of_staged_value_without_source():
    # a Python `if` on a staged value is converted to st.cond (tests/test_frontend*.py); where the
    # source is not available (exec, a REPL) it cannot be, and the error says what to do and why
    ns = {}
    exec("def f(x):\n    if x > 0:\n        return x\n    return -x\n", ns)
    with pytest.raises(st.StageError, match="st.cond") as e:
        st.compile(ns["f"])(np.float32(1.0))
    assert any("source is not available" in n for n in getattr(e.value, "__notes__", []))


def test_wrong_arguments_to_a_specialisation():
    f = st.compile(lambda x, y: x @ y)
    exe = f.lower(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        exe(np.ones((2, 3), np.float64), np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="shape"):
        exe(np.ones((2, 4), np.float32), np.ones((3, 2), np.float32))
    with pytest.raises(TypeError, match="structured"):
        exe(np.ones((2, 3), np.float32))


def test_non_contiguous_array_is_read_through_a_copy():
    f = st.compile(lambda x: x * 2)
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    f(a)
    np.testing.assert_array_equal(f(a.T), a.T * 2)
    np.testing.assert_array_equal(f.lower(a)(a.T), a.T * 2)


def test_missing_argument_is_a_type_error():
    with pytest.raises(TypeError):
        st.compile(lambda x, y: x + y)(np.ones(3, np.float32))


def test_runtime_index_out_of_range():
    f = st.compile(lambda x, i: x[i] * 2)
    x = np.arange(5, dtype=np.float32)
    assert float(f(x, np.int64(4))) == 8 and float(f(x, np.int64(-1))) == 8
    with pytest.raises(IndexError, match="out of bounds.*test_errors.py"):
        f(x, np.int64(5))
    with pytest.raises(IndexError):
        f(x, np.int64(-6))


def test_runtime_bad_target_and_take_index():
    ce = st.compile(lambda z, y: st.nn.cross_entropy(z, y))
    with pytest.raises(IndexError, match="cross_entropy"):
        ce(np.zeros((2, 3), np.float32), np.array([0, 3]))
    tk = st.compile(lambda e, i: st.take(e, i, axis=0))
    with pytest.raises(IndexError, match="take"):
        tk(np.zeros((4, 2), np.float32), np.array([1, 9]))


def test_static_index_out_of_range_at_staging():
    with pytest.raises(IndexError):
        st.compile(lambda x: x[7])(np.ones(3, np.float32))


def test_compiler_failure_shows_message_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path))
    with pytest.raises(CompileError) as e:
        st.compile(lambda x: x + 1, cxxflags="-fno-such-flag-for-stage")(np.ones(2, np.float32))
    msg = str(e.value)
    assert "fno-such-flag-for-stage" in msg and "source kept at" in msg
    src = msg.split("source kept at ")[1].split(")")[0]
    assert os.path.exists(src)


def test_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("STAGE_CXX", "no-such-compiler-xyz")
    with pytest.raises(CompileError, match="no C.. compiler found"):
        st.compile(lambda x: x + 2)(np.ones(2, np.float32))


def test_unknown_dtype():
    with pytest.raises(TypeError, match="does not support dtype"):
        st.compile(lambda x: x + 1)(np.ones(2, np.float16))


def _halve_n_times(x, n):
    return st.sum(st.fori_loop(0, n, lambda i, c: c * 0.5, x))


@pytest.mark.parametrize("value", ["abc", "0", "-1", " 12", "99999999999"])
def test_bad_stack_size_is_refused(monkeypatch, value):
    monkeypatch.setenv("STAGE_STACK_MB", value)
    f = st.compile(st.grad(_halve_n_times))           # a loop under grad runs on the big stack
    with pytest.raises(ValueError, match="STAGE_STACK_MB=.*whole number of MiB"):
        f(np.ones(3), np.int64(3))


def test_stack_size_is_checked_by_the_runtime_too(monkeypatch):
    """The library refuses a bad STAGE_STACK_MB itself (an exported library has no Python): here
    the Python check is skipped, in a fresh process so that the runtime reads the variable."""
    import subprocess
    import sys
    code = ("import numpy as np, stage as st, stage.codegen.loader as L\n"
            "L.check_stack_mb = lambda: None\n"
            "from tests.test_errors import _halve_n_times\n"
            "try:\n"
            "    st.compile(st.grad(_halve_n_times))(np.ones(3), np.int64(3))\n"
            "except ValueError as e:\n"
            "    print('refused:', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, STAGE_STACK_MB="12abc"),
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout and "STAGE_STACK_MB=12abc" in r.stdout
