"""The paper's recurrent models, as shipped in examples/, learn on real data (loss falls), and one
compiled library serves every sequence length / tree."""
import sys
from pathlib import Path

import numpy as np
import pytest

import stage as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import char_lstm  # noqa: E402
import char_rnn  # noqa: E402
import tree_lstm  # noqa: E402


@pytest.mark.parametrize("model", [char_rnn, char_lstm])
def test_char_models_learn(model):
    out = model.train(steps=300, log_every=100, verbose=False)
    first, last = out["history"][0][1], out["history"][-1][1]
    assert first == pytest.approx(np.log(26), abs=0.05)      # starts near uniform
    assert last < first - 0.4
    assert out["step"].num_specializations == 1


def test_char_rnn_step_matches_interpreter_for_several_lengths():
    params = char_rnn.init_params(3)
    rng = np.random.default_rng(0)
    xs = rng.integers(0, 26, (char_rnn.T, char_rnn.B))
    ys = rng.integers(0, 26, (char_rnn.T, char_rnn.B))
    h = np.zeros((char_rnn.B, char_rnn.H), np.float32)
    vg = st.value_and_grad(char_rnn.rnn_loss, has_aux=True)
    f, fi = st.compile(vg), st.compile(vg, backend="interp")
    for n in (1, 7, 20):
        (l, _), g = f(params, xs, ys, h, np.int64(n))
        (l2, _), g2 = fi(params, xs, ys, h, np.int64(n))
        np.testing.assert_allclose(l, l2, rtol=1e-5)
        for a, b in zip(g, g2):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert f.num_specializations == 1


def test_tree_lstm_learns_on_sst():
    out = tree_lstm.train(epochs=2, limit=120, verbose=False)
    (_, loss1, _), (_, loss2, _) = out["history"]
    assert loss2 < loss1 * 0.95
    assert out["step"].num_specializations == 1


def test_tree_lstm_gradient_matches_interpreter():
    from stage.trees import load_sst
    forest, roots, vocab = load_sst()
    E = tree_lstm.embeddings(len(vocab))
    P = tree_lstm.init_params(1)
    vg = st.value_and_grad(tree_lstm.tree_loss, has_aux=True)
    f, fi = st.compile(vg), st.compile(vg, backend="interp")
    for r in roots[[0, 5, 17]]:
        (l, _), g = f(P, forest, E, r)
        (l2, _), g2 = fi(P, forest, E, r)
        np.testing.assert_allclose(l, l2, rtol=1e-5)
        for k in g:
            np.testing.assert_allclose(g[k], g2[k], rtol=1e-3, atol=1e-5)
