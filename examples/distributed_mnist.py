"""Data-parallel training of an MLP on MNIST (the 5,000 digits shipped with stage) over MPI.

Every rank holds the model and trains on its shard of each epoch (`DistributedSampler`: the same
shuffled order everywhere, a different shard each); `st.train_step(..., distributed=True)`
averages the gradients across ranks inside the native step, so the ranks' parameters stay
identical. Rank 0 evaluates and writes the checkpoint (atomically).

    pip install -e '.[mpi]'
    mpiexec -n 2 python examples/distributed_mnist.py [--epochs 5] [--batch 64] [--checkpoint ck.safetensors]
    python examples/distributed_mnist.py           # one rank: the same program without a launcher

`--batch` is per rank: N ranks train on N * batch examples per step, as one process would with
that batch (the learning rate is not rescaled).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import stage as st
import stage.distributed as dist
from stage.datasets import load_mnist_5k, train_test_split

nn = st.nn


def build(hidden=256, seed=0):
    nn.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def train(epochs=5, batch=64, lr=1e-3, hidden=256, checkpoint=None, verbose=True, seed=0):
    dist.init()
    rank, size = dist.rank(), dist.world_size()
    X, y = load_mnist_5k()
    X = X.reshape(len(X), -1).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.2, seed=seed)
    model = build(hidden, seed + rank)        # rank 0's initial parameters are broadcast
    opt = st.optim.Adam(lr=lr)
    step = st.train_step(lambda x, t: nn.cross_entropy(model(x), t), model, opt,
                         distributed=True)
    predict = st.eval_step(lambda x: st.argmax(model(x), 1), model)
    sampler = dist.DistributedSampler(len(Xtr), seed=seed)
    history = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        losses = [float(step(Xtr[i], ytr[i])) for i in sampler.batches(batch)]
        loss = float(dist.all_reduce(np.array([np.mean(losses)]), "mean")[0])
        acc = float(np.mean(predict(Xte) == yte))
        history.append((epoch + 1, loss, acc))
        if verbose and rank == 0:
            print(f"epoch {epoch + 1}: loss {loss:.4f} (mean over {size} ranks), test accuracy "
                  f"{acc:.4f}", flush=True)
    seconds = time.perf_counter() - t0
    if checkpoint:
        dist.save_checkpoint(checkpoint, model, opt)
    if verbose and rank == 0:
        n = len(sampler.indices()) // batch * batch * size * epochs
        print(f"{size} rank(s): {epochs} epochs, {n} examples in {seconds:.2f} s "
              f"({n / seconds:.0f} examples/s)")
    return {"history": history, "seconds": seconds, "model": model, "step": step}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64, help="per rank")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--checkpoint", default=None)
    args = ap.parse_args(argv)
    train(args.epochs, args.batch, args.lr, args.hidden, args.checkpoint)


if __name__ == "__main__":
    main()
