"""Train the paper's CNN on 5,000 MNIST digits with st.nn modules and a native training step.

conv 1->10 5x5, relu, maxpool 2, conv 10->20 5x5, relu, maxpool 2, fc 320->50, relu, dropout 0.5,
fc 50->10; batch 100, SGD. Forward, backward (CPS), dropout masks and the SGD-with-momentum update
all run inside one compiled function that updates the model's NumPy arrays in place.

    python examples/mnist_cnn.py [--epochs 10] [--lr 0.05] [--momentum 0.9] [--seed 0] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
from stage.datasets import load_mnist_5k, train_test_split
from stage.progress import progress

nn = st.nn
BATCH = 100


def make_model(seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 10, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(10, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(320, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 10))


def train(epochs=10, lr=0.05, momentum=0.9, seed=0, threads=None, verbose=True):
    X, y = load_mnist_5k()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.2, seed=seed)
    model = make_model(seed)
    step = st.train_step(lambda x, y: nn.cross_entropy(model(x), y), model,
                         st.optim.SGD(lr=lr, momentum=momentum), seed=seed)
    predict = st.eval_step(lambda x: st.argmax(model(x), 1), model)
    rng = np.random.default_rng(seed)
    nb = len(Xtr) // BATCH
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = rng.permutation(len(Xtr))
        losses = []
        bar = progress(range(nb), desc=f"epoch {epoch}", enabled=verbose)   # tqdm on a terminal
        for b in bar:
            i = perm[b * BATCH:(b + 1) * BATCH]
            losses.append(float(step(Xtr[i], ytr[i])))
            if b == 0 and epoch == 1 and threads:
                step.compiled.last.lib.stage_set_num_threads(threads)
            bar.set(loss=np.mean(losses))
        model.eval()
        acc = float(np.mean(predict(Xte) == yte))
        if verbose:
            print(f"  test acc {acc:.4f}  ({time.perf_counter() - t0:.1f}s)")
    train_acc = float(np.mean(predict(Xtr) == ytr))
    metrics = {"test_acc": acc, "train_acc": train_acc, "loss": float(np.mean(losses)),
               "seconds": time.perf_counter() - t0}
    if verbose:
        print(f"final: test accuracy {acc:.4f} on {len(Xte)} digits, train accuracy {train_acc:.4f}, "
              f"loss {metrics['loss']:.4f}, {epochs} epochs in {metrics['seconds']:.1f}s")
    return metrics


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all cores)")
    args = ap.parse_args(argv)
    train(args.epochs, args.lr, args.momentum, args.seed, args.threads)


if __name__ == "__main__":
    main()
