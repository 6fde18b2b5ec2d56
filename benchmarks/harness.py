"""The benchmark harness: models, runners, checks, interleaved timing, and the subprocess workers.

A model driver (bench_charlm.py, bench_treelstm.py, bench_mlp.py (MLP and call overhead), and
bench_cnn.py when it provides it) exposes `harness_models(quick: bool) -> list[Model]`. A `Model`
names its variants (stage and the peers) by a factory each; a factory builds a fresh *runner* from
the model's canonical initial arrays and data (so in-place updates never leak between frameworks):

    runner.step0() -> float         one training step from the initial weights on the first example
    runner.snapshot() -> dict       parameters and optimizer state after it, in stage's layout
    runner.run(work) -> float       one timed repetition (`work = model.work(rep)`: steps, trees...)
    runner.set_threads(n)           optional (stage: OpenBLAS threads of its library)
    runner.warmup(model.warmup_work) optional (e.g. compile every bucket size before timing)

Workers (each a subprocess started by run.py, JSON out):

- `steady`: builds every variant, checks each one's first step (loss, parameters, optimizer state)
  against stage's, then times repetitions for each thread count, interleaving the variants (the
  order rotates every repetition) so that the machine's noise falls on all of them alike;
- `first`: one variant alone in a fresh process: import time, time to first step (stage: staging +
  g++ on a cold or warm cache), and peak RSS (VmHWM) after a few more steps;
- `profile`: where stage's time goes for one model (trace, generate, compile, load, call overhead,
  native step), and `perfrun`, a steady loop for `perf record` to attach to.

Thread counts are set through the environment before any import (OMP/OpenBLAS/MKL; for JAX, whose
thread pool is sized once from the CPUs the process may use and has no flag for it, a one-thread
process is pinned to one CPU: `STAGE_BENCH_PIN`) and at run time for stage and torch.

Every repetition also records the process's CPU time / wall time (~1.0 for one thread: nothing else
of the process runs meanwhile) and how much CPU the rest of the machine used meanwhile (from
/proc/stat); a repetition during which other processes took more than `BUSY_CORES` of a core is
flagged, and medians and ratios leave flagged repetitions out when at least two are not.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os

if os.environ.get("STAGE_BENCH_PIN"):      # before any framework sizes its thread pool
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import resource  # noqa: E402
import statistics
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent
# where stage/ and examples/ come from: this checkout, or a snapshot (run.py --snapshot)
SOURCE_ROOT = Path(os.environ.get("STAGE_BENCH_SOURCE") or BENCH_DIR.parent)
EXAMPLES_DIR = SOURCE_ROOT / "examples"
_PATHS = [str(BENCH_DIR), str(EXAMPLES_DIR)] + \
    ([str(SOURCE_ROOT)] if os.environ.get("STAGE_BENCH_SOURCE") else [])
for _p in reversed(_PATHS):
    if _p not in sys.path:
        sys.path.insert(0, _p)

# XLA has no flag for the size of its CPU thread pool (`--intra_op_parallelism_threads` is not one:
# XLA aborts on it, and without the `--` it is ignored, leaving 18-20 threads): the one-thread
# process is pinned to one CPU instead (STAGE_BENCH_PIN), and Eigen's own threading is off
JAX_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false"
BUSY_CORES = 0.3          # other processes' CPU use (in cores) that flags a repetition

# model name -> driver module
DRIVERS = {"rnn": "bench_charlm", "lstm": "bench_charlm", "tree": "bench_treelstm",
           "cnn": "bench_cnn", "cnn500": "bench_cnn", "mlp": "bench_mlp", "minrnn": "bench_charlm",
           "overhead": "bench_mlp", "gpt": "bench_gpt"}
ALL_MODELS = list(DRIVERS)


@dataclass
class Model:
    name: str
    title: str
    unit: str                              # what one timed unit is: "step", "epoch", "call"
    reps: int                              # timed repetitions per thread count
    variants: Dict[str, Callable[[], Any]]  # name -> factory of a fresh runner; "stage" first
    # fixed work: rep -> Runner.run argument (rep -1: warm-up) and how many units it is; or, with
    # work=None, run(n) runs n units and n is calibrated per variant so a repetition lasts target_s
    work: Optional[Callable[[int], Any]] = None
    units: Optional[Callable[[int], float]] = None
    target_s: float = 0.25
    warmup_units: int = 5
    budget_s: float = 30.0                 # per variant and thread count: stop after 2+ reps
    cooldown_s: float = 0.3                # pause between implementations when threads > 1
    labels: Dict[str, str] = field(default_factory=dict)     # display names
    per: Optional[int] = None              # also report the time per `per` units
    warmup_work: Any = None                # Runner.warmup argument
    profile: Optional[Callable[[], tuple]] = None   # () -> (fn given to st.compile, first args)
    data: Optional[Callable[[], Any]] = None        # reads the dataset (cached): the time to the
                                                    # first step starts when the data is ready
    check: bool = True                     # compare the first step with stage's
    notes: Dict[str, str] = field(default_factory=dict)      # per variant, shown in RESULTS.md


def warm_up(model: Model, runner, count: Optional[int]):
    """The unmeasured run after a pause that brings the cores back to speed (see `measure`): an
    eighth of a calibrated repetition, or a fixed-work model's warm-up work."""
    runner.run(model.work(-1) if model.work is not None else max(1, (count or 8) // 8))


def examples_module(name: str):
    """Import one of examples/*.py (what users run is what is benchmarked)."""
    return importlib.import_module(name)


class DriverMissing(Exception):
    pass


def load_models(name: str, quick: bool) -> Model:
    mod_name = DRIVERS[name]
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise DriverMissing(f"{mod_name}.py cannot be imported: {e}") from None
    if not hasattr(mod, "harness_models"):
        raise DriverMissing(f"{mod_name}.py has no harness_models(quick) (see harness.py)")
    for m in mod.harness_models(quick):
        if m.name == name:
            return m
    raise DriverMissing(f"{mod_name}.harness_models() has no model named {name!r}")


def framework(variant: str) -> str:
    return variant.split("-")[0]


# ---------------------------------------------------------------- environment


def thread_env(n: int, jax_threads: Optional[int] = None) -> Dict[str, str]:
    """Environment for a worker limited to n threads (JAX pinned to one thread when n == 1)."""
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(n)
    env["PYTHONPATH"] = os.pathsep.join(_PATHS + [env.get("PYTHONPATH", "")])
    jt = n if jax_threads is None else jax_threads
    if jt == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + JAX_ONE_THREAD).strip()
        env["STAGE_BENCH_PIN"] = "1"
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def maxrss_mb() -> float:
    """Peak resident memory of this process: VmHWM (its own address space; ru_maxrss would carry
    the parent's size across fork + exec), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def set_threads(runner, variant: str, n: int):
    if hasattr(runner, "set_threads"):
        runner.set_threads(n)
    elif framework(variant) == "torch":
        import torch
        torch.set_num_threads(n)


# ---------------------------------------------------------------- statistics and checks


def summary(xs: List[float], flagged: Optional[List[bool]] = None) -> Dict[str, float]:
    """Median, min, max of xs, leaving out flagged repetitions when at least two are not."""
    flagged = flagged or [False] * len(xs)
    clean = [x for x, f in zip(xs, flagged) if not f]
    use = clean if len(clean) >= 2 else xs
    return {"median": statistics.median(use), "min": min(use), "max": max(use), "n": len(use),
            "flagged": sum(flagged), "flagged_kept": len(clean) < 2 and any(flagged)}


def _machine_busy() -> float:
    """Seconds of CPU time the whole machine has spent busy (all CPUs; steal counts as busy:
    another VM had the CPU)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Meter:
    """Around one repetition: this process's CPU time / wall time, and the CPU time other processes
    used meanwhile (in cores)."""

    def __enter__(self):
        self.t0, self.c0, self.m0 = time.perf_counter(), _own_cpu(), _machine_busy()
        return self

    def __exit__(self, *exc):
        wall = max(time.perf_counter() - self.t0, 1e-9)
        own = _own_cpu() - self.c0
        self.wall = wall
        self.cpu_per_wall = own / wall
        self.others = max(0.0, (_machine_busy() - self.m0 - own) / wall)
        return False


def compare(ref: Dict[str, Any], got: Dict[str, Any]) -> Dict[str, Any]:
    """Worst relative difference (max |a - b| / max |b|) over the arrays of two snapshots."""
    import numpy as np
    worst, key = 0.0, None
    for k, b in ref.items():
        a = np.asarray(got[k], np.float64)
        b = np.asarray(b, np.float64)
        if a.shape != b.shape:
            return {"max_rel": float("inf"), "worst": f"{k} shape {a.shape} vs {b.shape}"}
        d = float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-30) if b.size else 0.0
        if d > worst or key is None:
            worst, key = d, k
    return {"max_rel": worst, "worst": key}


