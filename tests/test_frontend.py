"""Plain Python control flow over staged values (stage.frontend): what is staged, what stays Python,
and the errors. Run with the NumPy interpreter (no compiler); tests/test_frontend_torch.py checks a
corpus against PyTorch on both backends."""
import numpy as np
import pytest

import stage as st
from stage.frontend import converted_source, do_not_convert


def run(fn, *args):
    return st.compile(fn, backend="interp")(*args)


f32 = np.float32


# ------------------------------------------------------------------------------------------ if

def branchy(x):
    if st.sum(x) > 0:
        y = x * 2
    elif st.sum(x) > -1:
        y = x + 10
    else:
        y = -x
    return y


@pytest.mark.parametrize("x,want", [([1, 2], [2, 4]), ([-0.25, 0], [9.75, 10]), ([-3, 1], [3, -1])])
def test_if_elif_else_on_data(x, want):
    f = st.compile(branchy, backend="interp")
    np.testing.assert_allclose(f(np.array(x, f32)), want)
    assert f.num_specializations == 1 and "cond" in f.ir


def test_static_if_picks_one_branch_as_python_does():
    traced = []

    def f(x, flag):
        if flag:
            traced.append("true")
            y = x * 2
        else:
            traced.append("false")
            y = x * 3
        return y
    g = st.compile(f, backend="interp")
    assert float(g(f32(1), True)) == 2 and float(g(f32(1), False)) == 3
    assert traced == ["true", "false"] and "cond" not in g.ir


def test_static_if_may_bind_a_name_in_one_branch_only():
    def f(x, flag):
        if flag:
            y = x + 1
        return y if flag else x
    assert float(run(f, f32(1), True)) == 2 and float(run(f, f32(1), False)) == 1


def test_conditional_expression_and_numbers_that_differ_by_branch():
    def f(x):
        s = 1.0 if st.sum(x) > 0 else -1.0        # Python numbers, different per branch: staged
        k = 3 if st.sum(x) > 0 else 3             # the same number on both paths: stays static
        return x * s * k
    np.testing.assert_allclose(run(f, np.array([1, 2], f32)), [3, 6])
    np.testing.assert_allclose(run(f, np.array([-1, -2], f32)), [3, 6])


def test_early_returns_in_branches():
    def f(x):
        if st.sum(x) > 0:
            return x * 2
        if st.max(x) > -1:
            return x + 1
        y = x - 1
        return y * 3
    g = st.compile(f, backend="interp")
    np.testing.assert_allclose(g(np.array([1, 2], f32)), [2, 4])
    np.testing.assert_allclose(g(np.array([-2, -0.5], f32)), [-1, 0.5])
    np.testing.assert_allclose(g(np.array([-2, -3], f32)), [-9, -12])
    assert "do_return" not in converted_source(f)          # branches only: no flag needed


def test_pytrees_assigned_in_branches():
    def f(p, x):
        if st.sum(x) > 0:
            p = {"w": p["w"] * 2, "b": (p["b"][0] + 1, None)}
        else:
            p["w"] = p["w"] - 1                           # a container changed in place
        return p["w"] + p["b"][0]
    p = {"w": np.ones(2, f32), "b": (np.zeros(2, f32), None)}
    np.testing.assert_allclose(run(f, p, np.ones(2, f32)), [3, 3])
    np.testing.assert_allclose(run(f, p, -np.ones(2, f32)), [0, 0])
    assert float(p["w"][0]) == 1                            # the caller's dict is not touched


# ------------------------------------------------------------------------------------------ loops

def test_while_until_convergence():
    def f(x):
        steps = 0
        while st.abs(x * x - 2) > 1e-12:
            x = x - (x * x - 2) / (2 * x)
            steps += 1
        return x, steps
    x, n = run(f, np.float64(1.0))
    assert float(x) == pytest.approx(2 ** 0.5, rel=1e-12) and 4 <= int(n) <= 6


