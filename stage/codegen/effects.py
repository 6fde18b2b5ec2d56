"""Lowering of effects: refs (gradient accumulators) and in-place updates of the program's inputs.

A value accumulated into a ref or stored into an input is computed straight into the target when
its op's lowering has an `into` rule (a gemm with beta = 1, a reduction into the ref, a deferred
rank-1 product, an indexing gradient touching only its positions); otherwise it is an elementwise
loop into the target. Effects of one shape grouped by the fusion plan become one loop.
"""
from __future__ import annotations

from typing import List

from ..ir.graph import Exp, Node, Sym
from ..ir.ops import OPS
from ..ir.types import TensorType
from .layout import Layout
from .loopir import Stmt, call
from .lowerings import LOWERINGS


class Effects:
    """The effect half of the lowering (mixed into `lower.Lowering`)."""

    def _into(self, e: Exp, target: Layout, accumulate: bool):
        """The statements computing e straight into target, when its producer can; else None."""
        prod = self.producers.get(getattr(e, "id", None))
        if prod is not None and id(prod) in self.plan.inlined:
            rule = LOWERINGS[prod.op]
            if rule.into is not None:
                return rule.into(self.context, prod, target, accumulate)
        return None

    def accumulate_into(self, ref: Exp, e: Exp) -> List[Stmt]:
        target = self.layout(ref)
        stmts = self._into(e, target, True)
        return stmts if stmts is not None else self.loops.elementwise(target, e, accumulate=True)

    def store_into(self, x: Exp, e: Exp) -> List[Stmt]:
        """x[...] = e in place (x is an input of the entry that nothing reads afterwards)."""
        target = self.layout(x)
        stmts = self._into(e, target, False)
        if stmts is not None:
            return stmts
        leaves = self.loops._tree(e, target.shape)[2]
        if any(lay.kind == "ptr" and lay.base == target.base and lay != target for lay in leaves):
            # the new value reads x elsewhere than where it writes: compute it aside first
            tmp = self.new_buffer(self.fresh(), TensorType(target.dtype, target.shape))
            return self.loops.elementwise(tmp, e) + self.loops.copy(target, tmp, update=True)
        return self.loops.elementwise(target, e, update=True)

    def effect(self, node: Node) -> List[Stmt]:
        """An accumulation or in-place update (alone, or the last of its group)."""
        if id(node) in self.effect_group:
            return self._group(node)
        d = OPS[node.op].effects
        target, value = node.args[d.writes[0]], node.args[d.value]
        if d.combine == "add":
            return self.accumulate_into(target, value)
        return self.store_into(target, value)

    def _group(self, node: Node) -> List[Stmt]:
        """A group of stores or accumulations (see fusion._effect_groups) as one loop, at the last."""
        group, moved = self.effect_group[id(node)]
        if node is not group[-1]:
            return []
        self.note_fused(group[:-1])              # named in the comment of the loop doing them
        accumulate = OPS[node.op].effects.combine == "add"
        targets = [self.layout(n.args[0]) for n in group]
        values = [n.args[1] for n in group]
        leaves = self.loops._tree(list(values), targets[0].shape)[2]
        bases = {t.base: t for t in targets}
        if all(t.is_contiguous() for t in targets) and not any(
                lay.kind == "ptr" and lay.base in bases and lay != bases[lay.base] for lay in leaves):
            return self.loops.stores(targets, values, accumulate, update=not accumulate)
        # a value reads an updated array elsewhere than where it is written: the shared values are
        # computed into buffers first (they may read arrays a store below overwrites), then each
        # effect on its own
        for n in moved:
            self.lower_node_now(n)
        stmts = []
        for n in group:
            stmts += (self.accumulate_into if accumulate else self.store_into)(n.args[0], n.args[1])
        return stmts

    def sparse_into(self, prod: Node, target: Layout) -> List[Stmt]:
        """target += an update of zeros at a few positions (the gradient of indexing or a gather):
        only those positions of the target are touched."""
        base = self.layout(prod.args[0])
        if base.kind == "scalar" and base.base in ("0", "0.0", "0.0f"):
            self.store[prod.sym.id] = target
            self.in_place.add(prod.sym.id)
            return LOWERINGS[prod.op].emit(self.context, prod)
        self.lower_node_now(prod)                   # a real base: add the whole result
        return self.loops.elementwise(target, prod.sym, accumulate=True)

    def reduce_into(self, node: Node, target: Layout) -> List[Stmt]:
        """target += the reduction `node` (a sum accumulated into a ref)."""
        return self.loops.reduce(node, into=target)

    def _may_defer(self, elem) -> bool:
        """Whether a ref of this type may receive deferred rank-1 updates (float matrices)."""
        return self.plan.defers and len(elem.shape) == 2 and elem.is_float

    def new_ref(self, sym: Sym, init: Exp) -> List[Stmt]:
        elem = sym.type.elem
        shape = elem.shape
        if sym.id in self.plan.blank_refs and self._may_defer(elem):  # first flush initialises it
            ptr = self.out_layout(sym).pointer()
            return [call("stage::defer_blank", ptr, shape[0], shape[1])]
        stmts = self.copy_into(sym, init)
        if self._may_defer(elem):
            stmts.append(call("stage::forget_outer", self.layout(sym).pointer()))
        return stmts

    def read_ref(self, sym: Sym, ref: Exp) -> List[Stmt]:
        """sym is a view of the ref's storage (read back after its last write)."""
        lay = self.layout(ref)
        self.store[sym.id] = lay
        if self._may_defer(ref.type.elem):          # apply its deferred rank-1 updates first
            return [call("stage::flush_outer", lay.pointer())]
        return []
