"""Lowering: a scheduled program to C++ statements (a `Lowered` dataclass of strings).

Each staged function (the entry, and every closure: continuations, loops under grad, staged
functions) becomes one C++ function with one frame of buffers planned by `memory`. Values are C++
scalars (0-d), pointers into the frame, or views (layouts) over another value's memory. Elementwise
chains and reductions become loops (`loops`), table kernels call the runtime headers through their
op's `cpp`, control flow becomes `if`, `for`, `while` and lambdas passed as `stage::fref`.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from ..ir.graph import Block, Const, Exp, Node, StageError, Sym
from ..ir.ops import OPS
from ..ir.printer import format_node
from ..ir.types import FunType, RefType, TensorType
from . import fusion, memory
from .cpp import ctype, literal, param_type, signature
from .layout import Layout, contiguous_strides
from .loops import LoopEmitter


@dataclass
class Lowered:
    """Everything the template needs, as plain strings."""
    name: str
    constants: List[str]
    params: List[str]
    body: List[str]
    big_stack: bool
    inputs: List[str] = field(default_factory=list)     # documentation of the entry's arguments
    outputs: List[str] = field(default_factory=list)
    profile: List[str] = field(default_factory=list)    # op kinds timed (profiling builds)


_OFFSET_TAG = re.compile(r"@OFF\d+@")


class Function:
    """A native function being lowered: its statements, buffers and what it captures."""

    def __init__(self, name: str, parent: Optional["Function"]):
        self.name = name
        self.parent = parent
        self.lines: List[str] = []
        self.buffers: List[memory.Buffer] = []
        self.captures: set = set()          # buffers of enclosing functions used here

    @property
    def pos(self) -> int:
        return len(self.lines)


class Lowering:
    def __init__(self, program, name: str, profile: bool = False):
        self.program = program
        self.name = name
        self.inlined = fusion.plan(program.block)
        self.consumers = fusion.plan.consumers
        self.defers = fusion.plan.defers      # some ref gets deferred rank-1 updates
        self.blank_refs = fusion.plan.blank_refs
        self.in_place: set = set()      # syms whose storage already holds their base argument
        self.node_uses: Optional[list] = None
        self.placed = _output_placement(program.block)     # sym id -> output index
        self.in_output: Dict[int, str] = {}                # output index -> variable placed there
        self.profile = profile            # time every op kind (see runtime `prof_add`)
        self.prof_names: List[str] = []
        self.store: Dict[int, object] = {}          # sym id -> Layout | closure name
        self.closure_caps: Dict[int, set] = {}      # closure sym id -> captured buffers
        self.buf_of: Dict[int, memory.Buffer] = {}
        self.constants: List[str] = []
        self._const_ids: Dict[tuple, str] = {}
        self.fn: Optional[Function] = None
        self.indent = 1
        self.counter = 0
        self.producers: Dict[int, Node] = {}
        for n in program.block.walk():
            for s in n.syms:
                self.producers[s.id] = n
        self.loops = LoopEmitter(self)
        self.mutable = {n.args[0].id for n in program.block.nodes if n.op == "store"}
        # groups of effects on arrays of one shape, emitted together at the last of each group
        self.effect_group = {id(n): (g, moved) for g, moved in fusion.plan.effect_groups for n in g}
        _check_stores(program.block)

    # ------------------------------------------------------------------------------------ emission
    def emit(self, line: str):
        self.fn.lines.append("  " * self.indent + line)

    def emit_all(self, lines):
        for ln in lines:
            self.emit(ln)

    def fresh(self, prefix="t") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def where(self, node: Node) -> str:
        """A C++ string naming the op and the user's line, for runtime error messages."""
        loc = node.loc or "?"
        if ":" in loc:
            path, line = loc.rsplit(":", 1)
            loc = f"{os.path.basename(path)}:{line}"
        return json.dumps(f"{node.op} at {loc}")

    # ------------------------------------------------------------------------------------ buffers
    def new_buffer(self, name: str, t: TensorType) -> Layout:
        """A fresh buffer in the current frame, declared as a pointer named `name`."""
        b = memory.Buffer(len(self.buf_of), name, t.size * np.dtype(t.dtype).itemsize,
                          self.fn.pos, self.fn)
        self.fn.buffers.append(b)
        self.buf_of[b.id] = b
        self.emit(f"{ctype(t.dtype)}* {name} = ({ctype(t.dtype)}*)(fr.base + @OFF{b.id}@);")
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
        for bid in self.closure_caps.get(sym_id, ()):
            self._use_buffer(self.buf_of[bid])

    def extend_loop(self, start: int):
        """Buffers defined before a loop and used in it live until the loop ends."""
        end = self.fn.pos
        for b in self.fn.buffers:
            if b.first < start <= b.last:
                b.last = max(b.last, end)

    # ------------------------------------------------------------------------------------ values
    def define(self, sym: Sym) -> Layout:
        """Storage for a node's output: a C++ scalar for 0-d values, else a frame buffer -- or the
        caller's output array, for a value the entry returns (no copy at the end)."""
        t = sym.type
        j = self.placed.get(sym.id)
        if j is not None:
            e = t.elem if isinstance(t, RefType) else t
            self.emit(f"{ctype(e.dtype)}* {sym.name} = out{j};")
            lay = Layout(sym.name, e.dtype, e.shape, contiguous_strides(e.shape))
            self.in_output[j] = sym.name
        elif isinstance(t, RefType):
            lay = self.new_buffer(sym.name, t.elem)
        elif t.shape == ():
            self.emit(f"{ctype(t.dtype)} {sym.name};")
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
                                     f"{id(self.producers.get(e.id)) in self.inlined})")
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
            self.emit(f"{ctype(lay.dtype)} {name} = {lay.at('0')};")
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

    def out_ptr(self, sym: Sym) -> str:
        lay = self.out_layout(sym)
        return f"&{lay.base}" if lay.kind == "scalar" else lay.pointer()

    def alias(self, sym: Sym, e: Exp) -> List[str]:
        """sym is a view of e's storage (a ref read back after its last write)."""
        lay = self.layout(e)
        self.store[sym.id] = lay
        if self.defers and len(lay.shape) == 2:        # apply its deferred rank-1 updates first
            return [f"stage::flush_outer({lay.pointer()});"]
        return []

    def new_ref(self, sym: Sym, init: Exp) -> List[str]:
        shape = sym.type.elem.shape
        if sym.id in self.blank_refs and len(shape) == 2:      # first flush initialises it
            ptr = self.out_layout(sym).pointer()
            return [f"stage::defer_blank({ptr}, {shape[0]}, {shape[1]});"]
        lines = self.copy_into(sym, init)
        if self.defers and len(shape) == 2:
            lines.append(f"stage::forget_outer({self.layout(sym).pointer()});")
        return lines

    def copy_into(self, sym: Sym, e: Exp) -> List[str]:
        """Initialise sym's storage with e (an op that updates a copy of its first argument). The
        copy is skipped when sym is computed in place: into a ref, or into e's own buffer when e
        has no other consumer and no view of it exists."""
        if sym.id in self.in_place:
            return []
        if sym.id not in self.store and sym.id not in self.placed and self._can_steal(e):
            self.store[sym.id] = self.layout(e)
            del self.store[e.id]           # e is dead: this node was its only consumer
            return []
        out = self.out_layout(sym)
        src = self.layout(e)
        return self.loops.copy(out, src)

    def _can_steal(self, e: Exp) -> bool:
        if not isinstance(e, Sym) or self.consumers.get(e.id) != 1:
            return False
        lay = self.store.get(e.id)
        if not isinstance(lay, Layout) or lay.root is None or not lay.is_contiguous() or \
                self.buf_of[lay.root].owner is not self.fn:
            return False
        return sum(1 for v in self.store.values()
                   if isinstance(v, Layout) and v.root == lay.root) == 1

    def accumulate_into(self, ref: Exp, e: Exp) -> List[str]:
        target = self.layout(ref)
        prod = self.producers.get(getattr(e, "id", None))
        if prod is not None and id(prod) in self.inlined and OPS[prod.op].into is not None:
            return OPS[prod.op].into(self, prod, target, True)
        return self.loops.elementwise(target, e, accumulate=True)

    def sparse_into(self, prod: Node, target: Layout) -> List[str]:
        """target += an update of zeros at a few positions (the gradient of indexing or a gather):
        only those positions of the target are touched."""
        base = self.layout(prod.args[0])
        if base.kind == "scalar" and base.base in ("0", "0.0", "0.0f"):
            self.store[prod.sym.id] = target
            self.in_place.add(prod.sym.id)
            return OPS[prod.op].cpp(self, prod)
        self.lower_node_now(prod)                   # a real base: add the whole result
        return self.loops.elementwise(target, prod.sym, accumulate=True)

    def group_into(self, node: Node) -> List[str]:
        """A group of stores or accumulations (see fusion._effect_groups) as one loop, at the last."""
        group, moved = self.effect_group[id(node)]
        if node is not group[-1]:
            return []
        accumulate = node.op == "accum"
        for n in group:
            if not accumulate and (not isinstance(n.args[0], Sym) or n.args[0].id not in self.mutable):
                raise StageError(f"assign: {n.args[0]} is not an input array of the compiled "
                                 f"function (only its own array arguments can be updated in place)")
        targets = [self.layout(n.args[0]) for n in group]
        values = [n.args[1] for n in group]
        leaves = self.loops._tree(list(values), targets[0].shape)[2]
        bases = {t.base: t for t in targets}
        if all(t.is_contiguous() for t in targets) and not any(
                lay.kind == "ptr" and lay.base in bases and lay != bases[lay.base] for lay in leaves):
            return self.loops.stores(targets, values, accumulate)
        # a value reads an updated array elsewhere than where it is written: the shared values are
        # computed into buffers first (they may read arrays a store below overwrites), then each
        # effect on its own
        for n in moved:
            self.lower_node_now(n)
        lines = []
        for n in group:
            lines += (self.accumulate_into if accumulate else self.store_into)(n.args[0], n.args[1])
        return lines

    def store_into(self, x: Exp, e: Exp) -> List[str]:
        """x[...] = e in place (x is an input of the entry that nothing reads afterwards)."""
        if not isinstance(x, Sym) or x.id not in self.mutable:
            raise StageError(f"assign: {x} is not an input array of the compiled function (only "
                             f"the function's own array arguments can be updated in place)")
        target = self.layout(x)
        prod = self.producers.get(getattr(e, "id", None))
        if prod is not None and id(prod) in self.inlined and OPS[prod.op].into is not None:
            return OPS[prod.op].into(self, prod, target, False)
        leaves = self.loops._tree(e, target.shape)[2]
        if any(lay.kind == "ptr" and lay.base == target.base and lay != target for lay in leaves):
            # the new value reads x elsewhere than where it writes: compute it aside first
            tmp = self.new_buffer(self.fresh(), TensorType(target.dtype, target.shape))
            return self.loops.elementwise(tmp, e) + self.loops.copy(target, tmp)
        return self.loops.elementwise(target, e)

    def elementwise_loop(self, target: Layout, e: Exp, accumulate=False) -> List[str]:
        return self.loops.elementwise(target, e, accumulate=accumulate)

    def index_view(self, node: Node, base: Optional[Layout] = None) -> Layout:
        """The layout of x[spec] (getitem / setitem_add), with staged indices bounds-checked."""
        x = node.args[0]
        nfixed = 1 if node.op == "getitem" else 2
        lay = base if base is not None else self.layout(x)
        spec = node.params["spec"]
        dyn = []
        d = 0
        dims = {}
        for s in spec:
            if s[0] != "new":
                if s[0] == "dyn":
                    dims[s[1]] = d
                d += 1
        for j, e in enumerate(node.args[nfixed:]):
            name = self.fresh("ix")
            n = x.type.shape[dims[j]]
            self.emit(f"const int64_t {name} = stage::check_index({self.scalar(e)}, {n}, "
                      f"{self.where(node)});")
            dyn.append(name)
        return lay.index(spec, dyn)

    def iota_layout(self, node: Node) -> Layout:
        p = node.params
        shape = tuple(p["shape"])
        strides = tuple(1 if d == p["axis"] else 0 for d in range(len(shape)))
        return Layout(ctype(p["dtype"]), p["dtype"], shape, strides, kind="index")

    # ------------------------------------------------------------------------------------ blocks
    def lower_block(self, block: Block):
        # closures are declared first, so (mutually) recursive ones can call each other
        for n in block.nodes:
            if n.op == "fun":
                self.store[n.sym.id] = n.sym.name
                self.emit(f"stage::fref<{signature(n.sym.type)}> {n.sym.name};")
        for n in block.nodes:
            self.lower_node(n)

    def lower_node_now(self, n: Node):
        """Lower a node that fusion had deferred to its consumer, at the consumer's position."""
        self.inlined.discard(id(n))
        self.lower_node(n)

    def lower_node(self, n: Node):
        if id(n) in self.inlined:
            return
        handler = CONTROL.get(n.op)
        if handler is not None:
            self.emit(f"// {format_node(n)}")
            handler(self, n)
            return
        opdef = OPS[n.op]
        kind = opdef.kind
        if kind == "view":
            lay = opdef.cpp(self, n)
            if lay is None:          # e.g. reshape of a strided view: copy first
                src = self.layout(n.args[0], contiguous=True)
                self.store[n.args[0].id] = src
                lay = opdef.cpp(self, n)
            self.store[n.sym.id] = lay
            return
        self.emit(f"// {format_node(n)}" + (f"  [{n.origin}]" if n.origin else ""))
        if self.profile:
            timer = self.fresh("tp")
            self.emit(f"const int64_t {timer} = stage::prof_now();")
        outer, self.node_uses = self.node_uses, []
        try:
            if kind == "elementwise":
                lines = self.loops.elementwise_node(n)
            elif kind == "reduce":
                lines = self.loops.reduce(n)
            else:
                lines = opdef.cpp(self, n)
            self.emit_all(lines)
            if self.profile:
                name = n.op if not n.origin else f"{n.op} (backward)"
                if name not in self.prof_names:
                    self.prof_names.append(name)
                self.emit(f"stage::prof_add({self.prof_names.index(name)}, {timer});")
            # a kernel asks for its operands (and copies of them) before its statement is emitted
            for b in self.node_uses:
                self._use_buffer(b)
        finally:
            self.node_uses = outer

    # ------------------------------------------------------------------------------------ functions
    def bind_param(self, sym: Sym) -> str:
        """Declare a closure parameter; returns its C++ declaration."""
        t = sym.type
        if isinstance(t, TensorType):
            if t.shape == ():
                self.store[sym.id] = Layout(sym.name, t.dtype, (), (), kind="scalar")
            else:
                self.store[sym.id] = Layout(sym.name, t.dtype, t.shape, contiguous_strides(t.shape))
        elif isinstance(t, RefType):
            e = t.elem
            self.store[sym.id] = Layout(sym.name, e.dtype, e.shape, contiguous_strides(e.shape))
        else:
            self.store[sym.id] = sym.name
        return f"{param_type(t)} {sym.name}"

    def begin_function(self, name: str) -> Function:
        fn = Function(name, self.fn)
        self.fn = fn
        return fn

    def end_function(self, fn: Function, frame_line_at: int) -> int:
        """Plan the frame, patch offsets, and return to the parent function."""
        size = memory.plan(fn.buffers)
        offsets = {f"@OFF{b.id}@": str(b.offset) for b in fn.buffers}
        for i, ln in enumerate(fn.lines):
            if "@OFF" in ln:
                fn.lines[i] = _OFFSET_TAG.sub(lambda m: offsets.get(m.group(0), m.group(0)), ln)
        fn.lines[frame_line_at] = fn.lines[frame_line_at].replace("@FRAME@", str(size))
        self.fn = fn.parent
        return size

    def call_args(self, ft: FunType, args) -> List[str]:
        out = []
        for t, a in zip(ft.inputs, args):
            if isinstance(t, FunType):
                self._use_closure(a.id)
                out.append(self.store[a.id])
            elif isinstance(t, RefType):
                out.append(self.layout(a).pointer())
            elif t.shape == ():
                out.append(self.scalar(a))
            else:
                out.append(self.layout(a, contiguous=True).pointer())
        return out

    # ------------------------------------------------------------------------------------ program
    def lower_program(self) -> Lowered:
        p = self.program
        block = p.block
        self.fn = Function("entry", None)
        params, inputs = [], []
        for k, s in enumerate(block.inputs):
            t = s.type
            if t.shape == () and s.id in self.mutable:     # updated in place: keep the pointer
                params.append(f"{ctype(t.dtype)}* {s.name}")
                self.store[s.id] = Layout(s.name, t.dtype, (), ())
            elif t.shape == ():
                params.append(f"const {ctype(t.dtype)}* {s.name}_p")
                self.emit(f"const {ctype(t.dtype)} {s.name} = *{s.name}_p;")
                self.store[s.id] = Layout(s.name, t.dtype, (), (), kind="scalar")
            else:
                const = "" if s.id in self.mutable else "const "
                params.append(f"{const}{ctype(t.dtype)}* {s.name}")
                self.store[s.id] = Layout(s.name, t.dtype, t.shape, contiguous_strides(t.shape))
            inputs.append(f"{s.name}: {t}")
        frame_at = self.fn.pos
        self.emit("stage::Frame fr(@FRAME@);")
        self.lower_block(block)
        outputs = []
        for j, e in enumerate(block.result):
            t = e.type
            params.append(f"{ctype(t.dtype)}* out{j}")
            outputs.append(f"out{j}: {t}")
            self.emit(f"// output {j}")
            out = Layout(f"out{j}", t.dtype, t.shape, contiguous_strides(t.shape))
            src = self.layout(e)
            if not (src.kind == "ptr" and src.base == self.in_output.get(j) and src.offset == 0
                    and src.is_contiguous()):                    # else computed in place
                self.emit_all(self.loops.copy(out, src))
        fn = self.fn
        self.end_function(fn, frame_at)
        big = any(n.op == "fun" for n in block.walk())
        return Lowered(self.name, self.constants, params, fn.lines, big, inputs, outputs,
                       self.prof_names)


