"""Running generated programs and comparing native code, the interpreter, finite differences and
PyTorch.

Native code is built for a whole batch of programs at once (one staged function returning every
program's result, so one library per batch); a batch that fails is bisected until the failing
programs are alone. Each program is also run by the interpreter, its gradient checked against
central differences in a random direction (float64), and, when torch is installed, its forward
values and gradients compared with the same program run by PyTorch's eager autograd.
"""
from __future__ import annotations

import collections
import linecache
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, List

import numpy as np

import stage as st
from .program import Program, arg_values, render_function, render_python, reproducer

try:
    import torch
    from . import torch_shim
except ImportError:                  # pragma: no cover - torch is optional
    torch = None


@dataclass
class Finding:
    seed: Any
    category: str
    message: str
    program: Program = field(repr=False, default=None)

    def report(self):
        return f"[{self.category}] seed {self.seed}: {self.message}\n" + reproducer(self.program)


class Raised:
    """An exception as a result (so both backends' refusals can be compared)."""

    def __init__(self, exc, where):
        self.type, self.msg, self.where = type(exc).__name__, str(exc).split("\n")[0][:300], where

    def __repr__(self):
        return f"{self.type} at {self.where}: {self.msg}"


def make_fn(p: Program, target="st"):
    ns = {"np": np, "st": torch_shim if target == "torch" else st}
    if target == "python":          # the front end reads the source: give it a (virtual) file
        src = render_python(p)
        fname = f"<fuzz-python-{p.seed}-{zlib.crc32(src.encode())}>"
        linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
        exec(compile(src, fname, "exec"), ns)
        return ns["f"]
    exec(render_function(p, target), ns)
    return ns["f"]


def wrapped(p: Program, target="st"):
    f = make_fn(p, target)
    if p.mode == "vg":
        return st.value_and_grad(f, p.argnums, has_aux=True)
    if p.mode == "g":
        return st.grad(f, p.argnums)
    return f


def run_interp(p: Program):
    try:
        exe = st.compile(wrapped(p), backend="interp").lower(*arg_values(p))
    except Exception as e:                                   # noqa: BLE001 - compared, not hidden
        return Raised(e, "staging")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return exe(*arg_values(p))
    except Exception as e:                                   # noqa: BLE001
        return Raised(e, "run")


_SOURCES: List[str] = []            # the C++ of the latest native batches (for tests to read)


def last_sources() -> List[str]:
    return list(_SOURCES)


def run_native(progs: List[Program], cxxflags="-O1", target="st"):
    """Results of every program (value or Raised), one library per batch, bisecting failures;
    target "python" stages the programs written with plain Python control flow."""
    if not progs:
        return []
    fns = [wrapped(p, target) for p in progs]
    args = [arg_values(p) for p in progs]

    def batch(*all_args):
        return tuple(f(*a) for f, a in zip(fns, all_args))
    try:
        exe = st.compile(batch, cxxflags=cxxflags).lower(*args)
    except Exception as e:                                   # noqa: BLE001
        if len(progs) > 1:
            return _bisect(progs, cxxflags, target)
        return [Raised(e, "staging" if isinstance(e, st.StageError) else "build")]
    _SOURCES[:] = (_SOURCES + [exe.source])[-8:]
    try:
        return list(exe(*args))
    except Exception as e:                                   # noqa: BLE001
        if len(progs) > 1:
            return _bisect(progs, cxxflags, target)
        return [Raised(e, "run")]


def _bisect(progs, cxxflags, target="st"):
    h = len(progs) // 2
    return run_native(progs[:h], cxxflags, target) + run_native(progs[h:], cxxflags, target)


# ------------------------------------------------------------------------------------------ compare

def flat(x, path="out"):
    if isinstance(x, dict):
        return [l for k in sorted(x) for l in flat(x[k], f"{path}[{k!r}]")]
    if isinstance(x, (tuple, list)):
        return [l for k, c in enumerate(x) for l in flat(c, f"{path}[{k}]")]
    return [(path, x)]