def check(ref_loss, ref_snap, loss, snap, tol, params=True) -> Dict[str, Any]:
    """Loss, parameters and optimizer state (keys starting with "m") against the reference's.

    `params` True compares every parameter; False (or a reason) skips them (an optimizer with
    another eps formula); a float `noise` compares them except the elements whose reference first
    moment ("m_" + name) is at most `noise` x the largest first moment of the model: gradients
    that are zero in exact arithmetic (an attention's key bias) are rounding noise, and Adam's
    first update, about lr x sign(gradient), turns noise into a full step of either sign."""
    state_keys = [k for k in ref_snap if k.startswith("m")]
    param_keys = [k for k in ref_snap if k not in state_keys]
    rl = abs(loss - ref_loss) / max(abs(ref_loss), 1e-30)
    if params is True:
        p = compare({k: ref_snap[k] for k in param_keys}, snap)
    elif isinstance(params, float):
        p = compare_where_gradient(ref_snap, snap, param_keys, params)
    else:
        p = {"max_rel": None, "worst": None, "skipped": params or "skipped"}
    s = compare({k: ref_snap[k] for k in state_keys}, snap) if state_keys else None
    ok = rl <= tol and (p["max_rel"] is None or p["max_rel"] <= tol) and \
        (s is None or s["max_rel"] <= tol)
    return {"loss": loss, "ref_loss": ref_loss, "loss_rel": rl, "params": p, "state": s,
            "tol": tol, "ok": ok}


