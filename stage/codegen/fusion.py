"""Fusion decisions: which nodes are computed inside their consumer's loop instead of on their own.

An elementwise node whose single consumer is, in the same block, an elementwise node of the same shape, a
reduction of it, an accumulation into a ref or an in-place update of an input, is inlined there: a chain of elementwise ops becomes one
loop with one statement per op and no intermediate buffers. An op with an `into` lowering in
the table (a matmul: a gemm with beta = 1; a sum; a deferred outer product; an indexing gradient)
whose single use is an accumulation into a ref, or an in-place update, is computed straight into it.
"""
from __future__ import annotations

from typing import Dict, Set

from ..ir.graph import Block, Const, Node, Sym
from ..ir.types import RefType
from ..ir.ops import OPS



def _is_elementwise(n: Node) -> bool:
    d = OPS.get(n.op)
    return d is not None and d.kind == "elementwise"


def plan(block: Block) -> Set[int]:
    """ids of the nodes to inline into their consumer (also fills `consumers`: sym id -> count)."""
    uses: Dict[int, int] = {}
    user: Dict[int, tuple] = {}
    users: Dict[int, list] = {}
    home: Dict[int, int] = {}

    def visit(b: Block):
        for n in b.nodes:
            for s in n.syms:
                home[s.id] = id(b)
            for a in {a.id: a for a in n.args if isinstance(a, Sym)}.values():
                uses[a.id] = uses.get(a.id, 0) + 1         # one per consuming node
                user[a.id] = (id(b), n)
                users.setdefault(a.id, []).append(n)
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
            elif (u.op in OPS and OPS[u.op].kind == "reduce") or \
                    (u.op in ("accum", "store") and u.args[1] is s):
                inlined.add(id(n))
            elif u.op in OPS and OPS[u.op].fuses is not None and OPS[u.op].fuses(u, s):
                inlined.add(id(n))        # computed in the consumer's own loop
        elif n.op in OPS and u.op in OPS[n.op].into_effects and u.args[1] is s:
            inlined.add(id(n))            # computed straight into the effect's target
            plan.defers = plan.defers or OPS[n.op].deferred
    plan.consumers = uses
    plan.effect_groups = _effect_groups(block, inlined, users, uses)
    plan.blank_refs = _deferred_only_refs(block, inlined) if plan.defers else set()
    return inlined


def _effect_groups(block: Block, inlined: Set[int], users, uses):
    """Effects on several arrays of one shape become one loop, emitted at the last of them, with an
    elementwise node all of whose consumers are in the group computed inside that loop instead of
    into a buffer: in-place updates of the entry (an optimizer's parameters and state), and runs of
    adjacent accumulations into refs (the cotangent of `a + b` goes to both a and b). Returns the
    groups (effect nodes, nodes moved into the loop) and adds the moved nodes to `inlined`."""
    candidates = []
    by_shape: Dict[tuple, list] = {}
    for n in block.nodes:
        if n.op == "store":
            by_shape.setdefault(n.args[0].type.shape, []).append(n)
    candidates += [(block, g) for g in by_shape.values() if len(g) >= 2]

    def plain(n):                # an accumulation lowered as an elementwise loop
        v = n.args[1]
        p = _producer.get(getattr(v, "id", None))
        return not (p is not None and id(p) in inlined and p.op in OPS and
                    OPS[p.op].into is not None)

    def runs(b: Block):
        run = []
        for n in b.nodes:
            if n.op == "accum" and plain(n) and (not run or
                                                  n.args[1].type.shape == run[0].args[1].type.shape):
                run.append(n)
                continue
            if n.op == "accum" or not (_is_elementwise(n) or OPS.get(n.op, None) is None):
                if len(run) >= 2:
                    candidates.append((b, run))
                run = [n] if n.op == "accum" and plain(n) else []
            elif run and not _is_elementwise(n):
                if len(run) >= 2:
                    candidates.append((b, run))
                run = []
        if len(run) >= 2:
            candidates.append((b, run))
        for n in b.nodes:
            for sb in n.blocks:
                runs(sb)
    _producer = {n.syms[0].id: n for n in block.walk() if len(n.syms) == 1}
    runs(block)
    out = []
    for b, g in candidates:
        members = {id(n) for n in g}
        moved = []
        # the nodes already fused into these effects belong to the group
        stack = [n.args[1] for n in g]
        while stack:
            e = stack.pop()
            p = _producer.get(getattr(e, "id", None))
            if p is not None and id(p) in inlined and id(p) not in members:
                members.add(id(p))
                stack.extend(p.args)
        shape = g[0].args[1].type.shape
        here = {id(n) for n in b.nodes}
        for n in reversed(b.nodes):              # consumers come later: one backward sweep
            if id(n) in members or id(n) not in here or not _is_elementwise(n) or \
                    n.sym.type.shape != shape or uses.get(n.sym.id, 0) != len(users.get(n.sym.id, ())):
                continue
            if all(id(u) in members and not (u.op in ("store", "accum") and u.args[0] is n.sym)
                   for u in users.get(n.sym.id, ())):
                members.add(id(n))
                inlined.add(id(n))
                moved.append(n)
        out.append((g, moved[::-1]))
    return out


def _deferred_only_refs(block: Block, inlined: Set[int]) -> Set[int]:
    """Refs created with zeros whose every update is deferred (an op with `deferred` in the table,
    computed into the accumulation) -- also through the parameters of the staged functions they
    are passed to -- and that are otherwise only read back: they need no zero-filling, their first
    flush overwrites them."""
    producer = {n.syms[0].id: n for n in block.walk() if len(n.syms) == 1}
    funs = {n.sym.id: n.blocks[0] for n in block.walk() if n.op == "fun"}
    ok = {n.sym.id for n in block.walk() if n.op == "new_var" and is_zero_init(n, producer)}
    for body in funs.values():
        ok.update(s.id for s in body.inputs if isinstance(s.type, RefType))
    uses: Dict[int, list] = {}
    for n in block.walk():
        for k, a in enumerate(n.args):
            if isinstance(a, Sym) and isinstance(a.type, RefType):
                uses.setdefault(a.id, []).append((n, k))

    def fine(n, k):
        if n.op == "read_var":
            return True
        if n.op == "accum" and k == 0:
            p = producer.get(getattr(n.args[1], "id", None))
            return p is not None and id(p) in inlined and p.op in OPS and OPS[p.op].deferred
        if n.op == "call" and k > 0 and n.args[0].id in funs:
            return funs[n.args[0].id].inputs[k - 1].id in ok
        return False
    changed = True
    while changed:
        changed = False
        for r in list(ok):
            if not all(fine(n, k) for n, k in uses.get(r, ())):
                ok.discard(r)
                changed = True
    return ok


def is_zero_init(n: Node, producer) -> bool:
    """Whether new_var node n starts from zeros (a zero constant, possibly broadcast)."""
    e = n.args[0]
    while True:
        if isinstance(e, Const):
            return not e.value.any()
        p = producer.get(e.id)
        if p is None or p.op != "broadcast_to":
            return False
        e = p.args[0]
