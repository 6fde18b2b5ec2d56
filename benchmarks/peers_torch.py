"""PyTorch peers of the benchmark models: the same math, sizes, initial weights and updates as stage's.

Every peer takes the canonical (stage-layout) NumPy initial arrays and data and returns a `Runner`
(see harness.py): `step0()` trains one step from the initial weights, `snapshot()` gives the updated
parameters and optimizer state back in stage's layout, `run(rep)` is one timed repetition. Inputs are
converted to tensors once, outside the timed loops, and losses are not read back (no `.item()`) in
them. Three forms per model where it allows:

- cells: the model written as stage's example writes it (one cell call per time step / tree node);
- fused: idiomatic fused modules (`nn.RNN`, `nn.LSTM` over one-hot inputs, one output `Linear` over
  all time steps), or, for the TreeLSTM, nodes batched level by level;
- compile: the cells form with `torch.compile` on the loss function (forward, and the backward through
  AOTAutograd) and on the optimizer update.

The optimizer is min-char-rnn's Adagrad as stage's examples write it (clip g to [-5, 5], m += g*g,
p -= lr * g / sqrt(m + eps)), written with the `torch._foreach_*` kernels `torch.optim` itself uses
(`torch.optim.Adagrad` divides by `sqrt(m) + eps` instead, so it would not compute the same numbers).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def tensor(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, copy=True))


def numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def set_threads(n: int):
    torch.set_num_threads(n)


def adagrad_(params, mem, lr, clip=None, eps=1e-8):
    """In place: (clip), m += g*g, p -= lr * g / sqrt(m + eps); then drop the gradients."""
    grads = [p.grad for p in params]
    with torch.no_grad():
        if clip is not None:
            torch._foreach_clamp_min_(grads, -clip)
            torch._foreach_clamp_max_(grads, clip)
        torch._foreach_addcmul_(mem, grads, grads)
        denom = torch._foreach_add(mem, eps)
        torch._foreach_sqrt_(denom)
        torch._foreach_addcdiv_(params, grads, denom, value=-lr)
    for p in params:
        p.grad = None


def _compiled(fn, enabled):
    return torch.compile(fn) if enabled else fn


# ---------------------------------------------------------------- character language models


def rnn_loss_cells(P, xs, ys, h):
    Wxh, Whh, bh, Why, by = P
    loss = 0.0
    for t in range(xs.shape[0]):
        h = torch.tanh(Wxh[xs[t]] + h @ Whh + bh)
        loss = loss + F.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    return loss, h


def lstm_loss_cells(P, xs, ys, h, c):
    Wx, Wh, b, Why, by = P
    H = Wh.shape[0]
    loss = 0.0
    for t in range(xs.shape[0]):
        z = Wx[xs[t]] + h @ Wh + b
        i, f = torch.sigmoid(z[:, :H]), torch.sigmoid(z[:, H:2 * H])
        o, g = torch.sigmoid(z[:, 2 * H:3 * H]), torch.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        loss = loss + F.cross_entropy(h @ Why + by, ys[t], reduction="sum")
    return loss, h, c


class CharLMCells:
    """The char-LM as stage's example writes it: a gathered input row and a cell per time step."""

    def __init__(self, params, data, lr, clip, lstm=False, compile=False):
        self.P = [tensor(p).requires_grad_() for p in params]
        self.M = [torch.zeros_like(p) for p in self.P]
        self.data = [(torch.from_numpy(xs), torch.from_numpy(ys)) for xs, ys in data]
        self.lr, self.clip, self.lstm = float(lr), clip, lstm
        B, H = data[0][0].shape[1], params[1].shape[0]
        self.state = (torch.zeros(B, H),) * (2 if lstm else 1)
        self.loss_fn = _compiled(lstm_loss_cells if lstm else rnn_loss_cells, compile)
        self.update = _compiled(adagrad_, compile)
        self.i = 0

    def step(self):
        xs, ys = self.data[self.i % len(self.data)]
        self.i += 1
        loss, *state = self.loss_fn(self.P, xs, ys, *self.state)
        loss.backward()
        self.update(self.P, self.M, self.lr, self.clip)
        self.state = tuple(s.detach() for s in state)
        return loss

    def step0(self):
        return float(self.step().detach())

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss.detach())

    def snapshot(self):
        return {**{f"p{k}": numpy(p) for k, p in enumerate(self.P)},
                **{f"m{k}": numpy(m) for k, m in enumerate(self.M)}}


# torch's LSTM gates are [i f g o]; stage's example packs [i f o g]
def _lstm_perm(H):
    return np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])


