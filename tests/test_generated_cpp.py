"""Generated C++ a C++ engineer would accept: no warnings under -Wall -Wextra -Wshadow for the golden
programs and the paper's four models' training steps; comments name the user's lines and appear only
above code; no printer artefacts."""
import re
import subprocess

import numpy as np
import pytest

import stage as st
from stage.codegen import compiler
from stage.codegen.build import generate
from stage.program import trace
from stage.trees import Forest

from test_golden import CASES as GOLDEN

f32 = np.float32
WARN = ["-Wall", "-Wextra", "-Wshadow", "-Werror"]


def _rnn_step(cell_kind):
    B, V, H, T = 3, 5, 4, 6
    cell = st.nn.LSTMCell(V, H) if cell_kind == "lstm" else st.nn.RNNCell(V, H)
    head = st.nn.Linear(H, V)
    model = st.nn.Sequential(cell, head)

    def loss(xs, ys, n):
        def body(t, carry):
            state, total = carry
            x = st.one_hot(xs[t], V)
            state = cell(x, state)
            h = state[0] if cell_kind == "lstm" else state
            return state, total + st.nn.cross_entropy(head(h), ys[t], reduction="sum")
        h0 = st.zeros((B, H), "float32")
        init = (h0, h0) if cell_kind == "lstm" else h0
        return st.fori_loop(0, n, body, (init, 0.0))[1]
    step = st.train_step(loss, model, st.optim.Adagrad(lr=0.1))
    rng = np.random.default_rng(0)
    return step, (rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B)), np.int64(T))


@st.function
def _tree(i, forest, E, W):
    return st.cond(forest.left[i] < 0,
                   lambda: st.tanh(E[forest.word[i]] @ W),
                   lambda: st.tanh((_tree(forest.left[i], forest, E, W)
                                    + _tree(forest.right[i], forest, E, W)) @ W))


def _tree_step():
    E = np.ones((4, 3), f32)
    forest = Forest(np.array([-1, -1, 0]), np.array([-1, -1, 1]), np.array([0, 1, -1]),
                    np.array([0, 1, 1]))

    def step(W, forest, E, root):
        g = st.grad(lambda W: st.sum(_tree(root, forest, E, W)))(W)
        st.assign(W, W - 0.1 * g)
        return g
    return step, (np.ones((3, 3), f32), forest, E, np.int64(2))


def _cnn_step():
    model = st.nn.Sequential(st.nn.Conv2d(1, 2, 3), st.nn.ReLU(), st.nn.MaxPool2d(2),
                             st.nn.Conv2d(2, 3, 2), st.nn.ReLU(), st.nn.Flatten(),
                             st.nn.Dropout(0.5), st.nn.Linear(3 * 2 * 2, 4))
    step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
                         st.optim.SGD(lr=0.01, momentum=0.9))
    return step, (np.ones((2, 1, 8, 8), f32), np.array([0, 3]))


def _checkpointed():
    """Checkpointed loops under grad (a binomial fori_loop around an online while_loop) and a
    rematerialised cell."""
    cell = st.checkpoint(lambda h, W: st.tanh(h @ W))

    def loss(W, x, n):
        def body(i, h):
            h2, _ = st.while_loop(lambda c: st.logical_and(st.sum(c[0]) < 4.0, c[1] < i), lambda c:
                                  (cell(c[0], W), c[1] + 1), (h, 0), checkpoints=3)
            return h2 + 0.5
        return st.sum(st.fori_loop(0, n, body, x, checkpoints=4))
    return st.grad(loss), (np.eye(3, dtype=f32), np.ones((2, 3), f32), np.int64(5))


def _transformer_grad():
    """A pre-norm encoder layer (MultiheadAttention, exact GELU) and causal attention, under grad."""
    layer = st.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                          batch_first=True, norm_first=True)

    def loss(x, q):
        y = st.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
        return st.sum(layer(x) ** 2) + st.sum(y * y)
    return st.value_and_grad(loss, (0, 1)), (np.ones((2, 5, 8), f32), np.ones((2, 2, 5, 4), f32))


def _resize_step():
    """Conv1d ('same', reflect padding), a transposed convolution with output_padding, adaptive
    average pooling (uneven windows) and nearest upsampling (a take and a repeat), trained."""
    nn = st.nn
    seq = nn.Sequential(nn.Conv1d(2, 3, 4, padding="same", padding_mode="reflect"),
                        nn.AdaptiveAvgPool1d(3), nn.Upsample(scale_factor=1.5))
    img = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                        nn.AdaptiveAvgPool2d((3, 4)), nn.Upsample(scale_factor=2))
    model = nn.ModuleList([seq, img])
    step = st.train_step(lambda s, x: st.sum(seq(s) ** 2) + st.sum(img(x) ** 2), model,
                         st.optim.SGD(lr=0.01))
    return step, (np.ones((2, 2, 7), f32), np.ones((1, 2, 3, 4), f32))


PROGRAMS = dict({f"golden_{k}": v for k, v in GOLDEN.items()},
                rnn=_rnn_step("rnn"), lstm=_rnn_step("lstm"), tree=_tree_step(), cnn=_cnn_step(),
                checkpointed=_checkpointed(), transformer=_transformer_grad(),
                resize=_resize_step())


_SOURCES = {}


def _source(name):
    """The generated C++ of a program (a training step is run once to stage it)."""
    if name not in _SOURCES:
        fn, args = PROGRAMS[name]
        if isinstance(fn, st.train.TrainStep):
            fn(*args)
            _SOURCES[name] = fn.source
        else:
            _SOURCES[name] = st.compile(fn).lower(*args).source
    return _SOURCES[name]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_no_warnings(name, tmp_path):
    src = tmp_path / f"{name}.cpp"
    src.write_text(_source(name))
    cmd = [compiler.compiler(), "-std=c++17", "-fopenmp-simd", "-fsyntax-only", *WARN,
           f"-isystem{compiler.RUNTIME_DIR}", str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-4000:]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_readable(name):
    lines = _source(name).splitlines()
    text = "\n".join(lines)
    assert "fun(," not in text and "(, " not in text                  # printer artefacts
    for k, line in enumerate(lines):
        s = line.strip()
        if s.startswith("//") and k + 1 < len(lines) and re.match(r"\s*// x\d+ = ", line):
            nxt = lines[k + 1].strip()
            assert not nxt.startswith("// x") and nxt not in ("}", "};"), \
                f"a comment above no code:\n{line}\n{lines[k + 1]}"
    # a checked index is not checked again in the same C++ scope
    for k, line in enumerate(lines):
        if "stage::check_index(" not in line:
            continue
        depth = len(line) - len(line.lstrip())
        call = line.split("=", 1)[1].split(", \"")[0]
        for prev in reversed(lines[:k]):
            pd = len(prev) - len(prev.lstrip())
            if prev.strip() and pd < depth:
                break                       # left the scope
            if pd == depth and "stage::check_index(" in prev:
                assert prev.split("=", 1)[1].split(", \"")[0] != call, f"checked twice: {line}"


def test_comments_name_user_lines():
    src = _source("golden_rnn_loop_grad")
    # nodes of the loop body, forward and backward, name the body's line in test_golden.py
    assert re.search(r"// x\d+ = matmul\(.*\(test_golden\.py:24\)", src)
    assert re.search(r"\[backward of .*matmul.*\]  \(test_golden\.py:24\)", src)
    assert "test_golden.py:59" not in src            # not the line that staged the program
