"""Compile time (first step with an empty cache) of the RNN, LSTM and TreeLSTM examples of two
checkouts, interleaved. usage: compilebench.py ROOT_A ROOT_B ROUNDS."""
import json, subprocess, sys, statistics, tempfile
CHILD = r'''
import sys, time, json
root = sys.argv[1]; sys.path[:0] = [root, root + "/examples"]
import numpy as np, stage as st
out = {}
t0 = time.perf_counter(); import char_rnn; char_rnn.train(steps=1, verbose=False); out["rnn"] = time.perf_counter() - t0
t0 = time.perf_counter(); import char_lstm; char_lstm.train(steps=1, verbose=False); out["lstm"] = time.perf_counter() - t0
import tree_lstm as T
forest, roots, vocab = T.load_sst()
t0 = time.perf_counter(); T.train(limit=1, verbose=False); out["tree"] = time.perf_counter() - t0
print(json.dumps(out))
'''
a, b, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {a: [], b: []}
for r in range(rounds):
    for root in (a, b):
        with tempfile.TemporaryDirectory() as cache:
            p = subprocess.run([sys.executable, "-c", CHILD, root], capture_output=True, text=True, cwd="/tmp",
                               env={"PATH": "/usr/bin:/bin", "STAGE_NUM_THREADS": "1", "HOME": "/root", "STAGE_CACHE_DIR": cache})
        if p.returncode:
            print(p.stderr[-2000:]); sys.exit(1)
        res[root].append(json.loads(p.stdout.strip().splitlines()[-1])); print(root, res[root][-1], flush=True)
for k in res[a][0]:
    ta = [x[k] for x in res[a]]; tb = [x[k] for x in res[b]]
    ratios = [y / x for x, y in zip(ta, tb)]
    print(f"first step (cold cache) {k}: A median {statistics.median(ta):.2f} s, B median {statistics.median(tb):.2f} s, B/A median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")
