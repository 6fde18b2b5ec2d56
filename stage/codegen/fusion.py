"""Fusion decisions: which nodes are computed inside their consumer's loop instead of on their own.

An elementwise node whose single consumer is, in the same block, an elementwise node of the same shape, a
reduction of it, an accumulation into a ref or an in-place update of an input, is inlined there: a chain of elementwise ops becomes one
loop with one statement per op and no intermediate buffers. A matmul whose single use is an
accumulation into a ref becomes a BLAS call with beta = 1 into the ref.
"""
from __future__ import annotations

from typing import Dict, Set

from ..ir.graph import Block, Node, Sym
from ..ir.ops import OPS

REDUCE_OPS = ("sum", "max")


def _is_elementwise(n: Node) -> bool:
    d = OPS.get(n.op)
    return d is not None and d.kind == "elementwise"


def _slice_shape(n: Node):
    from ..ir.ops.shape import _spec_shape
    return _spec_shape(n.args[0].type.shape, n.params["spec"])


def plan(block: Block) -> Set[int]:
    """ids of the nodes to inline into their consumer (also fills `consumers`: sym id -> count)."""
    uses: Dict[int, int] = {}
    user: Dict[int, tuple] = {}
    home: Dict[int, int] = {}

    def visit(b: Block):
        for n in b.nodes:
            for s in n.syms:
                home[s.id] = id(b)
            for a in {a.id: a for a in n.args if isinstance(a, Sym)}.values():
                uses[a.id] = uses.get(a.id, 0) + 1         # one per consuming node
                user[a.id] = (id(b), n)
            for sb in n.blocks:
                visit(sb)
                for r in sb.result:
                    if isinstance(r, Sym):
                        uses[r.id] = uses.get(r.id, 0) + 2     # results are materialised
        for r in b.result:
            if isinstance(r, Sym):
                uses[r.id] = uses.get(r.id, 0) + 2
    visit(block)
    inlined: Set[int] = set()
    plan.defers = False
    for n in block.walk():
        if len(n.syms) != 1:
            continue
        s = n.sym
        if uses.get(s.id) != 1:
            continue
        ub, u = user[s.id]
        if ub != home[s.id]:
            continue
        if _is_elementwise(n):
            if _is_elementwise(u) and u.sym.type.shape == s.type.shape:
                inlined.add(id(n))
            elif u.op in REDUCE_OPS or (u.op in ("accum", "store") and u.args[1] is s):
                inlined.add(id(n))
            elif u.op == "setitem_add" and u.args[1] is s and _slice_shape(u) == s.type.shape:
                inlined.add(id(n))        # computed in the loop that adds it into the slice
        elif n.op == "matmul" and u.op in ("accum", "store") and u.args[1] is s:
            inlined.add(id(n))
        elif n.op == "sum" and u.op == "accum" and u.args[1] is s:
            inlined.add(id(n))            # reduced straight into the ref
        elif n.op == "outer" and u.op == "accum" and u.args[1] is s:
            inlined.add(id(n))            # deferred rank-1 update (see runtime deferred.h)
            plan.defers = True
        elif n.op in OPS and OPS[n.op].sparse_update and u.op == "accum" and u.args[1] is s:
            inlined.add(id(n))            # applied to the ref directly (see Lowering.accumulate_into)
    plan.consumers = uses
    return inlined
