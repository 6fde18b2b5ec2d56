"""Before/after of issue 9: the paper's examples' training loops from two checkouts, interleaved.
usage: stepbench.py ROOT_A ROOT_B ROUNDS  -- prints per-round seconds and the median ratio B/A."""
import json, subprocess, sys, statistics
CHILD = r'''
import sys, time, json, io, contextlib
root = sys.argv[1]; sys.path[:0] = [root, root + "/examples"]
import numpy as np, stage as st
assert st.__file__.startswith(root), st.__file__
out = {}
import char_rnn, char_lstm, tree_lstm
for name, run in (("rnn 500 steps", lambda: char_rnn.train(steps=500, verbose=False)["seconds"]),
                  ("lstm 500 steps", lambda: char_lstm.train(steps=500, verbose=False)["seconds"]),
                  ("tree 1000 trees", lambda: (lambda t0: (tree_lstm.train(limit=1000, verbose=False), time.perf_counter() - t0)[1])(time.perf_counter()))):
    run()                                   # compile (or load from the cache), warm up
    out[name] = run()
print(json.dumps(out))
'''
a, b, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {a: [], b: []}
for r in range(rounds):
    for root in (a, b):
        p = subprocess.run([sys.executable, "-c", CHILD, root], capture_output=True, text=True, cwd="/tmp",
                           env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "STAGE_NUM_THREADS": "1",
                                "HOME": "/root"})
        if p.returncode:
            print(p.stderr[-2000:]); sys.exit(1)
        res[root].append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(root, res[root][-1], flush=True)
for k in res[a][0]:
    ta = [x[k] for x in res[a]]; tb = [x[k] for x in res[b]]
    ratios = [y / x for x, y in zip(ta, tb)]
    print(f"{k}: A median {statistics.median(ta):.3f} s, B median {statistics.median(tb):.3f} s, "
          f"B/A median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