def _output_placement(block: Block) -> Dict[int, int]:
    """Results computed straight into the caller's output arrays: a non-0-d value made by a node of
    the entry's top level into fresh storage (not a view, not an input, returned once), or a ref
    created there and read back once to be returned (a gradient accumulated across loop steps)."""
    fresh = ("elementwise", "reduce", "kernel")
    makers = {n.syms[0].id: n for n in block.nodes if len(n.syms) == 1}
    reads: Dict[int, int] = {}
    for n in block.walk():
        if n.op == "read_var":
            reads[n.args[0].id] = reads.get(n.args[0].id, 0) + 1
    counts: Dict[int, int] = {}
    for e in block.result:
        if isinstance(e, Sym):
            counts[e.id] = counts.get(e.id, 0) + 1
    placed: Dict[int, int] = {}
    for j, e in enumerate(block.result):
        if not isinstance(e, Sym) or counts[e.id] != 1 or e.type.shape == ():
            continue
        n = makers.get(e.id)
        if n is None:
            continue
        if n.op == "read_var":
            ref = makers.get(n.args[0].id)
            if ref is not None and ref.op == "new_var" and reads.get(ref.sym.id) == 1:
                placed[ref.sym.id] = j
        elif n.op in CONTROL or OPS[n.op].kind in fresh:
            if n.op in CONTROL and n.op not in ("cond", "fori_loop", "while_loop"):
                continue
            placed[e.id] = j
    return placed


