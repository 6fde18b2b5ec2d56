"""stage's thread pool against OpenMP (libgomp) as the engine of stage's parallel loops.

Builds benchmarks/parallel_dispatch.cpp twice -- with the pool (runtime_cpp/stage/pool_impl.h) and
with `-fopenmp -DSTAGE_PARALLEL_OPENMP` (the same kernels, `omp parallel for` instead of the pool)
-- and runs the two alternately: a fused elementwise loop of 4K to 1M floats, ten 32K-element loops
back to back, the CNN's convolutions forward and backward at batch 100 and 500, each at 1 and 2
threads; and the CPU time idle threads burn in the 100 ms after a region. Microseconds per call,
the median over repetitions, then the median over rounds. Writes results/parallel_dispatch.json.

    python benchmarks/parallel_dispatch.py [--rounds 3] [--reps 15]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from stage import openblas  # noqa: E402
from stage.codegen.compiler import RUNTIME_DIR  # noqa: E402


def build(d: Path, openmp: bool) -> Path:
    out = d / ("omp" if openmp else "pool")
    blas_dir, blas = openblas.library()
    cmd = ["g++", "-O3", "-march=native", "-std=c++17", "-fopenmp-simd", "-fno-math-errno",
           "-fno-trapping-math", f"-I{RUNTIME_DIR}", str(BENCH / "parallel_dispatch.cpp"), "-o",
           str(out), f"-L{blas_dir}", f"-l{blas}", f"-Wl,-rpath,{blas_dir}", "-lpthread"]
    if openmp:
        cmd[1:1] = ["-fopenmp", "-DSTAGE_PARALLEL_OPENMP"]
    subprocess.run(cmd, check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=15)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        exe = {"pool": build(Path(d), False), "openmp": build(Path(d), True)}
        runs = {k: [] for k in exe}
        loads = []
        for _ in range(a.rounds):
            for k, path in exe.items():
                loads.append(os.getloadavg()[0])
                r = subprocess.run([str(path), str(a.reps)], capture_output=True, text=True,
                                   check=True, env=dict(os.environ, OMP_PROC_BIND="false"))
                runs[k].append(json.loads(r.stdout))
    keys = list(runs["pool"][0])
    res = {k: {key: statistics.median(r[key] for r in runs[k]) for key in keys} for k in runs}
    res["loadavg"] = [min(loads), max(loads)]
    print(f"load average during the runs: {min(loads):.2f}-{max(loads):.2f}")
    print(f"{'case':34s} {'pool':>10s} {'OpenMP':>10s}")
    for key in keys:
        print(f"{key:34s} {res['pool'][key]:10.1f} {res['openmp'][key]:10.1f}")
    out = BENCH / "results" / "parallel_dispatch.json"
    out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
