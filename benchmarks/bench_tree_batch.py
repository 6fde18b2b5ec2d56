"""Many small examples at once: the TreeLSTM on minibatches of 25 SST trees, every tree's forward and
backward on its own thread of one native call (`st.parallel_map`, examples/tree_lstm.py's
`batch_train_step`), against the batch-1 step (`train_step`, one call per tree).

Per-tree time of: the batch-1 step at 1 thread, and the 25-tree step at 1 and 2 threads (a
different training algorithm -- one Adagrad update per 25 trees -- so only the time is compared).
The three are interleaved over repetitions of the same 100 trees (4 minibatches); each repetition
also records CPU time / wall time and the CPU other processes used meanwhile (flagged above 0.3 of
a core, left out when enough repetitions are not). Writes results/tree_batch.json.

    python benchmarks/bench_tree_batch.py [--reps 7] [--batch 25]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import BUSY_CORES, Meter, examples_module, summary  # noqa: E402
from bench_treelstm import sst  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--trees", type=int, default=100)
    a = ap.parse_args(argv)
    import numpy as np
    import stage as st
    tl = examples_module("tree_lstm")
    forest, roots, _, E, P0, order, _ = sst()
    ids = roots[order[:a.trees]]
    batches = [np.ascontiguousarray(ids[k:k + a.batch]) for k in range(0, len(ids), a.batch)]
    lr = np.float32(0.05)

    def fresh():
        return {k: v.copy() for k, v in P0.items()}, {k: np.zeros_like(v) for k, v in P0.items()}
    P1, M1 = fresh()
    PB, MB = fresh()
    one = st.compile(tl.train_step)
    batch = st.compile(tl.batch_train_step)
    one(P1, M1, forest, E, ids[0], lr)
    batch(PB, MB, forest, E, batches[0], lr)

    def run_one():
        for r in ids:
            one(P1, M1, forest, E, r, lr)

    def run_batch():
        for b in batches:
            batch(PB, MB, forest, E, b, lr)
    cases = {"batch-1 step, 1 thread": (run_one, 1),
             f"{a.batch}-tree step, 1 thread": (run_batch, 1),
             f"{a.batch}-tree step, 2 threads": (run_batch, 2)}
    times = {c: [] for c in cases}
    cpu = {c: [] for c in cases}
    others = {c: [] for c in cases}
    names = list(cases)
    for rep in range(a.reps + 1):
        k = rep % len(names)
        for c in names[k:] + names[:k]:
            fn, n = cases[c]
            st.set_num_threads(n)
            with Meter() as m:
                fn()
            if rep:                                  # the first round warms up
                times[c].append(m.wall / len(ids))
                cpu[c].append(m.cpu_per_wall)
                others[c].append(m.others)
    res = {"trees": len(ids), "batch": a.batch, "loadavg": os.getloadavg(),
           "cases": {c: summary(times[c], [o > BUSY_CORES for o in others[c]]) |
                     {"all": times[c], "cpu_per_wall": statistics.median(cpu[c]),
                      "other_cores": others[c]} for c in cases}}
    base = res["cases"][names[0]]["median"]
    print(f"TreeLSTM, {len(ids)} SST trees, per tree (median of {a.reps} repetitions; load "
          f"average {os.getloadavg()[0]:.2f}):")
    for c, r in res["cases"].items():
        print(f"  {c:28s} {r['median'] * 1e3:7.3f} ms  ({base / r['median']:.2f}x the batch-1 step;"
              f" CPU/wall {r['cpu_per_wall']:.2f}; {r['flagged']} busy repetitions)")
    out = BENCH / "results" / "tree_batch.json"
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