def compare_where_gradient(ref, got, keys, noise) -> Dict[str, Any]:
    """`compare` over the elements of `keys` whose reference first moment ref["m_" + key] is above
    `noise` x the largest one (every key must have one); how many were left out."""
    import numpy as np
    top = max(float(np.max(np.abs(ref["m_" + k]))) for k in keys)
    kept_ref, kept_got, left = {}, {}, 0
    for k in keys:
        keep = np.abs(np.asarray(ref["m_" + k])) > noise * top
        left += int(keep.size - keep.sum())
        kept_ref[k] = np.asarray(ref[k])[keep]
        kept_got[k] = np.asarray(got[k])[keep] if np.shape(got[k]) == keep.shape else got[k]
    res = compare(kept_ref, kept_got)
    total = sum(np.size(ref[k]) for k in keys)
    res["left_out"] = f"{left} of {total} elements with gradients below {noise:g} x the largest"
    return res


def check_failure(v: str, c: Dict[str, Any]) -> str:
    """The message of a peer whose first step is not stage's (it is then not timed)."""
    p, s = c["params"], c["state"]
    parts = [f"loss {c['loss']:.7g} vs stage's {c['ref_loss']:.7g} (rel. {c['loss_rel']:.1e})"]
    if p["max_rel"] is not None:
        parts.append(f"parameters rel. {p['max_rel']:.1e} ({p['worst']})")
    if s is not None:
        parts.append(f"optimizer state rel. {s['max_rel']:.1e} ({s['worst']})")
    return (f"CheckFailed: {v}'s first step differs from stage's beyond tol {c['tol']:g}: " +
            "; ".join(parts))


