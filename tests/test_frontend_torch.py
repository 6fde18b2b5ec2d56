"""A corpus of plain Python programs, each run by stage (converted, staged, differentiated) and by
PyTorch eager running the very same Python source on tensors: values and gradients agree, on the
NumPy interpreter and on native code. All programs go into one staged function per backend, so the
native corpus is one build."""
import ctypes

import numpy as np
import pytest

import stage as st

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------------------------------ the corpus
# Written once, for any array library: methods and operators only (tanh, sum, max, abs, @, indexing).

def branch_on_data(x, w):
    s = (x * w).sum()
    if s > 0:
        y = (x * w).tanh()
    elif s > -0.5:
        y = x * x * w
    else:
        y = x - w
    z = y * 2 if y.sum() > 0 else y * y          # a conditional expression on data
    return (z * x).sum()


def while_until_convergence(x, w):
    z = x * 0 + 1                                 # Newton's iteration for sqrt(x * x + w * w + 1)
    target = x * x + w * w + 1
    while abs(z * z - target).max() > 1e-10:
        z = z - (z * z - target) / (2 * z)
    return (z * w).sum()


def break_and_continue(xs, w, n):
    h = xs[0] * 0
    for t in range(n):                            # n: a runtime int
        if xs[t].sum() < -1.0:
            continue
        h = (xs[t] * w + h).tanh()
        if h.sum() > 1.5:
            break
    return (h * h).sum()


def nested_loops_with_a_branch(x, w, n, m):
    acc = x * 0
    for i in range(n):
        for j in range(m):
            if (i + j) % 2 == 0:
                acc = acc + x * w
            else:
                acc = (acc * w).tanh()
    return acc.sum()


def negative_step(xs, w, a, b, step):
    h = xs[0] * 0
    for t in range(a, b, step):
        h = (h * w + xs[t]).tanh()
    return (h * xs[0]).sum()


def over_rows(xs, w):
    h = w * 0
    for x in xs:                                  # the leading axis of a staged array
        h = (x * w + h).tanh()
    return (h * h).sum()


def and_or_not(x, w, n):
    s = x * 0
    i = 0
    while i < n and not s.sum() > 3.0:
        if x[i] > 0 or w[i] < -0.5:
            s = s + x * w
        elif not x[i] < -1:
            s = s - w
        i = i + 1
    return (s * s).sum()


def make_tree(decorate):
    @decorate
    def node(i, left, right, leaf, x, w):
        if left[i] < 0:
            return (leaf[i] * x * w).tanh()        # an early return in a recursive function
        a = node(left[i], left, right, leaf, x, w)
        b = node(right[i], left, right, leaf, x, w)
        return (a + b * w).tanh()
    return node


TREE_STAGE, TREE_TORCH = make_tree(st.function), make_tree(lambda f: f)


def tree(x, w, root, left, right, leaf, which=None):
    node = TREE_TORCH if which == "torch" else TREE_STAGE
    return (node(root, left, right, leaf, x, w) ** 2).sum()


# ------------------------------------------------------------------------------------------ data

rng = np.random.default_rng(7)


def v(*shape, scale=1.0):
    return rng.standard_normal(shape) * scale


LEFT = np.array([-1, -1, 0, -1, 2, -1, 4])        # a chain of internal nodes over leaves
RIGHT = np.array([-1, -1, 1, -1, 3, -1, 5])
LEAF = np.linspace(-1, 1, 7)
XS = v(8, 3, scale=0.7)


def I(k):
    return np.int64(k)


# (program, its arguments per case); the first two arguments are differentiated
CASES = [
    (branch_on_data, [(v(4), v(4)), (np.abs(v(4)), -np.abs(v(4)) * 0.01),
                      (-np.abs(v(4)), np.abs(v(4)))]),
    (while_until_convergence, [(v(3), v(3)), (v(3, scale=5), v(3))]),
    (break_and_continue, [(XS, v(3), I(0)), (XS, v(3), I(5)), (XS, v(3, scale=3), I(8))]),
    (nested_loops_with_a_branch, [(v(3), v(3, scale=0.5), I(3), I(2)),
                                  (v(3), v(3, scale=0.5), I(0), I(4))]),
    (negative_step, [(XS, v(3), I(7), I(0), I(-2)), (XS, v(3), I(6), I(-1), I(-1)),
                     (XS, v(3), I(1), I(8), I(3)), (XS, v(3), I(2), I(5), I(-1))]),
    (over_rows, [(XS, v(3))]),
    (and_or_not, [(v(5), v(5), I(5)), (np.abs(v(5)) * 3, v(5), I(4))]),
    (tree, [(v(2), v(2), I(6), LEFT, RIGHT, LEAF), (v(2), v(2), I(4), LEFT, RIGHT, LEAF),
            (v(2), v(2), I(3), LEFT, RIGHT, LEAF)]),
]


def torch_value_and_grad(fn, args):
    targs = []
    for k, a in enumerate(args):
        if isinstance(a, np.integer):
            targs.append(int(a))
        elif k < 2:
            targs.append(torch.tensor(a, dtype=torch.float64, requires_grad=True))
        elif a.dtype.kind == "f":
            targs.append(torch.tensor(a, dtype=torch.float64))
        else:
            targs.append(a)                      # index arrays stay NumPy
    extra = {"which": "torch"} if fn is tree else {}
    loss = fn(*targs, **extra)
    grads = torch.autograd.grad(loss, targs[:2], allow_unused=True)
    return loss.item(), [np.zeros(np.shape(a)) if g is None else g.numpy() for a, g in
                         zip(args, grads)]