def test_for_range_with_runtime_bounds_and_negative_step():
    def f(x, a, b, step):
        total = 0.0
        for i in range(a, b, step):
            total = total + x[i]
        return total
    g = st.compile(f, backend="interp")
    x = np.arange(10, dtype=f32)
    for a, b, s in [(0, 10, 1), (2, 9, 3), (9, 0, -2), (8, -1, -1), (5, 5, 1), (3, 1, 1)]:
        assert float(g(x, np.int64(a), np.int64(b), np.int64(s))) == sum(x[range(a, b, s)]), (a, b, s)
    assert g.num_specializations == 1


def test_static_range_unrolls():
    def f(x):
        for _ in range(3):
            x = x * 2
        return x
    g = st.compile(f, backend="interp")
    assert float(g(f32(1))) == 8 and "loop" not in g.ir


def test_for_over_rows_of_a_staged_array_and_reversed_range():
    def f(xs, n):
        h = st.zeros(xs.shape[1])
        for x in xs:
            h = st.tanh(x + h)
        acc = 0.0
        for i in reversed(range(n)):
            acc = acc * 10 + i
        return h, acc
    xs = np.random.default_rng(0).standard_normal((4, 3)).astype(f32)
    h, acc = run(f, xs, np.int64(4))
    want = np.zeros(3, f32)
    for x in xs:
        want = np.tanh(x + want)
    np.testing.assert_allclose(h, want, rtol=1e-6)
    assert float(acc) == 3210


def test_enumerate_and_zip_of_staged_arrays_are_staged_loops():
    def f(xs, ys, n):
        acc = 0.0
        for t, x in enumerate(xs):
            acc = acc + t * st.sum(x)
        for x, y in zip(xs, ys):                    # as long as the shorter
            acc = acc + st.sum(x * y)
        for k, i in enumerate(range(n), 1):
            acc = acc + k * i
        for i, (x, y) in enumerate(zip(xs, ys)):
            acc = acc + i
        return acc

    def py(xs, ys, n):
        acc = 0.0
        for t, x in enumerate(xs):
            acc += t * x.sum()
        for x, y in zip(xs, ys):
            acc += (x * y).sum()
        for k, i in enumerate(range(n), 1):
            acc += k * i
        for i, (x, y) in enumerate(zip(xs, ys)):
            acc += i
        return acc
    xs, ys = np.arange(6, dtype=f32).reshape(3, 2), np.ones((4, 2), f32)
    g = st.compile(f, backend="interp")
    assert float(g(xs, ys, np.int64(4))) == py(xs, ys, 4)
    assert g.ir.count("fori_loop") == 4                 # staged loops, not unrolled


def test_python_lists_grown_in_loops_and_branches():
    def rows(xs):
        outs = []
        for x in xs:            # a staged array's rows: unrolled then, the list grows as in Python
            outs.append(x * 2)
        return st.stack(outs)
    np.testing.assert_allclose(run(rows, np.ones((3, 2), f32)), 2 * np.ones((3, 2)))

    def runtime_length(xs, n):
        outs = []
        for t in range(n):
            outs.append(xs[t])
        return st.stack(outs)
    with pytest.raises(st.StageError, match=r"outs.append\(...\)\), but it runs a staged number"):
        run(runtime_length, np.ones((3, 2), f32), np.int64(2))

    def in_branch(x):
        log = []
        if st.sum(x) > 0:
            log.append(x)
        return x
    with pytest.raises(st.StageError, match=r"`if` at .* changes Python containers .*log.append"):
        run(in_branch, np.ones(2, f32))


def test_break_continue_and_else_in_a_runtime_length_loop():
    def f(x, n):
        s = 0.0
        for i in range(n):
            if x[i] < 0:
                continue
            if s > 5:
                break
            s = s + x[i]
        else:
            s = s + 100
        return s

    def py(x, n):
        s = 0.0
        for i in range(n):
            if x[i] < 0:
                continue
            if s > 5:
                break
            s = s + x[i]
        else:
            s = s + 100
        return s
    g = st.compile(f, backend="interp")
    x = np.array([1, -2, 3, -1, 2, 4, 1], f32)
    for n in range(len(x) + 1):
        assert float(g(x, np.int64(n))) == pytest.approx(py(x, n)), n


