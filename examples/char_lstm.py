"""A character language model with an LSTM, the paper's second benchmark model.

Same data, sizes and optimizer as examples/char_rnn.py (vocab 26, hidden 50, sequences of 20, batch
20, Adagrad lr 0.1, clipping at 5). The four gates come from one product per input (`[i f o g]` as
one (50, 200) matrix), sliced as views; the time loop is a runtime-length `st.fori_loop`. Trained as
an `st.nn.Module` by `st.train_step` with `st.optim.Adagrad(lr=0.1, clip=5)`.

    python examples/char_lstm.py [--steps 2000] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.datasets import encode_chars

from char_rnn import B, H, T, V, adagrad_update, batches


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

    def step(t, carry):
        h, c, loss = carry
        h, c = lstm_cell(st.take(Wx, xs[t]) + h @ Wh + b, c)
        return h, c, loss + st.nn.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    h, c, loss = st.fori_loop(0, n, step, (h0, c0, 0.0))
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
    ids = encode_chars()
    model = CharLSTM(seed=seed)
    step = st.train_step(model.loss, model, st.optim.Adagrad(lr=0.1, clip=5.0), has_aux=True)
    n = np.int64(T)
    h = c = np.zeros((B, H), np.float32)
    data = batches(ids)
    smooth, history = None, []
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        xs, ys, restart = next(data)
        if restart:
            h = c = np.zeros((B, H), np.float32)
        loss, (h, c) = step(xs, ys, h, c, n)
        per_char = float(loss) / (T * B)
        smooth = per_char if smooth is None else 0.98 * smooth + 0.02 * per_char
        if i % log_every == 0 or i == 1:
            history.append((i, smooth))
            if verbose:
                print(f"step {i:5d}  loss/char {smooth:.3f}  ({time.perf_counter() - t0:.1f} s)",
                      flush=True)
    return {"history": history, "model": model, "step": step,
            "seconds": time.perf_counter() - t0}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = train(a.steps, a.seed)
    first, last = out["history"][0][1], out["history"][-1][1]
    print(f"final: loss/char {last:.3f} (from {first:.3f}, uniform would be {np.log(V):.3f}), "
          f"{out['seconds']:.1f} s for {a.steps} steps")
