"""The examples are plain Python (a `for` over a runtime length, an `if` on runtime tree data); here
are the same models written with the combinators (`st.fori_loop`, `st.cond`), as the examples were
before, and both give the same losses and gradients, with the same program."""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import stage as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import char_lstm  # noqa: E402
import char_rnn  # noqa: E402
import tree_lstm  # noqa: E402


def rnn_loss(params, xs, ys, h0, n):
    Wxh, Whh, bh, Why, by = params

    def step(t, carry):
        h, loss = carry
        h = st.tanh(st.take(Wxh, xs[t], axis=0) + h @ Whh + bh)
        return h, loss + st.nn.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    h, loss = st.fori_loop(0, n, step, (h0, 0.0))
    return loss, h


def lstm_loss(params, xs, ys, h0, c0, n):
    Wx, Wh, b, Why, by = params

    def step(t, carry):
        h, c, loss = carry
        h, c = char_lstm.lstm_cell(st.take(Wx, xs[t], axis=0) + h @ Wh + b, c)
        return h, c, loss + st.nn.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    h, c, loss = st.fori_loop(0, n, step, (h0, c0, 0.0))
    return loss, (h, c)


@st.function
def tree_node(i, forest, E, P):
    H = P["Ul"].shape[0]

    def leaf():
        z = E[forest.word[i]] @ P["Wx"] + P["bx"]
        c = st.sigmoid(z[:H]) * st.tanh(z[2 * H:])
        # (a float32 zero: a bare 0.0 returned by a recursive st.function's base case is probed
        # as the default float64, where the plain `if` form adapts it to the other branch)
        return st.sigmoid(z[H:2 * H]) * st.tanh(c), c, np.float32(0.0)

    def internal():
        hl, cl, loss_l = tree_node(forest.left[i], forest, E, P)
        hr, cr, loss_r = tree_node(forest.right[i], forest, E, P)
        z = hl @ P["Ul"] + hr @ P["Ur"] + P["bu"]
        c = (st.sigmoid(z[:H]) * st.tanh(z[4 * H:]) + st.sigmoid(z[H:2 * H]) * cl
             + st.sigmoid(z[2 * H:3 * H]) * cr)
        return st.sigmoid(z[3 * H:4 * H]) * st.tanh(c), c, loss_l + loss_r

    h, c, loss = st.cond(forest.left[i] < 0, leaf, internal)
    logits = h @ P["Wout"] + P["bout"]
    return h, c, loss + st.nn.cross_entropy(logits, forest.label[i], reduction="sum")


def tree_loss(P, forest, E, root):
    h, c, loss = tree_node(root, forest, E, P)
    return loss, h @ P["Wout"] + P["bout"]


def _ops(ir):
    """The program without symbol names (the two forms may number symbols differently)."""
    return sorted(re.findall(r"= (\w+)\(", ir))


def _same(a, b):
    (la, _), ga = a
    (lb, _), gb = b
    np.testing.assert_allclose(la, lb, rtol=1e-6)
    for x, y in zip(ga if isinstance(ga, list) else [ga[k] for k in sorted(ga)],
                    gb if isinstance(gb, list) else [gb[k] for k in sorted(gb)]):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("model,combinators,nstate", [(char_rnn, rnn_loss, 1),
                                                      (char_lstm, lstm_loss, 2)])
def test_char_models_plain_python_equals_combinators(model, combinators, nstate):
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 26, (8, 4)), rng.integers(0, 26, (8, 4))
    state = [rng.standard_normal((4, char_rnn.H)).astype(np.float32) for _ in range(nstate)]
    params = model.init_params(1)
    plain = st.compile(st.value_and_grad(model.rnn_loss if model is char_rnn else model.lstm_loss,
                                         has_aux=True), backend="interp")
    comb = st.compile(st.value_and_grad(combinators, has_aux=True), backend="interp")
    for n in (0, 3, 8):
        _same(plain(params, xs, ys, *state, np.int64(n)), comb(params, xs, ys, *state, np.int64(n)))
    assert plain.num_specializations == 1
    assert plain.ir == comb.ir                    # the very same program
    assert "for_stmt" in plain.converted_source


def test_tree_lstm_plain_python_equals_combinators():
    from stage.trees import load_sst
    forest, roots, vocab = load_sst()
    E = tree_lstm.embeddings(len(vocab))
    P = tree_lstm.init_params(2)
    plain = st.compile(st.value_and_grad(tree_lstm.tree_loss, has_aux=True), backend="interp")
    comb = st.compile(st.value_and_grad(tree_loss, has_aux=True), backend="interp")
    for r in roots[[1, 9]]:
        _same(plain(P, forest, E, r), comb(P, forest, E, r))
    assert _ops(plain.ir) == _ops(comb.ir)        # the same program up to the order of outputs
    assert "if_stmt" in st.frontend.converted_source(tree_lstm.tree_lstm)