TOL = 1e-4


# ---------------------------------------------------------------- workers


def _failure(e: BaseException) -> str:
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    return "".join(tb[-3:])[-1500:]


def steady(model: Model, variants: List[str], threads: List[int]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"model": model.name, "threads": threads, "failed": {}, "checks": {},
                           "first_in_process": {}, "setup": {}, "losses": {},
                           "times": {str(n): {} for n in threads}}
    runners = {}
    ref = None
    for v in variants:
        breaks_before = _graph_breaks_since(None) if "torch" in sys.modules else None
        try:
            t0 = time.perf_counter()
            r = model.variants[v]()
            out["setup"][v] = time.perf_counter() - t0
            t0 = time.perf_counter()
            loss = r.step0()
            out["first_in_process"][v] = time.perf_counter() - t0
            snap = r.snapshot()
        except Exception as e:                       # a peer that cannot run this model
            out["failed"][v] = _failure(e)
            print(f"[{model.name}] {v} failed:\n{out['failed'][v]}", file=sys.stderr, flush=True)
            continue
        runners[v] = r
        out["losses"][v] = loss
        if "compile" in v:
            out.setdefault("dynamo", {})[v] = _graph_breaks_since(breaks_before)
        if v == "stage":
            ref = (loss, snap)
        elif ref is not None and model.check:
            out["checks"][v] = c = check(ref[0], ref[1], loss, snap, TOL,
                                         getattr(r, "check_params", True))
            if not c["ok"]:                  # computes something else: loud, and not timed
                out["failed"][v] = check_failure(v, c)
                print(f"[{model.name}] {out['failed'][v]}", file=sys.stderr, flush=True)
                del runners[v]
    # Every repetition runs each implementation at each thread count, adjacent in time (thread
    # counts interleaved, not one after the other), so stage's own 1 -> n speed-up, like each
    # peer / stage ratio, compares repetitions a moment apart on a machine whose speed drifts.
    # Idle BLAS / OpenMP / Eigen worker threads spin for a while before they sleep (OpenBLAS
    # about 2^28 cycles): when any measurement uses more than one thread, pause before every
    # one, so one runtime's spinning threads do not steal the cores from the next. Before every
    # one, not only the multi-threaded ones: an idle pause itself slows the next second of work
    # on a VM (a one-thread char-RNN step 5% after 0.15 s idle), which made one-core steps look
    # slower at 2 threads than at 1 when only the 2-thread repetitions followed a pause. After
    # the pause, an unmeasured eighth of the repetition brings the cores back to speed: timed
    # from the first step after 0.3 s idle, the MLP step measured 1.50x from 1 to 2 threads,
    # with the warm-up 1.62x (the vCPUs of a KVM guest run slowly for a while after idling,
    # and at 2 threads two of them have idled). A model of fixed work runs its warm-up work
    # (`work(-1)`): 20 TreeLSTM trees took 2.33 ms a tree right after the pause, 1.54 after 10
    # trees of warm-up (1.60 in a long run).
    names = list(runners)
    count = {}

    def pause():
        if max(threads) > 1:
            time.sleep(model.cooldown_s)

    for n in threads:
        for v, r in runners.items():
            pause()
            set_threads(r, v, n)
            if hasattr(r, "warmup"):
                r.warmup(model.warmup_work)
            if model.work is not None:
                r.run(model.work(-1))
                continue
            r.run(model.warmup_units)                      # then calibrate the repetition length
            t0 = time.perf_counter()
            r.run(model.warmup_units)
            est = (time.perf_counter() - t0) / model.warmup_units
            count[(v, n)] = max(3, min(200000, round(model.target_s / max(est, 1e-9))))
    times = {(v, n): [] for v in runners for n in threads}
    cpu = {c: [] for c in times}
    others = {c: [] for c in times}
    spent = {c: 0.0 for c in times}
    for rep in range(model.reps):
        k = rep % len(names)
        for n in (threads if rep % 2 == 0 else threads[::-1]):
            for v in names[k:] + names[:k]:
                c = (v, n)
                if rep >= 2 and spent[c] > model.budget_s:
                    continue                               # a slow peer: fewer repetitions
                work = model.work(rep) if model.work is not None else count[c]
                units = model.units(rep) if model.work is not None else count[c]
                pause()
                set_threads(runners[v], v, n)
                warm_up(model, runners[v], count.get(c))    # back at speed (see above)
                with Meter() as m:
                    runners[v].run(work)
                spent[c] += m.wall
                times[c].append(m.wall / units)
                cpu[c].append(m.cpu_per_wall)
                others[c].append(m.others)
    flags = {c: [o > BUSY_CORES for o in others[c]] for c in times}
    for n in threads:
        out["times"][str(n)] = {v: summary(times[(v, n)], flags[(v, n)]) | {
            "all": times[(v, n)], "units_per_rep": count.get((v, n)),
            "cpu_per_wall": cpu[(v, n)],
            "cpu_per_wall_median": statistics.median(cpu[(v, n)]) if cpu[(v, n)] else None,
            "other_cores": others[(v, n)], "loadavg": os.getloadavg()[0]}
            for v in runners if times[(v, n)]}
        # ratios per repetition (same repetition, adjacent in time; flagged pairs left out when
        # enough are not), then their median
        if "stage" in runners:
            for v in runners:
                out["times"][str(n)][v]["ratio_to_stage"] = _ratios(
                    times[(v, n)], times[("stage", n)], flags[(v, n)], flags[("stage", n)])
            if n != threads[0]:                            # stage's own speed-up, the same way
                out.setdefault("stage_speedup", {})[str(n)] = _ratios(
                    times[("stage", threads[0])], times[("stage", n)],
                    flags[("stage", threads[0])], flags[("stage", n)])
    out["maxrss_mb"] = maxrss_mb()
    return out


