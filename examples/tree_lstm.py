"""Sentiment classification with a binary TreeLSTM over the SST dev trees (the paper's third model).

Hidden 150, frozen 300-d word embeddings (a fixed random table, uniform in +-0.05, since GloVe is not
available offline), 5 classes, a cross-entropy loss at every node, Adagrad lr 0.05, one tree per step.

The model is a staged recursive function (`@st.function`) over trees given as runtime index arrays:
every tree of the data set is the same `Forest` arrays plus a runtime root index, so one compiled
library trains on all of them. It is plain Python: the `if` on whether node i is a leaf depends on
runtime data, so stage rewrites it into a staged branch (`st.cond`), each branch computing the
node's state its own way. Under `st.value_and_grad` the recursion is transformed in
continuation-passing style: the native function for a node receives the rest of the computation as a
callback, calls it with the node's result, and runs the node's backward when it returns.

The model is an `st.nn.Module` (the embedding table a frozen parameter) trained by `st.train_step`
with `st.optim.Adagrad(lr=0.05)`.

    python examples/tree_lstm.py [--epochs 3] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.progress import progress
from stage.trees import load_sst

EMB, HID, CLASSES = 300, 150, 5


def init_params(seed=0, emb=EMB, hid=HID, classes=CLASSES):
    r = np.random.default_rng(seed)
    f = np.float32

    def u(*shape, scale=0.1):
        return r.uniform(-scale, scale, shape).astype(f)
    return {"Wx": u(emb, 3 * hid), "bx": np.zeros(3 * hid, f),        # leaf gates [i o u]
            "Ul": u(hid, 5 * hid), "Ur": u(hid, 5 * hid),              # node gates [i fl fr o u]
            "bu": np.zeros(5 * hid, f),
            "Wout": u(hid, classes), "bout": np.zeros(classes, f)}


def embeddings(vocab_size, seed=0, emb=EMB):
    return np.random.default_rng(seed + 1).uniform(-0.05, 0.05, (vocab_size, emb)).astype(np.float32)


@st.function
def tree_lstm(i, forest, E, P):
    """(h, c, summed loss of the subtree) for the node i."""
    H = P["Ul"].shape[0]
    if forest.left[i] < 0:                                    # a leaf: gates from the word
        z = E[forest.word[i]] @ P["Wx"] + P["bx"]
        c = st.sigmoid(z[:H]) * st.tanh(z[2 * H:])
        h = st.sigmoid(z[H:2 * H]) * st.tanh(c)
        loss = 0.0
    else:                                                     # gates from both children's states
        hl, cl, loss_l = tree_lstm(forest.left[i], forest, E, P)
        hr, cr, loss_r = tree_lstm(forest.right[i], forest, E, P)
        z = hl @ P["Ul"] + hr @ P["Ur"] + P["bu"]
        c = (st.sigmoid(z[:H]) * st.tanh(z[4 * H:]) + st.sigmoid(z[H:2 * H]) * cl
             + st.sigmoid(z[2 * H:3 * H]) * cr)
        h = st.sigmoid(z[3 * H:4 * H]) * st.tanh(c)
        loss = loss_l + loss_r
    logits = h @ P["Wout"] + P["bout"]
    return h, c, loss + st.nn.cross_entropy(logits, forest.label[i], reduction="sum")


def tree_loss(P, forest, E, root):
    h, c, loss = tree_lstm(root, forest, E, P)
    return loss, h @ P["Wout"] + P["bout"]          # the root's logits, for accuracy


class TreeLSTM(st.nn.Module):
    def __init__(self, vocab_size, seed=0):
        super().__init__()
        for k, v in init_params(seed).items():
            setattr(self, k, st.nn.Parameter(v))
        self.E = st.nn.Parameter(embeddings(vocab_size, seed), requires_grad=False)

    def loss(self, forest, root):
        P = {k: getattr(self, k) for k in ("Wx", "bx", "Ul", "Ur", "bu", "Wout", "bout")}
        loss, logits = tree_loss(P, forest, self.E, root)
        return loss, st.argmax(logits)


def train_step(P, mem, forest, E, root, lr, eps=1e-8):
    (loss, logits), g = st.value_and_grad(tree_loss, has_aux=True)(P, forest, E, root)
    for k in sorted(P):
        m = mem[k] + g[k] * g[k]
        st.assign(mem[k], m)
        st.assign(P[k], P[k] - lr * g[k] / st.sqrt(m + eps))
    return loss, st.argmax(logits)


def batch_train_step(P, mem, forest, E, roots, lr, eps=1e-8):
    """One Adagrad step on a minibatch of trees: each tree's forward and backward (its own CPS
    recursion) runs on its own thread of one native call (`st.parallel_map`); the loss is the sum
    over the trees, whose gradients are added in an order that does not depend on the threads."""
    def loss(P):
        return st.parallel_map(lambda r: tree_loss(P, forest, E, r)[0], roots).sum()
    total, g = st.value_and_grad(loss)(P)
    for k in sorted(P):
        m = mem[k] + g[k] * g[k]
        st.assign(mem[k], m)
        st.assign(P[k], P[k] - lr * g[k] / st.sqrt(m + eps))
    return total


def train(epochs=1, seed=0, limit=None, verbose=True):
    forest, roots, vocab = load_sst()
    model = TreeLSTM(len(vocab), seed)
    step = st.train_step(model.loss, model, st.optim.Adagrad(lr=0.05), has_aux=True)
    order = np.random.default_rng(seed).permutation(len(roots))[:limit]
    history = []
    t0 = time.perf_counter()
    for ep in range(epochs):
        total, correct = 0.0, 0
        bar = progress(order, desc=f"epoch {ep + 1}", enabled=verbose)   # tqdm on a terminal
        for k, t in enumerate(bar, 1):
            loss, pred = step(forest, roots[t])
            total += float(loss)
            correct += int(pred == forest.label[roots[t]])
            bar.set(loss_per_tree=total / k, root_acc=correct / k)
        history.append((ep + 1, total / len(order), correct / len(order)))
        if verbose:
            print(f"epoch {ep + 1}: loss/tree {total / len(order):.3f}, root accuracy "
                  f"{correct / len(order):.3f}, {time.perf_counter() - t0:.1f} s", flush=True)
    return {"history": history, "model": model, "step": step, "seconds": time.perf_counter() - t0,
            "trees": len(order) * epochs}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    out = train(a.epochs, a.seed)
    (_, l0, _), (_, l1, acc) = out["history"][0], out["history"][-1]
    print(f"final: loss/tree {l1:.3f} (epoch 1: {l0:.3f}), root accuracy {acc:.3f}, "
          f"{1000 * out['seconds'] / out['trees']:.2f} ms/tree")
