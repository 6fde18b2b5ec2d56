"""A character language model with a vanilla RNN (min-char-rnn, batched), as in the paper's benchmark.

Vocab 26 (a-z), hidden 50, sequences of 20 characters, batch 20, Adagrad lr 0.1 with gradients
clipped to [-5, 5]. The corpus is the text of the SST dev sentences shipped with stage.

The time loop is a plain Python `for t in range(n)` over a *runtime* length n: stage rewrites it into
a staged loop (`st.fori_loop`), so one compiled library serves every sequence length; under
`st.value_and_grad` it becomes a recursive native function that runs step t, calls itself for t+1,
then runs step t's backward (the continuation lives on the native stack). The
model is an `st.nn.Module` trained by `st.train_step` with `st.optim.Adagrad(lr=0.1, clip=5)`: the
whole training step -- forward, backward and the Adagrad update of parameters and state, in place --
is one native call. (`train_step` below is the same step written with plain arrays, no module.)

    python examples/char_rnn.py [--steps 2000] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.datasets import encode_chars
from stage.progress import progress

V, H, T, B = 26, 50, 20, 20


def init_params(seed=0, vocab=V, hidden=H):
    r = np.random.default_rng(seed)
    f = np.float32
    return [(r.standard_normal((vocab, hidden)) * 0.01).astype(f),    # Wxh (rows gathered by id)
            (r.standard_normal((hidden, hidden)) * 0.01).astype(f),   # Whh
            np.zeros(hidden, f),                                      # bh
            (r.standard_normal((hidden, vocab)) * 0.01).astype(f),    # Why
            np.zeros(vocab, f)]                                       # by


def rnn_loss(params, xs, ys, h0, n):
    """Summed cross-entropy of the next-character predictions over n steps; also the last state."""
    Wxh, Whh, bh, Why, by = params
    h, loss = h0, 0.0
    for t in range(n):                                        # n is staged: a staged loop
        h = st.tanh(st.take(Wxh, xs[t], axis=0) + h @ Whh + bh)      # x_t @ Wxh for one-hot x_t
        loss = loss + st.nn.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    return loss, h


class CharRNN(st.nn.Module):
    """The parameters of `rnn_loss` as a module (so st.train_step and st.optim can drive it)."""
    names = ("Wxh", "Whh", "bh", "Why", "by")

    def __init__(self, vocab=V, hidden=H, seed=0):
        super().__init__()
        for name, p in zip(self.names, init_params(seed, vocab, hidden)):
            setattr(self, name, st.nn.Parameter(p))

    def loss(self, xs, ys, h0, n):
        return rnn_loss([getattr(self, k) for k in self.names], xs, ys, h0, n)


def adagrad_update(params, memory, grads, lr, clip=5.0, eps=1e-8):
    """min-char-rnn's Adagrad: clip, accumulate squares, scale; writes parameters and state in place."""
    for p, m, g in zip(params, memory, grads):
        g = st.clip(g, -clip, clip)
        m_new = m + g * g
        st.assign(m, m_new)
        st.assign(p, p - lr * g / st.sqrt(m_new + eps))


def train_step(params, memory, xs, ys, h0, n, lr):
    (loss, h), grads = st.value_and_grad(rnn_loss, has_aux=True)(params, xs, ys, h0, n)
    adagrad_update(params, memory, grads, lr)
    return loss, h


def batches(ids, batch=B, seq=T):
    """B parallel streams over the corpus; yields (xs, ys) of shape (seq, batch), forever."""
    stream = len(ids) // batch
    cols = ids[:stream * batch].reshape(batch, stream).T          # (stream, batch)
    pos = 0
    while True:
        if pos + seq + 1 > stream:
            pos = 0
        chunk = cols[pos:pos + seq + 1]
        yield np.ascontiguousarray(chunk[:-1]), np.ascontiguousarray(chunk[1:]), pos == 0
        pos += seq


def train_lm(model, n_state, steps, log_every, verbose):
    """Train a character LM module with Adagrad (lr 0.1, clip 5) on the corpus, carrying the
    recurrent state (n_state arrays of (B, H)) from batch to batch; returns the smoothed losses."""
    step = st.train_step(model.loss, model, st.optim.Adagrad(lr=0.1, clip=5.0), has_aux=True)
    n = np.int64(T)
    data = batches(encode_chars())
    smooth, history = None, []
    t0 = time.perf_counter()
    bar = progress(range(1, steps + 1), desc="steps", enabled=verbose)   # tqdm on a terminal
    for i in bar:
        xs, ys, restart = next(data)
        if restart or i == 1:
            state = (np.zeros((B, H), np.float32),) * n_state
        loss, state = step(xs, ys, *state, n)
        state = state if isinstance(state, tuple) else (state,)
        per_char = float(loss) / (T * B)
        smooth = per_char if smooth is None else 0.98 * smooth + 0.02 * per_char
        bar.set(loss_per_char=smooth)
        if i % log_every == 0 or i == 1:
            history.append((i, smooth))
    return {"history": history, "model": model, "step": step,
            "seconds": time.perf_counter() - t0}


def train(steps=2000, seed=0, log_every=200, verbose=True):
    return train_lm(CharRNN(seed=seed), 1, steps, log_every, verbose)


def report(out, steps):
    first, last = out["history"][0][1], out["history"][-1][1]
    print(f"final: loss/char {last:.3f} (from {first:.3f}, uniform would be {np.log(V):.3f}), "
          f"{out['seconds']:.1f} s for {steps} steps")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    report(train(a.steps, a.seed), a.steps)