def _check_stores(block: Block):
    """`assign` writes an input in place, so it must be the input's last use, at top level."""
    for n in block.walk():
        if n.op == "store" and n not in block.nodes:
            raise StageError("assign: in-place updates must be at the top level of the compiled "
                             "function (carry updated values through loops instead)")
    last_store = {}
    for i, n in enumerate(block.nodes):
        if n.op == "store":
            last_store[n.args[0].id] = i
    for i, n in enumerate(block.nodes):
        used = {a.id for a in n.args if isinstance(a, Sym)}
        for m in (m for b in n.blocks for m in b.walk()):
            used.update(a.id for a in m.args if isinstance(a, Sym))
        for x, j in last_store.items():
            if i > j and x in used:
                raise StageError(f"assign: x{x} is used after it was updated in place ({n})")
    for e in block.result:
        if isinstance(e, Sym) and e.id in last_store:
            raise StageError(f"assign: {e} is returned after it was updated in place")


# ---------------------------------------------------------------------------------------- control flow

def _copy_results(lw: Lowering, results, targets: List[Layout]):
    """Write a block's results into the given storages, through temporaries when they overlap."""
    srcs = [lw.layout(r) for r in results]
    roots = {t.root for t in targets if t.root is not None} | {t.base for t in targets}
    clash = any(s != t and (s.root in roots or s.base in roots) for s, t in zip(srcs, targets))
    if clash:
        srcs = [lw.materialize(s) for s in srcs]
    for s, t in zip(srcs, targets):
        if s != t:
            lw.emit_all(lw.loops.copy(t, s))


