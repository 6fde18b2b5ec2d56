"""Fusion decisions: which nodes are computed inside their consumer's loop instead of on their own.

An elementwise node whose single consumer is, in the same block, an elementwise node of the same
shape, a reduction of it, an effect writing it (an accumulation into a ref, an in-place update of an
input), or an op whose lowering `fuses` it, is inlined there: a chain of elementwise ops becomes one
loop with one statement per op and no intermediate buffers. An op whose lowering has an `into` rule
(a matmul: a gemm with beta = 1; a sum; a deferred outer product; an indexing gradient) and whose
single use is an effect of a combine it supports is computed straight into the effect's target. An
elementwise sum with a matrix product as one term (`p - lr * (x.T @ d)`, `x + h @ w`) fills its
buffer with the other terms and has the product added there by the gemm (`Epilogue`).

Everything is decided from the two tables: what an op is (`stage.ir.ops`) and how the backend
lowers it (`codegen.lowerings`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from ..ir.graph import Block, Const, Exp, Node, Sym
from ..ir.inplace import written_inputs
from ..ir.ops import OPS
from ..ir.types import RefType
from .lowerings import LOWERINGS


@dataclass
class FusionPlan:
    inlined: Set[int]                           # ids of nodes computed by their consumer
    consumers: Dict[int, int]                   # sym id -> number of consuming nodes
    defers: bool = False                        # some ref receives deferred rank-1 updates
    blank_refs: Set[int] = field(default_factory=set)    # refs whose first flush initialises them
    # effects on arrays of one shape emitted together at the last of each group, with the nodes
    # moved into that loop
    effect_groups: List[Tuple[List[Node], List[Node]]] = field(default_factory=list)
    epilogues: Dict[int, "Epilogue"] = field(default_factory=dict)    # node id -> its product term


@dataclass(frozen=True)
class Epilogue:
    """A materialised elementwise sum (`signs` ops, fused into one loop) one of whose terms is
    `sign * scale * product` for a product whose lowering has `scaled_into` (a matmul): the sum's
    loop fills its buffer with the other terms (`term` read as 0), then the product is added there
    scaled (a gemm with beta = 1), instead of being written to a buffer of its own and read back.
    Saves a pass over the product and its buffer: with the MLP's `w - lr * (x.T @ d)` (a 400 KB
    gradient) its step ran 20-30 us (3-5%) faster at one thread, even at two."""
    product: Node
    term: Sym                   # the product, or the inlined scale * product
    sign: int
    scale: Optional[Exp]        # a 0-d factor of the term, None for 1


def _is_elementwise(n: Node) -> bool:
    return OPS[n.op].kind == "elementwise"


def _writes_value(u: Node, s: Sym) -> bool:
    """Whether effect node u writes s (as its value) into a target."""
    e = OPS[u.op].effects
    return e.value is not None and u.args[e.value] is s


def plan(block: Block) -> FusionPlan:
    uses: Dict[int, int] = {}
    user: Dict[int, tuple] = {}
    users: Dict[int, list] = {}
    home: Dict[int, int] = {}
    made: Dict[int, Node] = {}          # sym -> the node computing it (nodes of one result)

    def visit(b: Block):
        for n in b.nodes:
            for s in n.syms:
                home[s.id] = id(b)
            if len(n.syms) == 1:
                made[n.syms[0].id] = n
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
    crossing = _update_crossings(block)
    p = FusionPlan(set(), uses)
    for n in block.walk():
        if len(n.syms) != 1:
            continue
        s = n.sym
        if uses.get(s.id) != 1:
            continue
        ub, u = user[s.id]
        if ub != home[s.id] or (id(n), id(u)) in crossing:
            continue
        ulow = LOWERINGS.get(u.op)
        once = sum(a is s for a in u.args) == 1     # a kernel reading s twice needs its buffer
        if _is_elementwise(n):
            if _is_elementwise(u) and u.sym.type.shape == s.type.shape:
                p.inlined.add(id(n))
            elif OPS[u.op].kind == "reduce" or (_writes_value(u, s) and once):
                p.inlined.add(id(n))
            elif once and ulow is not None and ulow.fuses is not None and ulow.fuses(u, s):
                p.inlined.add(id(n))        # computed in the consumer's own loop
        elif _writes_value(u, s) and once:
            low = LOWERINGS.get(n.op)
            if low is not None and low.into is not None and \
                    OPS[u.op].effects.combine in low.into_combine:
                p.inlined.add(id(n))        # computed straight into the effect's target
                p.defers = p.defers or low.deferred
    p.effect_groups = _effect_groups(block, p.inlined, users, uses, made)
    p.blank_refs = _deferred_only_refs(block, p.inlined, made) if p.defers else set()
    for n in block.walk():
        ep = _epilogue(n, p.inlined, uses, home, crossing, made)
        if ep is not None:
            p.epilogues[id(n)] = ep
            p.inlined.add(id(ep.product))
    return p


def _epilogue(u: Node, inlined: Set[int], uses, home, crossing, made) -> Optional[Epilogue]:
    """u's product term, when u is a materialised float sum of the product's shape with one."""
    if len(u.syms) != 1 or id(u) in inlined or not OPS[u.op].signs:
        return None
    t = u.sym.type
    if t.dtype not in ("float32", "float64") or not t.shape:
        return None

    def producer(e: Exp) -> Optional[Node]:
        return made.get(e.id) if isinstance(e, Sym) else None

    def product(e: Exp, consumer: Node) -> Optional[Node]:
        q = producer(e)
        if q is None or id(q) in inlined or uses.get(e.id) != 1 or e.type != t or \
                home.get(e.id) != home.get(u.sym.id) or (id(q), id(consumer)) in crossing:
            return None
        # `uses` counts consuming nodes: a node reading the product twice (p + p, or p * p in
        # a scaled term) does not make it one product term
        if sum(isinstance(a, Sym) and a.id == e.id for a in consumer.args) != 1:
            return None
        low = LOWERINGS.get(q.op)
        return q if low is not None and low.scaled_into is not None else None

    stack = [(u, 1)]
    while stack:                         # the sum's inlined terms, depth first
        n, sign = stack.pop()
        for a, sg in zip(n.args, OPS[n.op].signs):
            q = producer(a)
            if q is None or sum(isinstance(b, Sym) and b.id == a.id for b in n.args) != 1:
                continue        # a term read twice (s + s) counts twice: not one product term
            found = product(a, n)
            if found is not None:
                return Epilogue(found, a, sign * sg, None)
            if id(q) not in inlined or a.type != t or not _is_elementwise(q):
                continue
            if OPS[q.op].signs:
                stack.append((q, sign * sg))
            elif OPS[q.op].product:       # scale * product, the scale 0-d
                for k in (0, 1):
                    c, m = q.args[k], q.args[1 - k]
                    if c.type.shape == () and c.type.dtype == t.dtype and \
                            (found := product(m, q)) is not None:
                        return Epilogue(found, a, sign * sg, c)
    return None


def _update_crossings(block: Block) -> Set[Tuple[int, int]]:
    """(producer, consumer) pairs of one block with an in-place update of an input the producer
    reads (through views) between them: the producer must run before the update, not in the
    consumer's loop after it."""
    out: Set[Tuple[int, int]] = set()
    if not any(written_inputs(n) for n in block.walk()):
        return out

    def visit(b: Block):
        reads: Dict[int, Set[int]] = {s.id: {s.id} for s in b.inputs}   # sym -> arrays it reads
        pos: Dict[int, int] = {}
        writes: List[Tuple[int, Set[int]]] = []
        for k, n in enumerate(b.nodes):
            r: Set[int] = set()
            for a in n.args:
                if isinstance(a, Sym):
                    r |= reads.get(a.id, {a.id})
            for s in n.syms:
                reads[s.id] = r
                pos[s.id] = k
            w = written_inputs(n)
            if w:
                writes.append((k, w))
            for a in n.args:
                if isinstance(a, Sym) and a.id in pos:
                    j = pos[a.id]
                    if any(j < wk < k and ws & reads[a.id] for wk, ws in writes):
                        out.add((id(b.nodes[j]), id(n)))
            for sb in n.blocks:
                visit(sb)
    visit(block)
    return out


