"""CNN training step (the paper's MNIST model) in stage vs PyTorch eager, same process, same data.

conv 1->10 5x5, relu, maxpool 2, conv 10->20 5x5, relu, maxpool 2, fc 320->50, relu, dropout 0.5,
fc 50->10, log-softmax/NLL; batch 100, SGD (lr 0.01, momentum 0.5). Each timing is the median of
`--repeats` runs of `--steps` steps (ms per step), with one and two threads (stage: BLAS threads via
`stage_set_num_threads`; torch: torch.set_num_threads). Also reports time to first step (staging +
compile, or a cache hit) and a forward+backward-only breakdown of stage's conv layers.

    python benchmarks/bench_cnn.py [--steps 20] [--repeats 5] [--threads 1 2]
"""
from __future__ import annotations

import argparse
import functools
import statistics
import time

import numpy as np

import stage as st
from stage.datasets import load_mnist_5k

nn = st.nn
BATCH = 100


def stage_model():
    nn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 10, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(10, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(320, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 10))


def torch_model(torch):
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 10, 5), T.ReLU(), T.MaxPool2d(2), T.Conv2d(10, 20, 5), T.ReLU(),
                        T.MaxPool2d(2), T.Flatten(), T.Linear(320, 50), T.ReLU(), T.Dropout(0.5),
                        T.Linear(50, 10))


def batches(X, y, n, batch=BATCH):
    k = len(X) // batch
    return [(X[(i % k) * batch:(i % k + 1) * batch], y[(i % k) * batch:(i % k + 1) * batch])
            for i in range(n)]