def _lower_cond(lw: Lowering, n: Node):
    pred = lw.scalar(n.args[0])
    outs = [lw.define(s) for s in n.syms]
    for i, blk in enumerate(n.blocks):
        lw.emit(f"if ({pred}) {{" if i == 0 else "} else {")
        lw.indent += 1
        for s, a in zip(blk.inputs, n.args[1:]):
            lw.store[s.id] = lw.layout(a)
        lw.lower_block(blk)
        _copy_results(lw, blk.result, outs)
        lw.indent -= 1
    lw.emit("}")


def _carries(lw: Lowering, syms, init) -> List[Layout]:
    cs = []
    for s, e in zip(syms, init):
        lay = lw.define(s)
        lw.emit_all(lw.loops.copy(lay, lw.layout(e)))
        cs.append(lay)
    return cs


def _lower_fori(lw: Lowering, n: Node):
    lo, hi = lw.scalar(n.args[0]), lw.scalar(n.args[1])
    cs = _carries(lw, n.syms, n.args[2:])
    (body,) = n.blocks
    i = body.inputs[0].name
    start = lw.fn.pos
    lw.emit(f"for (int64_t {i} = {lo}; {i} < {hi}; ++{i}) {{")
    lw.indent += 1
    lw.store[body.inputs[0].id] = Layout(i, "int64", (), (), kind="scalar")
    for s, c in zip(body.inputs[1:], cs):
        lw.store[s.id] = c
    lw.lower_block(body)
    _copy_results(lw, body.result, cs)
    lw.indent -= 1
    lw.emit("}")
    lw.extend_loop(start)