def _ratios(a, b, fa, fb):
    """Summary of a[i] / b[i] over repetitions, flagged pairs left out when enough are not."""
    return summary([x / y for x, y in zip(a, b)], [p or q for p, q in zip(fa, fb)])


def _graph_breaks_since(before):
    """Dynamo's graph-break reasons and graph count (minus `before`): did torch.compile compile?"""
    try:
        from torch._dynamo.utils import counters
    except Exception:
        return {}
    now = {"graph_breaks": dict(counters["graph_break"]),
           "unique_graphs": counters["stats"].get("unique_graphs", 0)}
    if before is None:
        return now
    return {"graph_breaks": {k: c - before["graph_breaks"].get(k, 0)
                             for k, c in now["graph_breaks"].items()
                             if c - before["graph_breaks"].get(k, 0)},
            "unique_graphs": now["unique_graphs"] - before.get("unique_graphs", 0)}


IMPORTS = {"stage": "stage", "torch": "torch", "jax": "jax"}


def first(name: str, variant: str, quick: bool) -> Dict[str, Any]:
    """Time to first step of one variant in a fresh process, and its peak memory."""
    rss0 = maxrss_mb()
    t0 = time.perf_counter()
    importlib.import_module(IMPORTS[framework(variant)])      # before the driver imports anything
    t_import = time.perf_counter() - t0
    rss_import = maxrss_mb()
    model = load_models(name, quick)
    if model.data is not None:
        model.data()
    t0 = time.perf_counter()
    r = model.variants[variant]()
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    r.step0()
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    r.run(model.work(-1) if model.work is not None else model.warmup_units)
    t_after = time.perf_counter() - t0
    res = {"model": model.name, "variant": variant, "import_s": t_import, "setup_s": t_setup,
           "first_step_s": t_first, "warmup_s": t_after, "rss_start_mb": rss0,
           "rss_after_import_mb": rss_import, "maxrss_mb": maxrss_mb()}
    if framework(variant) == "stage":
        from stage.codegen import compiler
        res["stage_builds"] = compiler.BUILDS["count"]
    return res


