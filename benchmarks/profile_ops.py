"""Where stage's time goes, per model: staging, C++ generation, compilation, call overhead, and the
native time of each op kind (a profiling build: `st.compile(fn, profile=True)`), one BLAS thread.

    python benchmarks/profile_ops.py [--steps 200] [--out benchmarks/results/profile.md]

Prints a Markdown section (and writes it to --out) that RESULTS.md includes.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import stage as st                                          # noqa: E402
from stage import pytree                                    # noqa: E402
from stage.codegen import compiler                          # noqa: E402
from stage.codegen.build import generate                    # noqa: E402
from stage.program import trace                             # noqa: E402


def rnn_case(kind):
    mod = __import__("char_lstm" if kind == "lstm" else "char_rnn")
    params = mod.init_params(0)
    memory = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(0)
    xs, ys = rng.integers(0, 26, (20, 20)), rng.integers(0, 26, (20, 20))
    h = np.zeros((20, 50), np.float32)
    state = (h, h) if kind == "lstm" else (h,)
    return mod.train_step, (params, memory, xs, ys, *state, np.int64(20), np.float32(0.1)), None


def tree_case():
    import tree_lstm as m
    from stage.trees import load_sst
    forest, roots, vocab = load_sst()
    P = m.init_params(0)
    mem = {k: np.zeros_like(v) for k, v in P.items()}
    E = m.embeddings(len(vocab))
    args = (P, mem, forest, E, roots[0], np.float32(0.05))

    def vary(i, a):
        return a[:4] + (roots[i % len(roots)],) + a[5:]
    return m.train_step, args, vary


def cnn_case():
    import bench_cnn as b
    from stage.datasets import load_mnist_5k
    X, y = load_mnist_5k()
    model = b.stage_model()
    step = st.train_step(lambda x, t: st.nn.cross_entropy(model(x), t), model,
                         st.optim.SGD(lr=0.01, momentum=0.5), profile=True)
    return step, (X[:100], y[:100]), None


def mlp_case():
    import mlp_digits as m
    from stage.datasets import load_mnist_5k
    X, y = load_mnist_5k()
    params = m.init_params(0, (784, 128, 10))
    return m.sgd_step, (params, X[:100].reshape(100, -1), y[:100], np.float32(0.1)), None


def gpt_case():
    import bench_gpt as b
    vocab, init, data = b.setup(1)
    r = b.StageGPT(vocab, init, data)
    step = st.train_step(lambda x, y: r.model.loss(x, y), r.model, r.opt, profile=True)
    return step, data[0], None


CASES = {"rnn": lambda: rnn_case("rnn"), "lstm": lambda: rnn_case("lstm"), "tree": tree_case,
         "cnn": cnn_case, "mlp": mlp_case, "gpt": gpt_case}


def phases(fn, args):
    """Staging (trace + AD), generating C++ (lowering + template), compiling (fresh cache)."""
    t0 = time.perf_counter()
    program = trace(fn, args)
    t1 = time.perf_counter()
    _, source = generate(program)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        old = os.environ.get("STAGE_CACHE_DIR")
        os.environ["STAGE_CACHE_DIR"] = d
        try:
            t3 = time.perf_counter()
            compiler.build(source)
            t4 = time.perf_counter()
        finally:
            if old is None:
                del os.environ["STAGE_CACHE_DIR"]
            else:
                os.environ["STAGE_CACHE_DIR"] = old
    return {"staging": t1 - t0, "generate": t2 - t1, "compile": t4 - t3,
            "lines": source.count("\n")}


def profile(name, steps):
    fn, args, vary = CASES[name]()
    st.set_num_threads(1)
    if hasattr(fn, "compiled"):                         # an st.train_step (profiling already on)
        step, run = fn, (lambda a: fn(*a))
        ph = phases(fn.compiled.fn, fn._probe_args(*args)) if hasattr(fn, "_probe_args") else None
    else:
        ph = phases(fn, args)
        step = st.compile(fn, profile=True)
        run = (lambda a: step(*a))
    run(args)
    compiled = step.compiled if hasattr(step, "compiled") else step
    compiled.profile()                                   # reset after the first call
    t = time.perf_counter()
    for i in range(steps):
        run(vary(i, args) if vary else args)
    total = (time.perf_counter() - t) / steps
    prof = compiled.profile()
    native = sum(s for s, _ in prof.values()) / steps
    exe = compiled.last
    leaves = pytree.flatten(args)[0] if not hasattr(fn, "compiled") else None
    overhead = None
    if leaves is not None:                              # Python side of a call, native work excluded
        t = time.perf_counter()
        for _ in range(200):
            exe.matches(leaves)
            pytree.match_leaves(exe.program.in_td, args)
        overhead = (time.perf_counter() - t) / 200
    return ph, total, native, overhead, prof, steps


def markdown(results):
    lines = ["## Where stage's time goes", "",
             "From `python benchmarks/profile_ops.py` (one BLAS thread): time to stage (trace and "
             "differentiate), generate C++ and compile each model's training step, then the "
             "native time of each op kind measured by a profiling build (`st.compile(fn, "
             "profile=True)`; a clock read around each op, forward and backward counted apart; "
             "the profiling build is a little slower than the plain one). *Other* is the rest of "
             "a step: calls, loops' control flow, frames, Python.", ""]
    for name, (ph, total, native, overhead, prof, steps) in results.items():
        head = f"### {name}: {1e3 * total:.3f} ms per step"
        if ph:
            head += (f" — staging {1e3 * ph['staging']:.0f} ms, C++ generation "
                     f"{1e3 * ph['generate']:.0f} ms ({ph['lines']} lines), compile "
                     f"{ph['compile']:.2f} s")
        lines += [head, "", "| op kind | µs per step | calls per step | share of step |",
                  "|---|---|---|---|"]
        for op, (sec, calls) in list(prof.items())[:12]:
            lines.append(f"| {op} | {1e6 * sec / steps:.1f} | {calls / steps:.0f} | "
                         f"{100 * sec / steps / total:.0f}% |")
        rest = total - native
        lines.append(f"| *other* | {1e6 * rest:.1f} | | {100 * rest / total:.0f}% |")
        if overhead is not None:
            lines.append(f"| *of which argument checks in Python* | {1e6 * overhead:.1f} | | |")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--models", default=",".join(CASES))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profile.md"))
    a = ap.parse_args()
    results = {}
    for name in a.models.split(","):
        steps = a.steps if name not in ("cnn", "tree", "gpt") else max(a.steps // 4, 20)
        results[name] = profile(name, steps)
        print(f"{name}: done", file=sys.stderr)
    text = markdown(results)
    print(text)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