def corpus(*per_program):
    """Every program's value and gradient (w.r.t. its first two arguments), one staged function."""
    return tuple(st.value_and_grad(fn, argnums=(0, 1))(*args)
                 for (fn, _), args in zip(CASES, per_program))


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_corpus_matches_pytorch(backend):
    f = st.compile(corpus, backend=backend)
    ncases = max(len(c) for _, c in CASES)
    for k in range(ncases):
        args = [cases[min(k, len(cases) - 1)] for _, cases in CASES]
        got = f(*args)
        for (fn, _), a, (value, grads) in zip(CASES, args, got):
            want_v, want_g = torch_value_and_grad(fn, a)
            what = f"{fn.__name__}{tuple(x for x in a if isinstance(x, np.integer))}"
            np.testing.assert_allclose(value, want_v, rtol=1e-9, atol=1e-12, err_msg=what)
            for g, w in zip(grads, want_g):
                np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-12, err_msg=what)
    assert f.num_specializations == 1           # every runtime length and tree: one program
    if backend == "native":                     # the C++ names the user's lines, not generated code
        line = break_and_continue.__code__.co_firstlineno + 5       # h = (xs[t] * w + h).tanh()
        assert f"test_frontend_torch.py:{line})" in f.source


# ------------------------------------------------------------------------------------------ modules

def unrolled_rnn(model, xs, n):
    """The loop of both frameworks' modules below: a layer called on each step's input."""
    h = model.inp(xs[0]) * 0
    for t in range(n):
        h = (model.inp(xs[t]) + model.rec(h)).tanh()
        if h.sum() > 1e3:
            break
    return model.out(h)


class StageRNN(st.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.rec, self.out = st.nn.Linear(3, 4), st.nn.Linear(4, 4), st.nn.Linear(4, 2)

    def forward(self, xs, n):
        return unrolled_rnn(self, xs, n)


class TorchRNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.rec, self.out = (torch.nn.Linear(3, 4), torch.nn.Linear(4, 4),
                                        torch.nn.Linear(4, 2))

    def forward(self, xs, n):
        return unrolled_rnn(self, xs, n)


def test_train_step_of_a_module_looping_over_a_layer_matches_pytorch():
    torch.manual_seed(0)
    tm = TorchRNN()
    sm = StageRNN()
    sm.load_state_dict(tm.state_dict())
    xs = rng.standard_normal((6, 5, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1])
    step = st.train_step(lambda xs, y, n: st.nn.cross_entropy(sm(xs, n), y), sm,
                         st.optim.SGD(lr=0.5), backend="interp")
    for n in (6, 2, 0, 4):
        loss = step(xs, y, I(n))
        tm.zero_grad()
        tl = torch.nn.functional.cross_entropy(tm(torch.tensor(xs), n), torch.tensor(y))
        tl.backward()
        with torch.no_grad():                       # SGD (torch.optim imports torch._dynamo: slow)
            for p in tm.parameters():
                if p.grad is not None:              # (rec is unused when n == 0)
                    p -= 0.5 * p.grad
        assert float(loss) == pytest.approx(tl.item(), rel=1e-5)
    for k, p in tm.state_dict().items():
        np.testing.assert_allclose(sm.state_dict()[k], p.numpy(), rtol=1e-5, atol=1e-6)
    assert step.num_specializations == 1 and "for_stmt" in step.converted_source


# ----------------------------------------------------------------------------------- pytrees, export

def carried_pytree(p, xs, n):
    state = {"h": xs[0] * 0, "stats": (0.0, 0)}
    for t in range(n):
        h = st.tanh(xs[t] @ p["w"] + state["h"])
        total, count = state["stats"]
        state = {"h": h, "stats": (total + st.sum(h), count + 1)}
    return state["stats"][0] / st.maximum(state["stats"][1], 1) + st.sum(state["h"])


def test_pytrees_carried_through_a_loop_under_grad():
    p = {"w": rng.standard_normal((3, 3)) * 0.5}
    xs = rng.standard_normal((5, 2, 3))
    g = st.compile(st.value_and_grad(carried_pytree), backend="interp")
    ev = st.compile(carried_pytree, backend="interp")
    for n in (0, 1, 5):
        val, dp = g(p, xs, I(n))
        t = rng.standard_normal((3, 3))
        up, dn = {"w": p["w"] + 1e-6 * t}, {"w": p["w"] - 1e-6 * t}
        fd = (float(ev(up, xs, I(n))) - float(ev(dn, xs, I(n)))) / 2e-6
        assert float(np.sum(dp["w"] * t)) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_export_of_a_converted_function(tmp_path):
    xs = rng.standard_normal((8, 3)).astype(np.float32)
    w = rng.standard_normal(3).astype(np.float32)
    exp = st.export(break_and_continue, (xs, w, I(8)), tmp_path / "bc")
    lib = ctypes.CDLL(str(tmp_path / "bc" / "libbc.so"))
    err = ctypes.create_string_buffer(256)
    lib.bc_create.restype = ctypes.c_void_p
    model = lib.bc_create(None, err, ctypes.c_size_t(256))
    assert model, err.value
    fptr = ctypes.POINTER(ctypes.c_float)
    ref = st.compile(break_and_continue, backend="interp")
    for n in (0, 3, 8):
        out = np.zeros((), np.float32)
        rc = lib.bc_run(ctypes.c_void_p(model), xs.ctypes.data_as(fptr), w.ctypes.data_as(fptr),
                        ctypes.c_int64(n), out.ctypes.data_as(fptr))
        assert rc == 0
        assert float(out) == pytest.approx(float(ref(xs, w, I(n))), rel=1e-5)
    lib.bc_destroy(ctypes.c_void_p(model))
    assert exp is not None
