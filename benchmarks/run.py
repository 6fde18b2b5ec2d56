"""Run every benchmark with one command and write results/results.json, RESULTS.md and a chart.

    python benchmarks/run.py                  # full run (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick          # a short run (about 2 minutes): fewer repetitions
    python benchmarks/run.py --models rnn,lstm --threads 1
    python benchmarks/run.py --snapshot HEAD  # stage/ and examples/ as committed, not the work tree
    python benchmarks/report.py               # regenerate RESULTS.md and the chart from the JSON

Models: rnn, lstm, tree, cnn (batch 100), cnn500 (batch 500), mlp, minrnn, overhead, gpt (the char
GPT of examples/char_gpt.py). Per model, each
in its own subprocess (see harness.py):

1. steady state, stage and the PyTorch variants interleaved, and one thread and all cores
   interleaved within each repetition (stage's own 1 -> n speed-up compares adjacent repetitions);
2. steady state, stage and JAX interleaved, one process per thread count (XLA's thread pool is fixed
   when JAX is imported: the one-thread process is pinned to one CPU);
   when OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE is set, stage alone once more with both unset (the
   kernel OpenBLAS picks by itself), labelled as such;
3. time to first step and peak memory, one process per variant: stage with a fresh (cold) cache and
   again with that (warm) cache, each peer alone;
4. where stage's time goes: trace, generate, g++, load, call overhead, native step; and a `perf`
   profile of the steady step by shared object, when `perf` works.

`--quick` skips torch.compile (tens of seconds to compile each model; `--compile` puts it back),
stage's module variant, the all-cores JAX process, the peers' first-step processes and the profiles.
Ratios are always taken between runs adjacent in time inside one process, and every peer is
compared with stage as measured in the peer's own process. Repetitions during which other processes
used the CPUs are flagged (and left out when enough are not).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import sysinfo  # noqa: E402
from stage.progress import progress  # noqa: E402  (a tqdm bar on a terminal, else plain lines)

RESULTS = BENCH / "results"


def worker(mode, model, variants="", threads="1", quick=False, env=None, timeout=900, extra=()):
    """Run one harness worker; its JSON, or {"error": ...}."""
    fd, out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [sys.executable, str(BENCH / "harness.py"), mode, "--model", model, "--threads", threads,
           "--out", out] + (["--variants", variants] if variants else []) + \
        (["--quick"] if quick else []) + list(extra)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        text = Path(out).read_text() if r.returncode == 0 else ""
        res = json.loads(text) if text else {"error": r.stderr[-3000:] or f"exit {r.returncode}"}
    except subprocess.TimeoutExpired:
        res = {"error": f"timed out after {timeout} s"}
    finally:
        os.unlink(out)
    res["wall_s"] = time.perf_counter() - t0
    res["loadavg"] = [load0, os.getloadavg()[0]]
    if "error" in res:
        print(f"  ! {mode} {model} {variants}: {res['error'].strip().splitlines()[-1:]}", flush=True)
    for v, err in res.get("failed", {}).items():     # could not run, or failed the first-step check
        print(f"  ! {model} {v} not timed: {(err.strip().splitlines() or ['?'])[-1]}", flush=True)
    return res


def perf_profile(model, env, seconds, quick):
    """`perf record` attached to a steady loop of stage's step; time shares by shared object."""
    if shutil.which("perf") is None:
        return {"error": "perf not found"}
    d = tempfile.mkdtemp(prefix="stage_perf_")
    data = os.path.join(d, "perf.data")
    cmd = [sys.executable, str(BENCH / "harness.py"), "perfrun", "--model", model,
           "--seconds", str(seconds + 1.5)] + (["--quick"] if quick else [])
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        if not line or line[0] != "ready":
            return {"error": "perfrun did not start: " + p.stderr.read()[-500:]}
        lib = os.path.basename(line[1])
        rec = subprocess.run(["perf", "record", "-F", "1999", "-p", str(p.pid), "-o", data, "--",
                              "sleep", str(seconds)], capture_output=True, text=True)
        if not os.path.exists(data):
            return {"error": f"perf record (exit {rec.returncode}): " + rec.stderr[-300:]}
        rep = subprocess.run(["perf", "report", "-i", data, "--sort", "dso", "--stdio"],
                             capture_output=True, text=True)
        syms = subprocess.run(["perf", "report", "-i", data, "--sort", "dso,sym", "--stdio"],
                              capture_output=True, text=True)
    finally:
        p.wait(timeout=60)
        shutil.rmtree(d, ignore_errors=True)
    return {"by_dso": _classify(_perf_rows(rep.stdout), lib),
            "top_symbols": [(pct, name.replace(lib, "<stage .so>")) for pct, name in
                            _perf_rows(syms.stdout)[:12]]}


