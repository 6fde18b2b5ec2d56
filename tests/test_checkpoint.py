"""Checkpointed reverse mode through loops (`checkpoints=k`, `st.checkpoints`) and rematerialisation
(`st.checkpoint`): gradients bit-for-bit those of the program without checkpoints, on both backends;
the schedule is optimal (against dynamic programming) and the interpreter recomputes exactly the
theoretical number of iterations; finite differences in float64; bounded native stack."""
import functools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import stage as st
from stage.ir.graph import StageTypeError, StageValueError
from stage.ir.ops import OPS
from stage.ir.ops import checkpoint as sched

interp = functools.partial(st.compile, backend="interp")


def same(a, b):
    """Bit-for-bit equal pytrees of arrays."""
    la, lb = st.pytree.flatten(a)[0], st.pytree.flatten(b)[0]
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y))
                                      for x, y in zip(la, lb))


# ------------------------------------------------------------------------------------------ schedule

@functools.lru_cache(maxsize=None)
def fewest(n, s):
    """Forward steps to reverse n steps holding the start with s stored states, by exhaustion."""
    if n <= 1:
        return 0
    if s == 1:
        return n * (n - 1) // 2
    return min(m + fewest(n - m, s - 1) + fewest(m, s) for m in range(1, n))


def test_binomial_schedule_is_optimal():
    for s in range(1, 6):
        for n in range(1, 70):
            assert sched.reversal_cost(n, s) == fewest(n, s), (n, s)
            if n >= 2:
                m = sched.split(n, s)
                assert 1 <= m < n
                assert m + fewest(n - m, s - 1) + fewest(m, s) == fewest(n, s), (n, s, m)
    assert sched.capacity(3, 2) == 10 and sched.capacity(0, 5) == 1 and sched.capacity(2, -1) == 0
    assert sched.capacity(200, 200) == sched.CAP             # saturates
    assert sched.repetitions(10**7, 3163) == 3 and sched.repetitions(10**7, 10) == 18


def test_online_schedule_cost_close_to_offline():
    for s in (2, 3, 10):
        for n in (10, 100, 1000, 10**5):
            off, on = n + sched.reversal_cost(n, s), n + sched.online_cost(n, s)
            assert off <= on <= 2 * off, (n, s, off, on)
    n = 10**6          # large loops: within one repetition of the offline optimum
    assert sched.online_cost(n, 1000) <= sched.reversal_cost(n, 1000) + n


@pytest.fixture
def tanh_calls(monkeypatch):
    calls = [0]
    ref = OPS["tanh"].ref

    def counting(x):
        calls[0] += 1
        return ref(x)
    monkeypatch.setattr(OPS["tanh"], "ref", counting)
    return calls


def test_interpreter_recomputes_the_theoretical_number_of_iterations(tanh_calls):
    def fori(k):
        return lambda w, x, n: st.sum(st.fori_loop(0, n, lambda i, h: st.tanh(h * w), x,
                                                   checkpoints=k))

    def while_(k):
        return lambda w, x, n: st.sum(st.while_loop(lambda c: c[1] < n,
                                                    lambda c: (st.tanh(c[0] * w), c[1] + 1),
                                                    (x, 0), checkpoints=k)[0])
    x = np.ones(2)
    for k in (1, 2, 3, 5):
        gf, gw = interp(st.grad(fori(k))), interp(st.grad(while_(k)))
        for n in (0, 1, 2, 9, 40):
            tanh_calls[0] = 0
            gf(np.float64(0.5), x, np.int64(n))
            assert tanh_calls[0] == n + sched.reversal_cost(n, k), (k, n)
            tanh_calls[0] = 0
            gw(np.float64(0.5), x, np.int64(n))
            assert tanh_calls[0] == n + sched.online_cost(n, k), (k, n)


# ------------------------------------------------------------------------------------------ programs

def rnn(k):
    def loss(W, U, b, xs, n):
        def body(t, h):
            return st.tanh(xs[t] @ U + h @ W + b)
        h = st.fori_loop(0, n, body, st.zeros((2, 4), xs.dtype), checkpoints=k)
        return st.sum(h * h)
    return st.value_and_grad(loss, argnums=(0, 1, 2))


def while_exit(k):
    """A while loop whose trip count depends on the data (it stops when `acc` passes `limit`)."""
    def loss(W, x, limit):
        def body(c):
            h, t, acc = c
            h = st.tanh(h @ W + 0.1)
            return h, t + 1, acc + st.sum(h * h)
        h, t, acc = st.while_loop(lambda c: st.logical_and(c[2] < limit, c[1] < 60), body,
                                  (x, 0, 0.0), checkpoints=k)
        return acc + st.sum(h)
    return st.value_and_grad(loss, argnums=(0, 1))


