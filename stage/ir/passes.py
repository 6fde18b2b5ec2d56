"""Whole-program passes on the IR: effect analysis, dead-code elimination, verification."""
from __future__ import annotations

from typing import Dict, List, Set

from .graph import Block, Node, StageError, Sym
from .ops import OPS
from .types import FunType

CONTROL_OPS = ("cond", "fori_loop", "while_loop", "fun", "call")


def has_effects(node: Node, _memo: Dict[int, bool] = None) -> bool:
    """Whether a node writes a ref (or may: a call, or a block containing such a node)."""
    if node.op == "call":
        return True
    if node.op in CONTROL_OPS:
        if node.op == "fun":
            return False          # defining a closure does nothing until it is called
        return any(has_effects(n) for b in node.blocks for n in b.nodes)
    opdef = OPS[node.op]
    return not opdef.pure and node.op != "read_var" and node.op != "new_var"


def dce(block: Block) -> Block:
    """Remove nodes whose results are unused and which have no effects (in place; returns block)."""
    defs: Dict[int, Node] = {}
    for n in block.walk():
        for s in n.syms:
            defs[s.id] = n
    live_nodes: Set[int] = set()
    work: List[Node] = []

    def mark_sym(e):
        if isinstance(e, Sym):
            n = defs.get(e.id)
            if n is not None and id(n) not in live_nodes:
                live_nodes.add(id(n))
                work.append(n)

    def mark_block(b: Block):
        for e in b.result:
            mark_sym(e)
        for n in b.nodes:
            if has_effects(n) and id(n) not in live_nodes:
                live_nodes.add(id(n))
                work.append(n)

    mark_block(block)
    while work:
        n = work.pop()
        for a in n.args:
            mark_sym(a)
        for b in n.blocks:
            mark_block(b)

    def sweep(b: Block):
        b.nodes[:] = [n for n in b.nodes if id(n) in live_nodes]
        for n in b.nodes:
            for sb in n.blocks:
                sweep(sb)
    sweep(block)
    return block


def verify(block: Block):
    """Check scoping (every symbol is defined before use, in an enclosing scope) and types."""
    fun_syms = {n.sym.id for n in block.walk() if n.op == "fun"}   # closures may be recursive

    def check_block(b: Block, visible: Set[int]):
        visible = set(visible)
        visible.update(s.id for s in b.inputs)
        for n in b.nodes:
            for a in n.args:
                if isinstance(a, Sym) and a.id not in visible and a.id not in fun_syms:
                    raise StageError(f"verify: {a} used before its definition in {n}")
            if n.op not in CONTROL_OPS:
                ts = OPS[n.op].infer([a.type for a in n.args], **n.params)
                ts = ts if isinstance(ts, tuple) else (ts,)
                if tuple(s.type for s in n.syms) != ts:
                    raise StageError(f"verify: {n} has types {[s.type for s in n.syms]}, "
                                     f"expected {list(ts)}")
            for sb in n.blocks:
                check_block(sb, visible)
            _check_control(n)
            visible.update(s.id for s in n.syms)
        for e in b.result:
            if isinstance(e, Sym) and e.id not in visible and e.id not in fun_syms:
                raise StageError(f"verify: block result {e} is not defined")
    check_block(block, set())


def _check_control(n: Node):
    types = tuple(s.type for s in n.syms)
    if n.op == "cond":
        for b in n.blocks:
            if b.result_types != types:
                raise StageError(f"verify: cond branch returns {b.result_types}, node has {types}")
    elif n.op in ("fori_loop", "while_loop"):
        body = n.blocks[-1]
        if body.result_types != types:
            raise StageError(f"verify: loop body returns {body.result_types}, node has {types}")
    elif n.op == "fun":
        ft = n.sym.type
        (body,) = n.blocks
        if tuple(s.type for s in body.inputs) != ft.inputs or body.result_types != ft.outputs:
            raise StageError(f"verify: closure body does not match its type {ft}")
    elif n.op == "call":
        ft = n.args[0].type
        if not isinstance(ft, FunType) or tuple(a.type for a in n.args[1:]) != ft.inputs or \
                types != ft.outputs:
            raise StageError(f"verify: call {n} does not match the function type {ft}")
