"""A NumPy interpreter for any graph: the oracle for tests and a way to run without a compiler.

Every op runs its NumPy reference from the table; the control forms have rules here (`RULES`).
Blocks run as generators driven by one loop with an explicit stack: a branch, a loop body or a call
of a staged function is a request the running block yields, so staged recursion -- a loop under
`grad` is a recursive function that calls itself once per iteration -- needs no Python recursion
and is as deep as memory allows (a million iterations under `grad` take about a gigabyte).
Refs are NumPy arrays updated in place.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .graph import Block, Const, Exp, Node, Sym
from .ops import OPS
from .types import TensorType


class Env:
    __slots__ = ("vals", "parent")

    def __init__(self, parent: Optional["Env"] = None):
        self.vals: Dict[int, Any] = {}
        self.parent = parent

    def get(self, e: Exp):
        if isinstance(e, Const):
            return e.value
        env = self
        while env is not None:
            v = env.vals.get(e.id, _MISSING)
            if v is not _MISSING:
                return v
            env = env.parent
        raise KeyError(f"interpreter: {e} is not defined")


_MISSING = object()


class Closure:
    """A staged function value: its body and the environment it was defined in."""
    __slots__ = ("body", "env")

    def __init__(self, body: Block, env: Env):
        self.body, self.env = body, env


_NP_DTYPES = {}


def _check(sym: Sym, v):
    t = sym.type
    if isinstance(t, TensorType):
        arr = v if type(v) is np.ndarray else np.asarray(v)
        dt = _NP_DTYPES.get(t.dtype)
        if dt is None:
            dt = _NP_DTYPES[t.dtype] = np.dtype(t.dtype)
        if arr.dtype is not dt and arr.dtype != dt:
            arr = arr.astype(dt)
        if arr.shape != t.shape:
            raise AssertionError(f"interpreter: {sym} has shape {arr.shape}, expected {t}")
        return arr
    return v


def _steps(block: Block, plans: Dict[int, list]) -> list:
    """A block as a list of steps, made once per run: (control rule or None, NumPy reference,
    arguments as (True, constant) or (False, symbol id), params, output symbols, node)."""
    steps = plans.get(id(block))
    if steps is None:
        steps = plans[id(block)] = [
            (RULES.get(n.op), OPS[n.op].ref,
             [(True, a.value) if isinstance(a, Const) else (False, a.id) for a in n.args],
             n.params, n.syms, n) for n in block.nodes]
    return steps


def _lookup(env: Env, sid: int):
    e = env
    while e is not None:
        v = e.vals.get(sid, _MISSING)
        if v is not _MISSING:
            return v
        e = e.parent
    raise KeyError(f"interpreter: x{sid} is not defined")


def _run_block(block: Block, args: Sequence[Any], env: Env, plans: Dict[int, list]):
    """A generator running `block`: yields (block, args, env) to run a nested block and receives its
    results; returns the block's results."""
    vals = env.vals
    for s, a in zip(block.inputs, args):
        vals[s.id] = _check(s, a) if isinstance(s.type, TensorType) else a
    for rule, ref, argv, params, syms, node in _steps(block, plans):
        if rule is not None:
            outs = yield from rule(node, env)
        else:               # every other op (effect forms included) runs its NumPy reference
            outs = ref(*[v if const else (vals[v] if v in vals else _lookup(env, v))
                         for const, v in argv], **params)
            if len(syms) == 1:
                vals[syms[0].id] = _check(syms[0], outs)
                continue
        for s, v in zip(syms, outs):
            vals[s.id] = _check(s, v)
    return [env.get(e) for e in block.result]


# The rules below are generators too, but they only ever delegate to a request (`yield` of one
# tuple), never to a nested generator: the driver's stack holds one generator per running block.

def _cond(node: Node, env: Env):
    pred, *ops = [env.get(a) for a in node.args]
    blk = node.blocks[0] if bool(pred) else node.blocks[1]
    return (yield (blk, ops, env))