def test_return_inside_a_staged_loop():
    def first_negative(x, n):
        for i in range(n):
            if x[i] < 0:
                return i
        return -1
    g = st.compile(first_negative, backend="interp")
    x = np.array([3, 1, -2, 5, -1], f32)
    assert [int(g(x, np.int64(n))) for n in (0, 2, 3, 5)] == [-1, -1, 2, 2]


def test_break_on_a_staged_value_inside_a_static_loop():
    def f(x):
        for k in range(4):              # static: unrolled, the later iterations guarded
            x = x * 2
            if st.sum(x) > 10:
                break
        return x, k
    g = st.compile(f, backend="interp")
    x, k = g(f32(1))
    assert float(x) == 16 and int(k) == 3
    x, k = g(f32(3))
    assert float(x) == 12 and int(k) == 1


def test_static_loop_turns_staged_and_python_loops_stay_python():
    def f(x, layers):
        i = 0
        while i < 2 or st.sum(x) < 100:   # static for two rounds, then a staged test
            x = x * 3
            i = i + 1
        for scale in layers:               # a Python list: a Python loop
            x = x * scale
        return x
    assert float(run(f, f32(1), [1, 2])) == 243 * 2


def test_nested_loops_with_a_branch_inside():
    def f(m, n):
        total = 0
        for i in range(n):
            j = 0
            while j < i:
                if (i + j) % 2 == 0:
                    total = total + i * j
                j += 1
        return total
    g = st.compile(f, backend="interp")

    def py(n):
        return sum(i * j for i in range(n) for j in range(i) if (i + j) % 2 == 0)
    assert [int(g(f32(0), np.int64(n))) for n in (0, 3, 6)] == [py(0), py(3), py(6)]


# ------------------------------------------------------------------------------------------ logic

def test_and_or_not_on_staged_predicates():
    def f(x, i, n):
        a = 1.0 if st.sum(x) > 0 and not st.max(x) > 5 else 0.0
        b = 1.0 if st.sum(x) < -10 or st.min(x) < -1 else 0.0
        c = 0.0
        while i < n and x[i] > 0:          # short circuit: x[i] is read only where i < n
            c = c + x[i]
            i = i + 1
        return a, b, c
    g = st.compile(f, backend="interp")
    out = [float(v) for v in g(np.array([1, 2, 3], f32), np.int64(0), np.int64(3))]
    assert out == [1, 0, 6]
    out = [float(v) for v in g(np.array([1, -2, 9], f32), np.int64(0), np.int64(3))]
    assert out == [0, 1, 1]


def test_chained_comparisons():
    def f(x, lo, hi):
        s = st.sum(x)
        if lo < s <= hi:                   # lo < s and s <= hi, s evaluated once
            return s * 2
        return s
    g = st.compile(f, backend="interp")
    assert [float(g(np.array(v, f32), 0.0, 5.0)) for v in ([1, 2], [-1, -2], [3, 4], [5, 0])] == \
        [6, -3, 7, 10]


# ------------------------------------------------------------------------------------------ functions

def helper_with_loop(h, w, n):
    for _ in range(n):
        h = st.tanh(h @ w)
    return h


def test_user_functions_called_from_staged_code_are_converted():
    def f(h, w, n):
        return st.sum(helper_with_loop(h, w, n))
    g = st.compile(f, backend="interp")
    w = np.eye(2, dtype=f32) * 0.5
    assert float(g(np.ones(2, f32), w, np.int64(2))) == pytest.approx(
        2 * np.tanh(0.5 * np.tanh(0.5)), rel=1e-6)
    assert "def helper_with_loop" in g.converted_source and "for_stmt" in g.converted_source


