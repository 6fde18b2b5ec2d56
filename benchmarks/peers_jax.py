"""JAX peers of the benchmark models: each training step (forward, backward, update) is one `jax.jit`.

Import this module only in a process whose XLA_FLAGS were set before (harness.py runs JAX in a
subprocess per thread configuration: one thread is
`--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`). Parameters and data are put
on the device once, outside the timed loops; parameters and optimizer state are donated to the step.
A repetition ends with `block_until_ready`, so asynchronous dispatch may overlap the steps inside one
repetition (as it does in a JAX training loop that does not read the loss every step).

- char-LMs: the time loop is `lax.scan`.
- TreeLSTM: a jitted function cannot recurse over a tree that is runtime data (Python recursion
  would be unrolled at trace time: one compilation per tree shape, 1,101 of them). What one jitted
  function *can* do with a tree given as index arrays: compute every leaf in one product, then walk
  the internal nodes in their stored order (children before parents) with `lax.scan`, keeping every
  node's (h, c) in a buffer carried through the scan, and take the losses of all nodes in one
  product at the end. Index arrays are padded to a few bucket sizes (one compilation per bucket);
  padding writes to a scratch row. (A first version scanned over all nodes choosing the cell with
  `lax.switch`: about 3 ms per node, since the untaken branch's parameter cotangents are
  materialised at every iteration.)
"""
from __future__ import annotations

from functools import partial

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax


def _ce_sum(logits, y):
    """Summed cross-entropy of rows of logits against integer labels."""
    lse = jax.nn.logsumexp(logits, axis=-1)
    return jnp.sum(lse - jnp.take_along_axis(logits, y[..., None], axis=-1)[..., 0])


def rnn_loss(P, xs, ys, h0):
    Wxh, Whh, bh, Why, by = P

    def body(h, xy):
        x, y = xy
        h = jnp.tanh(Wxh[x] + h @ Whh + bh)
        return h, _ce_sum(h @ Why + by, y)
    h, losses = lax.scan(body, h0, (xs, ys))
    return losses.sum(), (h,)


def lstm_loss(P, xs, ys, h0, c0):
    Wx, Wh, b, Why, by = P
    H = Wh.shape[0]

    def body(hc, xy):
        h, c = hc
        x, y = xy
        z = Wx[x] + h @ Wh + b
        i, f = jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H:2 * H])
        o, g = jax.nn.sigmoid(z[:, 2 * H:3 * H]), jnp.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), _ce_sum(h @ Why + by, y)
    (h, c), losses = lax.scan(body, (h0, c0), (xs, ys))
    return losses.sum(), (h, c)


def adagrad(P, M, g, lr, clip=None, eps=1e-8):
    if clip is not None:
        g = jax.tree_util.tree_map(lambda x: jnp.clip(x, -clip, clip), g)
    M = jax.tree_util.tree_map(lambda m, x: m + x * x, M, g)
    P = jax.tree_util.tree_map(lambda p, x, m: p - lr * x / jnp.sqrt(m + eps), P, g, M)
    return P, M


def _put(tree):
    return jax.tree_util.tree_map(lambda a: jax.device_put(np.array(a, copy=True)), tree)


def _block(x):
    return jax.block_until_ready(x)


class CharLM:
    def __init__(self, params, data, lr, clip, lstm=False):
        loss_fn = lstm_loss if lstm else rnn_loss
        lr = float(lr)

        @partial(jax.jit, donate_argnums=(0, 1))
        def step(P, M, xs, ys, state):
            (loss, state), g = jax.value_and_grad(loss_fn, has_aux=True)(P, xs, ys, *state)
            P, M = adagrad(P, M, g, lr, clip)
            return P, M, loss, state
        self.fn = step
        self.P = _put(list(params))
        self.M = _put([np.zeros_like(p) for p in params])
        self.data = [_put((xs, ys)) for xs, ys in data]
        B, H = data[0][0].shape[1], params[1].shape[0]
        self.state = _put((np.zeros((B, H), np.float32),) * (2 if lstm else 1))
        self.i = 0

    def step(self):
        xs, ys = self.data[self.i % len(self.data)]
        self.i += 1
        self.P, self.M, loss, self.state = self.fn(self.P, self.M, xs, ys, self.state)
        return loss

    def step0(self):
        return float(_block(self.step()))

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(_block(loss))

    def snapshot(self):
        return {**{f"p{k}": np.asarray(p) for k, p in enumerate(self.P)},
                **{f"m{k}": np.asarray(m) for k, m in enumerate(self.M)}}


class MLP(CharLM):
    def __init__(self, params, data, lr):
        lr = float(lr)

        def loss_fn(P, x, y):
            h = x
            for k, layer in enumerate(P):
                h = h @ layer["w"] + layer["b"]
                if k < len(P) - 1:
                    h = jnp.tanh(h)
            return _ce_sum(h, y) / x.shape[0]

        @partial(jax.jit, donate_argnums=(0,))
        def step(P, x, y):
            loss, g = jax.value_and_grad(loss_fn)(P, x, y)
            return jax.tree_util.tree_map(lambda p, d: p - lr * d, P, g), loss
        self.fn = step
        self.P = _put(params)
        self.data = [_put(b) for b in data]
        self.i = 0

    def step(self):
        x, y = self.data[self.i % len(self.data)]
        self.i += 1
        self.P, loss = self.fn(self.P, x, y)
        return loss

    def snapshot(self):
        return {**{f"w{k}": np.asarray(l["w"]) for k, l in enumerate(self.P)},
                **{f"b{k}": np.asarray(l["b"]) for k, l in enumerate(self.P)}}


