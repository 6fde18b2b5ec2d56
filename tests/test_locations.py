"""Source locations survive differentiation: nodes made by CPS carry the line of the user's forward
expression, so runtime errors, staging errors and generated comments name it -- in straight-line
code, loop bodies, branches and recursive functions, on both backends."""
import inspect

import numpy as np
import pytest

import stage as st

BACKENDS = ["interp", "native"]


def _line(fn, marker):
    """The line number of the source line of fn containing `marker`."""
    src, start = inspect.getsourcelines(fn)
    for k, text in enumerate(src):
        if marker in text:
            return start + k
    raise AssertionError(marker)


def loop_loss(w, xs, n):
    def body(t, h):
        return st.tanh(xs[t] @ w + h)          # LOOP-INDEX
    return st.sum(st.fori_loop(0, n, body, st.zeros(3)))


def branch_loss(w, xs, i, p):
    return st.cond(p, lambda: st.sum(xs[i] @ w),       # BRANCH-INDEX
                   lambda: st.sum(w))


@st.function
def walk(i, left, xs, w):
    return st.cond(left[i] < 0, lambda: st.tanh(xs[i] @ w),      # TREE-INDEX
                   lambda: st.tanh(walk(left[i], left, xs, w) @ w))


def tree_loss(w, left, xs, root):
    return st.sum(walk(root, left, xs, w))


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_error_in_loop_body_under_grad_names_the_body(backend):
    f = st.compile(st.grad(loop_loss), backend=backend)
    w, xs = np.ones((3, 3), np.float32), np.ones((4, 3), np.float32)
    f(w, xs, np.int64(4))
    with pytest.raises(IndexError) as e:
        f(w, xs, np.int64(6))
    if backend == "native":
        assert f"test_locations.py:{_line(loop_loss, 'LOOP-INDEX')}" in str(e.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_error_in_branch_under_grad(backend):
    f = st.compile(st.grad(branch_loss), backend=backend)
    w, xs = np.ones((3, 3), np.float32), np.ones((4, 3), np.float32)
    with pytest.raises(IndexError) as e:
        f(w, xs, np.int64(9), np.array(True))
    if backend == "native":
        assert f"test_locations.py:{_line(branch_loss, 'BRANCH-INDEX')}" in str(e.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_error_in_recursion_under_grad(backend):
    f = st.compile(st.grad(tree_loss), backend=backend)
    w, xs = np.ones((3, 3), np.float32), np.ones((3, 3), np.float32)
    left = np.array([-1, 0, 7])            # node 2's left child does not exist
    f(w, left, xs, np.int64(1))
    with pytest.raises(IndexError) as e:
        f(w, left, xs, np.int64(2))
    if backend == "native":
        assert "test_locations.py:" in str(e.value)
        line = int(str(e.value).split("test_locations.py:")[1].split()[0].rstrip(")"))
        assert line in (_line(walk.fn, "TREE-INDEX"), _line(walk.fn, "TREE-INDEX") + 1)


def test_straight_line_backward_nodes_carry_forward_lines():
    def loss(w, x):
        h = st.tanh(x @ w)                       # FORWARD-1
        return st.sum(h * h)                     # FORWARD-2
    f = st.compile(st.grad(loss))
    f(np.ones((3, 3), np.float32), np.ones((2, 3), np.float32))
    src = f.source
    l1, l2 = _line(loss, "FORWARD-1"), _line(loss, "FORWARD-2")
    assert f"[backward of" in src
    for line in src.splitlines():
        if "[backward of" in line:
            assert f"test_locations.py:{l1})" in line or f"test_locations.py:{l2})" in line, line


def test_staging_error_while_differentiating_names_the_user_line():
    def loss(w, x):
        return st.sum(st.stop_gradient(x) @ w)   # FORWARD
    # a shape error raised by a gradient rule is located at the forward expression
    from stage.ir.ops import OPS
    rule = OPS["matmul"].grad

    def broken(g, out, a, b):
        return st.reshape(g, (7, 7)), None
    OPS["matmul"].grad = broken
    try:
        with pytest.raises(st.StageTypeError) as e:
            st.compile(st.grad(loss), backend="interp")(np.ones((3, 3)), np.ones((2, 3)))
    finally:
        OPS["matmul"].grad = rule
    assert f"test_locations.py:{_line(loss, 'FORWARD')}" in str(e.value)
