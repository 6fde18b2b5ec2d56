"""Train an MLP on the UCI digits with stage, then export it as a C library.

    python examples/deploy/train_and_export.py [--epochs 20] [--out examples/deploy/out]

writes `<out>/digits/` (libdigits.so, digits.h, digits.safetensors, the sources, a README) and the test
split as raw files (`<out>/test_x.f32`, `<out>/test_y.i64`) for the C program `main.c`, which
`build.sh` compiles with one command. Two entries are exported and share the handle's parameters:

    int digits_classify(digits_model* model, const float* x /* [1, 64] */, int64_t* out /* [1] */);
    int digits_train_step(digits_model* model, const float* x /* [32, 64] */,
                          const int64_t* y /* [32] */, float lr, float* out /* loss */);

The training step updates the parameters in place (`st.assign`), in Python on NumPy arrays and in C
on the handle's own buffers, so the C program can keep training the exported model.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import stage as st
from stage.datasets import load_digits, train_test_split

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mlp_digits import forward, init_params  # noqa: E402  (the same MLP 64-128-10)

BATCH = 32


def classify(params, x):
    """The predicted digit of each row of x."""
    return st.argmax(forward(params, x), axis=1)


def train_step(params, x, y, lr):
    """One SGD step on a minibatch; the parameters are updated in place. Returns the loss."""
    loss, grads = st.value_and_grad(lambda p: st.nn.cross_entropy(forward(p, x), y))(params)
    for layer, g in zip(params, grads):
        for k in layer:
            st.assign(layer[k], layer[k] - lr * g[k])
    return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    args = ap.parse_args(argv)

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.2, seed=0)
    params = init_params()
    step, predict = st.compile(train_step), st.compile(classify)
    lr = np.float32(args.lr)               # a NumPy scalar: a runtime argument, also in C
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        perm = rng.permutation(len(X_train))
        for b in range(len(X_train) // BATCH):
            idx = perm[b * BATCH:(b + 1) * BATCH]
            loss = step(params, X_train[idx], y_train[idx], lr)
    acc = float(np.mean(predict(params, X_test) == y_test))
    print(f"trained {args.epochs} epochs in {time.perf_counter() - t0:.2f}s: loss {float(loss):.4f}, "
          f"test accuracy {acc:.4f} ({len(X_test)} digits)")

    # export: the parameters (argument 0 of both entries, the same arrays) are bound into the handle
    t0 = time.perf_counter()
    exp = st.export({"classify": (classify, (params, X_test[:1])),
                     "train_step": (train_step, (params, X_train[:BATCH], y_train[:BATCH], lr))},
                    os.path.join(args.out, "digits"), params=(0,))
    X_test.astype(np.float32).tofile(os.path.join(args.out, "test_x.f32"))
    y_test.astype(np.int64).tofile(os.path.join(args.out, "test_y.i64"))
    X_train.astype(np.float32).tofile(os.path.join(args.out, "train_x.f32"))
    y_train.astype(np.int64).tofile(os.path.join(args.out, "train_y.i64"))
    print(f"exported to {exp.path} in {time.perf_counter() - t0:.2f}s: {exp.library.name}, "
          f"{exp.header.name}, {exp.params_file.name} ({len(exp.params)} arrays)")
    return acc


if __name__ == "__main__":
    main()
