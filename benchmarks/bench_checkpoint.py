"""Long loops under grad in bounded memory: checkpointed reverse mode vs plain CPS and the peers.

The gradient (with respect to the weights) of a small RNN run for N steps,

    h_{t+1} = tanh(x_{t mod 64} @ U + h_t @ W + b),  loss = sum_t mean(h_{t+1}^2),

batch 4, input 16, hidden 32, float32, one thread, for N = 10^3 ... 10^7:

- stage, plain CPS (`st.fori_loop`: the native stack is the tape, one frame per iteration);
- stage, `checkpoints=k` for k = 10, 100 and sqrt(N) (Griewank's binomial schedule);
- stage, `st.while_loop(..., checkpoints=sqrt(N))` (the online schedule, trip count unknown);
- PyTorch: a Python loop, plain autograd and `torch.utils.checkpoint` over sqrt(N) segments;
- JAX: `lax.scan` under `jax.grad`, plain and with `jax.checkpoint` on sqrt(N) segments (a scan of
  scans; the trip count must be static).

Every measurement runs in a fresh child process (its peak resident memory, VmHWM, is the number
reported; the baseline after imports and compilation is reported too) and times the gradient call
(median of the repetitions in that process, compilation excluded). Variants are interleaved: each
round visits every (N, variant) in a rotated order, so the noise of the shared machine falls on all
of them alike. Peers and the plain variants stop at the N where they exceed the time or memory budget
(see --max-plain, --max-peer).

    python benchmarks/bench_checkpoint.py                 # the full table (an hour or more)
    python benchmarks/bench_checkpoint.py --rounds 1 --max-peer 1e4 --max-plain-peer 1e4
                                                          # N to 10^7, peers to 10^4 (~15 min)
    python benchmarks/bench_checkpoint.py --quick         # N <= 10^5, one round
    python benchmarks/bench_checkpoint.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
B, D, H, T = 4, 16, 32, 64                  # batch, input, hidden, distinct inputs (x_{t mod 64})


def vmhwm_mb() -> float:
    with open("/proc/self/status") as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1]) / 1024.0
    return float("nan")


def data():
    import numpy as np
    rng = np.random.default_rng(0)
    return (rng.normal(size=(H, H)).astype(np.float32) * 0.9 / math.sqrt(H),
            rng.normal(size=(D, H)).astype(np.float32) / math.sqrt(D),
            np.zeros(H, np.float32), rng.normal(size=(T, B, D)).astype(np.float32))


# ------------------------------------------------------------------------------------------ workers

def stage_grad(kind: str, k):
    import stage as st

    def cell(W, U, b, xs, t, h):
        return st.tanh(xs[t % T] @ U + h @ W + b)

    if kind == "while":
        def loss(W, U, b, xs, n):
            def body(c):
                t, h, acc = c
                h = cell(W, U, b, xs, t, h)
                return t + 1, h, acc + st.mean(h * h)
            return st.while_loop(lambda c: c[0] < n, body, (0, st.zeros((B, H)), 0.0),
                                 checkpoints=k)[2]
    else:
        def loss(W, U, b, xs, n):
            def body(t, c):
                h, acc = c
                h = cell(W, U, b, xs, t, h)
                return h, acc + st.mean(h * h)
            return st.fori_loop(0, n, body, (st.zeros((B, H)), 0.0), checkpoints=k)[1]
    return st.compile(st.value_and_grad(loss, argnums=(0, 1, 2)))


def stage_forward():
    import stage as st

    def run(W, U, b, xs, n):
        def body(t, c):
            h, acc = c
            h = st.tanh(xs[t % T] @ U + h @ W + b)
            return h, acc + st.mean(h * h)
        return st.fori_loop(0, n, body, (st.zeros((B, H)), 0.0))[1]
    return st.compile(run)


def torch_grad(n, k):
    import torch
    import torch.utils.checkpoint as tc
    torch.set_num_threads(1)
    W, U, b, xs = [torch.tensor(a) for a in data()]
    W.requires_grad_(), U.requires_grad_(), b.requires_grad_()

    def segment(t0, t1, h):
        acc = h.new_zeros(())
        for t in range(t0, t1):
            h = torch.tanh(xs[t % T] @ U + h @ W + b)
            acc = acc + (h * h).mean()
        return h, acc

    def run():
        W.grad = U.grad = b.grad = None
        h, total = torch.zeros(B, H), torch.zeros(())
        if k is None:
            h, total = segment(0, n, h)
        else:
            step = -(-n // k)
            for t0 in range(0, n, step):
                h, acc = tc.checkpoint(segment, t0, min(n, t0 + step), h, use_reentrant=False)
                total = total + acc
        total.backward()
        return float(total), W.grad.numpy()
    return run


def jax_grad(n, k):
    import jax
    import jax.numpy as jnp
    W, U, b, xs = [jnp.asarray(a) for a in data()]

    def step(p, c, t):
        W, U, b = p
        h, acc = c
        h = jnp.tanh(xs[t % T] @ U + h @ W + b)
        return (h, acc + jnp.mean(h * h)), None

    def loss(p):
        c0 = (jnp.zeros((B, H), jnp.float32), jnp.float32(0.0))
        if k is None:
            c, _ = jax.lax.scan(lambda c, t: step(p, c, t), c0, jnp.arange(n))
            return c[1]
        seg = -(-n // k)                   # k segments of `seg` steps (the last ones masked off)

        @jax.checkpoint
        def segment(c, s):
            def inner(c, t):
                new, _ = step(p, c, t)
                keep = t < n
                return jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), new, c), None
            c, _ = jax.lax.scan(inner, c, s * seg + jnp.arange(seg))
            return c, None
        c, _ = jax.lax.scan(segment, c0, jnp.arange(k))
        return c[1]
    g = jax.jit(jax.value_and_grad(loss))

    def run():
        v, (dW, _, _) = g((W, U, b))
        return float(v), jax.device_get(dW)
    run()                                  # compile
    return run


def worker(spec):
    import numpy as np
    impl, n, k, reps = spec["impl"], spec["n"], spec["k"], spec["reps"]
    if impl.startswith("stage"):
        args = data()
        if impl == "stage-forward":
            f = stage_forward()
            f(*args, np.int64(1))
            call = lambda: (float(f(*args, np.int64(n))), None)       # noqa: E731
        else:
            f = stage_grad("while" if impl == "stage-while" else "fori", k)
            f(*args, np.int64(1))              # compile, warm the arena
            def call():
                v, (dW, _, _) = f(*args, np.int64(n))
                return float(v), dW
    elif impl == "torch":
        call = torch_grad(n, k)
    else:
        call = jax_grad(n, k)
    base = vmhwm_mb()
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
    res = {"times": times, "peak_mb": vmhwm_mb(), "base_mb": base, "loss": out[0]}
    if out[1] is not None:
        res["dW_sum"] = float(np.sum(out[1]))
    return res


# ------------------------------------------------------------------------------------------ driver

def run_child(spec, timeout):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
               JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    try:
        r = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail[:200]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def variants(n, a):
    s = max(1, math.isqrt(n))
    out = []
    if n <= a.max_plain:
        out.append(("stage plain", "stage", None))
    for k in (10, 100, s):
        if ("stage", k) not in [(i, kk) for _, i, kk in out]:
            out.append((f"stage k={k}" + (" (sqrt N)" if k == s else ""), "stage", k))
    out.append((f"stage while k={s}", "stage-while", s))
    out.append(("stage forward only", "stage-forward", None))
    if not a.no_peers and n <= a.max_peer:
        if n <= a.max_plain_peer:
            out.append(("torch plain", "torch", None))
            out.append(("jax plain", "jax", None))
        out.append((f"torch checkpoint k={s}", "torch", s))
        out.append((f"jax checkpoint k={s}", "jax", s))
    return out


def theory(n, k):
    sys.path.insert(0, str(ROOT))
    from stage.ir.ops import checkpoint as C
    return (n + C.reversal_cost(n, k)) / n, (n + C.online_cost(n, k)) / n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--worker")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--ns", default=None, help="comma-separated N (default 1e3,1e4,1e5,1e6,1e7)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (1 with --quick)")
    p.add_argument("--max-plain", type=float, default=1e6,
                   help="largest N for plain CPS (memory grows ~linearly; 1e7 exceeds the default "
                        "1 GiB native stack: RecursionError)")
    p.add_argument("--max-peer", type=float, default=1e5, help="largest N for PyTorch and JAX")
    p.add_argument("--max-plain-peer", type=float, default=1e5)
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--json", default=str(HERE / "results" / "checkpoint.json"))
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    ns = [int(float(x)) for x in a.ns.split(",")] if a.ns else \
        ([10**3, 10**4, 10**5] if a.quick else [10**3, 10**4, 10**5, 10**6, 10**7])
    rounds = 1 if a.quick else a.rounds
    jobs = [(n, v) for n in ns for v in variants(n, a)]
    results = {f"{n}|{v[0]}": [] for n, v in jobs}
    t_start = time.time()
    for r in range(rounds):
        order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]      # rotate: interleaved rounds
        for n, (name, impl, k) in order:
            reps = 1 if n >= 10**6 else 3 if n >= 10**5 else 5
            res = run_child({"impl": impl, "n": n, "k": k, "reps": reps}, timeout=1800)
            results[f"{n}|{name}"].append(res)
            msg = res.get("error") or f"{min(res['times']):.4g} s, peak {res['peak_mb']:.0f} MB"
            print(f"[{time.time() - t_start:6.0f} s] round {r + 1} N={n:>8} {name:28s} {msg}",
                  flush=True)
    out = {"ns": ns, "rounds": rounds, "load": os.getloadavg(), "rows": []}
    for n in ns:
        plain = fwd = None
        for name, impl, k in variants(n, a):
            if impl == "stage-forward":
                rs = [x for x in results[f"{n}|{name}"] if "error" not in x]
                if rs:
                    import statistics
                    fwd = statistics.median(t for x in rs for t in x["times"])
        for name, impl, k in variants(n, a):
            rs = [x for x in results[f"{n}|{name}"] if "error" not in x]
            row = {"n": n, "variant": name, "k": k}
            if not rs:
                row["error"] = results[f"{n}|{name}"][0].get("error")
            else:
                import statistics
                row["time_s"] = statistics.median(t for x in rs for t in x["times"])
                row["peak_mb"] = max(x["peak_mb"] for x in rs)
                row["base_mb"] = min(x["base_mb"] for x in rs)
                row["loss"] = rs[0]["loss"]
                row["dW_sum"] = rs[0].get("dW_sum")
                if name == "stage plain":
                    plain = row["time_s"]
                if plain and impl.startswith("stage") and impl != "stage-forward":
                    row["x_plain"] = row["time_s"] / plain
            if impl == "stage" and k:
                row["evals_per_step"] = theory(n, k)[0]
            if impl == "stage-while":
                row["evals_per_step"] = theory(n, k)[1]
            if impl.startswith("stage") and fwd and "time_s" in row:
                # the gradient's time in forward sweeps of the whole loop: theory says about
                # evals_per_step + the backward sweep (plain: 1 + backward)
                row["x_forward"] = row["time_s"] / fwd
            if "evals_per_step" in row and plain and fwd and "time_s" in row:
                # the recomputation's cost in forward sweeps of the whole loop: theory says
                # evals_per_step - 1 (each iteration's extra forward runs); less where the plain
                # gradient pays for its tape's memory (page faults, cache misses)
                row["extra_forward_sweeps"] = (row["time_s"] - plain) / fwd
            out["rows"].append(row)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=1))
    print(f"\n{'N':>9} {'variant':28s} {'time':>10} {'x plain':>8} {'evals/step':>10} "
          f"{'x fwd':>6} {'extra fwd':>9} {'peak MB':>8} {'base MB':>8}  loss / sum(dW)")
    for row in out["rows"]:
        if "error" in row:
            print(f"{row['n']:>9} {row['variant']:28s} {row['error']}")
            continue
        xp = f"{row['x_plain']:.2f}" if "x_plain" in row else ""
        ev = f"{row['evals_per_step']:.2f}" if "evals_per_step" in row else ""
        ds = f"{row['dW_sum']:.6g}" if row.get("dW_sum") is not None else ""
        ex = f"{row['extra_forward_sweeps']:.2f}" if "extra_forward_sweeps" in row else ""
        xf = f"{row['x_forward']:.1f}" if "x_forward" in row else ""
        print(f"{row['n']:>9} {row['variant']:28s} {row['time_s']:10.4g} {xp:>8} {ev:>10} "
              f"{xf:>6} {ex:>9} {row['peak_mb']:8.0f} {row['base_mb']:8.0f}  "
              f"{row['loss']:.6g} {ds}")
    print(f"\nload average at the end: {out['load']}; JSON: {a.json}")


if __name__ == "__main__":
    main()
