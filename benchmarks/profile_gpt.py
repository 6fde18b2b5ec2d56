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


def stage_profile(steps):
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
        st.set_num_threads(1)
        for i in range(2):
            step(*data[i])
        step.compiled.profile()                         # reset
        t0 = time.perf_counter()
        for i in range(steps):
            step(*data[i % len(data)])
        total = (time.perf_counter() - t0) / steps
        prof = step.compiled.profile()
    finally:
        lower.Lowering._profile_end = hook
    parts = collections.Counter()
    for name, (sec, _) in prof.items():
        parts[stage_part(name)] += sec / steps
    top = sorted(((s / steps, c / steps, n) for n, (s, c) in prof.items()), reverse=True)[:12]
    return total, parts, top


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
    a = ap.parse_args(argv)
    s_total, s_parts, top = stage_profile(a.steps)
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


if __name__ == "__main__":
    main()