def _perf_rows(text):
    rows = []
    for ln in text.splitlines():
        ln = ln.strip()
        if not ln or ln.startswith("#") or "%" not in ln.split()[0]:
            continue
        pct, name = ln.split(None, 1)
        rows.append((float(pct.rstrip("%")), name.strip()))
    return rows


def _classify(rows, lib):
    groups = {}
    for pct, name in rows:
        if name == lib:
            g = "generated code (stage .so)"
        elif "openblas" in name:
            g = "OpenBLAS"
        elif name.startswith("libm") or "libstdc++" in name or "libgcc" in name:
            g = "libm / libstdc++"
        elif "kernel" in name:
            g = "kernel"
        elif "python" in name:
            g = "Python interpreter"
        elif name.startswith("libc"):
            g = "libc"
        else:
            g = "NumPy / cffi / other"
        groups[g] = groups.get(g, 0.0) + pct
    return groups


def plan(model, quick, compile_):
    variants = [v for v in model.variants if v != "stage"]
    torch_v = [v for v in variants if harness.framework(v) in ("stage", "torch")
               and (compile_ or "compile" not in v) and not (quick and v == "stage-module")]
    jax_v = [v for v in variants if harness.framework(v) == "jax"]
    return torch_v, jax_v


def run_model(name, a, ncores, threads):
    try:
        model = harness.load_models(name, a.quick)
    except harness.DriverMissing as e:
        print(f"{name}: skipped ({e})", flush=True)
        return {"skipped": str(e)}
    compile_ = a.compile if a.compile is not None else not a.quick
    torch_v, jax_v = plan(model, a.quick, compile_)
    res = {"title": model.title, "unit": model.unit, "per": model.per, "labels": model.labels,
           "notes": model.notes, "variants": ["stage"] + torch_v + jax_v}
    tstr = ",".join(map(str, threads))
    env_all = harness.thread_env(ncores)
    env_all["STAGE_CACHE_DIR"] = a.cache
    print(f"{name}: steady state, stage + {', '.join(torch_v)} (threads {tstr})", flush=True)
    res["steady"] = worker("steady", name, ",".join(["stage"] + torch_v), tstr, a.quick, env_all,
                           timeout=1800)
    if any(os.environ.get(k) for k in sysinfo.BLAS_VARS):
        # the machine sets OpenBLAS's kernel or cache size: stage again with both unset (the
        # kernel OpenBLAS would pick here by itself), in a child process of its own
        print(f"{name}: steady state, stage with {' and '.join(sysinfo.BLAS_VARS)} unset", flush=True)
        res["stage_blas_env_unset"] = worker("steady", name, "stage", tstr, a.quick,
                                             sysinfo.blas_env_unset(env_all))
    res["jax"] = {}
    for n in ([1] if a.quick else threads) if jax_v else []:
        env = harness.thread_env(n)
        env["STAGE_CACHE_DIR"] = a.cache
        print(f"{name}: steady state, stage + jax, {n} thread(s)", flush=True)
        res["jax"][str(n)] = worker("steady", name, ",".join(["stage"] + jax_v), str(n), a.quick,
                                    env)
    print(f"{name}: time to first step and memory", flush=True)
    cold = tempfile.mkdtemp(prefix="stage_cold_")
    env = dict(env_all, STAGE_CACHE_DIR=cold)
    res["first"] = {"stage cold": worker("first", name, "stage", quick=a.quick, env=env),
                    "stage warm": worker("first", name, "stage", quick=a.quick, env=env)}
    if not a.quick:
        for v in torch_v + jax_v:
            if v == "torch-compile-fused":
                continue
            env = env_all
            if "compile" in v and a.cold_compile:           # an empty inductor cache
                env = dict(env_all, TORCHINDUCTOR_CACHE_DIR=tempfile.mkdtemp(prefix="inductor_"))
            res["first"][v] = worker("first", name, v, env=env)
            if "compile" in v:
                res["first"][v]["inductor_cache"] = "cold" if a.cold_compile else "warm"
                if a.cold_compile:
                    shutil.rmtree(env["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)
    if not a.quick:
        print(f"{name}: where stage's time goes", flush=True)
        prof = tempfile.mkdtemp(prefix="stage_prof_")
        res["profile"] = worker("profile", name, env=dict(harness.thread_env(1),
                                                          STAGE_CACHE_DIR=prof))
        if not a.no_perf:
            res["perf"] = perf_profile(name, dict(harness.thread_env(1), STAGE_CACHE_DIR=prof),
                                       3.0, a.quick)
        shutil.rmtree(prof, ignore_errors=True)
    shutil.rmtree(cold, ignore_errors=True)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run (about 2 minutes)")
    ap.add_argument("--models", default=",".join(harness.ALL_MODELS),
                    help=f"comma-separated, from {','.join(harness.ALL_MODELS)}")
    ap.add_argument("--threads", default=None, help="thread counts (default: 1,<all cores>)")
    ap.add_argument("--compile", dest="compile", action="store_true", default=None,
                    help="include torch.compile (default: only in the full run)")
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--no-perf", action="store_true", help="skip the perf profiles")
    ap.add_argument("--cold-compile", action="store_true",
                    help="time torch.compile's first step with an empty inductor cache (slow: "
                         "40-110 s per recurrent model on 2 cores)")
    ap.add_argument("--snapshot", metavar="REV", default=None,
                    help="benchmark stage/ and examples/ as of a git revision (git archive into a "
                         "temporary directory), so edits in progress in the work tree stay out")
    ap.add_argument("--out", default=str(RESULTS / "results.json"))
    ap.add_argument("--no-report", action="store_true")
    a = ap.parse_args(argv)
    ncores = os.cpu_count() or 1
    threads = [int(t) for t in a.threads.split(",")] if a.threads else sorted({1, ncores})
    models = [m for m in a.models.split(",") if m]
    unknown = set(models) - set(harness.ALL_MODELS)
    if unknown:
        ap.error(f"unknown models {sorted(unknown)}; choose from {harness.ALL_MODELS}")
    a.cache = tempfile.mkdtemp(prefix="stage_bench_cache_")
    snap = None
    if a.snapshot:
        snap = tempfile.mkdtemp(prefix="stage_bench_src_")
        tops = subprocess.run(["git", "ls-tree", "--name-only", a.snapshot], cwd=BENCH.parent,
                              capture_output=True, text=True, check=True).stdout.split()
        parts = [p for p in ("stage", "examples", "runtime_cpp") if p in tops]  # runtime_cpp/: at
        archive = subprocess.run(["git", "archive", a.snapshot, *parts],         # the top since 0.1
                                 cwd=BENCH.parent, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", snap], input=archive, check=True)
        os.environ["STAGE_BENCH_SOURCE"] = snap          # inherited by every worker
        importlib.reload(harness)
    t0 = time.perf_counter()
    results = {"meta": sysinfo.collect(a.snapshot), "mode": "quick" if a.quick else "full",
               "command": " ".join(["python", "benchmarks/run.py"] + (argv or sys.argv[1:])),
               "threads": threads, "models": {}}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in progress(models, desc="models"):
        t = time.perf_counter()
        results["models"][name] = run_model(name, a, ncores, threads)
        results["models"][name]["wall_s"] = time.perf_counter() - t
        results["wall_s"] = time.perf_counter() - t0
        out.write_text(json.dumps(results, indent=1, default=float))
    shutil.rmtree(a.cache, ignore_errors=True)
    if snap:
        shutil.rmtree(snap, ignore_errors=True)
    print(f"done in {time.perf_counter() - t0:.0f} s: {out}", flush=True)
    if not a.no_report:
        import report
        report.main([str(out)])


if __name__ == "__main__":
    main()