def test_closures_nested_functions_and_recursion_through_st_function():
    tree_left = np.array([-1, -1, 0, -1, 2])
    tree_right = np.array([-1, -1, 1, -1, 3])
    value = np.array([1, 2, 0, 4, 0], f32)

    def make():
        @st.function
        def total(i, left, right, v, scale):
            if left[i] < 0:
                return v[i] * scale            # early return in a recursive function
            def child(j):                      # a closure inside the staged function
                return total(j, left, right, v, scale)
            return child(left[i]) + child(right[i])
        return total
    total = make()
    g = st.compile(lambda i, l, r, v: total(i, l, r, v, f32(2)), backend="interp")
    assert float(g(np.int64(4), tree_left, tree_right, value)) == 14
    assert float(g(np.int64(2), tree_left, tree_right, value)) == 6


class Scaled:
    def __init__(self, k):
        self.__k = k                            # a private name: mangled in the method

    def apply(self, x, n):
        for _ in range(n):
            x = x * self.__k
        return x


class Doubler(Scaled):
    def apply(self, x, n):
        if st.sum(x) > 0:
            return super().apply(x, n)
        return x


def test_methods_super_and_private_names():
    obj = Doubler(2.0)
    assert float(run(lambda x, n: obj.apply(x, n), f32(1), np.int64(3))) == 8
    assert float(run(lambda x, n: obj.apply(x, n), f32(-1), np.int64(3))) == -1


def test_grad_through_converted_control_flow():
    def f(w, x, n):
        h = st.zeros(2, "float64")
        for t in range(n):
            h = st.tanh(x[t] * w + h)
            if st.sum(h) > 1.5:
                break
        return st.sum(h * h)
    w = np.array([0.5, -0.3])
    x = np.linspace(0.1, 1, 10)
    g = st.compile(st.grad(f), backend="interp")
    ev = st.compile(f, backend="interp")
    for n in (0, 3, 10):
        t = np.array([0.3, 0.7])
        fd = (float(ev(w + 1e-6 * t, x, np.int64(n))) - float(ev(w - 1e-6 * t, x, np.int64(n)))) / 2e-6
        assert float(np.dot(g(w, x, np.int64(n)), t)) == pytest.approx(fd, rel=1e-5, abs=1e-9)


# ------------------------------------------------------------------------------------------ errors

def test_variable_assigned_in_one_branch_only_names_it_and_the_line():
    def f(x):
        if st.sum(x) > 0:
            y = x * 2
        return y
    with pytest.raises(st.StageError, match=r"'y' is assigned only in the if branch") as e:
        run(f, np.ones(2, f32))
    assert f"test_frontend.py:{f.__code__.co_firstlineno + 1}" in str(e.value)


def test_loop_variable_changing_shape_names_it_and_the_line():
    def f(x, n):
        h = x
        for _ in range(n):
            h = st.concatenate([h, x])
        return h
    with pytest.raises(st.StageError, match=r"'h' is a staged float32 array of shape \(2,\) before "
                       r"the staged `for` loop .* of shape \(4,\) after an iteration") as e:
        run(f, np.ones(2, f32), np.int64(2))
    assert f"test_frontend.py:{f.__code__.co_firstlineno + 2}" in str(e.value)


def test_branches_disagreeing_on_a_python_value():
    def f(x):
        if st.sum(x) > 0:
            mode = "a"
        else:
            mode = "b"
        return x if mode == "a" else -x
    with pytest.raises(st.StageError, match=r"'mode' is the str 'a' after the if branch and the "
                       r"str 'b'"):
        run(f, np.ones(2, f32))


def test_staging_errors_inside_converted_code_name_the_users_line():
    def f(x, w):
        if st.sum(x) > 0:
            y = x @ w                      # the offending line
        else:
            y = x
        return y
    with pytest.raises(st.StageTypeError) as e:
        run(f, np.ones(3, f32), np.ones((4, 2), f32))
    assert f"test_frontend.py:{f.__code__.co_firstlineno + 2}" in str(e.value)


