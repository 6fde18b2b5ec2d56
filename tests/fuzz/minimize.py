"""Shrinking a failing program to a small reproducer, and grouping findings by cause.

`minimize(p, still_fails)` tries simpler variants -- forward mode or fewer argnums, fewer outputs,
statements removed (their results become new inputs of the same type), control forms inlined (a
branch, or one loop iteration, in place of the form), pytree arguments flattened, input values
rounded -- and keeps each one on which `still_fails` holds, until nothing simpler fails.
"""
from __future__ import annotations

import copy
import re

import numpy as np

from .program import Input, Program, Var, tree_leaves


def signature(f) -> str:
    """The failure's class: category, exception type and message with names and numbers erased."""
    msg = re.sub(r"\([^()]*\)", "", f.message)
    msg = re.sub(r"/\S+", "<path>", msg)
    msg = re.sub(r"\b[a-z]_?\d+\b", "<name>", msg)
    msg = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "<n>", msg)
    if f.category in ("native_value", "torch_value", "torch_grad", "gradient_fd"):
        msg = msg.split(":")[0]
    return f"{f.category}: {msg[:120]}"


# ------------------------------------------------------------------------------------------ edits

def _all_stmts(block, out=None):
    out = [] if out is None else out
    for s in block.stmts:
        out.append((block, s))
        for b in s.blocks:
            _all_stmts(b, out)
    return out


def _replace_uses(p, old, new):
    def fix(block):
        block.params = [new if v is old else v for v in block.params]
        block.result = [new if v is old else v for v in block.result]
        for s in block.stmts:
            s.args = [new if a is old else a for a in s.args]
            for b in s.blocks:
                fix(b)
    fix(p.body)


def _fresh_input(p, v: Var, rng):
    if v.dtype.startswith("float"):
        value = rng.standard_normal(v.shape).astype(v.dtype)
    elif v.dtype == "bool":
        value = rng.random(v.shape) < 0.5
    else:
        lo, hi = (v.lo, v.hi) if v.lo is not None else (0, 2)
        value = rng.integers(lo, max(hi, lo + 1), size=v.shape).astype(np.int64)
    if v.shape == ():
        value = np.asarray(value)[()]
    nv = Var(f"{'x' if v.is_float else 'i' if v.dtype == 'int64' else 'p'}{v.name[1:]}_", v.shape,
             v.dtype, v.lo, v.hi)
    p.inputs.append(Input(nv, value, "x"))
    p.groups.append(len(p.inputs) - 1)
    return nv


def prune_inputs(p: Program):
    """Drop inputs nothing uses; renumber the parameter groups and argnums."""
    used = set()

    def walk(block):
        used.update(id(v) for v in block.result)
        for s in block.stmts:
            used.update(id(a) for a in s.args if isinstance(a, Var))
            for b in s.blocks:
                walk(b)
    walk(p.body)
    keep = [k for k, i in enumerate(p.inputs) if id(i.var) in used]
    remap = {old: new for new, old in enumerate(keep)}
    p.inputs = [p.inputs[k] for k in keep]
    nums = (p.argnums,) if isinstance(p.argnums, int) else tuple(p.argnums)
    groups, gmap = [], {}
    for k, g in enumerate(p.groups):
        g2 = _prune_tree(g, remap)
        if g2 is not None:
            gmap[k] = len(groups)
            groups.append(g2)
    p.groups = groups
    nums = tuple(gmap[n] for n in nums if n in gmap and
                 any(p.inputs[j].var.is_float for j in tree_leaves(groups[gmap[n]])))
    if p.mode != "fwd" and not nums:
        p.mode = "fwd"
    if p.mode != "fwd":
        p.argnums = nums[0] if isinstance(p.argnums, int) and len(nums) == 1 else nums
    return p


def _prune_tree(t, remap):
    if isinstance(t, int):
        return remap.get(t)
    kids = [(k, _prune_tree(c, remap)) for k, c in (t[1] if t[0] == "dict" else enumerate(t[1]))]
    kids = [(k, c) for k, c in kids if c is not None]
    if not kids:
        return None
    if t[0] == "dict":
        return ("dict", kids)
    return (t[0], [c for _, c in kids])


def _remove_stmt(p, idx, rng):
    block, s = _all_stmts(p.body)[idx]
    block.stmts.remove(s)
    for v in s.outs:
        _replace_uses(p, v, _fresh_input(p, v, rng))
    return p


def _remove_range(p, lo, hi, rng):
    """Drop top-level statements lo..hi-1 at once (delta debugging's big steps)."""
    gone = p.body.stmts[lo:hi]
    del p.body.stmts[lo:hi]
    for s in gone:
        for v in s.outs:
            _replace_uses(p, v, _fresh_input(p, v, rng))
    return p