def nested(k_out, k_in):
    """A checkpointed fori_loop around a data-dependent while_loop and a plain fori_loop."""
    def loss(W, x, n):
        def outer(i, h):
            def inner(c):
                return st.tanh(c[0] @ W), c[1] + 1
            h2, _ = st.while_loop(lambda c: st.logical_and(st.sum(c[0]) < 1.0, c[1] < i + 2),
                                  inner, (h, 0), checkpoints=k_in)
            return st.fori_loop(0, 2, lambda j, g: st.sin(g) * 0.9 + h2 * 0.1, h2)
        return st.sum(st.fori_loop(0, n, outer, x, checkpoints=k_out) ** 2)
    return st.value_and_grad(loss, argnums=(0, 1))


RNG = np.random.default_rng(0)
RNN_ARGS = (RNG.normal(size=(4, 4)) * 0.5, RNG.normal(size=(3, 4)), RNG.normal(size=4) * 0.1,
            RNG.normal(size=(30, 2, 3)))
W_ARGS = (RNG.normal(size=(4, 4)) * 0.5, RNG.normal(size=(2, 4)))


def test_rnn_gradients_identical_interp():
    plain = interp(rnn(None))
    for k in (1, 2, 3, 7):
        f = interp(rnn(k))
        for n in (0, 1, 2, 5, 30):
            assert same(f(*RNN_ARGS, np.int64(n)), plain(*RNN_ARGS, np.int64(n))), (k, n)


def test_while_with_data_dependent_exit_identical_interp():
    plain = interp(while_exit(None))
    trips = interp(lambda W, x, limit: st.while_loop(
        lambda c: st.logical_and(c[2] < limit, c[1] < 60),
        lambda c: (st.tanh(c[0] @ W + 0.1), c[1] + 1, c[2] + st.sum(st.tanh(c[0] @ W + 0.1) ** 2)),
        (x, 0, 0.0))[1])
    limits = (-1.0, 0.5, 3.0, 10.0, 1e9)
    assert [int(trips(*W_ARGS, lim)) for lim in limits] == [0, 1, 2, 5, 60]
    for k in (1, 2, 3, 5):
        f = interp(while_exit(k))
        for lim in limits:
            assert same(f(*W_ARGS, lim), plain(*W_ARGS, lim)), (k, lim)


def test_nested_loops_identical_interp():
    plain = interp(nested(None, None))
    for ks in ((2, None), (None, 2), (3, 1), (1, 3)):
        f = interp(nested(*ks))
        for n in (0, 1, 6):
            assert same(f(*W_ARGS, np.int64(n)), plain(*W_ARGS, np.int64(n))), (ks, n)


def test_dropout_is_recomputed_identically():
    """Dropout's counter-based random numbers: the recomputed mask is the mask (key = (seed, i))."""
    def loss(k):
        def f(W, x, n):
            def body(i, h):
                return st.nn.functional.dropout(st.tanh(h @ W), 0.3, key=(np.int64(7), i))
            return st.sum(st.fori_loop(0, n, body, x, checkpoints=k))
        return st.grad(f)
    ref = interp(loss(None))(*W_ARGS, np.int64(12))
    assert np.count_nonzero(ref) > 0
    assert same(interp(loss(3))(*W_ARGS, np.int64(12)), ref)


# ------------------------------------------------------------------------------------------ remat

LIN = st.nn.Linear(4, 4)


def remat_program(checkpointed):
    lin = LIN

    def cell(h, x, W):
        return st.tanh(h @ W + x) * 0.9 + st.sin(h) * 0.1
    c = st.checkpoint(cell) if checkpointed else cell
    layer = st.checkpoint(lin) if checkpointed else lin

    def loss(W, x, n):
        h = st.fori_loop(0, n, lambda i, h: c(h, x, W), x)
        return st.sum(layer(c(h, h, W)) ** 2)
    return st.value_and_grad(loss, argnums=(0, 1))


def test_checkpoint_function_identical_and_remat_in_ir():
    f = interp(remat_program(True))
    g = interp(remat_program(False))
    for n in (0, 3):
        assert same(f(*W_ARGS, np.int64(n)), g(*W_ARGS, np.int64(n)))
    ir = f.lower(*W_ARGS, np.int64(3)).program.ir
    assert "remat_forward" in ir and "remat_backward" in ir
    # outside staging, and without grad, it is the function
    cell = st.checkpoint(lambda a, b=2.0: a * b)
    assert cell(3.0) == 6.0
    assert float(interp(lambda x: cell(x, b=3.0))(np.float32(2.0))) == 6.0


# ------------------------------------------------------------------------------------------ front end

def plain_python(k):
    def loss(W, xs, n, limit):
        h = xs[0]
        with st.checkpoints(k):
            for t in range(n):
                h = st.tanh(h @ W + xs[t])
            s = 0.0
            while s < limit:
                h = st.tanh(h @ W)
                s = s + st.sum(h * h)
        return st.sum(h) + s
    return loss


