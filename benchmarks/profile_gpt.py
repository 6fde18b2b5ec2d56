"""Where the GPT training step's time goes, stage beside PyTorch eager, by part of the model, at one
thread: stage's native time per IR node (a profiling build, each node named by its op, result type
and the nodes fused into its loop) grouped into parts, and torch.profiler's self time of the ATen
kernels of the same parts. Both are wall-clock times of profiled runs (each a little slower than
the plain step): compare the parts' shares of their own step, and run it on a quiet machine.

    python benchmarks/profile_gpt.py [--steps 20]

Stage's per-node names come from wrapping `Lowering._profile_end` (the hook that names a profiling
build's timers by op kind) for this process only; if the code generator changes that hook this
script says so instead of guessing.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "examples")]

import bench_gpt as b  # noqa: E402

GPT = b.examples_module("char_gpt")
HIDDEN = f"f32[{b.BATCH},{GPT.CONTEXT},{4 * GPT.WIDTH}]"      # the MLP's hidden activations

PARTS = ["matmul (GEMM), fwd + bwd", "MLP: bias add + GELU (tanh), fwd + bwd",
         "attention kernel, fwd + bwd", "LayerNorm, residual adds, qkv bias, other elementwise",
         "AdamW update", "gradient norm (clipping)", "embedding, cross-entropy, head split"]


def stage_part(name: str) -> str:
    op = name.split(" ")[0]
    if op == "matmul":
        return PARTS[0]
    if op.startswith("attention"):
        return PARTS[2]
    if op == "store":                                   # the fused in-place parameter updates
        return PARTS[4]
    if name.startswith("sum -> f32[] "):
        return PARTS[5]
    if HIDDEN in name or f"-> f32[{4 * GPT.WIDTH}] " in name:
        return PARTS[1]
    if op in ("take", "scatter_add", "setitem_add") or "cross_entropy" in op:
        return PARTS[6]
    return PARTS[3]


def stage_profile(steps, threads=(1,)):
    """{threads: (ms per step, {part: seconds}, {node: (seconds, calls)})}, the thread counts
    interleaved over three rounds (the median round's step time and profile)."""
    import stage as st
    from stage.codegen import lower
    hook = getattr(lower.Lowering, "_profile_end", None)
    if hook is None or "prof_names" not in hook.__code__.co_names:
        raise SystemExit("profile_gpt.py: stage.codegen.lower.Lowering._profile_end changed; "
                         "update this script's per-node naming")

    def per_node(self, n, timer):                       # the same timer, one name per node kind
        if timer is None:
            return
        fused = "+".join(m.op for m in self.fused_now if m is not n)
        name = (f"{n.op}{' (bw)' if n.origin else ''} -> "
                f"{','.join(str(s.type) for s in n.syms)} [{fused}]")
        if name not in self.prof_names:
            self.prof_names.append(name)
        self.emit(lower.Line(f"stage::prof_add({self.prof_names.index(name)}, {timer});"))
    lower.Lowering._profile_end = per_node
    try:
        vocab, init, data = b.setup(4)
        r = b.StageGPT(vocab, init, data)
        step = st.train_step(lambda x, y: r.model.loss(x, y), r.model, r.opt, profile=True)
        rounds = {n: [] for n in threads}
        for _ in range(3 if len(threads) > 1 else 1):
            for n in threads:
                st.set_num_threads(n)
                for i in range(2):
                    step(*data[i])
                step.compiled.profile()                 # reset
                t0 = time.perf_counter()
                for i in range(steps):
                    step(*data[i % len(data)])
                rounds[n].append(((time.perf_counter() - t0) / steps, step.compiled.profile()))
    finally:
        lower.Lowering._profile_end = hook
    out = {}
    for n, rs in rounds.items():
        total, prof = sorted(rs, key=lambda r: r[0])[len(rs) // 2]
        parts = collections.Counter()
        for name, (sec, _) in prof.items():
            parts[stage_part(name)] += sec / steps
        out[n] = (total, parts, {k: (sec / steps, c / steps) for k, (sec, c) in prof.items()})
    return out


TORCH_KERNELS = {"aten::mm": PARTS[0], "aten::addmm": PARTS[0], "aten::bmm": PARTS[0],
                 "aten::gelu": PARTS[1], "aten::gelu_backward": PARTS[1],
                 "aten::_scaled_dot_product_flash_attention_for_cpu": PARTS[2],
                 "aten::_scaled_dot_product_flash_attention_for_cpu_backward": PARTS[2],
                 "aten::native_layer_norm": PARTS[3], "aten::native_layer_norm_backward": PARTS[3],
                 "aten::linalg_vector_norm": PARTS[5], "aten::embedding_dense_backward": PARTS[6],
                 "aten::_log_softmax": PARTS[6], "aten::_log_softmax_backward_data": PARTS[6]}


def torch_profile(steps):
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(1)
    vocab, init, data = b.setup(4)
    r = b.TorchGPT(vocab, init, data)
    r.step0()
    r.run(3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        r.run(steps)
        total = (time.perf_counter() - t0) / steps
    parts = collections.Counter()
    for e in prof.key_averages():
        if e.key in TORCH_KERNELS:
            parts[TORCH_KERNELS[e.key]] += e.self_cpu_time_total / 1e6 / steps
        elif e.key.startswith("Optimizer.step#"):
            parts[PARTS[4]] += e.cpu_time_total / 1e6 / steps
    return total, parts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", help="e.g. 1,2: stage alone at each thread count, side by side "
                    "(which parts scale)")
    a = ap.parse_args(argv)
    if a.threads:
        return scaling(a.steps, [int(t) for t in a.threads.split(",")])
    s_total, s_parts, nodes = stage_profile(a.steps)[1]
    top = sorted(((s, c, n) for n, (s, c) in nodes.items()), reverse=True)[:12]
    t_total, t_parts = torch_profile(a.steps)
    print(f"GPT step at one thread (batch {b.BATCH}): stage {1e3 * s_total:.1f} ms (a profiling "
          f"build), torch eager {1e3 * t_total:.1f} ms (under torch.profiler)\n")
    print("| part of the step | stage ms | torch eager ms |\n|---|---|---|")
    for p in PARTS:
        print(f"| {p} | {1e3 * s_parts[p]:.1f} | {1e3 * t_parts[p]:.1f} |")
    print(f"| rest (calls, Python, other kernels) | {1e3 * (s_total - sum(s_parts.values())):.1f}"
          f" | {1e3 * (t_total - sum(t_parts.values())):.1f} |")
    print("\nstage's heaviest nodes (ms per step, calls per step, node):")
    for sec, calls, name in top:
        print(f"  {1e3 * sec:7.2f} {calls:4.0f}x  {name[:140]}")


def scaling(steps, threads):
    res = stage_profile(steps, threads)
    one, many = res[threads[0]], res[threads[-1]]
    print(f"GPT step (batch {b.BATCH}), stage's profiling build: " + ", ".join(
        f"{n} thread(s) {1e3 * r[0]:.1f} ms" for n, r in res.items()) +
        f" ({one[0] / many[0]:.2f}x)\n")
    head = " | ".join(f"{n} thr ms" for n in threads)
    print(f"| part of the step | {head} | speed-up |\n|---|{'---|' * len(threads)}---|")
    rows = PARTS + ["rest (calls, Python, loops' control)"]
    for p in rows:
        t = [(r[0] - sum(r[1].values())) if p == rows[-1] else r[1][p] for r in res.values()]
        print(f"| {p} | " + " | ".join(f"{1e3 * x:.2f}" for x in t) +
              f" | {t[0] / max(t[-1], 1e-12):.2f}x |")
    print(f"\nnodes that lose most at {threads[-1]} threads against perfect scaling "
          f"(ms per step at {threads[0]} / {threads[-1]}, calls, node):")
    loss = sorted(((many[2][k][0] - v[0] * threads[0] / threads[-1], k) for k, v in one[2].items()
                   if k in many[2]), reverse=True)[:15]
    for lost, k in loss:
        print(f"  {1e3 * one[2][k][0]:7.2f} {1e3 * many[2][k][0]:7.2f} {one[2][k][1]:4.0f}x  {k[:130]}")


if __name__ == "__main__":
    main()
