"""The MLP of examples/mlp_digits.py (64-128-10, tanh) written with st.nn modules and st.optim.

Where mlp_digits.py spells out the parameters and the SGD update by hand, here a `Sequential` owns
the parameters, `st.train_step` compiles forward + backward + the optimizer's update into one native
function that updates them in place, and `st.eval_step` compiles the prediction.

    python examples/mlp_digits_nn.py [--epochs 20] [--batch 32] [--optimizer sgd|momentum|adagrad|adam]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.datasets import load_digits, train_test_split
from stage.progress import progress

nn = st.nn
OPTIMIZERS = {
    "sgd": lambda lr: st.optim.SGD(lr=lr),
    "momentum": lambda lr: st.optim.SGD(lr=lr, momentum=0.9),
    "adagrad": lambda lr: st.optim.Adagrad(lr=lr),
    "adam": lambda lr: st.optim.Adam(lr=lr),
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.02, "adagrad": 0.05, "adam": 0.002}


def train(epochs=20, batch_size=32, optimizer="sgd", lr=None, seed=0, verbose=True):
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.2, seed=seed)
    nn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10))
    opt = OPTIMIZERS[optimizer](DEFAULT_LR[optimizer] if lr is None else lr)
    step = st.train_step(lambda x, y: nn.cross_entropy(model(x), y), model, opt)
    predict = st.eval_step(lambda x: st.argmax(model(x), 1), model)
    rng = np.random.default_rng(seed + 1)
    nb = len(Xtr) // batch_size
    t0 = time.perf_counter()
    bar = progress(range(1, epochs + 1), desc="epochs", enabled=verbose)   # tqdm on a terminal
    for epoch in bar:
        perm = rng.permutation(len(Xtr))
        losses = []
        for b in range(nb):
            i = perm[b * batch_size:(b + 1) * batch_size]
            losses.append(float(step(Xtr[i], ytr[i])))
        acc = float(np.mean(predict(Xte) == yte))
        bar.set(loss=np.mean(losses), test_acc=acc)
    train_acc = float(np.mean(predict(Xtr) == ytr))
    metrics = {"test_acc": acc, "train_acc": train_acc, "loss": float(np.mean(losses)),
               "seconds": time.perf_counter() - t0}
    if verbose:
        print(f"final: test accuracy {acc:.4f} on {len(Xte)} digits, train accuracy {train_acc:.4f}, "
              f"loss {metrics['loss']:.4f}, {optimizer}, {epochs} epochs in {metrics['seconds']:.2f}s")
    return metrics


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train(args.epochs, args.batch, args.optimizer, args.lr, args.seed)


if __name__ == "__main__":
    main()