def _to_np(x):
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def compare(a, b, rtol, atol_scale, what, check_dtype=True):
    """None if the results agree (structure, dtypes, shapes, values), else a description."""
    fa, fb = flat(a), flat(b)
    if [p for p, _ in fa] != [p for p, _ in fb]:
        return f"{what}: structures differ: {[p for p, _ in fa]} vs {[p for p, _ in fb]}"
    for (path, x), (_, y) in zip(fa, fb):
        x, y = _to_np(x), _to_np(y)
        if x.shape != y.shape or (check_dtype and x.dtype != y.dtype):
            return f"{what}: {path} is {x.dtype}{list(x.shape)} vs {y.dtype}{list(y.shape)}"
        if x.dtype.kind in "biu" or y.dtype.kind in "biu":
            if not np.array_equal(x, y):
                return f"{what}: {path} differs: {_show(x)} vs {_show(y)}"
            continue
        x, y = x.astype(np.float64), y.astype(np.float64)
        both_bad = ~np.isfinite(x) & ~np.isfinite(y)
        scale = max(1.0, float(np.max(np.abs(np.where(np.isfinite(y), y, 0)), initial=0)))
        ok = both_bad | (np.abs(x - y) <= atol_scale * scale + rtol * np.abs(y))
        if not np.all(ok):
            return f"{what}: {path} differs: {_show(x)} vs {_show(y)}"
    return None


def _show(x):
    s = np.array2string(np.asarray(x), precision=6, threshold=12, separator=", ")
    return " ".join(s.split())[:200]


# ------------------------------------------------------------------------------------------ gradients

def _loss_fn(p: Program):
    f = st.compile(make_fn(p), backend="interp")
    return (lambda *a: f(*a)[0]) if p.mode == "vg" else f


def _perturb(args, argnums, t, eps):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    out, k = list(args), 0
    for n in nums:
        leaves = flat(args[n])
        new = []
        for _, x in leaves:
            x = np.asarray(x)
            if x.dtype.kind == "f":
                new.append(x + eps * t[k])
                k += 1
            else:
                new.append(x)
        out[n] = _rebuild(args[n], iter(new))
    return tuple(out)


def _rebuild(tree, it):
    if isinstance(tree, dict):
        return {k: _rebuild(tree[k], it) for k in sorted(tree)}
    if isinstance(tree, (tuple, list)):
        seq = [_rebuild(c, it) for c in tree]
        return seq if isinstance(tree, list) else tuple(seq)
    v = next(it)
    return v if np.ndim(v) else v[()]


