"""The on-disk cache: concurrent processes building the same function produce one library."""
import json
import os
import subprocess
import sys
import uuid

import numpy as np

import stage as st
from stage.codegen import compiler

WORKER = r"""
import json, sys, numpy as np, stage as st
from stage.codegen import compiler
c = float(sys.argv[1])
f = st.compile(lambda x: st.tanh(x * c) + c)
y = f(np.ones(4, np.float32))
print(json.dumps({"builds": compiler.BUILDS["count"], "y": float(y[0]), "path": f.library_path}))
"""


def test_eight_processes_one_build(tmp_path):
    env = dict(os.environ, STAGE_CACHE_DIR=str(tmp_path))
    c = str(1.0 + (uuid.uuid4().int % 1000) / 1000)          # a function never built before
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, c], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["builds"] for r in results) == 1
    assert len({r["path"] for r in results}) == 1
    assert all(abs(r["y"] - (np.tanh(float(c)) + float(c))) < 1e-5 for r in results)
    sos = list(tmp_path.rglob("*.so"))
    assert len(sos) == 1 and not list(tmp_path.rglob("*.tmp"))


def test_cache_hit_does_not_rebuild(tmp_path, monkeypatch):
    monkeypatch.setenv("STAGE_CACHE_DIR", str(tmp_path))
    before = compiler.BUILDS["count"]
    st.compile(lambda x: x * 3 + 1)(np.ones(2, np.float32))
    st.compile(lambda x: x * 3 + 1)(np.ones(2, np.float32))      # new Compiled, same source
    assert compiler.BUILDS["count"] == before + 1
