"""Train an MLP 64-128-10 on the UCI digits with stage.

The whole SGD step -- forward, backward (derived by `st.value_and_grad`) and the update `p - lr * g` --
is one `st.compile`d function: staged once, lowered to C++ calling BLAS, compiled with g++ and then
called once per minibatch on NumPy arrays.

    python examples/mlp_digits.py [--epochs 20] [--batch 32] [--lr 0.1] [--seed 0] [--backend native]

The parameters are a plain pytree (a list of {"w", "b"} dicts); there is no module or optimizer
library involved. `train()` is importable (the tests use it) and returns a dict of metrics.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.datasets import load_digits, train_test_split

SIZES = (64, 128, 10)


def init_params(seed: int = 0, sizes=SIZES):
    """A list of {"w": (fan_in, fan_out), "b": (fan_out,)} float32 layers, Xavier-uniform weights."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append({"w": rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                       "b": np.zeros(fan_out, np.float32)})
    return params


def forward(params, x):
    """Logits of the MLP: tanh after every layer but the last."""
    h = x
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"]
        if i < len(params) - 1:
            h = st.tanh(h)
    return h


def loss_fn(params, x, y):
    return st.nn.cross_entropy(forward(params, x), y)


def sgd_step(params, x, y, lr):
    """One SGD step, staged as a whole: returns (loss, new params)."""
    loss, grads = st.value_and_grad(loss_fn)(params, x, y)
    new_params = [{k: p[k] - lr * g[k] for k in p} for p, g in zip(params, grads)]
    return loss, new_params


def predict(params, x):
    return st.argmax(forward(params, x), axis=1)


def load_data(seed: int = 0, test_fraction: float = 0.2):
    """(X_train, X_test, y_train, y_test): the 1,797 digits split deterministically."""
    X, y = load_digits()
    return train_test_split(X, y, test_fraction=test_fraction, seed=seed)


def train(epochs: int = 20, batch_size: int = 32, lr: float = 0.1, seed: int = 0,
          backend: str = None, verbose: bool = True) -> dict:
    """Train and return metrics: test_acc, train_acc, loss, seconds, first_step_seconds, history."""
    X_train, X_test, y_train, y_test = load_data(seed)
    params = init_params(seed)
    step = st.compile(sgd_step, backend=backend)
    predict_c = st.compile(predict, backend=backend)
    lr = np.float32(lr)                 # a NumPy scalar is a runtime argument (a Python float is static)
    rng = np.random.default_rng(seed + 1)
    n_batches = len(X_train) // batch_size          # drop the ragged tail: one batch shape, one build

    def accuracy(X, y):
        return float(np.mean(predict_c(params, X) == y))

    t0 = time.perf_counter()
    first_step = None
    history = []
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        perm = rng.permutation(len(X_train))
        losses = []
        for b in range(n_batches):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            loss, params = step(params, X_train[idx], y_train[idx], lr)
            losses.append(float(loss))
            if first_step is None:
                first_step = time.perf_counter() - t0
        row = {"epoch": epoch, "loss": float(np.mean(losses)), "train_acc": accuracy(X_train, y_train),
               "test_acc": accuracy(X_test, y_test), "epoch_seconds": time.perf_counter() - t_epoch,
               "seconds": time.perf_counter() - t0}
        history.append(row)
        if verbose:
            print(f"epoch {epoch:3d}  loss {row['loss']:.4f}  train acc {row['train_acc']:.4f}  "
                  f"test acc {row['test_acc']:.4f}  time {row['epoch_seconds']:.3f}s "
                  f"(total {row['seconds']:.2f}s)", flush=True)
    final = history[-1]
    metrics = {"test_acc": final["test_acc"], "train_acc": final["train_acc"], "loss": final["loss"],
               "seconds": final["seconds"], "first_step_seconds": first_step, "history": history,
               "params": params, "library_path": step.library_path if step.backend == "native" else None}
    if verbose:
        print(f"final: test accuracy {final['test_acc']:.4f} on {len(X_test)} digits after {epochs} "
              f"epochs in {final['seconds']:.2f}s (first step incl. staging+compile "
              f"{first_step:.2f}s, backend {step.backend})")
    return metrics


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", choices=("native", "interp"), default=None,
                    help="default: $STAGE_BACKEND or native")
    args = ap.parse_args(argv)
    train(args.epochs, args.batch, args.lr, args.seed, args.backend)


if __name__ == "__main__":
    main()
