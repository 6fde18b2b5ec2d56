"""Stage's own scaling: each model's steady step at 1 and at 2 (or --threads) threads, interleaved
repetition by repetition in one process (the issue's targets: at 2 threads every model at least as
fast as at 1, the CNN at batch 100 and 500 and the MLP at least 1.6x faster).

Per model one worker process builds the runners once (stage, and with --peers also PyTorch eager)
and then alternates: for every repetition, each (implementation, thread count) pair in a rotating
order, with a 0.3 s pause before every run (idle pool threads go to sleep) and an unmeasured
warm-up after it (harness.warm_up: a KVM guest's vCPUs run slowly for a while after idling). Each
repetition records CPU time / wall time and the CPU other processes used meanwhile; repetitions
during which others took more than 0.3 of a core are flagged and left out when at least two are
not. The speed-up is the median over repetitions of (time at 1 thread) / (time at n threads) of the
same repetition.

    python benchmarks/bench_scaling.py [--models cnn,cnn500,mlp,rnn,lstm,minrnn,tree] [--reps 7]
                                       [--threads 2] [--peers]

Writes results/scaling.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

DEFAULT_MODELS = "cnn,cnn500,mlp,rnn,lstm,minrnn,tree"


def measure(name: str, nthreads: int, reps: int, peers: bool) -> dict:
    """In this process: the interleaved repetitions of one model."""
    model = harness.load_models(name, quick=False)
    variants = ["stage"] + (["torch"] if peers and "torch" in model.variants else [])
    runners = {}
    for v in variants:
        r = model.variants[v]()
        r.step0()
        runners[v] = r
    cases = [(v, n) for v in variants for n in (1, nthreads)]
    count = {}
    for v, n in cases:
        harness.set_threads(runners[v], v, n)
        if hasattr(runners[v], "warmup"):
            runners[v].warmup(model.warmup_work)
        if model.work is not None:
            runners[v].run(model.work(-1))
        elif n == 1:                                   # calibrated once, at one thread
            runners[v].run(model.warmup_units)
            t0 = time.perf_counter()
            runners[v].run(model.warmup_units)
            est = (time.perf_counter() - t0) / model.warmup_units
            count[v] = max(3, min(200000, round(model.target_s / max(est, 1e-9))))
    times = {c: [] for c in cases}
    cpu = {c: [] for c in cases}
    others = {c: [] for c in cases}
    for rep in range(reps):
        k = rep % len(cases)
        for v, n in cases[k:] + cases[:k]:
            harness.set_threads(runners[v], v, n)
            time.sleep(model.cooldown_s)
            w = rep % model.reps                       # fixed work: the model's chunks in turn
            work = model.work(w) if model.work is not None else count[v]
            units = model.units(w) if model.work is not None else count[v]
            harness.warm_up(model, runners[v], count.get(v))   # back at speed after the pause
            with harness.Meter() as m:
                runners[v].run(work)
            times[(v, n)].append(m.wall / units)
            cpu[(v, n)].append(m.cpu_per_wall)
            others[(v, n)].append(m.others)
    flags = {c: [o > harness.BUSY_CORES for o in others[c]] for c in cases}
    out = {"model": name, "title": model.title, "unit": model.unit, "threads": nthreads,
           "loadavg": os.getloadavg(), "cases": {}, "speedup": {}}
    for v, n in cases:
        out["cases"][f"{v}@{n}"] = harness.summary(times[(v, n)], flags[(v, n)]) | {
            "all": times[(v, n)], "cpu_per_wall": statistics.median(cpu[(v, n)]),
            "other_cores": others[(v, n)]}
    for v in variants:
        rs = [a / b for a, b in zip(times[(v, 1)], times[(v, nthreads)])]
        fl = [a or b for a, b in zip(flags[(v, 1)], flags[(v, nthreads)])]
        out["speedup"][v] = harness.summary(rs, fl)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=DEFAULT_MODELS)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", action="store_true", help="PyTorch eager too")
    ap.add_argument("--worker", help=argparse.SUPPRESS)          # one model, in a child process
    ap.add_argument("--out", default=str(BENCH / "results" / "scaling.json"))
    a = ap.parse_args(argv)
    if a.worker:
        Path(a.out).write_text(json.dumps(measure(a.worker, a.threads, a.reps, a.peers), indent=1))
        return
    env = harness.thread_env(a.threads)
    results = {}
    for name in a.models.split(","):
        fd, tmp = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = [sys.executable, __file__, "--worker", name, "--threads", str(a.threads),
               "--reps", str(a.reps), "--out", tmp] + (["--peers"] if a.peers else [])
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{name}: failed\n{r.stderr[-2000:]}", flush=True)
            results[name] = {"error": r.stderr[-3000:]}
            continue
        res = results[name] = json.loads(Path(tmp).read_text())
        os.unlink(tmp)
        for key, c in res["cases"].items():
            print(f"{name:7s} {key:10s} {c['median'] * 1e3:9.3f} ms/{res['unit']} "
                  f"(min {c['min'] * 1e3:.3f}, max {c['max'] * 1e3:.3f}; CPU/wall "
                  f"{c['cpu_per_wall']:.2f}; {c['flagged']} busy reps)", flush=True)
        for v, s in res["speedup"].items():
            print(f"{name:7s} {v} speed-up 1 -> {a.threads} threads: {s['median']:.2f}x "
                  f"({s['min']:.2f}-{s['max']:.2f}; {s['n']} reps; load average "
                  f"{res['loadavg'][0]:.1f})", flush=True)
    Path(a.out).parent.mkdir(exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