def _lower_while(lw: Lowering, n: Node):
    cs = _carries(lw, n.syms, n.args)
    cond, body = n.blocks
    start = lw.fn.pos
    lw.emit("while (true) {")
    lw.indent += 1
    for s, c in zip(cond.inputs, cs):
        lw.store[s.id] = c
    lw.lower_block(cond)
    lw.emit(f"if (!({lw.scalar(cond.result[0])})) break;")
    for s, c in zip(body.inputs, cs):
        lw.store[s.id] = c
    lw.lower_block(body)
    _copy_results(lw, body.result, cs)
    lw.indent -= 1
    lw.emit("}")
    lw.extend_loop(start)


def _lower_fun(lw: Lowering, n: Node):
    ft: FunType = n.sym.type
    name = n.sym.name
    (body,) = n.blocks
    params = [lw.bind_param(s) for s in body.inputs]
    outs = [f"{ctype(t.dtype)}* {name}_out{j}" for j, t in enumerate(ft.outputs)]
    lw.emit(f"auto {name}_fn = [&]({', '.join(params + outs)}) {{")
    outer_indent = lw.indent
    parent_pos = lw.fn.pos
    fn = lw.begin_function(name)
    lw.indent = outer_indent + 1
    lw.emit("STAGE_CHECK_STACK();")
    frame_at = fn.pos
    lw.emit("stage::Frame fr(@FRAME@);")
    lw.lower_block(body)
    for j, (e, t) in enumerate(zip(body.result, ft.outputs)):
        out = Layout(f"{name}_out{j}", t.dtype, t.shape, contiguous_strides(t.shape))
        lw.emit_all(lw.loops.copy(out, lw.layout(e)))
    size = lw.end_function(fn, frame_at)
    if size == 0:
        fn.lines[frame_at] = ""
    lw.indent = outer_indent
    lw.fn.lines.extend(ln for ln in fn.lines if ln)
    lw.emit("};")
    lw.emit(f"{name} = {name}_fn;")
    # buffers of this function captured by the closure: used wherever the closure is used
    caps = set()
    for bid in fn.captures:
        b = lw.buf_of[bid]
        caps.add(bid)
        if b.owner is not lw.fn:
            lw.fn.captures.add(bid)
        else:
            b.last = max(b.last, parent_pos)
    lw.closure_caps[n.sym.id] = caps


def _lower_call(lw: Lowering, n: Node):
    f = n.args[0]
    ft: FunType = f.type
    lw._use_closure(f.id)
    args = lw.call_args(ft, n.args[1:])
    outs = [lw.out_ptr(s) for s in n.syms]
    lw.emit(f"{lw.store[f.id]}({', '.join(args + outs)});")


CONTROL = {"cond": _lower_cond, "fori_loop": _lower_fori, "while_loop": _lower_while,
           "fun": _lower_fun, "call": _lower_call}
