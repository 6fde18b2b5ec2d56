"""The interface a lowering rule sees: a small, documented view of the code generator.

Rules of the lowering table (`codegen.lowerings`) receive a `Context` instead of the code
generator itself. Values are given as `Layout`s (where elements are: a pointer with strides and an
offset, a C++ scalar, or an index); statements are loop IR (`codegen.loopir`).
"""
from __future__ import annotations

import contextlib
from typing import List, Optional

from ..ir.graph import Block, Exp, Node, Sym
from .layout import Layout
from .loopir import Line, Stmt, call


class Context:
    def __init__(self, lw):
        self._lw = lw

    # -- values ------------------------------------------------------------------------------------
    def layout(self, e: Exp, contiguous: bool = False) -> Layout:
        """Where e's elements are; with `contiguous`, a contiguous copy when they are not."""
        return self._lw.layout(e, contiguous)

    def scalar(self, e: Exp) -> str:
        """A C++ expression for a 0-d value."""
        return self._lw.scalar(e)

    def ptr(self, e: Exp) -> str:
        """A pointer to e's elements, contiguous (a strided view is copied first)."""
        return self._lw.ptr(e)

    def out(self, sym: Sym) -> str:
        """A pointer to the storage of a node's output (defined on first request)."""
        return self._lw.out(sym)

    def out_layout(self, sym: Sym) -> Layout:
        return self._lw.out_layout(sym)

    def define(self, sym: Sym) -> Layout:
        """Fresh storage for sym (a buffer, a scalar, or the caller's output array)."""
        return self._lw.define(sym)

    def bind(self, sym: Sym, value):
        """sym's value is `value`: a Layout, or the C++ name of a closure."""
        self._lw.bind(sym, value)

    def index_view(self, node: Node, nfixed: int, base: Optional[Layout] = None) -> Layout:
        """x[spec] of an indexing node (staged indices after the first `nfixed` arguments are
        bounds-checked at run time)."""
        return self._lw.index_view(node, nfixed, base)

    def index_layout(self, shape, axis, dtype) -> Layout:
        """The index along `axis` as a value (reads no memory)."""
        return self._lw.index_layout(shape, axis, dtype)

    def where(self, node: Node) -> str:
        """A C++ string literal naming the op and the user's line, for runtime errors."""
        return self._lw.where(node)

    def fresh(self, prefix: str = "t") -> str:
        return self._lw.fresh(prefix)

    def require(self, feature: str):
        """The program uses a runtime feature with its own header and libraries ("mpi":
        `stage/mpi.h`, built against MPI): included and linked only where a rule asks."""
        self._lw.requires.add(feature)

    # -- statements --------------------------------------------------------------------------------
    call = staticmethod(call)          # a runtime kernel call: ctx.call("stage::take", a, b)

    def emit(self, stmt: Stmt):
        self._lw.emit(stmt)

    def loop_into(self, target: Layout, e: Exp, accumulate: bool = False) -> List[Stmt]:
        """target[...] (+)= e elementwise (e's fused producers computed in the loop)."""
        return self._lw.loops.elementwise(target, e, accumulate=accumulate)

    def copy(self, target: Layout, src: Layout) -> List[Stmt]:
        return self._lw.loops.copy(target, src)

    def used(self, *layouts: Layout):
        """The layouts' buffers are in use at the current statement (liveness)."""
        for lay in layouts:
            self._lw.use(lay)

    def add_into(self, target: Layout, src: Layout) -> List[Stmt]:
        """target[...] += src[...] elementwise."""
        return self._lw.loops.add(target, src)

    def fill(self, target: Layout, value: str) -> List[Stmt]:
        return self._lw.loops.fill(target, value)

    def new_buffer(self, prefix: str, t) -> Layout:
        """A fresh buffer of type t in the current function's frame (declared here)."""
        return self._lw.new_buffer(self._lw.fresh(prefix), t)

    def captures_used_here(self, fn):
        """The buffers native function fn captures are used here (it runs here)."""
        lw = self._lw
        for bid in fn.captures:
            lw._use_buffer(lw.buf_of[bid])

    def may_defer(self, elem) -> bool:
        """Whether refs of this type may hold deferred rank-1 products (to flush)."""
        return self._lw._may_defer(elem)

    def materialize(self, lay: Layout) -> Layout:
        """A contiguous copy of a layout in a new buffer (emitted here)."""
        return self._lw.materialize(lay)

    def copy_into(self, sym: Sym, e: Exp) -> List[Stmt]:
        """sym's storage starts as e's values (or takes over e's buffer when e is dead)."""
        return self._lw.copy_into(sym, e)

    def reduce_into(self, node: Node, target: Layout) -> List[Stmt]:
        return self._lw.reduce_into(node, target)

    def sparse_into(self, node: Node, target: Layout) -> List[Stmt]:
        return self._lw.sparse_into(node, target)

    # -- effects -----------------------------------------------------------------------------------
    def effect(self, node: Node) -> List[Stmt]:
        """An accumulation into a ref or an in-place update of an input."""
        return self._lw.effect(node)

    def new_ref(self, sym: Sym, init: Exp) -> List[Stmt]:
        return self._lw.new_ref(sym, init)

    def read_ref(self, sym: Sym, ref: Exp) -> List[Stmt]:
        return self._lw.read_ref(sym, ref)

    # -- blocks (control forms) --------------------------------------------------------------------
    def scope(self):
        """Context manager collecting the statements of a new C++ scope (yields the list)."""
        return self._lw.collect(scope=True)

    def lower_block(self, block: Block):
        """Lower a block's nodes here (its inputs must be bound first)."""
        self._lw.lower_block(block)

    @property
    def position(self) -> int:
        """The current statement position (for `extend_liveness`)."""
        return self._lw.fn.pos

    def extend_liveness(self, start: int):
        """Buffers alive at `start` stay alive to here (a loop reads them in every iteration)."""
        self._lw.extend_liveness(start)

    def is_written_input(self, sym: Sym) -> bool:
        return sym.id in self._lw.mutable

    @contextlib.contextmanager
    def function(self, name: str):
        """Lower a closure's body as its own native function (yields its statement list); its
        frame is planned when the block ends."""
        lw = self._lw
        fn = lw.begin_function(name)
        saved, lw.out_list = lw.out_list, fn.body
        lw.index_scopes.append({})
        try:
            yield fn
        finally:
            lw.index_scopes.pop()
            lw.out_list = saved
            lw.end_function(fn)

    def closure_param(self, sym: Sym) -> str:
        return self._lw.closure_param(sym)

    def closure_args(self, ft, args) -> List[str]:
        """C++ arguments for a call (views copied); call `args_used()` after emitting the call."""
        return self._lw.closure_args(ft, args)

    def args_used(self):
        self._lw.touch_call_args()

    def use_closure(self, sym: Sym) -> str:
        """The C++ name of a closure value (its captured buffers stay alive here)."""
        lw = self._lw
        lw._use_closure(sym.id)
        return lw.store[sym.id]

    def capture(self, fn, sym: Sym, parent_pos: int):
        """After a closure's definition: the buffers it captures live wherever it is used."""
        self._lw.capture(fn, sym, parent_pos)

    def is_used(self, sym: Sym) -> bool:
        return sym.id in self._lw.used

    def line(self, text: str) -> Line:
        return Line(text)