class CharLMFused:
    """Idiomatic PyTorch: nn.RNN / nn.LSTM over one-hot inputs, one Linear and one loss over all steps.

    The recurrent module's input weight is stage's gathered table transposed (a one-hot row times it
    is the gathered row), `bias_ih` is stage's bias and `bias_hh` is frozen at zero, so the model,
    its gradients and its updates are the same numbers as stage's."""

    def __init__(self, params, data, lr, clip, lstm=False, compile=False):
        V, H = params[0].shape[0], params[1].shape[0]
        Wx, Wh, b, Why, by = params
        perm = _lstm_perm(H) if lstm else np.arange(H)
        self.rnn = (torch.nn.LSTM if lstm else torch.nn.RNN)(V, H)
        self.out = torch.nn.Linear(H, V)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(tensor(Wx[:, perm].T))
            self.rnn.weight_hh_l0.copy_(tensor(Wh[:, perm].T))
            self.rnn.bias_ih_l0.copy_(tensor(b[perm]))
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(tensor(Why.T))
            self.out.bias.copy_(tensor(by))
        self.rnn.bias_hh_l0.requires_grad_(False)
        self.perm, self.lstm = perm, lstm
        self.P = [self.rnn.weight_ih_l0, self.rnn.weight_hh_l0, self.rnn.bias_ih_l0,
                  self.out.weight, self.out.bias]
        self.M = [torch.zeros_like(p) for p in self.P]
        eye = np.eye(V, dtype=np.float32)
        self.data = [(torch.from_numpy(eye[xs]), torch.from_numpy(ys.reshape(-1)))
                     for xs, ys in data]
        B = data[0][0].shape[1]
        self.state = (torch.zeros(1, B, H),) * (2 if lstm else 1)
        self.lr, self.clip = float(lr), clip
        self.loss_fn = _compiled(self._loss, compile)
        self.update = _compiled(adagrad_, compile)
        self.i = 0

    def _loss(self, x, y, state):
        out, state = self.rnn(x, state if self.lstm else state[0])
        logits = self.out(out.reshape(-1, out.shape[-1]))
        return F.cross_entropy(logits, y, reduction="sum"), state

    def step(self):
        x, y = self.data[self.i % len(self.data)]
        self.i += 1
        loss, state = self.loss_fn(x, y, self.state)
        loss.backward()
        self.update(self.P, self.M, self.lr, self.clip)
        self.state = tuple(s.detach() for s in state) if self.lstm else (state.detach(),)
        return loss

    step0 = CharLMCells.step0
    run = CharLMCells.run

    def snapshot(self):
        inv = np.argsort(self.perm)
        out = {}
        for pre, arrs in (("p", self.P), ("m", self.M)):
            a = [numpy(t) for t in arrs]
            out.update({f"{pre}0": a[0].T[:, inv], f"{pre}1": a[1].T[:, inv], f"{pre}2": a[2][inv],
                        f"{pre}3": a[3].T, f"{pre}4": a[4]})
        return out


# ---------------------------------------------------------------- MLP


class MLP:
    """nn.Sequential(Linear, Tanh, Linear), mean cross-entropy, torch.optim.SGD (p -= lr * g)."""

    def __init__(self, params, data, lr, compile=False):
        layers = []
        for k, layer in enumerate(params):
            lin = torch.nn.Linear(*layer["w"].shape)
            with torch.no_grad():
                lin.weight.copy_(tensor(layer["w"].T))
                lin.bias.copy_(tensor(layer["b"]))
            layers += [lin] + ([torch.nn.Tanh()] if k < len(params) - 1 else [])
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=float(lr), foreach=True)
        self.data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        self.loss_fn = _compiled(lambda x, y: F.cross_entropy(self.model(x), y), compile)
        self.opt_step = _compiled(self.opt.step, compile)
        self.i = 0

    def step(self):
        x, y = self.data[self.i % len(self.data)]
        self.i += 1
        loss = self.loss_fn(x, y)
        loss.backward()
        self.opt_step()
        self.opt.zero_grad(set_to_none=True)
        return loss

    step0 = CharLMCells.step0
    run = CharLMCells.run

    def snapshot(self):
        lin = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        return {**{f"w{k}": numpy(m.weight).T for k, m in enumerate(lin)},
                **{f"b{k}": numpy(m.bias) for k, m in enumerate(lin)}}


# ---------------------------------------------------------------- TreeLSTM


def _split(z, H, n):
    return [z[..., k * H:(k + 1) * H] for k in range(n)]