# ---------------------------------------------------------------- TreeLSTM


def tree_loss(P, E, leaf_ix, leaf_word, node_ix, node_l, node_r, label, valid):
    """Summed node losses of one padded tree. Node rows 0..n-1 of the (h, c) buffers are the tree's
    nodes in stored order; row n_pad is scratch, where padding leaves and nodes write."""
    H = P["Ul"].shape[0]
    sig, tanh = jax.nn.sigmoid, jnp.tanh
    n_pad = label.shape[0]
    z = E[leaf_word] @ P["Wx"] + P["bx"]                       # every leaf in one product
    c = sig(z[:, :H]) * tanh(z[:, 2 * H:])
    h = sig(z[:, H:2 * H]) * tanh(c)
    Hb = jnp.zeros((n_pad + 1, H), E.dtype).at[leaf_ix].set(h)
    Cb = jnp.zeros((n_pad + 1, H), E.dtype).at[leaf_ix].set(c)

    def body(carry, x):                                        # internal nodes, children first
        Hb, Cb = carry
        j, l, r = x
        hl, cl, hr, cr = Hb[l], Cb[l], Hb[r], Cb[r]
        z = hl @ P["Ul"] + hr @ P["Ur"] + P["bu"]
        c = sig(z[:H]) * tanh(z[4 * H:]) + sig(z[H:2 * H]) * cl + sig(z[2 * H:3 * H]) * cr
        return (Hb.at[j].set(sig(z[3 * H:4 * H]) * tanh(c)), Cb.at[j].set(c)), None
    (Hb, _), _ = lax.scan(body, (Hb, Cb), (node_ix, node_l, node_r))
    return jnp.sum(valid * _ce_rows(Hb[:n_pad] @ P["Wout"] + P["bout"], label))


def _ce_rows(logits, y):
    return jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0]


BUCKETS = (32, 64, 128, 256)


def pad_tree(t):
    """Index arrays of one tree padded to the next bucket size (leaves and internal nodes apart)."""
    n = len(t["left"])
    size = next(b for b in BUCKETS if b >= n)
    half = size // 2 + 1                     # a binary tree of <= size nodes has <= half leaves
    leaves = np.flatnonzero(t["left"] < 0)
    nodes = np.flatnonzero(t["left"] >= 0)

    def padded(a, length, fill):
        out = np.full(length, fill, np.int32)
        out[:len(a)] = a
        return out
    label = padded(t["label"], size, 0)
    valid = (np.arange(size) < n).astype(np.float32)
    return (padded(leaves, half, size), padded(t["word"][leaves], half, 0),
            padded(nodes, half, size), padded(t["left"][nodes], half, size),
            padded(t["right"][nodes], half, size), label, valid)


class TreeLSTM:
    KEYS = ("Wx", "bx", "Ul", "Ur", "bu", "Wout", "bout")

    def __init__(self, P, E, trees, lr):
        lr = float(lr)

        @partial(jax.jit, donate_argnums=(0, 1))
        def step(P, M, E, tree):
            loss, g = jax.value_and_grad(tree_loss)(P, E, *tree)
            P, M = adagrad(P, M, g, lr)
            return P, M, loss
        self.fn = step
        self.P = _put({k: P[k] for k in self.KEYS})
        self.M = _put({k: np.zeros_like(P[k]) for k in self.KEYS})
        self.E = _put(E)
        self.trees = [_put(pad_tree(t)) for t in trees]

    def train_tree(self, k):
        self.P, self.M, loss = self.fn(self.P, self.M, self.E, self.trees[k])
        return loss

    def step0(self):
        return float(_block(self.train_tree(0)))

    def warmup(self, tree_ids):
        """Compile every bucket size these trees use (one tree of each), outside the timing."""
        seen = {}
        for k in tree_ids:
            seen.setdefault(self.trees[k][-1].shape[0], k)
        for k in seen.values():
            _block(self.train_tree(k))

    def run(self, tree_ids):
        for k in tree_ids:
            loss = self.train_tree(k)
        return float(_block(loss))

    def snapshot(self):
        return {**{k: np.asarray(v) for k, v in self.P.items()},
                **{"m_" + k: np.asarray(v) for k, v in self.M.items()}}


# ---------------------------------------------------------------- call overhead


class Trivial:
    """A jitted `x + 1` on a one-element array, called and waited for (block_until_ready) each time."""

    def __init__(self, x):
        self.f = jax.jit(lambda x: x + 1)
        self.x = jax.device_put(np.array(x, copy=True))

    def step0(self):
        self.y = _block(self.f(self.x))
        return float(self.y[0])

    def run(self, n):
        f, x = self.f, self.x
        for _ in range(n):
            y = f(x).block_until_ready()
        return float(y[0])

    def snapshot(self):
        return {"y": np.asarray(self.y)}