def timed(fn, data, repeats):
    """Median over repeats of the mean ms per step."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x, y in data:
            fn(x, y)
        runs.append((time.perf_counter() - t0) * 1e3 / len(data))
    return statistics.median(runs)


def bench_stage(data, threads, repeats):
    model = stage_model()
    step = st.train_step(lambda x, y: nn.cross_entropy(model(x), y), model,
                         st.optim.SGD(lr=0.01, momentum=0.5))
    t0 = time.perf_counter()
    step(*data[0])
    first = time.perf_counter() - t0
    lib = step.compiled.last.lib
    out = {}
    for n in threads:
        lib.stage_set_num_threads(n)
        step(*data[0])
        out[n] = timed(step, data, repeats)
    return out, first


def bench_torch(torch, data, threads, repeats):
    torch.manual_seed(0)
    model = torch_model(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    tdata = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    out = {}
    for n in threads:
        torch.set_num_threads(n)
        step(*tdata[0])
        out[n] = timed(step, tdata, repeats)
    return out


def bench_conv_layers(threads, repeats):
    """Forward + backward of each conv layer alone (gradient w.r.t. input and weight)."""
    rng = np.random.default_rng(0)
    rows = []
    for name, xs, ws in [("conv1", (BATCH, 1, 28, 28), (10, 1, 5, 5)),
                         ("conv2", (BATCH, 10, 12, 12), (20, 10, 5, 5))]:
        x = rng.standard_normal(xs).astype(np.float32)
        w = rng.standard_normal(ws).astype(np.float32)
        f = st.compile(st.grad(lambda x, w: st.sum(nn.functional.conv2d(x, w) ** 2), (0, 1)))
        f(x, w)
        for n in threads:
            f.last.lib.stage_set_num_threads(n)
            runs = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(20):
                    f(x, w)
                runs.append((time.perf_counter() - t0) * 1e3 / 20)
            oh = xs[2] - ws[2] + 1
            flops = 3 * 2 * BATCH * ws[0] * ws[1] * ws[2] * ws[3] * oh * oh    # fwd + 2 grads
            ms = statistics.median(runs)
            rows.append((name, n, ms, flops / ms / 1e6))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    X, y = load_mnist_5k()
    data = batches(X, y, args.steps)
    s, first = bench_stage(data, args.threads, args.repeats)
    try:
        import torch
        t = bench_torch(torch, data, args.threads, args.repeats)
    except ImportError:
        torch, t = None, {}
    print(f"CNN training step, batch {BATCH}, median of {args.repeats} x {args.steps} steps "
          f"(ms/step); stage first step (staging + compile or cache hit): {first:.2f} s")
    print(f"{'threads':>8} {'stage':>10} {'torch eager':>12} {'stage/torch':>12}")
    for n in args.threads:
        tt = t.get(n)
        print(f"{n:>8} {s[n]:>10.2f} {tt if tt else float('nan'):>12.2f} "
              f"{s[n] / tt if tt else float('nan'):>12.2f}")
    print("stage conv layers alone, forward + both gradients:")
    for name, n, ms, gflops in bench_conv_layers(args.threads, args.repeats):
        print(f"  {name} threads={n}: {ms:.3f} ms ({gflops:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------------------------- run.py models
# The same CNN in the harness (benchmarks/README.md): identical initial weights (stage's seeded init,
# loaded into the peers), the same batches, SGD lr 0.01 momentum 0.5. The first-step check runs with
# dropout off (model.eval(): dropout is the one place the frameworks' random numbers differ); the
# timed steps train with dropout 0.5, as the paper's model does.

LR, MOMENTUM = 0.01, 0.5
NAMES = ("0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "10.weight", "10.bias")


mnist = functools.lru_cache(maxsize=None)(load_mnist_5k)      # read once per process


def cnn_setup(nbatches, batch=BATCH):
    X, y = mnist()
    data = [(np.ascontiguousarray(a), np.ascontiguousarray(b))
            for a, b in batches(X, y, nbatches, batch)]
    return {k: v.copy() for k, v in stage_model().state_dict().items()}, data


class StageCNN:
    def __init__(self, init, data):
        self.model = stage_model()
        self.model.load_state_dict(init)
        self.opt = st.optim.SGD(lr=LR, momentum=MOMENTUM)
        self.step_fn = st.train_step(lambda x, y: nn.cross_entropy(self.model(x), y), self.model,
                                     self.opt)
        self.data, self.i = data, 0

    def step0(self):
        self.model.eval()
        loss = float(self.step_fn(*self.data[0]))
        self.model.train()
        self.i = 1
        return loss

    def run(self, n):
        for _ in range(n):
            loss = self.step_fn(*self.data[self.i % len(self.data)])
            self.i += 1
        return float(loss)

    def set_threads(self, n):
        st.set_num_threads(n)

    def staged(self):
        """The function train_step hands to st.compile and its arguments for the next step
        (for the harness's profile: trace, generate, compile and load timed separately)."""
        s, opt = self.step_fn, self.opt
        args = (*s._state(), opt.state, opt.hyper(), s._key(), self.model.modes(), self.data[0])
        return s.compiled.fn, args

    def snapshot(self):
        s = {k: v.copy() for k, v in self.model.state_dict().items()}
        for k in NAMES:
            s["m_" + k] = self.opt.state[k]["momentum_buffer"].copy()
        return s


class TorchCNN:
    def __init__(self, init, data, compile=False):
        import torch
        self.torch = torch
        self.model = torch_model(torch)
        self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in init.items()})
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.fwd = torch.compile(self.model) if compile else self.model
        self.data = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in data]
        self.i = 0

    def _step(self, x, y):
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.fwd(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def step0(self):
        self.model.eval()
        loss = float(self._step(*self.data[0]))
        self.model.train()
        self.i = 1
        return loss

    def run(self, n):
        for _ in range(n):
            loss = self._step(*self.data[self.i % len(self.data)])
            self.i += 1
        return float(loss)

    def snapshot(self):
        s = {k: v.detach().numpy().copy() for k, v in self.model.state_dict().items()}
        params = dict(self.model.named_parameters())
        for k in NAMES:
            s["m_" + k] = self.opt.state[params[k]]["momentum_buffer"].numpy().copy()
        return s


class JaxCNN:
    def __init__(self, init, data):
        import jax
        import jax.numpy as jnp
        from jax import lax

        def conv(x, w, b):
            y = lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
            return y + b[None, :, None, None]

        def pool(x):
            return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

        def loss_fn(P, x, y, key, train):
            h = pool(jax.nn.relu(conv(x, P["0.weight"], P["0.bias"])))
            h = pool(jax.nn.relu(conv(h, P["3.weight"], P["3.bias"])))
            h = jax.nn.relu(h.reshape(h.shape[0], -1) @ P["7.weight"].T + P["7.bias"])
            if train:
                keep = jax.random.bernoulli(key, 0.5, h.shape)
                h = jnp.where(keep, h * 2.0, 0.0)
            logits = h @ P["10.weight"].T + P["10.bias"]
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def make(train):
            @jax.jit
            def step(P, M, x, y, key, first):
                loss, g = jax.value_and_grad(loss_fn)(P, x, y, key, train)
                M = jax.tree_util.tree_map(lambda m, d: jnp.where(first, d, MOMENTUM * m + d), M, g)
                P = jax.tree_util.tree_map(lambda p, m: p - LR * m, P, M)
                return P, M, loss
            return step
        self.jax, self.jnp = jax, jnp
        self.train_step, self.eval_step = make(True), make(False)
        self.P = {k: jnp.asarray(v) for k, v in init.items()}
        self.M = {k: jnp.zeros_like(v) for k, v in self.P.items()}
        self.data = [(jnp.asarray(x), jnp.asarray(y)) for x, y in data]
        self.key, self.i = jax.random.PRNGKey(0), 0

    def step0(self):
        self.P, self.M, loss = self.eval_step(self.P, self.M, *self.data[0], self.key, True)
        self.i = 1
        return float(loss)

    def run(self, n):
        for _ in range(n):
            self.key, sub = self.jax.random.split(self.key)
            self.P, self.M, loss = self.train_step(self.P, self.M,
                                                   *self.data[self.i % len(self.data)], sub, False)
            self.i += 1
        return float(loss)

    def snapshot(self):
        s = {k: np.asarray(v) for k, v in self.P.items()}
        s.update({"m_" + k: np.asarray(v) for k, v in self.M.items()})
        return s


def harness_models(quick):
    from harness import Model

    def make(cls, nb, batch, **kw):
        def factory():
            init, data = cnn_setup(nb, batch)
            return cls(init, data, **kw)
        return factory

    def model(name, batch, nb):
        return Model(name=name, title=f"CNN on MNIST 5k (the paper's network; batch {batch}, SGD)",
                     unit="step", reps=3 if quick else 6, target_s=0.1 if quick else 0.25,
                     variants={"stage": make(StageCNN, nb, batch), "torch": make(TorchCNN, nb, batch),
                               "torch-compile": make(TorchCNN, nb, batch, compile=True),
                               "jax": make(JaxCNN, nb, batch)},
                     labels={"stage": "stage (st.nn + st.train_step + st.optim.SGD)",
                             "torch": "torch eager (nn.Sequential, optim.SGD)",
                             "torch-compile": "torch.compile (model; optimizer eager)",
                             "jax": "JAX jit"},
                     per=5000 // batch, warmup_units=3, data=mnist,
                     profile=lambda: StageCNN(*cnn_setup(1, batch)).staged())
    return [model("cnn", BATCH, 10 if quick else 50), model("cnn500", 500, 10)]