def _fori(node: Node, env: Env):
    lo, hi, *carry = [env.get(a) for a in node.args]
    (body,) = node.blocks
    for i in range(int(lo), int(hi)):
        carry = yield (body, [np.asarray(i, body.inputs[0].type.dtype)] + carry, env)
    return carry


def _while(node: Node, env: Env):
    carry = [env.get(a) for a in node.args]
    cond, body = node.blocks
    while bool((yield (cond, carry, env))[0]):
        carry = yield (body, carry, env)
    return carry


def _remat(node: Node, env: Env):
    return (yield (node.blocks[0], [env.get(a) for a in node.args], env))


def _fun(node: Node, env: Env):
    return [Closure(node.blocks[0], env)]
    yield                                        # a generator like every rule


class HostClosure:
    """A staged function value implemented by the interpreter itself (the continuation of one
    parallel example): `run(args)` is a generator like the rules."""
    __slots__ = ("run",)

    def __init__(self, run):
        self.run = run


def _call(node: Node, env: Env):
    f, *args = [env.get(a) for a in node.args]
    if isinstance(f, HostClosure):
        return (yield from f.run(args))
    return (yield (f.body, args, Env(f.env)))


def _parallel_map(node: Node, env: Env):
    (body,) = node.blocks
    outs = [np.empty(s.type.shape, s.type.dtype) for s in node.syms]
    for i in range(node.params["n"]):
        res = yield (body, [np.asarray(i, np.int64)], env)
        for o, r in zip(outs, res):
            o[i] = r
    return outs


def _parallel_map_grad(node: Node, env: Env):
    """Sequentially, as nested continuations: example i's continuation stores its outputs and runs
    example i + 1 (the last one runs the rest of the program), then adds its output cotangents --
    every example's backward after every forward, as the native version does on several threads.
    The examples accumulate into the refs themselves (the native code sums group copies of them)."""
    ex, kfun, *refs = [env.get(a) for a in node.args]
    n, act = node.params["n"], node.params["act"]
    types = [t for t in kfun.body.inputs[:len(act)]]
    ys = [np.zeros(s.type.shape, s.type.dtype) for s in types]
    dys = [np.zeros(s.type.shape, s.type.dtype) for s, a in zip(types, act) if a]

    def example(i):
        return (ex.body, [np.asarray(i, np.int64)] + refs + [HostClosure(continuation(i))],
                Env(ex.env))

    def continuation(i):
        def run(args):
            vals, drefs = args[:len(ys)], args[len(ys):]
            for y, v in zip(ys, vals):
                y[i] = v
            yield example(i + 1) if i + 1 < n else (kfun.body, ys + dys, Env(kfun.env))
            for r, d in zip(drefs, dys):
                r += d[i]
            return []
        return run
    if n == 0:
        yield (kfun.body, ys + dys, Env(kfun.env))
    else:
        yield example(0)
    return []


# The interpreter's rules for the ops whose meaning is not a NumPy function: the control forms of the
# table (a completeness test checks that every op has a reference or a rule here).
RULES = {"cond": _cond, "fori_loop": _fori, "while_loop": _while, "remat": _remat, "fun": _fun,
         "call": _call, "parallel_map": _parallel_map, "parallel_map_grad": _parallel_map_grad}


def interpret(block: Block, args: Sequence[Any]) -> List[Any]:
    """Evaluate `block` on NumPy arguments (quietly: 0/0 is NaN, as in native code)."""
    with np.errstate(all="ignore"):
        return _drive(block, args)


def _drive(block: Block, args: Sequence[Any]) -> List[Any]:
    plans: Dict[int, list] = {}
    stack = [_run_block(block, list(args), Env(), plans)]
    value = None
    while True:
        try:
            request = stack[-1].send(value)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value
            value = done.value
            continue
        stack.append(_run_block(*request, plans))
        value = None