def _plain_accumulation(n: Node, inlined: Set[int], producer) -> bool:
    """An accumulation into a ref lowered as an elementwise loop (its value is not computed
    straight into the ref by an `into` rule)."""
    e = OPS[n.op].effects
    if e.combine != "add":
        return False
    p = producer.get(getattr(n.args[e.value], "id", None))
    return not (p is not None and id(p) in inlined and LOWERINGS[p.op].into is not None)


def _effect_groups(block: Block, inlined: Set[int], users, uses, producer):
    """Effects on several arrays of one shape become one loop, emitted at the last of them, with an
    elementwise node all of whose consumers are in the group computed inside that loop instead of
    into a buffer: in-place updates of the entry (an optimizer's parameters and state), and runs of
    adjacent accumulations into refs (the cotangent of `a + b` goes to both a and b). Returns the
    groups (effect nodes, nodes moved into the loop) and adds the moved nodes to `inlined`."""
    candidates = []
    by_shape: Dict[tuple, list] = {}
    for n in block.nodes:
        if OPS[n.op].effects.target == "input":
            by_shape.setdefault(n.args[0].type.shape, []).append(n)
    candidates += [(block, g) for g in by_shape.values() if len(g) >= 2]

    def runs(b: Block):
        run = []
        for n in b.nodes:
            plain = _plain_accumulation(n, inlined, producer)
            if plain and (not run or n.args[1].type.shape == run[0].args[1].type.shape):
                run.append(n)
                continue
            if not _is_elementwise(n):          # anything else ends a run
                if len(run) >= 2:
                    candidates.append((b, run))
                run = [n] if plain else []
        if len(run) >= 2:
            candidates.append((b, run))
        for n in b.nodes:
            for sb in n.blocks:
                runs(sb)
    runs(block)
    out = []
    for b, g in candidates:
        members = {id(n) for n in g}
        moved = []
        # the nodes already fused into these effects belong to the group
        stack = [n.args[1] for n in g]
        while stack:
            e = stack.pop()
            p = producer.get(getattr(e, "id", None))
            if p is not None and id(p) in inlined and id(p) not in members:
                members.add(id(p))
                stack.extend(p.args)
        shape = g[0].args[1].type.shape
        here = {id(n) for n in b.nodes}
        for n in reversed(b.nodes):              # consumers come later: one backward sweep
            if id(n) in members or id(n) not in here or not _is_elementwise(n) or \
                    n.sym.type.shape != shape or uses.get(n.sym.id, 0) != len(users.get(n.sym.id, ())):
                continue
            if all(id(u) in members and not (OPS[u.op].effects.writes and u.args[0] is n.sym)
                   for u in users.get(n.sym.id, ())):
                members.add(id(n))
                inlined.add(id(n))
                moved.append(n)
        out.append((g, moved[::-1]))
    return out