def test_plain_python_loops_with_checkpoints_context():
    xs = RNG.normal(size=(8, 2, 4))
    args = (W_ARGS[0], xs, np.int64(8), 4.0)
    f = interp(st.value_and_grad(plain_python(3)))
    assert same(f(*args), interp(st.value_and_grad(plain_python(None)))(*args))
    ir = f.ir
    assert "fun(name='first')" in ir and "fun(name='online')" in ir    # both loops checkpointed


def test_checkpoints_context_is_scoped():
    from stage.program import trace

    def f(x, n):
        with st.checkpoints(5):
            y = st.fori_loop(0, n, lambda i, c: st.fori_loop(0, n, lambda j, d: d * 2.0, c), x)
            with st.checkpoints(None):
                z = st.fori_loop(0, n, lambda i, c: c + 1.0, y)
        return st.fori_loop(0, n, lambda i, c: c * 3.0, z, checkpoints=2)
    block = trace(f, (np.float32(1.0), np.int64(3))).block
    loops = [n.params.get("checkpoints") for n in block.walk() if n.op == "fori_loop"]
    assert loops == [5, None, None, 2]           # outer, its body's loop, the None block, explicit


# ------------------------------------------------------------------------------------------ checks

def test_finite_differences_float64():
    rng = np.random.default_rng(3)
    progs = [(rnn(3), RNN_ARGS + (np.int64(9),), 3), (while_exit(2), W_ARGS + (10.0,), 2),
             (nested(2, 2), W_ARGS + (np.int64(4),), 2), (remat_program(True), W_ARGS + (np.int64(3),), 2)]
    for vg, args, nd in progs:
        f = interp(vg)
        _, grads = f(*args)
        dirs = [rng.normal(size=np.shape(a)) for a in args[:nd]]
        eps = 1e-6
        plus = f(*[a + eps * d for a, d in zip(args[:nd], dirs)], *args[nd:])[0]
        minus = f(*[a - eps * d for a, d in zip(args[:nd], dirs)], *args[nd:])[0]
        fd = (plus - minus) / (2 * eps)
        an = sum(float(np.sum(g * d)) for g, d in zip(grads, dirs))
        np.testing.assert_allclose(an, fd, rtol=1e-6, atol=1e-8)


def test_bad_checkpoints_are_refused():
    x = np.float32(1.0)
    for bad, err in ((0, StageValueError), (-3, StageValueError), (1.5, StageTypeError),
                     (True, StageTypeError), ("4", StageTypeError)):
        with pytest.raises(err, match="checkpoints"):
            interp(lambda x, n: st.fori_loop(0, n, lambda i, c: c, x, checkpoints=bad))(
                x, np.int64(2))
        with pytest.raises(err, match="checkpoints"):
            interp(lambda x: st.while_loop(lambda c: c < 2.0, lambda c: c + 1.0, x,
                                           checkpoints=bad))(x)
        with pytest.raises(err, match="checkpoints"):
            st.checkpoints(bad)
    with pytest.raises(TypeError, match="callable"):
        st.checkpoint(3)


# ------------------------------------------------------------------------------------------ native

def native_program(W, U, b, xs, Wh, x, n, limit):
    """Every case, with and without checkpoints, in one library (one build)."""
    out = []
    for k in (None, 3):
        out.append(rnn(k)(W, U, b, xs, n))
        out.append(while_exit(k)(Wh, x, limit))
        out.append(nested(k, k and 2)(Wh, x, n))
    out.append(remat_program(True)(Wh, x, n))
    out.append(remat_program(False)(Wh, x, n))
    return tuple(out)


def test_native_gradients_identical():
    f = st.compile(native_program)
    fi = interp(native_program)
    for n, limit in ((0, -1.0), (1, 0.5), (7, 10.0), (30, 60.0)):
        args = RNN_ARGS + W_ARGS + (np.int64(n), limit)
        out = f(*args)
        for plain, ck in zip(out[:3], out[3:6]):
            assert same(plain, ck), (n, limit)
        assert same(out[6], out[7])
        for a, b in zip(st.pytree.flatten(out)[0], st.pytree.flatten(fi(*args))[0]):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_checkpointed_loop_needs_a_bounded_stack():
    """With a 1 MiB native stack a loop under grad of 200,000 iterations raises RecursionError;
    checkpointed, the same loop runs (d/dw of w**n at w = 1 is n) and recursion stays a clear
    RecursionError, never a crash."""
    code = textwrap.dedent("""
        import numpy as np, stage as st
        def loss(k):
            return st.grad(lambda w, n: st.fori_loop(0, n, lambda i, c: c * w, w * 0.0 + 1.0,
                                                     checkpoints=k))
        n = np.int64(200_000)
        try:
            st.compile(loss(None))(np.float64(1.0), n)
            print("plain ran")
        except RecursionError as e:
            print("plain RecursionError", "STAGE_STACK_MB" in str(e))
        print("checkpointed", float(st.compile(loss(8))(np.float64(1.0), n)))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, STAGE_STACK_MB="1"),
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "plain RecursionError True" in r.stdout, r.stdout
    assert "checkpointed 200000.0" in r.stdout, r.stdout
