"""Adjoints: the `.d` of an active value while the backward pass is staged.

Inside the scope that owns a value, its adjoint is a plain staged value that contributions are added
to (`d = d + g`: pure nodes, so they fuse and simplify). When a contribution comes from a deeper
scope (a continuation, a branch, a loop body, a staged function), the adjoint becomes a ref created in
the owner scope that every contribution is `accum`ulated into in place, and the owner reads it once
when its own backward step runs. Staged functions and continuations receive their arguments' refs.
"""
from __future__ import annotations

from typing import Optional

from ..ir import functions as F
from ..ir.graph import Scope, current_scope, defining_node, in_scope, is_zeros, reflect
from ..ir.ops import OPS
from ..ir.rep import Rep
from ..ir.types import TensorType


class Adj:
    __slots__ = ("scope", "type", "d", "ref")

    def __init__(self, scope: Scope, type: TensorType, ref: Optional[Rep] = None):
        self.scope = scope
        self.type = type
        self.d: Optional[Rep] = None
        self.ref: Optional[Rep] = ref

    def add(self, g: Rep):
        """Accumulate a cotangent of this value's exact type."""
        if self.ref is None and current_scope() is self.scope:
            self.d = g if self.d is None else _sum(self.d, g)
            return
        reflect("accum", self.ref_for_call().exp, g.exp)

    def ref_for_call(self) -> Rep:
        """The ref holding this adjoint (created in the owner scope on first need)."""
        if self.ref is None:
            with in_scope(self.scope):
                init = self.d if self.d is not None else F.zeros(self.type.shape, self.type.dtype)
                self.ref = Rep(reflect("new_var", init.exp)[0])
            self.d = None
        return self.ref

    def value(self) -> Optional[Rep]:
        """The accumulated cotangent, read in the owner scope (None: no contribution)."""
        if self.ref is not None:
            return Rep(reflect("read_var", self.ref.exp)[0])
        return self.d


def _sum(d: Rep, g: Rep) -> Rep:
    """d + g, where a sparse cotangent (an update of zeros) is applied to the other term instead."""
    for a, b in ((d, g), (g, d)):
        n = defining_node(b.exp)
        if n is not None and OPS[n.op].sparse_update and is_zeros(n.args[0]) and a.type == b.type:
            return Rep(reflect(n.op, a.exp, *n.args[1:], **n.params)[0])
    return d + g


def zero_ref(type: TensorType) -> Rep:
    """A fresh zero ref nobody reads: for an output a continuation may send a cotangent to although
    this path computed it from inactive values."""
    return Rep(reflect("new_var", F.zeros(type.shape, type.dtype).exp)[0])


def unbroadcast(c, type: TensorType) -> Rep:
    """Sum a cotangent back to the shape of the value it belongs to (NumPy broadcasting, undone)."""
    c = F.as_rep(c, type.dtype)
    if c.shape == type.shape:
        return c
    lead = c.ndim - len(type.shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(type.shape)
                                      if n == 1 and c.shape[lead + i] != 1)
    s = F.sum(c, axes) if axes else c
    if s.shape != type.shape:
        s = F.reshape(s, type.shape)
    if s.shape != type.shape:
        s = F.broadcast_to(s, type.shape)
    return s