class TreeLSTM:
    """Binary TreeLSTM over SST trees, one tree per step, loss at every node, Adagrad (no clipping).

    `form="cells"` recurses over the tree node by node as stage's example does (one leaf or internal
    cell per node; the per-node logits are stacked into one cross-entropy call per tree).
    `form="levels"` batches the nodes of one tree level by level (all leaves in one product, then every
    node whose children are done), the usual way to make a TreeLSTM fast in eager PyTorch.
    `compile=True` wraps the two cells in `torch.compile` (the recursion itself is data-dependent
    Python and stays outside)."""

    KEYS = ("Wx", "bx", "Ul", "Ur", "bu", "Wout", "bout")

    def __init__(self, P, E, trees, lr, form="cells", compile=False):
        self.P = {k: tensor(P[k]).requires_grad_() for k in self.KEYS}
        self.M = {k: torch.zeros_like(v) for k, v in self.P.items()}
        self.E = torch.from_numpy(E)
        self.trees = trees            # list of dicts of local node arrays (see bench_treelstm.py)
        self.lr, self.form = float(lr), form
        self.H = P["Ul"].shape[0]
        self.leaf_cell = _compiled(self._leaf, compile)
        self.node_cell = _compiled(self._node, compile)
        self.tt = [self._prepare(t) for t in trees]

    def _prepare(self, t):
        """Tensors of one tree, made once outside the timed loop (t: local node arrays, children
        before parents, so a post-order walk visits nodes 0..n-1 in order)."""
        out = {"label": torch.from_numpy(t["label"])}
        if self.form == "levels":
            pos = t["pos"]                       # node -> row in the level-ordered buffers
            out["leaf_words"] = torch.from_numpy(t["word"][t["levels"][0]])
            out["levels"] = [(torch.from_numpy(pos[t["left"][ix]]),
                              torch.from_numpy(pos[t["right"][ix]])) for ix in t["levels"][1:]]
            out["label"] = torch.from_numpy(t["label"][t["order"]])
        else:
            out["left"], out["right"] = t["left"].tolist(), t["right"].tolist()
            out["word"] = t["word"].tolist()
        return out

    def _leaf(self, x, Wx, bx):
        i, o, u = _split(x @ Wx + bx, self.H, 3)
        c = torch.sigmoid(i) * torch.tanh(u)
        return torch.sigmoid(o) * torch.tanh(c), c

    def _node(self, hl, cl, hr, cr, Ul, Ur, bu):
        i, fl, fr, o, u = _split(hl @ Ul + hr @ Ur + bu, self.H, 5)
        c = (torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(fl) * cl + torch.sigmoid(fr) * cr)
        return torch.sigmoid(o) * torch.tanh(c), c

    def _loss_cells(self, t):
        P, E = self.P, self.E
        left, right, word = t["left"], t["right"], t["word"]
        hs = []

        def rec(i):
            if left[i] < 0:
                h, c = self.leaf_cell(E[word[i]], P["Wx"], P["bx"])
            else:
                hl, cl = rec(left[i])
                hr, cr = rec(right[i])
                h, c = self.node_cell(hl, cl, hr, cr, P["Ul"], P["Ur"], P["bu"])
            hs.append(h)                          # post-order: node len(hs)
            return h, c
        rec(len(left) - 1)
        logits = torch.stack(hs) @ P["Wout"] + P["bout"]
        return F.cross_entropy(logits, t["label"], reduction="sum")

    def _loss_levels(self, t):
        P = self.P
        h, c = self.leaf_cell(self.E[t["leaf_words"]], P["Wx"], P["bx"])
        hs, cs = [h], [c]
        for lp, rp in t["levels"]:              # rows of the children in the buffers so far
            Hc, Cc = torch.cat(hs), torch.cat(cs)
            h, c = self.node_cell(Hc[lp], Cc[lp], Hc[rp], Cc[rp], P["Ul"], P["Ur"], P["bu"])
            hs.append(h)
            cs.append(c)
        logits = torch.cat(hs) @ P["Wout"] + P["bout"]
        return F.cross_entropy(logits, t["label"], reduction="sum")

    def train_tree(self, k):
        t = self.tt[k]
        loss = self._loss_levels(t) if self.form == "levels" else self._loss_cells(t)
        loss.backward()
        keys = self.KEYS
        adagrad_([self.P[q] for q in keys], [self.M[q] for q in keys], self.lr)
        return loss

    def step0(self):
        return float(self.train_tree(0).detach())

    def run(self, tree_ids):
        for k in tree_ids:
            loss = self.train_tree(k)
        return float(loss.detach())

    def snapshot(self):
        return {**{k: numpy(v) for k, v in self.P.items()},
                **{"m_" + k: numpy(v) for k, v in self.M.items()}}


# ---------------------------------------------------------------- call overhead


class Trivial:
    """`x + 1` on a one-element tensor: the cost of one eager op (or one compiled call)."""

    def __init__(self, x, compile=False):
        self.x = tensor(x)
        self.f = _compiled(lambda x: x + 1, compile)

    def step0(self):
        self.y = self.f(self.x)
        return float(self.y[0])

    def run(self, n):
        f, x = self.f, self.x
        for _ in range(n):
            y = f(x)
        return float(y[0])

    def snapshot(self):
        return {"y": numpy(self.y)}
