"""TreeLSTM sentiment on the 1,101 SST dev trees (hidden 150, frozen 300-d embeddings, 5 classes, loss at
every node, Adagrad lr 0.05, one tree per step): time per epoch.

Stage runs `examples/tree_lstm.py`'s compiled `train_step` (one native call per tree: the recursive
forward, the backward through continuation callbacks and the update). Every framework trains on the
trees in the same order (the example's permutation). The epoch is split into chunks of trees; one
timed repetition is one chunk (20 trees; 10 with `--quick`), scaled to an epoch by its share of the
41,447 nodes. Repetitions take chunks spread over the epoch, the same chunks for every framework.
"""
from __future__ import annotations

import functools

import numpy as np

from harness import Model, examples_module

LR = 0.05


@functools.lru_cache(maxsize=None)
def sst():
    """(forest, roots, vocab, E, P, order, trees): trees[k] are the local node arrays of the k-th
    tree of the epoch order (children before parents, root last)."""
    from stage.trees import load_sst
    tl = examples_module("tree_lstm")
    forest, roots, vocab = load_sst()
    E = tl.embeddings(len(vocab), 0)
    P = tl.init_params(0)
    order = np.random.default_rng(0).permutation(len(roots))
    starts = np.concatenate([[0], roots[:-1] + 1])
    trees = [local_tree(forest, starts[t], roots[t]) for t in order]
    return forest, roots, vocab, E, P, order, trees


def local_tree(forest, start, root):
    sl = slice(start, root + 1)
    left = np.where(forest.left[sl] >= 0, forest.left[sl] - start, -1)
    right = np.where(forest.right[sl] >= 0, forest.right[sl] - start, -1)
    n = len(left)
    height = np.zeros(n, np.int64)
    for i in range(n):                                  # children come first
        if left[i] >= 0:
            height[i] = 1 + max(height[left[i]], height[right[i]])
    levels = [np.flatnonzero(height == h) for h in range(height.max() + 1)]
    order = np.concatenate(levels)
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    return {"left": left, "right": right, "word": forest.word[sl].copy(),
            "label": forest.label[sl].copy(), "levels": levels, "order": order, "pos": pos}


class StageTreeLSTM:
    def __init__(self):
        import stage as st
        tl = examples_module("tree_lstm")
        self.forest, self.roots, _, self.E, P, self.order, _ = sst()
        self.P = {k: v.copy() for k, v in P.items()}
        self.M = {k: np.zeros_like(v) for k, v in P.items()}
        self.fn = st.compile(tl.train_step)
        self.lr = np.float32(LR)

    def args(self, k):
        return (self.P, self.M, self.forest, self.E, self.roots[self.order[k]], self.lr)

    def step0(self):
        return float(self.fn(*self.args(0))[0])

    def run(self, tree_ids):
        for k in tree_ids:
            loss, _ = self.fn(*self.args(k))
        return float(loss)

    def set_threads(self, n):
        self.fn.last.lib.stage_set_num_threads(n)

    def snapshot(self):
        return {**{k: v.copy() for k, v in self.P.items()},
                **{"m_" + k: v.copy() for k, v in self.M.items()}}


class StageTreeLSTMModule(StageTreeLSTM):
    """What the example's `train()` runs: its st.nn.Module, st.train_step, st.optim.Adagrad."""
    check_params = ("st.optim.Adagrad divides by sqrt(m) + 1e-10 (PyTorch's formula), the "
                    "functional step by sqrt(m + 1e-8); only the loss and the optimizer state "
                    "(squared gradients) are compared")
    KEYS = ("Wx", "bx", "Ul", "Ur", "bu", "Wout", "bout")

    def __init__(self):
        import stage as st
        tl = examples_module("tree_lstm")
        self.forest, self.roots, vocab, _, _, self.order, _ = sst()
        self.model = tl.TreeLSTM(len(vocab), 0)
        self.opt = st.optim.Adagrad(lr=LR)
        self.fn = st.train_step(self.model.loss, self.model, self.opt, has_aux=True)

    def args(self, k):
        return (self.forest, self.roots[self.order[k]])

    def set_threads(self, n):
        import stage as st
        st.set_num_threads(n)

    def snapshot(self):
        p = dict(self.model.named_parameters())
        return {**{k: np.array(p[k]) for k in self.KEYS},
                **{"m_" + k: np.array(self.opt.state[k]["sum"]) for k in self.KEYS}}


def harness_models(quick=False):
    def data():
        _, _, _, E, P, _, trees = sst()
        return P, E, trees

    def torch_form(form, compile=False):
        def make():
            import peers_torch
            return peers_torch.TreeLSTM(*data(), LR, form=form, compile=compile)
        return make

    def jax():
        import peers_jax
        return peers_jax.TreeLSTM(*data(), LR)

    n_trees = 1101
    size, reps = (10, 2) if quick else (20, 5)
    all_chunks = np.array_split(np.arange(n_trees), n_trees // size)
    chunks = [all_chunks[k] for k in np.linspace(0, len(all_chunks) - 1, reps).astype(int)]
    sizes = np.array([len(t) for t in _sizes()])
    total = sizes.sum()
    return [Model(
        name="tree", title="TreeLSTM on SST dev (1,101 trees, H 150, batch 1)", unit="epoch",
        reps=reps, budget_s=8.0 if quick else 12.0,
        work=lambda rep: list(chunks[rep]) if rep >= 0 else list(range(10)),
        units=lambda rep: sizes[chunks[rep]].sum() / total,
        warmup_work=list(np.concatenate(chunks)),
        variants={"stage": StageTreeLSTM, "stage-module": StageTreeLSTMModule,
                  "torch": torch_form("cells"),
                  "torch-levels": torch_form("levels"),
                  "torch-compile": torch_form("cells", compile=True), "jax": jax},
        labels={"stage": "stage (functional train_step)",
                "stage-module": "stage (st.nn.Module + st.train_step + st.optim)",
                "torch": "torch eager (recursive cells)",
                "torch-levels": "torch eager (level-batched)",
                "torch-compile": "torch.compile (cells; recursion in Python)",
                "jax": "JAX jit (lax.scan over padded nodes)"},
        profile=lambda: _profile_args(), data=sst,
        notes={"torch-compile": "torch.compile cannot take the whole step: the recursion follows "
                                "runtime tree data, so dynamo would specialise on (and recompile "
                                "for) every tree shape; only the two cells are compiled.",
               "jax": "one jitted function cannot recurse over a tree that is runtime data (Python "
                      "recursion unrolls at trace time: one compilation per tree shape). The "
                      "variant here takes the tree as padded index arrays: all leaves in one "
                      "product, then lax.scan over the internal nodes in stored order with a "
                      "carried (h, c) buffer, one compilation per bucket size (32/64/128 nodes)."})]


@functools.lru_cache(maxsize=None)
def _sizes():
    return [t["left"] for t in sst()[6]]


def _profile_args():
    r = StageTreeLSTM()
    return r.fn.fn, r.args(0)
