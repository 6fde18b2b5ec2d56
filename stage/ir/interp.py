"""A NumPy interpreter for any graph: the oracle for tests and a way to run without a compiler.

Control flow runs as Python control flow; staged functions become Python closures with their own
frames (so recursion works); refs are NumPy arrays updated in place. Deep staged recursion runs on a
worker thread with a large stack.
"""
from __future__ import annotations

import sys
import threading
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


def _check(sym: Sym, v):
    t = sym.type
    if isinstance(t, TensorType):
        arr = np.asarray(v)
        if arr.dtype.name != t.dtype:
            arr = arr.astype(t.dtype)
        if arr.shape != t.shape:
            raise AssertionError(f"interpreter: {sym} has shape {arr.shape}, expected {t}")
        return arr
    return v


def run_block(block: Block, args: Sequence[Any], env: Env) -> List[Any]:
    for s, a in zip(block.inputs, args):
        env.vals[s.id] = _check(s, a) if isinstance(s.type, TensorType) else a
    for node in block.nodes:
        _run_node(node, env)
    return [env.get(e) for e in block.result]


def _run_node(node: Node, env: Env):
    op = node.op
    rule = CONTROL.get(op)
    if rule is not None:
        outs = rule(node, env)
    elif op == "new_var":
        outs = [np.array(np.broadcast_to(env.get(node.args[0]), node.sym.type.elem.shape))]
    elif op == "accum":
        ref = env.get(node.args[0])
        ref += env.get(node.args[1])
        outs = []
    elif op == "store":
        dst = env.get(node.args[0])
        dst[...] = env.get(node.args[1])
        outs = []
    else:
        opdef = OPS[op]
        outs = [opdef.ref(*[env.get(a) for a in node.args], **node.params)]
    for s, v in zip(node.syms, outs):
        env.vals[s.id] = _check(s, v)


def _cond(node, env):
    pred, *ops = [env.get(a) for a in node.args]
    blk = node.blocks[0] if bool(pred) else node.blocks[1]
    return run_block(blk, ops, env)


def _fori(node, env):
    lo, hi, *carry = [env.get(a) for a in node.args]
    (body,) = node.blocks
    for i in range(int(lo), int(hi)):
        carry = run_block(body, [np.asarray(i, body.inputs[0].type.dtype)] + carry, env)
    return carry


def _while(node, env):
    carry = [env.get(a) for a in node.args]
    cond, body = node.blocks
    while bool(run_block(cond, carry, env)[0]):
        carry = run_block(body, carry, env)
    return carry


def _fun(node, env):
    (body,) = node.blocks

    def closure(*args):
        return run_block(body, args, Env(env))
    return [closure]


def _call(node, env):
    f, *args = [env.get(a) for a in node.args]
    return f(*args)


CONTROL = {"cond": _cond, "fori_loop": _fori, "while_loop": _while, "fun": _fun, "call": _call}


def interpret(block: Block, args: Sequence[Any], stack_mb: int = 1024) -> List[Any]:
    """Evaluate `block` on NumPy arguments; runs on a thread with a large stack for deep recursion."""
    result: Dict[str, Any] = {}

    def work():
        try:
            result["v"] = run_block(block, list(args), Env())
        except BaseException as e:          # re-raised in the caller's thread
            result["e"] = e
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 200_000))
    old_size = threading.stack_size()
    try:
        threading.stack_size(stack_mb * 1024 * 1024)
        t = threading.Thread(target=work)
        t.start()
    finally:
        threading.stack_size(old_size)
    t.join()
    sys.setrecursionlimit(old_limit)
    if "e" in result:
        raise result["e"]
    return result["v"]
