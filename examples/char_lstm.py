"""A character language model with an LSTM, the paper's second benchmark model.

Same data, sizes and optimizer as examples/char_rnn.py (vocab 26, hidden 50, sequences of 20, batch
20, Adagrad lr 0.1, clipping at 5). The four gates come from one product per input (`[i f o g]` as
one (50, 200) matrix), sliced as views; the time loop is a plain Python loop over a runtime length,
staged by stage as a `st.fori_loop`. Trained as an `st.nn.Module` by `st.train_step` with
`st.optim.Adagrad(lr=0.1, clip=5)`.

    python examples/char_lstm.py [--steps 2000] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

import stage as st

from char_rnn import H, V, adagrad_update, report, train_lm


def init_params(seed=0, vocab=V, hidden=H):
    r = np.random.default_rng(seed)
    f = np.float32
    b = np.zeros(4 * hidden, f)
    b[hidden:2 * hidden] = 1.0                       # forget-gate bias 1, a common LSTM default
    return [(r.standard_normal((vocab, 4 * hidden)) * 0.01).astype(f),   # Wx (rows gathered)
            (r.standard_normal((hidden, 4 * hidden)) * 0.01).astype(f),  # Wh
            b,
            (r.standard_normal((hidden, vocab)) * 0.01).astype(f),       # Why
            np.zeros(vocab, f)]


def lstm_cell(z, c, hidden=H):
    i = st.sigmoid(z[:, :hidden])
    f = st.sigmoid(z[:, hidden:2 * hidden])
    o = st.sigmoid(z[:, 2 * hidden:3 * hidden])
    g = st.tanh(z[:, 3 * hidden:])
    c = f * c + i * g
    return o * st.tanh(c), c


def lstm_loss(params, xs, ys, h0, c0, n):
    Wx, Wh, b, Why, by = params
    h, c, loss = h0, c0, 0.0
    for t in range(n):                                        # n is staged: a staged loop
        h, c = lstm_cell(st.take(Wx, xs[t], axis=0) + h @ Wh + b, c)
        loss = loss + st.nn.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    return loss, (h, c)


class CharLSTM(st.nn.Module):
    names = ("Wx", "Wh", "b", "Why", "by")

    def __init__(self, vocab=V, hidden=H, seed=0):
        super().__init__()
        for name, p in zip(self.names, init_params(seed, vocab, hidden)):
            setattr(self, name, st.nn.Parameter(p))

    def loss(self, xs, ys, h0, c0, n):
        return lstm_loss([getattr(self, k) for k in self.names], xs, ys, h0, c0, n)


def train_step(params, memory, xs, ys, h0, c0, n, lr):
    (loss, (h, c)), grads = st.value_and_grad(lstm_loss, has_aux=True)(params, xs, ys, h0, c0, n)
    adagrad_update(params, memory, grads, lr)
    return loss, h, c


def train(steps=2000, seed=0, log_every=200, verbose=True):
    return train_lm(CharLSTM(seed=seed), 2, steps, log_every, verbose)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    report(train(a.steps, a.seed), a.steps)