def _deferred_only_refs(block: Block, inlined: Set[int], producer) -> Set[int]:
    """Refs created with zeros whose every update is deferred (a lowering with `deferred`, computed
    into the accumulation) -- also through the parameters of the staged functions they are passed
    to -- and that are otherwise only read back: they need no zero-filling, their first flush
    overwrites them."""
    funs = {n.sym.id: n.blocks[0] for n in block.walk() if OPS[n.op].kind == "closure"}
    ok = {n.sym.id for n in block.walk()
          if OPS[n.op].effects.allocates and is_zero_init(n, producer)}
    for body in funs.values():
        ok.update(s.id for s in body.inputs if isinstance(s.type, RefType))
    uses: Dict[int, list] = {}
    for n in block.walk():
        for k, a in enumerate(n.args):
            if isinstance(a, Sym) and isinstance(a.type, RefType):
                uses.setdefault(a.id, []).append((n, k))

    def fine(n, k):
        d = OPS[n.op]
        if d.effects.reads:
            return True
        if d.effects.combine == "add" and k in d.effects.writes:
            p = producer.get(getattr(n.args[d.effects.value], "id", None))
            return p is not None and id(p) in inlined and LOWERINGS[p.op].deferred
        if d.kind == "call" and k > 0 and n.args[0].id in funs:
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
    """Whether a ref-allocating node starts from zeros (a zero constant, or a view of one)."""
    e = n.args[0]
    while True:
        if isinstance(e, Const):
            return not e.value.any()
        p = producer.get(e.id)
        if p is None or OPS[p.op].kind != "view" or not p.args:
            return False
        e = p.args[0]