def test_value_needed_before_a_staged_loop():
    def f(x, n):
        for i in range(n):
            last = x[i]
        return last
    with pytest.raises(st.StageError, match=r"'last' has no value before the staged `for` loop"):
        run(f, np.ones(3, f32), np.int64(2))


# ------------------------------------------------------------------------------------------ opting out

def test_do_not_convert_and_the_environment_switch(monkeypatch):
    @do_not_convert
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(st.StageError, match="st.cond"):
        run(f, f32(1))

    def g(x):
        return x if x > 0 else -x
    monkeypatch.setenv("STAGE_CONVERT", "0")
    with pytest.raises(st.StageError, match="st.cond"):
        run(g, f32(1))
    monkeypatch.setenv("STAGE_CONVERT", "1")
    assert float(run(g, f32(-2))) == 2


def test_show_converted(monkeypatch, capsys):
    monkeypatch.setenv("STAGE_SHOW_CONVERTED", "1")

    def shown(x):
        while st.sum(x) < 10:
            x = x * 2
        return x
    assert float(run(shown, f32(1))) == 16
    err = capsys.readouterr().err
    assert "# converted from" in err and "ag__.while_stmt(" in err


# ------------------------------------------------------------------------------------------ odd corners

def _odd_static_raise(x, mode):
    if mode not in ("a", "b"):
        raise ValueError("bad mode")
    return x if mode == "a" else -x


def _odd_generator_inside(x, n):
    def g():
        for i in range(3):
            yield i
    total = x * 0
    for k in g():
        total = total + x * k
    for _ in range(n):
        total = total + 1
    return total


def _odd_signature(x, *rest, scale=2.0, **kw):
    if st.sum(x) > 0:
        x = x * scale
    for r in rest:
        x = x + r
    return x


def _odd_comprehension_and_lambda(x):
    ys = [x * i for i in range(3) if i > 0]
    f = lambda z: z * 2 if st.sum(z) > 0 else z * 3     # noqa: E731
    return f(ys[0] + ys[1])


def _odd_while_else_and_walrus(x, n):
    i = 0
    while i < n:
        x = x + 1
        i += 1
    else:
        x = x * 10
    if (s := st.sum(x)) > 0:
        y = s
    else:
        y = -s
    return y


def _odd_nonlocal(x):
    acc = 0

    def add(v):
        nonlocal acc
        acc = acc + v
    for i in range(3):
        add(i)
    return x + acc


def test_odd_corners_keep_python_semantics():
    x = np.array([1, 2], f32)
    np.testing.assert_allclose(run(_odd_static_raise, x, "a"), [1, 2])
    with pytest.raises(ValueError, match="bad mode"):
        run(_odd_static_raise, x, "c")
    np.testing.assert_allclose(run(_odd_generator_inside, x, np.int64(2)), [5, 8])
    np.testing.assert_allclose(run(lambda x: _odd_signature(x, 1.0, 2.0, scale=3.0), x), [6, 9])
    np.testing.assert_allclose(run(_odd_comprehension_and_lambda, x), [6, 12])
    assert float(run(_odd_while_else_and_walrus, x, np.int64(3))) == 90
    np.testing.assert_allclose(run(_odd_nonlocal, x), [4, 5])


def test_return_inside_try_is_not_converted_and_the_error_says_why():
    def f(x):
        try:
            if st.sum(x) > 0:
                return x
        finally:
            pass
        return -x
    with pytest.raises(st.StageError, match="st.cond") as e:
        run(f, np.ones(2, f32))
    assert any("inside try" in n for n in getattr(e.value, "__notes__", []))


def test_plain_recursion_on_a_staged_condition_says_to_use_st_function():
    def depth(i, left):
        if left[i] < 0:
            return 1
        return 1 + depth(left[i], left)
    with pytest.raises(st.StageError, match="make it an @st.function"):
        run(depth, np.int64(2), np.array([-1, 0, 1]))
