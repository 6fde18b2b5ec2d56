"""An MLP 784-128-10 (tanh) on the 5,000 MNIST images shipped with stage, batch 100, SGD lr 0.1, and
the bare call overhead of a trivial compiled function: the small, overhead-dominated cases.

Stage runs `examples/mlp_digits.py`'s `sgd_step` (one native call per step, returning new
parameters) with `init_params(sizes=(784, 128, 10))`. The check compares the loss, the parameters
after one step and the gradients recovered from them ((p0 - p1) / lr).
"""
from __future__ import annotations

import functools

import numpy as np

from harness import Model, examples_module

LR, BATCH, SIZES = 0.1, 100, (784, 128, 10)


@functools.lru_cache(maxsize=None)
def mnist():
    """The 5,000 images, read once per process (the batches below are views of them)."""
    from stage.datasets import load_mnist_5k
    return load_mnist_5k()


def mlp_data(nbatches):
    X, y = mnist()
    X = X.reshape(len(X), -1)
    params = examples_module("mlp_digits").init_params(0, sizes=SIZES)
    data = [(np.ascontiguousarray(X[k * BATCH:(k + 1) * BATCH]), y[k * BATCH:(k + 1) * BATCH].copy())
            for k in range(nbatches)]
    return params, data


class StageMLP:
    def __init__(self, params, data):
        import stage as st
        self.fn = st.compile(examples_module("mlp_digits").sgd_step)
        self.P = [{k: v.copy() for k, v in layer.items()} for layer in params]
        self.data, self.lr, self.i = data, np.float32(LR), 0

    def args(self):
        x, y = self.data[self.i % len(self.data)]
        return self.P, x, y, self.lr

    def step(self):
        loss, self.P = self.fn(*self.args())
        self.i += 1
        return loss

    def step0(self):
        return float(self.step())

    def run(self, n):
        for _ in range(n):
            loss = self.step()
        return float(loss)

    def set_threads(self, n):
        self.fn.last.lib.stage_set_num_threads(n)

    def snapshot(self):
        return {**{f"w{k}": l["w"].copy() for k, l in enumerate(self.P)},
                **{f"b{k}": l["b"].copy() for k, l in enumerate(self.P)}}


class WithGrads:
    """Adds the gradients of the first step, (p0 - p1) / lr, to a runner's snapshot (as state)."""

    def __init__(self, runner, params):
        self.r, self.init = runner, params
        for name in ("step0", "run", "set_threads"):
            if hasattr(runner, name):
                setattr(self, name, getattr(runner, name))

    def snapshot(self):
        s = self.r.snapshot()
        for k, layer in enumerate(self.init):
            for q in ("w", "b"):
                s[f"m_grad_{q}{k}"] = (layer[q].astype(np.float64) - s[f"{q}{k}"]) / LR
        return s


def _mlp(quick):
    nb = 50

    def stage():
        p, d = mlp_data(nb)
        return WithGrads(StageMLP(p, d), p)

    def torch_form(compile=False):
        def make():
            import peers_torch
            p, d = mlp_data(nb)
            return WithGrads(peers_torch.MLP(p, d, LR, compile=compile), p)
        return make

    def jax():
        import peers_jax
        p, d = mlp_data(nb)
        return WithGrads(peers_jax.MLP(p, d, LR), p)

    def profile():
        p, d = mlp_data(1)
        r = StageMLP(p, d)
        return r.fn.fn, r.args()
    return Model(name="mlp", title="MLP 784-128-10 on MNIST 5k (batch 100, SGD)", unit="step",
                 reps=3 if quick else 6, target_s=0.08 if quick else 0.2,
                 variants={"stage": stage, "torch": torch_form(),
                           "torch-compile": torch_form(True), "jax": jax},
                 labels={"torch": "torch eager (nn.Sequential, optim.SGD)",
                         "torch-compile": "torch.compile (model and optimizer step)",
                         "jax": "JAX jit"},
                 profile=profile, data=mnist)


class StageTrivial:
    def __init__(self):
        import stage as st
        self.f = st.compile(lambda x: x + 1)
        self.x = np.zeros(1, np.float32)

    def step0(self):
        self.y = self.f(self.x)
        return float(self.y[0])

    def run(self, n):
        f, x = self.f, self.x
        for _ in range(n):
            y = f(x)
        return float(y[0])

    def snapshot(self):
        return {"y": self.y.copy()}


def _overhead(quick):
    x = np.zeros(1, np.float32)

    def torch_form(compile=False):
        def make():
            import peers_torch
            return peers_torch.Trivial(x, compile=compile)
        return make

    def jax():
        import peers_jax
        return peers_jax.Trivial(x)

    def profile():
        r = StageTrivial()
        return r.f.fn, (r.x,)
    return Model(name="overhead", title="call overhead: x + 1 on one float", unit="call",
                 reps=3 if quick else 6, target_s=0.08 if quick else 0.2, warmup_units=200,
                 variants={"stage": StageTrivial, "torch": torch_form(),
                           "torch-compile": torch_form(True), "jax": jax},
                 labels={"stage": "stage (compiled call)", "torch": "torch eager op",
                         "torch-compile": "torch.compile'd function",
                         "jax": "JAX jit (+ block_until_ready)"},
                 profile=profile)


def harness_models(quick=False):
    return [_mlp(quick), _overhead(quick)]
