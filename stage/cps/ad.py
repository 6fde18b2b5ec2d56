"""Reverse mode by continuation-passing, run at staging time.

`AD.run(block, ...)` replays a traced forward program into the current scope. Every op is replayed
forward and, if active, its backward step is pushed on a stack; when the rest of the block (the
continuation) has been staged, the stack is popped and each backward step accumulates the op's
cotangents into its arguments' adjoints. That is the CPS step of the paper, written once for every op
of the table, with an explicit stack instead of one Python frame per op. At a staged control-flow node
the continuation (the rest of the block, then the enclosing continuation) is reified as a staged
function instead; the rules for those live in `stage.cps.control`.
"""
from __future__ import annotations

import sys
from typing import Callable, Dict, List, Optional, Tuple

from ..ir import functions as F
from ..ir.graph import (Block, Const, Exp, Node, StageError, Sym, at_location, current_scope,
                        free_syms, origin, reflect, reify)
from ..ir.ops import NONDIFF, OPS
from ..ir.ops.control import CONTROL
from ..ir.rep import Rep
from ..ir.types import FunType, TensorType
from .adjoint import Adj, unbroadcast
from .ready import tracker

Entry = Tuple[Rep, Optional[Adj]]


class AD:
    def __init__(self):
        self.env: Dict[int, Entry] = {}
        self.fun_home: Dict[int, Tuple[object, Node]] = {}   # forward closure -> (scope, node)
        self.cps_funs: Dict[tuple, Rep] = {}
        self.direct_funs: Dict[int, Rep] = {}
        self._free: Dict[int, List[Sym]] = {}
        self.ready = None       # a ready.Readiness when a listener waits for finished gradients

    # -- environment ------------------------------------------------------------------------------
    def lookup(self, e: Exp) -> Entry:
        if isinstance(e, Const):
            return Rep(e), None
        hit = self.env.get(e.id)
        return hit if hit is not None else (Rep(e), None)   # a value of an enclosing program

    def primal(self, e: Exp) -> Rep:
        return self.lookup(e)[0]

    def active(self, e: Exp) -> bool:
        return self.lookup(e)[1] is not None

    def bind(self, sym: Sym, rep: Rep, adj: Optional[Adj]):
        self.env[sym.id] = (rep, adj)

    def free(self, block: Block) -> List[Sym]:
        f = self._free.get(id(block))
        if f is None:
            f = self._free[id(block)] = free_syms(block)
        return f

    # -- the walk over a block ----------------------------------------------------------------------
    def nodes(self, nodes: List[Node], start: int, k: Callable[[], None]):
        """Stage nodes[start:] forward, then `k` (the continuation), then the backward steps."""
        from .control import RULES
        pending: List[Node] = []
        i = start
        while i < len(nodes):
            n = nodes[i]
            d = OPS[n.op]
            with at_location(n.loc):         # what CPS makes for n is located at n's user line
                if d.kind == "closure":
                    self.fun_home[n.sym.id] = (current_scope(), n)
                elif d.grad is CONTROL:
                    if self.control_active(n):
                        RULES[n.op](self, n, lambda j=i + 1: self.nodes(nodes, j, k))
                        self._done(n)
                        break
                    self.replay(n)
                    self._done(n)
                else:
                    self.forward(n, pending)
                    if not pending or pending[-1] is not n:
                        self._done(n)           # no backward step: contributes nothing
            i += 1
        else:
            k()
        while pending:
            n = pending.pop()
            with at_location(n.loc):
                self.backward(n)
            self._done(n)

    def _done(self, n: Node):
        if self.ready is not None:
            self.ready.done(n)

    def forward(self, node: Node, pending: List[Node]):
        args = [self.lookup(a) for a in node.args]
        opdef = OPS[node.op]
        active = any(adj is not None for _, adj in args) and not opdef.effects.io   # a print
        if active and not opdef.pure:
            raise StageError(f"differentiating through {node.op} (a gradient of a program with staged "
                             f"control flow) is not supported: second-order derivatives need "
                             f"straight-line code")
        outs = reflect(node.op, *[r.exp for r, _ in args], **node.params)
        active = active and opdef.grad is not NONDIFF
        sc = current_scope()
        for s, o in zip(node.syms, outs):
            self.bind(s, Rep(o), Adj(sc, s.type) if active and s.type.is_float else None)
        if active:
            pending.append(node)

    def backward(self, node: Node):
        """The CPS step's second half, for any op of the table: cotangents into the arguments."""
        out, adj = self.env[node.sym.id]
        if adj is None:
            return
        g = adj.value()
        if g is None:
            return
        args = [self.lookup(a) for a in node.args]
        names = ", ".join(repr(r.exp) for r, _ in args)
        with origin(f"backward of {out.exp!r} = {node.op}({names})"):
            cots = OPS[node.op].grad(g, out, *[r for r, _ in args], **node.params)
            total: Dict[int, list] = {}          # an argument used twice gets one contribution
            for (r, a_adj), c in zip(args, cots):
                if a_adj is not None and c is not None:
                    c = unbroadcast(c, r.type)
                    if id(a_adj) in total:
                        total[id(a_adj)][1] = total[id(a_adj)][1] + c
                    else:
                        total[id(a_adj)] = [a_adj, c]
            for a_adj, c in total.values():
                a_adj.add(c)

    # -- activity ---------------------------------------------------------------------------------
    def control_active(self, n: Node) -> bool:
        """Whether a control form needs its continuation reified: it reads active values and a
        cotangent can flow back through it. A branch or loop whose results are all integers or
        bools (a lazy `and` on data, a counting loop) is only replayed forward."""
        if OPS[n.op].kind == "control" and not any(
                isinstance(s.type, TensorType) and s.type.is_float for s in n.syms):
            return False
        if any(self.active(a) for a in n.args if not isinstance(a.type, FunType)):
            return True
        blocks = list(n.blocks)
        if OPS[n.op].kind == "call":
            home = self.fun_home.get(n.args[0].id)
            if home is None:
                return False
            blocks.append(home[1].blocks[0])
        return any(self.active(s) for b in blocks for s in self.free(b))

    # -- forward replay of inactive code ------------------------------------------------------------
    def replay(self, n: Node):
        """Re-emit an inactive node (control forms re-stage their blocks)."""
        d = OPS[n.op]
        if d.kind == "call":
            f = self.direct_fun(n.args[0])
            outs = reflect(n.op, f.exp, *[self.primal(a).exp for a in n.args[1:]],
                           out_types=tuple(s.type for s in n.syms))
        elif d.blocks:
            blocks = [self.replay_block(b) for b in n.blocks]
            outs = reflect(n.op, *[self.primal(a).exp for a in n.args], blocks=blocks,
                           out_types=tuple(s.type for s in n.syms), **n.params)
        else:
            outs = reflect(n.op, *[self.primal(a).exp for a in n.args], **n.params)
        for s, o in zip(n.syms, outs):
            self.bind(s, Rep(o), None)

    def replay_block(self, b: Block, is_function=False, parent=None) -> Block:
        def body(*ins):
            for s, v in zip(b.inputs, ins):
                self.bind(s, Rep(v), None)
            self.replay_nodes(b.nodes)
            return [self.primal(e).exp for e in b.result]
        return reify(body, [s.type for s in b.inputs], is_function=is_function, parent=parent)

    def replay_nodes(self, nodes: List[Node]):
        for n in nodes:
            with at_location(n.loc):
                if OPS[n.op].kind == "closure":
                    self.fun_home[n.sym.id] = (current_scope(), n)
                else:
                    self.replay(n)

    def direct_fun(self, f: Sym) -> Rep:
        """An inactive copy of a forward staged function (staged once, where it was defined)."""
        hit = self.direct_funs.get(f.id)
        if hit is not None:
            return hit
        home, node = self.fun_home[f.id]
        sym = home.trace.fresh(f.type)
        self.direct_funs[f.id] = Rep(sym)
        blk = self.replay_block(node.blocks[0], is_function=True, parent=home)
        reflect(node.op, blocks=(blk,), out_types=(f.type,), scope=home, syms=(sym,), **node.params)
        return Rep(sym)