def _bypass(p, idx, k):
    """Drop an op statement, its result replaced by its k-th argument (when of the same type)."""
    block, s = _all_stmts(p.body)[idx]
    if s.kind != "op" or k >= len(s.args):
        return None
    a, out = s.args[k], s.outs[0]
    if not isinstance(a, Var) or a.shape != out.shape or a.dtype != out.dtype:
        return None
    block.stmts.remove(s)
    _replace_uses(p, out, a)
    return p


def _inline(p, idx, which, rng):
    """Replace a control form by one of its blocks (a branch, or one loop iteration)."""
    block, s = _all_stmts(p.body)[idx]
    if s.kind == "op" or which >= len(s.blocks) or (s.kind == "while" and which == 0):
        return None
    b = s.blocks[which]
    at = block.stmts.index(s)
    if s.kind == "cond":
        binds = list(zip(b.params, s.args[1:]))
    elif s.kind == "fori":
        i = b.params[0]
        binds = [(i, _fresh_input(p, i, rng))] + list(zip(b.params[1:], s.args[2:]))
    else:
        binds = list(zip(b.params, s.args))
    for param, arg in binds:
        if not isinstance(arg, Var):                       # a literal carry (the while counter)
            arg = _fresh_input(p, param, rng)
        _replace_uses(p, param, arg)
    block.stmts[at:at + 1] = b.stmts
    for out, res in zip(s.outs, b.result):
        _replace_uses(p, out, res)
    return p


def candidates(p: Program, rng):
    """Simpler variants of p, biggest simplifications first (each a fresh copy)."""
    def edit(fn):
        q = copy.deepcopy(p)
        r = fn(q)
        return None if r is None else prune_inputs(r)
    if p.mode != "fwd":
        yield edit(lambda q: setattr(q, "mode", "fwd") or q)
    if p.mode == "vg":
        yield edit(lambda q: setattr(q, "mode", "g") or q)
    if isinstance(p.argnums, tuple) and len(p.argnums) > 1 and p.mode != "fwd":
        for n in p.argnums:
            yield edit(lambda q, n=n: setattr(q, "argnums", n) or q)
    if len(p.body.result) > 1:
        yield edit(lambda q: setattr(q.body, "result", q.body.result[:1]) or q)
        for k in range(1, len(p.body.result)):
            yield edit(lambda q, k=k: q.body.result.pop(k) and q)
    top = len(p.body.stmts)
    size = top // 2
    while size >= 2:
        for lo in range(0, top - size + 1, size):
            yield edit(lambda q, lo=lo, size=size: _remove_range(q, lo, lo + size, rng))
        size //= 2
    n = len(_all_stmts(p.body))
    for idx in range(n):
        for which in (0, 1):
            yield edit(lambda q, idx=idx, w=which: _inline(q, idx, w, rng))
    for idx in reversed(range(n)):
        for k in range(3):
            yield edit(lambda q, idx=idx, k=k: _bypass(q, idx, k))
        yield edit(lambda q, idx=idx: _remove_stmt(q, idx, rng))
    if any(not isinstance(g, int) for g in p.groups):
        yield edit(_flatten_groups)
    yield edit(_round_values)


def _flatten_groups(q):
    nums = (q.argnums,) if isinstance(q.argnums, int) else q.argnums
    new, argn = [], []
    for k, g in enumerate(q.groups):
        for leaf in tree_leaves(g):
            if k in nums and q.inputs[leaf].var.is_float:
                argn.append(len(new))
            new.append(leaf)
    q.groups = new
    if q.mode != "fwd":
        q.argnums = tuple(argn)
    return q


def _round_values(q):
    changed = False
    for i in q.inputs:
        if i.var.is_float and np.size(i.value):
            r = np.round(np.asarray(i.value), 1).astype(np.asarray(i.value).dtype)
            changed |= not np.array_equal(r, i.value)
            i.value = r if np.ndim(r) else r[()]
    return q if changed else None


def minimize(p: Program, still_fails, budget=150, seed=0):
    rng = np.random.default_rng(seed)
    best = prune_inputs(copy.deepcopy(p))
    progress = True
    while progress and budget > 0:
        progress = False
        for cand in candidates(best, rng):
            if cand is None:
                continue
            budget -= 1
            if budget <= 0:
                break
            if _size(cand) < _size(best) or cand.mode != best.mode or _values_simpler(cand, best):
                if still_fails(cand):
                    best, progress = cand, True
                    break
    return best


def _size(p):
    return len(_all_stmts(p.body)) * 4 + len(p.inputs) + len(p.body.result) + \
        (0 if isinstance(p.argnums, int) else len(p.argnums))


def _values_simpler(a, b):
    return any(not np.array_equal(x.value, y.value) for x, y in zip(a.inputs, b.inputs))
