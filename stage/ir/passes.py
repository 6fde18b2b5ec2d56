"""Whole-program passes on the IR: effect analysis, dead-code elimination, verification.

Everything here asks the op table what an op does (`kind`, `effects`, `blocks`, `infer`); no op is
special-cased by name.
"""
from __future__ import annotations

from typing import Dict, List, Set

from .graph import Block, Node, StageError, StageTypeError, Sym
from .ops import OPS
from .carries import prune_dead_carries


def has_effects(node: Node) -> bool:
    """Whether a node writes memory (or may: a call, or a control form whose blocks do)."""
    d = OPS[node.op]
    if d.effects.writes or d.effects.unknown or d.effects.io:
        return True
    return d.runs_blocks and any(has_effects(n) for b in node.blocks for n in b.nodes)


def dce(block: Block) -> Block:
    """Remove nodes whose results are unused and which have no effects, and loop carries nothing
    needs (`stage.ir.carries`), until none is left (in place; returns block)."""
    _dce_nodes(block)
    while prune_dead_carries(block, has_effects):
        _dce_nodes(block)
    return block


def _dce_nodes(block: Block) -> Block:
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


def infer_node(n: Node):
    """The output types the table's type rule gives node n's arguments (and blocks)."""
    d = OPS[n.op]
    ts = [a.type for a in n.args]
    out = d.infer(ts, blocks=n.blocks, **n.params) if d.blocks else d.infer(ts, **n.params)
    return out if isinstance(out, tuple) else (out,)


def verify(block: Block):
    """Check scoping (every symbol is defined before use, in an enclosing scope) and types (every
    node's types are what its op's type rule gives, control forms included)."""
    # staged functions may be recursive: a closure's symbol is visible in its own body
    fun_syms = {n.sym.id for n in block.walk() if OPS[n.op].kind == "closure"}

    def check_block(b: Block, visible: Set[int]):
        visible = set(visible)
        visible.update(s.id for s in b.inputs)
        for n in b.nodes:
            for a in n.args:
                if isinstance(a, Sym) and a.id not in visible and a.id not in fun_syms:
                    raise StageError(f"verify: {a} used before its definition in {n}")
            for sb in n.blocks:
                check_block(sb, visible)
            try:
                ts = infer_node(n)
            except StageTypeError as e:
                raise StageError(f"verify: {n}: {e}") from None
            if tuple(s.type for s in n.syms) != ts:
                raise StageError(f"verify: {n} has types {[str(s.type) for s in n.syms]}, "
                                 f"expected {[str(t) for t in ts]}")
            visible.update(s.id for s in n.syms)
        for e in b.result:
            if isinstance(e, Sym) and e.id not in visible and e.id not in fun_syms:
                raise StageError(f"verify: block result {e} is not defined")
    check_block(block, set())