def _median_time(fn, n, reps=5):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        ts.append((time.perf_counter() - t0) / n)
    return statistics.median(ts)


def profile(model: Model, threads: int = 1) -> Dict[str, Any]:
    """Stage's time by phase for one model (run with a fresh STAGE_CACHE_DIR)."""
    t0 = time.perf_counter()
    import stage as st
    from stage.codegen import build as B
    from stage.codegen.compiler import build as compile_source
    from stage.codegen.loader import NativeExecutable
    from stage.program import trace
    t_import = time.perf_counter() - t0
    fn, args = model.profile()
    res = {"model": model.name, "import_s": t_import}
    t0 = time.perf_counter()
    program = trace(fn, args)
    res["trace_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lowered, source = B.generate(program)
    res["generate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    path = compile_source(source)
    res["compile_cold_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    compile_source(source)
    res["compile_warm_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    exe = NativeExecutable(program, source, path, lowered)
    res["load_s"] = time.perf_counter() - t0
    res["ir_lines"] = len(program.ir.splitlines())
    res["cpp_lines"] = len(source.splitlines())
    exe.lib.stage_set_num_threads(threads)
    # the user-facing path: st.compile(fn) (a cache hit now), a no-op with the same arguments
    f = st.compile(fn)
    f(*args)
    noop = st.compile(lambda *a: st.zeros(()))
    noop(*args)
    n_args = len(exe.program.runtime_leaves)
    step_s = _median_time(lambda: f(*args), 50)
    res.update({"n_array_args": n_args, "noop_call_s": _median_time(lambda: noop(*args), 2000),
                "step_s": step_s})
    from stage import pytree
    leaves = pytree.flatten(args)[0]
    last = f.last
    res["raw_call_s"] = _median_time(lambda: last.call(leaves), 50)
    res["native_s"] = max(step_s - res["noop_call_s"], 0.0)
    return res


def perfrun(model: Model, seconds: float):
    """Warm up stage's step, print 'ready', then run it for `seconds` (for perf record -p)."""
    import stage as st
    fn, args = model.profile()
    f = st.compile(fn)
    f(*args)
    f.last.lib.stage_set_num_threads(1)
    for _ in range(3):
        f(*args)
    print("ready", f.library_path, flush=True)
    t_end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < t_end:
        f(*args)
        n += 1
    print("steps", n, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="a benchmark worker (run.py starts these)")
    ap.add_argument("mode", choices=("steady", "first", "profile", "perfrun"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--variants", default="")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    threads = [int(t) for t in a.threads.split(",")]
    if a.mode == "first":
        res = first(a.model, a.variants, a.quick)
        text = json.dumps(res, indent=1, default=float)
        Path(a.out).write_text(text) if a.out else print(text)
        return
    model = load_models(a.model, a.quick)
    if a.quick:
        model.cooldown_s = min(model.cooldown_s, 0.15)
    if a.mode == "steady":
        res = steady(model, [v for v in a.variants.split(",") if v], threads)
    elif a.mode == "profile":
        res = profile(model, threads[0])
    else:
        return perfrun(model, a.seconds)
    text = json.dumps(res, indent=1, default=float)
    if a.out:
        Path(a.out).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
