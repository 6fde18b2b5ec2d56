"""Where values live in generated code: frame buffers, C++ scalars, views and constants.

Each native function (the entry, every closure) has one frame of buffers planned by `memory`: a
buffer is declared where its value is defined and records its first and last use (statement
positions), so buffers whose lifetimes do not overlap share memory. A value is a `Layout`: a pointer
into a buffer (or into an argument), a C++ scalar, a constant, or a view (strides, offset) over
another value's memory.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from ..ir.graph import Const, Exp, Node, Sym
from ..ir.types import RefType, TensorType
from . import memory
from .cpp import ctype, literal
from .layout import Layout, contiguous_strides
from .loopir import BufferDecl, Line, Stmt


class Function:
    """A native function being lowered: its statements, frame, buffers and what it captures."""

    def __init__(self, name: str, parent: Optional["Function"]):
        self.name = name
        self.parent = parent
        self.frame = "fr" if parent is None else f"fr_{name}"   # no closure shadows another's
        self.frame_size = 0
        self.body: List[Stmt] = []
        self.buffers: List[memory.Buffer] = []
        self.captures: set = set()          # buffers of enclosing functions used here
        self.pos = 0                        # statements emitted so far (liveness positions)


class Storage:
    """The value-storage half of the lowering (mixed into `lower.Lowering`)."""

    # ------------------------------------------------------------------------------------ buffers
    def new_buffer(self, name: str, t: TensorType) -> Layout:
        """A fresh buffer in the current frame, declared as a pointer named `name`."""
        b = memory.Buffer(len(self.buf_of), name, t.size * np.dtype(t.dtype).itemsize,
                          self.fn.pos, self.fn)
        self.fn.buffers.append(b)
        self.buf_of[b.id] = b
        self.emit(BufferDecl(ctype(t.dtype), name, b))
        return Layout(name, t.dtype, t.shape, contiguous_strides(t.shape), 0, b.id)

    def use(self, layout: Layout):
        """Record a use of a layout's buffer at the current position (liveness). While a node is
        being lowered its uses are also kept, and extended to the node's last statement."""
        if layout.root is not None:
            b = self.buf_of[layout.root]
            self._use_buffer(b)
            if self.node_uses is not None:
                self.node_uses.append(b)

    def _use_buffer(self, b: memory.Buffer):
        if b.owner is self.fn:
            b.last = max(b.last, self.fn.pos)
        else:
            self.fn.captures.add(b.id)

    def _use_closure(self, sym_id: int):
        self.used.add(sym_id)
        for bid in self.closure_caps.get(sym_id, ()):
            self._use_buffer(self.buf_of[bid])

    def extend_liveness(self, start: int):
        """Buffers defined before a loop and used in it live until the loop ends."""
        end = self.fn.pos
        for b in self.fn.buffers:
            if b.first < start <= b.last:
                b.last = max(b.last, end)

    # ------------------------------------------------------------------------------------ values
    def bind(self, sym: Sym, value):
        """sym's value is `value` (a Layout, or a closure's C++ name)."""
        self.store[sym.id] = value

    def define(self, sym: Sym) -> Layout:
        """Storage for a node's output: a C++ scalar for 0-d values, else a frame buffer -- or the
        caller's output array, for a value the entry returns (no copy at the end)."""
        t = sym.type
        j = self.placed.get(sym.id)
        if j is not None:
            e = t.elem if isinstance(t, RefType) else t
            self.emit(Line(f"{ctype(e.dtype)}* {sym.name} = out{j};"))
            lay = Layout(sym.name, e.dtype, e.shape, contiguous_strides(e.shape))
            self.in_output[j] = sym.name
        elif isinstance(t, RefType):
            lay = self.new_buffer(sym.name, t.elem)
        elif t.shape == ():
            self.emit(Line(f"{ctype(t.dtype)} {sym.name}{{}};"))
            lay = Layout(sym.name, t.dtype, (), (), kind="scalar")
        else:
            lay = self.new_buffer(sym.name, t)
        self.store[sym.id] = lay
        return lay

    def layout(self, e: Exp, contiguous: bool = False) -> Layout:
        if isinstance(e, Const):
            lay = self._const_layout(e)
        else:
            lay = self.store.get(e.id)
            if lay is None:
                raise AssertionError(f"codegen: {e} has no storage (inlined: "
                                     f"{id(self.producers.get(e.id)) in self.plan.inlined})")
            self.used.add(e.id)
        self.use(lay)
        if contiguous and not lay.is_contiguous():
            lay = self.materialize(lay)
            self.use(lay)
        return lay

    def _const_layout(self, c: Const) -> Layout:
        t = c.type
        if t.shape == ():
            return Layout(literal(c.value, t.dtype), t.dtype, (), (), kind="scalar")
        key = c.key()
        name = self._const_ids.get(key)
        if name is None:
            name = f"c{len(self._const_ids)}"
            self._const_ids[key] = name
            vals = ", ".join(literal(v, t.dtype) for v in c.value.reshape(-1))
            self.constants.append(f"static const {ctype(t.dtype)} {name}[] = {{{vals}}};")
        return Layout(name, t.dtype, t.shape, contiguous_strides(t.shape))

    def materialize(self, lay: Layout) -> Layout:
        """A contiguous copy of a layout (a broadcast, a strided view, a scalar) in a new buffer."""
        t = TensorType(lay.dtype, lay.shape)
        if lay.shape == ():
            name = self.fresh()
            self.emit(Line(f"const {ctype(lay.dtype)} {name} = {lay.at('0')};"))
            return Layout(name, lay.dtype, (), (), kind="scalar")
        out = self.new_buffer(self.fresh(), t)
        self.emit_all(self.loops.copy(out, lay))
        return out

    def scalar(self, e: Exp) -> str:
        """A C++ expression for a 0-d value."""
        return self.layout(e).at("0")

    def ptr(self, e: Exp) -> str:
        """A pointer to e's elements, contiguous (0-d values get an addressable variable)."""
        lay = self.layout(e, contiguous=True)
        if lay.kind == "scalar":
            if not lay.base.isidentifier():
                lay = self.materialize(lay)
            return f"&{lay.base}"
        return lay.pointer()

    def out_layout(self, sym: Sym) -> Layout:
        lay = self.store.get(sym.id)
        if lay is None:
            lay = self.define(sym)
        return lay

    def out(self, sym: Sym) -> str:
        """A pointer to a node's output storage (defined on first request)."""
        lay = self.out_layout(sym)
        return f"&{lay.base}" if lay.kind == "scalar" else lay.pointer()

    def copy_into(self, sym: Sym, e: Exp) -> List[Stmt]:
        """Initialise sym's storage with e (an op that updates a copy of its first argument). The
        copy is skipped when sym is computed in place: into a ref, or into e's own buffer when e
        has no other consumer and no view of it exists."""
        if sym.id in self.in_place:
            return []
        if sym.id not in self.store and sym.id not in self.placed and self._can_steal(e, sym):
            self.store[sym.id] = self.layout(e)
            del self.store[e.id]           # e is dead: this node was its only consumer
            return []
        out = self.out_layout(sym)
        src = self.layout(e)
        return self.loops.copy(out, src)

    def _can_steal(self, e: Exp, sym: Sym) -> bool:
        if not isinstance(e, Sym) or self.plan.consumers.get(e.id) != 1:
            return False
        node = self.producers.get(sym.id)
        if node is not None and sum(a is e for a in node.args) != 1:
            return False                   # the node reads e again while it updates the copy
        lay = self.store.get(e.id)
        if not isinstance(lay, Layout) or lay.root is None or not lay.is_contiguous() or \
                self.buf_of[lay.root].owner is not self.fn:
            return False
        return sum(1 for v in self.store.values()
                   if isinstance(v, Layout) and v.root == lay.root) == 1

    # ------------------------------------------------------------------------------------ views
    def index_view(self, node: Node, nfixed: int, base: Optional[Layout] = None) -> Layout:
        """The layout of x[spec] (`spec` of getitem / setitem_add, whose staged indices follow the
        first `nfixed` arguments), with staged indices bounds-checked once per C++ scope."""
        x = node.args[0]
        lay = base if base is not None else self.layout(x)
        spec = node.params["spec"]
        dims, d = {}, 0
        for s in spec:
            if s[0] != "new":
                if s[0] == "dyn":
                    dims[s[1]] = d
                d += 1
        dyn = [self.checked_index(self.scalar(e), x.type.shape[dims[j]], node)
               for j, e in enumerate(node.args[nfixed:])]
        return lay.index(spec, dyn)

    def checked_index(self, expr: str, n: int, node: Node) -> str:
        """A C++ name holding `expr` checked against `n` (IndexError at run time), shared by every
        use of the same index in the same C++ scope."""
        key = (expr, n)
        for scope in reversed(self.index_scopes):
            if key in scope:
                return scope[key]
        name = self.fresh("ix")
        self.emit(Line(f"const int64_t {name} = stage::check_index({expr}, {n}, "
                       f"{self.where(node)});"))
        self.index_scopes[-1][key] = name
        return name

    def index_layout(self, shape, axis, dtype) -> Layout:
        """The index along `axis` as a value that reads no memory (iota)."""
        shape = tuple(shape)
        strides = tuple(1 if d == axis else 0 for d in range(len(shape)))
        return Layout(ctype(dtype), dtype, shape, strides, kind="index")
