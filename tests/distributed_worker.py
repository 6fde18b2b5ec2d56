"""Run by tests/test_distributed.py under `mpiexec -n N python tests/distributed_worker.py MODE OUT`.

train:    for SGD (momentum), Adam (clipped by global norm) and Adagrad, on both backends, a few steps
          of data-parallel training on this rank's shard of each global batch; rank 0 saves the
          parameters (the test compares them with one process on the whole batch).
mismatch: rank 1 builds a different model (every rank must fail at construction).
raise:    rank 1 raises before step 3; a checkpoint was saved after step 2.
kill:     rank 1 kills itself (SIGKILL) during step 3.
hang:     rank 1 sleeps during step 2 (the others time out).
"""
import os
import signal
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import stage as st                       # noqa: E402
import stage.distributed as dist         # noqa: E402

RANK_BATCH, STEPS = 4, 4        # the same per-rank shapes at any N: one build serves -n 2 and -n 3
BUCKET_MB = 0.0002               # a bucket per parameter or two


def say(out, text):
    """A line in this rank's log (out/rank<r>.log): mpiexec interleaves the ranks' stdout."""
    with open(os.path.join(out, f"rank{dist.rank()}.log"), "a") as f:
        f.write(text + "\n")


def make_model(seed):
    return st.nn.Sequential(st.nn.Linear(5, 16, seed=seed), st.nn.Tanh(),
                            st.nn.Linear(16, 3, seed=seed + 1))


def optimizers():
    return {"sgd": lambda: st.optim.SGD(lr=0.2, momentum=0.9),
            "adam": lambda: st.optim.Adam(lr=0.05, clip_norm=0.05),
            "adagrad": lambda: st.optim.Adagrad(lr=0.1)}


def data(n):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((STEPS, n * RANK_BATCH, 5)).astype(np.float32)
    y = rng.integers(0, 3, (STEPS, n * RANK_BATCH))
    return x, y


def train(model, step, shard, n):
    x, y = data(n)
    for i in range(STEPS):
        step(x[i][shard], y[i][shard])
    return {k: v.copy() for k, v in model.state_dict().items()}


def reference(opt_name, n):
    """One process on the whole batch of n ranks (what every rank's parameters must equal), by
    the NumPy interpreter (no build)."""
    model = make_model(0)
    step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
                         optimizers()[opt_name](), backend="interp")
    return train(model, step, slice(None), n)


def mode_train(out):
    r, n = dist.rank(), dist.world_size()
    shard = slice(r * RANK_BATCH, (r + 1) * RANK_BATCH)
    results = {}
    runs = [(o, be, BUCKET_MB, True) for o in optimizers() for be in ("native", "interp")]
    runs.append(("adam", "native", 4.0, False))       # one bucket, started after the backward
    for opt_name, backend, mb, overlap in runs:
        model = make_model(10 * r)          # differs per rank: the step broadcasts rank 0's
        step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
                             optimizers()[opt_name](), backend=backend, distributed=True,
                             bucket_mb=mb, overlap=overlap)
        params = train(model, step, shard, n)
        same = dist.all_gather(np.concatenate([v.ravel() for v in params.values()]))
        assert (same == same[0]).all(), "ranks disagree"
        for k, v in params.items():
            results[f"{opt_name}-{backend}-{overlap}/{k}"] = v
        results[f"{opt_name}-{backend}-{overlap}/#buckets"] = np.int64(len(step.ddp.layout))
    if r == 0:
        np.savez(out, **results)


def mode_mismatch(out):
    model = make_model(0) if dist.rank() != 1 else \
        st.nn.Sequential(st.nn.Linear(5, 17), st.nn.Tanh(), st.nn.Linear(17, 3))
    try:
        st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model, st.optim.SGD(lr=0.1),
                      distributed=True)
    except dist.DistributedError as e:
        say(out, f"DistributedError: {e}")
        raise
    say(out, "constructed")


def mode_faults(out, fault):
    dist.init(timeout=4.0 if fault == "hang" else 60.0)
    r = dist.rank()
    say(out, f"rank {r} pid {os.getpid()}")
    model = make_model(0)
    opt = optimizers()["adam"]()            # the same program as mode_train's (built once)
    step = st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model, opt,
                         distributed=True, bucket_mb=BUCKET_MB)
    x, y = data(dist.world_size())
    for i in range(STEPS):
        if r == 1 and i == 2 and fault == "raise":
            raise ValueError("rank 1 fails on purpose")
        if r == 1 and i == 2 and fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if r == 1 and i == 1 and fault == "hang":
            time.sleep(600)
        try:
            step(x[i][:RANK_BATCH], y[i][:RANK_BATCH])
        except dist.DistributedError as e:
            say(out, f"rank {r} step {i}: DistributedError: {e}")
            try:
                dist.save_checkpoint(os.path.join(out, "after.safetensors"), model, opt)
            except dist.DistributedError:
                say(out, f"rank {r}: no checkpoint after the failure")
            raise
        if i == 1:
            dist.save_checkpoint(os.path.join(out, "step2.safetensors"), model, opt)
    say(out, f"rank {r} finished")


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "train":
        mode_train(out)
    elif mode == "mismatch":
        mode_mismatch(out)
    else:
        mode_faults(out, mode)
