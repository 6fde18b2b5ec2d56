"""Turn results/results.json into RESULTS.md and results/relative_time.png.

    python benchmarks/report.py [benchmarks/results/results.json]
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DEFAULT = BENCH / "results" / "results.json"
ORDER = ["stage", "stage-module", "torch", "torch-fused", "torch-levels", "torch-compile", "torch-compile-fused",
         "jax"]
DEFAULT_LABELS = {"stage": "stage", "torch": "torch eager", "torch-fused": "torch eager (fused)",
                  "torch-compile": "torch.compile", "jax": "JAX jit"}


def fmt_time(s, unit):
    if s is None:
        return "–"
    if unit == "epoch":
        return f"{s:.2f} s"
    if unit == "call":
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.3f} ms" if s < 0.01 else f"{s * 1e3:.2f} ms"


def label(m, v):
    return m.get("labels", {}).get(v) or DEFAULT_LABELS.get(v, v)


def timing(m, v, n, process=None):
    """(summary of v's time, summary of v/stage ratio) at n threads, from the process that ran v
    (or, for stage, from the process that ran `process`)."""
    n = str(n)
    owner = process or v
    src = m.get("jax", {}).get(n) if owner.startswith("jax") else m.get("steady")
    t = ((src or {}).get("times") or {}).get(n, {}).get(v)
    return (t, t.get("ratio_to_stage")) if t else (None, None)


def flag_mark(t):
    """† when repetitions during which other processes used the CPUs were left out, ‡ when there
    were too few others and they were kept."""
    if not t or not t.get("flagged"):
        return ""
    return f" ‡{t['flagged']}" if t.get("flagged_kept") else f" †{t['flagged']}"


def rng(t, unit):
    return f"{fmt_time(t['median'], unit)} ({fmt_time(t['min'], unit)}–{fmt_time(t['max'], unit)})" \
        + flag_mark(t)


def variants(m):
    vs = m.get("variants", [])
    return sorted(vs, key=lambda v: ORDER.index(v) if v in ORDER else len(ORDER))


def steady_table(res):
    threads = res["threads"]
    out = ["| model | implementation | " + " | ".join(
        f"{n} thread{'s' if n > 1 else ''}: median (min–max) | ÷ stage" for n in threads) +
        " | per 5,000 steps (1 thread) |",
        "|---|---|" + "---|---|" * len(threads) + "---|"]
    for name, m in res["models"].items():
        if "skipped" in m:
            out.append(f"| {name} | *skipped: {m['skipped']}* |" + " |" * (2 * len(threads) + 1))
            continue
        unit = m["unit"]
        for v in variants(m):
            cells = []
            for n in threads:
                t, r = timing(m, v, n)
                if t is None:
                    cells += ["–", "–"]
                    continue
                cells += [rng(t, unit), "1" if v == "stage" else
                          f"{r['median']:.2f}" if r else "(stage failed)"]
            t1, _ = timing(m, v, threads[0])
            per = (f"{t1['median'] * m['per']:.1f} s" if m.get("per") and t1 else "")
            title = f"**{name}** ({m['unit']})" if v == "stage" else ""
            out.append(f"| {title} | {label(m, v)} | " + " | ".join(cells) + f" | {per} |")
        failed = {**(m.get("steady") or {}).get("failed", {}),
                  **{k: e for j in m.get("jax", {}).values() for k, e in j.get("failed", {}).items()}}
        for v, err in failed.items():
            last = err.strip().splitlines()[-1][:150] if err.strip() else "failed"
            out.append(f"| | {label(m, v)} | failed: `{last}` |" + " |" * (2 * len(threads)))
    return "\n".join(out)


def summary_table(res):
    """Per model and thread count: the fastest peer, its median, and stage's median measured in the
    same process (peer / stage ratios of adjacent repetitions); and stage's own scaling (its time
    at 1 thread over its time at n in adjacent repetitions of the PyTorch process: the thread
    counts are interleaved)."""
    threads = res["threads"]
    kernel = (res["meta"].get("openblas") or {}).get("kernel", "?")
    out = ["| model | " + " | ".join(
        f"{n} thread{'s' if n > 1 else ''}: stage | fastest peer | ÷ stage" +
        (" | stage 1 thread ÷ stage" if n > 1 else "") for n in threads) + " |",
        "|---|" + "|".join("---|---|---" + ("|---" if n > 1 else "") for n in threads) + "|",
        f"| *{res['meta']['cores']} CPUs, OpenBLAS {kernel}* | " + " | ".join(
            f"*{n} thread{'s' if n > 1 else ''}* | | " + (" | " if n > 1 else "") for n in threads)
        + " |"]
    for name, m in res["models"].items():
        if "skipped" in m or "steady" not in m:
            continue
        cells = []
        for n in threads:
            peers = [(timing(m, v, n)[1]["median"], v) for v in variants(m)
                     if not v.startswith("stage") and timing(m, v, n)[1]]
            scale = []
            if n > 1:                 # per-repetition ratios of adjacent repetitions (harness)
                sp = ((m.get("steady") or {}).get("stage_speedup") or {}).get(str(n))
                t1, tn = timing(m, "stage", threads[0])[0], timing(m, "stage", n)[0]
                scale = [f"{sp['median']:.2f}" if sp else
                         f"{t1['median'] / tn['median']:.2f}" if t1 and tn else "–"]
            if not peers:
                cells += ["–", "–", "–"] + scale
                continue
            r, v = min(peers)
            t, _ = timing(m, "stage", n, process=v)
            tp, _ = timing(m, v, n)
            cells += [fmt_time(t["median"], m["unit"]) + flag_mark(t) if t else "–",
                      f"{label(m, v)} {fmt_time(tp['median'], m['unit'])}{flag_mark(tp)}",
                      f"{r:.2f}"] + scale
        out.append(f"| {name} ({m['unit']}) | " + " | ".join(cells) + " |")
    return "\n".join(out)


def cpu_table(res):
    """CPU time / wall time of each implementation's repetitions (median), per thread count: ~1.0
    at one thread means it really used one."""
    threads = res["threads"]
    out = ["| model | implementation | " + " | ".join(f"{n} thread{'s' if n > 1 else ''}"
                                                   for n in threads) + " |",
           "|---|---|" + "---|" * len(threads)]
    for name, m in res["models"].items():
        if "skipped" in m or "steady" not in m:
            continue
        for v in variants(m):
            row = []
            for n in threads:
                t, _ = timing(m, v, n)
                c = t.get("cpu_per_wall_median") if t else None
                row.append(f"{c:.2f}" if c is not None else "–")
            if any(x != "–" for x in row):
                out.append(f"| {name} | {label(m, v)} | " + " | ".join(row) + " |")
            if v.startswith("jax"):               # stage in the JAX process, alongside
                row = []
                for n in threads:
                    t, _ = timing(m, "stage", n, process=v)
                    c = t.get("cpu_per_wall_median") if t else None
                    row.append(f"{c:.2f}" if c is not None else "–")
                out.append(f"| {name} | stage (in the JAX process) | " + " | ".join(row) + " |")
    return "\n".join(out)


def blas_section(res):
    """The OpenBLAS kernel and variables, and stage measured with both variables unset."""
    b = res["meta"].get("openblas") or {}
    env = b.get("env") or {}
    set_ = {k: v for k, v in env.items() if v}
    text = (f"OpenBLAS kernel in use: **{b.get('kernel', '?')}** (`{b.get('config', '?')}`); "
            f"with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` both unset: "
            f"**{b.get('kernel_env_unset', '?')}**. ")
    if not set_:
        return text + ("Neither variable is set on this machine, so stage's numbers above are "
                       "also those with both unset (no second measurement).")
    text += "Set here: " + ", ".join(f"`{k}={v}`" for k, v in set_.items()) + \
        ". Stage with the environment as it is (above) and with both unset, in a child process of " \
        "its own:\n\n| model | " + " | ".join(
            f"{n} thread{'s' if n > 1 else ''}: as set | both unset" for n in res["threads"]) + \
        " |\n|---|" + "---|---|" * len(res["threads"])
    for name, m in res["models"].items():
        u = m.get("stage_blas_env_unset")
        if not u or "times" not in u:
            continue
        cells = []
        for n in res["threads"]:
            t, _ = timing(m, "stage", n)
            tu = u["times"].get(str(n), {}).get("stage")
            cells += [rng(t, m["unit"]) if t else "–", rng(tu, m["unit"]) if tu else "–"]
        text += f"\n| {name} | " + " | ".join(cells) + " |"
    return text


def checks_table(res):
    out = ["| model | peer | loss | loss rel. diff | parameters after 1 step (max rel. diff) | "
           "gradients: optimizer state after 1 step (max rel. diff) | same? |",
           "|---|---|---|---|---|---|---|"]
    for name, m in res["models"].items():
        cs = dict((m.get("steady") or {}).get("checks", {}))
        for j in m.get("jax", {}).values():
            cs.update(j.get("checks", {}))
        for v in variants(m):
            c = cs.get(v)
            if not c:
                continue
            st, pa = c["state"], c["params"]
            ptxt = (f"{pa['max_rel']:.1e} ({pa['worst']})" if pa["max_rel"] is not None else
                    f"not compared: {pa.get('skipped')}") + \
                (f"; left out: {pa['left_out']}" if pa.get("left_out") else "")
            stxt = f"{st['max_rel']:.1e} ({st['worst']})" if st else "–"
            out.append(f"| {name} | {label(m, v)} | {c['loss']:.6g} vs {c['ref_loss']:.6g} | "
                       f"{c['loss_rel']:.1e} | {ptxt} | {stxt} | "
                       f"{'yes' if c['ok'] else '**NO**'} (tol {c['tol']:g}) |")
    return "\n".join(out)


def first_table(res):
    cols = ["stage cold", "stage warm", "torch", "torch-fused", "torch-levels", "torch-compile",
            "jax"]
    present = [c for c in cols if any(c in (m.get("first") or {}) or
                                      (c in (m.get("steady") or {}).get("first_in_process", {}))
                                      for m in res["models"].values())]
    out = ["| model | " + " | ".join(present) + " |", "|---|" + "---|" * len(present)]
    imports = {}
    for name, m in res["models"].items():
        if "skipped" in m:
            continue
        row = []
        for c in present:
            f = (m.get("first") or {}).get(c)
            if f and "error" not in f:
                cache = f" ({f['inductor_cache']} cache)" if "inductor_cache" in f else ""
                row.append(f"{f['setup_s'] + f['first_step_s']:.2f} s{cache}")
                fw = "stage" if c.startswith("stage") else c.split("-")[0]
                imports.setdefault(fw, []).append(f["import_s"])
            else:
                fi = (m.get("steady") or {}).get("first_in_process", {}).get(c)
                row.append(f"{fi:.2f} s*" if fi is not None else "–")
        out.append(f"| {name} | " + " | ".join(row) + " |")
    imp = ", ".join(f"{k} {min(v):.2f}–{max(v):.2f} s" for k, v in imports.items())
    return "\n".join(out), imp


def memory_table(res):
    cols = ["stage warm", "torch", "torch-fused", "torch-levels", "torch-compile", "jax"]
    out = ["| model | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, m in res["models"].items():
        f = m.get("first") or {}
        row = []
        for c in cols:
            r = f.get(c)
            row.append(f"{r['maxrss_mb']:.0f} MB (+{r['maxrss_mb'] - r['rss_after_import_mb']:.0f})"
                       if r and "error" not in r else "–")
        if any(x != "–" for x in row):
            out.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(out)


def profile_table(res):
    out = ["| model | trace | generate C++ | g++ (cold) | cache hit | load | IR / C++ lines | "
           "call overhead (no-op, same args) | step (1 thread) | native ≈ step − overhead |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    perf_rows = []
    for name, m in res["models"].items():
        p = m.get("profile")
        if not p or "error" in p:
            if p:
                out.append(f"| {name} | profile failed: `{p['error'].strip().splitlines()[-1][:100]}` |"
                           + " |" * 8)
            continue
        ms = lambda s: f"{s * 1e3:.1f} ms"           # noqa: E731
        us = lambda s: f"{s * 1e6:.1f} µs"           # noqa: E731
        out.append(f"| {name} | {ms(p['trace_s'])} | {ms(p['generate_s'])} | "
                   f"{p['compile_cold_s']:.2f} s | {ms(p['compile_warm_s'])} | {ms(p['load_s'])} | "
                   f"{p['ir_lines']} / {p['cpp_lines']} | {us(p['noop_call_s'])} "
                   f"({p['n_array_args']} arrays) | {us(p['step_s'])} | "
                   f"{us(p['native_s'])} ({100 * p['native_s'] / p['step_s']:.0f}%) |")
        perf = m.get("perf")
        if perf and "by_dso" in perf:
            groups = sorted(perf["by_dso"].items(), key=lambda kv: -kv[1])
            top = "; ".join(f"{pct:.0f}% `{short_symbol(s)}`" for pct, s in perf["top_symbols"][:4])
            perf_rows.append(f"| {name} | " + ", ".join(f"{g} {pct:.0f}%" for g, pct in groups
                                                         if pct >= 0.5) + f" | {top} |")
    table = "\n".join(out)
    if perf_rows:
        table += ("\n\n`perf record` attached to a steady loop of the step (1 thread), samples by "
                  "shared object and the hottest symbols:\n\n| model | by shared object | top symbols |"
                  "\n|---|---|---|\n" + "\n".join(perf_rows))
    return table


def short_symbol(s):
    """A perf symbol without argument lists (generated closures have very long ones)."""
    import re
    dso, _, sym = s.partition("[.]")
    prev = None
    while prev != sym:
        prev, sym = sym, re.sub(r"\([^()]*\)", "", sym)
    sym = re.sub(r"<[^<>]*>", "", sym) if "stage_entry" in sym else sym
    return (dso.strip() + " " + " ".join(sym.split()))[:90]


def findings(res):
    lines = []
    for name, m in res["models"].items():
        for v, note in (m.get("notes") or {}).items():
            lines.append(f"- **{name}, {label(m, v)}**: {note}")
        for v, d in ((m.get("steady") or {}).get("dynamo") or {}).items():
            gb = d.get("graph_breaks") or {}
            what = ("; ".join(f"“{k.strip().splitlines()[0][:120]}” (×{c})" for k, c in gb.items())
                    if gb else "none")
            lines.append(f"- **{name}, {label(m, v)}**: dynamo compiled {d.get('unique_graphs')} "
                         f"graph(s); graph breaks: {what}.")
        fi = (m.get("steady") or {}).get("first_in_process", {})
        if "torch-compile" in fi:
            lines.append(f"- **{name}**: torch.compile's first step took {fi['torch-compile']:.1f} s "
                         f"in the steady-state process (inductor's on-disk cache as it was).")
    return "\n".join(lines)


CHART_LABELS = {"stage": "stage", "stage-module": "stage (module + st.optim)",
                "torch-fused": "torch eager (nn.RNN/LSTM)", "torch-levels": "torch eager (level-batched)",
                "torch-compile": "torch.compile (cells)", "torch-compile-fused": "torch.compile (fused)",
                "jax": "JAX jit"}


def chart(res, path):
    """Per model and thread count: each implementation's time / torch eager (cells) time, log scale.
    JAX ran in another process: its ratio is (jax / stage there) x (stage / torch here)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    threads = res["threads"]
    names = [n for n, m in res["models"].items() if "skipped" not in m and "steady" in m]
    show = [v for v in ORDER if v != "torch"]
    colors = dict(zip(show, ["#d62728", "#ff9896", "#1f77b4", "#17becf", "#2ca02c", "#98df8a",
                             "#9467bd"]))
    fig, axes = plt.subplots(len(threads), 1, figsize=(11, 3.6 * len(threads)), squeeze=False)
    seen = set()
    for ax, n in zip(axes[:, 0], threads):
        for i, name in enumerate(names):
            m = res["models"][name]
            _, rt = timing(m, "torch", n)
            if rt is None:
                continue
            bars = []
            for v in show:
                _, rv = timing(m, v, n)
                if v == "stage":
                    bars.append((v, 1.0 / rt["median"]))
                elif rv is not None:
                    bars.append((v, rv["median"] / rt["median"]))
            width = 0.8 / max(len(bars), 1)
            for k, (v, y) in enumerate(bars):
                x = i + (k - len(bars) / 2 + 0.5) * width
                ax.bar(x, y, width, color=colors[v], label=None if v in seen else CHART_LABELS[v])
                seen.add(v)
                ax.text(x, y, f"{y:.2g}", ha="center", va="bottom", fontsize=6.5)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names)
        ax.set_title(f"{n} thread{'s' if n > 1 else ''}: time relative to PyTorch eager "
                     f"(cell-by-cell form = 1; lower is faster)", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def render(res, png_rel):
    meta = res["meta"]
    v = meta["versions"]
    first, imports = first_table(res)
    blas = meta.get("openblas") or {}
    load = [m.get("steady", {}).get("loadavg", [None])[0] for m in res["models"].values()
            if "steady" in m]
    load = [x for x in load if x is not None]
    return f"""# stage benchmarks

Generated by `{res['command']}` ({res['mode']} run, {res.get('wall_s', 0) / 60:.1f} min) on
{meta['date']}; regenerate the Markdown and chart from the JSON with `python benchmarks/report.py`.
Raw numbers: [`results/results.json`](results/results.json).

**Machine**: {meta['cpu']} ({meta.get('cpu_family_model', '')}), {meta['cores']} cores ({meta['threads_per_core']} thread per core,
{meta.get('hypervisor') or 'bare metal'} VM{', AVX-512' if meta['avx512'] else ''}), L2 {meta['l2']},
L3 {meta['l3']}, {meta['memory_gb']} GB; {meta['os']}. Python {meta['python']}, {meta['cxx']};
NumPy {v['numpy']}, scipy-openblas32 {v['scipy-openblas32']}, torch {v['torch']}, JAX {v['jax']}
(jaxlib {v['jaxlib']}); stage at {meta['stage_commit']}; OpenBLAS kernel {blas.get('kernel', '?')}
(`OPENBLAS_CORETYPE`={(blas.get('env') or {}).get('OPENBLAS_CORETYPE') or 'unset'},
`OPENBLAS_L2_SIZE`={(blas.get('env') or {}).get('OPENBLAS_L2_SIZE') or 'unset'}). The load average
when the model runs started was {', '.join(f'{x:.1f}' for x in load) or '?'} on {meta['cores']}
cores; repetitions during which other processes used more than 0.3 of a core are flagged (†k: k
such repetitions left out of medians and ratios; ‡k: kept, too few others).

## Summary

The fastest peer at each thread count and stage measured in the same process, in adjacent
repetitions (÷ stage > 1: stage is faster); for more than one thread, stage's own speed-up over one
thread. Details, spreads and every implementation below.

{summary_table(res)}

CPU time / wall time of the repetitions (one thread should be ~1.0 for every system):

{cpu_table(res)}

{blas_section(res)}

## How this is measured

- Same data, sizes, initial weights and hyper-parameters everywhere: each framework gets copies of
  the arrays the stage example's `init_params` makes and the same batches / trees in the same order.
  Stage runs the examples' own `train_step` (`examples/*.py`), one native call per step (forward,
  backward, optimizer update in place). The peers are in [`peers_torch.py`](peers_torch.py) and
  [`peers_jax.py`](peers_jax.py).
- Before timing, every peer's first step is compared with stage's (loss, parameters after the step,
  and the optimizer state, which holds the squared clipped gradients for Adagrad; for SGD the
  gradients (p0 − p1)/lr; for AdamW both moments, and the parameters except where the gradient
  is rounding noise, since Adam's first step is about lr × sign(g)) — see *Correctness checks*. A
  peer that differs beyond the tolerance is reported as failed and not timed.
- Steady state: after a warm-up, {'3' if res['mode'] == 'quick' else '6'} repetitions (TreeLSTM:
  {'2' if res['mode'] == 'quick' else '5'} chunks of trees; a slow peer stops after ~12–30 s, at least 2)
  per implementation, **interleaved** (the order rotates every repetition); each repetition lasts
  about 0.2 s (0.08 s quick) or is a fixed chunk of trees. Cells give the median per step (per
  epoch, per call) with min–max; **÷ stage** is the median over repetitions of (peer time / stage
  time in the adjacent repetition), so > 1 means stage is faster. With more than one thread the
  implementations are separated by a 0.3 s pause (idle OpenBLAS / OpenMP / Eigen threads spin before
  they sleep). Stage and PyTorch share one
  process per model (threads switched at run time: `torch.set_num_threads`, `st.set_num_threads`:
  stage's thread pool, which also runs its BLAS products); JAX runs in its own process per thread
  count against stage measured again in that process; the one-thread JAX process is pinned to one
  CPU (XLA sizes its thread pool from the CPUs it may use and has no flag for it) with
  `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`. Every comparison with a peer uses stage's times
  from the peer's own process.
- Time to first step and memory: a fresh process per implementation; imports excluded.
- Per 5,000 steps: the 1-thread median step time × 5,000.

## Steady state

{steady_table(res)}

![time relative to torch eager]({png_rel})

## Correctness checks (first step from the same start)

{checks_table(res)}

## Time to first step

Seconds from the model's data being ready to the end of the first training step (stage: tracing,
CPS, C++ generation, g++ and loading; *cold* = empty `STAGE_CACHE_DIR`, *warm* = the library
cached on disk; torch.compile: dynamo, AOTAutograd and inductor, with inductor's on-disk cache warm
(from earlier runs) or cold (`--cold-compile`); JAX: tracing and XLA compilation, no persistent
compilation cache). `*` = measured inside the steady-state process instead. Imports (not included): {imports or '–'}.

{first}

## Peak memory

Peak resident memory (VmHWM) of a process running only that implementation (its first step and a few more), with the
growth over the process size after importing the framework in parentheses.

{memory_table(res)}

## torch.compile and JAX

{findings(res)}

## Where stage's time goes

Per model, one process with an empty cache: `stage.program.trace` (staging, including the CPS
transform), `stage.codegen.build.generate` (lowering + rendering C++), the g++ build, the cache
lookup on a second build, loading with cffi; then the call overhead of a compiled no-op with the same
arguments (flattening, signature check, cffi pointers, output allocation) and the step itself.

{profile_table(res) if any(m.get("profile") for m in res["models"].values()) else
 "*Not measured in a `--quick` run.*"}
{op_profile()}{written("checkpoint.md")}{written("distributed.md")}"""


def written(name):
    """A section written by hand from another benchmark's output (benchmarks/results/NAME: the
    checkpointed loops of bench_checkpoint.py, data-parallel training of bench_distributed.py),
    when there is one."""
    p = BENCH / "results" / name
    return "\n" + p.read_text() if p.exists() else ""


def op_profile():
    """The per-op-kind native breakdown written by profile_ops.py, when it has been run."""
    p = BENCH / "results" / "profile.md"
    if not p.exists():
        return ""
    text = p.read_text().replace("## Where stage's time goes", "### Native time by op kind", 1)
    return "\n" + "\n".join(("#" + ln if ln.startswith("### ") and "op kind" not in ln else ln)
                             for ln in text.splitlines()) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else DEFAULT
    res = json.loads(path.read_text())
    png = path.parent / "relative_time.png"
    ok = chart(res, png)
    # the committed report sits in benchmarks/; a results file elsewhere gets its report beside it
    md = BENCH / "RESULTS.md" if path.resolve() == DEFAULT.resolve() else path.parent / "RESULTS.md"
    rel = os.path.relpath(png, md.parent) if ok else \
        "(matplotlib not installed: pip install -e '.[bench]')"
    md.write_text(render(res, rel))
    print(f"wrote {md}" + (f" and {png}" if ok else ""))


if __name__ == "__main__":
    main()
