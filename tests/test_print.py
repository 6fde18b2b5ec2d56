"""st.print: values printed when the program runs, the same text from both backends."""
import numpy as np
import pytest

import stage as st
from stage.ir.ops.io import format_value

BACKENDS = ["interp", "native"]


def _run(capfd, fn, *args, backend):
    capfd.readouterr()
    out = st.compile(fn, backend=backend)(*args)
    return out, capfd.readouterr().out


@pytest.mark.parametrize("backend", BACKENDS)
def test_print_in_a_loop_prints_every_iteration(capfd, backend):
    def f(x, n):
        def body(i, c):
            st.print("step", i, "value", c, sep=" ", end=";\n")
            return c * 2.0
        return st.fori_loop(0, n, body, x)
    _, text = _run(capfd, f, np.float64(1.5), np.int64(3), backend=backend)
    assert text == "step 0 value 1.5;\nstep 1 value 3;\nstep 2 value 6;\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_print_alike(capfd, backend):
    x = np.array([[1.0, -2.5], [np.nan, np.inf]], np.float32)
    big = np.arange(2000, dtype=np.int64).reshape(40, 50)
    _, text = _run(capfd, lambda x, b, p: st.print(x, b[:2, :3], b, p > 0), x, big, np.array(True),
                   backend=backend)
    expect = " ".join([format_value(x), format_value(big[:2, :3]), format_value(big),
                       "True"]) + "\n"
    assert text == expect
    assert "[[1 -2.5]\n [nan inf]]" in text and "..." in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_print_under_grad_prints_the_forward_value(capfd, backend):
    def loss(w):
        h = st.tanh(w)
        st.print("h =", h)
        return st.sum(h * h)
    g, text = _run(capfd, st.grad(loss), np.zeros(2), backend=backend)
    assert text == "h = [0 0]\n"
    np.testing.assert_array_equal(g, [0.0, 0.0])


def test_plain_python_print_of_staged_values_is_converted(capfd):
    def f(x, n):
        for i in range(n):
            x = x + 1.0
            print("x is", x)
        return x
    _, text = _run(capfd, f, np.float64(0.0), np.int64(2), backend="native")
    assert text == "x is 1\nx is 2\n"