def run(block: Block, args: List[Rep], active: List[bool]):
    """Differentiate `block` (a traced forward program) at `args`, staging into the current scope.

    Returns (output values, adjoint value of each active argument or None). The first output is the
    scalar the gradient is taken of.
    """
    ad = AD()
    scope = current_scope()
    adjs = []
    for s, r, a in zip(block.inputs, args, active):
        adj = Adj(scope, s.type) if a and s.type.is_float else None
        ad.bind(s, r, adj)
        adjs.append(adj)
    ad.ready = tracker(ad, block, args, adjs)
    stored: Dict[str, list] = {}

    def k_top():
        outs = [ad.lookup(e) for e in block.result]
        if current_scope() is scope:
            stored["values"] = [r for r, _ in outs]
        else:           # the outputs leave the continuation through refs the caller owns
            refs = []
            for r, _ in outs:
                ref = Adj(scope, r.type)
                ref.add(r)
                refs.append(ref)
            stored["refs"] = refs
        loss, ladj = outs[0]
        if ladj is not None:
            ladj.add(F.ones(loss.shape, loss.dtype))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        ad.nodes(block.nodes, 0, k_top)
    finally:
        sys.setrecursionlimit(limit)
    if ad.ready is not None:
        ad.ready.finish()
    values = stored["values"] if "values" in stored else [a.value() for a in stored["refs"]]
    grads = []
    for r, adj in zip(args, adjs):
        g = adj.value() if adj is not None else None
        grads.append(g)
    return values, grads