def check_fd(p: Program, grads, rng):
    """'ok', 'skip' (not smooth or not finite here) or a description of the disagreement."""
    args = arg_values(p)
    nums = (p.argnums,) if isinstance(p.argnums, int) else p.argnums
    gl = [np.asarray(g) for _, g in flat(grads if isinstance(p.argnums, tuple) else (grads,))]
    xl = [np.asarray(x) for n in nums for _, x in flat(args[n])]
    pairs = [(x, g) for x, g in zip(xl, gl) if x.dtype.kind == "f"]
    t = [rng.standard_normal(x.shape) for x, _ in pairs]
    lhs = float(sum(np.sum(g * d) for (_, g), d in zip(pairs, t)))
    loss = _loss_fn(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            f0 = float(loss(*args))
            est = [(float(loss(*_perturb(args, p.argnums, t, e))) -
                    float(loss(*_perturb(args, p.argnums, t, -e)))) / (2 * e)
                   for e in (1e-6, 1e-4, 1e-7)]
        except Exception:                                    # noqa: BLE001 - an index out of range
            return "skip"
    if not np.isfinite([f0, lhs] + est).all():
        return "skip"
    scale = max(1.0, abs(f0), abs(lhs))
    if abs(lhs - est[0]) <= 1e-5 * scale:
        return "ok"
    if max(est) - min(est) > 1e-4 * scale:                   # the estimates disagree: a kink nearby
        return "skip"
    return f"<grad, t> = {lhs!r} but finite differences give {est[0]!r}"


# ------------------------------------------------------------------------------------------ torch

def run_torch(p: Program):
    """(forward result, gradients) of the program run by PyTorch, or None if torch refuses it."""
    f = make_fn(p, "torch")
    nums = () if p.mode == "fwd" else ((p.argnums,) if isinstance(p.argnums, int) else p.argnums)
    leaves = []

    def conv(x, diff):
        t = torch.from_numpy(np.array(x))
        if diff and t.is_floating_point():
            t.requires_grad_(True)
            leaves.append(t)
        return t
    args = [_map(a, lambda x, k=k: conv(x, k in nums)) for k, a in enumerate(arg_values(p))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = f(*args)
            loss = res[0] if p.mode != "g" else res
            grads = []
            if nums:
                gs = torch.autograd.grad(loss, leaves, allow_unused=True) if loss.requires_grad \
                    else [None] * len(leaves)
                grads = [np.zeros(t.shape) if g is None else g.numpy() for t, g in zip(leaves, gs)]
    except Exception as e:                                   # noqa: BLE001
        return Raised(e, "torch")
    return res, grads


def _map(tree, fn):
    if isinstance(tree, dict):
        return {k: _map(v, fn) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        seq = [_map(c, fn) for c in tree]
        return seq if isinstance(tree, list) else tuple(seq)
    return fn(tree)


# ------------------------------------------------------------------------------------------ driver

# findings that the interpreter alone reproduces (shrunk without compiling)
INTERP_CATEGORIES = ("torch_value", "torch_grad", "gradient_fd", "both_refuse_valid")


def check_programs(progs: List[Program], stats=None, use_torch=True, cxxflags="-O1", native=True,
                   target="st"):
    """Run and compare every program; returns the findings (an empty list when all agree).
    With native=False the interpreter stands in for native code (to shrink interpreter findings
    without compiling). With target="python" the native side is the program written with plain
    Python `if`/`for`/`while` (the front end stages them), the reference the st-form."""
    stats = collections.Counter() if stats is None else stats
    findings = []
    results = run_native(progs, cxxflags, target) if native else [None] * len(progs)
    for p, nat in zip(progs, results):
        stats["programs"] += 1
        stats[f"mode_{p.mode}"] += 1
        ref = run_interp(p)
        nat = ref if nat is None else nat
        out = _judge(p, ref, nat, stats, use_torch)
        if out:
            findings.append(Finding(p.seed, out[0], out[1], p))
    return findings


def _judge(p, ref, nat, stats, use_torch):
    if isinstance(ref, Raised) and isinstance(nat, Raised):
        if ref.type != nat.type:
            return ("different_errors", f"interp {ref!r}; native {nat!r}")
        if not p.expect:
            return ("both_refuse_valid", repr(ref))
        stats["both_raised"] += 1
        return None
    if isinstance(nat, Raised):
        return ("native_refuses", repr(nat))
    if isinstance(ref, Raised):
        if p.expect:
            return ("native_accepts_invalid", f"{ref!r} (native returns a value)")
        return ("interp_refuses", f"{ref!r} (native returns a value)")
    single = any(i.var.dtype == "float32" for i in p.inputs)
    rtol, atol = (1e-4, 1e-5) if single else (1e-7, 1e-9)
    bad = compare(nat, ref, rtol, atol, "native vs interp")
    if bad:
        return ("native_value", bad)
    if p.mode != "fwd" and (_uses_op(p.body, "stop_gradient") or single):
        stats["fd_not_applicable"] += 1          # FD sees through stop_gradient; float32 is too coarse
    elif p.mode != "fwd":
        grads = ref[1] if p.mode == "vg" else ref
        verdict = check_fd(p, grads, np.random.default_rng(zlib.crc32(str(p.seed).encode())))
        stats[f"fd_{'ok' if verdict == 'ok' else 'skip' if verdict == 'skip' else 'bad'}"] += 1
        if verdict not in ("ok", "skip"):
            return ("gradient_fd", verdict)
    if use_torch and torch is not None:
        tr = run_torch(p)
        if isinstance(tr, Raised):
            stats["torch_refused"] += 1
            stats[f"torch_refused: {tr.msg[:60]}"] += 1
            return None
        stats["torch_compared"] += 1
        res, tgrads = tr
        fwd = ref[0] if p.mode == "vg" else (None if p.mode == "g" else ref)
        if fwd is not None:
            bad = compare(fwd, res, max(rtol, 1e-6), max(atol, 1e-8), "interp vs torch (forward)",
                          check_dtype=False)
            if bad:
                return ("torch_value", bad)
        if p.mode != "fwd":
            sg = [g for _, g in flat(ref[1] if p.mode == "vg" else ref)]
            sg = [g for g, x in zip(sg, _diff_leaves(p)) if x]
            bad = compare(sg, tgrads, max(rtol, 1e-6), max(atol, 1e-8), "interp vs torch (gradient)",
                          check_dtype=False)
            if bad:
                return ("torch_grad", bad)
    return None


def _uses_op(block, op):
    return any(s.op == op or any(_uses_op(b, op) for b in s.blocks) for s in block.stmts)


def _diff_leaves(p):
    nums = (p.argnums,) if isinstance(p.argnums, int) else p.argnums
    args = arg_values(p)
    return [np.asarray(x).dtype.kind == "f" for n in nums for _, x in flat(args[n])]
