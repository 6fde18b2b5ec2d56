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


def batches(X, y, n):
    k = len(X) // BATCH
    return [(X[(i % k) * BATCH:(i % k + 1) * BATCH], y[(i % k) * BATCH:(i % k + 1) * BATCH])
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
