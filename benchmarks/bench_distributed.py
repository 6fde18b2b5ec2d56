"""Data-parallel training over MPI: throughput at 1 and 2 ranks, and what the all-reduce costs.

The model is an MLP 784-512-512-10 (669,706 float32 parameters: 2.68 MB of gradients per step)
trained with Adam on batches of `--batch` examples per rank. In every job the configurations run
interleaved, round after round (the machine is shared and noisy):

- stage-local:      `st.train_step` without `distributed` (each rank alone: compute only, under
                    the same contention as the distributed runs);
- stage-ddp:        `distributed=True`, buckets of `--bucket-mb` started during the backward;
- stage-ddp-serial: the same, every bucket started after the backward (`overlap=False`);
- allreduce:        MPI_Iallreduce + wait of 2.68 MB alone (mpi4py), the message cost (and of
                    4 KB: the latency);
- torch-local / torch-ddp: PyTorch eager, alone and under DistributedDataParallel (gloo, its
                    default 25 MB buckets), the same model, batch and optimizer, one thread.

The driver launches `mpiexec -n 1` and `-n 2` jobs alternately and reports medians.

    python benchmarks/bench_distributed.py [--rounds 5] [--steps 30] [--batch 64] [--jobs 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZES = (784, 512, 512, 10)


def _stage_step(distributed, overlap, bucket_mb, rank):
    import stage as st
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers += [st.nn.Linear(a, b, seed=10 * i + rank)] + ([st.nn.ReLU()] if i < 2 else [])
    model = st.nn.Sequential(*layers)
    return st.train_step(lambda x, y: st.nn.cross_entropy(model(x), y), model,
                         st.optim.Adam(lr=1e-4), distributed=distributed, overlap=overlap,
                         bucket_mb=bucket_mb)


def _torch_step(ddp):
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def worker(args):
    import stage.distributed as dist
    dist.init()
    rank, size = dist.rank(), dist.world_size()
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((args.batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)
    steps = {"stage-local": _stage_step(False, True, args.bucket_mb, rank),
             "stage-ddp": _stage_step(True, True, args.bucket_mb, rank),
             "stage-ddp-serial": _stage_step(True, False, args.bucket_mb, rank)}
    nbytes = sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:])) * 4
    buf = np.ones(nbytes // 4, np.float32)
    g = dist.comm.group()

    small = np.ones(1024, np.float32)

    def allreduce(*_):
        g.wait(g.comm.Iallreduce(g.MPI.IN_PLACE, buf, op=g.MPI.SUM), "all_reduce")

    def allreduce_small(*_):
        g.wait(g.comm.Iallreduce(g.MPI.IN_PLACE, small, op=g.MPI.SUM), "all_reduce")
    steps["allreduce"] = allreduce
    steps["allreduce-4KB"] = allreduce_small
    if args.torch:
        import torch
        torch.set_num_threads(1)
        if size > 1:
            import torch.distributed as tdist
            tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{args.port}",
                                     rank=rank, world_size=size)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        steps["torch-local"] = (_torch_step(False), (xt, yt))
        if size > 1:
            steps["torch-ddp"] = (_torch_step(True), (xt, yt))
    times = {k: [] for k in steps}
    for r in range(args.rounds + 1):              # round 0 warms up (builds, caches)
        for name, s in steps.items():
            fn, a = s if isinstance(s, tuple) else (s, (x, y))
            dist.barrier()
            for _ in range(args.steps if r else 3):
                t0 = time.perf_counter()
                fn(*a)
                t = time.perf_counter() - t0
                if r:
                    times[name].append(t)
    med = {k: float(np.median(v)) for k, v in times.items()}
    worst = dist.all_reduce(np.array([med[k] for k in steps]), "max")   # the slowest rank's
    if rank == 0:
        print("RESULT " + json.dumps({"ranks": size, "batch": args.batch, "bytes": nbytes,
                                      "median_s": dict(zip(steps, worst.tolist()))}), flush=True)


def driver(args):
    mpiexec = Path(sys.executable).parent / "mpiexec"
    env = dict(os.environ, PYTHONPATH=str(ROOT), STAGE_PROGRESS="off", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", STAGE_NUM_THREADS="1")
    runs = []
    for job in range(args.jobs):
        for n in (1, 2):                          # alternate: 1 rank, 2 ranks, 1, 2, ...
            cmd = [str(mpiexec), "-n", str(n), sys.executable, __file__, "--worker",
                   "--rounds", str(args.rounds), "--steps", str(args.steps), "--batch",
                   str(args.batch), "--bucket-mb", str(args.bucket_mb), "--port",
                   str(29500 + job)] + ([] if args.no_torch else ["--torch"])
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
            line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
            if p.returncode != 0 or not line:
                sys.exit(f"job failed:\n{p.stdout}\n{p.stderr}")
            runs.append(json.loads(line[0][7:]))
            print(f"job {job} n={n}: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in
                                                   runs[-1]["median_s"].items()), flush=True)
    report(runs, args)


def report(runs, args):
    def med(n, k):
        v = [r["median_s"][k] for r in runs if r["ranks"] == n and k in r["median_s"]]
        return float(np.median(v)) if v else float("nan")
    b = args.batch
    one, two = med(1, "stage-local"), med(2, "stage-ddp")
    print(f"\nper-step medians over {args.jobs} jobs of each size (ms), per-rank batch {b}:")
    keys = ["stage-local", "stage-ddp", "stage-ddp-serial", "allreduce", "allreduce-4KB",
            "torch-local", "torch-ddp"]
    print("| ranks | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for n in (1, 2):
        print(f"| {n} | " + " | ".join(f"{med(n, k) * 1e3:.2f}" for k in keys) + " |")
    print(f"\nthroughput: 1 rank {b / one:.0f} examples/s (stage-local), 2 ranks "
          f"{2 * b / two:.0f} examples/s (stage-ddp): x{(2 * b / two) / (b / one):.2f}")
    loc2 = med(2, "stage-local")
    print(f"communication per step at 2 ranks (step time over stage-local at 2 ranks): "
          f"overlapped {(two - loc2) * 1e3:.2f} ms, serial "
          f"{(med(2, 'stage-ddp-serial') - loc2) * 1e3:.2f} ms; the all-reduce of "
          f"{runs[0]['bytes'] / 1e6:.2f} MB alone {med(2, 'allreduce') * 1e3:.2f} ms")
    if not args.no_torch:
        print(f"PyTorch DDP: {(med(2, 'torch-ddp') - med(2, 'torch-local')) * 1e3:.2f} ms per "
              f"step over torch-local at 2 ranks")
    out = ROOT / "benchmarks" / "results" / "distributed.json"
    out.write_text(json.dumps({"args": vars(args), "runs": runs}, indent=1))
    print(f"raw results: {out.relative_to(ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--bucket-mb", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--port", type=int, default=29500)
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
